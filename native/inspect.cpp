// inspect(path): the GGUF header only (metadata and tensor table), no tensor data is read.
#include <map>
#include <string>
#include <vector>

#include "addon.h"
#include "gguf_file.h"
#include "job.h"

namespace apreqel {
namespace {

// Arrays longer than this (vocabularies, merges) are summarised as { arrayType, length }.
constexpr size_t kMaxArrayItems = 64;

struct Scalar {
  enum Kind { Int, UInt, Float, Bool, Str } kind;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string s;
};

struct KeyValue {
  std::string key;
  std::string type;       // gguf type name
  std::string arrayType;  // for arrays
  size_t length = 0;      // for arrays
  bool summarised = false;
  std::vector<Scalar> values;  // one for scalars, the items for short arrays
};

struct TensorInfo {
  std::string name;
  std::string type;
  std::vector<int64_t> shape;
  uint64_t bytes;
  uint64_t offset;  // absolute, in the file
};

Scalar scalarAt(const gguf_context* g, int64_t k, enum gguf_type t, const void* data, size_t i) {
  Scalar s{Scalar::Int};
  switch (t) {
    case GGUF_TYPE_UINT8: s.kind = Scalar::UInt; s.u = static_cast<const uint8_t*>(data)[i]; break;
    case GGUF_TYPE_INT8: s.i = static_cast<const int8_t*>(data)[i]; break;
    case GGUF_TYPE_UINT16: s.kind = Scalar::UInt; s.u = static_cast<const uint16_t*>(data)[i]; break;
    case GGUF_TYPE_INT16: s.i = static_cast<const int16_t*>(data)[i]; break;
    case GGUF_TYPE_UINT32: s.kind = Scalar::UInt; s.u = static_cast<const uint32_t*>(data)[i]; break;
    case GGUF_TYPE_INT32: s.i = static_cast<const int32_t*>(data)[i]; break;
    case GGUF_TYPE_UINT64: s.kind = Scalar::UInt; s.u = static_cast<const uint64_t*>(data)[i]; break;
    case GGUF_TYPE_INT64: s.i = static_cast<const int64_t*>(data)[i]; break;
    case GGUF_TYPE_FLOAT32: s.kind = Scalar::Float; s.f = static_cast<const float*>(data)[i]; break;
    case GGUF_TYPE_FLOAT64: s.kind = Scalar::Float; s.f = static_cast<const double*>(data)[i]; break;
    case GGUF_TYPE_BOOL: s.kind = Scalar::Bool; s.b = static_cast<const int8_t*>(data)[i] != 0; break;
    case GGUF_TYPE_STRING:
      s.kind = Scalar::Str;
      s.s = data == nullptr ? gguf_get_arr_str(g, k, i) : gguf_get_val_str(g, k);
      break;
    default: break;
  }
  return s;
}

class InspectJob : public Job {
 public:
  InspectJob(Napi::Env env, const Napi::Object& o) : Job(env, o, "apreqel.inspect"), path_(requireString(o, "path")) {}

