// probeSensitivity(): the KL divergence from a base (source) model of a reference model in which
// one set of tensors at a time is replaced by the same tensors from another GGUF file, all in one
// process with the reference loaded once (the measured-sensitivity probe, issue 14; its cost, issue 25).
//
// How a swap works: the reference is loaded with mmap off and without the CPU's extra (repacking)
// buffer types, so every weight is a plain ggml tensor whose bytes are in the layout its type
// defines. A probe points the tensor's `data` at a host buffer holding the other file's bytes and
// sets its `type` and strides; the compute graph reads both when it runs, so the next decode uses
// the new weights. Swapping back restores the three fields: the reference's own bytes were never
// touched, so logits after a swap-back are bit-identical. Only CPU-resident weights can be swapped
// (the CPU backend reads `data` directly), so the probes take no gpuLayers (ops/probe.ts): a run
// with --gpu-layers offloads everything else and says that the probes ran on the CPU.
// The graph may be reused between decodes (llama.cpp's graph reuse): weights enter it as leaf
// tensors by pointer, and no architecture we plan takes a view of a weight at build time, so a
// reused graph sees the swapped tensor (test/native/probe.test.ts checks each probe against a
// file assembled with that change, which loads fresh).
//
// Tokens: chunks of nCtx from an empty cache with BOS first. Which positions are scored: with
// warmup < 0, llama-perplexity's convention (the second half, as perplexity() with nBatch = nCtx);
// with warmup = w ≥ 0, every position from w on (a probe compares two models on the same tokens, so
// nothing obliges it to throw half its compute away; issue 25 item 1). The base model's
// distributions over exactly the scored positions are computed once and kept (f32, or f16 scaled
// by the row's largest probability when f32 would pass baseMemory; see BaseRows), and the base
// model is freed before the reference is loaded: p·log p is then a constant per token and each
// probe needs only the log-sum-exp of its own logits and one dot product per token.
//
// The reference pass: every chunk once through the reference, giving its KLD per scored token
// (the `tensors: []` probe's answer, and the pair every other probe's Δ is taken against) and, where
// starting at a block is exact, the residual stream at each needed block's input
// (llama_set_embeddings_layer_inp, llama.cpp's own extension API; spilled to an unlinked temporary
// file past stateMemory bytes).
//
// Starting at a block (item 2): blocks before a probe's first swapped tensor compute exactly what
// the reference computed, so a probe of a unit in block l feeds block l's captured input through
// llama_batch.embd into a view of the model whose layers start at l (llama_model::layers and
// n_layer shifted, restored after; a view change forces a graph rebuild). Exact only where the
// graph is a plain loop over identical blocks whose input is the embedding unchanged: the llama and
// qwen3 architectures without SWA, per-layer shapes, embedding scale or MTP layers (viewRefusal());
// any other model runs every probe from the tokens, and says why in the result.
//
// Stopping (item 3): each probe stops after a chunk once its mean Δ is known to the caller's
// relative precision, or to a fraction of the reference's KLD, between a floor and a ceiling of
// tokens (StopRule, stats.h). A probe's KLD is
// reported as the reference's KLD over all scored tokens plus its mean Δ over the tokens it scored
// (its own mean KLD exactly when it scored them all).
//
// Cancellation keeps finished work: every finished probe's numbers are written at once into the
// caller's Float64Array `results` (kResultStride per probe, see Result layout below), which the
// caller reads even when the promise rejects with an AbortError.
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
#include "llama-ext.h"
#include "llama-model.h"
#include "llama_model.h"
#include "validate.h"
#include "stats.h"

