#include "process/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

namespace airlock::process {
namespace {

using Clock = std::chrono::steady_clock;

// The child side of ForkExec: only async-signal-safe calls. `fds` are the descriptors for 0, 1, 2;
// `death_signal` (with the forking process `parent`) is PR_SET_PDEATHSIG.
[[noreturn]] void ExecChild(char* const* args, const int (&fds)[3], int death_signal, pid_t parent) {
  if (death_signal != 0) {
    // The parent may have died before the prctl: then nothing would ever send the signal.
    if (::prctl(PR_SET_PDEATHSIG, death_signal) != 0 || ::getppid() != parent) _exit(126);
  }
  int src[3];
  // A source that already sits on another standard descriptor would be overwritten by an earlier
  // dup2: move it above 2 first (O_CLOEXEC, so the copy does not reach the program).
  for (int i = 0; i < 3; ++i) {
    src[i] = fds[i];
    if (src[i] == kInherit) continue;
    if (src[i] < 3 && src[i] != i && (src[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0) _exit(126);
  }
  for (int i = 0; i < 3; ++i) {
    if (src[i] == kInherit) continue;
    // dup2 onto itself keeps O_CLOEXEC: clear it instead.
    if (src[i] == i ? ::fcntl(i, F_SETFD, 0) < 0 : ::dup2(src[i], i) < 0) _exit(126);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  ::execv(args[0], args);
  _exit(127);
}

// Blocks SIGPIPE in this thread while we write to a child's stdin; a SIGPIPE our write raised is
// consumed before the mask is restored (the write itself reports EPIPE).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~SigpipeBlock() {
    if (!sigismember(&old_, SIGPIPE)) {
      sigset_t pending, pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        timespec zero{};
        while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t old_;
};

struct Sink {
  UniqueFd fd;
  std::string* dst = nullptr;
  size_t cap = 0;
};

struct Source {
  UniqueFd fd;
  std::string_view data;
};

// Writes what the pipe takes now; closes it when done or when the reader is gone.
void WriteSome(Source& in) {
  ssize_t n = ::write(in.fd.get(), in.data.data(), std::min<size_t>(in.data.size(), 65536));
  if (n > 0) in.data.remove_prefix(static_cast<size_t>(n));
  if ((n < 0 && errno != EINTR && errno != EAGAIN) || in.data.empty()) in.fd.reset();
}

// Reads once; closes at EOF or error. Bytes past the cap are dropped.
void ReadSome(Sink& s) {
  char buf[65536];
  ssize_t n = ::read(s.fd.get(), buf, sizeof buf);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    s.fd.reset();
    return;
  }
  if (s.dst->size() < s.cap) s.dst->append(buf, std::min(static_cast<size_t>(n), s.cap - s.dst->size()));
}

// When the child is killed: the deadline, or the end of the grace after an interruption.
std::optional<Clock::time_point> KillAt(const SpawnOptions& o, std::optional<Clock::time_point> grace_end) {
  if (o.deadline && grace_end) return std::min(*o.deadline, *grace_end);
  return grace_end ? grace_end : o.deadline;
}

// poll's timeout until the earlier of the kill and the next tick (-1: none).
int PollTimeoutMs(const SpawnOptions& o, std::optional<Clock::time_point> kill_at, Clock::time_point next_tick) {
  std::optional<Clock::time_point> until = kill_at;
  if (o.on_tick) until = until ? std::min(*until, next_tick) : next_tick;
  if (!until) return -1;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

// Moves data until every pipe is closed, or kills the child at the deadline (or at the end of the
// grace an interruption gave it).
void Pump(pid_t pid, Source& in, Sink (&sinks)[2], const SpawnOptions& o, SpawnResult& r) {
  auto next_tick = Clock::now() + o.tick_interval;
  std::optional<Clock::time_point> grace_end;
  while (in.fd || sinks[0].fd || sinks[1].fd) {
    auto now = Clock::now();
    const auto kill_at = KillAt(o, grace_end);
    if (kill_at && now >= *kill_at) {
      ::kill(pid, SIGKILL);
      r.timed_out = o.deadline && now >= *o.deadline;
      return;
    }
    if (o.on_tick && now >= next_tick) {
      o.on_tick();
      next_tick = now + o.tick_interval;
    }
    pollfd p[4] = {{in.fd.get(), POLLOUT, 0}, {sinks[0].fd.get(), POLLIN, 0}, {sinks[1].fd.get(), POLLIN, 0},
                   {r.interrupted ? -1 : o.interrupt_fd, POLLIN, 0}};
    int ready = ::poll(p, 4, PollTimeoutMs(o, kill_at, next_tick));
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    if (p[3].revents & (POLLIN | POLLERR | POLLHUP)) {
      ::kill(pid, o.interrupt_signal);
      r.interrupted = true;
      grace_end = Clock::now() + o.interrupt_grace;
    }
    if (in.fd && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) WriteSome(in);
    for (int i = 0; i < 2; ++i) {
      if (sinks[i].fd && (p[i + 1].revents & (POLLIN | POLLERR | POLLHUP))) ReadSome(sinks[i]);
    }
  }
}

// A pipe when `wanted`, else nothing; an error only when pipe2 fails.
Result<std::optional<Pipe>> MaybePipe(bool wanted) {
  if (!wanted) return std::optional<Pipe>();
  auto p = MakePipe();
  if (!p) return std::unexpected(std::move(p.error()));
  return std::optional<Pipe>(std::move(*p));
}

}  // namespace

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<pid_t> ForkExec(const std::vector<std::string>& argv, const ChildStdio& stdio, int parent_death_signal) {
  if (argv.empty() || argv[0].empty()) return MakeError("spawn: no program");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return ErrnoError("spawn " + argv[0] + ": open /dev/null");
  auto pick = [&null](int fd) { return fd >= 0 || fd == kInherit ? fd : null.get(); };
  const int fds[3] = {pick(stdio.in), pick(stdio.out), pick(stdio.err)};
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("spawn " + argv[0] + ": fork");
  if (pid == 0) ExecChild(args.data(), fds, parent_death_signal, parent);
  return pid;
}

int WaitExitCode(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Result<SpawnResult> SpawnAndCapture(const std::vector<std::string>& argv, const SpawnOptions& o) {
  auto in = MaybePipe(o.stdin_data.has_value());
  auto out = MaybePipe(o.capture_stdout);
  auto err = MaybePipe(o.capture_stderr);
  for (auto* p : {&in, &out, &err}) {
    if (!*p) return std::unexpected(std::move(p->error()).WithContext("spawn " + (argv.empty() ? "" : argv[0])));
  }
  ChildStdio stdio{*in ? (*in)->read.get() : o.stdin_fd, *out ? (*out)->write.get() : -1, *err ? (*err)->write.get() : -1};
  auto pid = ForkExec(argv, stdio, o.kill_with_caller ? SIGKILL : 0);
  if (!pid) return std::unexpected(std::move(pid.error()));  // every pipe end closes with its UniqueFd
  SpawnResult r;
  Source source;
  Sink sinks[2];
  if (*in) {
    (*in)->read.reset();
    source = {std::move((*in)->write), *o.stdin_data};
    if (source.data.empty()) source.fd.reset();
  }
  if (*out) {
    (*out)->write.reset();
    sinks[0] = {std::move((*out)->read), &r.out, o.stdout_cap};
  }
  if (*err) {
    (*err)->write.reset();
    sinks[1] = {std::move((*err)->read), &r.err, o.stderr_cap};
  }
  {
    std::optional<SigpipeBlock> block;
    if (source.fd) block.emplace();
    Pump(*pid, source, sinks, o, r);
  }
  source.fd.reset();
  sinks[0].fd.reset();
  sinks[1].fd.reset();
  r.exit_code = WaitExitCode(*pid);
  return r;
}

std::string FindSystemProgram(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

}  // namespace airlock::process
