// Entry points registered in addon.cpp; each lives in the file named after it.
#pragma once

#include <napi.h>

namespace apreqel {

Napi::Value Inspect(const Napi::CallbackInfo& info);          // inspect.cpp
Napi::Value Quantize(const Napi::CallbackInfo& info);         // quantize.cpp
Napi::Value QuantizePresets(const Napi::CallbackInfo& info);  // quantize.cpp
Napi::Value Assemble(const Napi::CallbackInfo& info);         // assemble.cpp
Napi::Value WriteRandomModel(const Napi::CallbackInfo& info); // fixture.cpp
Napi::Value Generate(const Napi::CallbackInfo& info);         // generate.cpp
Napi::Value CaptureSimilarity(const Napi::CallbackInfo& info);// capture.cpp
Napi::Value Perplexity(const Napi::CallbackInfo& info);       // perplexity.cpp
Napi::Value Bench(const Napi::CallbackInfo& info);            // bench.cpp
Napi::Value ProbeSensitivity(const Napi::CallbackInfo& info); // probe.cpp
Napi::Value ProbeStopAt(const Napi::CallbackInfo& info);      // probe.cpp
Napi::Value QuantizationError(const Napi::CallbackInfo& info); // quant_error.cpp
Napi::Value MatmulBench(const Napi::CallbackInfo& info);      // matmul_bench.cpp
Napi::Value CountTokens(const Napi::CallbackInfo& info);      // tokens.cpp
void installSigbusMessage();                                  // sigbus.cpp

}  // namespace apreqel
