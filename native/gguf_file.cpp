#include "gguf_file.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "log_capture.h"

namespace apreqel {

std::string errnoMessage(const std::string& what, const std::string& path) {
  int e = errno;
  std::string reason = e == ENOSPC ? "no space left on device" : std::strerror(e);
  return what + " " + path + ": " + reason;
}

bool noSpaceLeft(const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT) return true;
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs vfs {};
  return ::statvfs(dir.c_str(), &vfs) == 0 && vfs.f_bavail == 0;
}

GgufHeader GgufHeader::read(const std::string& path, const std::string& reasonIfUnknown) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error(errnoMessage("cannot open", path));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(path + " is not a regular file");
  if (st.st_size == 0) throw std::runtime_error(path + " is empty, not a GGUF file");
  ggml_context* meta = nullptr;
  gguf_init_params params{/*no_alloc*/ true, /*ctx*/ &meta};
  LogCapture capture;
  GgufPtr gguf;
  {
    LogCapture::Scope scope(capture);
    gguf.reset(gguf_init_from_file(path.c_str(), params));
  }
  if (!gguf) {
    std::string reason = capture.lastError().empty() ? reasonIfUnknown : capture.lastError();
    throw std::runtime_error(path + " is not a valid GGUF file: " + reason);
  }
  GgufHeader h;
  h.path = path;
  h.gguf = std::move(gguf);
  h.meta.reset(meta);
  h.fileSize = static_cast<uint64_t>(st.st_size);
  return h;
}

uint64_t GgufHeader::tensorDataOffset(int64_t id) const {
  uint64_t start = gguf_get_data_offset(gguf.get());
  uint64_t offs = gguf_get_tensor_offset(gguf.get(), id);
  uint64_t size = gguf_get_tensor_size(gguf.get(), id);
  uint64_t begin = start + offs;
  if (begin < start || begin + size < begin || begin + size > fileSize) {
    invalid(std::string("tensor ") + gguf_get_tensor_name(gguf.get(), id) + " data lies outside the file (" +
            std::to_string(size) + " bytes at offset " + std::to_string(begin) + ", file size " + std::to_string(fileSize) +
            "; truncated or corrupt)");
  }
  return begin;
}

static std::string shapeText(const ggml_tensor* t) {
  std::string s = "[";
  for (int d = 0; d < GGML_MAX_DIMS; ++d) s += (d ? ", " : "") + std::to_string(t->ne[d]);
  return s + "]";
}

void GgufHeader::checkTensorData() const {
  const gguf_context* g = gguf.get();
  struct Range { uint64_t begin, end; const char* name; };
  std::vector<Range> ranges;
  // meta holds one ggml tensor per tensor info, created in the same order
  ggml_tensor* t = ggml_get_first_tensor(meta.get());
  for (int64_t i = 0; i < gguf_get_n_tensors(g); ++i, t = ggml_get_next_tensor(meta.get(), t)) {
    if (t == nullptr) invalid("the tensor table is inconsistent");
    const char* name = gguf_get_tensor_name(g, i);
    // gguf's parser skips its overflow check when the element count wraps around to 0 (e.g. shape
    // [256, 2^62]); such a tensor then claims 0 bytes and llama.cpp's loader asserts on it.
    // llama.cpp makes no empty tensors; its quantizer divides by a zero row length (SIGFPE) and
    // its kernels assume at least one element
    for (int d = 0; d < GGML_MAX_DIMS; ++d) {
      if (t->ne[d] == 0) invalid(std::string("tensor ") + name + " has a zero dimension " + shapeText(t));
    }
    int64_t count = 1;
    for (int d = 0; d < GGML_MAX_DIMS; ++d) {
      if (t->ne[d] < 0 || __builtin_mul_overflow(count, t->ne[d], &count)) {
        invalid(std::string("tensor ") + name + " has an impossible shape " + shapeText(t) + " (2^63 elements or more)");
      }
    }
    uint64_t bytes = 0;
    const uint64_t blocks = static_cast<uint64_t>(count) / ggml_blck_size(t->type);
    if (__builtin_mul_overflow(blocks, static_cast<uint64_t>(ggml_type_size(t->type)), &bytes) || bytes != gguf_get_tensor_size(g, i)) {
      invalid(std::string("tensor ") + name + " of shape " + shapeText(t) + " has an impossible size in bytes");
    }
    const uint64_t begin = tensorDataOffset(i);
    ranges.push_back({begin, begin + bytes, name});
  }
  // the parser places tensors back to back, so overlap means sizes that wrapped; check anyway
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i - 1].end > ranges[i].begin) {
      invalid(std::string("the data of tensors ") + ranges[i - 1].name + " and " + ranges[i].name + " overlap");
    }
  }
}

