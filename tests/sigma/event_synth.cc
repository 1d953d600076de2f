#include "event_synth.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bit>
#include <bitset>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "sigma/value_matcher.h"

namespace airlock::sigma::test {
namespace {

// ---- regex samples -------------------------------------------------------------------------
struct RegexGen {
  std::string_view p;
  size_t i = 0;
  bool ok = true;

  std::string Alt() {
    std::string first = Seq();
    while (i < p.size() && p[i] == '|') {
      ++i;
      (void)Seq();
    }
    return first;
  }
  std::string Seq() {
    std::string out;
    while (ok && i < p.size() && p[i] != '|' && p[i] != ')') {
      std::string a = Atom();
      int n = Quant();
      for (int k = 0; k < n; ++k) out += a;
    }
    return out;
  }
  int Quant() {
    if (i >= p.size()) return 1;
    int n = 1;
    char c = p[i];
    if (c == '*' || c == '?') {
      n = 0, ++i;
    } else if (c == '+') {
      n = 1, ++i;
    } else if (c == '{') {
      size_t close = p.find('}', i);
      if (close == std::string_view::npos) return 1;
      n = std::atoi(std::string(p.substr(i + 1, close - i - 1)).c_str());
      i = close + 1;
    } else {
      return 1;
    }
    if (i < p.size() && (p[i] == '?' || p[i] == '+')) ++i;  // lazy / possessive
    return n;
  }
  static void AddEscapeClass(char e, std::bitset<256>& set) {
    for (int c = 0; c < 256; ++c) {
      bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
      bool digit = c >= '0' && c <= '9';
      bool word = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      if ((e == 's' && space) || (e == 'S' && !space) || (e == 'd' && digit) || (e == 'D' && !digit) ||
          (e == 'w' && word) || (e == 'W' && !word))
        set.set(static_cast<size_t>(c));
    }
  }
  std::string Class() {
    bool neg = i < p.size() && p[i] == '^';
    if (neg) ++i;
    std::bitset<256> set;
    int first = -1;
    bool start = true;
    while (i < p.size() && (p[i] != ']' || start)) {
      start = false;
      unsigned char c = static_cast<unsigned char>(p[i++]);
      if (c == '\\' && i < p.size()) {
        char e = p[i++];
        if (std::string_view("sSdDwW").find(e) != std::string_view::npos) {
          AddEscapeClass(e, set);
          if (first < 0) first = e == 's' ? ' ' : e == 'd' ? '0' : e == 'w' ? 'a' : 'x';
          continue;
        }
        c = static_cast<unsigned char>(e == 'n' ? '\n' : e == 't' ? '\t' : e);
      }
      if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
        unsigned char hi = static_cast<unsigned char>(p[i + 1]);
        i += 2;
        for (unsigned x = c; x <= hi; ++x) set.set(x);
      } else {
        set.set(c);
      }
      if (first < 0) first = c;
    }
    if (i < p.size()) ++i;  // ']'
    if (!neg) {
      if (first < 0) ok = false;
      return std::string(1, static_cast<char>(first));
    }
    for (char cand : std::string_view("xa0Z_/.")) {
      if (!set.test(static_cast<unsigned char>(cand))) return std::string(1, cand);
    }
    ok = false;
    return {};
  }
  std::string Atom() {
    char c = p[i++];
    switch (c) {
      case '(': {
        if (i < p.size() && p[i] == '?') {
          if (i + 1 < p.size() && p[i + 1] == ':') {
            i += 2;
          } else {  // inline flags "(?i)" or "(?i:...)"
            size_t j = i + 1;
            while (j < p.size() && std::isalpha(static_cast<unsigned char>(p[j]))) ++j;
            if (j < p.size() && p[j] == ')') {
              i = j + 1;
              return {};
            }
            i = j + 1;
          }
        }
        std::string s = Alt();
        if (i < p.size() && p[i] == ')') {
          ++i;
        } else {
          ok = false;
        }
        return s;
      }
      case '[':
        return Class();
      case '.':
        return "a";
      case '^':
      case '$':
        return {};
      case '\\': {
        if (i >= p.size()) {
          ok = false;
          return {};
        }
        char e = p[i++];
        switch (e) {
          case 's': return " ";
          case 'S': return "x";
          case 'd': return "0";
          case 'D': return "x";
          case 'w': return "a";
          case 'W': return " ";
          case 'b':
          case 'B': return {};
          case 'n': return "\n";
          case 't': return "\t";
          default: return std::string(1, e);
        }
      }
      default:
        return std::string(1, c);
    }
  }
};

// ---- rule walking ----------------------------------------------------------------------------
struct FieldKey {
  std::string field;
  std::vector<std::string> mods;
  bool Has(std::string_view m) const { return std::find(mods.begin(), mods.end(), m) != mods.end(); }
};

FieldKey SplitKey(const std::string& key) {
  FieldKey k;
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t bar = key.find('|', start);
    std::string part = key.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (first) {
      k.field = part;
      first = false;
    } else {
      k.mods.push_back(part);
    }
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return k;
}

// Expands Sigma wildcards into one concrete string: '*' -> "", '?' -> "x", escapes resolved.
std::string Concrete(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
      out.push_back(v[++i]);
    } else if (v[i] == '*') {
    } else if (v[i] == '?') {
      out.push_back('x');
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

struct Piece {
  enum Kind { kExact, kPrefix, kSuffix, kContains, kAbsent, kPresent, kNumber } kind = kExact;
  std::string text;
  double number = 0;
  bool plain_number = false;
  bool regex = false;  // a sample built from a regex (may be anchored: no padding)
};

struct Plan {
  std::map<std::string, std::vector<Piece>> fields;
  bool ok = true;
  std::string why;
};

bool IsNumber(const std::string& s, double* d) {
  if (s.empty()) return false;
  char* end = nullptr;
  *d = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

void AddValue(Plan& plan, const FieldKey& k, const YAML::Node& v) {
  std::string field = k.field.empty() ? "Message" : k.field;
  auto& pieces = plan.fields[field];
  Piece p;
  if (v.IsNull()) {
    p.kind = Piece::kAbsent;
    pieces.push_back(p);
    return;
  }
  std::string text = v.Scalar();
  if (k.Has("exists")) {
    p.kind = text == "true" ? Piece::kPresent : Piece::kAbsent;
    pieces.push_back(p);
    return;
  }
  for (const char* cmp : {"lt", "lte", "gt", "gte"}) {
    if (!k.Has(cmp)) continue;
    double d = 0;
    if (!IsNumber(text, &d)) {
      plan.ok = false, plan.why = "lt/gt value is not a number";
      return;
    }
    p.kind = Piece::kNumber;
    p.number = std::string_view(cmp) == "lt" ? d - 1 : std::string_view(cmp) == "gt" ? d + 1 : d;
    pieces.push_back(p);
    return;
  }
  if (k.Has("fieldref")) {
    plan.ok = false, plan.why = "fieldref is not synthesised";
    return;
  }
  if (k.Has("re")) {
    std::string s = RegexSample(text);
    if (s.empty()) {
      plan.ok = false, plan.why = "cannot build a sample for regex '" + text + "'";
      return;
    }
    p.kind = Piece::kContains;
    p.text = s;
    p.regex = true;
    pieces.push_back(p);
    return;
  }
  if (k.Has("cidr")) {
    p.kind = Piece::kExact;
    p.text = text.substr(0, text.find('/'));
    pieces.push_back(p);
    return;
  }
  bool b64 = k.Has("base64") || k.Has("base64offset");
  std::string concrete = b64 ? text : Concrete(text);
  if (b64) {
    std::string bytes = concrete;
    if (k.Has("wide") || k.Has("utf16le")) {
      bytes.clear();
      for (char c : concrete) bytes += std::string{c, '\0'};
    }
    concrete = Base64Encode(bytes);
  }
  p.text = concrete;
  if (k.field.empty() || k.Has("contains")) {
    p.kind = Piece::kContains;
  } else if (k.Has("startswith")) {
    p.kind = Piece::kPrefix;
  } else if (k.Has("endswith")) {
    p.kind = Piece::kSuffix;
  } else {
    p.kind = Piece::kExact;
    double d = 0;
    p.plain_number = v.Tag() == "?" && IsNumber(text, &d);
    p.number = d;
  }
  pieces.push_back(p);
}

// Adds the constraints of one search made true, using alternative/value variant `k`.
void AddSearch(Plan& plan, const YAML::Node& node, size_t k) {
  auto add_map = [&](const YAML::Node& map) {
    for (const auto& kv : map) {
      FieldKey key = SplitKey(kv.first.Scalar());
      if (kv.second.IsSequence()) {
        if (kv.second.size() == 0) {
          plan.ok = false, plan.why = "empty value list";
          return;
        }
        if (key.Has("all")) {
          for (const auto& v : kv.second) AddValue(plan, key, v);
        } else {
          AddValue(plan, key, kv.second[k % kv.second.size()]);
        }
      } else {
        AddValue(plan, key, kv.second);
      }
    }
  };
  if (node.IsMap()) {
    add_map(node);
  } else if (node.IsSequence()) {
    const YAML::Node item = node[k % node.size()];
    if (item.IsMap()) {
      add_map(item);
    } else {
      AddValue(plan, FieldKey{}, item);
    }
  } else {
    AddValue(plan, FieldKey{}, node);
  }
}

void CollectFields(const YAML::Node& node, std::set<std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) out.insert(SplitKey(kv.first.Scalar()).field);
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (item.IsMap()) {
        CollectFields(item, out);
      } else {
        out.insert("");
      }
    }
  } else {
    out.insert("");
  }
}

