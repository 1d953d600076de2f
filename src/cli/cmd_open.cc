// `airlock open FILE [ARGS...]`: the gate's third answer (docs/ENDPOINT.md): run a file whatever its
// verdict, inside `airlock run` with the analysis profile and the behaviour monitor.
//
// The file is bound read-only into the sandbox and copied to the sandbox's own /tmp (a fresh tmpfs,
// private to the sandbox) before it is started from there: the copy is what runs, so an execution
// gate marking the host's filesystems (airlock watch) does not refuse it, and the sample never writes
// to its host copy. Its behaviour events go to a private directory (~/.cache/airlock/open/, or
// --events FILE); the exit code is `airlock run`'s.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/helper_path.h"
#include "core/private_dir.h"
#include "core/runnable.h"
#include "runapi/run_request.h"
#include "sandbox/outcome.h"

namespace airlock::cli {
namespace {

constexpr const char* kOpenUsage =
    "Usage: airlock open [--events FILE] [--profile NAME] FILE [ARGS...]\n"
    "  A program (an ELF binary, a #! script or an executable file): runs FILE inside `airlock run` (the analysis profile: no\n"
    "  network but a sinkhole, 120 s, monitored) whatever its verdict: the third answer besides allow and\n"
    "  deny (docs/ENDPOINT.md).\n"
    "  A document: opens it with its usual application inside a disposable sandbox with your display and\n"
    "  no network (`airlock app`, docs/BROWSER.md).\n"
    "  --events FILE   where the behaviour events go (default ~/.cache/airlock/open/NAME-TIME.events.jsonl)\n"
    "  --profile NAME  another profile (default analysis)\n";

// A name safe as one path component inside the sandbox.
std::string SafeName(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  for (char& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  }
  if (name.empty() || name[0] == '.') name = "sample" + name;
  return name.substr(0, 100);
}

// A program: an ELF binary, a script with #!, or a file marked executable (a shell runs a script
// without #! too). Anything else is a document.
bool IsProgram(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0111) != 0) return true;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;  // the program path says why it cannot be read
  char head[4] = {};
  const ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return n > 0 && LooksRunnable(std::string_view(head, static_cast<size_t>(n)));
}

std::string DefaultEventsFile(const std::string& name) {
  const char* home = std::getenv("HOME");
  std::string dir = std::string(home != nullptr && home[0] == '/' ? home : "/tmp") + "/.cache/airlock/open";
  if (auto made = MakePrivateDirs(dir); !made) return "";
  return fmt::format("{}/{}-{}.events.jsonl", dir, name, static_cast<long>(std::time(nullptr)));
}

}  // namespace

int OpenCommand(int argc, char** argv) {
  std::string events, profile = "analysis";
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--events" || a == "--profile") && i + 1 < argc) {
      (a == "--events" ? events : profile) = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::fputs(kOpenUsage, stdout);
      return 0;
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.starts_with("-")) {
      std::fprintf(stderr, "airlock open: unknown option '%s'\n%s", a.c_str(), kOpenUsage);
      return kExitUsage;
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fputs(kOpenUsage, stderr);
    return kExitUsage;
  }
  std::error_code ec;
  const std::string file = std::filesystem::absolute(argv[i], ec).string();
  if (ec || !std::filesystem::is_regular_file(file, ec)) {
    std::fprintf(stderr, "airlock open: %s: not a regular file\n", argv[i]);
    return kExitUsage;
  }
  if (!IsProgram(file)) {
    if (!events.empty() || profile != "analysis" || i + 1 < argc) {
      std::fprintf(stderr, "airlock open: %s is a document: --events, --profile and arguments are for programs\n", argv[i]);
      return kExitUsage;
    }
    std::string self = "airlock", cmd = "open", doc = file;
    char* helper_argv[] = {self.data(), cmd.data(), doc.data(), nullptr};
    return ExecHelper("airlock-browser", 3, helper_argv);  // airlock-browser open DOC
  }
  const std::string name = SafeName(file);
  if (events.empty()) events = DefaultEventsFile(name);
  const std::string inside = "/airlock-open/" + name;
  std::vector<std::string> command = {"/bin/sh", "-c", "cp \"$0\" /tmp/sample && chmod 0700 /tmp/sample && exec /tmp/sample \"$@\"", inside};
  for (int k = i + 1; k < argc; ++k) command.emplace_back(argv[k]);
  runapi::RunRequest req(SelfExe());
  req.Profile(profile).RoBind(file, inside);
  if (!events.empty()) req.Monitor(events);
  auto args = req.Command(command).Argv();
  if (!args) {
    std::fprintf(stderr, "airlock open: %s\n", args.error().What().c_str());
    return kExitUsage;
  }
  if (!events.empty()) std::fprintf(stderr, "airlock open: %s runs in the %s sandbox; behaviour events: %s\n", file.c_str(), profile.c_str(), events.c_str());
  std::vector<char*> run_argv;
  for (size_t k = 1; k < args->size(); ++k) run_argv.push_back((*args)[k].data());  // from "run" on
  run_argv.push_back(nullptr);
  return RunCommand(static_cast<int>(run_argv.size() - 1), run_argv.data());
}

}  // namespace airlock::cli
