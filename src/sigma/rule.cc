#include "sigma/rule.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

namespace airlock::sigma {
namespace {

constexpr size_t kMaxValuesPerRule = 100000;  // guards against alias bombs

// Rejects inputs that would make the recursive YAML parser recurse deeply: flow collections nested
// deeper than kMaxYamlDepth, or lines whose leading indentation/compact-sequence prefix is huge.
Status PrecheckYaml(std::string_view text) {
  if (text.size() > kMaxRuleBytes) return MakeError("rule file larger than 1 MiB");
  int flow = 0;
  char quote = 0;       // inside a quoted scalar: its quote character
  bool escape = false;  // previous character was a backslash inside "..."
  bool line_start = true, comment = false;
  char prev = '\n';    // last significant character outside quotes
  size_t prefix = 0;
  char raw_prev = '\n';  // the character just before c
  for (char c : text) {
    const char before = raw_prev;
    raw_prev = c;
    if (quote) {
      // Quoted scalars may span lines; brackets inside them do not nest.
      if (escape) {
        escape = false;
      } else if (quote == '"' && c == '\\') {
        escape = true;
      } else if (c == quote) {
        quote = 0;
        prev = c;
      }
      continue;
    }
    if (c == '\n') {
      line_start = true, comment = false, prefix = 0, prev = '\n';
      continue;
    }
    if (comment) continue;
    if (line_start) {
      if (c == ' ' || c == '-' || c == '\t' || c == '?' || c == ':') {
        if (++prefix > 256) return MakeError("YAML nested too deeply");
        if (c != ' ' && c != '\t') prev = c;
        continue;
      }
      line_start = false;
    }
    if (c == ' ' || c == '\t') continue;
    // A quote opens a quoted scalar only where a scalar can start; "don't" stays plain.
    bool scalar_start = prev == '\n' || prev == ':' || prev == '-' || prev == '[' || prev == '{' ||
                        prev == ',' || prev == '?';
    if (c == '#' && (before == ' ' || before == '\t' || before == '\n')) {
      comment = true;  // '#' starts a comment only after whitespace
    } else if ((c == '\'' || c == '"') && scalar_start) {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++flow > kMaxYamlDepth) return MakeError("YAML nested too deeply");
    } else if ((c == ']' || c == '}') && flow > 0) {
      --flow;
    }
    prev = c;
  }
  return Ok();
}

std::string ScalarOr(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (v && v.IsScalar()) return v.Scalar();
  return {};
}

RuleScalar ToScalar(const YAML::Node& n) {
  RuleScalar s;
  if (n.IsNull()) {
    s.is_null = true;
    return s;
  }
  s.text = n.Scalar();
  s.plain = n.Tag() == "?";
  return s;
}

std::vector<std::string_view> SplitPipes(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find('|', start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

struct Compiler {
  size_t budget = kMaxValuesPerRule;
  bool uses_expand = false;

  Result<FieldCondition> Field(const std::string& key, const YAML::Node& values, bool keyword) {
    auto parts = SplitPipes(key);
    FieldCondition fc;
    fc.field = std::string(parts[0]);
    if (keyword && !fc.field.empty()) return MakeError("keyword list cannot name a field");
    std::vector<std::string_view> mods(parts.begin() + 1, parts.end());
    auto chain = ParseModifiers(mods, &fc.all);
    if (!chain) return std::unexpected(std::move(chain.error()).WithContext(key));
    if (fc.field.empty() && !chain->re && !chain->startswith && !chain->endswith) chain->contains = true;
    if (chain->expand) uses_expand = true;
    std::vector<YAML::Node> items;
    if (values.IsSequence()) {
      for (const auto& v : values) items.push_back(v);
    } else {
      items.push_back(values);
    }
    for (const auto& v : items) {
      if (budget-- == 0) return MakeError("too many values in rule");
      if (!v.IsScalar() && !v.IsNull()) return MakeError(key + ": values must be scalars");
      auto vm = CompileValue(*chain, ToScalar(v));
      if (!vm) return std::unexpected(std::move(vm.error()).WithContext(key));
      fc.values.push_back(std::move(*vm));
    }
    return fc;
  }

  Result<std::vector<FieldCondition>> Map(const YAML::Node& map) {
    std::vector<FieldCondition> out;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) return MakeError("field names must be scalars");
      auto fc = Field(kv.first.Scalar(), kv.second, false);
      if (!fc) return std::unexpected(fc.error());
      out.push_back(std::move(*fc));
    }
    if (out.empty()) return MakeError("empty map");
    return out;
  }

  Result<Search> SearchFrom(const std::string& name, const YAML::Node& node) {
    Search s;
    s.name = name;
    auto fail = [&](Error e) { return std::unexpected(std::move(e).WithContext("detection." + name)); };
    if (node.IsMap()) {
      auto m = Map(node);
      if (!m) return fail(m.error());
      s.alternatives.push_back(std::move(*m));
    } else if (node.IsSequence()) {
      YAML::Node keywords(YAML::NodeType::Sequence);
      for (const auto& item : node) {
        if (item.IsMap()) {
          auto m = Map(item);
          if (!m) return fail(m.error());
          s.alternatives.push_back(std::move(*m));
        } else if (item.IsScalar()) {
          keywords.push_back(item);
        } else {
          return fail(Error("list items must be maps or keywords"));
        }
      }
      if (keywords.size() > 0) {
        auto fc = Field("", keywords, true);
        if (!fc) return fail(fc.error());
        s.alternatives.emplace_back();
        s.alternatives.back().push_back(std::move(*fc));
      }
      if (s.alternatives.empty()) return fail(Error("empty list"));
    } else if (node.IsScalar()) {
      auto fc = Field("", node, true);
      if (!fc) return fail(fc.error());
      s.alternatives.emplace_back();
        s.alternatives.back().push_back(std::move(*fc));
    } else {
      return fail(Error("search identifier must be a map, a list or a keyword"));
    }
    return s;
  }
};

void MarkUnsupported(Rule& r, std::string reason) {
  if (!r.supported) return;
  r.supported = false;
  r.unsupported_reason = std::move(reason);
}

void CheckLogSource(Rule& r) {
  const LogSource& ls = r.logsource;
  if (!ls.product.empty() && ls.product != "linux")
    return MarkUnsupported(r, "logsource product '" + ls.product + "' (airlock feeds product linux only)");
  if (!ls.service.empty())
    return MarkUnsupported(r, "logsource service '" + ls.service + "' (airlock feeds no service logs)");
  if (ls.category.empty())
    return MarkUnsupported(r, "logsource without category (untyped log keyword search; airlock feeds typed events only)");
  const auto& cats = SupportedCategories();
  if (std::find(cats.begin(), cats.end(), ls.category) == cats.end())
    MarkUnsupported(r, "logsource category '" + ls.category + "' (not emitted by airlock's monitor)");
}

Result<Rule> ParseOne(const YAML::Node& doc, const std::string& origin) {
  Rule r;
  r.origin = origin;
  if (!doc.IsMap()) return MakeError("rule document is not a map");
  r.title = ScalarOr(doc, "title");
  r.id = ScalarOr(doc, "id");
  r.status = ScalarOr(doc, "status");
  r.level = ScalarOr(doc, "level");
  r.description = ScalarOr(doc, "description");
  if (r.title.empty()) return MakeError("missing title");
  if (const YAML::Node tags = doc["tags"]; tags) {
    if (!tags.IsSequence()) return MakeError("tags must be a list");
    for (const auto& t : tags) {
      if (!t.IsScalar()) return MakeError("tags must be scalars");
      r.tags.push_back(t.Scalar());
      std::string tech = TechniqueFromTag(t.Scalar());
      if (!tech.empty()) r.techniques.push_back(std::move(tech));
    }
  }
  if (const YAML::Node ls = doc["logsource"]; ls) {
    if (!ls.IsMap()) return MakeError("logsource must be a map");
    r.logsource = {ScalarOr(ls, "product"), ScalarOr(ls, "category"), ScalarOr(ls, "service")};
  }
  const YAML::Node det = doc["detection"];
  if (!det) {
    if (doc["correlation"]) {
      MarkUnsupported(r, "correlation rules are not supported");
      return r;
    }
    if (doc["action"]) {
      MarkUnsupported(r, "Sigma 1.x 'action' documents are not supported");
      return r;
    }
    return MakeError("missing detection");
  }
  if (!doc["logsource"]) return MakeError("missing logsource");
  if (!det.IsMap()) return MakeError("detection must be a map");
  Compiler comp;
  std::vector<std::string> names;
  YAML::Node cond;
  for (const auto& kv : det) {
    if (!kv.first.IsScalar()) return MakeError("detection keys must be scalars");
    const std::string& key = kv.first.Scalar();
    if (key == "condition") {
      cond = kv.second;
      continue;
    }
    if (key == "timeframe") {
      MarkUnsupported(r, "timeframe (aggregation) is not supported");
      continue;
    }
    auto s = comp.SearchFrom(key, kv.second);
    if (!s) return std::unexpected(s.error());
    names.push_back(key);
    r.searches.push_back(std::move(*s));
  }
  if (!cond) return MakeError("detection without condition");
  std::vector<std::string> conds;
  if (cond.IsScalar()) {
    conds.push_back(cond.Scalar());
  } else if (cond.IsSequence()) {
    for (const auto& c : cond) {
      if (!c.IsScalar()) return MakeError("condition list items must be strings");
      conds.push_back(c.Scalar());
    }
  } else {
    return MakeError("condition must be a string or a list of strings");
  }
  if (conds.empty()) return MakeError("empty condition");
  r.condition.kind = CondNode::Kind::kOr;
  for (const auto& c : conds) {
    auto node = ParseCondition(c, names);
    if (!node) {
      if (node.error().unsupported) {
        MarkUnsupported(r, node.error().message);
        continue;
      }
      return MakeError("condition '" + c + "': " + node.error().message);
    }
    r.condition.children.push_back(std::move(*node));
  }
  if (comp.uses_expand) MarkUnsupported(r, "modifier 'expand' (placeholders) is not supported");
  CheckLogSource(r);
  return r;
}

}  // namespace

