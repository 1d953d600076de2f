#include "milter/quarantine_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <iostream>

#include "core/json_text.h"
#include "milter/config.h"
#include "milter/quarantine_store.h"
#include "process/spawn.h"

namespace airlock::milter {
namespace {

constexpr const char* kUsage =
    "Usage: airlock quarantine [--state-dir DIR] [--config FILE] list [--json] | show ID | release ID | delete ID\n"
    "  list     the held messages (id, time, verdict, score, sender, recipients)\n"
    "  show     an entry's metadata and scan report\n"
    "  release  deliver the message: release it from the MTA's hold queue (postsuper -H), or re-inject\n"
    "           the original unchanged with sendmail; then remove the entry\n"
    "  delete   remove the entry (and the held message: postsuper -d)\n"
    "Exit: 0 ok, 1 unknown ID, 2 error.\n";

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

int NotFound(const std::string& id) {
  std::fprintf(stderr, "airlock quarantine: no entry '%s'\n", id.c_str());
  return 1;
}

// True when the MTA holds QID: `postqueue -j` (beside postsuper) lists it in the "hold" queue.
bool HeldByMta(const MilterConfig& c, const std::string& qid) {
  if (qid.empty() || c.postsuper.empty()) return false;
  std::string postqueue = c.postsuper.substr(0, c.postsuper.rfind('/') + 1) + "postqueue";
  if (access(postqueue.c_str(), X_OK) != 0) return false;
  std::vector<std::string> argv = {postqueue};
  if (!c.postfix_config_dir.empty()) argv.insert(argv.end(), {"-c", c.postfix_config_dir});
  argv.push_back("-j");
  std::string out;
  ProgramResult r = RunProgram(argv, "", &out);
  if (r.status != 0) return false;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) eol = out.size();
    auto j = nlohmann::json::parse(out.substr(pos, eol - pos), nullptr, false);
    pos = eol + 1;
    if (j.is_object() && j.value("queue_id", "") == qid && j.value("queue_name", "") == "hold") return true;
  }
  return false;
}

// `postsuper -H QID`.
bool ReleaseFromHold(const MilterConfig& c, const std::string& qid) {
  if (!HeldByMta(c, qid) || access(c.postsuper.c_str(), X_OK) != 0) return false;
  std::vector<std::string> argv = {c.postsuper};
  if (!c.postfix_config_dir.empty()) argv.insert(argv.end(), {"-c", c.postfix_config_dir});
  argv.insert(argv.end(), {"-H", qid});
  return RunProgram(argv, "").status == 0;
}

}  // namespace

ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input, std::string* out) {
  process::SpawnOptions options;
  options.stdin_data = input;
  options.stderr_cap = 65536;
  options.stdout_cap = out != nullptr ? (16u << 20) : 0;  // read and discarded when not wanted
  auto r = process::SpawnAndCapture(argv, options);
  if (!r) return ProgramResult{-1, r.error().What()};
  if (out != nullptr) *out += r->out;
  return ProgramResult{r->exit_code, std::move(r->err)};
}

