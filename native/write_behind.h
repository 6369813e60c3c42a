// Write-behind for the big files the addon writes (uniform quantizations, mixes: gigabytes).
//
// Why: the kernel starts writing dirty pages back only past a share of all memory (dirty_background,
// ~10% of RAM) or after ~30 s. Inside a memory cgroup smaller than that (a container, a Jetson's
// shared memory, test/native/memory-limit.test.ts's 96 MiB), without the io controller the group's
// dirty pages are not throttled on their own: they pile up until the group's limit, and reclaim then
// waits on their writeback. With the flusher starved of CPU (a busy machine) that wait is long enough
// for the OOM killer. Writing back as we go keeps the dirty share to two windows whatever the
// machine's load: each window is handed to writeback as soon as it is complete, and the one before
// it is waited for (the writer is paced by the disk, as it would be by dirty throttling).
//
// Two ways in: our own writers call `advance` with their position (paced in their thread); a writer
// we do not own (llama.cpp's quantizer, an ofstream) is followed by a WriteBehindWatcher thread that
// reads the file's size. Off Linux (no sync_file_range) both do nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace apreqel {

class WriteBehind {
 public:
  static constexpr uint64_t kWindow = 8ull << 20;

  // `fd`: any descriptor of the file being written (writeback works on the file's pages).
  explicit WriteBehind(int fd) : fd_(fd) {}
  // The file now holds `size` bytes written in order: hand every complete window to writeback and
  // wait for the one before. Errors are ignored: this only paces, the writer reports failures.
  void advance(uint64_t size);

 private:
  int fd_;
  uint64_t started_ = 0;  // windows below this are handed to writeback
  uint64_t waited_ = 0;   // windows below this are clean
};

// Follows a file another writer fills (by its size, every few ms) until destroyed.
class WriteBehindWatcher {
 public:
  explicit WriteBehindWatcher(const std::string& path);
  ~WriteBehindWatcher();
  WriteBehindWatcher(const WriteBehindWatcher&) = delete;
  WriteBehindWatcher& operator=(const WriteBehindWatcher&) = delete;

 private:
  void loop();
  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace apreqel
