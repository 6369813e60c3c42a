// RAII around gguf contexts and the streaming GGUF writer shared by assemble and the fixture
// generator: metadata first, then each tensor's bytes in order, padded to the file's alignment.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "write_behind.h"

#include "ggml.h"
#include "gguf.h"

namespace apreqel {

struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

// A GGUF header read without tensor data (no_alloc). Throws with the parser's reason on failure.
struct GgufHeader {
  std::string path;
  GgufPtr gguf;
  GgmlPtr meta;  // ggml tensors carrying names, types and shapes (no data)
  uint64_t fileSize = 0;

  static GgufHeader read(const std::string& path, const std::string& reasonIfUnknown);
  // Absolute file offset of tensor `id`'s data, checked to lie inside the file.
  uint64_t tensorDataOffset(int64_t id) const;
  // Throws "<path> is not a valid GGUF file: <why>" unless every tensor's data lies inside the
  // file. Every entry point that hands a file to llama.cpp calls this first (see validate()).
  void checkTensorData() const;
  // Throws `path is not a valid GGUF file: why`.
  [[noreturn]] void invalid(const std::string& why) const;
};

// Reads and checks a GGUF before llama.cpp's loader or quantizer sees it: gguf's own parser bounds
// counts, lengths and shapes by the file size; this adds that tensor data lies inside the file.
GgufHeader validateGguf(const std::string& path);

// Looks up a ggml type by its ggml name ("q4_K", "f16"); GGML_TYPE_COUNT if unknown.
ggml_type ggmlTypeFromName(const std::string& name);

class FileCloser {
 public:
  void operator()(FILE* f) const { if (f) fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

class GgufStreamWriter {
 public:
  // Opens `path` for writing (truncating) and writes `ctx`'s metadata.
  GgufStreamWriter(const std::string& path, const gguf_context* ctx);
  // Writes tensor `id`'s bytes through `produce(buffer-writer)`; the producer must write exactly
  // gguf_get_tensor_size bytes. Tensors must be written in order.
  using Sink = std::function<void(const void* data, size_t size)>;
  void writeTensor(int64_t id, const std::function<void(const Sink&)>& produce);
  // Pads, flushes and fsyncs. Without finish() the destructor just closes the (partial) file.
  void finish();

 private:
  void write(const void* data, size_t size);
  void padTo(uint64_t position);

  std::string path_;
  const gguf_context* ctx_;
  FilePtr file_;
  uint64_t dataStart_ = 0;
  uint64_t position_ = 0;
  size_t alignment_ = GGUF_DEFAULT_ALIGNMENT;
  // paces the writer by the disk, two windows of dirty pages at most (write_behind.h)
  WriteBehind behind_{-1};
  uint64_t nextWindow_ = WriteBehind::kWindow;
};

std::string errnoMessage(const std::string& what, const std::string& path);

// Whether a write to `path` that failed with errno `err` (0 when unknown) ran out of space: the
// errno says so, or the filesystem holding `path` has no block left.
bool noSpaceLeft(const std::string& path, int err);

}  // namespace apreqel
