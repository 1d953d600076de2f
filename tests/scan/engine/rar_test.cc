// Encrypted RAR through the sandboxed lsar/unar (scan/unpack/rar_sandbox.h). No free tool creates
// RAR archives: make_rar5.py (beside this file) writes minimal RAR 5 archives at test time, stored,
// optionally AES-256 encrypted. Skipped loudly when unar or python3's `cryptography` is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "scan/engine.h"
#include "scan/unpack/rar5_headers.h"
#include "scan/unpack/rar_sandbox.h"
#include "scan/yara_rules.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

namespace fs = std::filesystem;

int RunQuiet(std::vector<std::string> argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

class RarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("AIRLOCK_BIN") == nullptr) setenv("AIRLOCK_BIN", AIRLOCK_CLI_BIN, 1);
    if (access("/usr/bin/unar", X_OK) != 0 || access("/usr/bin/lsar", X_OK) != 0) {
      GTEST_SKIP() << "SKIPPED: /usr/bin/unar or lsar missing (apt-get install unar)";
    }
    if (RunQuiet({"python3", "-c", "import cryptography"}) != 0) {
      GTEST_SKIP() << "SKIPPED: python3 with the cryptography module is missing (apt-get install python3-cryptography)";
    }
    ASSERT_FALSE(FindAirlockForScan().empty()) << "airlock binary not found";
    const char* tmp = std::getenv("TMPDIR");
    dir_ = fs::path(tmp != nullptr ? tmp : "/tmp") / ("scan-rar-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // make_rar5.py [--encrypt-headers | --claim-compressed] OUT NAME CONTENT [PW]: one stored member
  // NAME holding DATA (with --claim-compressed, labelled compressed: no reader can decompress it).
  std::string MakeRar(const std::string& name, const std::string& data, const std::string& pw,
                      bool encrypt_headers = false, bool claim_compressed = false) {
    std::ofstream(dir_ / "content", std::ios::binary) << data;
    fs::path out = dir_ / "out.rar";
    fs::remove(out);
    std::vector<std::string> argv = {"python3", std::string(AIRLOCK_SOURCE_DIR) + "/tests/scan/engine/make_rar5.py"};
    if (encrypt_headers) argv.push_back("--encrypt-headers");
    if (claim_compressed) argv.push_back("--claim-compressed");
    for (const std::string& a : {out.string(), name, (dir_ / "content").string()}) argv.push_back(a);
    if (!pw.empty()) argv.push_back(pw);
    EXPECT_EQ(RunQuiet(argv), 0) << "make_rar5.py failed";
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

TEST_F(RarTest, PasswordFromTheMailOpensEncryptedRar) {
  std::string rar = MakeRar("eicar.com", test::Eicar(), "Rx9-unusual-77");
  ASSERT_TRUE(rar.starts_with("Rar!\x1a\x07\x01"));
  auto r = Scan("mail.eml", test::MakeMail("Hi, the password is Rx9-unusual-77\r\n", "files.rar", rar));
  const ObjectReport* archive = Named(r, "files.rar");
  ASSERT_NE(archive, nullptr);
  EXPECT_NE(test::FindingEvidence(*archive, "archive.encrypted").find("RAR AES, opened with unar in a sandbox"), std::string::npos)
      << test::FindingEvidence(*archive, "archive.encrypted");
  EXPECT_EQ(test::FindingEvidence(*archive, "archive.password"), "password: Rx9-unusual-77");
  const ObjectReport* eicar = Named(r, "eicar.com");
  ASSERT_NE(eicar, nullptr);
  EXPECT_EQ(eicar->path, "mail.eml > files.rar > eicar.com");
  EXPECT_TRUE(test::HasFinding(*eicar, "yara.EICAR_Test_File"));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST_F(RarTest, WrongPasswordInTheMailFailsClosed) {
  std::string rar = MakeRar("eicar.com", test::Eicar(), "not-in-any-list-7d2e");
  auto r = Scan("mail.eml", test::MakeMail("Hi, the password is Rx9-unusual-77\r\n", "files.rar", rar));
  const ObjectReport* archive = Named(r, "files.rar");
  ASSERT_NE(archive, nullptr);
  EXPECT_NE(test::FindingEvidence(*archive, "archive.encrypted").find("RAR AES, not opened: no candidate password worked"),
            std::string::npos)
      << test::FindingEvidence(*archive, "archive.encrypted");
  EXPECT_FALSE(test::HasFinding(*archive, "archive.password"));
  EXPECT_TRUE(archive->children.empty());
  EXPECT_EQ(Named(r, "eicar.com"), nullptr);
}

TEST_F(RarTest, NoPasswordAtAllFailsClosed) {
  auto r = Scan("sample.rar", MakeRar("eicar.com", test::Eicar(), "not-in-any-list-7d2e"));
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted").find("not opened: no candidate password worked"), std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_FALSE(test::HasFinding(r.root, "archive.password"));
  EXPECT_TRUE(r.root.children.empty());
}

TEST_F(RarTest, DefaultPasswordOpensIt) {
  auto r = Scan("sample.rar", MakeRar("readme.txt", "plain words\n", "infected"));
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted").find("opened with unar in a sandbox"), std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_EQ(test::FindingEvidence(r.root, "archive.password"), "password: infected");
  const ObjectReport* readme = Named(r, "readme.txt");
  ASSERT_NE(readme, nullptr);
  EXPECT_EQ(readme->size, 12u);
}

TEST_F(RarTest, EncryptedHeadersWithThePasswordInTheMail) {
  std::string rar = MakeRar("eicar.com", test::Eicar(), "Hq4-unusual-19", true);
  EXPECT_TRUE(FindRar5Encryption(rar).headers);
  auto r = Scan("mail.eml", test::MakeMail("Kennwort: Hq4-unusual-19\r\n", "files.rar", rar));
  const ObjectReport* archive = Named(r, "files.rar");
  ASSERT_NE(archive, nullptr);
  EXPECT_NE(test::FindingEvidence(*archive, "archive.encrypted").find("archive headers are encrypted; RAR AES, opened with unar"),
            std::string::npos)
      << test::FindingEvidence(*archive, "archive.encrypted");
  EXPECT_EQ(test::FindingEvidence(*archive, "archive.password"), "password: Hq4-unusual-19");
  const ObjectReport* eicar = Named(r, "eicar.com");
  ASSERT_NE(eicar, nullptr);
  EXPECT_TRUE(test::HasFinding(*eicar, "yara.EICAR_Test_File"));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST_F(RarTest, EncryptedHeadersWithAnUnknownPasswordFailClosed) {
  auto r = Scan("sample.rar", MakeRar("eicar.com", test::Eicar(), "not-in-any-list-5b8a", true));
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted")
                .find("archive headers are encrypted; RAR AES, not opened: no candidate password worked"),
            std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_TRUE(r.root.children.empty());
}

// The header walk that stands in for libarchive 3.6 (which hands out RAR 5 ciphertext as data).
TEST_F(RarTest, HeaderWalkFindsEncryptedMembersAndSurvivesTruncation) {
  std::string enc = MakeRar("dir/eicar.com", test::Eicar(), "infected");
  std::string plain = MakeRar("eicar.com", test::Eicar(), "");
  Rar5Encryption e = FindRar5Encryption(enc);
  EXPECT_FALSE(e.headers);
  EXPECT_EQ(e.members, std::vector<std::string>{"dir/eicar.com"});
  e = FindRar5Encryption(plain);
  EXPECT_FALSE(e.headers);
  EXPECT_TRUE(e.members.empty());
  EXPECT_TRUE(FindRar5Encryption("PK\x03\x04 not a rar").members.empty());
  size_t found = 0;
  for (size_t n = 0; n <= enc.size(); ++n) {
    found += FindRar5Encryption(std::string_view(enc).substr(0, n)).members.size();
    std::string flipped = enc;
    if (n < flipped.size()) flipped[n] = static_cast<char>(flipped[n] ^ 0xFF);
    (void)FindRar5Encryption(flipped);
  }
  EXPECT_GT(found, 0u);  // prefixes that hold the whole file header still show the member
}

TEST_F(RarTest, UnencryptedRarIsReadByLibarchive) {
  // No sandbox involved: without unar the plain archive still opens.
  setenv("AIRLOCK_UNAR", "/nonexistent/unar", 1);
  auto r = Scan("sample.rar", MakeRar("eicar.com", test::Eicar(), ""));
  unsetenv("AIRLOCK_UNAR");
  EXPECT_FALSE(test::HasFinding(r.root, "archive.encrypted"));
  EXPECT_FALSE(test::HasFinding(r.root, "archive.corrupt")) << test::FindingEvidence(r.root, "archive.corrupt");
  const ObjectReport* eicar = Named(r, "eicar.com");
  ASSERT_NE(eicar, nullptr);
  EXPECT_EQ(eicar->path, "sample.rar > eicar.com");
  EXPECT_TRUE(test::HasFinding(*eicar, "yara.EICAR_Test_File"));
}

// A damaged RAR's headers still name its members (archive.damaged_names). Two kinds of damage: a
// member whose data cannot be decompressed (unar fails it too: "Error on decrunching"), and an
// archive cut inside the member's data (a truncated download or attachment). Stored data that is
// merely overwritten is read as it is: libarchive checks no stored member's CRC, so such a member is
// scanned, not named. Each hard negative is the same damage to a document: only "damaged" (clean).
TEST_F(RarTest, ADamagedRarNamesItsMembersInItsHeaders) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "line " + std::to_string(i * 7919 % 1000) + " of the quotation\n";
  auto undecompressable = [&](const std::string& member) { return MakeRar(member, text, "", false, true); };
  auto truncated = [&](const std::string& member) {
    std::string rar = MakeRar(member, text, "");
    const size_t at = rar.find("line 0 of");
    EXPECT_NE(at, std::string::npos) << "the member is stored";
    return rar.substr(0, at + 100);
  };
  for (const auto& damage : {std::function<std::string(const std::string&)>(undecompressable),
                             std::function<std::string(const std::string&)>(truncated)}) {
    auto r = Scan("mail.eml", test::MakeMail("Please see the attached RFQ.\r\n", "RFQ.rar", damage("REQUEST FOR QUOTE.exe")));
    const ObjectReport* archive = Named(r, "RFQ.rar");
    ASSERT_NE(archive, nullptr);
    EXPECT_TRUE(test::HasFinding(*archive, "archive.corrupt"));
    EXPECT_EQ(test::FindingEvidence(*archive, "archive.damaged_names"), "names in its headers: REQUEST FOR QUOTE.exe");
    EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious) << r.root.assessment.score;
    auto doc = Scan("mail.eml", test::MakeMail("Please see the attached RFQ.\r\n", "RFQ.rar", damage("REQUEST FOR QUOTE.pdf")));
    const ObjectReport* doc_archive = Named(doc, "RFQ.rar");
    ASSERT_NE(doc_archive, nullptr);
    EXPECT_TRUE(test::HasFinding(*doc_archive, "archive.corrupt"));
    EXPECT_EQ(test::FindWithFinding(doc.root, "archive.damaged_names"), nullptr);
    EXPECT_EQ(doc.root.assessment.verdict, Verdict::kClean) << doc.root.assessment.score;
  }
}

TEST_F(RarTest, WithoutUnarTheArchiveStaysClosed) {
  std::string rar = MakeRar("eicar.com", test::Eicar(), "infected");
  setenv("AIRLOCK_UNAR", "/nonexistent/unar", 1);
  auto r = Scan("sample.rar", rar);
  unsetenv("AIRLOCK_UNAR");
  EXPECT_NE(test::FindingEvidence(r.root, "archive.encrypted").find("not opened: unar/lsar (Debian package unar) is not installed"),
            std::string::npos)
      << test::FindingEvidence(r.root, "archive.encrypted");
  EXPECT_FALSE(test::HasFinding(r.root, "archive.password"));
  EXPECT_TRUE(r.root.children.empty());
}

TEST_F(RarTest, BudgetsAreCheckedBeforeExtracting) {
  std::string rar = MakeRar("big.bin", std::string(300000, 'A'), "infected");
  ExtractBudget budget;
  budget.max_bytes = 1000;
  auto r = OpenEncryptedRar(rar, {"wrong", "infected"}, budget);
  EXPECT_EQ(r.status, ExtractOutcome::Status::kTooLarge) << r.detail;
  EXPECT_EQ(r.password, "infected");
  EXPECT_TRUE(r.files.empty());
  budget.max_bytes = 300000;
  r = OpenEncryptedRar(rar, {"wrong", "infected"}, budget);
  ASSERT_EQ(r.status, ExtractOutcome::Status::kOpened) << r.detail;
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].first, "big.bin");
  EXPECT_EQ(r.files[0].second, std::string(300000, 'A'));
  budget.max_files = 0;
  r = OpenEncryptedRar(rar, {"infected"}, budget);
  EXPECT_EQ(r.status, ExtractOutcome::Status::kTooLarge) << r.detail;
  budget.max_files = 1;
  r = OpenEncryptedRar(rar, {"wrong", "also-wrong"}, budget);
  EXPECT_EQ(r.status, ExtractOutcome::Status::kNoPassword) << r.detail;
  EXPECT_TRUE(r.files.empty());
}

}  // namespace
}  // namespace airlock::scan
