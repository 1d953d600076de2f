// The parent side of the sandbox filesystem (src/mount/mount_plan.h): the skeleton first and in a fixed
// order, the policy's mounts after it in policy order, destinations normalised and checked, symlink
// sources recreated (never followed), optional sources skipped, device nodes only through --dev-bind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "mount/mount_plan.h"
#include "test_env.h"

using namespace airlock;

namespace {

IdMapping RootIds() {
  IdMapping ids;
  ids.outside_uid = ids.outside_gid = 65534;
  ids.caller_is_root = true;
  return ids;
}

IdMapping UserIds() {
  IdMapping ids;
  ids.inside_uid = 1000;
  ids.inside_gid = 1001;
  ids.outside_uid = 1000;
  ids.outside_gid = 1001;
  return ids;
}

MountEntry Entry(MountEntry::Kind kind, std::string src, std::string dst, bool optional = false) {
  MountEntry e;
  e.kind = kind;
  e.src = std::move(src);
  e.dst = std::move(dst);
  e.optional = optional;
  e.origin = "test line 1";
  return e;
}

// The plan with no skeleton besides /tmp and $HOME (which are always there) and the generated files.
Policy Bare() {
  Policy p;
  p.mount_proc = false;
  p.mount_dev = false;
  return p;
}

std::vector<std::string> Dsts(const MountPlan& plan) {
  std::vector<std::string> v;
  for (const auto& op : plan.ops) v.push_back(op.dst);
  return v;
}

const MountOp* Find(const MountPlan& plan, const std::string& dst) {
  for (const auto& op : plan.ops)
    if (op.dst == dst) return &op;
  return nullptr;
}

class MountPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = airlock::test::MakeTempDir("mount-plan");
    std::filesystem::create_directories(dir_ + "/data");
    airlock::test::WriteFile(dir_ + "/file.txt", "x");
    std::filesystem::create_symlink("usr/bin", dir_ + "/link");
    std::filesystem::create_directories(dir_ + "/usr/bin");  // what "link" points at
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

}  // namespace

TEST_F(MountPlanTest, SkeletonComesFirstInAFixedOrder) {
  Policy p;  // proc and dev on
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  std::vector<std::string> dsts = Dsts(*plan);
  // The /dev nodes present on this host sit between /dev and /dev/pts; leave them out of the order check.
  std::vector<std::string> order;
  for (const auto& d : dsts)
    if (d.rfind("/dev/", 0) != 0 || d == "/dev/pts" || d == "/dev/ptmx" || d == "/dev/shm") order.push_back(d);
  std::vector<std::string> want = {"/proc", "/dev", "/dev/pts", "/dev/ptmx", "/dev/shm", "/tmp", "/home/sandbox",
                                   "/etc/passwd", "/etc/group", "/etc/hosts"};
  EXPECT_EQ(order, want);
  EXPECT_EQ(plan->ops[0].kind, MountOp::Kind::kProc);
  const MountOp* dev = Find(*plan, "/dev");
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->kind, MountOp::Kind::kTmpfs);
  EXPECT_TRUE(dev->noexec);
  const MountOp* null = Find(*plan, "/dev/null");
  ASSERT_TRUE(null) << "every test host has /dev/null";
  EXPECT_EQ(null->kind, MountOp::Kind::kBind);
  EXPECT_TRUE(null->keep_dev);
  EXPECT_FALSE(null->src_is_dir);
  EXPECT_EQ(null->src, "/dev/null");
  const MountOp* ptmx = Find(*plan, "/dev/ptmx");
  ASSERT_TRUE(ptmx);
  EXPECT_EQ(ptmx->kind, MountOp::Kind::kSymlink);
  EXPECT_EQ(ptmx->src, "pts/ptmx");
  EXPECT_EQ(Find(*plan, "/dev/fd")->src, "/proc/self/fd");
  EXPECT_EQ(Find(*plan, "/dev/pts")->kind, MountOp::Kind::kDevpts);
  EXPECT_EQ(plan->src_fds.size(), plan->ops.size());
  EXPECT_TRUE(std::all_of(plan->src_fds.begin(), plan->src_fds.end(), [](int fd) { return fd == -1; }));
  EXPECT_FALSE(plan->root_options.empty());
}

