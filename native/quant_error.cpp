// quantizationError(): for each (tensor, file) pair, the importance-weighted squared error of the
// file's tensor against the source model's, Σ_rows Σ_cols w_col · (dequant(q) − x)², with w_col the
// mean squared activation of input column col from an imatrix GGUF (llama-imatrix's format:
// "<tensor>.in_sum2" and "<tensor>.counts"), or 1 without one — the proxy llama.cpp PR #15550
// scores tensors by, with no forward pass. Dequantization uses ggml's own type traits (to_float),
// so every type ggml knows is covered. Tensors are read one at a time (file bytes, then floats).
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "addon.h"
#include "ggml-cpu.h"
#include "gguf_file.h"
#include "job.h"

namespace apreqel {
namespace {

std::vector<uint8_t> readTensor(const GgufHeader& h, int64_t id) {
  const size_t size = gguf_get_tensor_size(h.gguf.get(), id);
  std::vector<uint8_t> bytes(size);
  std::ifstream in(h.path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(h.tensorDataOffset(id)));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw std::runtime_error(errnoMessage("cannot read tensor " + std::string(gguf_get_tensor_name(h.gguf.get(), id)) + " from", h.path));
  return bytes;
}

// A tensor of `h` as floats; throws unless it has `ne0` columns and `n` elements.
std::vector<float> tensorFloats(const GgufHeader& h, const std::string& name, int64_t ne0, int64_t n) {
  const int64_t id = gguf_find_tensor(h.gguf.get(), name.c_str());
  if (id < 0) throw std::runtime_error("tensor " + name + " is not in " + h.path);
  const ggml_tensor* t = ggml_get_tensor(h.meta.get(), name.c_str());
  if (t->ne[0] != ne0 || ggml_nelements(t) != n) throw std::runtime_error("tensor " + name + " in " + h.path + " has another shape than in the source");
  std::vector<uint8_t> bytes = readTensor(h, id);
  std::vector<float> out(static_cast<size_t>(n));
  if (t->type == GGML_TYPE_F32) {
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
  }
  const ggml_type_traits* traits = ggml_get_type_traits(t->type);
  if (traits->to_float == nullptr) throw std::runtime_error(std::string("cannot dequantize type ") + ggml_type_name(t->type) + " of " + name);
  const int64_t rows = n / ne0;
  const size_t rowBytes = ggml_row_size(t->type, ne0);
  for (int64_t r = 0; r < rows; ++r) traits->to_float(bytes.data() + r * rowBytes, out.data() + r * ne0, ne0);
  return out;
}

class QuantErrorJob : public Job {
 public:
  QuantErrorJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.quantizationError"), source_(requireString(o, "source")), imatrix_(optionalString(o, "imatrix", "")) {
    auto strings = [&](const char* key) {
      Napi::Value v = o.Get(key);
      if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("expected an array of strings for option ") + key);
      std::vector<std::string> out;
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value e = a.Get(i);
        if (!e.IsString()) throw Napi::TypeError::New(env, std::string("expected a string in ") + key);
        out.push_back(e.As<Napi::String>().Utf8Value());
      }
      return out;
    };
    tensors_ = strings("tensors");
    files_ = strings("files");
  }

 protected:
  void Run() override {
    GgufHeader src = validateGguf(source_);
    std::vector<GgufHeader> files;
    for (const std::string& f : files_) files.push_back(validateGguf(f));
    GgufHeader imatrix;
    const bool weighted = !imatrix_.empty();
    if (weighted) imatrix = validateGguf(imatrix_);
    errors_.assign(tensors_.size() * files_.size(), 0.0);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      throwIfCancelled();
      const std::string& name = tensors_[i];
      const ggml_tensor* t = ggml_get_tensor(src.meta.get(), name.c_str());
      if (t == nullptr) throw std::runtime_error("tensor " + name + " is not in " + source_);
      const int64_t ne0 = t->ne[0], n = ggml_nelements(t);
      const std::vector<float> x = tensorFloats(src, name, ne0, n);
      std::vector<double> w(static_cast<size_t>(ne0), 1.0);
      if (weighted) {
        const std::vector<float> sums = tensorFloats(imatrix, name + ".in_sum2", ne0, ne0);
        const std::vector<float> counts = tensorFloats(imatrix, name + ".counts", 1, 1);
        if (!(counts[0] > 0)) throw std::runtime_error("the imatrix has no activations for " + name);
        for (int64_t c = 0; c < ne0; ++c) w[c] = sums[c] / counts[0];
      }
      for (size_t f = 0; f < files.size(); ++f) {
        const std::vector<float> q = tensorFloats(files[f], name, ne0, n);
        double e = 0;
        for (int64_t k = 0; k < n; ++k) {
          const double d = static_cast<double>(q[k]) - x[k];
          e += w[k % ne0] * d * d;
        }
        errors_[i * files.size() + f] = e;
      }
      report(static_cast<double>(i + 1) / tensors_.size());
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Float64Array out = Napi::Float64Array::New(env, errors_.size());
    std::memcpy(out.Data(), errors_.data(), errors_.size() * sizeof(double));
    return out;
  }

 private:
  std::string source_, imatrix_;
  std::vector<std::string> tensors_, files_;
  std::vector<double> errors_;
};

}  // namespace

Napi::Value QuantizationError(const Napi::CallbackInfo& info) {
  return (new QuantErrorJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
