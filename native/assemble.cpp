// assemble(): a GGUF whose metadata comes from `base` and whose tensors' bytes are copied
// unchanged from the source file chosen for each one. No requantization: about a file copy.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "addon.h"
#include "gguf_file.h"
#include "job.h"

namespace apreqel {
namespace {

struct KvOverride {
  std::string key;
  enum Kind { Str, Int, Float, Bool } kind;
  std::string s;
  double number = 0;
  bool b = false;
};

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { if (fd_ >= 0) ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class AssembleJob : public Job {
 public:
  AssembleJob(Napi::Env env, const Napi::Object& o)
      : Job(env, o, "apreqel.assemble"), base_(requireString(o, "base")), output_(requireString(o, "output")) {
    Napi::Value sv = o.Get("sources");
    if (!sv.IsArray()) throw Napi::TypeError::New(env, "expected an array of paths for option sources");
    Napi::Array sources = sv.As<Napi::Array>();
    for (uint32_t i = 0; i < sources.Length(); ++i) {
      Napi::Value p = sources.Get(i);
      if (!p.IsString()) throw Napi::TypeError::New(env, "expected a path string in sources");
      sources_.push_back(p.As<Napi::String>().Utf8Value());
    }
    Napi::Value av = o.Get("assignment");
    if (!av.IsObject()) throw Napi::TypeError::New(env, "expected an object for option assignment");
    Napi::Object assignment = av.As<Napi::Object>();
    Napi::Array names = assignment.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value idx = assignment.Get(name);
      if (!idx.IsNumber()) throw Napi::TypeError::New(env, "expected a source index for assignment[\"" + name + "\"]");
      int32_t k = idx.As<Napi::Number>().Int32Value();
      if (k < 0 || static_cast<size_t>(k) >= sources_.size()) throw Napi::RangeError::New(env, "source index out of range for assignment[\"" + name + "\"]");
      assignment_[name] = k;
    }
    Napi::Value mv = o.Get("metadata");
    if (mv.IsObject()) {
      Napi::Object md = mv.As<Napi::Object>();
      Napi::Array keys = md.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); ++i) {
        KvOverride kv;
        kv.key = keys.Get(i).As<Napi::String>().Utf8Value();
        Napi::Value v = md.Get(kv.key);
        if (v.IsString()) {
          kv.kind = KvOverride::Str;
          kv.s = v.As<Napi::String>().Utf8Value();
        } else if (v.IsBoolean()) {
          kv.kind = KvOverride::Bool;
          kv.b = v.As<Napi::Boolean>().Value();
        } else if (v.IsNumber()) {
          double d = v.As<Napi::Number>().DoubleValue();
          kv.kind = (d == static_cast<double>(static_cast<int64_t>(d))) ? KvOverride::Int : KvOverride::Float;
          kv.number = d;
        } else {
          throw Napi::TypeError::New(env, "metadata[\"" + kv.key + "\"] must be a string, number or boolean");
        }
        metadata_.push_back(std::move(kv));
      }
    }
  }

 protected:
  void Run() override {
    GgufHeader base = validateGguf(base_);
    std::vector<GgufHeader> sources;
    for (const auto& path : sources_) sources.push_back(validateGguf(path));

    GgufPtr out(gguf_init_empty());
    gguf_set_kv(out.get(), base.gguf.get());
    for (const KvOverride& kv : metadata_) {
      switch (kv.kind) {
        case KvOverride::Str: gguf_set_val_str(out.get(), kv.key.c_str(), kv.s.c_str()); break;
        case KvOverride::Bool: gguf_set_val_bool(out.get(), kv.key.c_str(), kv.b); break;
        case KvOverride::Int:
          if (kv.number >= 0 && kv.number <= 4294967295.0) gguf_set_val_u32(out.get(), kv.key.c_str(), static_cast<uint32_t>(kv.number));
          else gguf_set_val_i64(out.get(), kv.key.c_str(), static_cast<int64_t>(kv.number));
          break;
        case KvOverride::Float: gguf_set_val_f32(out.get(), kv.key.c_str(), static_cast<float>(kv.number)); break;
      }
    }

    // Pick each tensor's source and check it is the same tensor (name and shape).
    struct Plan { const GgufHeader* src; int64_t id; uint64_t offset; uint64_t size; };
    std::vector<Plan> plan;
    const int64_t n = gguf_get_n_tensors(base.gguf.get());
    for (auto& [name, _] : assignment_) {
      if (gguf_find_tensor(base.gguf.get(), name.c_str()) < 0) throw std::runtime_error("assignment names tensor " + name + ", which " + base_ + " does not have");
    }
    for (int64_t i = 0; i < n; ++i) {
      const char* name = gguf_get_tensor_name(base.gguf.get(), i);
      auto it = assignment_.find(name);
      const GgufHeader* src = it == assignment_.end() ? &base : &sources[it->second];
      const std::string& srcPath = it == assignment_.end() ? base_ : sources_[it->second];
      int64_t id = gguf_find_tensor(src->gguf.get(), name);
      if (id < 0) throw std::runtime_error(srcPath + " has no tensor " + name);
      const ggml_tensor* want = ggml_get_tensor(base.meta.get(), name);
      const ggml_tensor* have = ggml_get_tensor(src->meta.get(), name);
      for (int d = 0; d < GGML_MAX_DIMS; ++d) {
        if (want->ne[d] != have->ne[d]) throw std::runtime_error("tensor " + std::string(name) + " has a different shape in " + srcPath + " than in " + base_);
      }
      gguf_add_tensor(out.get(), have);
      plan.push_back({src, id, src->tensorDataOffset(id), gguf_get_tensor_size(src->gguf.get(), id)});
    }
    throwIfCancelled();

    uint64_t total = 0, done = 0;
    for (const Plan& p : plan) total += p.size;
    std::map<const GgufHeader*, int> fds;
    std::vector<std::unique_ptr<FdCloser>> closers;
    auto fdOf = [&](const GgufHeader* h, const std::string& path) {
      auto it = fds.find(h);
      if (it != fds.end()) return it->second;
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error(errnoMessage("cannot open", path));
      closers.push_back(std::make_unique<FdCloser>(fd));
      fds[h] = fd;
      return fd;
    };

    GgufStreamWriter writer(output_, out.get());
    std::vector<char> buffer(8u << 20);
    for (int64_t i = 0; i < n; ++i) {
      const Plan& p = plan[i];
      const std::string& path = p.src == &base ? base_ : sources_[p.src - sources.data()];
      int fd = fdOf(p.src, path);
      writer.writeTensor(i, [&](const GgufStreamWriter::Sink& sink) {
        uint64_t offset = p.offset, left = p.size;
        while (left > 0) {
          throwIfCancelled();
          size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
          ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
          if (got < 0) throw std::runtime_error(errnoMessage("cannot read", path));
          if (got == 0) throw std::runtime_error(path + " ended early (truncated GGUF)");
          sink(buffer.data(), static_cast<size_t>(got));
          offset += got;
          left -= got;
          done += got;
          report(total ? static_cast<double>(done) / total : 1.0);
        }
      });
    }
    writer.finish();
    report(1.0);
  }

 private:
  std::string base_, output_;
  std::vector<std::string> sources_;
  std::map<std::string, int32_t> assignment_;
  std::vector<KvOverride> metadata_;
};

}  // namespace

Napi::Value Assemble(const Napi::CallbackInfo& info) {
  return (new AssembleJob(info.Env(), info[0].As<Napi::Object>()))->Start();
}

}  // namespace apreqel
