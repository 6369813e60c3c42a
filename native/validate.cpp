#include "validate.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace apreqel {
namespace {

// llama.cpp's limits (src/llama-hparams.h, not public headers)
constexpr int64_t kMaxLayers = 512;    // LLAMA_MAX_LAYERS
constexpr int64_t kMaxExperts = 1024;  // LLAMA_MAX_EXPERTS
// ggml-impl.h TENSOR_ALIGNMENT: ggml_backend_cpu_buffer_from_ptr asserts that the mmapped weights
// start on a multiple of it ("buffer pointer must be aligned")
constexpr uint64_t kTensorAlignment = 32;

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

// Every value of `<arch>.<suffix>` per layer: a scalar repeated, or a per-layer array (llama.cpp
// rejects arrays of another length itself). Empty when missing or not integral.
std::vector<int64_t> perLayer(const GgufHeader& h, const std::string& key, int64_t layers) {
  const gguf_context* g = h.gguf.get();
  const int64_t k = gguf_find_key(g, key.c_str());
  if (k < 0 || layers < 1) return {};
  const enum gguf_type t = gguf_get_kv_type(g, k);
  if (t != GGUF_TYPE_ARRAY) {
    std::optional<int64_t> v = intAt(g, k, t, gguf_get_val_data(g, k), 0);
    return v ? std::vector<int64_t>(static_cast<size_t>(layers), *v) : std::vector<int64_t>{};
  }
  const enum gguf_type at = gguf_get_arr_type(g, k);
  if (at == GGUF_TYPE_STRING || at == GGUF_TYPE_ARRAY || gguf_get_arr_n(g, k) != static_cast<size_t>(layers)) return {};
  std::vector<int64_t> out;
  for (size_t i = 0; i < static_cast<size_t>(layers); ++i) {
    std::optional<int64_t> v = intAt(g, k, at, gguf_get_arr_data(g, k), i);
    if (!v) return {};
    out.push_back(*v);
  }
  return out;
}

// llama.cpp sizes every block's weights from the *first* layer's hyperparameters (create_tensor
// checks them against those), but builds each block's graph from that block's own entry of a
// per-layer array: an array that disagrees with the shapes passes the load and then trips a
// GGML_ASSERT in ggml_reshape / ggml_mul_mat at the first decode. So per layer, a weight's size
// must scale with its hyperparameter as the reference layer's does, and query heads must be a
// multiple of key/value heads (ggml_mul_mat broadcasts K over Q's heads).
void checkPerLayer(const GgufHeader& h, const std::string& arch) {
  const std::optional<int64_t> blocks = maxInt(h, arch + ".block_count");
  if (!blocks || *blocks < 1 || *blocks > kMaxLayers) return;
  const int64_t layers = *blocks;
  const std::vector<int64_t> heads = perLayer(h, arch + ".attention.head_count", layers);
  const std::vector<int64_t> kvHeads = perLayer(h, arch + ".attention.head_count_kv", layers);
  const std::vector<int64_t> ff = perLayer(h, arch + ".feed_forward_length", layers);
  if (!heads.empty() && !kvHeads.empty()) {
    for (int64_t il = 0; il < layers; ++il) {
      const int64_t q = heads[il], kv = kvHeads[il];
      if (q > 0 && kv > 0 && q % kv != 0) {
        h.invalid("layer " + std::to_string(il) + " has " + std::to_string(q) + " attention heads (" + arch +
                  ".attention.head_count), not a multiple of its " + std::to_string(kv) + " key/value heads (" + arch +
                  ".attention.head_count_kv)");
      }
    }
  }
  struct Rule { const char* tensor; int dim; const std::vector<int64_t>* values; const char* key; };
  const Rule rules[] = {
      {"attn_q", 1, &heads, ".attention.head_count"},      {"attn_k", 1, &kvHeads, ".attention.head_count_kv"},
      {"attn_v", 1, &kvHeads, ".attention.head_count_kv"}, {"ffn_up", 1, &ff, ".feed_forward_length"},
      {"ffn_gate", 1, &ff, ".feed_forward_length"},        {"ffn_down", 0, &ff, ".feed_forward_length"},
  };
  for (const Rule& r : rules) {
    if (r.values->empty()) continue;
    int64_t refLayer = -1, refSize = 0;
    for (int64_t il = 0; il < layers; ++il) {
      const std::string name = "blk." + std::to_string(il) + "." + r.tensor + ".weight";
      const ggml_tensor* t = ggml_get_tensor(h.meta.get(), name.c_str());
      if (t == nullptr) continue;
      const int64_t v = (*r.values)[il];
      if (refLayer < 0) {
        if (v > 0) { refLayer = il; refSize = t->ne[r.dim]; }
        continue;
      }
      const int64_t refValue = (*r.values)[refLayer];
      __int128 lhs = static_cast<__int128>(t->ne[r.dim]) * refValue, rhs = static_cast<__int128>(refSize) * v;
      if (lhs != rhs) {
        const std::string ne = "ne[" + std::to_string(r.dim) + "] = ";
        h.invalid("metadata " + arch + r.key + " is " + std::to_string(v) + " for layer " + std::to_string(il) + " and " +
                  std::to_string(refValue) + " for layer " + std::to_string(refLayer) + ", but " + name + " has " + ne +
                  std::to_string(t->ne[r.dim]) + " where blk." + std::to_string(refLayer) + "." + r.tensor + ".weight has " + ne +
                  std::to_string(refSize));
      }
    }
  }
}

// llama_vocab::load asserts (GGML_ASSERT) that no two tokens have the same text; and
// token_to_byte, which token_to_piece calls for every token typed BYTE (6), GGML_ABORTs for the
// tokenizers without byte tokens (bert/WPM, rwkv, plamo2, none): a file may pair those with byte
// tokens.
void checkVocab(const GgufHeader& h) {
  const gguf_context* g = h.gguf.get();
  const int64_t model = gguf_find_key(g, "tokenizer.ggml.model");
  const int64_t types = gguf_find_key(g, "tokenizer.ggml.token_type");
  if (model >= 0 && gguf_get_kv_type(g, model) == GGUF_TYPE_STRING && types >= 0 && gguf_get_kv_type(g, types) == GGUF_TYPE_ARRAY &&
      gguf_get_arr_type(g, types) == GGUF_TYPE_INT32) {
    const std::string name = gguf_get_val_str(g, model);
    if (name != "llama" && name != "gpt2" && name != "t5") {
      const int32_t* t = static_cast<const int32_t*>(gguf_get_arr_data(g, types));
      for (size_t i = 0; i < gguf_get_arr_n(g, types); ++i) {
        if (t[i] == 6) {
          h.invalid("token " + std::to_string(i) + " is a byte token, but tokenizer.ggml.model \"" + name.substr(0, 40) +
                    "\" has no byte tokens (llama.cpp aborts on it)");
        }
      }
    }
  }
  const int64_t k = gguf_find_key(g, "tokenizer.ggml.tokens");
  if (k < 0 || gguf_get_kv_type(g, k) != GGUF_TYPE_ARRAY || gguf_get_arr_type(g, k) != GGUF_TYPE_STRING) return;
  const size_t n = gguf_get_arr_n(g, k);
  std::unordered_set<std::string_view> seen;
  seen.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* s = gguf_get_arr_str(g, k, i);
    if (!seen.insert(std::string_view(s, std::strlen(s))).second) {
      std::string shown;
      for (const char* c = s; *c != 0 && shown.size() < 40; ++c) shown += (static_cast<unsigned char>(*c) < 0x20 || *c == 0x7f) ? '?' : *c;
      h.invalid("tokenizer.ggml.tokens has the token \"" + shown + "\" twice (again at id " + std::to_string(i) + ")");
    }
  }
}

