// generate(): load a GGUF in llama.cpp and greedily continue a prompt. Proves a file we wrote is
// a working model and gives the CLI a quick smoke test.
#include <string>
#include <vector>

#include "addon.h"
#include "job.h"
#include "llama_model.h"

namespace apreqel {
namespace {

class GenerateJob : public Job {
 public:
  GenerateJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.generate"),
        prompt_(requireString(o, "prompt")),
        nPredict_(optionalInt(o, "nPredict", 16)),
        threads_(optionalInt(o, "threads", 0)) {
    load_.path = requireString(o, "model");
    load_.gpuLayers = optionalInt(o, "gpuLayers", 0);
  }

 protected:
  void Run() override {
    ModelPtr model = loadModel(load_, [this] { return cancelled(); }, [this] { return lastLogError(); });
    throwIfCancelled();
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    std::vector<llama_token> tokens = forModel(load_.path, [&] { return tokenize(vocab, prompt_, true); });
    if (tokens.empty()) throw std::runtime_error("the prompt has no tokens");
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(tokens.size() + nPredict_ + 8);
    cp.n_batch = cp.n_ctx;
    cp.no_perf = true;
    cp.attention_type = LLAMA_ATTENTION_TYPE_CAUSAL;  // as makeContext (llama_model.cpp) says why
    if (threads_ > 0) cp.n_threads = cp.n_threads_batch = threads_;
    cp.abort_callback = &Job::abortRequested;
    cp.abort_callback_data = this;
    ContextPtr ctx(llama_init_from_model(model.get(), cp));
    if (!ctx) throw std::runtime_error(withLogReason("cannot create a llama.cpp context"));
    SamplerPtr sampler(llama_sampler_init_greedy());
    llama_batch batch = llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size()));
    llama_token next = 0;
    for (int i = 0; i < nPredict_; ++i) {
      throwIfCancelled();
      if (int rc = llama_decode(ctx.get(), batch); rc != 0) throwDecodeFailure(rc);
      next = llama_sampler_sample(sampler.get(), ctx.get(), -1);
      generated_.push_back(next);
      if (llama_vocab_is_eog(vocab, next)) break;
      text_ += tokenToPiece(vocab, next);
      batch = llama_batch_get_one(&next, 1);
      report(static_cast<double>(i + 1) / nPredict_);
    }
    promptTokens_ = tokens.size();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("text", text_);
    o.Set("promptTokens", static_cast<double>(promptTokens_));
    Napi::Array toks = Napi::Array::New(env, generated_.size());
    for (size_t i = 0; i < generated_.size(); ++i) toks.Set(i, generated_[i]);
    o.Set("tokens", toks);
    return o;
  }

 private:
  LoadOptions load_;
  std::string prompt_;
  int32_t nPredict_, threads_;
  std::string text_;
  std::vector<llama_token> generated_;
  size_t promptTokens_ = 0;
};

}  // namespace

Napi::Value Generate(const Napi::CallbackInfo& info) {
  return (new GenerateJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
