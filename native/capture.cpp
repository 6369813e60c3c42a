// captureSimilarity(): per-token cosine similarity of the residual stream across every attention and
// FFN sub-layer (vendor/patches/0002-layer-similarity.patch computes it in the graph, on the layer's
// backend; only [2·blocks] floats per token come back through cb_eval). mode "reference" instead
// copies the full hidden states to the host and computes the same cosines there in double
// precision: slow, used by tests to check the on-device path.
// With `imatrix` (an output path), the same pass also collects llama-imatrix's statistics: for every
// dense matmul of a block weight over ≥ 16 F32 rows, Σ x² per input column and the row count, by
// tools/imatrix's rules (output.weight and MoE's MUL_MAT_ID are not collected), written in its GGUF
// format ("<weight>.in_sum2" [cols, 1], "<weight>.counts" [1, 1], general.type = imatrix).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "gguf_file.h"

#include "addon.h"
#include "ggml-backend.h"
#include "job.h"
#include "llama_model.h"

namespace apreqel {
namespace {

class CaptureJob : public Job {
 public:
  CaptureJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.captureSimilarity"),
        nCtx_(optionalInt(o, "nCtx", 512)),
        nBatch_(optionalInt(o, "nBatch", 512)),
        threads_(optionalInt(o, "threads", 0)),
        mode_(optionalString(o, "mode", "device")),
        imatrix_(optionalString(o, "imatrix", "")),
        dataset_(optionalString(o, "dataset", "")),
        chunked_(optionalBool(o, "chunked", false)) {
    load_.path = requireString(o, "model");
    load_.gpuLayers = optionalInt(o, "gpuLayers", 0);
    Napi::Value tv = o.Get("texts");
    if (!tv.IsArray()) throw Napi::TypeError::New(env, "expected an array of strings for option texts");
    Napi::Array texts = tv.As<Napi::Array>();
    for (uint32_t i = 0; i < texts.Length(); ++i) {
      Napi::Value t = texts.Get(i);
      if (!t.IsString()) throw Napi::TypeError::New(env, "expected a string in texts");
      texts_.push_back(t.As<Napi::String>().Utf8Value());
    }
    if (nCtx_ < 2 || nBatch_ < 1) throw Napi::RangeError::New(env, "nCtx must be ≥ 2 and nBatch ≥ 1");
    if (mode_ != "device" && mode_ != "reference" && mode_ != "none") throw Napi::TypeError::New(env, "mode must be device, reference or none");
    reference_ = mode_ == "reference";
  }

