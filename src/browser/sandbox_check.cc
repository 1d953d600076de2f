#include "browser/sandbox_check.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/file_read.h"
#include "core/json_text.h"

namespace airlock::browser {
namespace {

std::string Read(const std::string& path) {
  auto text = ReadRegularFileBounded(path, 1 << 20, "too large");
  return text ? *text : "";
}

pid_t ParentOf(const std::string& status) {
  size_t at = status.find("\nPPid:");
  return at == std::string::npos ? -1 : static_cast<pid_t>(std::strtol(status.c_str() + at + 6, nullptr, 10));
}

int Field(const std::string& status, const char* name) {
  size_t at = status.find(std::string("\n") + name + ":");
  return at == std::string::npos ? -1 : static_cast<int>(std::strtol(status.c_str() + at + 2 + std::strlen(name), nullptr, 10));
}

// The inode of /proc/PID/ns/KIND (0 when it cannot be read).
ino_t NsInode(const std::string& proc, pid_t pid, const char* kind) {
  struct stat st{};
  return ::stat(fmt::format("{}/{}/ns/{}", proc, pid, kind).c_str(), &st) == 0 ? st.st_ino : 0;
}

// "browser" for the browser binary without --type=, the --type= value otherwise, "" for others.
// Chromium rewrites its children's titles: their cmdline is one string with spaces, not NULs.
// Firefox's children carry -contentproc and their kind last: "tab" (web content) is a renderer.
std::string TypeOf(const std::string& cmdline) {
  if (size_t at = cmdline.find("-contentproc"); at != std::string::npos && at > 0 && (cmdline[at - 1] == '\0' || cmdline[at - 1] == ' ')) {
    std::string args = cmdline;
    while (!args.empty() && (args.back() == '\0' || args.back() == ' ')) args.pop_back();
    const size_t sep = args.find_last_of(std::string(" \0", 2));
    const std::string last = sep == std::string::npos ? args : args.substr(sep + 1);
    return last == "tab" ? "renderer" : last;
  }
  size_t at = cmdline.find("--type=");
  if (at != std::string::npos && at > 0 && (cmdline[at - 1] == '\0' || cmdline[at - 1] == ' ')) {
    size_t start = at + 7, end = cmdline.find_first_of(std::string(" \0", 2), start);
    return cmdline.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  std::string argv0 = cmdline.substr(0, cmdline.find_first_of(std::string(" \0", 2)));
  std::string base = std::filesystem::path(argv0).filename().string();
  return base == "chromium" || base == "chrome" || base == "firefox-esr" || base == "firefox" ? "browser" : "";
}

}  // namespace

std::map<pid_t, int> ProcessesBelow(pid_t root_pid, const std::string& proc) {
  std::map<pid_t, pid_t> parent;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(proc, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
    parent[pid] = ParentOf(Read(fmt::format("{}/{}/status", proc, pid)));
  }
  std::map<pid_t, int> below;
  for (const auto& [pid, ppid] : parent) {
    pid_t p = pid;
    for (int depth = 0; depth < 64 && p > 1; ++depth) {
      auto it = parent.find(p);
      if (it == parent.end()) break;
      if (it->second == root_pid) {
        below[pid] = depth;
        break;
      }
      p = it->second;
    }
  }
  return below;
}

SandboxFacts CheckBrowserSandbox(pid_t root_pid, const std::string& proc) {
  SandboxFacts f;
  pid_t browser = -1;
  for (const auto& [pid, depth] : ProcessesBelow(root_pid, proc)) {
    ProcessFacts p;
    p.pid = pid;
    p.type = TypeOf(Read(fmt::format("{}/{}/cmdline", proc, pid)));
    if (p.type.empty()) continue;
    std::string status = Read(fmt::format("{}/{}/status", proc, pid));
    p.seccomp = Field(status, "Seccomp");
    p.seccomp_filters = Field(status, "Seccomp_filters");
    p.no_new_privs = Field(status, "NoNewPrivs") == 1;
    // The first browser process found is the browser: its children with the same binary carry --type=.
    if (p.type == "browser" && browser < 0) browser = pid;
    f.processes.push_back(std::move(p));
  }
  if (browser < 0) {
    f.summary = "no browser process found below pid " + std::to_string(root_pid);
    return f;
  }
  int browser_filters = -1;
  for (const ProcessFacts& p : f.processes) if (p.pid == browser) browser_filters = p.seccomp_filters;
  // Chromium's renderers get their own pid namespace; Firefox's content processes their own network
  // namespace (they share the browser's pid namespace by Firefox's design).
  const bool firefox = Read(fmt::format("{}/{}/cmdline", proc, browser)).find("firefox") != std::string::npos;
  const ino_t user = NsInode(proc, browser, "user"), pidns = NsInode(proc, browser, "pid"), net = NsInode(proc, browser, "net");
  int renderers = 0, bad = 0;
  for (ProcessFacts& p : f.processes) {
    const ino_t u = NsInode(proc, p.pid, "user"), pn = NsInode(proc, p.pid, "pid"), n = NsInode(proc, p.pid, "net");
    p.own_userns = u != 0 && user != 0 && u != user;
    p.own_pidns = pn != 0 && pidns != 0 && pn != pidns;
    p.own_netns = n != 0 && net != 0 && n != net;
    p.own_filter = p.seccomp_filters > browser_filters && browser_filters >= 0;
    if (p.type != "renderer") continue;
    ++renderers;
    if (u == 0 || pn == 0) p.problem = "its namespaces cannot be read";
    else if (p.seccomp != 2) p.problem = fmt::format("Seccomp {} (no filter)", p.seccomp);
    else if (browser_filters >= 0 && p.seccomp_filters >= 0 && !p.own_filter) p.problem = "no seccomp filter of its own (only airlock's)";
    else if (!p.own_userns) p.problem = "shares the browser's user namespace (Chromium's sandbox is off: --no-sandbox?)";
    else if (!firefox && !p.own_pidns) p.problem = "shares the browser's pid namespace";
    else if (firefox && !p.own_netns) p.problem = "shares the browser's network namespace";
    if (!p.problem.empty()) ++bad;
  }
  f.ok = renderers > 0 && bad == 0;
  if (renderers == 0) f.summary = "no renderer process found: nothing to check";
  else if (bad == 0) f.summary = fmt::format("browser sandbox on: {} {} with Seccomp 2, a filter of their own, in their own user and {} namespaces", renderers,
                                             firefox ? "content process(es)" : "renderer(s)", firefox ? "network" : "pid");
  else f.summary = fmt::format("browser sandbox OFF: {} of {} renderer(s) not sandboxed", bad, renderers);
  return f;
}

std::string SandboxFactsJson(const SandboxFacts& f) {
  nlohmann::ordered_json j = {{"ok", f.ok}, {"summary", f.summary}, {"processes", nlohmann::ordered_json::array()}};
  for (const ProcessFacts& p : f.processes) {
    j["processes"].push_back({{"pid", p.pid}, {"type", p.type}, {"seccomp", p.seccomp}, {"seccomp_filters", p.seccomp_filters}, {"own_seccomp_filter", p.own_filter}, {"no_new_privs", p.no_new_privs},
                              {"own_user_namespace", p.own_userns}, {"own_pid_namespace", p.own_pidns},
                              {"own_net_namespace", p.own_netns}, {"problem", p.problem}});
  }
  return DumpJson(j);
}

std::string SandboxFactsText(const SandboxFacts& f) {
  std::string out = f.summary + "\n";
  for (const ProcessFacts& p : f.processes) {
    out += fmt::format("  pid {:>7} {:<14} Seccomp {} filters {} own userns {} own pidns {} own netns {}{}\n", p.pid, p.type, p.seccomp, p.seccomp_filters,
                       p.own_userns ? "yes" : "no", p.own_pidns ? "yes" : "no", p.own_netns ? "yes" : "no",
                       p.problem.empty() ? "" : "  <- " + p.problem);
  }
  return out;
}

}  // namespace airlock::browser
