#include "scan/plain_text.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

namespace airlock::scan {
namespace {

constexpr size_t kMaxBytes = 8u << 20;  // what FileTyper hands libmagic at most

// Bytes that mark markup, code, shell, headers, TeX, PostScript/PDF comments, Markdown ...
constexpr std::string_view kDenied = "<>{}[]\\#`|^~$=*";
constexpr auto kDeniedTable = [] {
  std::array<bool, 256> t{};
  for (char c : kDenied) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// First words of a line that libmagic's text rules (or the detectors) may key on: programming and
// shell keywords, mbox separators, uuencode/PGP/diff markers. Compared case-insensitively.
constexpr std::string_view kLineKeywords[] = {
    "abstract", "alias",   "alter",   "async",   "begin",    "call",    "case",      "class",    "const",
    "create",   "declare", "def",     "delete",  "diff",     "dim",     "do",        "done",     "drop",
    "echo",     "elif",    "else",    "end",     "entity",   "enum",    "esac",      "eval",     "exec",
    "exit",     "export",  "extends", "extern",  "fi",       "for",     "foreach",   "from",     "func",
    "function", "global",  "goto",    "if",      "implicit", "import",  "include",   "index",    "insert",
    "int",      "interface", "let",   "library", "local",    "module",  "my",        "namespace", "new",
    "option",   "our",     "package", "param",   "print",    "printf",  "private",   "procedure", "program",
    "protected", "public", "raise",   "record",  "rem",      "require", "return",    "select",   "set",
    "static",   "struct",  "sub",     "subroutine", "then",  "try",     "typedef",   "unit",
    "use",      "uses",    "var",     "void",    "while",    "with",    "write",     "yield",
    // C, C++, Java, C#, Go, Rust, Python, Pascal, Fortran ...
    "assert", "auto", "bool", "break", "byte", "catch", "char", "constexpr", "continue", "default",
    "defer", "double", "explicit", "final", "finally", "float", "fn", "friend", "go", "impl", "inline",
    "lambda", "long", "mod", "mut", "mutable", "operator", "override", "pass", "pub", "register", "short",
    "signed", "switch", "synchronized", "template", "throw", "throws", "trait", "type", "typename",
    "unsafe", "unsigned", "using", "virtual", "volatile", "extends", "integer", "real", "logical",
    "character", "dimension", "common", "data", "format", "stop", "pragma", "define", "undef",
    "c", "dnl"};  // Fortran comment lines, m4

bool IsAlpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsBlank(unsigned char c) { return c == ' ' || c == '\t'; }

// Length of a well-formed UTF-8 sequence starting at p[i] (>= 0x80), or 0.
size_t Utf8Len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;  // overlong or surrogate
  }
  if (cp == 0xFEFF || (cp >= 0x80 && cp < 0xA0) || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
    return 0;  // BOM, C1 controls, line/paragraph separators, bidi controls: let libmagic decide
  }
  return n;
}

bool LineStartIsProse(std::string_view line) {
  size_t p = 0;
  while (p < line.size() && IsBlank(static_cast<unsigned char>(line[p]))) ++p;
  if (p == line.size() || line[p] == '\r') return true;  // blank line
  const unsigned char c = static_cast<unsigned char>(line[p]);
  if (!IsAlpha(c) && !IsDigit(c) && c != '"' && c != '\'' && c < 0x80) return false;
  size_t e = p;
  while (e < line.size() && (IsAlpha(static_cast<unsigned char>(line[e])) || IsDigit(static_cast<unsigned char>(line[e])) ||
                             line[e] == '-' || line[e] == '_' || line[e] == '.')) {
    ++e;
  }
  if (e < line.size() && line[e] == ':') return false;  // "Subject:", "Note:", "http:" ...
  std::string word(line.substr(p, e - p));
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char ch) { return static_cast<char>(ch | 0x20); });
  return std::find(std::begin(kLineKeywords), std::end(kLineKeywords), word) == std::end(kLineKeywords);
}

// libmagic calls text CSV when its first line has a separator and the next lines have as many (up to
// 10 lines; quoted separators do not count). Rules out CSV when, for every separator, the first line
// has none or the second line has a different count; with quotes and separators: unsure.
bool CannotBeCsv(std::string_view data) {
  const size_t nl1 = data.find('\n');
  if (nl1 == std::string_view::npos) return true;  // libmagic needs more than two lines
  const std::string_view line1 = data.substr(0, nl1);
  const size_t nl2 = data.find('\n', nl1 + 1);
  const std::string_view line2 = data.substr(nl1 + 1, nl2 == std::string_view::npos ? std::string_view::npos : nl2 - nl1 - 1);
  if (nl2 == std::string_view::npos) return true;
  const bool quotes = data.find('"') != std::string_view::npos;  // a quoted field may span lines
  for (char sep : {',', ';', '\t'}) {
    if (quotes && data.find(sep) != std::string_view::npos) return false;
    const auto n1 = std::count(line1.begin(), line1.end(), sep);
    if (n1 != 0 && std::count(line2.begin(), line2.end(), sep) == n1) return false;
  }
  return true;
}

}  // namespace

