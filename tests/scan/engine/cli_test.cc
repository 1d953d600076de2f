// airlock-scan as a user runs it: exit codes, JSON schema, --extract safety, --rules, --blocklist,
// directories and stdin.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "scan/hashes.h"
#include "scan_test_util.h"
#include "test_env.h"

namespace airlock::scan {
namespace {

namespace fs = std::filesystem;
using airlock::test::MakeTempDir;

using airlock::test::RunResult;
using airlock::test::WriteFile;
using airlock::test::ReadFileOrEmpty;

// The binary under test: $AIRLOCK_SCAN_BIN (run_as_user.sh stages a copy), else the build's.
std::string ScanBin() {
  const char* env = std::getenv("AIRLOCK_SCAN_BIN");
  return env != nullptr && *env != '\0' ? env : AIRLOCK_SCAN_BIN;
}

RunResult RunScan(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), ScanBin());
  args.push_back("--no-cache");
  return airlock::test::Run(args, input, 120);
}

nlohmann::json ScanJson(std::vector<std::string> args, int* exit_code = nullptr) {
  args.insert(args.begin(), "--json");
  auto r = RunScan(args);
  if (exit_code != nullptr) *exit_code = r.exit_code;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

TEST(ScanCli, ExitCodes) {
  std::string dir = MakeTempDir("scan-exit");
  WriteFile(dir + "/clean.txt", "nothing to see\n");
  WriteFile(dir + "/eicar.com", test::Eicar());
  fs::create_directory(dir + "/rules");
  WriteFile(dir + "/rules/local.yar",
            "rule Local_Suspicious { meta: severity = 5 technique = \"T1204\" strings: $a = \"quarterly-bonus-macro\" "
            "condition: $a }\n");
  WriteFile(dir + "/sus.txt", "see quarterly-bonus-macro here\n");
  EXPECT_EQ(RunScan({dir + "/clean.txt"}).exit_code, 0);
  auto mal = RunScan({dir + "/eicar.com"});
  EXPECT_EQ(mal.exit_code, 1);
  EXPECT_NE(mal.out.find("yara.EICAR_Test_File"), std::string::npos) << mal.out;
  EXPECT_EQ(RunScan({dir + "/does-not-exist"}).exit_code, 2);
  EXPECT_EQ(RunScan({"--bogus-option", dir + "/clean.txt"}).exit_code, 2);
  EXPECT_EQ(RunScan({"--rules", dir + "/rules", dir + "/sus.txt"}).exit_code, 3);
  EXPECT_EQ(RunScan({dir + "/sus.txt"}).exit_code, 0);  // the local rule is not a project rule
  // Malicious wins over an unreadable input.
  EXPECT_EQ(RunScan({dir + "/eicar.com", dir + "/does-not-exist"}).exit_code, 1);
  // A broken rule file is a setup error.
  WriteFile(dir + "/rules/broken.yar", "rule { nope");
  auto broken = RunScan({"--rules", dir + "/rules", dir + "/clean.txt"});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find("broken.yar"), std::string::npos) << broken.err;
  fs::remove_all(dir);
}

