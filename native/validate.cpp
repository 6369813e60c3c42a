#include "validate.h"

#include <cmath>
#include <optional>

namespace apreqel {
namespace {

// llama.cpp's limits (src/llama-hparams.h, not public headers)
constexpr int64_t kMaxLayers = 512;    // LLAMA_MAX_LAYERS
constexpr int64_t kMaxExperts = 1024;  // LLAMA_MAX_EXPERTS

std::string architecture(const GgufHeader& h) {
  const int64_t k = gguf_find_key(h.gguf.get(), "general.architecture");
  if (k < 0 || gguf_get_kv_type(h.gguf.get(), k) != GGUF_TYPE_STRING) return "";
  return gguf_get_val_str(h.gguf.get(), k);
}

std::optional<int64_t> intAt(const gguf_context* g, int64_t k, enum gguf_type t, const void* data, size_t i) {
  switch (t) {
    case GGUF_TYPE_UINT8: return static_cast<const uint8_t*>(data)[i];
    case GGUF_TYPE_INT8: return static_cast<const int8_t*>(data)[i];
    case GGUF_TYPE_UINT16: return static_cast<const uint16_t*>(data)[i];
    case GGUF_TYPE_INT16: return static_cast<const int16_t*>(data)[i];
    case GGUF_TYPE_UINT32: return static_cast<const uint32_t*>(data)[i];
    case GGUF_TYPE_INT32: return static_cast<const int32_t*>(data)[i];
    case GGUF_TYPE_UINT64: {
      const uint64_t v = static_cast<const uint64_t*>(data)[i];
      return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
    }
    case GGUF_TYPE_INT64: return static_cast<const int64_t*>(data)[i];
    default: (void)g; (void)k; return std::nullopt;
  }
}

// The largest integer stored under `<arch>.<suffix>` (a scalar or a per-layer array); nullopt when
// the key is missing or not integral (llama.cpp then throws a clean error of its own).
std::optional<int64_t> maxInt(const GgufHeader& h, const std::string& key) {
  const gguf_context* g = h.gguf.get();
  const int64_t k = gguf_find_key(g, key.c_str());
  if (k < 0) return std::nullopt;
  const enum gguf_type t = gguf_get_kv_type(g, k);
  if (t != GGUF_TYPE_ARRAY) return intAt(g, k, t, gguf_get_val_data(g, k), 0);
  const enum gguf_type at = gguf_get_arr_type(g, k);
  if (at == GGUF_TYPE_STRING || at == GGUF_TYPE_ARRAY) return std::nullopt;
  std::optional<int64_t> best;
  for (size_t i = 0; i < gguf_get_arr_n(g, k); ++i) {
    std::optional<int64_t> v = intAt(g, k, at, gguf_get_arr_data(g, k), i);
    if (!v) return std::nullopt;
    if (!best || *v > *best) best = v;
  }
  return best;
}

// Mirrors the GGML_ASSERTs of llama_model_base::load_hparams that a file's values can trip (the
// quantizer loads hyperparameters too).
void checkHyperparameters(const GgufHeader& h) {
  const std::string arch = architecture(h);
  if (arch.empty()) return;  // llama.cpp rejects it cleanly
  auto key = [&](const char* suffix) { return arch + "." + suffix; };
  auto fail = [&](const std::string& k, int64_t v, const std::string& rule) {
    h.invalid("metadata " + k + " is " + std::to_string(v) + ", " + rule);
  };
  const std::optional<int64_t> layers = maxInt(h, key("block_count"));
  if (layers && (*layers < 1 || *layers > kMaxLayers)) fail(key("block_count"), *layers, "expected 1 to " + std::to_string(kMaxLayers));
  const std::optional<int64_t> nextn = maxInt(h, key("nextn_predict_layers"));
  if (layers && nextn && *nextn > *layers) fail(key("nextn_predict_layers"), *nextn, "more than block_count");
  const int64_t experts = maxInt(h, key("expert_count")).value_or(0);
  const int64_t used = maxInt(h, key("expert_used_count")).value_or(0);
  const int64_t groups = maxInt(h, key("expert_group_count")).value_or(0);
  const int64_t groupUsed = maxInt(h, key("expert_group_used_count")).value_or(0);
  if (experts < 0 || experts > kMaxExperts) fail(key("expert_count"), experts, "expected 0 to " + std::to_string(kMaxExperts));
  if (used < 0 || used > experts) fail(key("expert_used_count"), used, "expected 0 to expert_count (" + std::to_string(experts) + ")");
  if (experts > 0) {
    if (used == 0) fail(key("expert_used_count"), used, "expected at least 1 with experts");
    if (groups < 0 || groups >= experts) fail(key("expert_group_count"), groups, "expected below expert_count");
    if (groups > 1 && (experts % groups != 0 || groupUsed <= 0 || groupUsed >= groups)) {
      fail(key("expert_group_used_count"), groupUsed, "inconsistent with expert_group_count " + std::to_string(groups));
    }
  } else if (groups != 0) {
    fail(key("expert_group_count"), groups, "expected 0 without experts");
  }
  const int64_t scaling = gguf_find_key(h.gguf.get(), key("rope.scaling.type").c_str());
  if (scaling >= 0 && gguf_get_kv_type(h.gguf.get(), scaling) == GGUF_TYPE_STRING) {
    const std::string s = gguf_get_val_str(h.gguf.get(), scaling);
    if (s != "none" && s != "linear" && s != "yarn" && s != "longrope") {
      h.invalid("metadata " + key("rope.scaling.type") + " is \"" + s + "\", expected none, linear, yarn or longrope");
    }
  }
}

// What ggml's CPU kernels abort on (GGML_ABORT/GGML_ASSERT) at the first decode:
// - a norm or bias (1-D tensor) that is not F32: binary ops take F32 operands next to F32
//   activations (llama.cpp's converter and quantizer always keep 1-D tensors F32);
// - an integer or F64 weight matrix: no matrix-multiplication kernel;
// - a negative or NaN norm epsilon (ggml_rms_norm/ggml_norm assert eps >= 0).
void checkComputable(const GgufHeader& h) {
  for (ggml_tensor* t = ggml_get_first_tensor(h.meta.get()); t != nullptr; t = ggml_get_next_tensor(h.meta.get(), t)) {
    const bool oneDim = t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1;
    const bool floatOrQuant = t->type == GGML_TYPE_F32 || t->type == GGML_TYPE_F16 || t->type == GGML_TYPE_BF16 || ggml_is_quantized(t->type);
    if (oneDim && t->type != GGML_TYPE_F32) {
      h.invalid(std::string("tensor ") + t->name + " is a 1-dimensional " + ggml_type_name(t->type) + " tensor; llama.cpp needs norms and biases in f32");
    }
    if (!floatOrQuant) h.invalid(std::string("tensor ") + t->name + " has type " + ggml_type_name(t->type) + ", which llama.cpp cannot compute with");
  }
  const std::string arch = architecture(h);
  for (const char* suffix : {".attention.layer_norm_rms_epsilon", ".attention.layer_norm_epsilon", ".attention.group_norm_epsilon"}) {
    const std::string k = arch + suffix;
    const int64_t id = gguf_find_key(h.gguf.get(), k.c_str());
    if (id < 0 || gguf_get_kv_type(h.gguf.get(), id) != GGUF_TYPE_FLOAT32) continue;
    const float eps = gguf_get_val_f32(h.gguf.get(), id);
    if (!(eps >= 0.0f) || !std::isfinite(eps)) h.invalid("metadata " + k + " is " + std::to_string(eps) + ", expected a finite number ≥ 0");
  }
}

}  // namespace

GgufHeader validateForQuantize(const std::string& path) {
  GgufHeader h = validateGguf(path);
  checkHyperparameters(h);
  return h;
}

GgufHeader validateForRun(const std::string& path) {
  GgufHeader h = validateForQuantize(path);
  checkComputable(h);
  return h;
}

}  // namespace apreqel