 protected:
  void Run() override {
    ModelPtr model = loadModel(load_, [this] { return cancelled(); }, [this] { return lastLogError(); });
    throwIfCancelled();
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    blocks_ = llama_model_n_layer(model.get());
    target_ = "layer_sim-" + std::to_string(blocks_ - 1);
    const bool addBos = llama_vocab_get_add_bos(vocab);

    // windows of at most nCtx tokens; each later window of a text starts again with BOS
    std::vector<std::vector<llama_token>> windows;
    size_t total = 0;
    for (const std::string& text : texts_) {
      throwIfCancelled();  // texts can be many (calibration prompts): a cancel need not wait for all
      std::vector<llama_token> tokens = forModel(load_.path, [&] { return tokenize(vocab, text, true); });
      size_t counted = 0;
      size_t pos = 0;
      bool first = true;
      if (chunked_) {
        // llama-imatrix's (and llama-perplexity's) rule: whole chunks of nCtx, the remainder
        // dropped, BOS replacing each chunk's first token
        for (; pos + nCtx_ <= tokens.size(); pos += nCtx_) {
          std::vector<llama_token> w(tokens.begin() + pos, tokens.begin() + pos + nCtx_);
          if (addBos) w[0] = llama_vocab_bos(vocab);
          counted += w.size();
          windows.push_back(std::move(w));
        }
        pos = tokens.size();
      }
      while (pos < tokens.size()) {
        std::vector<llama_token> w;
        if (!first && addBos) w.push_back(llama_vocab_bos(vocab));
        size_t take = std::min(tokens.size() - pos, static_cast<size_t>(nCtx_) - w.size());
        w.insert(w.end(), tokens.begin() + pos, tokens.begin() + pos + take);
        pos += take;
        first = false;
        counted += w.size();
        windows.push_back(std::move(w));
      }
      tokensPerText_.push_back(counted);
      total += counted;
    }
    if (windows.empty()) {
      throw std::runtime_error("the text tokenizes to fewer than the " + std::to_string(nCtx_) + " tokens of one window (nCtx)");
    }
    cos_.reserve(total * 2 * blocks_);

    ContextOptions co;
    co.nCtx = static_cast<uint32_t>(nCtx_);
    co.nBatch = co.nUbatch = static_cast<uint32_t>(std::min(nBatch_, nCtx_));
    co.threads = threads_;
    // mode "none" runs the same decodes with nothing added: the baseline of the overhead benchmark
    co.layerSimilarity = mode_ == "device";
    if (mode_ != "none" || !imatrix_.empty()) {
      co.cbEval = [](ggml_tensor* t, bool ask, void* self) { return static_cast<CaptureJob*>(self)->observe(t, ask); };
      co.cbEvalData = this;
    }
    co.abort = &Job::abortRequested;
    co.abortData = this;
    throwIfCancelled();  // context creation cannot be interrupted: check once more before it
    Context c = makeContext(model.get(), co, [this] { return lastLogError(); });

    size_t done = 0;
    for (const auto& w : windows) {
      llama_memory_clear(llama_get_memory(c.ctx.get()), true);
      for (size_t start = 0; start < w.size(); start += co.nBatch) {
        throwIfCancelled();
        const int32_t n = static_cast<int32_t>(std::min<size_t>(co.nBatch, w.size() - start));
        llama_batch batch = llama_batch_init(n, 0, 1);
        for (int32_t k = 0; k < n; ++k) {
          batch.token[k] = w[start + k];
          batch.pos[k] = static_cast<llama_pos>(start + k);
          batch.n_seq_id[k] = 1;
          batch.seq_id[k][0] = 0;
          batch.logits[k] = 1;  // every row must reach the last block (see the patch)
        }
        batch.n_tokens = n;
        const size_t before = cos_.size();
        int rc = llama_decode(c.ctx.get(), batch);
        llama_batch_free(batch);
        if (!error_.empty()) throw std::runtime_error(error_);
        if (rc != 0) throwDecodeFailure(rc);
        if (mode_ != "none" && cos_.size() - before != static_cast<size_t>(n) * 2 * blocks_) {
          throw std::runtime_error("layer similarity is not available for this model's architecture (no l_out/ffn_inp tensors were seen)");
        }
        done += n;
        report(static_cast<double>(done) / total);
      }
    }
    if (!imatrix_.empty()) writeImatrix(windows.size());
  }

  // tools/imatrix's choice of matmuls (collect_imatrix, ask == true)
  static bool imatrixWanted(const ggml_tensor* t) {
    if (t->op != GGML_OP_MUL_MAT) return false;
    const ggml_tensor* src1 = t->src[1];
    if (src1->ne[1] < 16 || src1->type != GGML_TYPE_F32) return false;
    return std::strncmp(t->src[0]->name, "blk.", 4) == 0;
  }

  void collectImatrix(const ggml_tensor* t) {
    const ggml_tensor* src0 = t->src[0];
    const ggml_tensor* src1 = t->src[1];
    const char* data;
    if (src1->buffer == nullptr || ggml_backend_buffer_is_host(src1->buffer)) {
      data = static_cast<const char*>(src1->data);
    } else {
      src1Host_.resize(ggml_nbytes(src1));
      ggml_backend_tensor_get(src1, src1Host_.data(), 0, src1Host_.size());
      data = src1Host_.data();
    }
    Stat& e = stats_[src0->name];
    const int64_t ne0 = src1->ne[0];
    const int64_t nMat = src0->ne[2] * src0->ne[3];
    if (e.values.empty()) e.values.assign(static_cast<size_t>(ne0 * nMat), 0.0f);
    if (e.values.size() != static_cast<size_t>(ne0 * nMat)) {
      error_ = std::string("imatrix: inconsistent input size for ") + src0->name;
      return;
    }
    for (int64_t i3 = 0; i3 < src1->ne[3]; ++i3) {
      for (int64_t i2 = 0; i2 < src1->ne[2]; ++i2) {
        const int64_t mat = (i3 % src0->ne[3]) * src0->ne[2] + (i2 % src0->ne[2]);
        float* acc = e.values.data() + mat * ne0;
        for (int64_t row = 0; row < src1->ne[1]; ++row) {
          const float* x = reinterpret_cast<const float*>(data + row * src1->nb[1] + i2 * src1->nb[2] + i3 * src1->nb[3]);
          for (int64_t j = 0; j < ne0; ++j) acc[j] += x[j] * x[j];  // float, as the tool accumulates
        }
      }
    }
    e.count += ggml_nrows(src1) / nMat;
    bytesRead_ += ggml_nbytes(src1);
  }