// --navigator FILE: the techniques of the report as an ATT&CK Navigator layer, from the sandboxed
// scan (copied out of its private directory) and from --no-sandbox alike; a clean scan gives an
// empty layer, and an existing file at FILE is replaced, never written through when it is a link.
TEST(ScanCli, WritesANavigatorLayer) {
  std::string dir = MakeTempDir("scan-navigator");
  fs::create_directory(dir + "/rules");
  WriteFile(dir + "/rules/local.yar",
            "rule Local_Suspicious { meta: severity = 5 technique = \"T1204.002\" strings: $a = \"quarterly-bonus-macro\" "
            "condition: $a }\n");
  WriteFile(dir + "/sus.txt", "see quarterly-bonus-macro here\n");
  WriteFile(dir + "/clean.txt", "nothing to see\n");
  for (std::vector<std::string> mode : {std::vector<std::string>{}, std::vector<std::string>{"--no-sandbox"}}) {
    const std::string layer = dir + "/layer.json";
    fs::remove(layer);
    std::vector<std::string> args = {"--rules", dir + "/rules", "--navigator", layer, dir + "/sus.txt"};
    args.insert(args.end(), mode.begin(), mode.end());
    auto r = RunScan(args);
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    auto j = nlohmann::json::parse(ReadFileOrEmpty(layer), nullptr, false);
    ASSERT_TRUE(j.is_object()) << (mode.empty() ? "sandboxed" : "no sandbox") << ": " << r.err;
    EXPECT_EQ(j["domain"], "enterprise-attack");
    ASSERT_EQ(j["techniques"].size(), 1u) << j.dump();
    EXPECT_EQ(j["techniques"][0]["techniqueID"], "T1204.002");
    EXPECT_EQ(j["techniques"][0]["score"], 5) << j.dump();
    // A clean scan: an empty layer replaces the old one; a planted link is replaced, not followed.
    const std::string target = dir + "/not-this";
    WriteFile(target, "keep");
    fs::remove(layer);
    fs::create_symlink(target, layer);
    args = {"--navigator", layer, dir + "/clean.txt"};
    args.insert(args.end(), mode.begin(), mode.end());
    EXPECT_EQ(RunScan(args).exit_code, 0);
    EXPECT_EQ(ReadFileOrEmpty(target), "keep");
    auto empty = nlohmann::json::parse(ReadFileOrEmpty(layer), nullptr, false);
    ASSERT_TRUE(empty.is_object());
    EXPECT_TRUE(empty["techniques"].empty()) << empty.dump();
  }
  fs::remove_all(dir);
}

