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
  EXPECT_EQ(Find(*plan, "/scratch")->options, "mode=0755,uid=1000,gid=1001,size=8388608,nr_inodes=500");
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
  EXPECT_EQ(tmp.options, "mode=0755,uid=1000,gid=1001,size=1048576,nr_inodes=65536");
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
