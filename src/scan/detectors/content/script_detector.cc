// Script detector: runs the RE2 rule table (script_rules.cc) over shell, Python, Perl, PowerShell,
// JavaScript, VBScript and batch files. Bounded: only the first kMaxScriptScan bytes are scanned; RE2
// matches in linear time; counting rules stop at their threshold.
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "scan/detectors/content/content_detectors.h"
#include "scan/detectors/content/content_util.h"
#include "scan/detectors/content/script_rules.h"

namespace airlock::scan {
namespace {

using content::ScriptRule;

constexpr size_t kMaxScriptScan = 8u << 20;

constexpr std::array<std::string_view, 24> kScriptExt = {
    "sh", "bash", "zsh", "ksh", "command", "py", "pyw", "pl", "pm", "ps1", "psm1", "psd1",
    "js", "jse", "mjs", "vbs", "vbe", "vba", "bat", "cmd", "wsf", "wsh", "hta", "sct"};
constexpr std::array<std::string_view, 11> kScriptMime = {
    "text/x-shellscript", "application/x-sh", "text/x-python", "text/x-script.python", "text/x-perl",
    "application/javascript", "text/javascript", "application/x-javascript", "text/x-msdos-batch",
    "text/vbscript", "text/x-vba"};

struct CompiledRule {
  const ScriptRule* rule;
  std::vector<std::unique_ptr<RE2>> res;  // res[0] wraps patterns[0] in a capture group
};

class ScriptDetector final : public Analyzer {
 public:
  ScriptDetector() {
    RE2::Options opts;
    opts.set_case_sensitive(false);
    opts.set_log_errors(false);
    opts.set_max_mem(64 << 20);
    for (const ScriptRule& rule : content::ScriptRules()) {
      CompiledRule c{&rule, {}};
      bool ok = true;
      for (size_t i = 0; i < 3 && !rule.patterns[i].empty(); ++i) {
        // Appended in place: "(" + std::string(...) made GCC 12 -O3 report a -Wrestrict false positive.
        std::string pattern(i == 0 ? "(" : "");
        pattern += rule.patterns[i];
        if (i == 0) pattern += ')';
        auto re = std::make_unique<RE2>(pattern, opts);
        ok = ok && re->ok();
        c.res.push_back(std::move(re));
      }
      if (ok) rules_.push_back(std::move(c));  // a broken pattern is caught by the rule tests
    }
  }

  std::string_view Name() const override { return "content.scripts"; }

  bool Accepts(const Object& object) const override {
    const std::string ext = content::Extension(object.name);
    for (auto e : kScriptExt) {
      if (ext == e) return true;
    }
    for (auto m : kScriptMime) {
      if (object.mime == m) return true;
    }
    return content::DetectMagic(object.data) == content::Magic::kShebang;
  }

  // Comment lines (#, //, REM, ::, ') are blanked (same length) so documentation that shows an
  // attack command does not count as the script doing it. "#!" lines are kept.
  static std::string BlankComments(std::string_view in) {
    std::string text(in);
    size_t line = 0;
    while (line < text.size()) {
      size_t end = text.find('\n', line);
      if (end == std::string::npos) end = text.size();
      size_t p = line;
      while (p < end && (text[p] == ' ' || text[p] == '\t')) ++p;
      std::string_view rest = std::string_view(text).substr(p, end - p);
      const bool comment = (rest.starts_with("#") && !rest.starts_with("#!")) || rest.starts_with("//") ||
                           rest.starts_with("::") || rest.starts_with("'") ||
                           content::StartsWithI(rest, "rem ");
      if (comment) std::fill(text.begin() + static_cast<std::ptrdiff_t>(p), text.begin() + static_cast<std::ptrdiff_t>(end), ' ');
      line = end + 1;
    }
    return text;
  }

  void Analyze(const Object& object, AnalyzerOutput& out) override {
    const std::string code = BlankComments(object.data.substr(0, kMaxScriptScan));
    const std::string_view text = code;
    std::set<std::string_view> reported;
    for (const CompiledRule& c : rules_) {
      if (out.TimeUp()) return;
      if (reported.contains(c.rule->id)) continue;
      if (!c.rule->suppressed_by.empty() && reported.contains(c.rule->suppressed_by)) continue;
      re2::StringPiece evidence;
      if (!RE2::PartialMatch(text, *c.res[0], &evidence)) continue;
      if (c.rule->min_count > 1 && !MatchesAtLeast(text, *c.res[0], c.rule->min_count)) continue;
      bool all = true;
      for (size_t i = 1; i < c.res.size() && all; ++i) all = RE2::PartialMatch(text, *c.res[i]);
      if (!all) continue;
      reported.insert(c.rule->id);
      std::vector<std::string> techniques;
      for (auto t : c.rule->techniques) {
        if (!t.empty()) techniques.emplace_back(t);
      }
      out.AddFinding(content::MakeFinding(std::string(c.rule->id), c.rule->severity,
                                          std::string(c.rule->title), std::string(c.rule->explanation),
                                          content::Escape(std::string_view(evidence.data(), evidence.size())),
                                          std::move(techniques)));
    }
  }

 private:
  static bool MatchesAtLeast(std::string_view text, const RE2& re, int n) {
    re2::StringPiece input(text.data(), text.size());
    int count = 0;
    while (count < n && RE2::FindAndConsume(&input, re)) {
      ++count;
      if (input.empty()) break;
    }
    return count >= n;
  }

  std::vector<CompiledRule> rules_;
};

}  // namespace

namespace content {
std::vector<std::string> BrokenScriptRules() {
  std::vector<std::string> broken;
  RE2::Options opts;
  opts.set_case_sensitive(false);
  opts.set_log_errors(false);
  opts.set_max_mem(64 << 20);
  for (const ScriptRule& rule : ScriptRules()) {
    for (auto p : rule.patterns) {
      if (p.empty()) continue;
      RE2 re(std::string(p), opts);
      if (!re.ok()) broken.push_back(std::string(rule.id) + ": " + re.error());
    }
  }
  return broken;
}
}  // namespace content

std::unique_ptr<Analyzer> MakeScriptDetector() { return std::make_unique<ScriptDetector>(); }

}  // namespace airlock::scan
