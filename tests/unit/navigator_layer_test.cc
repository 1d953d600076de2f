// The ATT&CK Navigator layer of a report (core/navigator_layer.h): every technique once, from the top
// level and from findings anywhere, scored by the strongest finding, with the rules that named it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/navigator_layer.h"

namespace airlock {
namespace {

using nlohmann::json;

json Technique(const json& layer, const std::string& id) {
  for (const auto& t : layer["techniques"]) {
    if (t["techniqueID"] == id) return t;
  }
  return nullptr;
}

TEST(NavigatorLayer, TechniquesFromFindingsAnywhereScoredByTheStrongest) {
  json report = {{"score", 7.5},
                 {"techniques", {"T1548.001", "T1059.004"}},
                 {"static", {{"findings", {{{"rule", "script.shell"}, {"severity", 3}, {"techniques", {"T1059.004"}}}}}}},
                 {"behavior", {{"matches", {{{"rule", "airlock-setuid-copy"}, {"severity", 8}, {"techniques", {"T1548.001"}}},
                                            {{"rule", "airlock-shell"}, {"severity", 6}, {"techniques", {"T1059.004"}}}}}}},
                 {"objects", {{{"findings", {{{"rule", "deep"}, {"severity", 2}, {"techniques", {"T1027"}}}}}}}}};
  json layer = NavigatorLayer(report, "n", "d");
  EXPECT_EQ(layer["domain"], "enterprise-attack");
  EXPECT_EQ(layer["versions"]["layer"], "4.5");
  ASSERT_EQ(layer["techniques"].size(), 3u) << layer.dump();
  EXPECT_EQ(Technique(layer, "T1548.001")["score"], 8.0);
  EXPECT_EQ(Technique(layer, "T1059.004")["score"], 6.0);
  EXPECT_EQ(Technique(layer, "T1059.004")["comment"], "airlock: airlock-shell, script.shell");
  EXPECT_EQ(Technique(layer, "T1027")["score"], 2.0);
}

TEST(NavigatorLayer, OddInputGivesAValidLayer) {
  EXPECT_TRUE(NavigatorLayer(json::array(), "n", "d")["techniques"].empty());
  json odd = {{"techniques", {1, nullptr, std::string(100, 'T')}}, {"score", "high"},
              {"findings", {{{"rule", 5}, {"techniques", {"T1"}}}, {{"rule", "r"}, {"severity", 99}, {"techniques", {"T2"}}}}}};
  json layer = NavigatorLayer(odd, "n", "d");
  ASSERT_EQ(layer["techniques"].size(), 1u) << layer.dump();
  EXPECT_EQ(layer["techniques"][0]["techniqueID"], "T2");
  EXPECT_EQ(layer["techniques"][0]["score"], 10.0) << "scores are clamped to 0..10";
}

}  // namespace
}  // namespace airlock
