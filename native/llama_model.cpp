#include "llama_model.h"

#include <stdexcept>

namespace apreqel {

ModelPtr loadModel(const LoadOptions& options, const std::function<bool()>& cancelled,
                   const std::function<std::string()>& reason) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = options.gpuLayers;
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

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool addSpecial) {
  int32_t n = -llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, addSpecial, false);
  if (n < 0) throw std::runtime_error("the model's tokenizer cannot encode this text");
  std::vector<llama_token> tokens(n);
  int32_t got = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), n, addSpecial, false);
  if (got < 0) throw std::runtime_error("the model's tokenizer cannot encode this text");
  tokens.resize(got);
  return tokens;
}

std::string tokenToPiece(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  int32_t n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, false);
  if (n < 0) return std::string();
  return std::string(buf, n);
}

}  // namespace apreqel
