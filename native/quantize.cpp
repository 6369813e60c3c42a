// quantize(): llama_model_quantize with exact per-tensor types, progress and cancellation
// (vendor/patches/0001-quantize-progress.patch) and the log's reason on failure.
#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "gguf_file.h"
#include "job.h"
#include "validate.h"
#include "write_behind.h"
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
        allowRequantize_(optionalBool(o, "allowRequantize", false)),
        dryRun_(optionalBool(o, "dryRun", false)) {
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
    p.abort_callback = &Job::abortRequested;  // inside a slab, per chunk of rows (vendor/patches/0001)
    p.abort_callback_data = this;
    p.max_buf_size = 64u << 20;  // slabs of rows small enough that cancellation is prompt
    // a dry run decides every tensor's type as the real run would and writes nothing; llama.cpp
    // reports the types only in its log, one line per tensor
    p.dry_run = dryRun_;
    if (dryRun_) log().keepInfo();
    errno = 0;
    uint32_t rc;
    {
      // llama.cpp's writer is not ours: follow the output's size and write it back as it grows
      std::unique_ptr<WriteBehindWatcher> watch = dryRun_ ? nullptr : std::make_unique<WriteBehindWatcher>(output_);
      rc = llama_model_quantize(input_.c_str(), output_.c_str(), &p);
    }
    const int writeErrno = errno;  // a failed write of its ofstream leaves ENOSPC here
    throwIfCancelled();
    if (rc != 0) {
      // llama.cpp's ofstream reports a full disk only as "basic_ios::clear: iostream error"
      if (noSpaceLeft(output_, writeErrno)) throw std::runtime_error("cannot write " + output_ + ": no space left on device");
      throw std::runtime_error(withLogReason("quantizing " + input_ + " failed"));
    }
    if (dryRun_) {
      planned_ = parseDryRun(log().info());
      fileBytes_ = plannedFileBytes();
    }
  }

  // The bytes of the file the real run would write: the header llama_model_quantize builds (the
  // input's metadata, its two keys set, the split keys removed, one info per tensor at its new
  // type), padded to the alignment, then each tensor's data padded to it (llama-quant.cpp).
  uint64_t plannedFileBytes() const {
    GgufHeader in = GgufHeader::read(input_, "not a GGUF file");
    GgufPtr out(gguf_init_empty());
    gguf_set_kv(out.get(), in.gguf.get());
    gguf_set_val_u32(out.get(), "general.quantization_version", GGML_QNT_VERSION);
    gguf_set_val_u32(out.get(), "general.file_type", ftype_);
    for (const char* key : {"split.no", "split.count", "split.tensors.count"}) gguf_remove_key(out.get(), key);
    std::map<std::string, ggml_type> types;
    for (const auto& [name, type] : planned_) types[name] = ggmlTypeFromName(type);
    const size_t align = gguf_get_alignment(out.get());
    uint64_t data = 0;
    for (ggml_tensor* t = ggml_get_first_tensor(in.meta.get()); t != nullptr; t = ggml_get_next_tensor(in.meta.get(), t)) {
      auto it = types.find(ggml_get_name(t));
      if (it == types.end() || it->second == GGML_TYPE_COUNT) throw std::runtime_error(std::string("the dry run reported no type for tensor ") + ggml_get_name(t));
      gguf_add_tensor(out.get(), t);
      gguf_set_tensor_type(out.get(), ggml_get_name(t), it->second);
      data += GGML_PAD(ggml_row_size(it->second, t->ne[0]) * ggml_nrows(t), align);
    }
    return gguf_get_meta_size(out.get()) + data;
  }

  // The dry run's log, per tensor: "[   3/  39] NAME - [shape], type = CUR, " then
  // "size = A MiB -> B MiB (NEW)\n" (quantized) or "size = A MiB\n" (kept as CUR).
  static std::vector<std::pair<std::string, std::string>> parseDryRun(const std::vector<std::string>& lines) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto trim = [](const std::string& s) {
      size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      const std::string& head = lines[i];
      size_t close = head.find("] "), dash = head.find(" - ["), typeAt = head.find("], type = ");
      if (head.empty() || head[0] != '[' || close == std::string::npos || dash == std::string::npos || typeAt == std::string::npos) continue;
      std::string name = trim(head.substr(close + 2, dash - close - 2));
      std::string current = trim(head.substr(typeAt + 10, head.find(',', typeAt + 10) - typeAt - 10));
      const std::string& size = lines[i + 1];
      if (size.compare(0, 7, "size = ") != 0) continue;
      size_t open = size.rfind('('), end = size.rfind(')');
      std::string type = open != std::string::npos && end != std::string::npos && end > open ? size.substr(open + 1, end - open - 1) : current;
      out.emplace_back(name, type);
      ++i;
    }
    return out;
  }

  Napi::Value Result(Napi::Env env) override {
    if (!dryRun_) return env.Undefined();
    Napi::Object result = Napi::Object::New(env);
    Napi::Array tensors = Napi::Array::New(env, planned_.size());
    for (size_t i = 0; i < planned_.size(); ++i) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("name", planned_[i].first);
      t.Set("type", planned_[i].second);
      tensors.Set(i, t);
    }
    result.Set("tensors", tensors);
    result.Set("fileBytes", Napi::Number::New(env, static_cast<double>(fileBytes_)));
    return result;
  }

 private:
  std::string input_, output_, imatrixPath_;
  int32_t threads_;
  bool allowRequantize_;
  bool dryRun_;
  std::vector<std::pair<std::string, std::string>> planned_;
  uint64_t fileBytes_ = 0;
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