  // The tool's save_imatrix: names sorted, F32 sums and counts, the dataset and chunk keys.
  void writeImatrix(size_t chunks) {
    std::vector<std::string> names;
    for (const auto& kv : stats_) names.push_back(kv.first);  // std::map: already sorted
    size_t dataSize = 0;
    for (const auto& kv : stats_) {
      dataSize += GGML_PAD(ggml_tensor_overhead() + sizeof(float) * kv.second.values.size(), GGML_MEM_ALIGN);
      dataSize += GGML_PAD(ggml_tensor_overhead() + sizeof(float), GGML_MEM_ALIGN);
    }
    GgmlPtr ctx(ggml_init({dataSize + 1024, nullptr, false}));
    GgufPtr out(gguf_init_empty());
    gguf_set_val_str(out.get(), "general.type", "imatrix");
    // marks the file as apreqel's, so a later `apreqel imatrix -o` may replace it without --force
    // (llama-imatrix's own files, the same format, are the user's)
    gguf_set_val_str(out.get(), "apreqel.writer", "apreqel imatrix");
    const char* datasets[] = {dataset_.c_str()};
    gguf_set_arr_str(out.get(), "imatrix.datasets", datasets, dataset_.empty() ? 0 : 1);
    gguf_set_val_u32(out.get(), "imatrix.chunk_count", static_cast<uint32_t>(chunks));
    gguf_set_val_u32(out.get(), "imatrix.chunk_size", static_cast<uint32_t>(nCtx_));
    for (const std::string& name : names) {
      const Stat& st = stats_.at(name);
      ggml_tensor* sums = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, static_cast<int64_t>(st.values.size()), 1);
      ggml_tensor* counts = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, 1, 1);
      ggml_format_name(sums, "%s.in_sum2", name.c_str());
      ggml_format_name(counts, "%s.counts", name.c_str());
      std::memcpy(sums->data, st.values.data(), st.values.size() * sizeof(float));
      static_cast<float*>(counts->data)[0] = static_cast<float>(st.count);
      gguf_add_tensor(out.get(), sums);
      gguf_add_tensor(out.get(), counts);
    }
    // imatrix_ is the unique temp file lib/core/files.ts created exclusively beside the destination
    // (writeAtomically): TypeScript renames it over the destination, or removes it on failure. No
    // fixed "<output>.tmp" here: such a name could be a symlink planted to anything (the model).
    if (!gguf_write_to_file(out.get(), imatrix_.c_str(), false)) {
      throw std::runtime_error(withLogReason("cannot write the imatrix " + imatrix_));
    }
    imatrixTensors_ = names.size();
  }

