// The quarantine store and `airlock-milter quarantine`, with sendmail/postsuper/postqueue replaced by a
// program that records its argv and stdin (record_argv.c).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "milter/quarantine_store.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

using airlock::test::ReadFileOrEmpty;
namespace fs = std::filesystem;

class Quarantine : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = airlock::test::MakeTempDir("milter-quarantine");
    bin_ = dir_ + "/bin";
    rec_ = dir_ + "/rec";
    fs::create_directories(bin_);
    fs::create_directories(rec_);
    for (const char* p : {"sendmail", "postsuper", "postqueue"}) fs::copy_file(MILTER_RECORD_ARGV, bin_ + "/" + p);
    for (const char* p : {"sendmail", "postsuper", "postqueue"}) ::chmod((bin_ + "/" + p).c_str(), 0755);
    airlock::test::WriteFile(dir_ + "/milter.toml", "[quarantine]\nsendmail = \"" + bin_ + "/sendmail\"\npostsuper = \"" + bin_ +
                                                         "/postsuper\"\npostfix_config_dir = \"/etc/postfix-test\"\n");
    ::setenv("RECORD_DIR", rec_.c_str(), 1);
    ::unsetenv("RECORD_POSTQUEUE_OUTPUT");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string AddEntry(const std::string& message, const std::string& qid = "4ABCDEF123") {
    QuarantineStore store(dir_ + "/state");
    QuarantineMeta meta{"", qid, "alice@example.org", {"bob@example.org", "carol@example.org"}, "2026-11-27T08:00:00Z",
                        "malicious", 10, {"T1204.002"}};
    auto id = store.Add(meta, message, "{\"verdict\":\"malicious\"}\n");
    EXPECT_TRUE(id) << id.error().What();
    return id ? *id : "";
  }
  airlock::test::RunResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {MILTER_BIN, "quarantine", "--state-dir", dir_ + "/state", "--config", dir_ + "/milter.toml"};
    argv.insert(argv.end(), args.begin(), args.end());
    return airlock::test::Run(argv);
  }
  std::string dir_, bin_, rec_;
};

TEST_F(Quarantine, StoreLayoutListShow) {
  std::string msg = "From: a@example.org\r\nSubject: x\r\n\r\nbody \x01\xff bytes\r\n";
  std::string id = AddEntry(msg);
  ASSERT_TRUE(ValidQuarantineId(id)) << id;
  std::string entry = dir_ + "/state/quarantine/" + id;
  EXPECT_EQ(ReadFileOrEmpty(entry + "/message.eml"), msg) << "byte for byte";
  EXPECT_EQ(ReadFileOrEmpty(entry + "/report.json"), "{\"verdict\":\"malicious\"}\n");
  auto meta = nlohmann::json::parse(ReadFileOrEmpty(entry + "/meta.json"));
  for (const char* k : {"id", "queue_id", "sender", "recipients", "time", "verdict", "score", "techniques"}) {
    EXPECT_TRUE(meta.contains(k)) << k;
  }
  EXPECT_EQ(meta["id"], id);
  struct stat st {};
  ASSERT_EQ(::stat((entry + "/message.eml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto list = Cli({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto arr = nlohmann::json::parse(list.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], id);
  EXPECT_EQ(arr[0]["recipients"].size(), 2u);
  auto text = Cli({"list"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find(id), std::string::npos);
  auto show = Cli({"show", id});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j["report"]["verdict"], "malicious");
}

// An envelope from the mail with bytes that are not UTF-8: the entry is stored (the metadata writer
// used to throw), its meta.json is valid JSON keeping the bytes as \xNN, and `list --json` prints it.
TEST_F(Quarantine, MetaWithBytesThatAreNotUtf8) {
  QuarantineStore store(dir_ + "/state");
  QuarantineMeta meta{"", "4ABCDEF124", "al\xff" "ce@example.org", {"b\xc0" "b@example.org"}, "2026-11-27T08:00:00Z", "malicious", 10, {}};
  auto id = store.Add(meta, "From: x\r\n\r\nbody\r\n", "{}\n");
  ASSERT_TRUE(id) << id.error().What();
  auto stored = nlohmann::json::parse(ReadFileOrEmpty(dir_ + "/state/quarantine/" + *id + "/meta.json"));  // strict parser
  EXPECT_EQ(stored["sender"], "al\\xffce@example.org");
  EXPECT_EQ(stored["recipients"][0], "b\\xc0b@example.org");
  auto list = Cli({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out)[0]["sender"], "al\\xffce@example.org");
}

TEST_F(Quarantine, UnknownOrMalformedIdExitsOne) {
  EXPECT_EQ(Cli({"show", "20261127T080000-deadbeef"}).exit_code, 1);
  EXPECT_EQ(Cli({"release", "../../etc"}).exit_code, 1);
  EXPECT_EQ(Cli({"delete", "20261127T080000-DEADBEEF"}).exit_code, 1);
  EXPECT_EQ(Cli({"frobnicate", "x"}).exit_code, 2);
}

TEST_F(Quarantine, ReleaseReinjectsTheOriginalWithSendmailWhenNotHeld) {
  std::string msg = "From: a@example.org\r\nSubject: release me\r\n\r\nline 1\r\n.\r\nline 3\r\n";
  std::string id = AddEntry(msg);
  auto r = Cli({"release", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string log = ReadFileOrEmpty(rec_ + "/sendmail.log");
  EXPECT_EQ(log, "argv: -C /etc/postfix-test -i -f alice@example.org -- bob@example.org carol@example.org\nstdin:\n" + msg);
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/postsuper.log"), "");
  EXPECT_NE(ReadFileOrEmpty(rec_ + "/postqueue.log").find("-c /etc/postfix-test -j"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/state/quarantine/" + id));
  EXPECT_EQ(Cli({"release", id}).exit_code, 1);
}

TEST_F(Quarantine, ReleaseFromTheHoldQueueWhenTheMtaStillHoldsIt) {
  std::string id = AddEntry("Subject: held\r\n\r\nx\r\n", "4HELDQ1");
  ::setenv("RECORD_POSTQUEUE_OUTPUT",
           "{\"queue_name\": \"deferred\", \"queue_id\": \"4OTHER\"}\n{\"queue_name\": \"hold\", \"queue_id\": \"4HELDQ1\"}\n", 1);
  auto r = Cli({"release", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/postsuper.log"), "argv: -c /etc/postfix-test -H 4HELDQ1\nstdin:\n");
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/sendmail.log"), "") << "not re-injected: released from hold instead";
  EXPECT_FALSE(fs::exists(dir_ + "/state/quarantine/" + id));
}

TEST_F(Quarantine, DeleteRemovesTheEntryAndTheHeldMessage) {
  std::string id = AddEntry("Subject: bye\r\n\r\nx\r\n", "4DELQ");
  auto r = Cli({"delete", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/postsuper.log"), "argv: -c /etc/postfix-test -d 4DELQ hold\nstdin:\n");
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/sendmail.log"), "");
  EXPECT_FALSE(fs::exists(dir_ + "/state/quarantine/" + id));
  auto list = Cli({"list", "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 0u);
}

TEST_F(Quarantine, FailingSendmailKeepsTheEntry) {
  std::string id = AddEntry("Subject: x\r\n\r\nx\r\n");
  airlock::test::WriteFile(dir_ + "/milter.toml", "[quarantine]\nsendmail = \"/bin/false\"\npostsuper = \"" + bin_ + "/postsuper\"\n");
  auto r = Cli({"release", id});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(fs::exists(dir_ + "/state/quarantine/" + id));
}

}  // namespace
}  // namespace airlock::milter
