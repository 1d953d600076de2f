// Escape tier, shared host quotas (tests/helpers/escape_quota.c): a sandbox that spends every per-user
// counter it can (inotify instances and watches, user namespaces, POSIX message queues) must stop at
// its own share (ucount/ucount.h) and leave the host (this test process) and a second, concurrent
// sandbox able to create each of them; its user namespace is owned by its outside uid, not by root
// (userns.h). Root and user tier, cold and warm. The sandboxes allow @namespaces back and run without
// Landlock, so that the counters' own bounds are what stops them (in the default the filter refuses
// unshare first, and Landlock refuses mq_open: the queue is a file outside the allowed tree).
// The host controls show each probe sees an excess, without exhausting the host (max = share + 1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "escape_pool.h"
#include "escape_util.h"

using namespace airlock::escape;

namespace {

long ReadLong(const std::string& path) { return std::atol(airlock::test::ReadFileOrEmpty(path).c_str()); }

// The shares docs/LIMITS.md documents, computed from this host's limits as airlock does.
std::vector<std::string> ShareParams() {
  long instances = std::min(32L, ReadLong("/proc/sys/user/max_inotify_instances") / 4);
  long watches = std::min(8192L, ReadLong("/proc/sys/user/max_inotify_watches") / 4);
  struct rlimit mq {};
  getrlimit(RLIMIT_MSGQUEUE, &mq);
  return {"share_instances=" + std::to_string(instances), "share_watches=" + std::to_string(watches),
          "share_userns=16", "share_mq=" + std::to_string(mq.rlim_cur / 4)};
}

long ParamOf(const std::vector<std::string>& params, const std::string& key) {
  for (const auto& p : params)
    if (p.rfind(key + "=", 0) == 0) return std::atol(p.c_str() + key.size() + 1);
  return -1;
}

long Created(const ProbeResult& p) {
  auto at = p.detail.find("created=");
  return at == std::string::npos ? -1 : std::atol(p.detail.c_str() + at + 8);
}

const char* const kProbes[] = {"inotify_watches", "inotify_instances", "userns", "mqueue"};

// A sandbox that holds what it created until its stdin closes.
class HoldingSandbox {
 public:
  explicit HoldingSandbox(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~HoldingSandbox() { Release(); }
  // Reads its output until "HOLDING" (true) or EOF/timeout (false).
  bool WaitHolding(int timeout_ms = 120000) {
    char buf[4096];
    for (int waited = 0; out_.find("HOLDING") == std::string::npos && waited < timeout_ms; waited += 100) {
      pollfd p = {stdout_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = read(stdout_, buf, sizeof buf);
      if (n <= 0) return false;
      out_.append(buf, static_cast<size_t>(n));
    }
    return out_.find("HOLDING") != std::string::npos;
  }
  void Release() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (stdout_ >= 0) close(stdout_);
    stdout_ = -1;
  }
  airlock::test::RunResult Result() const { return {0, out_, ""}; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::string out_;
};

// This process can still create one of each: the host is untouched by the sandbox's spending.
void ExpectHostCanCreate(const std::string& what) {
  int fd = inotify_init1(IN_CLOEXEC);
  EXPECT_GE(fd, 0) << what << ": inotify_init1 on the host: " << strerror(errno);
  if (fd >= 0) {
    EXPECT_GE(inotify_add_watch(fd, "/", IN_ATTRIB), 0) << what << ": inotify_add_watch on the host: " << strerror(errno);
    close(fd);
  }
  std::string name = "/airlock-escape-host-" + std::to_string(getpid());
  mq_attr attr{0, 1, 4096, 0, {}};
  mqd_t q = mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
  EXPECT_NE(q, static_cast<mqd_t>(-1)) << what << ": mq_open on the host: " << strerror(errno);
  if (q != static_cast<mqd_t>(-1)) {
    mq_close(q);
    mq_unlink(name.c_str());
  }
  pid_t pid = fork();
  if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << what << ": unshare(CLONE_NEWUSER) on the host: "
                                                     << strerror(WEXITSTATUS(st));
}

class EscapeQuota : public ::testing::TestWithParam<bool> {};

TEST_P(EscapeQuota, ASandboxSpendsOnlyItsShare) {
  const bool warm = GetParam();
  WarmPool pool("[seccomp]\nallow = [\"@namespaces\"]\n[landlock]\nmode = \"disabled\"\n");
  ASSERT_TRUE(pool.Ready()) << pool.Log();
  auto params = ShareParams();
  auto hold_params = params;
  hold_params.push_back("hold=1");
  std::vector<std::string> argv = pool.RunArgv("escape_quota", "all", hold_params);
  if (!warm) argv.erase(argv.begin() + 4, argv.begin() + 6);  // "--pool required": cold, same profile
  if (warm) setenv("AIRLOCK_POOL_SOCKET", pool.socket().c_str(), 1);
  HoldingSandbox first(argv);
  ASSERT_TRUE(first.WaitHolding()) << first.Result().out << pool.Log();
  for (const char* p : kProbes) {
    EXPECT_PROBE_BLOCKED(first.Result(), p);
    EXPECT_GE(Created(Find(first.Result(), p)), 1) << p;
  }
  EXPECT_PROBE_BLOCKED(first.Result(), "ns_owner");

  ExpectHostCanCreate(warm ? "warm" : "cold");
  // A second sandbox, while the first one holds its share.
  auto second_argv = pool.RunArgv("escape_quota", "all", params);
  if (!warm) second_argv.erase(second_argv.begin() + 4, second_argv.begin() + 6);
  auto second = airlock::test::Run(second_argv, "", 120);
  unsetenv("AIRLOCK_POOL_SOCKET");
  for (const char* p : kProbes) {
    EXPECT_PROBE_BLOCKED(second, p);
    EXPECT_GE(Created(Find(second, p)), 1) << p << ": the second sandbox could not create one\n" << second.out << second.err;
  }
  first.Release();
  if (warm) {
    EXPECT_NE(pool.Log().find("serves pid"), std::string::npos) << pool.Log();
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, EscapeQuota, ::testing::Values(false, true),
                         [](const auto& p) { return std::string(p.param ? "Warm" : "Cold"); });

// Controls: on the host, each probe sees more than a sandbox's share (stopping at share + 1).
TEST(EscapeQuotaHost, ControlsSeeAnExcess) {
  auto params = ShareParams();
  const std::pair<const char*, const char*> shares[] = {
      {"inotify_instances", "share_instances"}, {"inotify_watches", "share_watches"}, {"userns", "share_userns"}};
  for (const auto& [probe, key] : shares) {
    auto p = params;
    p.push_back("max=" + std::to_string(ParamOf(params, key) + 1));
    EXPECT_PROBE_ESCAPED(RunOnHost("escape_quota", probe, p), probe);
  }
  auto p = params;
  p.push_back("max=" + std::to_string(ParamOf(params, "share_mq") / 4096 + 1));
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_quota", "mqueue", p), "mqueue");
}

}  // namespace
