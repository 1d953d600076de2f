// Escape tier, the whole battery at once: tests/helpers/escape_all runs every probe of escape_fs,
// escape_kernel, escape_proc and escape_net in ONE default-profile sandbox (what bench/escape.sh runs
// under bubblewrap and firejail for the table in docs/SECURITY.md). Every probe must be BLOCKED except
// the documented known limits.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <set>

#include "escape_util.h"

using namespace airlock::escape;

namespace {

// Probes whose ESCAPED result is a documented known limit (docs/SECURITY.md), not a containment
// failure: memfd_exec runs a memfd copy of /bin/true; airlock reports it (issue 5) but allows it.
const std::set<std::string> kKnownLimits = {"memfd_exec"};

// 17 in escape_fs, 26 in escape_kernel, 9 in escape_proc, 8 in escape_net.
constexpr size_t kProbeCount = 60;

TEST(EscapeAll, EveryProbeIsBlockedInOneRun) {
  HostSecret secret;
  HostSleeper sleeper;
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(tcp, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(tcp, 4), 0);
  socklen_t len = sizeof a;
  getsockname(tcp, reinterpret_cast<sockaddr*>(&a), &len);
  std::string uname = "airlock-escape-all-" + std::to_string(getpid());
  int unix_s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(unix_s, 0);
  sockaddr_un u{};
  u.sun_family = AF_UNIX;
  memcpy(u.sun_path + 1, uname.data(), uname.size());
  ASSERT_EQ(bind(unix_s, reinterpret_cast<sockaddr*>(&u), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + uname.size())), 0);
  ASSERT_EQ(listen(unix_s, 4), 0);

  key_t key = static_cast<key_t>(0x41470000 | (getpid() & 0xffff));
  int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
  int pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  std::string pts = pty >= 0 && grantpt(pty) == 0 && unlockpt(pty) == 0 ? ptsname(pty) : "/dev/pts/0";

  auto params = secret.Params();
  params.push_back("shmkey=" + std::to_string(key));
  params.push_back("ptsnum=" + pts.substr(pts.rfind('/') + 1));
  params.insert(params.end(), {"hostpid=" + std::to_string(sleeper.pid()), "port=" + std::to_string(ntohs(a.sin_port)),
                               "unixname=" + uname, "forks=500", "mb=256"});
  setenv("AIRLOCK_ESCAPE_SECRET", "hunter2-all", 1);
  std::vector<std::string> opts = {"--ro-bind", airlock::test::HelperDir(), "/helpers", "--pids", "64", "--memory", "128m"};
  std::vector<std::string> cmd = {"/helpers/escape_all"};
  cmd.insert(cmd.end(), params.begin(), params.end());
  auto r = airlock::test::RunAirlock(opts, cmd, 300);
  unsetenv("AIRLOCK_ESCAPE_SECRET");
  close(tcp);
  close(unix_s);
  if (shm >= 0) shmctl(shm, IPC_RMID, nullptr);
  if (pty >= 0) close(pty);

  auto probes = ParseProbes(r.out);
  EXPECT_EQ(probes.size(), kProbeCount) << r.out << r.err;
  for (const auto& [name, res] : probes) {
    if (kKnownLimits.count(name)) continue;
    EXPECT_EQ(res.status, "BLOCKED") << name << ": " << res.detail;
  }
  EXPECT_TRUE(sleeper.Alive());
}

}  // namespace