bool LooksLikePlainProse(std::string_view data) {
  // libmagic calls a single byte "very short file (no magic)": application/octet-stream.
  if (data.size() < 2 || data.size() > kMaxBytes) return false;
  size_t line_start = 0;
  for (size_t i = 0; i < data.size();) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (c >= 0x80) {
      const size_t n = Utf8Len(data, i);
      if (n == 0) return false;
      i += n;
      continue;
    }
    if (c == '\n') {
      if (!LineStartIsProse(data.substr(line_start, i - line_start))) return false;
      line_start = i + 1;
    } else if (c == '\r') {
      if (i + 1 < data.size() && data[i + 1] != '\n') return false;  // CR-only line ends: libmagic says so
    } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
      return false;
    } else if (kDeniedTable[c]) {
      return false;
    } else if (c == '%' && i + 1 < data.size() && (data[i + 1] == '!' || data[i + 1] == 'P')) {
      return false;  // %!PS, %PDF
    }
    ++i;
  }
  if (!LineStartIsProse(data.substr(line_start))) return false;
  return CannotBeCsv(data);
}

// libmagic's text suffix (ascmagic.c) for ASCII or UTF-8 text without control characters other than
// tab, CR, LF: ", ASCII text" or ", Unicode text, UTF-8 text", then the longest line when it exceeds
// 300 characters, then the line terminators unless they are all LF. nullopt for anything else.
std::optional<std::string> TextSuffix(std::string_view data) {
  bool utf8 = false;
  size_t n_crlf = 0, n_cr = 0, n_lf = 0, longest = 0, line_chars = 0;
  bool seen_cr = false;
  for (size_t i = 0; i < data.size();) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    size_t step = 1;
    if (c >= 0x80) {
      step = Utf8Len(data, i);
      if (step == 0) return std::nullopt;
      utf8 = true;
    } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      return std::nullopt;
    }
    if (c == '\n') {
      seen_cr ? ++n_crlf : ++n_lf;
      line_chars = 0;
    } else {
      if (seen_cr) ++n_cr;
      line_chars = c == '\r' ? 0 : line_chars + 1;
      longest = std::max(longest, line_chars);
    }
    seen_cr = c == '\r';
    i += step;
  }
  if (seen_cr) ++n_cr;
  std::string s = utf8 ? ", Unicode text, UTF-8 text" : ", ASCII text";
  if (longest > 300) s += ", with very long lines (" + std::to_string(longest) + ")";
  if (n_crlf + n_cr + n_lf == 0) {
    s += ", with no line terminators";
  } else if (n_crlf + n_cr != 0) {
    std::string kinds;
    for (auto [n, name] : {std::pair{n_crlf, "CRLF"}, std::pair{n_cr, "CR"}, std::pair{n_lf, "LF"}}) {
      if (n == 0) continue;
      if (!kinds.empty()) kinds += ",";
      kinds += std::string(" ") + name;
    }
    s += ", with" + kinds + " line terminators";
  }
  return s;
}

namespace {

// libmagic tries its stronger text rules before the mail ones: HTML/XML/SVG markup, JavaScript
// ("use strict", "import ... from", require()), PDF, diffs, gettext catalogues, scripts. Says false
// when any of their markers is present (case-insensitive), so the caller asks libmagic.
bool NoStrongTextRule(std::string_view data) {
  static constexpr std::string_view kMarkers[] = {
      // Plain HTML tags (<html>, <body>, <p>, <a>, <div>, <table> ...) are not here: libmagic's rules for
      // them are weaker than the mail rules (checked in plain_text_test.cc); <!DOCTYPE is stronger.
      "<!", "<?", "<script", "<style", "<svg", "<xml", "<kml", "<urlset", "<iframe", "<frame",
      "<object", "<embed", "<applet",
      "use strict", "module.exports", "exports.", "require(", "require (", "=>", "function", "define(",
      "%pdf", "%!", "#!", "msgid", "msgstr", "\n---", "\n+++", "\n@@", "\n.class", "\nimport",
      "\nexport", "\nconst ", "\nvar ", "\nlet ", "\nuse ", "\npackage", "\n#include", "\n#define"};
  std::string lower(data.substr(0, 1u << 20));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) {
    return static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
  });
  // Markers that start with '<' or a newline are compared only where those bytes occur (one scan
  // each); the others are searched for one by one.
  const std::string_view text(lower);
  for (char lead : {'<', '\n'}) {
    for (size_t i = text.find(lead); i != std::string_view::npos; i = text.find(lead, i + 1)) {
      for (std::string_view m : kMarkers) {
        // (every marker has two or more bytes: the second one rules most candidates out cheaply)
        if (m[0] == lead && text.size() - i >= m.size() && text[i + 1] == m[1] && text.substr(i, m.size()) == m) {
          return false;
        }
      }
    }
  }
  for (std::string_view m : kMarkers) {
    if (m[0] != '<' && m[0] != '\n' && text.find(m) != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> PlainMailDescription(std::string_view data) {
  static constexpr std::pair<std::string_view, std::string_view> kFirstHeader[] = {
      {"From:", "news or mail"}, {"Received:", "RFC 822 mail"},
      {"Return-Path:", "SMTP mail"}, {"Delivered-To:", "SMTP mail"}};
  if (data.size() > (1u << 20)) return std::nullopt;
  for (auto [header, kind] : kFirstHeader) {
    if (data.size() < header.size()) continue;
    bool match = true;
    for (size_t i = 0; i < header.size() && match; ++i) {
      // libmagic compares Return-Path/Delivered-To case-insensitively, the others exactly.
      match = kind == "SMTP mail" ? (data[i] | 0x20) == (header[i] | 0x20) : data[i] == header[i];
    }
    if (!match) continue;
    if (!NoStrongTextRule(data)) return std::nullopt;
    auto suffix = TextSuffix(data);
    if (!suffix) return std::nullopt;
    return std::string(kind) + *suffix;
  }
  return std::nullopt;
}

}  // namespace airlock::scan
