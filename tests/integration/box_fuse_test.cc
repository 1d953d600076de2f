// `airlock box` with the fuse-overlayfs driver (docs/BOXES.md, "Where the kernel has no overlayfs in
// user namespaces"), forced with `box create --overlay fuse` on a kernel that would not need it: the
// box tests' core scenario (create, a run that adds, changes and deletes, the exact listing, discard,
// commit) and what the daemon can reach. Runs as root (integration.root: the layers are idmapped) and
// as uid 65534 (integration.user). Skips loudly without fuse-overlayfs or a /dev/fuse the sandbox user
// can open (scripts/install-deps.sh installs the one and sets the other's mode).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "box_fixture.h"
#include "test_env.h"

using namespace airlock::test;

namespace {

// Why fuse-overlayfs cannot serve this user's boxes here ("" = it can), as `airlock check` says it.
std::string FuseSkipReason() {
  if (::access("/usr/bin/fuse-overlayfs", X_OK) != 0) return "SKIPPED LOUDLY: fuse-overlayfs is not installed (apt-get install fuse-overlayfs)";
  struct stat st {};
  if (::stat("/dev/fuse", &st) != 0) return "SKIPPED LOUDLY: no /dev/fuse (modprobe fuse)";
  const bool usable = IsRoot() ? (st.st_mode & 0006) == 0006 : ::access("/dev/fuse", R_OK | W_OK) == 0;
  if (!usable) return "SKIPPED LOUDLY: /dev/fuse is not open to the sandbox user (as root: chmod 0666 /dev/fuse)";
  return "";
}

class BoxFuse : public BoxFixture {
 protected:
  void SetUp() override {
    if (std::string why = FuseSkipReason(); !why.empty()) GTEST_SKIP() << why;
    BoxFixture::SetUp();
  }
  void Create(const std::string& name) {
    auto r = BoxCmd({"create", name, "--overlay", "fuse", "--over", tree_ + ":/data"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

TEST_F(BoxFuse, ChangesStayInTheBoxAndTheListingNamesThem) {
  Create("f1");
  auto meta = nlohmann::json::parse(ReadFileOrEmpty(store_ + "/f1/box.json"), nullptr, false);
  EXPECT_EQ(meta.value("overlay", ""), "fuse") << meta.dump();
  const std::string before = Snapshot();
  auto r = BoxCmd({"run", "f1", "--", "/bin/sh", "-c", kScript + " && grep ' /data ' /proc/self/mountinfo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("orig\nchanged\n")) << r.out;
  EXPECT_NE(r.out.find("fuse.fuse-overlayfs"), std::string::npos) << "not a fuse-overlayfs mount: " << r.out;
  EXPECT_NE(r.out.find("nosuid,nodev"), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(), before) << "a box run changed the host";

  auto d = BoxCmd({"diff", "f1"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, kListing);
  // A second run sees the first one's changes, and a deletion stays deleted.
  r = BoxCmd({"run", "f1", "--", "/bin/sh", "-c", "cat /data/a /data/new; ls /data/sub | wc -l; ls -A /data/gone /data/d"});
  EXPECT_EQ(r.out, "orig\nchanged\nnew\n0\n/data/d:\n\n/data/gone:\nx\n") << r.err;
  EXPECT_EQ(BoxCmd({"diff", "f1"}).out, kListing);
}

TEST_F(BoxFuse, DiscardThenCommitLeaveAnEmptyBox) {
  Create("f2");
  ASSERT_EQ(BoxCmd({"run", "f2", "--", "/bin/sh", "-c", kScript}).exit_code, 0);
  auto r = BoxCmd({"discard", "f2", "/data/sub/b", "/data/gone"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(BoxCmd({"diff", "f2"}).out, "C /data/a (file, 13 B)\nA /data/d (dir)\nA /data/new (file, 4 B)\n");
  r = BoxCmd({"run", "f2", "--", "/bin/cat", "/data/sub/b", "/data/gone/c"});
  EXPECT_EQ(r.out, "keep\nc\n") << r.err;

  r = BoxCmd({"commit", "f2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("3 path(s) committed"), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(), "/a = orig\nchanged\n\n/d /\n/gone /\n/gone/c = c\n\n/new = new\n\n/sub /\n/sub/b = keep\n\n");
  r = BoxCmd({"diff", "f2"});
  EXPECT_EQ(r.out, "") << r.err;
  // The committed directories left the box with fuse-overlayfs's opaque markers; what stays is the
  // merged directory sub/ the deletion copied up, unchanged (as with the kernel's overlay).
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::recursive_directory_iterator(store_ + "/f2/layers/0/upper")) {
    left.push_back(e.path().string().substr(store_.size()));
  }
  EXPECT_EQ(left, std::vector<std::string>{"/f2/layers/0/upper/sub"});

  r = BoxCmd({"discard", "f2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(BoxCmd({"rm", "f2"}).exit_code, 0);
}

// What the payload sees of the daemon: a process of its own uid with no capability, no_new_privs and a
// seccomp filter, rooted in the sandbox's tree, whose lower tree is read-only and whose layer directory
// leads nowhere above it (".." of a detached clone's root is the root).
TEST_F(BoxFuse, TheDaemonReachesNothingButItsLayers) {
  Create("f3");
  const std::string script =
      "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = fuse-overlayfs ] && d=$p; done; "
      "[ -n \"$d\" ] || { echo no-daemon; exit 3; }; "
      "grep -E '^(CapEff|CapPrm|NoNewPrivs|Seccomp)' $d/status | tr -s '\\t' ' '; "
      "echo root=$(readlink $d/root) cwd=$(readlink $d/cwd); "
      "for f in $d/fd/*; do [ -d $f ] || continue; touch $f/zz-probe 2>/dev/null; ls -A $f/.. 2>/dev/null; done; "
      "echo done";
  auto r = BoxCmd({"run", "f3", "--", "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("CapPrm: 0000000000000000\nCapEff: 0000000000000000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs: 1\n"), std::string::npos) << r.out;
  // Its own seccomp filter (the default allow-list): the payload may write its memory where Landlock
  // does not separate them (--landlock disabled, kernels without it), and gains no syscall by that.
  EXPECT_NE(r.out.find("Seccomp: 2\n"), std::string::npos) << r.out;
  // Its root and cwd are the sandbox's (where /proc lets the payload read them at all).
  EXPECT_TRUE(r.out.find("root=/ cwd=/\n") != std::string::npos || r.out.find("root= cwd=\n") != std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done\n"), std::string::npos) << r.out;
  // Through its descriptors (where /proc lets the payload open them), the host tree is read-only and
  // nothing above the layer directory or the host tree's root is reachable: no "tree" or "store" of
  // the test's directory, no "layers" of the box.
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/zz-probe")) << "the host tree was written through the daemon";
  EXPECT_EQ(r.out.find("store"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tree"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("layers"), std::string::npos) << r.out;
}

// `airlock check` names both drivers.
TEST_F(BoxFuse, CheckReportsBothDrivers) {
  auto r = airlock::test::Run({AirlockBin(), "check", "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j["checks"].is_array()) << r.out << r.err;
  bool kernel = false, fuse = false;
  for (const auto& item : j["checks"]) {
    if (item.value("name", "") == "overlayfs in user namespaces") kernel = true;
    if (item.value("name", "") == "fuse-overlayfs") fuse = item.value("ok", false);
  }
  EXPECT_TRUE(kernel) << r.out;
  EXPECT_TRUE(fuse) << "fuse-overlayfs usable here, yet `airlock check` says otherwise: " << r.out;
}

}  // namespace
