// quantize(): llama_model_quantize with exact per-tensor types, progress and cancellation
// (vendor/patches/0001-quantize-progress.patch) and the log's reason on failure.
#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "addon.h"
#include "gguf_file.h"
#include "job.h"
#include "validate.h"
#include "llama.h"

namespace apreqel {
namespace {

// ggml type -> the llama_ftype whose default tensor type it is (what `pure` quantizes to).
const std::map<std::string, llama_ftype>& pureFtypes() {
  static const std::map<std::string, llama_ftype> table = {
      {"f32", LLAMA_FTYPE_ALL_F32},          {"f16", LLAMA_FTYPE_MOSTLY_F16},
      {"bf16", LLAMA_FTYPE_MOSTLY_BF16},     {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
      {"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},     {"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},
      {"q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},     {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
      {"q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},     {"q3_K", LLAMA_FTYPE_MOSTLY_Q3_K_M},
      {"q4_K", LLAMA_FTYPE_MOSTLY_Q4_K_M},   {"q5_K", LLAMA_FTYPE_MOSTLY_Q5_K_M},
      {"q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"iq2_xxs", LLAMA_FTYPE_MOSTLY_IQ2_XXS},
      {"iq2_xs", LLAMA_FTYPE_MOSTLY_IQ2_XS}, {"iq2_s", LLAMA_FTYPE_MOSTLY_IQ2_S},
      {"iq3_xxs", LLAMA_FTYPE_MOSTLY_IQ3_XXS}, {"iq3_s", LLAMA_FTYPE_MOSTLY_IQ3_S},
      {"iq1_s", LLAMA_FTYPE_MOSTLY_IQ1_S},   {"iq1_m", LLAMA_FTYPE_MOSTLY_IQ1_M},
      {"iq4_nl", LLAMA_FTYPE_MOSTLY_IQ4_NL}, {"iq4_xs", LLAMA_FTYPE_MOSTLY_IQ4_XS},
      {"tq1_0", LLAMA_FTYPE_MOSTLY_TQ1_0},   {"tq2_0", LLAMA_FTYPE_MOSTLY_TQ2_0},
  };
  return table;
}

// llama-quantize's preset names (its own mixes, e.g. Q4_K_M), for baselines.
const std::map<std::string, llama_ftype>& presetFtypes() {
  static const std::map<std::string, llama_ftype> table = {
      {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},
      {"Q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},     {"Q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},
      {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},     {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},
      {"Q2_K_S", LLAMA_FTYPE_MOSTLY_Q2_K_S}, {"Q3_K_S", LLAMA_FTYPE_MOSTLY_Q3_K_S},
      {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M}, {"Q3_K_L", LLAMA_FTYPE_MOSTLY_Q3_K_L},
      {"Q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M},
      {"Q5_K_S", LLAMA_FTYPE_MOSTLY_Q5_K_S}, {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M},
      {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"IQ4_NL", LLAMA_FTYPE_MOSTLY_IQ4_NL},
      {"IQ4_XS", LLAMA_FTYPE_MOSTLY_IQ4_XS}, {"F16", LLAMA_FTYPE_MOSTLY_F16},
      {"BF16", LLAMA_FTYPE_MOSTLY_BF16},     {"F32", LLAMA_FTYPE_ALL_F32},
  };
  return table;
}

std::string escapeRegex(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

ggml_type requireType(Napi::Env env, const std::string& name, const char* option) {
  ggml_type t = ggmlTypeFromName(name);
  if (t == GGML_TYPE_COUNT) throw Napi::TypeError::New(env, std::string("unknown ggml type \"") + name + "\" for option " + option);
  return t;
}

// Reads a GGUF imatrix (llama-imatrix's default output): "<tensor>.in_sum2" [ne0, n_mat] and
// "<tensor>.counts" [1, n_mat] → per-tensor mean squared activations, as llama-quantize does.
std::map<std::string, std::vector<float>> loadImatrix(const std::string& path) {
  ggml_context* raw = nullptr;
  gguf_init_params params{/*no_alloc*/ false, &raw};
  GgufPtr g(gguf_init_from_file(path.c_str(), params));
  GgmlPtr ctx(raw);
  if (!g) throw std::runtime_error("cannot read imatrix " + path + ": not a GGUF imatrix (legacy .dat imatrix files are not supported; regenerate with llama-imatrix)");
  std::map<std::string, std::vector<float>> out;
  const std::string sumSuffix = ".in_sum2";
  for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); ++i) {
    std::string name = gguf_get_tensor_name(g.get(), i);
    if (name.size() <= sumSuffix.size() || name.compare(name.size() - sumSuffix.size(), sumSuffix.size(), sumSuffix) != 0) continue;
    std::string base = name.substr(0, name.size() - sumSuffix.size());
    ggml_tensor* sums = ggml_get_tensor(ctx.get(), name.c_str());
    ggml_tensor* counts = ggml_get_tensor(ctx.get(), (base + ".counts").c_str());
    if (!sums || !counts || sums->type != GGML_TYPE_F32 || counts->type != GGML_TYPE_F32 || counts->ne[0] != 1 || counts->ne[1] != sums->ne[1]) {
      throw std::runtime_error("imatrix " + path + ": malformed entry for " + base);
    }
    const int64_t ne0 = sums->ne[0], nmat = sums->ne[1];
    std::vector<float> v(ne0 * nmat);
    const float* s = static_cast<const float*>(sums->data);
    const float* c = static_cast<const float*>(counts->data);
    for (int64_t j = 0; j < nmat; ++j) {
      for (int64_t k = 0; k < ne0; ++k) v[j * ne0 + k] = c[j] > 0 ? s[j * ne0 + k] / c[j] : 1.0f;
    }
    out.emplace(base, std::move(v));
  }
  if (out.empty()) throw std::runtime_error("imatrix " + path + " holds no entries");
  return out;
}

class QuantizeJob : public Job {
 public:
  QuantizeJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.quantize"),
        input_(requireString(o, "input")),
        output_(requireString(o, "output")),
        imatrixPath_(optionalString(o, "imatrix", "")),
        threads_(optionalInt(o, "threads", 0)),
        allowRequantize_(optionalBool(o, "allowRequantize", false)) {
    std::string type = optionalString(o, "type", "");
    std::string preset = optionalString(o, "preset", "");
    if (!preset.empty()) {
      auto it = presetFtypes().find(preset);
      if (it == presetFtypes().end()) throw Napi::TypeError::New(env, "unknown llama.cpp preset \"" + preset + "\" for option preset");
      ftype_ = it->second;
      pure_ = false;
    } else {
      auto it = pureFtypes().find(type);
      if (it == pureFtypes().end()) throw Napi::TypeError::New(env, "cannot quantize to type \"" + type + "\" (option type)");
      ftype_ = it->second;
      pure_ = true;
    }
    std::string emb = optionalString(o, "tokenEmbeddingType", "");
    if (!emb.empty()) embType_ = requireType(env, emb, "tokenEmbeddingType");
    std::string out = optionalString(o, "outputType", "");
    if (!out.empty()) outType_ = requireType(env, out, "outputType");
    Napi::Value ov = o.Get("overrides");
    if (ov.IsObject()) {
      Napi::Object overrides = ov.As<Napi::Object>();
      Napi::Array names = overrides.GetPropertyNames();
      for (uint32_t i = 0; i < names.Length(); ++i) {
        std::string name = names.Get(i).As<Napi::String>().Utf8Value();
        Napi::Value tv = overrides.Get(name);
        if (!tv.IsString()) throw Napi::TypeError::New(env, "expected a type name for overrides[\"" + name + "\"]");
        ggml_type t = requireType(env, tv.As<Napi::String>().Utf8Value(), "overrides");
        // llama.cpp matches overrides with regex_search, first match wins: anchor exact names.
        patterns_.push_back("^" + escapeRegex(name) + "$");
        overrideTypes_.push_back(t);
      }
    }
  }

 protected:
  void Run() override {
    // llama_model_quantize aborts on some malformed inputs; reject what is not a GGUF first.
    validateForQuantize(input_);
    std::map<std::string, std::vector<float>> imatrix;
    std::vector<llama_model_imatrix_data> imatrixRefs;
    if (!imatrixPath_.empty()) {
      imatrix = loadImatrix(imatrixPath_);
      for (auto& [name, data] : imatrix) imatrixRefs.push_back({name.c_str(), data.data(), data.size()});
      imatrixRefs.push_back({nullptr, nullptr, 0});
    }
    std::vector<llama_model_tensor_override> overrides;
    for (size_t i = 0; i < patterns_.size(); ++i) overrides.push_back({patterns_[i].c_str(), overrideTypes_[i]});
    overrides.push_back({nullptr, GGML_TYPE_COUNT});

    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.nthread = threads_;
    p.ftype = ftype_;
    p.pure = pure_;
    p.allow_requantize = allowRequantize_;
    p.token_embedding_type = embType_;
    p.output_tensor_type = outType_;
    p.tt_overrides = patterns_.empty() ? nullptr : overrides.data();
    p.imatrix = imatrixRefs.empty() ? nullptr : imatrixRefs.data();
    p.progress_callback = [](float fraction, void* self) {
      auto* job = static_cast<QuantizeJob*>(self);
      if (job->cancelled()) return false;
      job->report(fraction);
      return true;
    };
    p.progress_callback_user_data = this;
    p.abort_callback = &Job::abortRequested;  // inside a slab, per chunk of rows (patch 0008)
    p.abort_callback_data = this;
    p.max_buf_size = 64u << 20;  // slabs of rows small enough that cancellation is prompt
    errno = 0;
    uint32_t rc = llama_model_quantize(input_.c_str(), output_.c_str(), &p);
    const int writeErrno = errno;  // a failed write of its ofstream leaves ENOSPC here
    throwIfCancelled();
    if (rc != 0) {
      // llama.cpp's ofstream reports a full disk only as "basic_ios::clear: iostream error"
      if (noSpaceLeft(output_, writeErrno)) throw std::runtime_error("cannot write " + output_ + ": no space left on device");
      throw std::runtime_error(withLogReason("quantizing " + input_ + " failed"));
    }
  }

 private:
  std::string input_, output_, imatrixPath_;
  int32_t threads_;
  bool allowRequantize_;
  llama_ftype ftype_ = LLAMA_FTYPE_MOSTLY_Q8_0;
  bool pure_ = true;
  ggml_type embType_ = GGML_TYPE_COUNT;
  ggml_type outType_ = GGML_TYPE_COUNT;
  std::vector<std::string> patterns_;
  std::vector<ggml_type> overrideTypes_;
};

}  // namespace

Napi::Value Quantize(const Napi::CallbackInfo& info) {
  return (new QuantizeJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

Napi::Value QuantizePresets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array pure = Napi::Array::New(env);
  for (const auto& [name, _] : pureFtypes()) pure.Set(pure.Length(), name);
  Napi::Array presets = Napi::Array::New(env);
  for (const auto& [name, _] : presetFtypes()) presets.Set(presets.Length(), name);
  out.Set("types", pure);
  out.Set("presets", presets);
  return out;
}

}  // namespace apreqel