 protected:
  void Run() override {
    GgufHeader h = validateGguf(path_);
    const gguf_context* g = h.gguf.get();
    version_ = gguf_get_version(g);
    alignment_ = gguf_get_alignment(g);
    dataOffset_ = gguf_get_data_offset(g);
    fileSize_ = h.fileSize;
    for (int64_t k = 0; k < gguf_get_n_kv(g); ++k) {
      KeyValue kv;
      kv.key = gguf_get_key(g, k);
      enum gguf_type t = gguf_get_kv_type(g, k);
      kv.type = gguf_type_name(t);
      if (t == GGUF_TYPE_ARRAY) {
        enum gguf_type at = gguf_get_arr_type(g, k);
        kv.arrayType = gguf_type_name(at);
        kv.length = gguf_get_arr_n(g, k);
        if (kv.length > kMaxArrayItems || at == GGUF_TYPE_ARRAY) {
          kv.summarised = true;
        } else {
          const void* data = at == GGUF_TYPE_STRING ? nullptr : gguf_get_arr_data(g, k);
          for (size_t i = 0; i < kv.length; ++i) kv.values.push_back(scalarAt(g, k, at, data, i));
        }
      } else if (t == GGUF_TYPE_STRING) {
        kv.values.push_back(scalarAt(g, k, t, "", 0));
      } else {
        kv.values.push_back(scalarAt(g, k, t, gguf_get_val_data(g, k), 0));
      }
      kvs_.push_back(std::move(kv));
    }
    for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
      TensorInfo ti;
      ti.name = gguf_get_tensor_name(g, i);
      ti.type = ggml_type_name(gguf_get_tensor_type(g, i));
      ti.bytes = gguf_get_tensor_size(g, i);
      ti.offset = h.tensorDataOffset(i);
      const ggml_tensor* t = ggml_get_tensor(h.meta.get(), ti.name.c_str());
      if (t != nullptr) {
        for (int d = 0; d < ggml_n_dims(t); ++d) ti.shape.push_back(t->ne[d]);
      }
      tensors_.push_back(std::move(ti));
    }
  }

  Napi::Value Result(Napi::Env env) override {
    auto toJs = [&](const Scalar& s) -> Napi::Value {
      switch (s.kind) {
        case Scalar::Int: return Napi::Number::New(env, static_cast<double>(s.i));
        case Scalar::UInt:
          return s.u > (1ull << 53) ? Napi::BigInt::New(env, s.u).As<Napi::Value>()
                                     : Napi::Number::New(env, static_cast<double>(s.u)).As<Napi::Value>();
        case Scalar::Float: return Napi::Number::New(env, s.f);
        case Scalar::Bool: return Napi::Boolean::New(env, s.b);
        case Scalar::Str: return Napi::String::New(env, s.s);
      }
      return env.Undefined();
    };
    Napi::Object out = Napi::Object::New(env);
    out.Set("path", path_);
    out.Set("version", static_cast<double>(version_));
    out.Set("alignment", static_cast<double>(alignment_));
    out.Set("dataOffset", static_cast<double>(dataOffset_));
    out.Set("fileSize", static_cast<double>(fileSize_));
    Napi::Array kvs = Napi::Array::New(env, kvs_.size());
    for (size_t i = 0; i < kvs_.size(); ++i) {
      const KeyValue& kv = kvs_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("key", kv.key);
      o.Set("type", kv.type);
      if (kv.type == "arr") {
        o.Set("arrayType", kv.arrayType);
        o.Set("length", static_cast<double>(kv.length));
        if (!kv.summarised) {
          Napi::Array items = Napi::Array::New(env, kv.values.size());
          for (size_t j = 0; j < kv.values.size(); ++j) items.Set(j, toJs(kv.values[j]));
          o.Set("value", items);
        }
      } else {
        o.Set("value", toJs(kv.values.at(0)));
      }
      kvs.Set(i, o);
    }
    out.Set("metadata", kvs);
    Napi::Array tensors = Napi::Array::New(env, tensors_.size());
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const TensorInfo& t = tensors_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", t.name);
      o.Set("type", t.type);
      Napi::Array shape = Napi::Array::New(env, t.shape.size());
      for (size_t d = 0; d < t.shape.size(); ++d) shape.Set(d, static_cast<double>(t.shape[d]));
      o.Set("shape", shape);
      o.Set("bytes", static_cast<double>(t.bytes));
      o.Set("offset", static_cast<double>(t.offset));
      tensors.Set(i, o);
    }
    out.Set("tensors", tensors);
    return out;
  }

 private:
  std::string path_;
  uint32_t version_ = 0;
  size_t alignment_ = 0;
  size_t dataOffset_ = 0;
  uint64_t fileSize_ = 0;
  std::vector<KeyValue> kvs_;
  std::vector<TensorInfo> tensors_;
};

}  // namespace

Napi::Value Inspect(const Napi::CallbackInfo& info) {
  return (new InspectJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
