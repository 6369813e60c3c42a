// probeSensitivity(): the KL divergence from a base (source) model of a reference model in which
// one set of tensors at a time is replaced by the same tensors from another GGUF file, all in one
// process with the reference loaded once (the measured-sensitivity probe, issue 14).
//
// How a swap works: the reference is loaded with mmap off and without the CPU's extra (repacking)
// buffer types, so every weight is a plain ggml tensor whose bytes are in the layout its type
// defines. A probe points the tensor's `data` at a host buffer holding the other file's bytes and
// sets its `type` and strides; the compute graph reads both when it runs, so the next decode uses
// the new weights. Swapping back restores the three fields: the reference's own bytes were never
// touched, so logits after a swap-back are bit-identical. Only CPU-resident weights can be swapped
// (the CPU backend reads `data` directly); gpuLayers is refused by the TypeScript wrapper.
// The graph may be reused between decodes (llama.cpp's graph reuse): weights enter it as leaf
// tensors by pointer, and no architecture we plan takes a view of a weight at build time, so a
// reused graph sees the swapped tensor (test/native/probe.test.ts checks each probe against a
// file assembled with that change, which loads fresh).
//
// Tokens and scoring follow perplexity() with nBatch = nCtx (perplexity.cpp): chunks of nCtx from
// an empty cache with BOS first, the second half scored. The base model's token distributions over
// the scored tokens are computed once, kept as float probabilities, and the base model is freed
// before the reference is loaded: p·log p is then a constant per token and each probe needs only
// the log-sum-exp of its own logits and one dot product per token.
//
// Cancellation keeps finished work: every finished probe's numbers are written at once into the
// caller's Float64Array `results` (3 per probe: KLD mean, its standard error, same-top %), which
// the caller reads even when the promise rejects with an AbortError.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "addon.h"
#include "ggml-backend.h"
#include "gguf_file.h"
#include "job.h"
#include "llama-model.h"
#include "llama_model.h"
#include "validate.h"
#include "stats.h"

namespace apreqel {
namespace {

struct Probe {
  std::vector<std::string> tensors;
  std::string source;  // "" = nothing swapped: the reference itself
};

// A host buffer aligned for any ggml type's SIMD loads.
struct AlignedFree { void operator()(void* p) const { std::free(p); } };
using AlignedBytes = std::unique_ptr<void, AlignedFree>;

// One tensor of the loaded model as it was before a swap.
struct Saved {
  ggml_tensor* tensor;
  ggml_type type;
  size_t nb[GGML_MAX_DIMS];
  void* data;
};

class ProbeJob : public Job {
 public:
  ProbeJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.probeSensitivity"),
        text_(requireString(o, "text")),
        base_(requireString(o, "base")),
        nCtx_(optionalInt(o, "nCtx", 512)),
        chunks_(optionalInt(o, "chunks", -1)),
        threads_(optionalInt(o, "threads", 0)) {
    load_.path = requireString(o, "model");
    if (nCtx_ < 4) throw Napi::RangeError::New(env, "nCtx must be at least 4");
    Napi::Value pv = o.Get("probes");
    if (!pv.IsArray()) throw Napi::TypeError::New(env, "expected an array for option probes");
    Napi::Array probes = pv.As<Napi::Array>();
    for (uint32_t i = 0; i < probes.Length(); ++i) {
      Napi::Value e = probes.Get(i);
      if (!e.IsObject()) throw Napi::TypeError::New(env, "expected an object in probes");
      Napi::Object po = e.As<Napi::Object>();
      Probe p;
      p.source = optionalString(po, "source", "");
      Napi::Value tv = po.Get("tensors");
      if (!tv.IsArray()) throw Napi::TypeError::New(env, "expected an array of tensor names in probes[].tensors");
      Napi::Array names = tv.As<Napi::Array>();
      for (uint32_t k = 0; k < names.Length(); ++k) {
        Napi::Value n = names.Get(k);
        if (!n.IsString()) throw Napi::TypeError::New(env, "expected a string in probes[].tensors");
        p.tensors.push_back(n.As<Napi::String>().Utf8Value());
      }
      if (p.source.empty() != p.tensors.empty()) throw Napi::TypeError::New(env, "a probe names both tensors and a source, or neither");
      probes_.push_back(std::move(p));
    }
    Napi::Value rv = o.Get("results");
    if (!rv.IsTypedArray() || rv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        rv.As<Napi::Float64Array>().ElementLength() < 3 * probes_.size()) {
      throw Napi::TypeError::New(env, "expected a Float64Array of 3 × probes for option results");
    }
    resultsHolder_ = Napi::Persistent(rv.As<Napi::Object>());
    results_ = rv.As<Napi::Float64Array>().Data();
    hashes_.resize(probes_.size(), 0);
  }