// Every tensor's data must start on a multiple of TENSOR_ALIGNMENT in the file (the model is
// mmapped at a page boundary). A general.alignment of 32 or more guarantees it; smaller ones
// (valid GGUF: any power of two) usually break it and ggml aborts at load.
void checkAlignment(const GgufHeader& h) {
  const gguf_context* g = h.gguf.get();
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i) {
    const uint64_t begin = h.tensorDataOffset(i);
    if (begin % kTensorAlignment != 0) {
      h.invalid(std::string("tensor ") + gguf_get_tensor_name(g, i) + " starts at byte " + std::to_string(begin) +
                ", not a multiple of " + std::to_string(kTensorAlignment) + " (general.alignment is " +
                std::to_string(gguf_get_alignment(g)) + "); llama.cpp needs tensor data aligned to " +
                std::to_string(kTensorAlignment) + " bytes");
    }
  }
}

}  // namespace

GgufHeader validateForQuantize(const std::string& path) {
  GgufHeader h = validateGguf(path);
  checkHyperparameters(h);
  // the rest only matters once the model runs, but a quantized copy inherits it: reject it here,
  // under the input's name, rather than after quantizing, under a cache file's
  const std::string arch = architecture(h);
  if (!arch.empty()) checkPerLayer(h, arch);
  checkVocab(h);
  checkAlignment(h);
  return h;
}

GgufHeader validateForRun(const std::string& path) {
  GgufHeader h = validateForQuantize(path);
  checkComputable(h);
  return h;
}

}  // namespace apreqel
