// matmulBench(): the time of one weight matmul y = W·x at a model's shape, per (type, shape, batch),
// on the backend and thread count a model run would use. It feeds the per-unit latency model
// (lib/method/latency-model.ts): latency(mix) ≈ fixed + Σ_u c(u, type(u)).
//
// Fidelity choices (why the numbers track a real decode):
// - the weight goes into the buffer type llama.cpp's loader would pick for it: the CPU device's
//   extra buffer types first (CPU_REPACK turns q4_0/iq4_nl/q4_K… into interleaved layouts with
//   other kernels), asked the same way llama_model's weight_buft_supported asks, else the
//   device's default buffer;
// - decode (batch 1) streams its weights from memory; a single small weight would sit in the
//   cache across repetitions, so the graph chains `copies` distinct weights whose total passes
//   `streamBytes` and the time is divided by the copies. A prompt batch reuses each weight
//   batch-many times (compute-bound), so one copy suffices there;
// - a persistent thread pool of `threads` threads, as our contexts attach (llama_model.cpp).
// Weight contents: a few rows quantized from random values, tiled, so every block decodes to
// finite numbers (random bytes could give NaN/inf scales) without quantizing millions of rows.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "addon.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "job.h"
#include "llama_model.h"

namespace apreqel {
namespace {

uint64_t nowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

struct Shape {
  ggml_type type;
  std::string typeName;
  int64_t k;  // input features (ne0 of the weight: the row length)
  int64_t n;  // output features (ne1: rows)
};

struct Sample {
  size_t shape;
  int32_t batch;
  int32_t copies;
  std::string buffer;
  std::vector<uint64_t> ns;  // per repetition, per matmul (graph time / copies)
};

struct CtxDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
struct BackendDeleter {
  void operator()(ggml_backend_t b) const { ggml_backend_free(b); }
};
struct BufferDeleter {
  void operator()(ggml_backend_buffer_t b) const { ggml_backend_buffer_free(b); }
};
struct AllocDeleter {
  void operator()(ggml_gallocr_t a) const { ggml_gallocr_free(a); }
};

ggml_type typeByName(const std::string& name) {
  for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
    auto type = static_cast<ggml_type>(t);
    if (ggml_blck_size(type) != 0 && name == ggml_type_name(type)) return type;
  }
  throw std::runtime_error("unknown ggml type " + name);
}

class MatmulBenchJob : public Job {
 public:
  MatmulBenchJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.matmulBench"),
        reps_(optionalInt(o, "reps", 5)),
        threads_(optionalInt(o, "threads", 0)),
        streamMiB_(optionalInt(o, "streamMiB", 256)),
        gpu_(optionalBool(o, "gpu", false)),
        warmup_(optionalBool(o, "warmup", true)) {
    if (!o.Get("shapes").IsArray() || !o.Get("batches").IsArray()) throw Napi::TypeError::New(env, "shapes and batches must be arrays");
    Napi::Array shapes = o.Get("shapes").As<Napi::Array>();
    for (uint32_t i = 0; i < shapes.Length(); ++i) {
      Napi::Object s = shapes.Get(i).As<Napi::Object>();
      Shape sh;
      sh.typeName = requireString(s, "type");
      try {
        sh.type = typeByName(sh.typeName);
      } catch (const std::exception& e) {
        throw Napi::RangeError::New(env, e.what());
      }
      sh.k = optionalInt(s, "k", 0);
      sh.n = optionalInt(s, "n", 0);
      if (sh.k <= 0 || sh.n <= 0 || sh.k % ggml_blck_size(sh.type) != 0) {
        throw Napi::RangeError::New(env, "shape " + std::to_string(sh.k) + "x" + std::to_string(sh.n) + " is not valid for " + sh.typeName);
      }
      shapes_.push_back(sh);
    }
    Napi::Array batches = o.Get("batches").As<Napi::Array>();
    for (uint32_t i = 0; i < batches.Length(); ++i) batches_.push_back(batches.Get(i).As<Napi::Number>().Int32Value());
    for (int32_t b : batches_) if (b < 1) throw Napi::RangeError::New(env, "batches must be ≥ 1");
    if (reps_ < 1) throw Napi::RangeError::New(env, "reps must be at least 1");
    if (streamMiB_ < 0) throw Napi::RangeError::New(env, "streamMiB must be ≥ 0");
  }

