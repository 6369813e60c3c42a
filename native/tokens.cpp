// countTokens(): how many tokens a text gives with a model's tokenizer, loading only the
// vocabulary (no weights, no context): what a step needs of a text (perplexity: two chunks) can
// be checked before any long work. Only a prefix is tokenized when `atLeast` is given, as
// perplexity does with a chunk count (tokenizePrefix), so a 100 MB text costs what is asked.
#include <string>

#include "addon.h"
#include "job.h"
#include "llama_model.h"

namespace apreqel {
namespace {

class CountTokensJob : public Job {
 public:
  CountTokensJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.countTokens"), text_(requireString(o, "text")), atLeast_(optionalInt(o, "atLeast", -1)) {
    load_.path = requireString(o, "model");
    load_.vocabOnly = true;
  }

 protected:
  void Run() override {
    auto cancel = [this] { return cancelled(); };
    ModelPtr model = loadModel(load_, cancel, [this] { return lastLogError(); });
    throwIfCancelled();
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    // the BOS rule perplexity tokenizes with (add_special = true)
    std::vector<llama_token> tokens = forModel(load_.path, [&] {
      return atLeast_ < 0 ? tokenize(vocab, text_, true) : tokenizePrefix(vocab, text_, true, static_cast<size_t>(atLeast_), cancel);
    });
    tokens_ = tokens.size();
    // tokenizePrefix returns a prefix's tokens only when the prefix already gave enough
    complete_ = atLeast_ < 0 || tokens_ < static_cast<size_t>(atLeast_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tokens", static_cast<double>(tokens_));
    o.Set("complete", complete_);
    return o;
  }

 private:
  LoadOptions load_;
  std::string text_;
  int32_t atLeast_;
  size_t tokens_ = 0;
  bool complete_ = false;
};

}  // namespace

Napi::Value CountTokens(const Napi::CallbackInfo& info) {
  return (new CountTokensJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