TEST_F(MountPlanTest, SkeletonOptionsCarryTheInsideIds) {
  Policy p = Bare();
  p.tmp_size = "32m";
  auto plan = BuildMountPlan(p, UserIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_EQ(Dsts(*plan), (std::vector<std::string>{"/tmp", "/home/sandbox", "/etc/passwd", "/etc/group", "/etc/hosts"}));
  EXPECT_EQ(Find(*plan, "/tmp")->options, "mode=1777,uid=1000,gid=1001,size=33554432,nr_inodes=65536");
  EXPECT_EQ(Find(*plan, "/home/sandbox")->options, "mode=0700,uid=1000,gid=1001,size=268435456,nr_inodes=65536");
  EXPECT_EQ(Find(*plan, "/etc/passwd")->src,
            "root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1001:sandbox:/home/sandbox:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  EXPECT_EQ(Find(*plan, "/etc/group")->src, "root:x:0:\nsandbox:x:1001:\nnogroup:x:65534:\n");
  // Root inside: no "sandbox" user.
  auto root = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(root);
  EXPECT_EQ(Find(*root, "/etc/passwd")->src.find("sandbox:"), std::string::npos);
  EXPECT_EQ(Find(*root, "/etc/group")->src, "root:x:0:\nnogroup:x:65534:\n");
}

// Every tmpfs has a size and an inode limit (an inode flood ends with ENOSPC, not in the host's slab);
// an unsized tmpfs entry is as big as /tmp, never the kernel's default of half the RAM.
TEST_F(MountPlanTest, EveryTmpfsHasASizeAndAnInodeLimit) {
  Policy p;  // with /dev (and /dev/shm)
  p.tmp_size = "8m";
  p.shm_size = "4m";
  p.home_size = "2m";
  p.tmpfs_inodes = 500;
  p.mounts = {Entry(MountEntry::Kind::kTmpfs, "", "/scratch"), Entry(MountEntry::Kind::kTmpfs, "", "/sized")};
  p.mounts[1].size_bytes = 1 << 20;
  auto plan = BuildMountPlan(p, UserIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_EQ(plan->root_options, "mode=0755,size=16777216,nr_inodes=16384");
  for (const MountOp& op : plan->ops) {
    if (op.kind != MountOp::Kind::kTmpfs) continue;
    EXPECT_NE(op.options.find("size="), std::string::npos) << op.dst << ": " << op.options;
    EXPECT_NE(op.options.find("nr_inodes="), std::string::npos) << op.dst << ": " << op.options;
  }
  EXPECT_EQ(Find(*plan, "/dev/shm")->options, "mode=1777,uid=1000,gid=1001,size=4194304,nr_inodes=500");
  EXPECT_EQ(Find(*plan, "/scratch")->options, "mode=0700,uid=1000,gid=1001,size=8388608,nr_inodes=500");
  std::vector<TmpfsBound> want = {{"/", 16u << 20, 16384, false},  {"/scratch", 8u << 20, 500, true},
                                  {"/sized", 1u << 20, 500, true}, {"/dev", 64u << 10, 256, true},
                                  {"/dev/shm", 4u << 20, 500, true}, {"/tmp", 8u << 20, 500, true},
                                  {"/home/sandbox", 2u << 20, 500, true}};
  EXPECT_EQ(plan->tmpfs, want);
}

TEST_F(MountPlanTest, HostsNamesTheHostnameAndHomeInTmpHasNoSecondTmpfs) {
  Policy p = Bare();
  p.hostname = "detonate-7";
  p.home = "/tmp";
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan);
  EXPECT_EQ(Dsts(*plan), (std::vector<std::string>{"/tmp", "/etc/passwd", "/etc/group", "/etc/hosts"}));
  EXPECT_EQ(Find(*plan, "/etc/hosts")->src, "127.0.0.1 localhost detonate-7\n::1 localhost ip6-localhost detonate-7\n");
}

TEST_F(MountPlanTest, PolicyMountsFollowTheSkeletonInPolicyOrder) {
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/data", "//srv//data/"),
              Entry(MountEntry::Kind::kTmpfs, "", "/srv/data/scratch"),
              Entry(MountEntry::Kind::kBind, dir_ + "/file.txt", "/srv/data/file"),
              Entry(MountEntry::Kind::kDir, "", "/opt"),
              Entry(MountEntry::Kind::kSymlink, "/opt", "/opt2")};
  p.mounts[1].size_bytes = 1 << 20;
  auto plan = BuildMountPlan(p, UserIds());
  ASSERT_TRUE(plan) << plan.error().What();
  std::vector<std::string> d = Dsts(*plan);
  ASSERT_GE(d.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(d.end() - 5, d.end()),
            (std::vector<std::string>{"/srv/data", "/srv/data/scratch", "/srv/data/file", "/opt", "/opt2"}));
  const MountOp& ro = plan->ops[d.size() - 5];
  EXPECT_EQ(ro.kind, MountOp::Kind::kBind);
  EXPECT_TRUE(ro.readonly);
  EXPECT_TRUE(ro.src_is_dir);
  EXPECT_FALSE(ro.keep_dev);
  EXPECT_EQ(ro.origin, "test line 1");
  const MountOp& tmp = plan->ops[d.size() - 4];
  EXPECT_EQ(tmp.kind, MountOp::Kind::kTmpfs);
  EXPECT_EQ(tmp.options, "mode=0700,uid=1000,gid=1001,size=1048576,nr_inodes=65536");
  const MountOp& rw = plan->ops[d.size() - 3];
  EXPECT_FALSE(rw.readonly);
  EXPECT_FALSE(rw.src_is_dir);
  EXPECT_EQ(plan->ops[d.size() - 2].kind, MountOp::Kind::kDir);
  EXPECT_EQ(plan->ops[d.size() - 1].kind, MountOp::Kind::kSymlink);
  EXPECT_EQ(plan->ops[d.size() - 1].src, "/opt");
  // The effective view: the policy's entries (normalised) then the skeleton's.
  ASSERT_GE(plan->effective.size(), 5u);
  EXPECT_EQ(plan->effective[0].dst, "/srv/data");
  EXPECT_EQ(plan->effective[4].dst, "/opt2");
}

TEST_F(MountPlanTest, RefusesRelativeDotDotAndRootDestinations) {
  for (const char* bad : {"relative/path", "", "/a/../etc", "/a/./b", "/..", "/", "//", "/x/.."}) {
    Policy p = Bare();
    p.mounts = {Entry(MountEntry::Kind::kTmpfs, "", bad)};
    auto plan = BuildMountPlan(p, RootIds());
    ASSERT_FALSE(plan) << "'" << bad << "' accepted";
    EXPECT_NE(plan.error().What().find("test line 1"), std::string::npos) << plan.error().What();
  }
  // Dots inside a name are fine.
  Policy ok = Bare();
  ok.mounts = {Entry(MountEntry::Kind::kTmpfs, "", "/a/.hidden/..b/c.")};
  EXPECT_TRUE(BuildMountPlan(ok, RootIds()));
}

TEST_F(MountPlanTest, DuplicateDestinationsAreRefusedByThePolicyCheckBeforeThePlan) {
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kTmpfs, "", "/work"), Entry(MountEntry::Kind::kDir, "", "//work/")};
  EXPECT_FALSE(ValidatePolicy(p));
  // The plan itself keeps both in order (the later one would shadow the earlier).
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan);
  std::vector<std::string> d = Dsts(*plan);
  EXPECT_EQ(std::count(d.begin(), d.end(), "/work"), 2);
}