TEST(ScanCli, JsonSchema) {
  std::string dir = MakeTempDir("scan-json");
  WriteFile(dir + "/a.zip", test::MakeArchive("zip", {{"eicar.com", test::Eicar()}}));
  int rc = -1;
  auto j = ScanJson({"-j", "2", dir + "/a.zip", dir + "/missing"}, &rc);
  EXPECT_EQ(rc, 1);
  for (const char* key : {"verdict", "score", "techniques", "objects", "limits_hit", "version", "duration_ms", "errors"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["verdict"], "malicious");
  EXPECT_EQ(j["score"], 10);
  EXPECT_TRUE(j["techniques"].is_array());
  ASSERT_EQ(j["objects"].size(), 1u);
  ASSERT_EQ(j["errors"].size(), 1u);
  const auto& root = j["objects"][0];
  for (const char* key : {"path", "name", "type", "size", "hashes", "findings", "children", "verdict", "score"}) {
    EXPECT_TRUE(root.contains(key)) << key;
  }
  EXPECT_EQ(root["type"]["mime"], "application/zip");
  EXPECT_EQ(root["hashes"]["sha256"].get<std::string>().size(), 64u);
  ASSERT_EQ(root["children"].size(), 1u);
  const auto& child = root["children"][0];
  EXPECT_EQ(child["path"], dir + "/a.zip > eicar.com");
  EXPECT_EQ(child["hashes"]["sha256"], Sha256Hex(test::Eicar()));
  ASSERT_FALSE(child["findings"].empty());
  const auto& f = child["findings"][0];
  for (const char* key : {"id", "severity", "title", "explanation", "evidence", "techniques"}) {
    EXPECT_TRUE(f.contains(key)) << key;
  }
  fs::remove_all(dir);
}

TEST(ScanCli, LimitsHitInJson) {
  std::string dir = MakeTempDir("scan-limits");
  std::string data = "x";
  for (int i = 0; i < 5; ++i) data = test::MakeArchive("zip", {{"n" + std::to_string(i) + ".zip", data}});
  WriteFile(dir + "/deep.zip", data);
  int rc = -1;
  auto j = ScanJson({"--max-depth", "2", dir + "/deep.zip"}, &rc);
  ASSERT_EQ(j["limits_hit"].size(), 1u);
  EXPECT_EQ(j["limits_hit"][0]["limit"], "scan.limit.depth");
  EXPECT_EQ(rc, 3);  // limit findings are severity 5: suspicious
  fs::remove_all(dir);
}

// A file past --max-object-mib is not an archive bomb: random data is clean with the limit noted; an
// executable padded past the limit stays suspicious (T1027.001, binary padding).
TEST(ScanCli, AnOversizedInputIsNoBomb) {
  std::string dir = MakeTempDir("scan-oversize");
  std::string noise(2u << 20, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  WriteFile(dir + "/noise.bin", noise);
  int rc = -1;
  auto j = ScanJson({"--max-object-mib", "1", dir + "/noise.bin"}, &rc);
  ASSERT_EQ(j["limits_hit"].size(), 1u) << j.dump();
  EXPECT_EQ(j["limits_hit"][0]["limit"], "scan.limit.object_size");
  EXPECT_EQ(j["verdict"], "clean") << j.dump();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(j.dump().find("bomb"), std::string::npos) << j.dump();
  std::string elf = ReadFileOrEmpty("/bin/true");
  ASSERT_FALSE(elf.empty());
  WriteFile(dir + "/padded", elf + noise);
  j = ScanJson({"--max-object-mib", "1", dir + "/padded"}, &rc);
  EXPECT_EQ(j["verdict"], "suspicious") << j.dump();
  EXPECT_NE(j.dump().find("T1027.001"), std::string::npos) << j.dump();
  EXPECT_EQ(rc, 3);
  fs::remove_all(dir);
}

TEST(ScanCli, ExtractNeverWritesOutsideDir) {
  std::string base = MakeTempDir("scan-extract");
  std::string marker = "airlock-extract-marker-" + std::to_string(::getpid());
  auto zip = test::MakeArchive("zip", {{"../../" + marker, marker}, {"/etc/x-" + marker, marker}, {"..", marker},
                                       {"dir/../../y", marker}, {".hidden", marker}});
  WriteFile(base + "/in.zip", zip);
  std::string out = base + "/out";
  auto r = RunScan({"--extract", out, base + "/in.zip"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;  // path traversal finding: suspicious
  EXPECT_NE(r.out.find("archive.path_traversal"), std::string::npos);
  // Everything is directly inside out/, as plain files with safe names.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    ++files;
    EXPECT_TRUE(e.is_regular_file()) << e.path();
    std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".."), std::string::npos) << name;
    EXPECT_NE(name[0], '.') << name;
  }
  EXPECT_EQ(files, 6u);  // the zip and its five members
  // Nothing appeared beside out/ or in /etc.
  std::vector<std::string> beside;
  for (const auto& e : fs::directory_iterator(base)) beside.push_back(e.path().filename().string());
  std::sort(beside.begin(), beside.end());
  EXPECT_EQ(beside, (std::vector<std::string>{"in.zip", "out"}));
  EXPECT_FALSE(fs::exists("/etc/x-" + marker));
  EXPECT_FALSE(fs::exists(fs::path(base).parent_path() / marker));
  EXPECT_FALSE(fs::exists(fs::path(base).parent_path().parent_path() / marker));
  // A pre-planted symlink inside DIR is never written through (O_EXCL|O_NOFOLLOW, fresh names).
  struct stat st {};
  EXPECT_EQ(::lstat(out.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  fs::remove_all(base);
}

TEST(ScanCli, ExtractDirMayNotBeASymlink) {
  std::string base = MakeTempDir("scan-extract-link");
  WriteFile(base + "/a.txt", "hello\n");
  fs::create_directory(base + "/real");
  fs::create_directory_symlink(base + "/real", base + "/link");
  EXPECT_EQ(RunScan({"--extract", base + "/link", base + "/a.txt"}).exit_code, 2);
  EXPECT_TRUE(fs::is_empty(base + "/real"));
  fs::remove_all(base);
}

TEST(ScanCli, BlocklistHitIsMalicious) {
  std::string dir = MakeTempDir("scan-block");
  std::string data = "harmless-looking bytes " + std::to_string(::getpid());
  WriteFile(dir + "/f.bin", data);
  WriteFile(dir + "/list.sha256", "# test list\n" + Sha256Hex(data) + "  f.bin\n");
  auto j = ScanJson({"--blocklist", dir + "/list.sha256", dir + "/f.bin"});
  EXPECT_EQ(j["verdict"], "malicious");
  EXPECT_EQ(j["objects"][0]["findings"][0]["id"], "blocklist.sha256");
  EXPECT_EQ(j["objects"][0]["findings"][0]["severity"], 10);
  fs::remove_all(dir);
}

TEST(ScanCli, DirectoryRecursionSkipsSymlinks) {
  std::string dir = MakeTempDir("scan-dir");
  fs::create_directories(dir + "/a/b");
  WriteFile(dir + "/a/b/eicar.com", test::Eicar());
  WriteFile(dir + "/a/ok.txt", "ok\n");
  fs::create_symlink(dir + "/a/b/eicar.com", dir + "/link.com");
  auto j = ScanJson({dir});
  ASSERT_EQ(j["objects"].size(), 2u);
  EXPECT_EQ(j["objects"][0]["path"], dir + "/a/b/eicar.com");
  EXPECT_EQ(j["objects"][1]["path"], dir + "/a/ok.txt");
  fs::remove_all(dir);
}

TEST(ScanCli, FifoInputIsAnErrorNotAHang) {
  std::string dir = MakeTempDir("scan-fifo");
  ASSERT_EQ(::mkfifo((dir + "/pipe").c_str(), 0600), 0);
  auto r = RunScan({dir + "/pipe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("not a regular file"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ScanCli, StdinInput) {
  auto r = RunScan({"--json", "-"}, test::MakeArchive("tar.gz", {{"e.com", test::Eicar()}}));
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["objects"][0]["children"][0]["path"], "stdin > e.com");
}

TEST(ScanCli, YaraRulesAreCachedByContent) {
  std::string dir = MakeTempDir("scan-cache");
  WriteFile(dir + "/t.txt", "text\n");
  std::vector<std::string> argv = {"env", "XDG_CACHE_HOME=" + dir + "/cache", ScanBin(), dir + "/t.txt"};
  EXPECT_EQ(airlock::test::Run(argv).exit_code, 0);
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir + "/cache/airlock")) {
    EXPECT_TRUE(e.path().filename().string().starts_with("yara-"));
    ++n;
  }
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(airlock::test::Run(argv).exit_code, 0);  // loads from the cache, same key
  n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir + "/cache/airlock")) ++n;
  EXPECT_EQ(n, 1u);
  fs::remove_all(dir);
}