namespace apreqel {
namespace {

// results[kResultStride·i + …]: KLD mean, its standard error over the probe's tokens, same-top %,
// tokens scored, forward-equivalent tokens (decoded × fraction of the blocks computed), standard
// error of the mean Δ against the reference, the block the probe started at
constexpr size_t kResultStride = 7;

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

// The base model's distribution at every scored position. f32 costs rows × n_vocab × 4 B: at the
// default 8 chunks of 512 with all positions scored and a 128k vocabulary, 4,096 × 128,256 × 4 B
// = 2.1 GB. f16 halves that; stored as p / max p, so the row's likely tokens keep f16's relative
// precision (2^-11) and only tokens below 6e-8 of the row's top fall to f16's subnormals or 0.
// Σ p log p and Σ p are taken over the stored (rounded, renormalized) values, so the KL computed is
// that of the stored distribution: its error is second order where p and q are close, and the
// probes' Δ, a difference of two KLs against the same stored p, changes by less still
// (test/native/probe.test.ts measures both).
struct BaseRows {
  bool half = false;
  int nVocab = 0;
  std::vector<float> f32;
  std::vector<ggml_fp16_t> f16;
  std::vector<float> scale;
  std::vector<double> plogp, sumP;
  std::vector<int> top;

  void init(size_t rows, int vocab, bool useHalf) {
    half = useHalf;
    nVocab = vocab;
    if (half) {
      f16.assign(rows * vocab, 0);
      scale.assign(rows, 0.0f);
    } else {
      f32.assign(rows * vocab, 0.0f);
    }
    plogp.assign(rows, 0.0);
    sumP.assign(rows, 0.0);
    top.assign(rows, 0);
  }
  size_t bytes() const { return f32.size() * 4 + f16.size() * 2 + scale.size() * 4 + plogp.size() * 20; }

  // stores row `row` from logits l; `work` is nVocab floats of scratch
  void set(size_t row, const float* l, float* work) {
    float m = l[0];
    int t = 0;
    for (int v = 1; v < nVocab; ++v) if (l[v] > m) { m = l[v]; t = v; }
    double s = 0;
    for (int v = 0; v < nVocab; ++v) s += std::exp(static_cast<double>(l[v]) - m);
    const double logS = std::log(s);
    for (int v = 0; v < nVocab; ++v) work[v] = static_cast<float>(std::exp(static_cast<double>(l[v]) - m - logS));
    const float* p = work;
    if (half) {
      const float pmax = static_cast<float>(1.0 / s);  // the top token's probability
      ggml_fp16_t* h = f16.data() + row * nVocab;
      for (int v = 0; v < nVocab; ++v) h[v] = ggml_fp32_to_fp16(work[v] / pmax);
      // rescaled so the stored row sums to 1: the KL is then that of a distribution, and the
      // rounding's first-order term Σ δp (which does not cancel) vanishes
      scale[row] = pmax;
      p = values(row, work);
      double total = 0;
      for (int v = 0; v < nVocab; ++v) total += p[v];
      scale[row] = static_cast<float>(pmax / total);
      p = values(row, work);
    } else {
      std::memcpy(f32.data() + row * nVocab, work, sizeof(float) * nVocab);
    }
    double pl = 0, sp = 0;
    for (int v = 0; v < nVocab; ++v) {
      if (p[v] > 0) pl += static_cast<double>(p[v]) * std::log(static_cast<double>(p[v]));
      sp += p[v];
    }
    plogp[row] = pl;
    sumP[row] = sp;
    top[row] = t;
  }
  // the stored probabilities of row `row` (f16: decoded into `work`)
  const float* values(size_t row, float* work) const {
    if (!half) return f32.data() + row * nVocab;
    ggml_fp16_to_fp32_row(f16.data() + row * nVocab, work, nVocab);
    const float sc = scale[row];
    for (int v = 0; v < nVocab; ++v) work[v] *= sc;
    return work;
  }
};

// The reference's residual stream at the input of the blocks probes start at, per chunk: in memory,
// or past `limit` bytes in an unlinked temporary file (read back one chunk at a time).
class StateStore {
 public:
  ~StateStore() { if (file_) std::fclose(file_); }
  void init(const std::vector<int>& blocks, int chunks, size_t floatsPerChunk, double limit) {
    for (size_t i = 0; i < blocks.size(); ++i) slot_[blocks[i]] = static_cast<int>(i);
    chunks_ = chunks;
    floats_ = floatsPerChunk;
    const double bytes = static_cast<double>(blocks.size()) * chunks * floatsPerChunk * sizeof(float);
    if (bytes <= limit) {
      mem_.assign(blocks.size() * chunks * floatsPerChunk, 0.0f);
    } else {
      file_ = std::tmpfile();
      if (file_ == nullptr) throw std::runtime_error(errnoMessage("cannot create a temporary file for the captured states in", "the temporary directory"));
    }
    bytes_ = bytes;
  }
  bool has(int block) const { return slot_.count(block) != 0; }
  const std::map<int, int>& slots() const { return slot_; }
  bool spilled() const { return file_ != nullptr; }
  double bytes() const { return bytes_; }
  void put(int block, int chunk, const float* x) {
    const size_t at = index(block, chunk);
    if (!file_) {
      std::memcpy(mem_.data() + at, x, floats_ * sizeof(float));
      return;
    }
    if (fseeko(file_, static_cast<off_t>(at * sizeof(float)), SEEK_SET) != 0 || std::fwrite(x, sizeof(float), floats_, file_) != floats_) {
      throw std::runtime_error(errnoMessage("cannot write the captured states to", "a temporary file"));
    }
  }
  // the states of (block, chunk): a pointer into memory, or `buffer` filled from the file
  const float* get(int block, int chunk, std::vector<float>& buffer) {
    const size_t at = index(block, chunk);
    if (!file_) return mem_.data() + at;
    buffer.resize(floats_);
    if (fseeko(file_, static_cast<off_t>(at * sizeof(float)), SEEK_SET) != 0 || std::fread(buffer.data(), sizeof(float), floats_, file_) != floats_) {
      throw std::runtime_error(errnoMessage("cannot read the captured states from", "a temporary file"));
    }
    return buffer.data();
  }

