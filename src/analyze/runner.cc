#include "analyze/runner.h"

#include <algorithm>
#include <cctype>

namespace airlock::analyze {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
}

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

std::string SafeSampleName(const std::string& name) {
  std::string base = name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1);
  std::string out;
  for (char c : base) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
    if (out.size() >= 64) break;
  }
  while (!out.empty() && out[0] == '.') out[0] = '_';
  return out.empty() ? "sample" : out;
}

int64_t BrowseBudgetMs(const std::string& sandbox_timeout) {
  size_t digits = 0;
  while (digits < sandbox_timeout.size() && std::isdigit(static_cast<unsigned char>(sandbox_timeout[digits]))) ++digits;
  if (digits == 0 || digits > 9) return 30000;
  int64_t n = std::stoll(sandbox_timeout.substr(0, digits));
  std::string unit = sandbox_timeout.substr(digits);
  int64_t ms = unit == "ms" ? n : unit.empty() || unit == "s" ? n * 1000 : unit == "m" ? n * 60000 : unit == "h" ? n * 3600000 : -1;
  if (ms < 0) return 30000;
  return std::max<int64_t>(2000, ms - 3000);
}

Runner ChooseRunner(const std::string& head, const std::string& name, const std::string& browser) {
  return ChooseRunner(head, name, browser, kBrowseDriverInSandbox, 30000);
}

Runner ChooseRunner(const std::string& head, const std::string& name, const std::string& browser, const std::string& driver,
                    int64_t browse_budget_ms) {
  const std::string sample = "/sample/" + SafeSampleName(name);
  if (StartsWith(head, "\x7f" "ELF")) return {"elf", {sample}, "ELF executable: executed directly"};
  if (StartsWith(head, "#!")) {
    std::string line = head.substr(2, head.find('\n') == std::string::npos ? std::string::npos : head.find('\n') - 2);
    std::string interp = line.find("python") != std::string::npos ? "/usr/bin/python3"
                         : line.find("perl") != std::string::npos ? "/usr/bin/perl"
                         : line.find("bash") != std::string::npos ? "/bin/bash"
                                                                  : "/bin/sh";
    std::string kind = interp == "/usr/bin/python3" ? "python" : interp == "/usr/bin/perl" ? "perl" : "shell";
    return {kind, {interp, sample}, "script with #! line: run through " + interp};
  }
  if (EndsWith(name, ".sh") || EndsWith(name, ".bash")) return {"shell", {"/bin/sh", sample}, "shell script by name"};
  if (EndsWith(name, ".py")) return {"python", {"/usr/bin/python3", sample}, "Python script by name"};
  if (EndsWith(name, ".pl")) return {"perl", {"/usr/bin/perl", sample}, "Perl script by name"};
  bool html = EndsWith(name, ".html") || EndsWith(name, ".htm") || EndsWith(name, ".svg") || EndsWith(name, ".xhtml");
  std::string lower = head.substr(0, 512);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!html) html = lower.find("<html") != std::string::npos || lower.find("<svg") != std::string::npos || lower.find("<!doctype html") != std::string::npos;
  if (html) {
    if (browser.empty()) return {"none", {}, "HTML/SVG: no headless browser installed (Debian package chromium); static analysis only"};
    if (driver.empty()) return {"none", {}, "HTML/SVG: the browser driver airlock-browse is not installed; static analysis only"};
    Runner r{"browser",
             {kBrowseDriverInSandbox, "--chromium", browser, "--profile", kBrowseProfileDir, "--downloads", kBrowseDownloadsDir,
              "--timeout-ms", std::to_string(browse_budget_ms), sample},
             "HTML/SVG opened in headless Chromium driven over CDP by airlock-browse (inside the sandbox; Chromium's own "
             "sandbox off: airlock is the sandbox); downloads captured in " + std::string(kBrowseDownloadsDir),
             {"/etc/chromium", "/etc/chromium.d", "/etc/fonts"}};
    if (driver != kBrowseDriverInSandbox) r.ro_binds_at.emplace_back(driver, kBrowseDriverInSandbox);
    // Chromium reserves far more address space than the memory limit at start (V8's sandbox and
    // pointer cages), so the RLIMIT_AS fallback for the memory limit (no writable cgroup, e.g. as an
    // ordinary user) would kill it at once. The cgroup memory limit, when there is one, still applies (docs/BROWSER.md).
    r.rlimits = {"as=unlimited"};
    return r;
  }
  if (StartsWith(head, "PK\x03\x04") || StartsWith(head, "\x1f\x8b") || (head.size() > 262 && head.compare(257, 5, "ustar") == 0)) {
    return {"archive", {}, "archive: unpacked, runnable members detonated"};
  }
  return {"none", {}, "no runner for this type: static analysis only"};
}

}  // namespace airlock::analyze
