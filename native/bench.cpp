// bench(): latency as llama-bench measures it (tools/llama-bench): pp = one prompt of nPrompt random
// tokens in batches, tg = nGen tokens decoded one at a time; a warm-up run each, then `reps` timed
// repetitions from an empty cache; a thread pool attached to each context as llama-bench does.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "addon.h"
#include "job.h"
#include "llama_model.h"

namespace apreqel {
namespace {

uint64_t nowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

class BenchJob : public Job {
 public:
  BenchJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.bench"),
        nGen_(optionalInt(o, "nGen", 128)),
        nPrompt_(optionalInt(o, "nPrompt", 512)),
        reps_(optionalInt(o, "reps", 5)),
        nBatch_(optionalInt(o, "nBatch", 2048)),
        threads_(optionalInt(o, "threads", 0)),
        warmup_(optionalBool(o, "warmup", true)) {
    load_.path = requireString(o, "model");
    load_.gpuLayers = optionalInt(o, "gpuLayers", 0);
    if (nGen_ < 0 || nPrompt_ < 0 || nGen_ + nPrompt_ == 0) throw Napi::RangeError::New(env, "nGen and nPrompt must be ≥ 0 and not both 0");
    if (reps_ < 1) throw Napi::RangeError::New(env, "reps must be at least 1");
  }

 protected:
  void Run() override {
    auto reason = [this] { return lastLogError(); };
    ModelPtr model = loadModel(load_, [this] { return cancelled(); }, reason);
    modelBytes_ = llama_model_size(model.get());
    modelParams_ = llama_model_n_params(model.get());
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    const int32_t nVocab = llama_vocab_n_tokens(vocab);
    if (nVocab <= 0) throw std::runtime_error("cannot benchmark " + load_.path + ": its vocabulary is empty (random tokens are drawn from it)");
    const bool addBos = llama_vocab_get_add_bos(vocab);
    std::mt19937 rng(1);
    auto randomToken = [&] { return static_cast<llama_token>(rng() % static_cast<uint32_t>(nVocab)); };
    const int totalRuns = (nPrompt_ > 0 ? reps_ : 0) + (nGen_ > 0 ? reps_ : 0);
    int runs = 0;

    auto runPrompt = [&](llama_context* ctx) {
      std::vector<llama_token> tokens(nBatch_);
      for (int done = 0; done < nPrompt_;) {
        const int n = std::min(nPrompt_ - done, nBatch_);
        tokens[0] = done == 0 && addBos ? llama_vocab_bos(vocab) : randomToken();
        for (int i = 1; i < n; ++i) tokens[i] = randomToken();
        throwIfCancelled();
        if (int rc = llama_decode(ctx, llama_batch_get_one(tokens.data(), n)); rc != 0) throwDecodeFailure(rc);
        done += n;
      }
      llama_synchronize(ctx);
    };
    auto runGen = [&](llama_context* ctx, int n) {
      llama_token token = addBos ? llama_vocab_bos(vocab) : randomToken();
      for (int i = 0; i < n; ++i) {
        throwIfCancelled();  // per token: nGen can be 100000
        if (int rc = llama_decode(ctx, llama_batch_get_one(&token, 1)); rc != 0) throwDecodeFailure(rc);
        llama_synchronize(ctx);
        token = randomToken();
      }
    };
    throwIfCancelled();  // context creation below cannot be interrupted: check once more before it
    auto measure = [&](int nTokens, const std::function<void(llama_context*)>& body, const std::function<void(llama_context*)>& warm,
                       std::vector<uint64_t>& samples) {
      ContextOptions co;
      co.nCtx = static_cast<uint32_t>(nTokens);
      co.nBatch = static_cast<uint32_t>(nBatch_);
      co.nUbatch = 512;
      co.threads = threads_;
      co.abort = &Job::abortRequested;
      co.abortData = this;
      Context c = makeContext(model.get(), co, reason);
      if (warmup_) warm(c.ctx.get());
      for (int r = 0; r < reps_; ++r) {
        throwIfCancelled();
        llama_memory_clear(llama_get_memory(c.ctx.get()), false);
        const uint64_t t0 = nowNs();
        body(c.ctx.get());
        samples.push_back(nowNs() - t0);
        report(static_cast<double>(++runs) / totalRuns);
      }
    };
    if (nPrompt_ > 0) measure(nPrompt_, runPrompt, runPrompt, ppNs_);
    if (nGen_ > 0) measure(nGen_, [&](llama_context* c) { runGen(c, nGen_); }, [&](llama_context* c) { runGen(c, 1); }, tgNs_);
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    peakRss_ = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  }

  Napi::Value Result(Napi::Env env) override {
    auto samples = [&](const std::vector<uint64_t>& v) {
      Napi::Array a = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); ++i) a.Set(i, static_cast<double>(v[i]));
      return a;
    };
    Napi::Object o = Napi::Object::New(env);
    o.Set("nPrompt", nPrompt_);
    o.Set("nGen", nGen_);
    o.Set("ppSamplesNs", samples(ppNs_));
    o.Set("tgSamplesNs", samples(tgNs_));
    o.Set("modelBytes", static_cast<double>(modelBytes_));
    o.Set("modelParams", static_cast<double>(modelParams_));
    o.Set("peakRssBytes", static_cast<double>(peakRss_));
    return o;
  }

 private:
  LoadOptions load_;
  int32_t nGen_, nPrompt_, reps_, nBatch_, threads_;
  bool warmup_;
  std::vector<uint64_t> ppNs_, tgNs_;
  uint64_t modelBytes_ = 0, modelParams_ = 0, peakRss_ = 0;
};

}  // namespace

Napi::Value Bench(const Napi::CallbackInfo& info) {
  return (new BenchJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
