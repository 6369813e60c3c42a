// See write_behind.h for why.
#include "write_behind.h"

#include <chrono>

#if defined(__linux__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace apreqel {

void WriteBehind::advance(uint64_t size) {
#if defined(__linux__)
  if (fd_ < 0) return;
  while (started_ + kWindow <= size) {
    sync_file_range(fd_, static_cast<off64_t>(started_), static_cast<off64_t>(kWindow), SYNC_FILE_RANGE_WRITE);
    started_ += kWindow;
  }
  // every window but the newest one handed over is waited for: at most two windows are dirty or in flight
  while (waited_ + kWindow < started_) {
    sync_file_range(fd_, static_cast<off64_t>(waited_), static_cast<off64_t>(kWindow),
                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    waited_ += kWindow;
  }
#else
  (void)size;
#endif
}

WriteBehindWatcher::WriteBehindWatcher(const std::string& path) : path_(path) {
#if defined(__linux__)
  thread_ = std::thread([this] { loop(); });
#endif
}

WriteBehindWatcher::~WriteBehindWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WriteBehindWatcher::loop() {
#if defined(__linux__)
  int fd = -1;
  WriteBehind behind(-1);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    // the file is there before the job starts (a temp made beside the output); open it once
    if (fd < 0) {
      fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) behind = WriteBehind(fd);
    }
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0) {
      lock.unlock();  // the wait on writeback must not hold up the destructor's stop
      behind.advance(static_cast<uint64_t>(st.st_size));
      lock.lock();
    }
    wake_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stop_; });
  }
  if (fd >= 0) ::close(fd);
#endif
}

}  // namespace apreqel