 protected:
  void Run() override {
    const auto t0 = std::chrono::steady_clock::now();
    auto cancel = [this] { return cancelled(); };
    auto reason = [this] { return lastLogError(); };
    std::vector<llama_token> tokens;
    int nVocab = 0;
    // 1. the base model's distributions over the scored tokens, then the base is freed
    {
      ModelPtr base = loadModel({base_, 0}, cancel, reason);
      throwIfCancelled();
      const llama_vocab* vocab = llama_model_get_vocab(base.get());
      nVocab = llama_vocab_n_tokens(vocab);
      addBos_ = llama_vocab_get_add_bos(vocab);
      bos_ = llama_vocab_bos(vocab);
      tokens = tokenize(vocab, text_, true);
      if (static_cast<int64_t>(tokens.size()) < 2 * static_cast<int64_t>(nCtx_)) {
        throw std::runtime_error("the calibration text tokenizes to " + std::to_string(tokens.size()) +
                                 " tokens; probing with nCtx " + std::to_string(nCtx_) + " needs at least " +
                                 std::to_string(2 * nCtx_));
      }
      const int nChunkMax = static_cast<int>(tokens.size() / nCtx_);
      nChunk_ = chunks_ < 0 ? nChunkMax : std::min(chunks_, nChunkMax);
      first_ = nCtx_ / 2;
      nScored_ = nCtx_ - 1 - first_;
      const size_t rows = static_cast<size_t>(nChunk_) * nScored_;
      baseP_.assign(rows * nVocab, 0.0f);
      basePLogP_.assign(rows, 0.0);
      baseSumP_.assign(rows, 0.0);
      baseTop_.assign(rows, 0);
      Context ctx = makeContext(base.get(), contextOptions(), reason);
      for (int c = 0; c < nChunk_; ++c) {
        const float* logits = decodeChunk(ctx.ctx.get(), tokens, c);
        parallelRows([&](int k) {
          const size_t row = static_cast<size_t>(c) * nScored_ + k;
          const float* l = logits + static_cast<size_t>(k) * nVocab;
          float* p = baseP_.data() + row * nVocab;
          float m = l[0];
          int top = 0;
          for (int v = 1; v < nVocab; ++v) if (l[v] > m) { m = l[v]; top = v; }
          double s = 0;
          for (int v = 0; v < nVocab; ++v) s += std::exp(static_cast<double>(l[v]) - m);
          const double logS = std::log(s);
          double plogp = 0, sumP = 0;
          for (int v = 0; v < nVocab; ++v) {
            const double lp = static_cast<double>(l[v]) - m - logS;
            p[v] = static_cast<float>(std::exp(lp));
            if (p[v] > 0) plogp += static_cast<double>(p[v]) * std::log(static_cast<double>(p[v]));
            sumP += p[v];
          }
          basePLogP_[row] = plogp;
          baseSumP_[row] = sumP;
          baseTop_[row] = top;
        });
        reportStep();
      }
    }
    throwIfCancelled();

    // 2. the reference, with plain CPU tensors (see the file comment)
    validateForRun(load_.path);
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.load_mode = LLAMA_LOAD_MODE_NONE;
    mp.lazy_mode = LLAMA_LAZY_MODE_OFF;
    mp.use_extra_bufts = false;
    mp.progress_callback = [](float, void* p) { return !static_cast<ProbeJob*>(p)->cancelled(); };
    mp.progress_callback_user_data = this;
    ModelPtr model(llama_model_load_from_file(load_.path.c_str(), mp));
    if (!model) {
      throwIfCancelled();
      std::string why = reason();
      throw std::runtime_error("cannot load model " + load_.path + (why.empty() ? "" : ": " + why));
    }
    if (llama_vocab_n_tokens(llama_model_get_vocab(model.get())) != nVocab) {
      throw std::runtime_error("the base model has a different vocabulary than the reference");
    }
    Context ctx = makeContext(model.get(), contextOptions(), reason);
    const auto& byName = llama_internal_get_tensor_map(model.get());

    for (size_t i = 0; i < probes_.size(); ++i) {
      throwIfCancelled();
      const Probe& probe = probes_[i];
      std::vector<Saved> saved;
      std::vector<AlignedBytes> buffers;
      const auto s0 = std::chrono::steady_clock::now();
      for (const std::string& name : probe.tensors) swapIn(byName, name, probe.source, saved, buffers);
      swapSeconds_ += seconds(s0);
      struct Restore {
        std::vector<Saved>& s;
        ~Restore() {
          for (const Saved& x : s) {
            x.tensor->type = x.type;
            std::memcpy(x.tensor->nb, x.nb, sizeof(x.nb));
            x.tensor->data = x.data;
          }
        }
      } restore{saved};

      Accumulator kld;
      size_t sameTop = 0;
      uint64_t hash = 1469598103934665603ull;
      for (int c = 0; c < nChunk_; ++c) {
        throwIfCancelled();
        const float* logits = decodeChunk(ctx.ctx.get(), tokens, c);
        const auto k0 = std::chrono::steady_clock::now();
        std::vector<double> d(nScored_);
        std::vector<uint64_t> h(nScored_);
        std::vector<char> same(nScored_);
        parallelRows([&](int k) {
          const size_t row = static_cast<size_t>(c) * nScored_ + k;
          const float* l = logits + static_cast<size_t>(k) * nVocab;
          const float* p = baseP_.data() + row * nVocab;
          float m = l[0];
          int top = 0;
          for (int v = 1; v < nVocab; ++v) if (l[v] > m) { m = l[v]; top = v; }
          double s = 0, pl = 0;
          uint64_t hh = 1469598103934665603ull;
          for (int v = 0; v < nVocab; ++v) {
            s += std::exp(static_cast<double>(l[v]) - m);
            pl += static_cast<double>(p[v]) * l[v];
            uint32_t bits;
            std::memcpy(&bits, l + v, 4);
            hh = (hh ^ bits) * 1099511628211ull;
          }
          // KL(p‖q) = Σ p log p − Σ p log q, log q_v = l_v − m − log s
          d[k] = basePLogP_[row] - pl + (m + std::log(s)) * baseSumP_[row];
          h[k] = hh;
          same[k] = top == baseTop_[row];
        });
        for (int k = 0; k < nScored_; ++k) {
          kld.add(d[k]);
          sameTop += same[k];
          hash = (hash ^ h[k]) * 1099511628211ull;
        }
        kldSeconds_ += seconds(k0);
        reportStep();
      }
      results_[3 * i] = kld.mean();
      results_[3 * i + 1] = kld.stderrOfMean();
      results_[3 * i + 2] = 100.0 * sameTop / kld.count;
      hashes_[i] = hash;
      ++probesDone_;
    }
    totalSeconds_ = seconds(t0);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("chunks", nChunk_);
    o.Set("scoredTokens", static_cast<double>(nChunk_) * nScored_);
    Napi::Array hashes = Napi::Array::New(env, hashes_.size());
    char buf[17];
    for (size_t i = 0; i < hashes_.size(); ++i) {
      std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hashes_[i]));
      hashes.Set(i, buf);
    }
    // FNV-1a over each probe's scored logits: equal hashes ⇔ (practically) bit-identical logits
    o.Set("logitsHashes", hashes);
    Napi::Object t = Napi::Object::New(env);
    t.Set("totalSeconds", totalSeconds_);
    t.Set("decodeSeconds", decodeSeconds_);  // every llama_decode, base model included
    t.Set("kldSeconds", kldSeconds_);
    t.Set("swapSeconds", swapSeconds_);
    t.Set("decodedTokens", static_cast<double>(decodedTokens_));
    o.Set("timing", t);
    return o;
  }

