// writeRandomModel(): a llama-architecture GGUF with random weights of a chosen shape and a real
// tokenizer taken from a vocab-only GGUF (llama.cpp ships them in models/). Test and benchmark
// fixtures: latency and memory behave as in a trained model of that shape; perplexity does not.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "addon.h"
#include "gguf_file.h"
#include "job.h"

namespace apreqel {
namespace {

struct Shape {
  std::string arch;  // llama, qwen2, qwen3, phi3 or gemma3: the tensor layout and metadata prefix
  int32_t nEmbd, nFf, nLayer, nHead, nHeadKv, nCtx;
  uint32_t seed;
  ggml_type type;  // of the 2-D weights; norms are always F32
  float std;       // weight standard deviation
};

// splitmix64: tiny, seedable and the same on every platform (unlike <random> distributions).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  float normal() {  // Box-Muller
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
};

class RandomModelJob : public Job {
 public:
  RandomModelJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.writeRandomModel"), vocab_(requireString(o, "vocab")), output_(requireString(o, "output")) {
    shape_.nEmbd = optionalInt(o, "nEmbd", 256);
    shape_.nFf = optionalInt(o, "nFf", 768);
    shape_.nLayer = optionalInt(o, "nLayer", 4);
    shape_.nHead = optionalInt(o, "nHead", 4);
    shape_.nHeadKv = optionalInt(o, "nHeadKv", 2);
    shape_.nCtx = optionalInt(o, "nCtx", 512);
    shape_.seed = static_cast<uint32_t>(optionalInt(o, "seed", 1));
    shape_.std = 0.02f;
    shape_.arch = optionalString(o, "arch", "llama");
    if (shape_.arch != "llama" && shape_.arch != "qwen2" && shape_.arch != "qwen3" && shape_.arch != "phi3" && shape_.arch != "gemma3") {
      throw Napi::TypeError::New(env, "option arch must be llama, qwen2, qwen3, phi3 or gemma3");
    }
    std::string type = optionalString(o, "type", "f16");
    shape_.type = ggmlTypeFromName(type);
    if (shape_.type != GGML_TYPE_F16 && shape_.type != GGML_TYPE_F32) throw Napi::TypeError::New(env, "option type must be \"f16\" or \"f32\"");
    if (shape_.nEmbd <= 0 || shape_.nFf <= 0 || shape_.nLayer <= 0 || shape_.nHead <= 0 || shape_.nHeadKv <= 0 ||
        shape_.nEmbd % shape_.nHead != 0 || shape_.nHead % shape_.nHeadKv != 0) {
      throw Napi::RangeError::New(env, "invalid model shape: need positive sizes, nEmbd divisible by nHead and nHead by nHeadKv");
    }
  }

