#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/helper_path.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

int ExecHelper(const std::string& helper, int argc, char** argv) {
  std::vector<char*> args;
  args.push_back(const_cast<char*>(helper.c_str()));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  std::string path = FindHelper(helper);  // one rule for every sibling binary (core/helper_path.h)
  if (path.empty()) {
    std::fprintf(stderr, "airlock: %s is not installed (looked beside airlock and in %s)\n", helper.c_str(), AIRLOCK_LIBEXECDIR);
    return kExitNotFound;
  }
  execv(path.c_str(), args.data());
  std::fprintf(stderr, "airlock: cannot execute %s: %s\n", path.c_str(), std::strerror(errno));
  return kExitNotExecutable;
}

}  // namespace airlock::cli
