// A minimal, non-validating XML tokenizer for triage of Office XML parts. It never builds a tree and
// never resolves external entities (no XXE, no billion laughs): it yields start/end/empty tags with
// their raw attribute text, and text runs. Malformed markup ends tokenizing; nothing is thrown.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace airlock::scan::office {

struct XmlToken {
  enum class Kind { kStart, kEnd, kEmpty, kText };
  Kind kind = Kind::kText;
  std::string_view name;   // local name (prefix stripped), for tags
  std::string_view attrs;  // raw attribute text, for start/empty tags
  std::string_view text;   // raw text (entities not decoded; CDATA content as is), for kText
};

class XmlLite {
 public:
  explicit XmlLite(std::string_view xml) : xml_(xml) {}
  // Advances to the next token; false at the end or on malformed markup.
  bool Next(XmlToken& token);

 private:
  std::string_view xml_;
  size_t pos_ = 0;
};

// Value of the attribute whose local name is `local_name` (e.g. "instr" matches w:instr), decoded.
std::optional<std::string> XmlAttr(std::string_view attrs, std::string_view local_name);
// Decodes the five named entities and numeric character references (&#NN; &#xHH;).
std::string XmlDecode(std::string_view text);
// Decodes base64, skipping whitespace and stopping at the first invalid character. Output is capped at
// `max_bytes`.
std::string Base64Decode(std::string_view text, size_t max_bytes);

}  // namespace airlock::scan::office
