#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

int ExecHelper(const std::string& helper, int argc, char** argv) {
  std::vector<std::string> candidates;
  if (const char* dir = getenv("AIRLOCK_LIBEXEC_DIR"); dir && *dir) candidates.push_back(std::string(dir) + "/" + helper);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self);
    dir = dir.substr(0, dir.rfind('/'));
    candidates.push_back(dir + "/../libexec/airlock/" + helper);               // installed: bin/ -> libexec/airlock/
    candidates.push_back(dir + "/" + helper);                                  // side by side / staged
    std::string build_sub = helper == "airlock-scan" ? "scan" : helper == "airlock-analyze" ? "analyze"
                            : helper == "airlock-audit"   ? "audit"
                            : helper == "airlock-milter"  ? "milter"
                                                          : "sigma";
    candidates.push_back(dir + "/../" + build_sub + "/" + helper);             // build tree: src/cli -> src/scan
  }
  candidates.push_back(std::string(AIRLOCK_LIBEXECDIR) + "/" + helper);
  std::vector<char*> args;
  args.push_back(const_cast<char*>(helper.c_str()));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  for (const auto& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) {
      execv(c.c_str(), args.data());
      std::fprintf(stderr, "airlock: cannot execute %s: %s\n", c.c_str(), std::strerror(errno));
      return kExitNotExecutable;
    }
  }
  std::fprintf(stderr, "airlock: %s is not installed (looked beside airlock and in %s)\n", helper.c_str(), AIRLOCK_LIBEXECDIR);
  return kExitNotFound;
}

}  // namespace airlock::cli
