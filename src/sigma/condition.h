// The Sigma condition grammar, compiled into a small boolean tree over search identifiers.
//
//   expr    := and_expr ('or' and_expr)*
//   and_expr:= not_expr ('and' not_expr)*
//   not_expr:= 'not' not_expr | primary
//   primary := '(' expr ')' | ('1' | 'all') 'of' (pattern | 'them') | identifier
//
// Keywords are case-insensitive. `pattern` may use '*' wildcards; `them` covers every identifier not
// starting with '_'. `1 of` becomes an OR, `all of` an AND over the matching identifiers (sorted by
// name). Aggregations (`| count() ...`, `near`) are reported as Unsupported, not as syntax errors.
// Nesting deeper than kMaxConditionDepth and conditions longer than 64 KiB are errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace airlock::sigma {

inline constexpr int kMaxConditionDepth = 64;

struct CondNode {
  enum class Kind { kSearch, kAnd, kOr, kNot };
  Kind kind = Kind::kSearch;
  int search = -1;                 // kSearch: index into the identifier list
  std::vector<CondNode> children;  // kAnd/kOr: operands; kNot: exactly one

  // Evaluates with `truth(i)` giving the value of search i; short-circuits.
  template <class F>
  bool Eval(F&& truth) const {
    switch (kind) {
      case Kind::kSearch: return truth(search);
      case Kind::kNot: return !children[0].Eval(truth);
      case Kind::kAnd:
        for (const auto& c : children)
          if (!c.Eval(truth)) return false;
        return true;
      case Kind::kOr:
        for (const auto& c : children)
          if (c.Eval(truth)) return true;
        return false;
    }
    return false;
  }
};

struct ConditionError {
  bool unsupported = false;  // true: valid Sigma we do not implement (aggregation)
  std::string message;
};

// Parses `text` against the rule's identifiers. On failure the error says whether it is a syntax
// error or an unsupported construct.
std::expected<CondNode, ConditionError> ParseCondition(std::string_view text,
                                                       const std::vector<std::string>& identifiers);

// '*' wildcard match used for `1 of selection_*` (case-sensitive, like identifiers).
bool IdentifierGlob(std::string_view pattern, std::string_view name);

}  // namespace airlock::sigma