int QuarantineMain(int argc, char** argv) {
  std::string state_dir, config_path;
  std::vector<std::string> rest;
  bool json_out = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if ((a == "--state-dir" || a == "--config") && i + 1 < argc) {
      (a == "--state-dir" ? state_dir : config_path) = argv[++i];
    } else if (a == "--json") {
      json_out = true;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "airlock quarantine: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      rest.push_back(a);
    }
  }
  MilterConfig config;
  if (!config_path.empty()) {
    auto c = LoadConfig(config_path);
    if (!c) {
      std::fprintf(stderr, "airlock quarantine: bad config: %s\n", c.error().What().c_str());
      return 2;
    }
    config = std::move(*c);
  }
  if (!state_dir.empty()) config.state_dir = state_dir;
  if (rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  QuarantineStore store(config.state_dir);
  const std::string& cmd = rest[0];
  if (cmd == "list" && rest.size() == 1) {
    auto list = store.List();
    if (!list) {
      std::fprintf(stderr, "airlock quarantine: %s\n", list.error().What().c_str());
      return 2;
    }
    if (json_out) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& m : *list) arr.push_back(MetaToJson(m));
      std::cout << DumpJson(arr, 2) << "\n";
      return 0;
    }
    for (const auto& m : *list) {
      std::cout << fmt::format("{}  {}  {:<10} {:4.1f}  {} -> {}  {}\n", m.id, m.time, m.verdict, m.score, m.sender,
                               Join(m.recipients, ","), Join(m.techniques, ","));
    }
    // An empty listing says where it looked (stdout stays empty for scripts): a wrong --state-dir
    // must not read as "nothing held".
    struct stat st {};
    if (list->empty() && ::stat(store.dir().c_str(), &st) != 0) {
      std::fprintf(stderr, "airlock quarantine: nothing held: %s does not exist (no message was quarantined with this state "
                           "directory; --state-dir DIR or --config FILE name another)\n", store.dir().c_str());
    } else if (list->empty()) {
      std::fprintf(stderr, "airlock quarantine: nothing held in %s\n", store.dir().c_str());
    }
    return 0;
  }
  if (rest.size() != 2 || (cmd != "show" && cmd != "release" && cmd != "delete")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& id = rest[1];
  auto meta = store.Meta(id);
  if (!meta) return meta.error().err() == ENOENT ? NotFound(id) : (std::fprintf(stderr, "airlock quarantine: %s\n", meta.error().What().c_str()), 2);
  if (cmd == "show") {
    auto report = store.Report(id);
    nlohmann::json out = MetaToJson(*meta);
    nlohmann::json parsed = report ? nlohmann::json::parse(*report, nullptr, false) : nlohmann::json();
    out["report"] = parsed.is_discarded() ? nlohmann::json() : parsed;  // a corrupt report.json: null, not "<discarded>"
    std::cout << DumpJson(out, 2) << "\n";
    return 0;
  }
  if (cmd == "delete") {
    if (!meta->queue_id.empty() && !config.postsuper.empty() && access(config.postsuper.c_str(), X_OK) == 0) {
      std::vector<std::string> argv2 = {config.postsuper};
      if (!config.postfix_config_dir.empty()) argv2.insert(argv2.end(), {"-c", config.postfix_config_dir});
      argv2.insert(argv2.end(), {"-d", meta->queue_id, "hold"});
      (void)RunProgram(argv2, "");
    }
    if (auto s = store.Remove(id); !s) {
      std::fprintf(stderr, "airlock quarantine: %s\n", s.error().What().c_str());
      return 2;
    }
    std::printf("deleted %s\n", id.c_str());
    return 0;
  }
  // release
  if (ReleaseFromHold(config, meta->queue_id)) {
    std::printf("released %s from the hold queue (queue id %s)\n", id.c_str(), meta->queue_id.c_str());
  } else {
    auto msg = store.Message(id);
    if (!msg) {
      std::fprintf(stderr, "airlock quarantine: %s\n", msg.error().What().c_str());
      return 2;
    }
    if (meta->recipients.empty()) {
      std::fprintf(stderr, "airlock quarantine: %s has no recipients to deliver to\n", id.c_str());
      return 2;
    }
    std::vector<std::string> argv2 = {config.sendmail};
    if (!config.postfix_config_dir.empty()) argv2.insert(argv2.end(), {"-C", config.postfix_config_dir});
    argv2.insert(argv2.end(), {"-i", "-f", meta->sender, "--"});
    for (const auto& r : meta->recipients) argv2.push_back(r);
    ProgramResult r = RunProgram(argv2, *msg);
    if (r.status != 0) {
      std::fprintf(stderr, "airlock quarantine: %s failed (status %d): %s\n", config.sendmail.c_str(), r.status, r.err.c_str());
      return 2;
    }
    std::printf("re-injected %s with %s\n", id.c_str(), config.sendmail.c_str());
  }
  if (auto s = store.Remove(id); !s) {
    std::fprintf(stderr, "airlock quarantine: %s\n", s.error().What().c_str());
    return 2;
  }
  return 0;
}

}  // namespace airlock::milter
