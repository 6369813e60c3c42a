// Module registration and the cheap synchronous queries (type table, build info).
// Every slow call is a Job (job.h): Promise-returning, off the event loop, cancellable.
#include <napi.h>

#include "addon.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"
#include "log_capture.h"

namespace apreqel {
namespace {

// The ggml type table as ggml itself defines it: the one source of truth for names and sizes.
Napi::Value GgmlTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
    auto type = static_cast<ggml_type>(t);
    if (ggml_blck_size(type) == 0) continue;  // removed types keep an empty slot
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", t);
    o.Set("name", ggml_type_name(type));
    o.Set("blockSize", static_cast<double>(ggml_blck_size(type)));
    o.Set("typeSize", static_cast<double>(ggml_type_size(type)));
    o.Set("quantized", ggml_is_quantized(type));
    out.Set(out.Length(), o);
  }
  return out;
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("system", llama_print_system_info());
  o.Set("cuda", static_cast<bool>(APREQEL_BUILD_CUDA));
  // whether n_gpu_layers can put anything on a device at all (false on a CPU-only build)
  o.Set("gpuOffload", llama_supports_gpu_offload());
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    const char* type = "accel";
    switch (ggml_backend_dev_type(dev)) {
      case GGML_BACKEND_DEVICE_TYPE_CPU: type = "cpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_GPU: type = "gpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_IGPU: type = "igpu"; break;
      default: break;
    }
    d.Set("type", type);
    // free and total as the backend reports them now (an integrated GPU reports system memory)
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    d.Set("memoryFree", static_cast<double>(free));
    d.Set("memoryTotal", static_cast<double>(total));
    devices.Set(i, d);
  }
  o.Set("devices", devices);
  return o;
}

// Wraps an entry point so a missing/non-object options argument is a TypeError, not a crash.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value WithOptions(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "expected an options object");
  }
  return Fn(info);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installLogHandler();
  installSigbusMessage();
  llama_backend_init();
  exports.Set("ggmlTypes", Napi::Function::New(env, GgmlTypes, "ggmlTypes"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("quantizeTargets", Napi::Function::New(env, QuantizePresets, "quantizeTargets"));
  exports.Set("inspect", Napi::Function::New(env, WithOptions<Inspect>, "inspect"));
  exports.Set("quantize", Napi::Function::New(env, WithOptions<Quantize>, "quantize"));
  exports.Set("assemble", Napi::Function::New(env, WithOptions<Assemble>, "assemble"));
  exports.Set("writeRandomModel", Napi::Function::New(env, WithOptions<WriteRandomModel>, "writeRandomModel"));
  exports.Set("generate", Napi::Function::New(env, WithOptions<Generate>, "generate"));
  exports.Set("captureSimilarity", Napi::Function::New(env, WithOptions<CaptureSimilarity>, "captureSimilarity"));
  exports.Set("perplexity", Napi::Function::New(env, WithOptions<Perplexity>, "perplexity"));
  exports.Set("bench", Napi::Function::New(env, WithOptions<Bench>, "bench"));
  exports.Set("probeSensitivity", Napi::Function::New(env, WithOptions<ProbeSensitivity>, "probeSensitivity"));
  exports.Set("probeStopAt", Napi::Function::New(env, WithOptions<ProbeStopAt>, "probeStopAt"));
  exports.Set("quantizationError", Napi::Function::New(env, WithOptions<QuantizationError>, "quantizationError"));
  exports.Set("matmulBench", Napi::Function::New(env, WithOptions<MatmulBench>, "matmulBench"));
  exports.Set("countTokens", Napi::Function::New(env, WithOptions<CountTokens>, "countTokens"));
  return exports;
}

}  // namespace
}  // namespace apreqel

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return apreqel::Init(env, exports); }

NODE_API_MODULE(apreqel, InitModule)
