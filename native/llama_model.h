// RAII owners for llama.cpp model/context/sampler and a loader that honours cancellation and
// explains failures. Shared by every call that runs a model (generate, capture, perplexity, bench).
#pragma once

#include <functional>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include "ggml-cpu.h"
#include "llama.h"

namespace apreqel {

struct ModelDeleter { void operator()(llama_model* m) const { llama_model_free(m); } };
struct ContextDeleter { void operator()(llama_context* c) const { llama_free(c); } };
struct SamplerDeleter { void operator()(llama_sampler* s) const { llama_sampler_free(s); } };
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

struct ThreadpoolDeleter { void operator()(ggml_threadpool* t) const; };
using ThreadpoolPtr = std::unique_ptr<ggml_threadpool, ThreadpoolDeleter>;

struct ContextOptions {
  uint32_t nCtx = 512;
  uint32_t nBatch = 2048;
  uint32_t nUbatch = 512;
  uint32_t nSeqMax = 1;
  int32_t threads = 0;  // 0: all cores
  bool layerSimilarity = false;
  ggml_backend_sched_eval_callback cbEval = nullptr;
  void* cbEvalData = nullptr;
  // polled by the CPU backend between graph nodes: returning true stops llama_decode mid-graph
  // (it returns 2), so a cancel does not wait for a whole batch of a large model
  ggml_abort_callback abort = nullptr;
  void* abortData = nullptr;
};

// A context with its own persistent thread pool attached (as llama-bench does): without one, the CPU
// backend starts threads per graph, which costs noticeably in token-by-token generation.
struct Context {
  ThreadpoolPtr pool;
  ContextPtr ctx;  // declared after pool: freed first
};
Context makeContext(llama_model* model, const ContextOptions& options, const std::function<std::string()>& reason);
int32_t defaultThreads();

struct LoadOptions {
  std::string path;
  int32_t gpuLayers = 0;
  bool vocabOnly = false;  // the tokenizer alone: no weights are mapped
};

// Loads a model; throws with llama.cpp's logged reason (`reason()`, read after the failure) or as
// cancelled. `cancelled` is polled during loading.
ModelPtr loadModel(const LoadOptions& options, const std::function<bool()>& cancelled,
                   const std::function<std::string()>& reason);

// Tokenizes `text`; throws if the vocabulary cannot encode it.
std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool addSpecial);

// Runs `f` (a tokenization) and prefixes the model's path to any error, so a message about a
// file's tokenizer names the file.
template <typename F>
auto forModel(const std::string& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

// Tokenizes only as much of `text` as gives at least `minTokens` tokens (plus a margin, so that the
// first minTokens are those of the whole text): a prefix cut at a line or word break, doubled until
// it suffices, or the whole text. A 100 MB evaluation text then costs what the chunks need, not a
// full tokenization per measurement. `cancelled` is polled between attempts.
std::vector<llama_token> tokenizePrefix(const llama_vocab* vocab, const std::string& text, bool addSpecial, size_t minTokens,
                                        const std::function<bool()>& cancelled);

std::string tokenToPiece(const llama_vocab* vocab, llama_token token);

}  // namespace apreqel