std::optional<nlohmann::json> BuildEvent(const Plan& plan, const std::set<std::string>& all_fields,
                                         const std::string& category, bool filler) {
  nlohmann::json ev = {{"category", category}};
  std::set<std::string> absent;
  for (const auto& [field, pieces] : plan.fields) {
    std::string prefix, suffix, exact;
    std::vector<std::string> contains;
    bool has_exact = false, is_absent = false, present = false, has_regex = false;
    std::optional<double> number;
    for (const auto& p : pieces) {
      switch (p.kind) {
        case Piece::kAbsent: is_absent = true; break;
        case Piece::kPresent: present = true; break;
        case Piece::kNumber: number = p.number; break;
        case Piece::kExact:
          if (has_exact && exact != p.text) return std::nullopt;
          has_exact = true, exact = p.text;
          if (p.plain_number) number = p.number;
          break;
        case Piece::kPrefix:
          if (p.text.size() > prefix.size()) prefix = p.text;
          break;
        case Piece::kSuffix:
          if (p.text.size() > suffix.size()) suffix = p.text;
          break;
        case Piece::kContains:
          contains.push_back(p.text);
          has_regex = has_regex || p.regex;
          break;
      }
    }
    if (is_absent) {
      if (has_exact || present || number || !prefix.empty() || !suffix.empty() || !contains.empty()) return std::nullopt;
      absent.insert(field);
      continue;
    }
    if (number && !has_exact) {
      ev[field] = *number;
    } else if (number && has_exact && contains.empty() && prefix.empty() && suffix.empty()) {
      ev[field] = static_cast<long long>(*number) == *number ? nlohmann::json(static_cast<long long>(*number))
                                                             : nlohmann::json(*number);
    } else if (has_exact) {
      ev[field] = exact;
    } else if (!prefix.empty() || !suffix.empty() || !contains.empty()) {
      // Pad around the pieces ("Q") so a comparison that wrongly anchors (contains treated as
      // startswith, endswith as exact ...) fails; regex samples are left unpadded (they may be
      // anchored).
      std::string mid;
      for (const auto& c : contains) mid += (mid.empty() ? "" : " ") + c;
      if (has_regex) {
        ev[field] = prefix + mid + suffix;
      } else {
        if (mid.empty()) mid = "Q";
        ev[field] = (prefix.empty() ? "Q" : prefix) + mid + (suffix.empty() ? "Q" : suffix);
      }
    } else {
      ev[field] = "zzpresent";
    }
  }
  if (filler) {
    for (const auto& f : all_fields) {
      std::string name = f.empty() ? "Message" : f;
      if (!ev.contains(name) && !absent.contains(name)) ev[name] = "zzfiller";
    }
  }
  return ev;
}

