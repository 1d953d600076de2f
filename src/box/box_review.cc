#include "box/box_review.h"

#include "core/report_envelope.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string_view>


namespace airlock::box {
namespace {

enum class Where { kHome, kSystem };

struct PathRule {
  const char* rule;
  Where where;
  std::string_view prefix;  // home-relative ("" = home itself) or absolute
  bool exact;               // the path itself, or anything beneath the prefix
  const char* severity;
  const char* technique;
  const char* what;
};

// The places programs persist, escalate or hijack through, by inside path.
constexpr PathRule kRules[] = {
    {"BOX-SHELL-STARTUP", Where::kHome, ".bashrc", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kHome, ".bash_profile", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kHome, ".bash_login", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kHome, ".bash_logout", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kHome, ".profile", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kHome, ".zshrc", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kHome, ".zprofile", true, "high", "T1546.004", "shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kSystem, "/etc/profile", false, "high", "T1546.004", "system shell start-up file"},
    {"BOX-SHELL-STARTUP", Where::kSystem, "/etc/bash.bashrc", true, "high", "T1546.004", "system shell start-up file"},
    {"BOX-AUTOSTART", Where::kHome, ".config/autostart/", false, "high", "T1547.013", "XDG autostart entry"},
    {"BOX-AUTOSTART", Where::kSystem, "/etc/xdg/autostart/", false, "high", "T1547.013", "XDG autostart entry"},
    {"BOX-SYSTEMD", Where::kHome, ".config/systemd/", false, "high", "T1543.002", "systemd user unit"},
    {"BOX-SYSTEMD", Where::kSystem, "/etc/systemd/", false, "high", "T1543.002", "systemd unit"},
    {"BOX-SYSTEMD", Where::kSystem, "/usr/lib/systemd/", false, "high", "T1543.002", "systemd unit"},
    {"BOX-CRON", Where::kSystem, "/etc/cron", false, "high", "T1053.003", "cron job"},
    {"BOX-CRON", Where::kSystem, "/var/spool/cron/", false, "high", "T1053.003", "cron job"},
    {"BOX-SSH-KEY", Where::kHome, ".ssh/authorized_keys", false, "high", "T1098.004", "SSH authorized key"},
    {"BOX-SSH-KEY", Where::kHome, ".ssh/rc", true, "high", "T1098.004", "SSH login script"},
    {"BOX-PRELOAD", Where::kSystem, "/etc/ld.so.preload", true, "high", "T1574.006", "dynamic linker preload list"},
    {"BOX-PRELOAD", Where::kSystem, "/etc/ld.so.conf", false, "high", "T1574.006", "dynamic linker search path"},
    {"BOX-SYSTEM-BINARY", Where::kSystem, "/usr/bin/", false, "medium", "T1554", "system program"},
    {"BOX-SYSTEM-BINARY", Where::kSystem, "/usr/sbin/", false, "medium", "T1554", "system program"},
    {"BOX-SYSTEM-BINARY", Where::kSystem, "/usr/lib/", false, "medium", "T1554", "system library"},
    {"BOX-USER-BIN", Where::kHome, ".local/bin/", false, "medium", "T1574.007", "program on the user's PATH"},
    {"BOX-ACCOUNTS", Where::kSystem, "/etc/passwd", true, "high", "T1136.001", "local account database"},
    {"BOX-ACCOUNTS", Where::kSystem, "/etc/shadow", true, "high", "T1098", "password database"},
    {"BOX-ACCOUNTS", Where::kSystem, "/etc/sudoers", false, "high", "T1548.003", "sudo configuration"},
};

// Removing these is itself the act (clearing tracks).
constexpr PathRule kDeletionRules[] = {
    {"BOX-CLEARED-HISTORY", Where::kHome, ".bash_history", true, "medium", "T1070.003", "shell history removed"},
    {"BOX-CLEARED-HISTORY", Where::kHome, ".zsh_history", true, "medium", "T1070.003", "shell history removed"},
    {"BOX-CLEARED-LOGS", Where::kSystem, "/var/log/", false, "medium", "T1070.002", "system log removed"},
};

bool Matches(const PathRule& r, const std::string& path, const std::string& home) {
  std::string target = r.where == Where::kHome ? (home == "/" ? "/" : home + "/") + std::string(r.prefix) : std::string(r.prefix);
  if (r.where == Where::kHome && home.empty()) return false;
  if (r.exact) return path == target;
  return path.compare(0, target.size(), target) == 0;
}

void Add(Review& out, const PathRule& r, const Change& c) {
  out.findings.push_back({r.rule, r.severity, {r.technique},
                          fmt::format("{} {} ({})", ChangeKindName(c.kind), c.type, r.what), c.path});
}

void ReviewOne(Review& out, const Change& c, const std::string& home) {
  if (c.kind == Change::Kind::kDeleted) {
    for (const auto& r : kDeletionRules) {
      if (Matches(r, c.path, home)) Add(out, r, c);
    }
    return;
  }
  if (c.type == "dir" && c.kind != Change::Kind::kChanged) return;  // its entries are judged
  for (const auto& r : kRules) {
    if (Matches(r, c.path, home)) {
      Add(out, r, c);
      break;
    }
  }
  if (c.setid) {
    out.findings.push_back({"BOX-SETID", "high", {"T1548.001"}, fmt::format("{} {} with a setuid or setgid bit", ChangeKindName(c.kind), c.type), c.path});
  }
  if (c.special) {
    out.findings.push_back({"BOX-SPECIAL-FILE", c.type == "char" || c.type == "block" ? "high" : "low", {"T1006"},
                            fmt::format("{} {} (never carried to the host)", ChangeKindName(c.kind), c.type), c.path});
  }
}

}  // namespace

std::string VerdictOf(const std::vector<const ReviewFinding*>& findings) {
  auto has = [&](const char* s) { return std::any_of(findings.begin(), findings.end(), [&](const ReviewFinding* f) { return f->severity == s; }); };
  return has("high") ? "malicious" : has("medium") ? "suspicious" : "clean";
}

void AddFindings(Review& review, std::vector<ReviewFinding> more) {
  review.findings.insert(review.findings.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  std::vector<const ReviewFinding*> all;
  for (const auto& f : review.findings) all.push_back(&f);
  review.verdict = VerdictOf(all);
}

Review ReviewChanges(const std::vector<Change>& changes, const std::string& home) {
  Review out;
  for (const Change& c : changes) {
    ReviewOne(out, c, home);
    out.paths.push_back(c.path);
  }
  AddFindings(out, {});
  return out;
}

int SeverityScore(const std::string& severity) { return severity == "high" ? 8 : severity == "medium" ? 6 : severity == "low" ? 3 : 0; }

nlohmann::json ReviewToJson(const Review& review) {
  // The common finding fields (core/report_envelope.h): severity as a number; its name is "level".
  auto finding = [](const ReviewFinding& f) {
    nlohmann::json j = ReportFinding(f.rule, SeverityScore(f.severity), f.techniques, f.evidence, f.object);
    j["level"] = f.severity;
    return j;
  };
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : review.findings) findings.push_back(finding(f));
  nlohmann::json files = nlohmann::json::array();
  for (const auto& path : review.paths) {
    std::vector<const ReviewFinding*> own;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : review.findings) {
      if (f.object != path) continue;
      own.push_back(&f);
      list.push_back(finding(f));
    }
    files.push_back({{"path", path}, {"verdict", VerdictOf(own)}, {"findings", list}});
  }
  return {{"verdict", review.verdict}, {"changes", review.paths.size()}, {"findings", findings}, {"files", files}, {"notes", review.notes}};
}

std::string ReviewToText(const Review& review) {
  std::string out = fmt::format("verdict: {} ({} changes, {} findings)\n", review.verdict, review.paths.size(), review.findings.size());
  for (const auto& n : review.notes) out += "  note: " + TextLine(n) + "\n";
  for (const auto& f : review.findings) {
    out += fmt::format("  {:<6} {:<20} {:<10} {}: {}\n", f.severity, TextLine(f.rule), f.techniques.empty() ? "" : TextLine(f.techniques[0]),
                       f.object.empty() ? "(the box)" : TextLine(f.object), TextLine(f.evidence));
  }
  return out;
}

}  // namespace airlock::box