 protected:
  void Run() override {
    GgufHeader vocab = GgufHeader::read(vocab_, "unreadable header");
    const gguf_context* v = vocab.gguf.get();
    int64_t tokensKey = gguf_find_key(v, "tokenizer.ggml.tokens");
    if (tokensKey < 0) throw std::runtime_error(vocab_ + " has no tokenizer.ggml.tokens");
    const int64_t nVocab = static_cast<int64_t>(gguf_get_arr_n(v, tokensKey));
    const Shape& s = shape_;
    const int64_t headDim = s.nEmbd / s.nHead;
    const int64_t nEmbdKv = headDim * s.nHeadKv;

    GgufPtr out(gguf_init_empty());
    // keep only the tokenizer from the vocab file; everything else describes our model
    gguf_set_kv(out.get(), v);
    for (int64_t k = gguf_get_n_kv(out.get()) - 1; k >= 0; --k) {
      std::string key = gguf_get_key(out.get(), k);
      if (key.rfind("tokenizer.", 0) != 0) gguf_remove_key(out.get(), key.c_str());
    }
    const std::string& a = s.arch;
    auto key = [&](const char* suffix) { return a + "." + suffix; };
    gguf_set_val_str(out.get(), "general.architecture", a.c_str());
    gguf_set_val_str(out.get(), "general.name", ("apreqel random " + a + " fixture").c_str());
    gguf_set_val_u32(out.get(), "general.file_type", s.type == GGML_TYPE_F16 ? 1 : 0);
    gguf_set_val_u32(out.get(), key("context_length").c_str(), s.nCtx);
    gguf_set_val_u32(out.get(), key("embedding_length").c_str(), s.nEmbd);
    gguf_set_val_u32(out.get(), key("feed_forward_length").c_str(), s.nFf);
    gguf_set_val_u32(out.get(), key("block_count").c_str(), s.nLayer);
    gguf_set_val_u32(out.get(), key("attention.head_count").c_str(), s.nHead);
    gguf_set_val_u32(out.get(), key("attention.head_count_kv").c_str(), s.nHeadKv);
    gguf_set_val_u32(out.get(), key("rope.dimension_count").c_str(), static_cast<uint32_t>(headDim));
    gguf_set_val_f32(out.get(), key("rope.freq_base").c_str(), 10000.0f);
    gguf_set_val_f32(out.get(), key("attention.layer_norm_rms_epsilon").c_str(), 1e-5f);
    gguf_set_val_u32(out.get(), key("vocab_size").c_str(), static_cast<uint32_t>(nVocab));

    // each architecture's block layout as llama.cpp's loader expects it (src/models/<arch>.cpp)
    struct T { std::string name; int64_t ne0, ne1; bool norm; };
    std::vector<T> tensors;
    tensors.push_back({"token_embd.weight", s.nEmbd, nVocab, false});
    for (int i = 0; i < s.nLayer; ++i) {
      std::string b = "blk." + std::to_string(i) + ".";
      tensors.push_back({b + "attn_norm.weight", s.nEmbd, 1, true});
      if (a == "phi3") {
        tensors.push_back({b + "attn_qkv.weight", s.nEmbd, s.nEmbd + 2 * nEmbdKv, false});
      } else {
        tensors.push_back({b + "attn_q.weight", s.nEmbd, s.nEmbd, false});
        tensors.push_back({b + "attn_k.weight", s.nEmbd, nEmbdKv, false});
        tensors.push_back({b + "attn_v.weight", s.nEmbd, nEmbdKv, false});
      }
      if (a == "qwen2") {
        tensors.push_back({b + "attn_q.bias", s.nEmbd, 1, true});
        tensors.push_back({b + "attn_k.bias", nEmbdKv, 1, true});
        tensors.push_back({b + "attn_v.bias", nEmbdKv, 1, true});
      }
      if (a == "qwen3" || a == "gemma3") {
        tensors.push_back({b + "attn_q_norm.weight", headDim, 1, true});
        tensors.push_back({b + "attn_k_norm.weight", headDim, 1, true});
      }
      tensors.push_back({b + "attn_output.weight", s.nEmbd, s.nEmbd, false});
      if (a == "gemma3") tensors.push_back({b + "post_attention_norm.weight", s.nEmbd, 1, true});
      tensors.push_back({b + "ffn_norm.weight", s.nEmbd, 1, true});
      if (a == "phi3") {
        tensors.push_back({b + "ffn_up.weight", s.nEmbd, 2 * s.nFf, false});  // gate and up, fused
      } else {
        tensors.push_back({b + "ffn_gate.weight", s.nEmbd, s.nFf, false});
        tensors.push_back({b + "ffn_up.weight", s.nEmbd, s.nFf, false});
      }
      tensors.push_back({b + "ffn_down.weight", s.nFf, s.nEmbd, false});
      if (a == "gemma3") tensors.push_back({b + "post_ffw_norm.weight", s.nEmbd, 1, true});
    }
    tensors.push_back({"output_norm.weight", s.nEmbd, 1, true});
    if (a != "gemma3") tensors.push_back({"output.weight", s.nEmbd, nVocab, false});  // gemma3 ties it to token_embd

    ggml_init_params ip{/*mem_size*/ ggml_tensor_overhead() * (tensors.size() + 1), /*mem_buffer*/ nullptr, /*no_alloc*/ true};
    GgmlPtr meta(ggml_init(ip));
    for (const T& t : tensors) {
      ggml_tensor* g = t.norm ? ggml_new_tensor_1d(meta.get(), GGML_TYPE_F32, t.ne0)
                              : ggml_new_tensor_2d(meta.get(), s.type, t.ne0, t.ne1);
      ggml_set_name(g, t.name.c_str());
      gguf_add_tensor(out.get(), g);
    }

    uint64_t total = 0, done = 0;
    for (const T& t : tensors) total += static_cast<uint64_t>(t.ne0) * t.ne1;
    GgufStreamWriter writer(output_, out.get());
    Rng rng{0x5eed0000ull + s.seed};
    std::vector<float> row;
    std::vector<ggml_fp16_t> row16;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const T& t = tensors[i];
      throwIfCancelled();
      writer.writeTensor(static_cast<int64_t>(i), [&](const GgufStreamWriter::Sink& sink) {
        row.resize(t.ne0);
        for (int64_t r = 0; r < t.ne1; ++r) {
          const float fill = t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0 ? 0.0f : 1.0f;
          for (int64_t c = 0; c < t.ne0; ++c) row[c] = t.norm ? fill : rng.normal() * s.std;
          if (!t.norm && s.type == GGML_TYPE_F16) {
            row16.resize(t.ne0);
            ggml_fp32_to_fp16_row(row.data(), row16.data(), t.ne0);
            sink(row16.data(), row16.size() * sizeof(ggml_fp16_t));
          } else {
            sink(row.data(), row.size() * sizeof(float));
          }
        }
      });
      done += static_cast<uint64_t>(t.ne0) * t.ne1;
      report(static_cast<double>(done) / total);
    }
    writer.finish();
  }

 private:
  std::string vocab_, output_;
  Shape shape_{};
};

}  // namespace

Napi::Value WriteRandomModel(const Napi::CallbackInfo& info) {
  return (new RandomModelJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