TEST_F(MountPlanTest, SymlinkSourceIsRecreatedNotFollowed) {
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/link", "/bin")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  const MountOp* op = Find(*plan, "/bin");
  ASSERT_TRUE(op);
  EXPECT_EQ(op->kind, MountOp::Kind::kSymlink);
  EXPECT_EQ(op->src, "usr/bin") << "the link's own target, not the host path it resolves to";
}

// Bind sources are resolved component by component: a symlink on the way is followed only if the
// caller or root owns it (system layout such as /var/run -> /run); the resolved path has no symlink left
// (the child opens it with RESOLVE_NO_SYMLINKS), and a symlink another user owns is refused.
TEST_F(MountPlanTest, BindSourceSymlinksOnTheWayAreFollowedOnlyIfOursOrRoots) {
  std::filesystem::create_directories(dir_ + "/real/sub");
  airlock::test::WriteFile(dir_ + "/real/sub/f.txt", "x");
  std::filesystem::create_symlink("real", dir_ + "/mine");              // owned by us
  std::filesystem::create_symlink(dir_ + "/real/sub", dir_ + "/abs");   // absolute target
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/mine/sub/f.txt", "/a"),
              Entry(MountEntry::Kind::kRoBind, dir_ + "/abs/../sub/./f.txt", "/b"),
              Entry(MountEntry::Kind::kRoBind, dir_ + "//mine/sub", "/c")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_EQ(Find(*plan, "/a")->src, dir_ + "/real/sub/f.txt");
  EXPECT_FALSE(Find(*plan, "/a")->src_is_dir);
  EXPECT_EQ(Find(*plan, "/b")->src, dir_ + "/real/sub/f.txt") << "'..' after a symlink is its target's parent";
  EXPECT_EQ(Find(*plan, "/c")->src, dir_ + "/real/sub");
  // The source itself, a symlink: recreated, not followed, whoever owns it.
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/mine", "/d")};
  plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_EQ(Find(*plan, "/d")->kind, MountOp::Kind::kSymlink);
  EXPECT_EQ(Find(*plan, "/d")->src, "real");
}

