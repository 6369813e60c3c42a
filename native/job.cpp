#include "job.h"

namespace apreqel {

Job::Job(Napi::Env env, const Napi::Object& options, const char* name)
    : Napi::AsyncProgressWorker<Progress>(env, name), deferred_(Napi::Promise::Deferred::New(env)) {
  Napi::Value cb = options.Get("onProgress");
  if (cb.IsFunction()) onProgress_ = Napi::Persistent(cb.As<Napi::Function>());
  Napi::Value flag = options.Get("cancelFlag");
  if (flag.IsTypedArray() && flag.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    auto arr = flag.As<Napi::Int32Array>();
    if (arr.ElementLength() >= 1) {
      cancelHolder_ = Napi::Persistent(arr.As<Napi::Object>());
      cancelFlag_ = arr.Data();
    }
  }
}

Napi::Promise Job::Start() {
  Napi::Promise promise = deferred_.Promise();
  Queue();
  return promise;
}

bool Job::cancelled() const {
  return cancelFlag_ != nullptr && __atomic_load_n(cancelFlag_, __ATOMIC_RELAXED) != 0;
}

void Job::report(double fraction) {
  if (progress_ != nullptr && !onProgress_.IsEmpty()) {
    Progress p{fraction};
    progress_->Send(&p, 1);  // non-blocking; only the latest value is delivered
  }
}

void Job::throwDecodeFailure(int rc) const {
  throwIfCancelled();  // rc 2: aborted through abortRequested
  throw std::runtime_error(withLogReason("llama_decode failed (" + std::to_string(rc) + ")"));
}

std::string Job::withLogReason(const std::string& what) const {
  const std::string& reason = lastLogError();
  return reason.empty() ? what : what + ": " + reason;
}

void Job::Execute(const ExecutionProgress& progress) {
  progress_ = &progress;
  LogCapture::Scope scope(log_);
  try {
    Run();
  } catch (const Cancelled& e) {
    wasCancelled_ = true;
    SetError(e.what());
  } catch (const std::exception& e) {
    SetError(e.what());
  } catch (...) {
    SetError(withLogReason("unknown native error"));
  }
  progress_ = nullptr;
}

void Job::OnProgress(const Progress* data, size_t count) {
  if (count == 0 || onProgress_.IsEmpty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    onProgress_.Call({Napi::Number::New(env, data[count - 1].fraction)});
  } catch (const Napi::Error&) {
    // runJob (lib/native/job.ts) wraps the caller's callback so that it never throws: it keeps the
    // exception, stops the call through the cancel flag and rejects with it. Only a direct caller
    // of the raw binding gets here; the call must not go down for it.
  }
}

void Job::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (const std::exception& e) {
    deferred_.Reject(Napi::Error::New(env, e.what()).Value());
  }
}

void Job::OnError(const Napi::Error& e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Error err = Napi::Error::New(env, e.Message());
  if (wasCancelled_) {
    err.Set("code", Napi::String::New(env, "ABORT_ERR"));
    err.Set("name", Napi::String::New(env, "AbortError"));
  }
  deferred_.Reject(err.Value());
}

static Napi::Value get(const Napi::Object& o, const char* key) { return o.Get(key); }

std::string requireString(const Napi::Object& o, const char* key) {
  Napi::Value v = get(o, key);
  if (!v.IsString()) {
    throw Napi::TypeError::New(o.Env(), std::string("expected a string for option ") + key);
  }
  return v.As<Napi::String>().Utf8Value();
}

std::string optionalString(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = get(o, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  return requireString(o, key);
}

int32_t optionalInt(const Napi::Object& o, const char* key, int32_t fallback) {
  Napi::Value v = get(o, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("expected a number for option ") + key);
  return v.As<Napi::Number>().Int32Value();
}

bool optionalBool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = get(o, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("expected a boolean for option ") + key);
  return v.As<Napi::Boolean>().Value();
}

double optionalDouble(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = get(o, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("expected a number for option ") + key);
  return v.As<Napi::Number>().DoubleValue();
}

}  // namespace apreqel