// ---- condition oracle ------------------------------------------------------------------------
// The test's own reading of the Sigma condition grammar (the Sigma specification, not src/sigma/):
// precedence not > and > or, parentheses, `1 of` / `all of` a '*' pattern or `them` (identifiers not
// starting with '_'), case-insensitive keywords. It evaluates the text directly for one truth
// assignment, so a precedence or quantifier bug in the engine's ParseCondition cannot make the
// expected outcome agree with the engine.
class ConditionOracle {
 public:
  ConditionOracle(const std::string& text, const std::vector<std::string>& names) : names_(names) {
    std::string word;
    auto flush = [&] {
      if (!word.empty()) tokens_.push_back(std::move(word));
      word.clear();
    };
    for (char ch : text) {
      if (std::isspace(static_cast<unsigned char>(ch))) {
        flush();
      } else if (ch == '(' || ch == ')') {
        flush();
        tokens_.emplace_back(1, ch);
      } else {
        word += ch;
      }
    }
    flush();
  }

  // The condition's value when search i is (mask >> i) & 1; nullopt when the text is not a condition
  // this reading understands (aggregations after '|', syntax errors, patterns matching nothing).
  std::optional<bool> Eval(unsigned mask) {
    mask_ = mask;
    pos_ = 0;
    ok_ = true;
    bool v = Or();
    if (!ok_ || pos_ != tokens_.size()) return std::nullopt;
    return v;
  }