TEST_F(MountPlanTest, BindSourceThroughAnotherUsersSymlinkIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a symlink to another uid";
  std::filesystem::create_directories(dir_ + "/real/sub");
  airlock::test::WriteFile(dir_ + "/real/sub/f.txt", "x");
  std::filesystem::create_symlink("real", dir_ + "/theirs");
  ASSERT_EQ(lchown((dir_ + "/theirs").c_str(), 12345, 12345), 0);
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/theirs/sub/f.txt", "/a")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().What().find("'" + dir_ + "/theirs' is a symlink owned by uid 12345 (neither you nor root)"),
            std::string::npos) << plan.error().What();
  p.mounts[0].optional = true;  // optional covers absence, not a refused path
  EXPECT_FALSE(BuildMountPlan(p, RootIds()));
  // As the last component it is recreated as a symlink, as any symlink source is.
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/theirs", "/b")};
  plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_EQ(Find(*plan, "/b")->kind, MountOp::Kind::kSymlink);
}

TEST_F(MountPlanTest, OptionalMissingSourceIsSkippedRequiredOneFails) {
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kRoBind, dir_ + "/missing", "/lib64", true),
              Entry(MountEntry::Kind::kRoBind, dir_ + "/data", "/data")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_EQ(plan->skipped, std::vector<std::string>{dir_ + "/missing"});
  EXPECT_EQ(Find(*plan, "/lib64"), nullptr);
  EXPECT_TRUE(Find(*plan, "/data"));
  for (const auto& e : plan->effective) EXPECT_NE(e.dst, "/lib64");

  p.mounts[0].optional = false;
  auto fail = BuildMountPlan(p, RootIds());
  ASSERT_FALSE(fail);
  EXPECT_EQ(fail.error().err(), ENOENT);
  EXPECT_NE(fail.error().What().find(dir_ + "/missing"), std::string::npos) << fail.error().What();

  // Optional covers absence only: a source that cannot be examined for another reason still fails.
  p.mounts[0] = Entry(MountEntry::Kind::kRoBind, dir_ + "/file.txt/sub", "/lib64", true);
  auto notdir = BuildMountPlan(p, RootIds());
  ASSERT_FALSE(notdir);
  EXPECT_EQ(notdir.error().err(), ENOTDIR);
}

TEST_F(MountPlanTest, DeviceNodesNeedDevBind) {
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kRoBind, "/dev/null", "/null")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().What().find("--dev-bind"), std::string::npos) << plan.error().What();
  p.mounts[0].kind = MountEntry::Kind::kBind;
  EXPECT_FALSE(BuildMountPlan(p, RootIds()));
  p.mounts[0].kind = MountEntry::Kind::kDevBind;
  plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  const MountOp* op = Find(*plan, "/null");
  ASSERT_TRUE(op);
  EXPECT_TRUE(op->keep_dev);
  EXPECT_FALSE(op->src_is_dir);
  EXPECT_FALSE(op->readonly);
}

TEST_F(MountPlanTest, AFifoIsBoundAsAFile) {
  ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kBind, dir_ + "/fifo", "/run/fifo")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_FALSE(Find(*plan, "/run/fifo")->src_is_dir);
}

