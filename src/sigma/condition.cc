#include "sigma/condition.h"
#include "core/ascii.h"

#include <algorithm>
#include <cctype>

namespace airlock::sigma {
namespace {

std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else if (c == '(' || c == ')' || c == '|') {
      flush();
      out.emplace_back(1, c);
    } else {
      cur.push_back(c);
    }
  }
  flush();
  return out;
}

class Parser {
 public:
  Parser(std::vector<std::string> tokens, const std::vector<std::string>& ids) : toks_(std::move(tokens)), ids_(ids) {}

  std::expected<CondNode, ConditionError> Run() {
    auto n = Expr(0);
    if (!n) return n;
    if (pos_ != toks_.size()) {
      if (toks_[pos_] == "|") return Unsupported("aggregation expressions ('|') are not supported");
      return Syntax("unexpected '" + toks_[pos_] + "'");
    }
    return n;
  }

 private:
  using R = std::expected<CondNode, ConditionError>;
  static R Syntax(std::string m) { return std::unexpected(ConditionError{false, std::move(m)}); }
  static R Unsupported(std::string m) { return std::unexpected(ConditionError{true, std::move(m)}); }

  bool AtKeyword(std::string_view kw) const { return pos_ < toks_.size() && AsciiLower(toks_[pos_]) == kw; }

  R Binary(int depth, bool is_or) {
    auto first = is_or ? Binary(depth, false) : Not(depth);
    if (!first) return first;
    std::string_view kw = is_or ? "or" : "and";
    if (!AtKeyword(kw)) return first;
    CondNode node;
    node.kind = is_or ? CondNode::Kind::kOr : CondNode::Kind::kAnd;
    node.children.push_back(std::move(*first));
    while (AtKeyword(kw)) {
      ++pos_;
      auto next = is_or ? Binary(depth, false) : Not(depth);
      if (!next) return next;
      node.children.push_back(std::move(*next));
    }
    return node;
  }

  R Expr(int depth) {
    if (depth > kMaxConditionDepth) return Syntax("condition nested too deeply");
    return Binary(depth, true);
  }

  R Not(int depth) {
    if (AtKeyword("not")) {
      ++pos_;
      if (depth > kMaxConditionDepth) return Syntax("condition nested too deeply");
      auto inner = Not(depth + 1);
      if (!inner) return inner;
      CondNode node;
      node.kind = CondNode::Kind::kNot;
      node.children.push_back(std::move(*inner));
      return node;
    }
    return Primary(depth);
  }

  R Primary(int depth) {
    if (pos_ >= toks_.size()) return Syntax("unexpected end of condition");
    const std::string& t = toks_[pos_];
    if (t == "(") {
      ++pos_;
      auto inner = Expr(depth + 1);
      if (!inner) return inner;
      if (pos_ >= toks_.size() || toks_[pos_] != ")") return Syntax("missing ')'");
      ++pos_;
      return inner;
    }
    if (t == ")") return Syntax("unexpected ')'");
    if (t == "|") return Unsupported("aggregation expressions ('|') are not supported");
    std::string lt = AsciiLower(t);
    if (lt == "and" || lt == "or" || lt == "of" || lt == "them") return Syntax("unexpected '" + t + "'");
    if (lt == "near") return Unsupported("'near' aggregation is not supported");
    if (pos_ + 1 < toks_.size() && AsciiLower(toks_[pos_ + 1]) == "of") {
      if (lt != "1" && lt != "all" && lt != "any") return Syntax("only '1 of' and 'all of' are allowed, got '" + t + " of'");
      pos_ += 2;
      if (pos_ >= toks_.size()) return Syntax("missing pattern after 'of'");
      std::string pattern = toks_[pos_++];
      bool them = AsciiLower(pattern) == "them";
      std::vector<std::string> names;
      for (const auto& id : ids_)
        if (them ? id.empty() || id[0] != '_' : IdentifierGlob(pattern, id)) names.push_back(id);
      if (names.empty()) return Syntax("'" + pattern + "' matches no search identifier");
      std::sort(names.begin(), names.end());
      CondNode node;
      node.kind = lt == "all" ? CondNode::Kind::kAnd : CondNode::Kind::kOr;
      for (const auto& n : names) node.children.push_back(Leaf(n));
      return node;
    }
    auto it = std::find(ids_.begin(), ids_.end(), t);
    if (it == ids_.end()) return Syntax("unknown search identifier '" + t + "'");
    ++pos_;
    return Leaf(t);
  }

  CondNode Leaf(const std::string& name) const {
    CondNode n;
    n.kind = CondNode::Kind::kSearch;
    n.search = static_cast<int>(std::find(ids_.begin(), ids_.end(), name) - ids_.begin());
    return n;
  }

  std::vector<std::string> toks_;
  const std::vector<std::string>& ids_;
  size_t pos_ = 0;
};

}  // namespace

bool IdentifierGlob(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] != '*' && p[pi] == s[si]) {
      ++pi, ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::expected<CondNode, ConditionError> ParseCondition(std::string_view text,
                                                       const std::vector<std::string>& identifiers) {
  if (text.size() > 65536) return std::unexpected(ConditionError{false, "condition longer than 64 KiB"});
  auto toks = Tokenize(text);
  if (toks.empty()) return std::unexpected(ConditionError{false, "empty condition"});
  return Parser(std::move(toks), identifiers).Run();
}

}  // namespace airlock::sigma