 private:
  static std::string Lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }
  static bool Glob(const char* p, const char* s) {
    if (*p == '\0') return *s == '\0';
    if (*p == '*') return Glob(p + 1, s) || (*s != '\0' && Glob(p, s + 1));
    return *s == *p && Glob(p + 1, s + 1);
  }
  bool Next(const char* keyword) {
    if (pos_ < tokens_.size() && Lower(tokens_[pos_]) == keyword) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Bit(size_t i) const { return ((mask_ >> i) & 1u) != 0; }
  bool Or() {
    bool v = And();
    while (Next("or")) v = And() || v;  // both sides parsed: no short-circuit of the parse
    return v;
  }
  bool And() {
    bool v = Not();
    while (Next("and")) v = Not() && v;
    return v;
  }
  bool Not() { return Next("not") ? !Not() : Primary(); }
  bool Primary() {
    if (pos_ >= tokens_.size()) return ok_ = false;
    if (Next("(")) {
      bool v = Or();
      if (!Next(")")) ok_ = false;
      return v;
    }
    const std::string word = tokens_[pos_++];
    if ((word == "1" || Lower(word) == "all") && Next("of")) {
      if (pos_ >= tokens_.size()) return ok_ = false;
      return Quantified(Lower(word) == "all", tokens_[pos_++]);
    }
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == word) return Bit(i);
    return ok_ = false;
  }
  bool Quantified(bool all, const std::string& pattern) {
    bool any_name = false, value = all;
    for (size_t i = 0; i < names_.size(); ++i) {
      bool in = Lower(pattern) == "them" ? names_[i].rfind('_', 0) != 0 : Glob(pattern.c_str(), names_[i].c_str());
      if (!in) continue;
      any_name = true;
      value = all ? (value && Bit(i)) : (value || Bit(i));
    }
    if (!any_name) ok_ = false;
    return value;
  }

  const std::vector<std::string>& names_;
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
  unsigned mask_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string RegexSample(const std::string& pattern) {
  RegexGen g{pattern};
  std::string s = g.Alt();
  if (!g.ok || g.i != pattern.size()) return {};
  return s.empty() ? std::string(" ") : s;
}

