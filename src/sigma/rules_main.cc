// airlock-rules: check Sigma rule directories and match behaviour events against them.
//
//   airlock-rules check [--json] DIR...
//       Loads every rule and prints loaded / supported / unsupported (by reason) / errors.
//       Exit: 0 all rules parsed, 1 some rule files failed to parse, 2 usage or I/O error.
//   airlock-rules match --rules DIR... [EVENTS.jsonl|-]
//       (the last word after --rules is the event input when it is "-" or not a directory;
//       default stdin)
//       Reads one JSON event per line and prints one JSON line per (event, rule) match with
//       rule_id, title, level, tags, techniques, file and the event. Malformed or over-long lines
//       (> 1 MiB) are reported on stderr with their line number and skipped; rule files that fail
//       to parse are reported on stderr and skipped.
//       Exit: 0 at least one match, 1 no match, 2 usage or I/O error.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/json_text.h"
#include "core/unique_fd.h"
#include "sigma/rule_set.h"

namespace {

using airlock::UniqueFd;
using airlock::sigma::RuleSet;

constexpr size_t kMaxLine = 1 << 20;

bool LoadAll(RuleSet& rs, const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    auto s = rs.LoadDirectory(d);
    if (!s) {
      std::cerr << "airlock rules: " << s.error().What() << "\n";
      return false;
    }
  }
  return true;
}

int Check(const std::vector<std::string>& dirs, bool json) {
  RuleSet rs;
  if (!LoadAll(rs, dirs)) return 2;
  const auto& r = rs.report();
  if (json) {
    std::cout << airlock::DumpJson(airlock::sigma::ReportToJson(r), 2) << "\n";
  } else {
    auto j = airlock::sigma::ReportToJson(r);
    std::cout << "files:       " << r.files << "\n"
              << "loaded:      " << r.loaded << "\n"
              << "supported:   " << r.supported << "\n"
              << "unsupported: " << r.unsupported.size() << "\n";
    for (const auto& [reason, n] : j["unsupported_by_reason"].items())
      std::cout << "  " << n.get<int>() << "  " << reason << "\n";
    for (const auto& u : r.unsupported) std::cout << "  unsupported " << u.file << ": " << u.reason << "\n";
    std::cout << "errors:      " << r.errors.size() << "\n";
    for (const auto& e : r.errors) std::cout << "  error " << e.reason << "\n";
  }
  return r.errors.empty() ? 0 : 1;
}

// Calls fn(line_number, line) for every line; lines longer than kMaxLine are passed as empty
// with too_long = true so memory stays bounded.
bool ForEachLine(int fd, auto&& fn) {
  std::string line;
  bool too_long = false;
  size_t lineno = 0;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        fn(++lineno, line, too_long);
        line.clear();
        too_long = false;
      } else if (!too_long) {
        line.push_back(buf[i]);
        if (line.size() > kMaxLine) {
          too_long = true;
          line.clear();
          line.shrink_to_fit();
        }
      }
    }
  }
  if (!line.empty() || too_long) fn(++lineno, line, too_long);
  return true;
}

int MatchEvents(const std::vector<std::string>& dirs, const std::string& input) {
  RuleSet rs;
  if (!LoadAll(rs, dirs)) return 2;
  for (const auto& e : rs.report().errors) std::cerr << "airlock rules: skipped rule file: " << e.reason << "\n";
  UniqueFd owned;
  int fd = STDIN_FILENO;
  if (input != "-") {
    owned.reset(::open(input.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!owned) {
      std::cerr << "airlock rules: open " << input << ": " << std::strerror(errno) << "\n";
      return 2;
    }
    fd = owned.get();
  }
  size_t matches = 0, events = 0, bad = 0;
  bool ok = ForEachLine(fd, [&](size_t lineno, const std::string& line, bool too_long) {
    if (too_long) {
      ++bad;
      std::cerr << "airlock rules: " << input << ":" << lineno << ": line longer than 1 MiB, skipped\n";
      return;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    auto ev = nlohmann::json::parse(line, nullptr, false);
    if (ev.is_discarded() || !ev.is_object()) {
      ++bad;
      std::cerr << "airlock rules: " << input << ":" << lineno << ": not a JSON object, skipped\n";
      return;
    }
    ++events;
    for (const auto& m : rs.Match(ev)) {
      ++matches;
      std::cout << airlock::DumpJson(airlock::sigma::MatchToJson(*m.rule, ev)) << "\n";
    }
  });
  std::cout.flush();
  if (!ok) {
    std::cerr << "airlock rules: read " << input << ": " << std::strerror(errno) << "\n";
    return 2;
  }
  std::cerr << "airlock rules: " << events << " events, " << matches << " matches, " << bad << " bad lines\n";
  return matches > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"airlock rules: Sigma rules for airlock's behaviour events", "airlock rules"};
  app.require_subcommand(1);
  app.footer(
      "Exit status: check: 0 all rule files parsed, 1 some failed, 2 usage/I/O error;\n"
      "             match: 0 at least one match, 1 no match, 2 usage/I/O error.\n"
      "See docs/SIGMA.md.");
  std::vector<std::string> check_dirs, match_dirs;
  bool json = false;
  std::string input = "-";
  auto* check = app.add_subcommand("check", "load rule directories and report what is supported");
  check->add_option("dirs", check_dirs, "rule directories")->required();
  check->add_flag("--json", json, "machine-readable report");
  auto* match = app.add_subcommand("match", "match JSON-lines events against rules");
  match->add_option("--rules", match_dirs, "rule directories (the last word may be the events file)")->required();
  match->add_option("events", input, "JSON-lines file, or - for stdin");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*check) return Check(check_dirs, json);
  // `--rules DIR... EVENTS` : CLI11 gives the greedy --rules every word; the last one is the event
  // input when it is "-" or not a directory.
  if (input == "-" && match->count("events") == 0 && match_dirs.size() >= 2) {
    std::error_code ec;
    const std::string& last = match_dirs.back();
    if (last == "-" || !std::filesystem::is_directory(last, ec)) {
      input = last;
      match_dirs.pop_back();
    }
  }
  return MatchEvents(match_dirs, input);
}
