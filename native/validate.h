// Checks a GGUF before llama.cpp's quantizer or loader sees it. llama.cpp validates the file
// structure (gguf.cpp) but GGML_ASSERTs, i.e. aborts the whole process, on some hyperparameters
// and only finds unusable tensor types when a kernel meets them: those are checked here and
// rejected as "<path> is not a valid GGUF file: <why>".
#pragma once

#include <string>

#include "gguf_file.h"

namespace apreqel {

// For llama_model_quantize: the structure (validateGguf) and the hyperparameters it asserts on.
GgufHeader validateForQuantize(const std::string& path);

// For llama_model_load_from_file: the above, and what the compute kernels abort on.
GgufHeader validateForRun(const std::string& path);

}  // namespace apreqel
