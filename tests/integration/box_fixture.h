// The common ground of the `airlock box` tests (box_test, box_fuse_test, box_review_test,
// box_archive_test): a temporary host tree and store, `airlock box` run with that store, the host
// tree as text, and the loud skip where a root caller's boxes cannot idmap the test's temporary files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "test_env.h"

namespace airlock::test {

class BoxFixture : public ::testing::Test {
 protected:
  // dir_ = a fresh temporary directory; tree_ = dir_/tree holding a = "orig", sub/b = "keep",
  // gone/c = "c"; store_ = dir_/store (made by the first `box create`).
  void SetUp() override {
    dir_ = MakeTempDir("box");
    tree_ = dir_ + "/tree";
    store_ = dir_ + "/store";
    std::filesystem::create_directories(tree_ + "/sub");
    std::filesystem::create_directories(tree_ + "/gone");
    WriteFile(tree_ + "/a", "orig\n");
    WriteFile(tree_ + "/sub/b", "keep\n");
    WriteFile(tree_ + "/gone/c", "c\n");
    if (std::string why = IdmapSkipReason(); !why.empty()) GTEST_SKIP() << why;
  }
  // (A box may hold directories of mode 000, as overlayfs's own work/work is.)
  void TearDown() override {
    if (dir_.empty()) return;
    airlock::test::Run({"/bin/chmod", "-R", "u+rwX", dir_});
    std::filesystem::remove_all(dir_);
  }

  // Root callers' boxes need idmapped mounts where the test's temporary files live (ext4, xfs,
  // btrfs; tmpfs from Linux 6.3): without them every box run is refused, and that is the host, not
  // airlock. Probed once per test program.
  std::string IdmapSkipReason() {
    if (!IsRoot()) return "";
    static const std::string why = [this] {
      BoxCmd({"create", "probe", "--over", tree_ + ":/data"});
      auto r = BoxCmd({"run", "probe", "--", "/bin/true"});
      BoxCmd({"rm", "probe"});
      return r.err.find("cannot be idmapped") != std::string::npos ? "SKIPPED LOUDLY: " + r.err : std::string();
    }();
    return why;
  }

  // `airlock box --store store_ ARGS...`
  RunResult BoxCmd(const std::vector<std::string>& args, int timeout = 120) { return BoxCmdVia({}, AirlockBin(), args, timeout); }
  // The same through `prefix` (e.g. /usr/bin/env VAR=...) and another airlock binary.
  RunResult BoxCmdVia(std::vector<std::string> prefix, const std::string& airlock, const std::vector<std::string>& args, int timeout = 180) {
    prefix.insert(prefix.end(), {airlock, "box", "--store", store_});
    prefix.insert(prefix.end(), args.begin(), args.end());
    return airlock::test::Run(prefix, "", timeout);
  }

  // The host tree as text: every path with its content (files), link target or "/" (directories), sorted.
  std::string Snapshot() {
    std::vector<std::string> lines;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tree_)) {
      std::string rel = e.path().string().substr(tree_.size());
      if (e.is_symlink()) {
        lines.push_back(rel + " -> " + std::filesystem::read_symlink(e.path()).string());
      } else {
        lines.push_back(rel + (e.is_regular_file() ? " = " + ReadFileOrEmpty(e.path().string()) : " /"));
      }
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }

  // What kScript does to tree_ mounted at /data, and the listing it gives.
  const std::string kScript =
      "echo changed >> /data/a && echo new > /data/new && rm /data/sub/b && mkdir /data/d && rm -r /data/gone && "
      "mkdir /data/gone && echo fresh > /data/gone/x && cat /data/a";
  const std::string kListing =
      "C /data/a (file, 13 B)\n"
      "A /data/d (dir)\n"
      "R /data/gone (dir)\n"
      "A /data/gone/x (file, 6 B)\n"
      "A /data/new (file, 4 B)\n"
      "D /data/sub/b (file)\n";
  std::string dir_, tree_, store_;
};

}  // namespace airlock::test
