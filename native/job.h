// Base class of every slow addon call: a Promise-returning AsyncProgressWorker.
//
// Threading and ownership (sharp's "baton" idea): a derived job copies everything it needs out
// of the JS arguments in its constructor, on the main thread, into plain C++ members. Run()
// executes on a libuv worker thread and never touches a JS value. Result() builds the JS value
// back on the main thread. The worker object is owned and deleted by node-addon-api after
// OnOK/OnError, so members clean themselves up (RAII; no hand-written deletes).
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "log_capture.h"

namespace apreqel {

// Thrown by a job when its AbortSignal fired; turned into an Error with code "ABORT_ERR".
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("the operation was aborted") {}
};

struct Progress {
  double fraction;  // 0..1 of the whole call
};

class Job : public Napi::AsyncProgressWorker<Progress> {
 public:
  // options may hold `onProgress` (function) and `cancelFlag` (Int32Array of length >= 1 that JS
  // sets to 1 with Atomics.store when its AbortSignal fires).
  Job(Napi::Env env, const Napi::Object& options, const char* name);
  ~Job() override = default;

  Napi::Promise Start();

 protected:
  // Runs off the event loop. Throw on failure: the message becomes the JS Error's message.
  virtual void Run() = 0;
  // Builds the resolved value on the main thread.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  bool cancelled() const;
  void throwIfCancelled() const {
    if (cancelled()) throw Cancelled();
  }
  // A ggml_abort_callback over cancelled() (data: the Job): hand it to ContextOptions::abort so a
  // decode stops between graph nodes.
  static bool abortRequested(void* job) { return static_cast<const Job*>(job)->cancelled(); }
  // For a llama_decode that returned non-zero: a cancel, or a failure with llama.cpp's reason.
  [[noreturn]] void throwDecodeFailure(int rc) const;
  void report(double fraction);
  // The last error logged by llama.cpp/ggml on this thread during Run(), or "".
  const std::string& lastLogError() const { return log_.lastError(); }
  // Message for a llama.cpp call that failed with only a log line to explain it.
  std::string withLogReason(const std::string& what) const;
  // This job's log sink (e.g. to keep llama.cpp's informational report of a dry run).
  LogCapture& log() { return log_; }

 private:
  void Execute(const ExecutionProgress& progress) final;
  void OnProgress(const Progress* data, size_t count) final;
  void OnOK() final;
  void OnError(const Napi::Error& e) final;

  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
  Napi::ObjectReference cancelHolder_;  // keeps the flag's buffer alive while we read it
  const int32_t* cancelFlag_ = nullptr;
  const ExecutionProgress* progress_ = nullptr;
  LogCapture log_;
  bool wasCancelled_ = false;
};

// Option readers used by job constructors: they throw a JS TypeError naming the option.
std::string requireString(const Napi::Object& o, const char* key);
std::string optionalString(const Napi::Object& o, const char* key, const std::string& fallback);
int32_t optionalInt(const Napi::Object& o, const char* key, int32_t fallback);
bool optionalBool(const Napi::Object& o, const char* key, bool fallback);
double optionalDouble(const Napi::Object& o, const char* key, double fallback);

}  // namespace apreqel
