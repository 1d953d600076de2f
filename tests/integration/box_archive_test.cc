// `airlock box export/import/snapshot/restore` (docs/BOXES.md): a box's changes survive the round trip
// through an archive exactly (the listing and a run agree), snapshots return the box to what it was,
// and hostile archives are refused without writing outside the store or leaving a box behind. Runs as
// root (integration.root) and as uid 65534 (integration.user), like box_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "box_fixture.h"
#include "test_env.h"

using namespace airlock::test;

namespace {

// Writes a tar with Python's tarfile: the manifest of a one-tree box at /data, then `members`
// (name, type, data, mode, link, dev), then, with `cut`, the archive cut to that many bytes; a
// member with "huge" declares a terabyte and carries 4 KiB.
constexpr const char* kTarWriter = R"(
import io, json, os, sys, tarfile
spec = json.loads(sys.argv[1]); out = sys.argv[2]
t = tarfile.open(out, 'w', format=tarfile.PAX_FORMAT, encoding='utf-8', errors='surrogateescape')
def add(name, typ=tarfile.REGTYPE, data=b'', mode=0o644, link='', dev=(0, 0), huge=False):
    ti = tarfile.TarInfo(name); ti.type = typ; ti.mode = mode; ti.linkname = link
    ti.devmajor, ti.devminor = dev
    ti.size = len(data) if typ == tarfile.REGTYPE else 0
    if huge:
        ti.size = 1 << 40
        t.fileobj.write(ti.tobuf(tarfile.PAX_FORMAT, 'utf-8', 'surrogateescape')); t.fileobj.write(b'x' * 4096)
        return
    t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
manifest = {"schema": 1, "kind": "airlock-box-export", "source": "x", "profile": "default", "created": "",
            "trees": [{"host": spec["host"], "inside": "/data"}]}
add("airlock-box.json", data=json.dumps(manifest).encode())
for m in spec["members"]:
    add(m["name"], m.get("type", "0").encode(), m.get("data", "").encode(), m.get("mode", 0o644), m.get("link", ""),
        tuple(m.get("dev", [0, 0])), m.get("huge", False))
t.fileobj.flush(); t.fileobj.close()
if spec.get("cut"): os.truncate(out, spec["cut"])
)";