TEST_F(MountPlanTest, AProfileFileReplacesTheGeneratedOne) {
  Policy p = Bare();
  p.mounts = {Entry(MountEntry::Kind::kFile, "me:x:5:5::/:/bin/sh\n", "/etc/passwd")};
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan);
  std::vector<std::string> d = Dsts(*plan);
  EXPECT_EQ(std::count(d.begin(), d.end(), "/etc/passwd"), 1);
  const MountOp* op = Find(*plan, "/etc/passwd");
  EXPECT_EQ(op->src, "me:x:5:5::/:/bin/sh\n");
  EXPECT_EQ(op->mode, 0644u);
  EXPECT_EQ(op->origin, "test line 1");
  EXPECT_TRUE(Find(*plan, "/etc/group")) << "only the replaced file is dropped";
}

// Host facts: the /proc entries are masked when the plan mounts /proc, the /sys ones only when a
// profile mounts /sys; the list always leads with /proc/driver (always there: it holds the masks).
TEST_F(MountPlanTest, HostFactsAreMaskedWhereThePlanMountsThem) {
  const auto& all = HostFactMasks();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front(), "/proc/driver");
  for (const char* must : {"/proc/cmdline", "/proc/kallsyms", "/proc/keys", "/proc/interrupts", "/proc/acpi",
                           "/proc/timer_list", "/proc/sched_debug", "/proc/kcore", "/proc/latency_stats", "/proc/scsi",
                           kMaskedBootId, "/sys/firmware"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), must), all.end()) << must;
  }
  auto has = [](const MountPlan& plan, const std::string& m) {
    return std::find(plan.masked.begin(), plan.masked.end(), m) != plan.masked.end();
  };
  Policy p;
  auto plan = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_TRUE(has(*plan, "/proc/cmdline"));
  EXPECT_TRUE(has(*plan, kMaskedBootId));
  EXPECT_FALSE(has(*plan, "/sys/firmware")) << "no /sys in this plan";

  auto bare = BuildMountPlan(Bare(), RootIds());
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->masked.empty()) << "no /proc, no /sys: nothing to mask";

  Policy with_sys = Bare();
  with_sys.mounts.push_back(Entry(MountEntry::Kind::kRoBind, "/sys", "/sys"));
  auto sys = BuildMountPlan(with_sys, RootIds());
  ASSERT_TRUE(sys) << sys.error().What();
  EXPECT_TRUE(has(*sys, "/sys/firmware"));
  EXPECT_FALSE(has(*sys, "/proc/cmdline"));
}

// Which directories exist inside: what PATH entries are kept (prepare.h BuildEnvironment).
TEST_F(MountPlanTest, DirectoryExistsInsideFollowsTheMountsAsTheSandboxWould) {
  Policy p;  // /proc, /dev, /tmp, /home/sandbox
  p.mounts.push_back(Entry(MountEntry::Kind::kRoBind, dir_, "/opt/data"));
  p.mounts.push_back(Entry(MountEntry::Kind::kRoBind, dir_ + "/link", "/bin"));  // a symlink: usr/bin
  p.mounts.push_back(Entry(MountEntry::Kind::kTmpfs, "", "/scratch"));
  p.mounts.push_back(Entry(MountEntry::Kind::kRoBind, "/usr", "/usr"));
  EXPECT_TRUE(DirectoryExistsInside(p, "/"));
  EXPECT_TRUE(DirectoryExistsInside(p, "/opt")) << "on the way to a mount point";
  EXPECT_TRUE(DirectoryExistsInside(p, "/opt/data"));
  EXPECT_TRUE(DirectoryExistsInside(p, "/opt/data/data")) << "a directory of the bind's source";
  EXPECT_TRUE(DirectoryExistsInside(p, "/opt/data/./data/"));
  EXPECT_FALSE(DirectoryExistsInside(p, "/opt/data/file.txt")) << "a file";
  EXPECT_FALSE(DirectoryExistsInside(p, "/opt/data/nope"));
  EXPECT_TRUE(DirectoryExistsInside(p, "/bin")) << "/bin -> usr/bin, followed inside the sandbox";
  EXPECT_TRUE(DirectoryExistsInside(p, "/opt/data/link")) << "link -> usr/bin relative to /opt/data: /opt/data/usr/bin";
  EXPECT_TRUE(DirectoryExistsInside(p, "/scratch"));
  EXPECT_FALSE(DirectoryExistsInside(p, "/scratch/bin")) << "a fresh tmpfs is empty";
  EXPECT_TRUE(DirectoryExistsInside(p, "/home/sandbox"));
  EXPECT_FALSE(DirectoryExistsInside(p, "/home/sandbox/.cargo/bin"));
  EXPECT_FALSE(DirectoryExistsInside(p, "/root/.cargo/bin")) << "host-only";
  EXPECT_FALSE(DirectoryExistsInside(p, "relative/bin"));
}

