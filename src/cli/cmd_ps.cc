// airlock ps / airlock stop: the running sandboxes of this user (or, for root with --all, of everyone)
// from the registry (cli/running.h), each asked over its control socket (sandbox/control.h).
#include <dirent.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/running.h"
#include "core/json_text.h"
#include "core/log.h"
#include "kernel/syscalls.h"
#include "process/proc_stat.h"
#include "sandbox/control.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

namespace {

// What /proc says of a sandbox: init and its descendants, their resident memory.
struct Usage {
  int pids = 0;
  unsigned long long rss_bytes = 0;
};

// pid -> parent pid of every process, from /proc/PID/stat.
std::multimap<pid_t, pid_t> ChildrenByParent() {
  std::multimap<pid_t, pid_t> children;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return children;
  while (const struct dirent* e = ::readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    if (pid <= 0) continue;
    const pid_t parent = ParentPid(pid);
    if (parent >= 0) children.emplace(parent, pid);
  }
  ::closedir(d);
  return children;
}

unsigned long long RssBytes(pid_t pid) {
  std::ifstream f(fmt::format("/proc/{}/statm", pid));
  unsigned long long size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE));
}

Usage UsageOf(pid_t init, const std::multimap<pid_t, pid_t>& children) {
  Usage u;
  std::vector<pid_t> todo = {init};
  while (!todo.empty() && u.pids < 100000) {
    pid_t p = todo.back();
    todo.pop_back();
    ++u.pids;
    u.rss_bytes += RssBytes(p);
    auto [b, e] = children.equal_range(p);
    for (auto it = b; it != e; ++it) todo.push_back(it->second);
  }
  return u;
}

double UptimeSeconds(unsigned long long start_ticks) {
  std::ifstream f("/proc/uptime");
  double up = 0;
  f >> up;
  return up - static_cast<double>(start_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string Human(double seconds) {
  const long s = static_cast<long>(seconds < 0 ? 0 : seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

nlohmann::json Describe(const RunningRecord& r, const std::multimap<pid_t, pid_t>& children) {
  nlohmann::json j = {{"id", r.id}, {"name", r.name}, {"airlock_pid", r.pid}, {"uid", r.uid}, {"command", r.command},
                      {"profile", r.profile}, {"net", r.net}, {"box", r.box}, {"started", r.started},
                      {"uptime_s", static_cast<long>(UptimeSeconds(r.start_ticks))}};
  auto info = CallControl(ControlSocketPath(r), "info", 1000);
  auto answer = info ? nlohmann::json::parse(*info, nullptr, false) : nlohmann::json();
  j["launch"] = answer.is_object() ? answer.value("launch", "") : "";
  const pid_t init = answer.is_object() ? answer.value("init_pid", 0) : 0;
  if (init > 0) {
    Usage u = UsageOf(init, children);
    j["init_pid"] = init;
    j["pids"] = u.pids;
    j["rss_bytes"] = u.rss_bytes;
  }
  if (!info) j["error"] = info.error().What();
  return j;
}

void PrintTable(const nlohmann::json& list) {
  // ID and NAME as wide as their longest entry (a --name takes up to 40 characters), so the columns
  // stay aligned.
  int id_width = 14, name_width = 8;
  for (const auto& j : list) {
    id_width = std::max(id_width, static_cast<int>(j.value("id", "").size()));
    name_width = std::max(name_width, static_cast<int>(j.value("name", "").size()));
  }
  std::printf("%-*s %-*s %8s %-7s %5s %8s %-5s %-6s %-10s %s\n", id_width, "ID", name_width, "NAME", "PID", "UPTIME",
              "PIDS", "MEM", "NET", "LAUNCH", "PROFILE", "COMMAND");
  for (const auto& j : list) {
    const std::string pids = j.contains("pids") ? std::to_string(j["pids"].get<int>()) : "-";
    const std::string mem = j.contains("rss_bytes") ? fmt::format("{}M", j["rss_bytes"].get<unsigned long long>() >> 20) : "-";
    std::string profile = j.value("profile", "");
    if (!j.value("box", "").empty()) profile = "box:" + j.value("box", "");
    std::printf("%-*s %-*s %8d %-7s %5s %8s %-5s %-6s %-10s %s\n", id_width, j.value("id", "").c_str(), name_width,
                j.value("name", "").empty() ? "-" : j.value("name", "").c_str(), j.value("airlock_pid", 0),
                Human(j.value("uptime_s", 0L)).c_str(), pids.c_str(), mem.c_str(), j.value("net", "").c_str(),
                j.value("launch", "").empty() ? "?" : j.value("launch", "").c_str(), profile.c_str(),
                Utf8Text(Joined(j.value("command", std::vector<std::string>{}))).c_str());
  }
}

// Waits until the airlock process of r has ended (its pidfd readable), up to timeout_ms. True: ended.
bool WaitEnded(const RunningRecord& r, int timeout_ms) {
  UniqueFd pidfd(kernel::PidfdOpen(r.pid));
  if (!pidfd) return errno == ESRCH;
  // The pid may have been reused between the listing and pidfd_open: the record is checked again.
  if (!IsLive(r)) return true;
  struct pollfd p = {pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

int PsCommand(int argc, char** argv) {
  bool json = false, all = false;
  CLI::App app{"List the running sandboxes of this user (root: --all for every user's): id, name, the airlock process,\n"
               "uptime, processes and resident memory inside, network mode, cold or warm, profile or box, command.",
               "airlock ps"};
  app.add_flag("--json", json, "print a JSON array instead of the table");
  app.add_flag("-a,--all", all, "root: every user's sandboxes");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  if (all && ::geteuid() != 0) {
    LogError("--all needs root: a user sees only their own sandboxes");
    return kExitUsage;
  }
  const auto children = ChildrenByParent();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : ListRunning(all)) list.push_back(Describe(r, children));
  if (json) {
    std::fputs((DumpJson(list, 2) + "\n").c_str(), stdout);
  } else {
    PrintTable(list);
  }
  return 0;
}

int StopCommand(int argc, char** argv) {
  std::vector<std::string> which;
  double grace = 5;
  bool all = false;
  CLI::App app{"Stop running sandboxes: SIGTERM to the sandboxed program, then, after --grace seconds, SIGKILL to\n"
               "everything in the sandbox. Their `airlock run` ends with a report that says interrupted by SIGTERM.",
               "airlock stop"};
  app.add_option("sandbox", which, "ID or NAME (from `airlock ps`)")->required();
  app.add_option("-t,--grace", grace, "seconds the program gets to end after SIGTERM (default 5; 0: kill at once)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_flag("-a,--all", all, "root: look among every user's sandboxes");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  int rc = 0;
  for (const auto& w : which) {
    auto r = FindRunning(w, all && ::geteuid() == 0);
    if (!r) {
      LogError("{}", r.error().What());
      rc = 1;
      continue;
    }
    const int grace_ms = static_cast<int>(grace * 1000);
    auto answer = CallControl(ControlSocketPath(*r), fmt::format("stop {}", grace_ms), 2000);
    if (!answer || *answer != "ok") {
      LogError("stop {}: {}", w, answer ? *answer : answer.error().What());
      rc = 1;
      continue;
    }
    if (!WaitEnded(*r, grace_ms + 10000)) {
      LogError("stop {}: its airlock process (pid {}) is still running {} s after the stop", w, r->pid, grace + 10);
      rc = 1;
      continue;
    }
    std::printf("stopped %s\n", r->id.c_str());
  }
  return rc;
}

}  // namespace airlock::cli
