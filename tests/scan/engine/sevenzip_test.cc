// Encrypted 7z through the sandboxed 7zz (scan/unpack/sevenzip_sandbox.h): archives are made at test
// time with the host's 7zz (Debian package 7zip); skipped loudly when it is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "scan/engine.h"
#include "scan/unpack/sevenzip_sandbox.h"
#include "scan/yara_rules.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

namespace fs = std::filesystem;

class SevenZipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("AIRLOCK_BIN") == nullptr) setenv("AIRLOCK_BIN", AIRLOCK_CLI_BIN, 1);
    if (access("/usr/bin/7zz", X_OK) != 0) GTEST_SKIP() << "SKIPPED: /usr/bin/7zz missing (apt-get install 7zip)";
    ASSERT_FALSE(FindAirlockForScan().empty()) << "airlock binary not found";
    const char* tmp = std::getenv("TMPDIR");
    dir_ = fs::path(tmp != nullptr ? tmp : "/tmp") / ("scan-7z-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // 7zz a [-p PW] [-mhe=on] OUT.7z NAME (NAME holding DATA), run on the host.
  std::string Make7z(const std::string& name, const std::string& data, const std::string& pw, bool encrypt_headers) {
    std::ofstream(dir_ / name, std::ios::binary) << data;
    fs::path out = dir_ / "out.7z";
    fs::remove(out);
    std::vector<std::string> argv = {"/usr/bin/7zz", "a", "-bso0", "-bsp0"};
    if (!pw.empty()) argv.push_back("-p" + pw);
    if (encrypt_headers) argv.push_back("-mhe=on");
    argv.push_back(out.string());
    argv.push_back((dir_ / name).string());
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "7zz a failed";
    std::ifstream in(out, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static InputReport Scan(const std::string& name, std::string data) { return test::Scan(name, std::move(data)); }
  static const ObjectReport* Named(const InputReport& r, const std::string& name) {
    return test::FindObject(r.root, [&](const ObjectReport& x) { return x.name == name; });
  }

  fs::path dir_;
};

TEST_F(SevenZipTest, PasswordFromTheMailOpensAes7z) {
  std::string z = Make7z("eicar.com", test::Eicar(), "Zq7-unusual-42", false);
  auto r = Scan("mail.eml", test::MakeMail("Hi, the password is Zq7-unusual-42\r\n", "files.7z", z));
  const ObjectReport* archive = Named(r, "files.7z");
  ASSERT_NE(archive, nullptr);
  EXPECT_NE(test::FindingEvidence(*archive, "archive.encrypted").find("opened with 7zz in a sandbox"), std::string::npos)
      << test::FindingEvidence(*archive, "archive.encrypted");
  EXPECT_EQ(test::FindingEvidence(*archive, "archive.password"), "password: Zq7-unusual-42");
  const ObjectReport* eicar = Named(r, "eicar.com");
  ASSERT_NE(eicar, nullptr);
  EXPECT_EQ(eicar->path, "mail.eml > files.7z > eicar.com");
  EXPECT_TRUE(test::HasFinding(*eicar, "yara.EICAR_Test_File"));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST_F(SevenZipTest, EncryptedHeadersWithADefaultPassword) {
  auto r = Scan("sample.7z", Make7z("readme.txt", "plain words\n", "infected", true));
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted").find("archive headers are encrypted; 7z AES, opened"), std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_EQ(test::FindingEvidence(r.root, "archive.password"), "password: infected");
  const ObjectReport* readme = Named(r, "readme.txt");
  ASSERT_NE(readme, nullptr);
  EXPECT_EQ(readme->size, 12u);
}

TEST_F(SevenZipTest, UnknownPasswordFailsClosed) {
  auto r = Scan("sample.7z", Make7z("eicar.com", test::Eicar(), "not-in-any-list-9c1f", true));
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted").find("not opened: no candidate password worked"), std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_FALSE(test::HasFinding(r.root, "archive.password"));
  EXPECT_TRUE(r.root.children.empty());
}

TEST_F(SevenZipTest, Without7zzTheArchiveStaysClosed) {
  std::string z = Make7z("eicar.com", test::Eicar(), "infected", false);
  setenv("AIRLOCK_7ZZ", "/nonexistent/7zz", 1);
  auto r = Scan("sample.7z", z);
  unsetenv("AIRLOCK_7ZZ");
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted").find("not opened: 7zz (Debian package 7zip) is not installed"),
            std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_TRUE(r.root.children.empty());
}

TEST_F(SevenZipTest, BudgetsAreCheckedBeforeExtracting) {
  std::string z = Make7z("big.bin", std::string(300000, 'A'), "infected", false);
  SevenZipBudget budget;
  budget.max_bytes = 1000;
  auto r = OpenEncrypted7z(z, {"wrong", "infected"}, budget);
  EXPECT_EQ(r.status, SevenZipOutcome::Status::kTooLarge) << r.detail;
  EXPECT_EQ(r.password, "infected");
  EXPECT_TRUE(r.files.empty());
  budget.max_bytes = 300000;
  r = OpenEncrypted7z(z, {"wrong", "infected"}, budget);
  ASSERT_EQ(r.status, SevenZipOutcome::Status::kOpened) << r.detail;
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].first, "big.bin");
  EXPECT_EQ(r.files[0].second.size(), 300000u);

  // Through the engine: a limit finding, and nothing extracted.
  ScanLimits lim;
  lim.max_total_bytes = 1000;
  EngineOptions o;
  o.limits = lim;
  Engine engine(o);
  auto rep = engine.ScanBytes("big.7z", z);
  EXPECT_TRUE(test::HasFinding(rep.root, "scan.limit.total_bytes"));
  EXPECT_TRUE(rep.root.children.empty());
}

}  // namespace
}  // namespace airlock::scan
