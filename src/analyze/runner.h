// Choosing how to detonate a sample: by its leading bytes, shebang and name.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace airlock::analyze {

struct Runner {
  std::string kind;               // "elf", "shell", "python", "perl", "browser", "archive", "none"
  std::vector<std::string> argv;  // command inside the sandbox (sample at /sample/<name>)
  std::string why;                // why this runner (or why none)
  std::vector<std::string> ro_binds;  // extra host paths the runner needs read-only (when present)
  std::vector<std::pair<std::string, std::string>> ro_binds_at;  // (host path, sandbox path), required
  std::vector<std::string> rlimits;   // NAME=VALUE resource limits the runner needs (`airlock run --rlimit`)
};

// Where the browser driver is mounted in the sandbox, and where it puts downloads and its profile.
inline constexpr const char* kBrowseDriverInSandbox = "/opt/airlock-browse/airlock-browse";
inline constexpr const char* kBrowseDownloadsDir = "/tmp/downloads";
inline constexpr const char* kBrowseProfileDir = "/tmp/chromium";

// `head` is the first bytes of the sample; `name` its file name (untrusted: used only for the
// extension). `browser` is the path of a headless browser if installed ("" otherwise); `driver` the
// host path of airlock-browse ("" when missing: HTML/SVG then get static analysis only), which gets
// `browse_budget_ms` for the page (see BrowseBudgetMs).
Runner ChooseRunner(const std::string& head, const std::string& name, const std::string& browser, const std::string& driver,
                    int64_t browse_budget_ms);
// The same for callers that only classify (which runner a file would get): the browser runner is
// chosen whenever `browser` is set, its driver bind is left out.
Runner ChooseRunner(const std::string& head, const std::string& name, const std::string& browser);

// The page's time budget inside a sandbox timeout such as "20s", "2m", "1500ms" or "30": the timeout
// less 3 s for the browser to close (at least 2 s); 30 s when the timeout does not parse.
int64_t BrowseBudgetMs(const std::string& sandbox_timeout);

// A file name safe to place in /sample: only [A-Za-z0-9._-], no leading dot, at most 64 chars.
std::string SafeSampleName(const std::string& name);

}  // namespace airlock::analyze