void GgufHeader::invalid(const std::string& why) const { throw std::runtime_error(path + " is not a valid GGUF file: " + why); }

GgufHeader validateGguf(const std::string& path) {
  GgufHeader h = GgufHeader::read(path, "unreadable header");
  h.checkTensorData();
  return h;
}

ggml_type ggmlTypeFromName(const std::string& name) {
  for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
    auto type = static_cast<ggml_type>(t);
    if (ggml_blck_size(type) == 0) continue;  // removed types keep their slot
    const char* n = ggml_type_name(type);
    if (n != nullptr && name == n) return type;
  }
  return GGML_TYPE_COUNT;
}

GgufStreamWriter::GgufStreamWriter(const std::string& path, const gguf_context* ctx) : path_(path), ctx_(ctx) {
  file_.reset(std::fopen(path.c_str(), "wb"));
  if (!file_) throw std::runtime_error(errnoMessage("cannot write", path));
  behind_ = WriteBehind(fileno(file_.get()));
  int64_t key = gguf_find_key(ctx, "general.alignment");
  if (key >= 0 && gguf_get_kv_type(ctx, key) == GGUF_TYPE_UINT32) alignment_ = gguf_get_val_u32(ctx, key);
  std::vector<uint8_t> meta(gguf_get_meta_size(ctx));
  gguf_get_meta_data(ctx, meta.data());
  write(meta.data(), meta.size());
  dataStart_ = meta.size();
}

void GgufStreamWriter::write(const void* data, size_t size) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, file_.get()) != size) throw std::runtime_error(errnoMessage("cannot write", path_));
  position_ += size;
  if (position_ >= nextWindow_) {
    if (std::fflush(file_.get()) != 0) throw std::runtime_error(errnoMessage("cannot write", path_));
    behind_.advance(position_);
    nextWindow_ = (position_ / WriteBehind::kWindow + 1) * WriteBehind::kWindow;
  }
}

void GgufStreamWriter::padTo(uint64_t position) {
  static const uint8_t zeros[64] = {0};
  while (position_ < position) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(zeros), position - position_));
    write(zeros, n);
  }
}

void GgufStreamWriter::writeTensor(int64_t id, const std::function<void(const Sink&)>& produce) {
  const uint64_t begin = dataStart_ + gguf_get_tensor_offset(ctx_, id);
  if (begin < position_) throw std::logic_error("tensors written out of order");
  padTo(begin);
  const uint64_t expected = gguf_get_tensor_size(ctx_, id);
  produce([this](const void* data, size_t size) { write(data, size); });
  if (position_ - begin != expected) {
    throw std::logic_error(std::string("tensor ") + gguf_get_tensor_name(ctx_, id) + ": wrote a wrong number of bytes");
  }
}

void GgufStreamWriter::finish() {
  padTo(GGML_PAD(position_, alignment_));
  if (std::fflush(file_.get()) != 0) throw std::runtime_error(errnoMessage("cannot write", path_));
  if (::fsync(fileno(file_.get())) != 0) throw std::runtime_error(errnoMessage("cannot sync", path_));
  FILE* f = file_.release();
  if (std::fclose(f) != 0) throw std::runtime_error(errnoMessage("cannot close", path_));
}

}  // namespace apreqel