 protected:
  void Run() override {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(gpu_ ? GGML_BACKEND_DEVICE_TYPE_GPU : GGML_BACKEND_DEVICE_TYPE_CPU);
    if (dev == nullptr) throw std::runtime_error(gpu_ ? "this build has no GPU device" : "no CPU device");
    std::unique_ptr<ggml_backend, BackendDeleter> backend(ggml_backend_dev_init(dev, nullptr));
    if (!backend) throw std::runtime_error(withLogReason("cannot initialise backend"));
    const int32_t threads = threads_ > 0 ? threads_ : defaultThreads();
    ThreadpoolPtr pool;
    // the CPU backend always computes (a GPU one too, for what it does not offload)
    if (!gpu_) {
      ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
      pool.reset(ggml_threadpool_new(&tpp));
      if (!pool) throw std::runtime_error("cannot create a thread pool of " + std::to_string(threads) + " threads");
      ggml_backend_cpu_set_n_threads(backend.get(), threads);
      ggml_backend_cpu_set_threadpool(backend.get(), pool.get());
    }
    const size_t total = shapes_.size() * batches_.size();
    size_t done = 0;
    for (size_t s = 0; s < shapes_.size(); ++s) {
      for (int32_t batch : batches_) {
        throwIfCancelled();
        samples_.push_back(measure(dev, backend.get(), s, batch));
        report(static_cast<double>(++done) / static_cast<double>(total));
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, samples_.size());
    for (size_t i = 0; i < samples_.size(); ++i) {
      const Sample& s = samples_[i];
      const Shape& sh = shapes_[s.shape];
      Napi::Object o = Napi::Object::New(env);
      o.Set("type", sh.typeName);
      o.Set("k", static_cast<double>(sh.k));
      o.Set("n", static_cast<double>(sh.n));
      o.Set("batch", s.batch);
      o.Set("copies", s.copies);
      o.Set("buffer", s.buffer);
      Napi::Array ns = Napi::Array::New(env, s.ns.size());
      for (size_t r = 0; r < s.ns.size(); ++r) ns.Set(r, static_cast<double>(s.ns[r]));
      o.Set("samplesNs", ns);
      out.Set(i, o);
    }
    return out;
  }

 private:
  // The buffer type llama.cpp's loader would give this weight: the first extra buffer type whose
  // device accepts a matmul with the weight in it, else the device's default.
  static ggml_backend_buffer_type_t weightBuft(ggml_backend_dev_t dev, ggml_tensor* w, int32_t batch) {
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    auto getExtra = reinterpret_cast<ggml_backend_dev_get_extra_bufts_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts"));
    if (getExtra != nullptr) {
      for (ggml_backend_buffer_type_t* b = getExtra(dev); b != nullptr && *b != nullptr; ++b) {
        ggml_init_params ip = {ggml_tensor_overhead() * 4, nullptr, true};
        std::unique_ptr<ggml_context, CtxDeleter> ctx(ggml_init(ip));
        ggml_tensor* wc = ggml_dup_tensor(ctx.get(), w);
        ggml_tensor* x = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, w->ne[0], batch);
        ggml_tensor* op = ggml_mul_mat(ctx.get(), wc, x);
        std::unique_ptr<ggml_backend_buffer, BufferDeleter> dummy(ggml_backend_buft_alloc_buffer(*b, 0));
        wc->buffer = dummy.get();
        const bool ok = ggml_backend_dev_supports_op(dev, op);
        wc->buffer = nullptr;
        if (ok) return *b;
      }
    }
    return ggml_backend_dev_buffer_type(dev);
  }