// What /proc says of the process that parses the input of `airlock-scan [extra] -` while it waits on
// a pipe we hold open, then the report once we close it.
struct ParserFacts {
  std::string why;  // "" when found
  std::map<std::string, std::string> status;  // /proc/PID/status lines by key
  std::string user_ns, net_ns;
  nlohmann::json report;
  std::string err;
};

std::string Ns(const std::string& pid, const char* kind) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + pid + "/ns/" + kind, ec).string();
}

// The pid whose command line (NUL-separated words) starts with `argv0` and holds every one of
// `needles`, or "" (the `airlock run` that started it holds the same words, after "--").
std::string PidWithArgs(const std::string& argv0, const std::vector<std::string>& needles) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = ReadFileOrEmpty("/proc/" + pid + "/cmdline");
    if (!cmdline.starts_with(argv0)) continue;
    if (std::all_of(needles.begin(), needles.end(), [&](const std::string& n) { return cmdline.find(n) != std::string::npos; })) return pid;
  }
  return "";
}

ParserFacts ParserWhileItReadsStdin(const std::vector<std::string>& extra, const std::string& dir) {
  ParserFacts f;
  const std::string marker = std::to_string(700000 + ::getpid() % 100000);  // finds our scan's parser
  std::vector<std::string> argv = {ScanBin(), "--json", "--no-cache", "--max-entries", marker};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("-");
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    f.why = "pipe2 failed";
    return f;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(::open((dir + "/out.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), 1);
    ::dup2(::open((dir + "/err.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  ::close(in[0]);
  const std::string mail = "From: a@example.org\n\nhello\n";
  EXPECT_EQ(::write(in[1], mail.data(), mail.size()), static_cast<ssize_t>(mail.size()));
  // The parser: the sandboxed airlock-scan (its argv holds --in-sandbox), or with --no-sandbox ours.
  const bool unconfined = extra.size() == 1 && extra[0] == "--no-sandbox";
  std::string parser = unconfined ? std::to_string(pid) : "";
  for (int i = 0; i < 3000 && parser.empty(); ++i) {
    parser = PidWithArgs("/opt/airlock-scan/", {std::string("--in-sandbox") + '\0' + "--broker-fd", std::string("--max-entries") + '\0' + marker + '\0'});
    if (parser.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (parser.empty()) f.why = "no sandboxed parser appeared within 30 s";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // past its start-up: reading the pipe now
  std::istringstream status(ReadFileOrEmpty("/proc/" + parser + "/status"));
  for (std::string line; std::getline(status, line);) {
    const size_t colon = line.find(':');
    const size_t value = colon == std::string::npos ? colon : line.find_first_not_of(" \t", colon + 1);
    if (value != std::string::npos) f.status[line.substr(0, colon)] = line.substr(value);
  }
  f.user_ns = Ns(parser, "user");
  f.net_ns = Ns(parser, "net");
  ::close(in[1]);
  ::waitpid(pid, nullptr, 0);
  f.report = nlohmann::json::parse(ReadFileOrEmpty(dir + "/out.json"), nullptr, false);
  f.err = ReadFileOrEmpty(dir + "/err.txt");
  return f;
}

// Untrusted parsers run with least privilege: what parses the input of `airlock scan` is airlock run's
// sandbox (seccomp, no_new_privs, no capabilities, its own user and network namespaces, and for root
// an unprivileged host uid), handed the input as a descriptor: a file only root can read is scanned,
// and reported under its host path. The control, --no-sandbox, parses in our own process without any
// of that (and says so): each check below can fail.
TEST(ScanCli, TheParserRunsInTheSandbox) {
  const std::string dir = MakeTempDir("scan-confined");
  ::chmod(dir.c_str(), 0700);
  WriteFile(dir + "/private.eml", "From: a@example.org\n\nhello\n");
  ::chmod((dir + "/private.eml").c_str(), 0600);
  int rc = -1;
  auto j = ScanJson({dir + "/private.eml"}, &rc);
  EXPECT_EQ(rc, 0) << j.dump();
  EXPECT_EQ(j["sandboxed"], true);
  ASSERT_EQ(j["objects"].size(), 1u) << j.dump();
  EXPECT_EQ(j["objects"][0]["path"], dir + "/private.eml");

  const std::string own_user = Ns("self", "user"), own_net = Ns("self", "net");
  ParserFacts in = ParserWhileItReadsStdin({}, dir);
  ASSERT_EQ(in.why, "") << in.err;
  EXPECT_EQ(in.status["Seccomp"], "2");
  EXPECT_EQ(in.status["NoNewPrivs"], "1");
  EXPECT_EQ(in.status["CapEff"], "0000000000000000");
  EXPECT_NE(in.user_ns, own_user);
  EXPECT_NE(in.net_ns, own_net);
  if (::geteuid() == 0) {
    EXPECT_EQ(in.status["Uid"].substr(0, 5), "65534") << in.status["Uid"];
  }
  EXPECT_EQ(in.report["sandboxed"], true) << in.report.dump() << in.err;
  EXPECT_EQ(in.report["verdict"], "clean") << in.report.dump();

  ParserFacts out = ParserWhileItReadsStdin({"--no-sandbox"}, dir);
  ASSERT_EQ(out.why, "") << out.err;
  EXPECT_NE(out.status["Seccomp"], "2") << "control: the seccomp check cannot fail";
  EXPECT_EQ(out.user_ns, own_user) << "control: the namespace check cannot fail";
  EXPECT_EQ(out.report["sandboxed"], false) << out.report.dump();
  EXPECT_NE(out.err.find("WEAKENED"), std::string::npos) << out.err;
  fs::remove_all(dir);
}

TEST(ScanCli, HelpDescribesExitCodes) {
  auto r = RunScan({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
  EXPECT_NE(r.out.find("--extract"), std::string::npos);
}

}  // namespace
}  // namespace airlock::scan
