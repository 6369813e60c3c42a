// llama.cpp and ggml report most failures only through their log callback. One process-wide
// handler (installed at module load) routes each line to the LogCapture of the job running on
// the logging thread, so a JS Error can say *why* a call failed. Nothing is printed unless
// APREQEL_LLAMA_LOG=1 is set.
#pragma once

#include <string>
#include <vector>

namespace apreqel {

class LogCapture {
 public:
  // Makes `capture` the sink of the current thread for the scope's lifetime.
  class Scope {
   public:
    explicit Scope(LogCapture& capture);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    LogCapture* previous_;
  };

  const std::string& lastError() const { return lastError_; }
  void add(int level, const char* text);
  // Also keep every informational text as it arrives (a dry run's per-tensor report is only logged).
  void keepInfo() { keepInfo_ = true; }
  const std::vector<std::string>& info() const { return info_; }

 private:
  bool keepInfo_ = false;
  std::vector<std::string> info_;
  std::string lastError_;
  std::string pending_;  // a line may arrive in pieces (GGML_LOG_LEVEL_CONT)
  int pendingLevel_ = 0;
};

void installLogHandler();

}  // namespace apreqel
