#include "core/helper_path.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace airlock {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::string Canonical(const std::string& path) {
  char real[PATH_MAX];
  return ::realpath(path.c_str(), real) != nullptr ? std::string(real) : path;
}

// A regular file we may execute (a directory passes access(X_OK) too).
bool ExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string SelfExe() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = '\0';
  return self;
}

std::string HelperBuildDir(const std::string& name) {
  if (name == "airlock") return "cli";
  if (name == "airlock-scan") return "scan";
  if (name == "airlock-analyze" || name == "airlock-browse" || name == "airlock-standin") return "analyze";
  if (name == "airlock-milter") return "milter";
  if (name == "airlock-watch") return "watch";
  if (name == "airlock-browser") return "browser";
  if (name == "airlock-audit") return "audit";
  if (name == "airlock-boxtar") return "box";
  if (name == "airlock-serve" || name == "airlock-worker") return "service";
  return "sigma";  // airlock-rules
}

std::vector<std::string> HelperCandidates(const std::string& name) {
  std::vector<std::string> c;
  if (std::string dir = Env("AIRLOCK_LIBEXEC_DIR"); !dir.empty()) c.push_back(dir + "/" + name);
  if (std::string bin = Env("AIRLOCK_BIN"); name == "airlock" && !bin.empty()) c.push_back(bin);
  if (std::string self = SelfExe(); !self.empty()) {
    std::string dir = self.substr(0, self.rfind('/'));
    c.push_back(dir + "/" + name);
    c.push_back(dir + "/../" + HelperBuildDir(name) + "/" + name);
    c.push_back(dir + "/../../src/" + HelperBuildDir(name) + "/" + name);  // a test binary in <build>/tests/<tier>/
    c.push_back(dir + "/../libexec/airlock/" + name);
    c.push_back(dir + "/../../bin/" + name);
    c.push_back(dir + "/../bin/" + name);
  }
  c.push_back(std::string(AIRLOCK_LIBEXECDIR) + "/" + name);
  return c;
}

std::string FindHelper(const std::string& name) {
  for (const auto& c : HelperCandidates(name)) {
    if (ExecutableFile(c)) return Canonical(c);
  }
  return "";
}

std::string FindRulesDir(const std::string& probe, const std::string& source_dir) {
  if (std::string env = Env("AIRLOCK_RULES_DIR"); !env.empty()) return env;
  std::error_code ec;
  if (std::string self = SelfExe(); !self.empty()) {
    fs::path installed = fs::path(self).parent_path() / ".." / ".." / "share" / "airlock" / "rules";
    if (fs::is_directory(installed / probe, ec)) return fs::weakly_canonical(installed, ec).string();
  }
  return source_dir;
}

}  // namespace airlock
