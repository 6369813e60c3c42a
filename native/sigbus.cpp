// SIGBUS from a memory-mapped input that shrinks while in use (llama.cpp mmaps models for loads and
// for quantization; another process truncates or rewrites the file in place): the next read of a
// page past the new end faults. It cannot be turned into a JS Error safely: the fault can hit any
// thread, inside a ggml kernel holding the thread pool's barrier, and nothing can unwind from there.
// So the handler says what happened, in one line, and lets the default action end the process
// (exit by SIGBUS, as before, but no longer a mystery). Documented in docs/reliability.md.
#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace apreqel {
namespace {

struct sigaction previousAction {};

void onSigbus(int sig, siginfo_t* info, void* context) {
  static const char message[] =
      "\napreqel: SIGBUS: a memory-mapped input file (a model being read) was truncated or rewritten in place "
      "while apreqel was using it; the process cannot continue. Leave models unchanged while apreqel runs.\n";
  ssize_t ignored = ::write(STDERR_FILENO, message, sizeof(message) - 1);
  (void)ignored;
  // hand over to whoever handled SIGBUS before us, else the default action (SA_RESETHAND restored it)
  if (previousAction.sa_flags & SA_SIGINFO) {
    if (previousAction.sa_sigaction != nullptr) previousAction.sa_sigaction(sig, info, context);
  } else if (previousAction.sa_handler != SIG_DFL && previousAction.sa_handler != SIG_IGN && previousAction.sa_handler != nullptr) {
    previousAction.sa_handler(sig);
  } else {
    ::raise(SIGBUS);  // the handler was reset: the kernel ends the process with SIGBUS on return
  }
}

}  // namespace

void installSigbusMessage() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction action {};
  action.sa_sigaction = onSigbus;
  action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &previousAction);
}

}  // namespace apreqel