class BoxArchive : public BoxFixture {
 protected:
  std::string Diff(const std::string& box) {
    auto r = BoxCmd({"diff", box, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // The store holds exactly these names (no staging directory left, no half box).
  std::vector<std::string> StoreNames() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(store_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  void MakeTar(const std::string& path, const nlohmann::json& members, size_t cut = 0) {
    nlohmann::json spec = {{"host", tree_}, {"members", members}};
    if (cut) spec["cut"] = cut;
    auto r = airlock::test::Run({"/usr/bin/python3", "-c", kTarWriter, spec.dump(), path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  const std::string kEveryKind =
      "echo changed >> /data/a && echo new > /data/new && rm /data/sub/b && rm -r /data/gone && mkdir /data/gone && "
      "echo fresh > /data/gone/x && ln -s /etc/passwd /data/link && mkfifo /data/fifo && printf z > \"/data/odd$(printf '\\377')\" && "
      "python3 -c 'import os; os.setxattr(\"/data/new\", \"user.note\", b\"hi\")'";
};

TEST_F(BoxArchive, ExportImportRoundTripKeepsEveryKindOfChange) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "SKIPPED LOUDLY: /usr/bin/python3 is not installed";
  ASSERT_EQ(BoxCmd({"create", "src", "--over", tree_ + ":/data"}).exit_code, 0);
  auto r = BoxCmd({"run", "src", "--", "/bin/sh", "-c", kEveryKind});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string before = Diff("src");
  for (const char* want : {"\"deleted\"", "\"replaced\"", "\"symlink\"", "\"fifo\"", "odd\\\\xff"}) {
    EXPECT_NE(before.find(want), std::string::npos) << want << " missing from " << before;
  }
  r = BoxCmd({"export", "src", dir_ + "/src.tar"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("exported to"), std::string::npos) << r.out;
  r = BoxCmd({"import", dir_ + "/src.tar", "copy", "--over", tree_ + ":/data"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Diff("copy"), before);
  char value[16] = {};
  EXPECT_EQ(::getxattr((store_ + "/copy/layers/0/upper/new").c_str(), "user.note", value, sizeof value), 2);
  EXPECT_STREQ(value, "hi");
  r = BoxCmd({"run", "copy", "--", "/bin/sh", "-c", "cat /data/a /data/new /data/gone/x; ls /data/sub | wc -l; readlink /data/link"});
  EXPECT_EQ(r.out, "orig\nchanged\nnew\nfresh\n0\n/etc/passwd\n") << r.err;
  // A name taken, and an archive whose tree this box does not overlay.
  r = BoxCmd({"import", dir_ + "/src.tar", "copy", "--over", tree_ + ":/data"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exists already"), std::string::npos) << r.err;
  r = BoxCmd({"import", dir_ + "/src.tar", "other", "--over", tree_ + ":/elsewhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--over PATH:/data"), std::string::npos) << r.err;
  EXPECT_EQ(StoreNames(), (std::vector<std::string>{"copy", "src"}));
}

TEST_F(BoxArchive, SnapshotsReturnTheBoxToWhatItWas) {
  ASSERT_EQ(BoxCmd({"create", "s", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "s", "--", "/bin/sh", "-c", "echo one > /data/one && rm /data/sub/b"}).exit_code, 0);
  const std::string at_s1 = Diff("s");
  ASSERT_EQ(BoxCmd({"snapshot", "s", "S1"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "s", "--", "/bin/sh", "-c", "echo two > /data/two && rm /data/one && echo x >> /data/a"}).exit_code, 0);
  const std::string at_s2 = Diff("s");
  ASSERT_NE(at_s1, at_s2);
  ASSERT_EQ(BoxCmd({"snapshot", "s", "S2"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "s", "--", "/bin/sh", "-c", "echo three > /data/three"}).exit_code, 0);
  auto r = BoxCmd({"restore", "s", "S1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Diff("s"), at_s1);
  r = BoxCmd({"run", "s", "--", "/bin/sh", "-c", "cat /data/one; ls /data"});
  EXPECT_EQ(r.out, "one\na\ngone\none\nsub\n") << r.err;
  ASSERT_EQ(BoxCmd({"restore", "s", "S2"}).exit_code, 0);
  EXPECT_EQ(Diff("s"), at_s2);
  EXPECT_FALSE(std::filesystem::exists(store_ + "/s/restore.tmp"));
  r = BoxCmd({"create", "t", "--from", "s/S1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Diff("t"), at_s1);
  r = BoxCmd({"restore", "s", "nosuch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no snapshot nosuch"), std::string::npos) << r.err;
  EXPECT_NE(BoxCmd({"snapshot", "s", "S1"}).err.find("already"), std::string::npos);
  for (int i = 3; i <= 16; ++i) ASSERT_EQ(BoxCmd({"snapshot", "s", "S" + std::to_string(i)}).exit_code, 0) << i;
  auto j = nlohmann::json::parse(BoxCmd({"snapshots", "s", "--json"}).out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 16) << j.dump();
  EXPECT_EQ(j[0].value("name", ""), "S1");
  EXPECT_GT(j[0].value("bytes", 0), 0);
  EXPECT_NE(j[0].value("created", ""), "");
}

// Each hostile archive is refused with an error naming what is wrong; nothing is written outside the
// store (the symlink's target stays empty) and no box or staging directory is left.
TEST_F(BoxArchive, HostileArchivesAreRefusedAndLeaveNothing) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "SKIPPED LOUDLY: /usr/bin/python3 is not installed";
  const std::string outside = dir_ + "/outside";
  std::filesystem::create_directories(outside);
  ASSERT_EQ(BoxCmd({"create", "keep", "--over", tree_ + ":/data"}).exit_code, 0);
  const std::string up = "layers/0/upper/";
  struct Case {
    const char* what;
    nlohmann::json members;
    size_t cut;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"dot-dot", {{{"name", up + "../../../x"}, {"data", "x"}}}, 0, "'..'"},
      {"absolute", {{{"name", "/etc/x"}, {"data", "x"}}}, 0, "not a member of a box export"},
      {"symlink then through it", {{{"name", up + "l"}, {"type", "2"}, {"link", outside}}, {{"name", up + "l/x"}, {"data", "pwned"}}}, 0, "symlink"},
      {"char device 1:3", {{{"name", up + "null"}, {"type", "3"}, {"dev", {1, 3}}}}, 0, "character device (1:3)"},
      {"layer 7 of 1", {{{"name", "layers/7/upper/x"}, {"data", "x"}}}, 0, "layer 7 does not exist"},
      {"hard link", {{{"name", up + "f"}, {"data", "x"}}, {{"name", up + "g"}, {"type", "1"}, {"link", up + "f"}}}, 0, "hard link"},
      {"unknown member", {{{"name", "other/x"}, {"data", "x"}}}, 0, "not a member of a box export"},
      {"huge and truncated", {{{"name", up + "big"}, {"huge", true}}}, 0, "truncated"},
      {"cut short", {{{"name", up + "f"}, {"data", std::string(20000, 'y')}}}, 6000, "truncated"},
  };
  for (const auto& c : cases) {
    const std::string tar = dir_ + "/hostile.tar";
    MakeTar(tar, c.members, c.cut);
    auto r = BoxCmd({"import", tar, "bad", "--over", tree_ + ":/data"});
    EXPECT_EQ(r.exit_code, 1) << c.what << ": " << r.out;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << c.what << ": " << r.err;
    EXPECT_EQ(StoreNames(), std::vector<std::string>{"keep"}) << c.what;
  }
  EXPECT_TRUE(std::filesystem::is_empty(outside)) << "an archive wrote through a symlink";
  // Not a box export at all, and a setuid file: imported without its bit.
  WriteFile(dir_ + "/plain.txt", "hello\n");
  auto r = BoxCmd({"import", dir_ + "/plain.txt", "bad", "--over", tree_ + ":/data"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not an airlock box export"), std::string::npos) << r.err;
  MakeTar(dir_ + "/setuid.tar", {{{"name", up + "su"}, {"data", "#!/bin/sh\n"}, {"mode", 04755}}});
  r = BoxCmd({"import", dir_ + "/setuid.tar", "su", "--over", tree_ + ":/data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 setuid/setgid bit(s) dropped"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((store_ + "/su/layers/0/upper/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, ::geteuid()) << "the importer's files are the caller's (root: host root)";
}

}  // namespace
