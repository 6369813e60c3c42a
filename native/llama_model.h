// RAII owners for llama.cpp model/context/sampler and a loader that honours cancellation and
// explains failures. Shared by every call that runs a model (generate; later capture, perplexity, bench).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llama.h"

namespace apreqel {

struct ModelDeleter { void operator()(llama_model* m) const { llama_model_free(m); } };
struct ContextDeleter { void operator()(llama_context* c) const { llama_free(c); } };
struct SamplerDeleter { void operator()(llama_sampler* s) const { llama_sampler_free(s); } };
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

struct LoadOptions {
  std::string path;
  int32_t gpuLayers = 0;
};

// Loads a model; throws with llama.cpp's logged reason (`reason()`, read after the failure) or as
// cancelled. `cancelled` is polled during loading.
ModelPtr loadModel(const LoadOptions& options, const std::function<bool()>& cancelled,
                   const std::function<std::string()>& reason);

// Tokenizes `text`; throws if the vocabulary cannot encode it.
std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool addSpecial);

std::string tokenToPiece(const llama_vocab* vocab, llama_token token);

}  // namespace apreqel