 private:
  size_t index(int block, int chunk) const { return (static_cast<size_t>(slot_.at(block)) * chunks_ + chunk) * floats_; }
  std::map<int, int> slot_;
  int chunks_ = 0;
  size_t floats_ = 0;
  double bytes_ = 0;
  std::vector<float> mem_;
  std::FILE* file_ = nullptr;
};

// Why starting a probe at a block would not reproduce the full forward pass of this model, or ""
// (see the file comment). Checked against llama.cpp's own fields, so a model that loads with a
// feature we did not plan for runs from the tokens instead of silently differing.
std::string viewRefusal(const llama_model* m) {
  const llama_hparams& h = m->hparams;
  // builders read: a plain loop over blocks that records each block's input (t_layer_inp, which the
  // capture reads) and takes the embedding unchanged. qwen2's builder records no block inputs.
  if (m->arch != LLM_ARCH_LLAMA && m->arch != LLM_ARCH_QWEN3) return std::string("architecture ") + llm_arch_name(m->arch) + " is not planned for it";
  const uint32_t n = h.n_layer();
  if (n < 2 || m->layers.size() != n) return "the model has fewer than two blocks";
  if (h.n_layer_nextn != 0) return "the model has MTP layers";
  if (h.swa_type != LLAMA_SWA_TYPE_NONE) return "the model uses sliding-window attention";
  if (h.f_embedding_scale != 0.0f) return "the model scales its embeddings";
  if (h.n_expert != 0) return "the model is a mixture of experts";
  if (h.n_layer_kv_from_start >= 0) return "the model shares KV caches across blocks";
  if (h.n_embd_inp() != h.n_embd) return "the model's input width differs from its residual stream";
  for (uint32_t il = 1; il < n; ++il) {
    if (h.n_head_arr[il] != h.n_head_arr[0] || h.n_head_kv_arr[il] != h.n_head_kv_arr[0] || h.n_ff_arr[il] != h.n_ff_arr[0] ||
        h.is_swa_impl[il] != h.is_swa_impl[0] || h.is_recr_impl[il] != h.is_recr_impl[0]) {
      return "the model's blocks differ in shape";
    }
  }
  return "";
}

// The block a probe may start at: its earliest swapped block tensor; the output head (or its norm)
// needs only the last block's output, so it starts at the last block; anything else (token_embd)
// at 0.
int startBlockOf(const Probe& p, int nLayer) {
  int start = nLayer;
  for (const std::string& name : p.tensors) {
    int b = 0;
    if (name.rfind("blk.", 0) == 0) {
      b = std::atoi(name.c_str() + 4);
    } else if (name == "output.weight" || name == "output_norm.weight") {
      b = nLayer - 1;
    }
    start = std::min(start, b);
  }
  return std::max(0, std::min(start, nLayer - 1));
}

// A model view whose layers start at block `start` (0: the model itself); restored on destruction.
class LayerView {
 public:
  explicit LayerView(llama_model* m) : m_(m), layers_(m->layers), nLayerAll_(m->hparams.n_layer_all) {}
  ~LayerView() { set(nullptr, 0); }
  int start() const { return start_; }
  // returns true when the view changed (the context's graph must then be rebuilt)
  bool set(llama_context* ctx, int start) {
    if (start == start_) return false;
    m_->layers = layers_;
    m_->hparams.n_layer_all = nLayerAll_;
    if (start > 0) {
      m_->layers.erase(m_->layers.begin(), m_->layers.begin() + start);
      m_->hparams.n_layer_all = nLayerAll_ - start;
    }
    start_ = start;
    // a graph built for the other view must not be reused: asking for a (no) layer input marks the
    // scheduler for a reserve, which drops the previous graphs
    if (ctx != nullptr) llama_set_embeddings_layer_inp(ctx, 0, false);
    return true;
  }

