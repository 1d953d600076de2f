// Probe, then decide: what this kernel and host offer, detected once (forked children try the real
// thing where reading a sysctl is not enough). Used by `airlock check`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace airlock {

struct ProbeItem {
  std::string name;
  bool ok = false;
  std::string detail;
  bool needed_by_default = false;  // the default profile cannot be enforced without it
};

std::vector<ProbeItem> ProbeHost();
nlohmann::json ProbeToJson(const std::vector<ProbeItem>& items);

}  // namespace airlock