  // cb_eval: ask == true asks whether we want tensor t; then it is called again with its data.
  bool observe(ggml_tensor* t, bool ask) {
    const char* name = ggml_get_name(t);
    if (!imatrix_.empty() && imatrixWanted(t)) {
      if (!ask) collectImatrix(t);
      return error_.empty();
    }
    if (mode_ == "none") return false;
    if (!reference_) {
      if (ask) return std::strcmp(name, target_.c_str()) == 0;
      if (t->type != GGML_TYPE_F32 || t->ne[0] != 2 * blocks_) {
        error_ = "unexpected layer similarity tensor shape";
        return false;
      }
      const size_t n = static_cast<size_t>(ggml_nelements(t));
      bytesRead_ += ggml_nbytes(t);
      const size_t at = cos_.size();
      cos_.resize(at + n);
      ggml_backend_tensor_get(t, cos_.data() + at, 0, n * sizeof(float));
      return true;
    }
    // reference: the hidden states themselves
    const bool input = std::strcmp(name, "embd") == 0 || std::strcmp(name, "inp_scaled") == 0;
    const bool mid = std::strncmp(name, "ffn_inp-", 8) == 0 || std::strncmp(name, "sa_out-", 7) == 0;
    const bool out = std::strncmp(name, "l_out-", 6) == 0;
    if (ask) return input || mid || out;
    if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) {
      error_ = std::string("reference capture: ") + name + " is not a contiguous F32 tensor";
      return false;
    }
    std::vector<float> data(ggml_nelements(t));
    ggml_backend_tensor_get(t, data.data(), 0, data.size() * sizeof(float));
    bytesRead_ += ggml_nbytes(t);
    const int64_t nEmbd = t->ne[0], nTok = t->ne[1];
    if (input) {
      resid_ = std::move(data);
      mid_.clear();
      pending_.clear();
      return true;
    }
    if (mid) {
      mid_ = std::move(data);
      return true;
    }
    // block output: cosines against the block input and the midpoint
    auto cosine = [&](const std::vector<float>& a, const std::vector<float>& b, int64_t tok) {
      double dot = 0, na = 0, nb = 0;
      for (int64_t i = 0; i < nEmbd; ++i) {
        double x = a[tok * nEmbd + i], y = b[tok * nEmbd + i];
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      return static_cast<float>(dot / std::sqrt(na * nb));
    };
    if (static_cast<int64_t>(resid_.size()) != nEmbd * nTok) {
      error_ = "reference capture: hidden states of different sizes";
      return false;
    }
    for (int64_t tok = 0; tok < nTok; ++tok) {
      const std::vector<float>& m = mid_.empty() ? data : mid_;
      pending_.push_back(mid_.empty() ? cosine(resid_, data, tok) : cosine(resid_, m, tok));
      pending_.push_back(cosine(m, data, tok));
    }
    perBlock_.push_back(std::move(pending_));
    pending_.clear();
    resid_ = std::move(data);
    mid_.clear();
    if (static_cast<int32_t>(perBlock_.size()) == blocks_) {
      // interleave to [token][2·block + k]
      const size_t at = cos_.size();
      cos_.resize(at + static_cast<size_t>(nTok) * 2 * blocks_);
      for (int32_t b = 0; b < blocks_; ++b) {
        for (int64_t tok = 0; tok < nTok; ++tok) {
          cos_[at + tok * 2 * blocks_ + 2 * b] = perBlock_[b][2 * tok];
          cos_[at + tok * 2 * blocks_ + 2 * b + 1] = perBlock_[b][2 * tok + 1];
        }
      }
      perBlock_.clear();
    }
    return true;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("blocks", blocks_);
    size_t tokens = 0;
    for (size_t n : tokensPerText_) tokens += n;
    o.Set("tokens", static_cast<double>(tokens));
    Napi::Float32Array cos = Napi::Float32Array::New(env, cos_.size());
    std::memcpy(cos.Data(), cos_.data(), cos_.size() * sizeof(float));
    o.Set("cos", cos);
    Napi::Array per = Napi::Array::New(env, tokensPerText_.size());
    for (size_t i = 0; i < tokensPerText_.size(); ++i) per.Set(i, static_cast<double>(tokensPerText_[i]));
    o.Set("tokensPerText", per);
    // bytes of graph tensors read back through cb_eval (from the device, when layers are offloaded)
    o.Set("bytesRead", static_cast<double>(bytesRead_));
    if (!imatrix_.empty()) o.Set("imatrixTensors", static_cast<double>(imatrixTensors_));
    return o;
  }

 private:
  LoadOptions load_;
  std::vector<std::string> texts_;
  int32_t nCtx_, nBatch_, threads_;
  std::string mode_;
  std::string imatrix_, dataset_;
  bool chunked_;
  struct Stat {
    std::vector<float> values;
    int64_t count = 0;
  };
  std::map<std::string, Stat> stats_;
  std::vector<char> src1Host_;
  size_t imatrixTensors_ = 0;
  bool reference_ = false;
  int32_t blocks_ = 0;
  std::string target_;
  std::string error_;
  std::vector<float> cos_;
  size_t bytesRead_ = 0;
  std::vector<size_t> tokensPerText_;
  // reference mode state
  std::vector<float> resid_, mid_, pending_;
  std::vector<std::vector<float>> perBlock_;
};

}  // namespace

Napi::Value CaptureSimilarity(const Napi::CallbackInfo& info) {
  return (new CaptureJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