 private:
  static double seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  }

  ContextOptions contextOptions() const {
    ContextOptions co;
    co.nCtx = static_cast<uint32_t>(nCtx_);
    co.nBatch = static_cast<uint32_t>(nCtx_);
    co.nUbatch = std::min<uint32_t>(512, co.nBatch);
    co.threads = threads_;
    return co;
  }

  int workers() const { return std::max(1, std::min(nScored_, threads_ > 0 ? threads_ : defaultThreads())); }

  template <class F>
  void parallelRows(const F& f) {
    const int n = workers();
    auto work = [&](int w) { for (int k = w; k < nScored_; k += n) f(k); };
    std::vector<std::thread> pool;
    for (int w = 1; w < n; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
  }

  void reportStep() {
    ++stepsDone_;
    report(static_cast<double>(stepsDone_) / (static_cast<double>(nChunk_) * (1 + probes_.size())));
  }

  // Decodes chunk c from an empty cache; returns the logits of its scored positions, contiguous.
  const float* decodeChunk(llama_context* c, const std::vector<llama_token>& tokens, int chunk) {
    llama_memory_clear(llama_get_memory(c), true);
    llama_batch batch = llama_batch_init(nCtx_, 0, 1);
    struct BatchFree { llama_batch& b; ~BatchFree() { llama_batch_free(b); } } freeBatch{batch};
    const size_t start = static_cast<size_t>(chunk) * nCtx_;
    for (int k = 0; k < nCtx_; ++k) {
      batch.token[k] = (addBos_ && k == 0) ? bos_ : tokens[start + k];
      batch.pos[k] = k;
      batch.n_seq_id[k] = 1;
      batch.seq_id[k][0] = 0;
      batch.logits[k] = k >= first_ ? 1 : 0;
    }
    batch.n_tokens = nCtx_;
    const auto d0 = std::chrono::steady_clock::now();
    if (llama_decode(c, batch) != 0) throw std::runtime_error(withLogReason("llama_decode failed"));
    decodeSeconds_ += seconds(d0);
    decodedTokens_ += nCtx_;
    return llama_get_logits_ith(c, first_);
  }

  const GgufHeader& header(const std::string& path) {
    auto it = headers_.find(path);
    if (it == headers_.end()) it = headers_.emplace(path, validateGguf(path)).first;
    return it->second;
  }

  void swapIn(const std::vector<std::pair<std::string, ggml_tensor*>>& byName, const std::string& name,
              const std::string& source, std::vector<Saved>& saved, std::vector<AlignedBytes>& buffers) {
    const GgufHeader& h = header(source);
    const int64_t id = gguf_find_tensor(h.gguf.get(), name.c_str());
    if (id < 0) throw std::runtime_error("tensor " + name + " is not in " + source);
    const ggml_tensor* src = ggml_get_tensor(h.meta.get(), name.c_str());
    const size_t size = gguf_get_tensor_size(h.gguf.get(), id);
    const uint64_t offset = h.tensorDataOffset(id);
    size_t matched = 0;
    void* data = nullptr;
    // a tied output head is token_embd loaded twice (TENSOR_DUPLICATED): both copies swap
    for (const auto& [n, t] : byName) {
      if (n != name) continue;
      for (int d = 0; d < GGML_MAX_DIMS; ++d) {
        if (t->ne[d] != src->ne[d]) throw std::runtime_error("tensor " + name + " in " + source + " has another shape than in the reference");
      }
      if (t->buffer == nullptr || !ggml_backend_buffer_is_host(t->buffer)) {
        throw std::runtime_error("tensor " + name + " is not in host memory; probes run on the CPU only");
      }
      if (data == nullptr) {
        data = std::aligned_alloc(64, (size + 63) / 64 * 64);
        if (data == nullptr) throw std::bad_alloc();
        buffers.emplace_back(data);
        std::ifstream in(source, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(offset));
        in.read(static_cast<char*>(data), static_cast<std::streamsize>(size));
        if (!in) throw std::runtime_error(errnoMessage("cannot read tensor " + name + " from", source));
      }
      Saved s{t, t->type, {}, t->data};
      std::memcpy(s.nb, t->nb, sizeof(s.nb));
      saved.push_back(s);
      t->type = src->type;
      std::memcpy(t->nb, src->nb, sizeof(t->nb));
      t->data = data;
      ++matched;
    }
    if (matched == 0) throw std::runtime_error("tensor " + name + " is not a tensor of the reference model");
  }

  LoadOptions load_;
  std::string text_, base_;
  int32_t nCtx_, chunks_, threads_;
  std::vector<Probe> probes_;
  Napi::ObjectReference resultsHolder_;  // keeps `results` alive while the worker writes into it
  double* results_ = nullptr;
  std::vector<uint64_t> hashes_;
  std::map<std::string, GgufHeader> headers_;
  bool addBos_ = false;
  llama_token bos_ = 0;
  int nChunk_ = 0, first_ = 0, nScored_ = 0;
  std::vector<float> baseP_;
  std::vector<double> basePLogP_, baseSumP_;
  std::vector<int> baseTop_;
  size_t stepsDone_ = 0, probesDone_ = 0, decodedTokens_ = 0;
  double totalSeconds_ = 0, decodeSeconds_ = 0, kldSeconds_ = 0, swapSeconds_ = 0;
};

}  // namespace

Napi::Value ProbeSensitivity(const Napi::CallbackInfo& info) {
  return (new ProbeJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