  Sample measure(ggml_backend_dev_t dev, ggml_backend_t backend, size_t s, int32_t batch) {
    const Shape& sh = shapes_[s];
    const size_t wBytes = ggml_row_size(sh.type, sh.k) * static_cast<size_t>(sh.n);
    const size_t stream = static_cast<size_t>(streamMiB_) << 20;
    const int32_t copies = batch > 1 ? 1 : static_cast<int32_t>(std::clamp<size_t>((stream + wBytes - 1) / wBytes, 1, 256));

    // weights: no_alloc context, allocated in the chosen buffer type
    ggml_init_params wp = {ggml_tensor_overhead() * (copies + 1), nullptr, true};
    std::unique_ptr<ggml_context, CtxDeleter> wctx(ggml_init(wp));
    std::vector<ggml_tensor*> weights;
    for (int32_t c = 0; c < copies; ++c) weights.push_back(ggml_new_tensor_2d(wctx.get(), sh.type, sh.k, sh.n));
    ggml_backend_buffer_type_t buft = weightBuft(dev, weights[0], batch);
    std::unique_ptr<ggml_backend_buffer, BufferDeleter> wbuf(ggml_backend_alloc_ctx_tensors_from_buft(wctx.get(), buft));
    if (!wbuf) throw std::runtime_error("cannot allocate " + std::to_string(wBytes * copies) + " bytes of weights");
    ggml_backend_buffer_set_usage(wbuf.get(), GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    {
      // a few rows quantized from random values, tiled over the whole weight
      const int64_t seedRows = std::min<int64_t>(sh.n, 16);
      std::vector<float> f(static_cast<size_t>(sh.k * seedRows));
      std::mt19937 rng(7);
      std::normal_distribution<float> nd(0.0f, 0.02f);
      for (float& v : f) v = nd(rng);
      const size_t rowBytes = ggml_row_size(sh.type, sh.k);
      std::vector<uint8_t> rows(rowBytes * seedRows);
      if (sh.type == GGML_TYPE_F32) {
        std::memcpy(rows.data(), f.data(), rows.size());
      } else if (sh.type == GGML_TYPE_F16) {
        ggml_fp32_to_fp16_row(f.data(), reinterpret_cast<ggml_fp16_t*>(rows.data()), static_cast<int64_t>(f.size()));
      } else if (sh.type == GGML_TYPE_BF16) {
        ggml_fp32_to_bf16_row(f.data(), reinterpret_cast<ggml_bf16_t*>(rows.data()), static_cast<int64_t>(f.size()));
      } else {
        std::vector<float> imatrix(static_cast<size_t>(sh.k), 1.0f);
        ggml_quantize_chunk(sh.type, f.data(), rows.data(), 0, seedRows, sh.k, ggml_quantize_requires_imatrix(sh.type) ? imatrix.data() : nullptr);
      }
      std::vector<uint8_t> full(wBytes);
      for (int64_t r = 0; r < sh.n; ++r) std::memcpy(full.data() + r * rowBytes, rows.data() + (r % seedRows) * rowBytes, rowBytes);
      for (ggml_tensor* w : weights) ggml_backend_tensor_set(w, full.data(), 0, wBytes);  // repacks in a repack buffer
    }

    // graph: y_c = W_c · x for every copy
    ggml_init_params gp = {ggml_tensor_overhead() * (2 * copies + 8) + ggml_graph_overhead_custom(2 * copies + 8, false), nullptr, true};
    std::unique_ptr<ggml_context, CtxDeleter> gctx(ggml_init(gp));
    ggml_tensor* x = ggml_new_tensor_2d(gctx.get(), GGML_TYPE_F32, sh.k, batch);
    ggml_set_input(x);
    ggml_cgraph* graph = ggml_new_graph_custom(gctx.get(), 2 * copies + 8, false);
    for (ggml_tensor* w : weights) {
      ggml_tensor* y = ggml_mul_mat(gctx.get(), w, x);
      ggml_set_output(y);
      ggml_build_forward_expand(graph, y);
    }
    std::unique_ptr<ggml_gallocr, AllocDeleter> galloc(ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend)));
    if (!ggml_gallocr_alloc_graph(galloc.get(), graph)) throw std::runtime_error("cannot allocate the matmul graph");
    {
      std::vector<float> xv(static_cast<size_t>(sh.k * batch));
      std::mt19937 rng(3);
      std::normal_distribution<float> nd(0.0f, 1.0f);
      for (float& v : xv) v = nd(rng);
      ggml_backend_tensor_set(x, xv.data(), 0, xv.size() * sizeof(float));
    }
    Sample out{s, batch, copies, ggml_backend_buft_name(buft), {}};
    auto compute = [&] {
      if (ggml_backend_graph_compute(backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error(withLogReason("matmul graph failed"));
      ggml_backend_synchronize(backend);
    };
    if (warmup_) compute();
    for (int r = 0; r < reps_; ++r) {
      throwIfCancelled();
      const uint64_t t0 = nowNs();
      compute();
      out.ns.push_back((nowNs() - t0) / static_cast<uint64_t>(copies));
    }
    return out;
  }

  int32_t reps_, threads_, streamMiB_;
  bool gpu_, warmup_;
  std::vector<Shape> shapes_;
  std::vector<int32_t> batches_;
  std::vector<Sample> samples_;
};

}  // namespace

Napi::Value MatmulBench(const Napi::CallbackInfo& info) {
  return (new MatmulBenchJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
