#include "log_capture.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ggml.h"
#include "llama.h"

namespace apreqel {

static thread_local LogCapture* current = nullptr;
static bool echo = false;

LogCapture::Scope::Scope(LogCapture& capture) : previous_(current) { current = &capture; }
LogCapture::Scope::~Scope() { current = previous_; }

static std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n=");
  size_t e = s.find_last_not_of(" \t\r\n=");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

void LogCapture::add(int level, const char* text) {
  if (keepInfo_ && (level == GGML_LOG_LEVEL_INFO || level == GGML_LOG_LEVEL_CONT)) info_.emplace_back(text);
  if (level != GGML_LOG_LEVEL_CONT) {
    pending_.clear();
    pendingLevel_ = level;
  }
  pending_ += text;
  if (pendingLevel_ == GGML_LOG_LEVEL_ERROR) {
    // keep the last non-empty error line, without llama.cpp's "func: " prefix decorations
    std::string line = trim(pending_);
    size_t nl = line.find_last_of('\n');
    if (nl != std::string::npos) line = trim(line.substr(nl + 1));
    // drop llama.cpp's "function_name: " prefixes: the caller names the operation itself
    while (true) {
      size_t colon = line.find(": ");
      if (colon == std::string::npos || colon == 0) break;
      bool ident = true;
      for (size_t i = 0; i < colon; ++i) {
        char c = line[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) ident = false;
      }
      if (!ident) break;
      line = line.substr(colon + 2);
    }
    // llama.cpp follows the specific reason with generic wrap-up lines ("failed to read tensor
    // info", "failed to load model"): keep the reason when one was already logged.
    const std::string loading = "error loading model: ";
    if (line.compare(0, loading.size(), loading) == 0) line = line.substr(loading.size());
    // "failed to X: reason" carries its reason: keep that part
    if (line.compare(0, 10, "failed to ") == 0 && line.find(": ") != std::string::npos) line = line.substr(line.find(": ") + 2);
    const bool generic = line.compare(0, 10, "failed to ") == 0 && line.find("failed to open") != 0;
    if (!line.empty() && !(generic && !lastError_.empty())) lastError_ = line;
  }
}

static void onLog(enum ggml_log_level level, const char* text, void*) {
  if (echo) fputs(text, stderr);
  if (current != nullptr && text != nullptr) current->add(level, text);
}

void installLogHandler() {
  const char* env = std::getenv("APREQEL_LLAMA_LOG");
  echo = env != nullptr && std::strcmp(env, "1") == 0;
  llama_log_set(onLog, nullptr);
}

}  // namespace apreqel
