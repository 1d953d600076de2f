// The SigmaHQ Linux rule set (read in place from shared/reference): every rule loads, every
// unsupported rule is unsupported only for its log source, and every supported rule fires on an
// event synthesised from its own detection and stays quiet on an unrelated event of its category.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "event_synth.h"
#include "sigma/rule_set.h"

namespace airlock::sigma::test {
namespace {

const std::string kCorpus = AIRLOCK_SOURCE_DIR "/../shared/reference/sigma/rules/linux";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SigmaHQCorpus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rules_ = new RuleSet();
    if (!std::filesystem::is_directory(kCorpus)) return;
    ASSERT_TRUE(rules_->LoadDirectory(kCorpus));
  }
  static void TearDownTestSuite() {
    delete rules_;
    rules_ = nullptr;
  }
  void SetUp() override {
    if (!std::filesystem::is_directory(kCorpus)) GTEST_SKIP() << "SigmaHQ reference rules missing at " << kCorpus;
  }
  static RuleSet* rules_;
};
RuleSet* SigmaHQCorpus::rules_ = nullptr;

TEST_F(SigmaHQCorpus, EveryRuleLoads) {
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kCorpus))
    if (e.is_regular_file() && (e.path().extension() == ".yml" || e.path().extension() == ".yaml")) ++files;
  const auto& r = rules_->report();
  for (const auto& e : r.errors) ADD_FAILURE() << "parse error: " << e.reason;
  EXPECT_EQ(r.files, files);
  EXPECT_EQ(r.loaded, files);
  EXPECT_EQ(r.loaded, r.supported + r.unsupported.size());
  std::map<std::string, int> by_reason;
  for (const auto& u : r.unsupported) {
    ++by_reason[u.reason];
    // Engine features are all implemented: only log sources airlock cannot feed are unsupported.
    EXPECT_EQ(u.reason.rfind("logsource ", 0), 0u) << u.file << ": " << u.reason;
  }
  std::cout << "[ sigmahq ] files " << r.files << ", loaded " << r.loaded << ", supported " << r.supported
            << ", unsupported " << r.unsupported.size() << ", errors " << r.errors.size() << "\n";
  for (const auto& [reason, n] : by_reason) std::cout << "[ sigmahq ]   " << n << "  " << reason << "\n";
  EXPECT_GT(r.supported, 0u);
}

TEST_F(SigmaHQCorpus, EverySupportedRuleFiresOnItsSynthesisedEvent) {
  size_t exercised = 0, supported = 0;
  std::vector<std::string> failed;
  for (const auto& rule : rules_->rules()) {
    if (!rule->supported) continue;
    ++supported;
    const Rule* target = rule.get();
    auto fires = [&](const nlohmann::json& ev) {
      for (const auto& m : rules_->Match(ev))
        if (m.rule == target) return true;
      return false;
    };
    SynthResult s = Synthesise(ReadAll(rule->origin), fires);
    if (s.ok) {
      ++exercised;
      if (std::getenv("AIRLOCK_SIGMA_DUMP")) std::cout << rule->id << " " << s.event.dump() << "\n";
    } else {
      failed.push_back(rule->origin + ": " + s.reason);
    }
  }
  std::cout << "[ sigmahq ] exercised " << exercised << " of " << supported << " supported rules\n";
  for (const auto& f : failed) std::cout << "[ sigmahq ] could not synthesise: " << f << "\n";
  EXPECT_TRUE(failed.empty()) << failed.size() << " rules could not be exercised";
  EXPECT_EQ(exercised, supported);
}

TEST_F(SigmaHQCorpus, NoSupportedRuleFiresOnUnrelatedEvent) {
  std::vector<std::string> fired;
  size_t checked = 0;
  for (const auto& rule : rules_->rules()) {
    if (!rule->supported) continue;
    ++checked;
    nlohmann::json ev = Unrelated(ReadAll(rule->origin));
    for (const auto& m : rules_->Match(ev))
      if (m.rule == rule.get()) fired.push_back(rule->origin + " on " + ev.dump());
  }
  for (const auto& f : fired) ADD_FAILURE() << "fired on unrelated event: " << f;
  EXPECT_GT(checked, 0u);
}

