#include "scan/detectors/office/xml_lite.h"

#include "scan/detectors/office/bytes.h"

#include <cctype>
#include <cstdint>

namespace airlock::scan::office {
namespace {

std::string_view LocalName(std::string_view qname) {
  size_t colon = qname.find(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '-' || c == '.' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// XML character references: NUL and out-of-range values become U+FFFD.
void AppendXmlCodePoint(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF) cp = 0xFFFD;
  AppendUtf8(out, cp);
}

}  // namespace

bool XmlLite::Next(XmlToken& t) {
  while (pos_ < xml_.size()) {
    if (xml_[pos_] != '<') {
      size_t end = xml_.find('<', pos_);
      if (end == std::string_view::npos) end = xml_.size();
      t = XmlToken{XmlToken::Kind::kText, {}, {}, xml_.substr(pos_, end - pos_)};
      pos_ = end;
      return true;
    }
    std::string_view rest = xml_.substr(pos_);
    if (rest.starts_with("<!--")) {
      size_t end = xml_.find("-->", pos_ + 4);
      if (end == std::string_view::npos) return false;
      pos_ = end + 3;
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      size_t end = xml_.find("]]>", pos_ + 9);
      if (end == std::string_view::npos) return false;
      t = XmlToken{XmlToken::Kind::kText, {}, {}, xml_.substr(pos_ + 9, end - pos_ - 9)};
      pos_ = end + 3;
      return true;
    }
    if (rest.starts_with("<?") || rest.starts_with("<!")) {
      size_t end = xml_.find('>', pos_ + 2);
      if (end == std::string_view::npos) return false;
      pos_ = end + 1;
      continue;
    }
    // A tag: find its end, honouring quoted attribute values.
    size_t i = pos_ + 1;
    char quote = 0;
    while (i < xml_.size()) {
      char c = xml_[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
      ++i;
    }
    if (i >= xml_.size()) return false;
    std::string_view inner = xml_.substr(pos_ + 1, i - pos_ - 1);
    pos_ = i + 1;
    XmlToken tok;
    if (!inner.empty() && inner.front() == '/') {
      tok.kind = XmlToken::Kind::kEnd;
      inner.remove_prefix(1);
    } else if (!inner.empty() && inner.back() == '/') {
      tok.kind = XmlToken::Kind::kEmpty;
      inner.remove_suffix(1);
    } else {
      tok.kind = XmlToken::Kind::kStart;
    }
    size_t n = 0;
    while (n < inner.size() && IsNameChar(inner[n])) ++n;
    tok.name = LocalName(inner.substr(0, n));
    tok.attrs = inner.substr(n);
    t = tok;
    return true;
  }
  return false;
}

std::optional<std::string> XmlAttr(std::string_view attrs, std::string_view local_name) {
  size_t i = 0;
  while (i < attrs.size()) {
    while (i < attrs.size() && !IsNameChar(attrs[i])) ++i;
    size_t name_begin = i;
    while (i < attrs.size() && IsNameChar(attrs[i])) ++i;
    std::string_view name = attrs.substr(name_begin, i - name_begin);
    while (i < attrs.size() && std::isspace(static_cast<unsigned char>(attrs[i]))) ++i;
    if (i >= attrs.size() || attrs[i] != '=') continue;
    ++i;
    while (i < attrs.size() && std::isspace(static_cast<unsigned char>(attrs[i]))) ++i;
    if (i >= attrs.size() || (attrs[i] != '"' && attrs[i] != '\'')) continue;
    const char q = attrs[i++];
    size_t end = attrs.find(q, i);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view value = attrs.substr(i, end - i);
    i = end + 1;
    if (LocalName(name) == local_name) return XmlDecode(value);
  }
  return std::nullopt;
}

std::string XmlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out.push_back('&');
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out.push_back('&');
    else if (ent == "lt") out.push_back('<');
    else if (ent == "gt") out.push_back('>');
    else if (ent == "quot") out.push_back('"');
    else if (ent == "apos") out.push_back('\'');
    else if (ent.size() > 1 && ent[0] == '#') {
      uint32_t cp = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      bool ok = ent.size() > (hex ? 2u : 1u);
      for (size_t k = hex ? 2 : 1; k < ent.size() && ok; ++k) {
        char c = ent[k];
        int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (hex && std::isxdigit(static_cast<unsigned char>(c))) ? (std::tolower(c) - 'a' + 10)
                                                                         : -1;
        if (v < 0) ok = false;
        else cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        if (cp > 0x10FFFF) ok = false;
      }
      if (!ok) {
        out.push_back('&');
        continue;
      }
      AppendXmlCodePoint(out, cp);
    } else {
      out.push_back('&');
      continue;
    }
    i = semi;
  }
  return out;
}

std::string Base64Decode(std::string_view text, size_t max_bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == ' ' || c == '\r' || c == '\n' || c == '\t') continue;
    else break;  // '=' padding or junk ends the data
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() >= max_bytes) break;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace airlock::scan::office