 private:
  llama_model* m_;
  std::vector<llama_layer> layers_;
  uint32_t nLayerAll_;
  int start_ = 0;
};

class ProbeJob : public Job {
 public:
  ProbeJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.probeSensitivity"),
        text_(requireString(o, "text")),
        base_(requireString(o, "base")),
        nCtx_(optionalInt(o, "nCtx", 512)),
        chunks_(optionalInt(o, "chunks", -1)),
        threads_(optionalInt(o, "threads", 0)),
        warmup_(optionalInt(o, "warmup", -1)),
        startAtBlock_(optionalBool(o, "startAtBlock", true)),
        baseFormat_(optionalString(o, "baseFormat", "auto")),
        baseMemory_(optionalDouble(o, "baseMemory", 1024.0 * 1024 * 1024)),
        stateMemory_(optionalDouble(o, "stateMemory", 2048.0 * 1024 * 1024)) {
    load_.path = requireString(o, "model");
    if (nCtx_ < 4) throw Napi::RangeError::New(env, "nCtx must be at least 4");
    if (warmup_ >= nCtx_) throw Napi::RangeError::New(env, "warmup must be less than nCtx");
    if (baseFormat_ != "auto" && baseFormat_ != "f32" && baseFormat_ != "f16") throw Napi::TypeError::New(env, "baseFormat must be auto, f32 or f16");
    stop_.relativeStderr = optionalDouble(o, "stopRelativeStderr", 0);
    stopReferenceFraction_ = optionalDouble(o, "stopReferenceFraction", 0);
    const double minTokens = optionalDouble(o, "stopMinTokens", 0);
    const double maxTokens = optionalDouble(o, "stopMaxTokens", -1);
    if (stop_.relativeStderr < 0 || stopReferenceFraction_ < 0 || minTokens < 0) throw Napi::RangeError::New(env, "the stopping rule's numbers must be ≥ 0");
    stop_.minTokens = static_cast<size_t>(minTokens);
    stop_.maxTokens = maxTokens < 0 ? SIZE_MAX : static_cast<size_t>(std::max(1.0, maxTokens));
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
        rv.As<Napi::Float64Array>().ElementLength() < kResultStride * probes_.size()) {
      throw Napi::TypeError::New(env, "expected a Float64Array of " + std::to_string(kResultStride) + " × probes for option results");
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
    // 1. the base model's distributions over the scored tokens, then the base is freed
    {
      ModelPtr base = loadModel({base_, 0}, cancel, reason);
      throwIfCancelled();
      const llama_vocab* vocab = llama_model_get_vocab(base.get());
      nVocab_ = llama_vocab_n_tokens(vocab);
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
      if (warmup_ < 0) {
        first_ = nCtx_ / 2;  // llama-perplexity: the second half, the last position excluded
        nScored_ = nCtx_ - 1 - first_;
      } else {
        first_ = warmup_;
        nScored_ = nCtx_ - warmup_;
      }
      const size_t rows = static_cast<size_t>(nChunk_) * nScored_;
      const bool half = baseFormat_ == "f16" || (baseFormat_ == "auto" && static_cast<double>(rows) * nVocab_ * 4 > baseMemory_);
      baseRows_.init(rows, nVocab_, half);
      Context ctx = makeContext(base.get(), contextOptions(), reason);
      std::vector<std::vector<float>> work(workers(), std::vector<float>(nVocab_));
      for (int c = 0; c < nChunk_; ++c) {
        throwIfCancelled();
        const float* logits = decodeChunk(ctx.ctx.get(), tokens, c);
        baseTokens_ += nCtx_;
        parallelRows([&](int k, int w) {
          baseRows_.set(static_cast<size_t>(c) * nScored_ + k, logits + static_cast<size_t>(k) * nVocab_, work[w].data());
        });
        reportSteps(++stepsDone_);
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
    if (llama_vocab_n_tokens(llama_model_get_vocab(model.get())) != nVocab_) {
      throw std::runtime_error("the base model has a different vocabulary than the reference");
    }
    nLayer_ = static_cast<int>(model->hparams.n_layer());
    nEmbd_ = static_cast<int>(model->hparams.n_embd);
    if (startAtBlock_) viewRefusal_ = viewRefusal(model.get());
    const bool views = startAtBlock_ && viewRefusal_.empty();
    std::vector<int> starts(probes_.size(), 0);
    std::vector<int> needed;
    for (size_t i = 0; i < probes_.size(); ++i) {
      if (probes_[i].tensors.empty() || !views) continue;
      starts[i] = startBlockOf(probes_[i], nLayer_);
      if (starts[i] > 0) needed.push_back(starts[i]);
    }
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    states_.init(needed, nChunk_, static_cast<size_t>(nCtx_) * nEmbd_, stateMemory_);

    // 3. the reference pass: its KLD per scored token, and the states probes start from
    const size_t rows = static_cast<size_t>(nChunk_) * nScored_;
    refKld_.assign(rows, 0.0);
    refSame_.assign(rows, 0);
    std::vector<uint64_t> refHash(nChunk_, 0);
    {
      Context ctx = makeContext(model.get(), contextOptions(), reason);
      for (int b : needed) llama_set_embeddings_layer_inp(ctx.ctx.get(), static_cast<uint32_t>(b), true);
      for (int c = 0; c < nChunk_; ++c) {
        throwIfCancelled();
        const float* logits = decodeChunk(ctx.ctx.get(), tokens, c);
        referenceTokens_ += nCtx_;
        refHash[c] = scoreChunk(logits, c, refKld_.data() + static_cast<size_t>(c) * nScored_, refSame_.data() + static_cast<size_t>(c) * nScored_);
        for (int b : needed) {
          const float* x = llama_get_embeddings_layer_inp(ctx.ctx.get(), static_cast<uint32_t>(b));
          if (x == nullptr) throw std::runtime_error(withLogReason("the reference's residual stream at block " + std::to_string(b) + " was not captured"));
          states_.put(b, c, x);
        }
        reportSteps(++stepsDone_);
      }
    }
    Accumulator refAll;
    size_t refSameAll = 0;
    uint64_t refHashAll = 1469598103934665603ull;
    for (size_t r = 0; r < rows; ++r) refAll.add(refKld_[r]), refSameAll += refSame_[r];
    for (int c = 0; c < nChunk_; ++c) refHashAll = (refHashAll ^ refHash[c]) * 1099511628211ull;
    // the reference's KLD is the floor of every mix's: a Δ known to a small fraction of it is known
    // well enough whatever its own size
    stop_.absoluteStderr = stopReferenceFraction_ * refAll.mean();

    // 4. the probes
    Context ctx = makeContext(model.get(), contextOptions(), reason);
    const auto& byName = llama_internal_get_tensor_map(model.get());
    LayerView view(model.get());
    const int maxChunks = maxChunksPerProbe();
    std::vector<float> stateBuffer;
    for (size_t i = 0; i < probes_.size(); ++i) {
      throwIfCancelled();
      const Probe& probe = probes_[i];
      double* out = results_ + kResultStride * i;
      if (probe.tensors.empty()) {
        // the reference itself: the reference pass measured it, over every chunk
        out[0] = refAll.mean();
        out[1] = refAll.stderrOfMean();
        out[2] = 100.0 * refSameAll / refAll.count;
        out[3] = static_cast<double>(refAll.count);
        out[4] = 0;  // no decode of its own: the reference pass is counted once, in the totals
        out[5] = 0;
        out[6] = 0;
        hashes_[i] = refHashAll;
        ++probesDone_;
        continue;
      }
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
      const int start = starts[i];
      view.set(ctx.ctx.get(), start);

      Accumulator kld, delta;
      size_t sameTop = 0;
      uint64_t hash = 1469598103934665603ull;
      std::vector<double> d(nScored_);
      std::vector<char> same(nScored_);
      int c = 0;
      while (c < maxChunks) {
        throwIfCancelled();
        const float* logits = start > 0 ? decodeStates(ctx.ctx.get(), start, c, stateBuffer) : decodeChunk(ctx.ctx.get(), tokens, c);
        const uint64_t h = scoreChunk(logits, c, d.data(), same.data());
        const size_t row0 = static_cast<size_t>(c) * nScored_;
        for (int k = 0; k < nScored_; ++k) {
          kld.add(d[k]);
          delta.add(d[k] - refKld_[row0 + k]);
          sameTop += same[k];
        }
        hash = (hash ^ h) * 1099511628211ull;
        ++c;
        reportSteps(++stepsDone_);
        if (stop_.done(delta)) break;
      }
      stepsDone_ += maxChunks - c;  // a probe that stopped early gives back the steps it did not take
      // KLD over all scored tokens, estimated as the reference's plus the mean paired Δ (exactly
      // this probe's own mean when it scored every chunk: the correction is then 0)
      Accumulator refPart;
      for (size_t r = 0; r < static_cast<size_t>(c) * nScored_; ++r) refPart.add(refKld_[r]);
      const double forward = static_cast<double>(c) * nCtx_ * (nLayer_ - start) / nLayer_;
      out[0] = c == nChunk_ ? kld.mean() : kld.mean() + (refAll.mean() - refPart.mean());
      out[1] = kld.stderrOfMean();
      out[2] = 100.0 * sameTop / kld.count;
      out[3] = static_cast<double>(kld.count);
      out[4] = forward;
      out[5] = delta.stderrOfMean();
      out[6] = start;
      probeForwardTokens_ += forward;
      probeTokens_ += kld.count;
      hashes_[i] = hash;
      ++probesDone_;
    }
    totalSeconds_ = seconds(t0);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("chunks", nChunk_);
    o.Set("scoredTokens", static_cast<double>(nChunk_) * nScored_);
    o.Set("firstScored", first_);
    Napi::Array hashes = Napi::Array::New(env, hashes_.size());
    char buf[17];
    for (size_t i = 0; i < hashes_.size(); ++i) {
      std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hashes_[i]));
      hashes.Set(i, buf);
    }
    // FNV-1a over each probe's scored logits: equal hashes ⇔ (practically) bit-identical logits
    o.Set("logitsHashes", hashes);
    Napi::Object cost = Napi::Object::New(env);
    cost.Set("blocks", nLayer_);
    cost.Set("baseTokens", static_cast<double>(baseTokens_));
    cost.Set("referenceTokens", static_cast<double>(referenceTokens_));
    cost.Set("probeTokens", static_cast<double>(probeTokens_));
    cost.Set("probeForwardTokens", probeForwardTokens_);
    cost.Set("forwardTokens", static_cast<double>(baseTokens_ + referenceTokens_) + probeForwardTokens_);
    cost.Set("baseFormat", baseRows_.half ? "f16" : "f32");
    cost.Set("baseBytes", static_cast<double>(baseRows_.bytes()));
    cost.Set("stateBytes", states_.bytes());
    cost.Set("stateSpilled", states_.spilled());
    o.Set("cost", cost);
    if (!viewRefusal_.empty()) o.Set("startAtBlockRefused", viewRefusal_);
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

  // chunks a probe may run: all, or as many as its ceiling of tokens needs
  int maxChunksPerProbe() const {
    if (stop_.maxTokens == SIZE_MAX) return nChunk_;
    return static_cast<int>(std::min<size_t>(nChunk_, (stop_.maxTokens + nScored_ - 1) / nScored_));
  }

  void reportSteps(size_t steps) {
    size_t probed = 0;
    for (const Probe& p : probes_) probed += !p.tensors.empty();
    const double total = 2.0 * nChunk_ + static_cast<double>(probed) * std::max(1, maxChunksPerProbe());
    Job::report(std::min(1.0, static_cast<double>(steps) / total));
  }

  int workers() const { return std::max(1, std::min(nScored_, threads_ > 0 ? threads_ : defaultThreads())); }

  // f(row k of the chunk, worker w)
  template <class F>
  void parallelRows(const F& f) {
    const int n = workers();
    auto work = [&](int w) { for (int k = w; k < nScored_; k += n) f(k, w); };
    std::vector<std::thread> pool;
    for (int w = 1; w < n; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
  }

  // KL(base ‖ these logits) of each scored row of chunk c into d, same-top into same; returns the
  // chunk's FNV-1a over its scored logits
  uint64_t scoreChunk(const float* logits, int c, double* d, char* same) {
    const auto k0 = std::chrono::steady_clock::now();
    std::vector<uint64_t> h(nScored_);
    if (work_.size() != static_cast<size_t>(workers())) work_.assign(workers(), std::vector<float>(baseRows_.half ? nVocab_ : 0));
    parallelRows([&](int k, int w) {
      const size_t row = static_cast<size_t>(c) * nScored_ + k;
      const float* l = logits + static_cast<size_t>(k) * nVocab_;
      const float* p = baseRows_.values(row, work_[w].data());
      float m = l[0];
      int top = 0;
      for (int v = 1; v < nVocab_; ++v) if (l[v] > m) { m = l[v]; top = v; }
      double s = 0, pl = 0;
      uint64_t hh = 1469598103934665603ull;
      for (int v = 0; v < nVocab_; ++v) {
        s += std::exp(static_cast<double>(l[v]) - m);
        pl += static_cast<double>(p[v]) * l[v];
        uint32_t bits;
        std::memcpy(&bits, l + v, 4);
        hh = (hh ^ bits) * 1099511628211ull;
      }
      // KL(p‖q) = Σ p log p − Σ p log q, log q_v = l_v − m − log s
      d[k] = baseRows_.plogp[row] - pl + (m + std::log(s)) * baseRows_.sumP[row];
      h[k] = hh;
      same[k] = top == baseRows_.top[row];
    });
    uint64_t hash = 1469598103934665603ull;
    for (int k = 0; k < nScored_; ++k) hash = (hash ^ h[k]) * 1099511628211ull;
    kldSeconds_ += seconds(k0);
    return hash;
  }

  const float* decode(llama_context* c, llama_batch& batch) {
    for (int k = 0; k < nCtx_; ++k) {
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

  // Decodes chunk c from an empty cache; returns the logits of its scored positions, contiguous.
  const float* decodeChunk(llama_context* c, const std::vector<llama_token>& tokens, int chunk) {
    llama_memory_clear(llama_get_memory(c), true);
    llama_batch batch = llama_batch_init(nCtx_, 0, 1);
    struct BatchFree { llama_batch& b; ~BatchFree() { llama_batch_free(b); } } freeBatch{batch};
    const size_t start = static_cast<size_t>(chunk) * nCtx_;
    for (int k = 0; k < nCtx_; ++k) batch.token[k] = (addBos_ && k == 0) ? bos_ : tokens[start + k];
    return decode(c, batch);
  }

  // Decodes chunk c from the reference's states at the input of block `block`, through the model
  // view whose first layer is that block.
  const float* decodeStates(llama_context* c, int block, int chunk, std::vector<float>& buffer) {
    llama_memory_clear(llama_get_memory(c), true);
    llama_batch batch = llama_batch_init(nCtx_, nEmbd_, 1);
    struct BatchFree { llama_batch& b; ~BatchFree() { llama_batch_free(b); } } freeBatch{batch};
    std::memcpy(batch.embd, states_.get(block, chunk, buffer), sizeof(float) * static_cast<size_t>(nCtx_) * nEmbd_);
    return decode(c, batch);
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
  int32_t nCtx_, chunks_, threads_, warmup_;
  bool startAtBlock_;
  std::string baseFormat_;
  double baseMemory_, stateMemory_;
  StopRule stop_;
  double stopReferenceFraction_ = 0;  // absoluteStderr = this × the reference's KLD, set after its pass
  std::vector<Probe> probes_;
  Napi::ObjectReference resultsHolder_;  // keeps `results` alive while the worker writes into it
  double* results_ = nullptr;
  std::vector<uint64_t> hashes_;
  std::map<std::string, GgufHeader> headers_;
  bool addBos_ = false;
  llama_token bos_ = 0;
  int nVocab_ = 0, nChunk_ = 0, first_ = 0, nScored_ = 0, nLayer_ = 0, nEmbd_ = 0;
  BaseRows baseRows_;
  StateStore states_;
  std::string viewRefusal_;
  std::vector<double> refKld_;
  std::vector<char> refSame_;
  std::vector<std::vector<float>> work_;
  size_t stepsDone_ = 0, probesDone_ = 0, decodedTokens_ = 0;
  size_t baseTokens_ = 0, referenceTokens_ = 0, probeTokens_ = 0;
  double probeForwardTokens_ = 0;
  double totalSeconds_ = 0, decodeSeconds_ = 0, kldSeconds_ = 0, swapSeconds_ = 0;
};

}  // namespace

Napi::Value ProbeSensitivity(const Napi::CallbackInfo& info) {
  return (new ProbeJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

// probeStopAt({ deltas, step, relativeStderr, absoluteStderr, minTokens, maxTokens }): how many of `deltas` a probe
// scores before StopRule stops it, checked every `step` values as a probe checks after each chunk
// (the probe's own rule, exposed so tests can hold it to a hand-worked sequence).
Napi::Value ProbeStopAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value dv = o.Get("deltas");
  if (!dv.IsTypedArray() || dv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) throw Napi::TypeError::New(env, "expected a Float64Array for option deltas");
  Napi::Float64Array deltas = dv.As<Napi::Float64Array>();
  const int step = optionalInt(o, "step", 1);
  if (step < 1) throw Napi::RangeError::New(env, "step must be at least 1");
  StopRule rule;
  rule.relativeStderr = optionalDouble(o, "relativeStderr", 0);
  rule.absoluteStderr = optionalDouble(o, "absoluteStderr", 0);
  rule.minTokens = static_cast<size_t>(std::max(0.0, optionalDouble(o, "minTokens", 0)));
  const double maxTokens = optionalDouble(o, "maxTokens", -1);
  rule.maxTokens = maxTokens < 0 ? SIZE_MAX : static_cast<size_t>(maxTokens);
  Accumulator a;
  size_t i = 0;
  while (i < deltas.ElementLength()) {
    for (int k = 0; k < step && i < deltas.ElementLength(); ++k) a.add(deltas[i++]);
    if (rule.done(a)) break;
  }
  return Napi::Number::New(env, static_cast<double>(i));
}

}  // namespace apreqel
