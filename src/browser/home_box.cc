#include "browser/home_box.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/helper_path.h"
#include "core/json_text.h"
#include "core/private_dir.h"
#include "process/spawn.h"

namespace airlock::browser {
namespace {

bool BoxExists(const std::string& airlock, const std::string& box) {
  auto listed = process::SpawnAndCapture({airlock, "box", "list", "--json"});
  if (!listed || listed->exit_code != 0) return false;
  auto j = nlohmann::json::parse(listed->out, nullptr, false);
  auto has = [&](const nlohmann::json& arr) {
    if (!arr.is_array()) return false;
    for (const auto& b : arr) if (b.is_object() && b.value("name", "") == box) return true;
    return false;
  };
  return has(j) || (j.is_object() && has(j.value("boxes", nlohmann::json::array())));
}

}  // namespace

Status EnsureHomeBox(const std::string& box, const std::string& profile, const std::string& homes,
                     const std::string& inside_home, const std::string& what) {
  const std::string airlock = FindHelper("airlock");
  if (airlock.empty()) return MakeError("the airlock front end was not found (AIRLOCK_BIN?)");
  if (BoxExists(airlock, box)) return Ok();
  const std::string lower = homes + "/" + box;
  // Owned by the caller: a box shows the caller's files (root's, through its idmapped layers) as the
  // sandbox user's own, so the program can write into the box's upper layer.
  if (auto made = MakePrivateDirs(lower); !made) return made;
  auto made = process::SpawnAndCapture({airlock, "box", "create", box, "--profile", profile, "--over", lower + ":" + inside_home});
  if (!made) return std::unexpected(made.error());
  if (made->exit_code != 0) return MakeError("airlock box create " + box + ": " + Utf8Text(made->err.substr(0, 400)));
  std::fprintf(stderr, "airlock: created box '%s' for %s (its home starts empty; `airlock box rm %s` forgets it)\n", box.c_str(),
               what.c_str(), box.c_str());
  return Ok();
}

std::vector<std::string> WithBox(std::vector<std::string> run_argv, const std::string& box) {
  // `airlock box run NAME` takes every `airlock run` option: the same argv with the box named.
  run_argv.erase(run_argv.begin() + 1);
  run_argv.insert(run_argv.begin() + 1, {"box", "run", box});
  return run_argv;
}

}  // namespace airlock::browser
