// perplexity(): llama-perplexity's rules (tools/perplexity): tokenize once with the model's BOS
// rule, cut into nCtx chunks (remainder dropped), evaluate each chunk from an empty cache with BOS
// as its first token, score the second half, PPL = exp(mean NLL), the same standard error.
// Several chunks share one batch when nBatch ≥ 2·nCtx, as the tool does.
// With klBase, the base model runs side by side chunk by chunk and the KL divergence of the
// quantized model's token distribution from the base's is accumulated in double precision: no
// logits file (llama-perplexity's --kl-divergence-base stores every chunk's log-probabilities,
// gigabytes for a real vocabulary), at the cost of holding both models in memory at once.
#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "addon.h"
#include "job.h"
#include "llama_model.h"
#include "stats.h"

namespace apreqel {
namespace {

// log-softmax of `logits` written to `out` (double precision)
void logSoftmax(const float* logits, int nVocab, std::vector<double>& out) {
  out.resize(nVocab);
  float maxLogit = logits[0];
  for (int i = 1; i < nVocab; ++i) maxLogit = std::max(maxLogit, logits[i]);
  double sumExp = 0;
  for (int i = 0; i < nVocab; ++i) sumExp += std::exp(static_cast<double>(logits[i]) - maxLogit);
  const double logSum = std::log(sumExp);
  for (int i = 0; i < nVocab; ++i) out[i] = static_cast<double>(logits[i]) - maxLogit - logSum;
}

// −log p(tok) from raw logits, as llama-perplexity computes it (float exp, double sum)
double negLogProb(const float* logits, int nVocab, llama_token tok) {
  float maxLogit = logits[0];
  for (int i = 1; i < nVocab; ++i) maxLogit = std::max(maxLogit, logits[i]);
  double sumExp = 0;
  for (int i = 0; i < nVocab; ++i) sumExp += std::exp(logits[i] - maxLogit);
  return -(static_cast<double>(logits[tok]) - maxLogit - std::log(sumExp));
}

class PerplexityJob : public Job {
 public:
  PerplexityJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.perplexity"),
        text_(requireString(o, "text")),
        base_(optionalString(o, "klBase", "")),
        nCtx_(optionalInt(o, "nCtx", 512)),
        chunks_(optionalInt(o, "chunks", -1)),
        nBatch_(optionalInt(o, "nBatch", 2048)),
        threads_(optionalInt(o, "threads", 0)) {
    load_.path = requireString(o, "model");
    load_.gpuLayers = optionalInt(o, "gpuLayers", 0);
    if (nCtx_ < 4) throw Napi::RangeError::New(env, "nCtx must be at least 4");
    if (nBatch_ < 1) throw Napi::RangeError::New(env, "nBatch must be at least 1");
    if (nBatch_ >= nCtx_ && nBatch_ % nCtx_ != 0) throw Napi::RangeError::New(env, "nBatch must be below nCtx or a multiple of it (as in llama-perplexity)");
  }