const std::vector<std::string>& SupportedCategories() {
  static const std::vector<std::string> kCats = {"process_creation", "file_event", "network_connection", "dns_query",
                                                 "syscall", "file_access", "tool_invocation"};
  return kCats;
}

std::string TechniqueFromTag(std::string_view tag) {
  constexpr std::string_view kPrefix = "attack.t";
  if (tag.size() < kPrefix.size() + 4) return {};
  for (size_t i = 0; i < kPrefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(tag[i])) != kPrefix[i]) return {};
  std::string_view rest = tag.substr(kPrefix.size());
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (rest.size() == 4 && digits(rest)) return "T" + std::string(rest);
  if (rest.size() == 8 && rest[4] == '.' && digits(rest.substr(0, 4)) && digits(rest.substr(5)))
    return "T" + std::string(rest);
  return {};
}

Result<std::vector<Rule>> ParseRules(std::string_view text, const std::string& origin) {
  AIRLOCK_TRY_STATUS(PrecheckYaml(text), origin);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const std::exception& e) {
    return MakeError(origin + ": YAML: " + e.what());
  }
  std::vector<Rule> out;
  try {
    for (const auto& d : docs) {
      if (d.IsNull()) continue;
      auto r = ParseOne(d, origin);
      if (!r) return std::unexpected(std::move(r.error()).WithContext(origin));
      out.push_back(std::move(*r));
    }
  } catch (const std::exception& e) {
    return MakeError(origin + ": " + e.what());
  }
  if (out.empty()) return MakeError(origin + ": no rule in file");
  return out;
}