// The unsupported rules (auditd, syslog keyword searches ...) still compile; re-homed onto a
// supported category, their detections must work in the engine too (keyword lists, |all keyword
// maps, auditd field names).
TEST_F(SigmaHQCorpus, UnsupportedRulesDetectionsWorkWhenRehomed) {
  size_t exercised = 0, total = 0;
  std::vector<std::string> failed;
  for (const auto& rule : rules_->rules()) {
    if (rule->supported) continue;
    ++total;
    YAML::Node doc = YAML::Load(ReadAll(rule->origin));
    YAML::Node ls(YAML::NodeType::Map);
    ls["product"] = "linux";
    ls["category"] = "process_creation";
    doc["logsource"] = ls;
    YAML::Emitter em;
    em << doc;
    RuleSet one;
    ASSERT_TRUE(one.LoadText(em.c_str(), rule->origin)) << rule->origin;
    ASSERT_EQ(one.report().supported, 1u) << rule->origin;
    const Rule* target = one.rules().front().get();
    auto fires = [&](const nlohmann::json& ev) { return target->Matches(ev); };
    SynthResult s = Synthesise(em.c_str(), fires);
    if (s.ok) {
      ++exercised;
    } else {
      failed.push_back(rule->origin + ": " + s.reason);
    }
    EXPECT_FALSE(fires(Unrelated(em.c_str()))) << rule->origin;
  }
  std::cout << "[ sigmahq ] re-homed unsupported rules exercised " << exercised << " of " << total << "\n";
  for (const auto& f : failed) std::cout << "[ sigmahq ] could not synthesise: " << f << "\n";
  EXPECT_TRUE(failed.empty());
}

// Truncated and byte-flipped versions of every corpus rule: parsing returns a rule or an error,
// never crashes or hangs (run under ASan in CI's sanitizer job).
TEST_F(SigmaHQCorpus, MutatedRulesNeverCrash) {
  size_t parsed = 0, rejected = 0;
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  const std::string junk = "[]{}:-|*?'\"\\#&!%@`\n\t ";
  for (const auto& rule : rules_->rules()) {
    std::string text = ReadAll(rule->origin);
    for (int i = 0; i < 12; ++i) {
      std::string m = text;
      if (i % 3 == 0) {
        m.resize(next() % (m.size() + 1));
      } else {
        for (int k = 0; k < 1 + i; ++k) m[next() % m.size()] = junk[next() % junk.size()];
      }
      auto r = ParseRules(m, rule->origin);
      if (r) {
        ++parsed;
        for (const auto& x : *r) (void)x.Matches(nlohmann::json{{"CommandLine", m.substr(0, 64)}});
      } else {
        ++rejected;
      }
    }
  }
  std::cout << "[ sigmahq ] mutated rules: " << parsed << " parsed, " << rejected << " rejected\n";
  EXPECT_GT(rejected, 0u);
  EXPECT_GT(parsed, 0u);
}

TEST_F(SigmaHQCorpus, CategoryRoutingKeepsRulesApart) {
  // A process_creation event never reaches network_connection rules and vice versa.
  nlohmann::json ev = {{"category", "network_connection"}, {"Image", "/bin/bash"}, {"DestinationIp", "10.1.2.3"}};
  auto matches = rules_->Match(ev);
  ASSERT_FALSE(matches.empty());  // Linux Reverse Shell Indicator
  for (const auto& m : matches) EXPECT_EQ(m.rule->logsource.category, "network_connection");
  ev["category"] = "process_creation";
  for (const auto& m : rules_->Match(ev)) EXPECT_EQ(m.rule->logsource.category, "process_creation");
  ev["category"] = "no_such_category";
  EXPECT_TRUE(rules_->Match(ev).empty());
}

}  // namespace
}  // namespace airlock::sigma::test