 protected:
  void Run() override {
    auto cancel = [this] { return cancelled(); };
    auto reason = [this] { return lastLogError(); };
    ModelPtr model = loadModel(load_, cancel, reason);
    ModelPtr base;
    if (!base_.empty()) {
      LoadOptions bl{base_, load_.gpuLayers};
      base = loadModel(bl, cancel, reason);
    }
    throwIfCancelled();
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    const bool addBos = llama_vocab_get_add_bos(vocab);
    const int nVocab = llama_vocab_n_tokens(vocab);
    if (base && llama_vocab_n_tokens(llama_model_get_vocab(base.get())) != nVocab) {
      throw std::runtime_error("klBase has a different vocabulary than the model");
    }
    // with a chunk count, only what those chunks need is tokenized
    std::vector<llama_token> tokens = forModel(load_.path, [&] {
      return chunks_ < 0 ? tokenize(vocab, text_, true)
                         : tokenizePrefix(vocab, text_, true, static_cast<size_t>(std::max(chunks_, 2)) * nCtx_, cancel);
    });
    throwIfCancelled();
    tokens_ = tokens.size();
    if (static_cast<int64_t>(tokens.size()) < 2 * static_cast<int64_t>(nCtx_)) {
      throw std::runtime_error("the text tokenizes to " + std::to_string(tokens.size()) + " tokens; perplexity with nCtx " +
                               std::to_string(nCtx_) + " needs at least " + std::to_string(2 * nCtx_));
    }
    const int nChunkMax = static_cast<int>(tokens.size() / nCtx_);
    const int nChunk = chunks_ < 0 ? nChunkMax : std::min(chunks_, nChunkMax);
    const int nSeq = std::max(1, nBatch_ / nCtx_);
    const int nBatch = std::min(nBatch_, nCtx_ * nSeq);
    const int numBatches = (nCtx_ + nBatch - 1) / nBatch;
    const int first = nCtx_ / 2;

    ContextOptions co;
    co.nCtx = static_cast<uint32_t>(nCtx_ * nSeq);
    co.nBatch = static_cast<uint32_t>(nBatch);
    co.nUbatch = std::min<uint32_t>(512, co.nBatch);
    co.nSeqMax = static_cast<uint32_t>(nSeq);
    co.threads = threads_;
    co.abort = &Job::abortRequested;
    co.abortData = this;
    throwIfCancelled();  // context creation cannot be interrupted: check once more before it
    Context ctx = makeContext(model.get(), co, reason);
    Context baseCtx;
    if (base) baseCtx = makeContext(base.get(), co, reason);

    Accumulator nll, kld;
    size_t sameTop = 0;
    std::vector<float> logits, baseLogits;
    llama_batch batch = llama_batch_init(std::min(nBatch, nCtx_ * nSeq), 0, 1);
    struct BatchFree { llama_batch& b; ~BatchFree() { llama_batch_free(b); } } freeBatch{batch};

    auto decode = [&](llama_context* c, std::vector<float>& keep, int nOutputs) {
      if (int rc = llama_decode(c, batch); rc != 0) throwDecodeFailure(rc);
      if (numBatches > 1 && nOutputs > 0) {
        const float* l = llama_get_logits(c);
        keep.insert(keep.end(), l, l + static_cast<size_t>(nOutputs) * nVocab);
      }
    };

    for (int i = 0; i < nChunk; i += nSeq) {
      const int start = i * nCtx_;
      const int end = start + nCtx_;
      const int nSeqBatch = std::min(nSeq, nChunk - i);
      llama_memory_clear(llama_get_memory(ctx.ctx.get()), true);
      if (base) llama_memory_clear(llama_get_memory(baseCtx.ctx.get()), true);
      logits.clear();
      baseLogits.clear();
      for (int j = 0; j < numBatches; ++j) {
        throwIfCancelled();
        const int batchStart = start + j * nBatch;
        const int batchSize = std::min(end - batchStart, nBatch);
        int nOutputs = 0;
        batch.n_tokens = 0;
        for (int seq = 0; seq < nSeqBatch; ++seq) {
          const int seqStart = batchStart + seq * nCtx_;
          for (int k = 0; k < batchSize; ++k) {
            const int idx = seq * nCtx_ + k;
            batch.token[idx] = (addBos && j == 0 && k == 0) ? llama_vocab_bos(vocab) : tokens[seqStart + k];
            batch.pos[idx] = j * nBatch + k;
            batch.n_seq_id[idx] = 1;
            batch.seq_id[idx][0] = seq;
            batch.logits[idx] = batch.pos[idx] >= first ? 1 : 0;
            nOutputs += batch.logits[idx] != 0;
          }
          batch.n_tokens += batchSize;
        }
        decode(ctx.ctx.get(), logits, nOutputs);
        if (base) decode(baseCtx.ctx.get(), baseLogits, nOutputs);
      }
      for (int seq = 0; seq < nSeqBatch; ++seq) {
        const float* all = numBatches > 1 ? logits.data() : llama_get_logits_ith(ctx.ctx.get(), seq * nCtx_ + first);
        const float* allBase = !base ? nullptr
                               : numBatches > 1 ? baseLogits.data()
                                                : llama_get_logits_ith(baseCtx.ctx.get(), seq * nCtx_ + first);
        const llama_token* tok = tokens.data() + start + seq * nCtx_ + first;
        // the scored tokens are independent: split them over the threads, as llama-perplexity does
        const int nScored = nCtx_ - 1 - first;
        const int nWorkers = std::max(1, std::min(nScored, threads_ > 0 ? threads_ : defaultThreads()));
        std::vector<Accumulator> nllPart(nWorkers), kldPart(nWorkers);
        std::vector<size_t> samePart(nWorkers, 0);
        auto work = [&](int w) {
          std::vector<double> lp, blp;
          for (int k = w; k < nScored; k += nWorkers) {
            if (allBase == nullptr) {
              nllPart[w].add(negLogProb(all + static_cast<size_t>(k) * nVocab, nVocab, tok[k + 1]));
              continue;
            }
            logSoftmax(all + static_cast<size_t>(k) * nVocab, nVocab, lp);
            nllPart[w].add(-lp[tok[k + 1]]);
            logSoftmax(allBase + static_cast<size_t>(k) * nVocab, nVocab, blp);
            double d = 0;
            int top = 0, baseTop = 0;
            for (int v = 0; v < nVocab; ++v) {
              d += std::exp(blp[v]) * (blp[v] - lp[v]);
              if (lp[v] > lp[top]) top = v;
              if (blp[v] > blp[baseTop]) baseTop = v;
            }
            kldPart[w].add(d);
            samePart[w] += top == baseTop;
          }
        };
        std::vector<std::thread> pool;
        for (int w = 1; w < nWorkers; ++w) pool.emplace_back(work, w);
        work(0);
        for (auto& t : pool) t.join();
        for (int w = 0; w < nWorkers; ++w) {
          nll.merge(nllPart[w]);
          kld.merge(kldPart[w]);
          sameTop += samePart[w];
        }
      }
      chunksDone_ = i + nSeqBatch;
      report(static_cast<double>(chunksDone_) / nChunk);
    }
    // NaN/Inf weights (or activations that overflow) make NaN/Inf logits: say so here, rather than
    // hand back a NaN that every caller would have to notice
    if (!std::isfinite(nll.mean()) || (base && !std::isfinite(kld.mean()))) {
      throw std::runtime_error(load_.path + " gives non-finite outputs (NaN or Inf logits" + (base ? ", or its base " + base_ + " does" : std::string()) +
                               "): its weights hold NaN/Inf values or its activations overflow");
    }
    ppl_ = std::exp(nll.mean());
    stderr_ = nll.stderrOfMean() * ppl_;
    scored_ = nll.count;
    if (base) {
      kldMean_ = kld.mean();
      kldStderr_ = kld.stderrOfMean();
      sameTop_ = 100.0 * sameTop / kld.count;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ppl", ppl_);
    o.Set("stderr", stderr_);
    o.Set("chunks", chunksDone_);
    o.Set("tokens", static_cast<double>(tokens_));
    o.Set("scoredTokens", static_cast<double>(scored_));
    if (!base_.empty()) {
      Napi::Object k = Napi::Object::New(env);
      k.Set("mean", kldMean_);
      k.Set("stderr", kldStderr_);
      k.Set("sameTopPercent", sameTop_);
      o.Set("kld", k);
    }
    return o;
  }

 private:
  LoadOptions load_;
  std::string text_, base_;
  int32_t nCtx_, chunks_, nBatch_, threads_;
  double ppl_ = NAN, stderr_ = NAN, kldMean_ = NAN, kldStderr_ = NAN, sameTop_ = NAN;
  int chunksDone_ = 0;
  size_t tokens_ = 0, scored_ = 0;
};

}  // namespace

Napi::Value Perplexity(const Napi::CallbackInfo& info) {
  return (new PerplexityJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