SynthResult Synthesise(const std::string& rule_yaml, const std::function<bool(const nlohmann::json&)>& fires) {
  SynthResult res;
  YAML::Node doc;
  try {
    doc = YAML::Load(rule_yaml);
  } catch (const std::exception& e) {
    res.reason = std::string("YAML: ") + e.what();
    return res;
  }
  const YAML::Node det = doc["detection"];
  std::string category = doc["logsource"]["category"] ? doc["logsource"]["category"].Scalar() : "";
  std::vector<std::string> names;
  std::vector<YAML::Node> nodes;
  std::set<std::string> all_fields;
  for (const auto& kv : det) {
    std::string key = kv.first.Scalar();
    if (key == "condition" || key == "timeframe") continue;
    names.push_back(key);
    nodes.push_back(kv.second);
    CollectFields(kv.second, all_fields);
  }
  const YAML::Node c = det["condition"];
  std::vector<std::string> texts;
  if (c.IsSequence()) {
    for (const auto& x : c) texts.push_back(x.Scalar());
  } else {
    texts.push_back(c.Scalar());
  }
  if (names.size() > 16) {
    res.reason = "more than 16 search identifiers";
    return res;
  }
  // The assignments that satisfy the condition, by the test's own reading of it (ConditionOracle).
  // A list of conditions fires when any of them does.
  std::vector<ConditionOracle> oracles;
  for (const auto& t : texts) oracles.emplace_back(t, names);
  std::vector<unsigned> masks;
  for (unsigned m = 0; m < (1u << names.size()); ++m) {
    bool satisfied = false;
    for (size_t k = 0; k < oracles.size(); ++k) {
      std::optional<bool> v = oracles[k].Eval(m);
      if (!v) {
        res.reason = "condition not understood by the test's grammar: " + texts[k];
        return res;
      }
      satisfied = satisfied || *v;
    }
    if (satisfied) masks.push_back(m);
  }
  std::stable_sort(masks.begin(), masks.end(),
                   [](unsigned a, unsigned b) { return std::popcount(a) < std::popcount(b); });
  if (masks.size() > 200) masks.resize(200);
  std::string last_why = "no satisfying assignment of the search identifiers";
  for (unsigned m : masks) {
    for (size_t k = 0; k < 4; ++k) {
      Plan plan;
      for (size_t i = 0; i < names.size(); ++i)
        if ((m >> i) & 1u) AddSearch(plan, nodes[i], k);
      if (!plan.ok) {
        last_why = plan.why;
        continue;
      }
      for (bool filler : {true, false}) {
        auto ev = BuildEvent(plan, all_fields, category, filler);
        if (!ev) {
          last_why = "conflicting constraints on one field";
          continue;
        }
        if (fires(*ev)) {
          res.ok = true;
          res.event = std::move(*ev);
          return res;
        }
        last_why = "built events did not fire (last: " + ev->dump() + ")";
      }
    }
  }
  res.reason = last_why;
  return res;
}

nlohmann::json Unrelated(const std::string& rule_yaml) {
  YAML::Node doc = YAML::Load(rule_yaml);
  std::set<std::string> fields;
  for (const auto& kv : doc["detection"]) {
    std::string key = kv.first.Scalar();
    if (key == "condition" || key == "timeframe") continue;
    CollectFields(kv.second, fields);
  }
  nlohmann::json ev = {{"category", doc["logsource"]["category"].Scalar()}};
  for (const auto& f : fields) ev[f.empty() ? "Message" : f] = "airlock-unrelated-value";
  return ev;
}

}  // namespace airlock::sigma::test
