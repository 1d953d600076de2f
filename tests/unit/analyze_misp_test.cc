// The MISP event of an analyze report (analyze/misp_export.h): hashes, domains and URLs as attributes,
// the verdict and techniques as tags, sinkhole addresses never indicators.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "analyze/misp_export.h"

namespace airlock::analyze {
namespace {

using nlohmann::json;

std::string Types(const json& event) {
  std::string out;
  for (const auto& a : event["Event"]["Attribute"]) out += a["type"].get<std::string>() + ":" + a["value"].get<std::string>() + (a["to_ids"].get<bool>() ? "!" : "") + " ";
  return out;
}

TEST(AnalyzeMisp, IndicatorsAndTags) {
  json report = {{"verdict", "malicious"}, {"started", "2026-12-06T05:00:00.000Z"}, {"techniques", {"T1071.001"}},
                 {"sample", {{"name", "c2.sh"}, {"hashes", {{"sha256", "aa"}, {"md5", "bb"}}}}},
                 {"dropped", {{{"path", "/tmp/x"}, {"verdict", "clean"}, {"hashes", {{"sha256", "cc"}}}},
                              {{"path", "/tmp/y"}, {"verdict", "malicious"}, {"hashes", {{"sha256", "dd"}}}}}},
                 {"network", {{"domains", {"c2.evil.example", "c2.evil.example"}},
                              {"destinations", {{{"ip", "198.18.0.1"}, {"port", 80}}}},
                              {"urls", {{{"method", "POST"}, {"url", "http://c2.evil.example/api"}}}}}}};
  json e = MispEvent(report);
  EXPECT_EQ(Types(e), "sha256:aa! md5:bb! sha256:cc sha256:dd! domain:c2.evil.example! url:http://c2.evil.example/api! ");
  EXPECT_EQ(e["Event"]["threat_level_id"], "1");
  EXPECT_EQ(e["Event"]["date"], "2026-12-06");
  EXPECT_EQ(e["Event"]["info"], "airlock analyze: c2.sh (malicious)");
  ASSERT_EQ(e["Event"]["Tag"].size(), 2u);
  EXPECT_EQ(e["Event"]["Tag"][1]["name"], "misp-galaxy:mitre-attack-pattern=\"T1071.001\"");
  EXPECT_EQ(e.dump().find("198.18.0.1"), std::string::npos) << "a sinkhole address is no indicator";
}

TEST(AnalyzeMisp, WrongTypesAreSkipped) {
  json odd = {{"verdict", 3}, {"sample", "x"}, {"dropped", {1, {{"hashes", "no"}}}}, {"network", {{"domains", {5}}, {"urls", "u"}}}};
  json e = MispEvent(odd);
  EXPECT_TRUE(e["Event"]["Attribute"].empty()) << e.dump();
  EXPECT_EQ(e["Event"]["Tag"][0]["name"], "airlock:verdict=\"error\"");
  EXPECT_TRUE(MispEvent(json::array())["Event"]["Attribute"].empty());
}

}  // namespace
}  // namespace airlock::analyze
