// Shared helpers of the milter tests: test mail built at run time (EICAR is assembled here so that no
// source file matches a scanner), base64.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace airlock::milter::test {

inline std::string Eicar() {
  std::string s = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$";
  s += "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  return s;
}

inline std::string Base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  std::string wrapped;
  for (size_t k = 0; k < out.size(); k += 76) wrapped += out.substr(k, 76) + "\r\n";
  return wrapped;
}

struct Attachment {
  std::string name, type, data;
};

inline std::vector<std::pair<std::string, std::string>> MailHeaders(const std::string& subject, bool multipart) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"From", "Alice <alice@example.org>"}, {"To", "bob@example.org"}, {"Subject", subject},
      {"Date", "Fri, 27 Nov 2026 08:00:00 +0000"}, {"Message-ID", "<" + subject.substr(0, 20) + "@example.org>"},
      {"MIME-Version", "1.0"}};
  h.push_back({"Content-Type", multipart ? "multipart/mixed; boundary=\"airlock-test-boundary\"" : "text/plain; charset=us-ascii"});
  return h;
}

// The body of a multipart/mixed message with a text part and the attachments (base64), CRLF.
inline std::string MultipartBody(const std::string& text, const std::vector<Attachment>& atts) {
  std::string b = "This is a multi-part message in MIME format.\r\n";
  b += "--airlock-test-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + text + "\r\n";
  for (const auto& a : atts) {
    b += "--airlock-test-boundary\r\nContent-Type: " + a.type + "; name=\"" + a.name +
         "\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"" + a.name + "\"\r\n\r\n";
    b += Base64(a.data);
  }
  b += "--airlock-test-boundary--\r\n";
  return b;
}

inline std::string Message(const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  std::string m;
  for (const auto& [k, v] : headers) m += k + ": " + v + "\r\n";
  return m + "\r\n" + body;
}

}  // namespace airlock::milter::test
