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

Runner ChooseRunner(const std::string& head, const std::string& name, const std::string& browser) {
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
    return {"browser",
            {browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--user-data-dir=/tmp/chromium", "--virtual-time-budget=5000",
             "--dump-dom", "file://" + sample},
            "HTML/SVG opened in headless Chromium (inside the sandbox; its own sandbox off: airlock is the sandbox)",
            {"/etc/chromium", "/etc/chromium.d", "/etc/fonts"}};
  }
  if (StartsWith(head, "PK\x03\x04") || StartsWith(head, "\x1f\x8b") || (head.size() > 262 && head.compare(257, 5, "ustar") == 0)) {
    return {"archive", {}, "archive: unpacked, runnable members detonated"};
  }
  return {"none", {}, "no runner for this type: static analysis only"};
}

}  // namespace airlock::analyze