bool FieldCondition::Matches(const nlohmann::json& event) const {
  if (values.empty()) return false;
  if (field.empty()) {
    // Keyword search: a value matches if any top-level event value (other than the category
    // the monitor adds) matches it.
    auto found = [&](const ValueMatcher& vm) {
      for (auto it = event.begin(); it != event.end(); ++it) {
        if (it.key() == "category") continue;
        if (vm.Matches(&it.value(), event)) return true;
      }
      return false;
    };
    for (const auto& vm : values) {
      bool hit = found(vm);
      if (all && !hit) return false;
      if (!all && hit) return true;
    }
    return all;
  }
  const nlohmann::json* v = nullptr;
  auto it = event.find(field);
  if (it != event.end()) {
    v = &*it;
  } else if (field.find('.') != std::string::npos) {
    // Dotted path into nested objects ("process.parent.name").
    const nlohmann::json* cur = &event;
    size_t start = 0;
    while (true) {
      if (!cur->is_object()) {
        cur = nullptr;
        break;
      }
      size_t dot = field.find('.', start);
      std::string_view part = std::string_view(field).substr(start, dot == std::string::npos ? dot : dot - start);
      const nlohmann::json* next = nullptr;
      for (auto jt = cur->begin(); jt != cur->end(); ++jt)
        if (jt.key() == part) next = &jt.value();
      cur = next;
      if (cur == nullptr || dot == std::string::npos) break;
      start = dot + 1;
    }
    v = cur;
  }
  for (const auto& vm : values) {
    bool hit = vm.Matches(v, event);
    if (all && !hit) return false;
    if (!all && hit) return true;
  }
  return all;
}

bool Search::Matches(const nlohmann::json& event) const {
  for (const auto& alt : alternatives) {
    bool ok = true;
    for (const auto& fc : alt) {
      if (!fc.Matches(event)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

bool Rule::Matches(const nlohmann::json& event) const {
  if (!supported || !event.is_object()) return false;
  return condition.Eval([&](int i) { return searches[static_cast<size_t>(i)].Matches(event); });
}

}  // namespace airlock::sigma