// --net user: resolv.conf is generated (the helper's forwarder; airlock's resolver under an
// allow-list) and replaces a bind of the host's file; a profile's own file entry wins only
// without an allow-list.
TEST_F(MountPlanTest, NetUserGeneratesResolvConf) {
  Policy p = Bare();
  p.net.mode = NetMode::kUser;
  p.mounts.push_back(Entry(MountEntry::Kind::kRoBind, dir_ + "/file.txt", "/etc/resolv.conf"));
  auto plain = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(plain) << plain.error().What();
  const MountOp* op = Find(*plain, "/etc/resolv.conf");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->kind, MountOp::Kind::kFile);
  EXPECT_NE(op->src.find("nameserver 10.0.2.3\n"), std::string::npos) << op->src;
  std::vector<std::string> dsts = Dsts(*plain);
  EXPECT_EQ(std::count(dsts.begin(), dsts.end(), "/etc/resolv.conf"), 1);

  p.net.allow = {"192.0.2.1:443"};
  auto allow = BuildMountPlan(p, RootIds());
  ASSERT_TRUE(allow);
  op = Find(*allow, "/etc/resolv.conf");
  ASSERT_NE(op, nullptr);
  EXPECT_NE(op->src.find("nameserver 127.0.0.1\n"), std::string::npos) << op->src;

  Policy own = Bare();
  own.net.mode = NetMode::kUser;
  own.mounts.push_back(Entry(MountEntry::Kind::kFile, "nameserver 192.0.2.53\n", "/etc/resolv.conf"));
  auto kept = BuildMountPlan(own, RootIds());
  ASSERT_TRUE(kept);
  EXPECT_EQ(Find(*kept, "/etc/resolv.conf")->src, "nameserver 192.0.2.53\n");
  own.net.allow = {"192.0.2.1:443"};
  auto replaced = BuildMountPlan(own, RootIds());
  ASSERT_TRUE(replaced);
  EXPECT_NE(Find(*replaced, "/etc/resolv.conf")->src.find("nameserver 127.0.0.1"), std::string::npos);

  Policy none = Bare();  // no network: nothing generated
  EXPECT_EQ(Find(*BuildMountPlan(none, RootIds()), "/etc/resolv.conf"), nullptr);
}

// An overlay (a box's layer): lower and layer resolved like bind sources, the layer must hold upper/
// and work/, and the op comes after the skeleton (so one at $HOME covers the private home tmpfs).
TEST_F(MountPlanTest, OverlayNeedsALayerWithUpperAndWork) {
  Policy p = Bare();
  MountEntry e = Entry(MountEntry::Kind::kOverlay, dir_ + "/data", "/home/sandbox");
  e.layer = dir_ + "/layer";
  p.home = "/home/sandbox";
  p.mounts.push_back(e);
  std::filesystem::create_directories(dir_ + "/layer/upper");
  auto missing = BuildMountPlan(p, UserIds());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().What().find("has no directory work/"), std::string::npos) << missing.error().What();
  std::filesystem::create_directories(dir_ + "/layer/work");
  auto plan = BuildMountPlan(p, UserIds());
  ASSERT_TRUE(plan) << plan.error().What();
  size_t tmpfs_at = 0, overlay_at = 0;
  for (size_t i = 0; i < plan->ops.size(); ++i) {
    if (plan->ops[i].dst != "/home/sandbox") continue;
    (plan->ops[i].kind == MountOp::Kind::kOverlay ? overlay_at : tmpfs_at) = i;
  }
  ASSERT_GT(overlay_at, tmpfs_at);
  EXPECT_EQ(plan->ops[overlay_at].src, dir_ + "/data");
  EXPECT_EQ(plan->ops[overlay_at].layer, dir_ + "/layer");
  // A layer that is a symlink someone else owns, or a file, is refused like a bind source.
  std::filesystem::remove_all(dir_ + "/layer");
  airlock::test::WriteFile(dir_ + "/layer", "x");
  auto file = BuildMountPlan(p, UserIds());
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().What().find("not one"), std::string::npos) << file.error().What();
}
