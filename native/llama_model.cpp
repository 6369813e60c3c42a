#include "llama_model.h"

#include "validate.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace apreqel {

ModelPtr loadModel(const LoadOptions& options, const std::function<bool()>& cancelled,
                   const std::function<std::string()>& reason) {
  // llama.cpp's loader trusts parts of the header its parser does not check; reject those first.
  validateForRun(options.path);
  // the loader polls `cancelled` only once it maps tensor data (progress_callback, below): the
  // header parse, vocabulary and mapping before that cannot be interrupted, so look first
  if (cancelled()) throw std::runtime_error("the operation was aborted");
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = options.gpuLayers;
  mp.vocab_only = options.vocabOnly;
  mp.progress_callback = [](float, void* p) { return !(*static_cast<const std::function<bool()>*>(p))(); };
  mp.progress_callback_user_data = const_cast<std::function<bool()>*>(&cancelled);
  ModelPtr model(llama_model_load_from_file(options.path.c_str(), mp));
  if (!model) {
    if (cancelled()) throw std::runtime_error("the operation was aborted");
    std::string why = reason();
    throw std::runtime_error("cannot load model " + options.path + (why.empty() ? "" : ": " + why));
  }
  return model;
}

void ThreadpoolDeleter::operator()(ggml_threadpool* t) const { ggml_threadpool_free(t); }

int32_t defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 4 : static_cast<int32_t>(n);
}

Context makeContext(llama_model* model, const ContextOptions& o, const std::function<std::string()>& reason) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = o.nCtx;
  cp.n_batch = o.nBatch;
  cp.n_ubatch = o.nUbatch;
  cp.n_seq_max = o.nSeqMax;
  const int32_t threads = o.threads > 0 ? o.threads : defaultThreads();
  cp.n_threads = cp.n_threads_batch = threads;
  cp.no_perf = true;
  // apreqel measures causal language models; a file's <arch>.attention.causal = false would make
  // llama_decode assert n_ubatch >= n_tokens (GGML_ASSERT) for our batches
  cp.attention_type = LLAMA_ATTENTION_TYPE_CAUSAL;
  cp.layer_similarity = o.layerSimilarity;
  cp.cb_eval = o.cbEval;
  cp.cb_eval_user_data = o.cbEvalData;
  cp.abort_callback = o.abort;
  cp.abort_callback_data = o.abortData;
  Context c;
  ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
  c.pool.reset(ggml_threadpool_new(&tpp));
  if (!c.pool) throw std::runtime_error("cannot create a thread pool of " + std::to_string(threads) + " threads");
  c.ctx.reset(llama_init_from_model(model, cp));
  if (!c.ctx) {
    std::string why = reason();
    throw std::runtime_error("cannot create a llama.cpp context" + (why.empty() ? "" : ": " + why));
  }
  llama_attach_threadpool(c.ctx.get(), c.pool.get(), nullptr);
  return c;
}

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool addSpecial) {
  // a vocabulary of type "none" has no tokenizer: llama.cpp's tokenize would GGML_ABORT
  if (llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_NONE || llama_vocab_n_tokens(vocab) <= 0) {
    throw std::runtime_error("the model has no tokenizer (tokenizer.ggml.model is \"none\" or its vocabulary is empty)");
  }
  // llama.cpp's tokenizers throw (e.g. std::out_of_range) on characters a vocabulary without
  // byte fallback cannot represent
  try {
    int32_t n = -llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, addSpecial, false);
    if (n < 0) throw std::runtime_error("text too long");
    std::vector<llama_token> tokens(n);
    int32_t got = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), n, addSpecial, false);
    if (got < 0) throw std::runtime_error("token count changed");
    tokens.resize(got);
    return tokens;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("the model's tokenizer cannot encode this text (") + e.what() +
                             "); its vocabulary has no byte fallback for some characters");
  }
}

std::vector<llama_token> tokenizePrefix(const llama_vocab* vocab, const std::string& text, bool addSpecial, size_t minTokens,
                                        const std::function<bool()>& cancelled) {
  constexpr size_t kMargin = 64;  // tokens near a cut may merge differently than in the whole text
  size_t len = std::max<size_t>(1 << 16, (minTokens + kMargin) * 8);
  while (len < text.size()) {
    // cut at a line break, else a space, in the second half of the prefix; then at a UTF-8 boundary
    size_t cut = text.rfind('\n', len);
    if (cut == std::string::npos || cut < len / 2) cut = text.rfind(' ', len);
    if (cut == std::string::npos || cut < len / 2) cut = len;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    std::vector<llama_token> tokens = tokenize(vocab, text.substr(0, cut), addSpecial);
    if (tokens.size() >= minTokens + kMargin) return tokens;
    if (cancelled()) throw std::runtime_error("the operation was aborted");
    len *= 2;
  }
  return tokenize(vocab, text, addSpecial);
}

std::string tokenToPiece(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  int32_t n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, false);
  if (n < 0) return std::string();
  return std::string(buf, n);
}

}  // namespace apreqel
