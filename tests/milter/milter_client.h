// A small client of the milter protocol (version 6, as Postfix speaks it) for the component tests:
// OPTNEG, CONNECT, MACRO, MAIL, RCPT, HEADER, EOH, BODY, BODYEOB, QUIT, and the replies, including the
// modification actions the filter asks for at end of message.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace airlock::milter::test {

struct EomResult {
  char final_code = 0;                  // 'c'/'a' continue/accept, 'r' reject, 't' tempfail, 'd' discard, 'y' reply code
  std::string reply;                    // text of 'y' ("550 5.7.1 airlock: ...")
  std::vector<std::pair<std::string, std::string>> added_headers;   // 'h'
  std::vector<std::string> changed_headers;                         // 'm': "idx name=value"
  std::string new_body;                                             // 'b' chunks concatenated
  bool replaced_body = false;
  std::string quarantine_reason;                                    // 'q'
  int progress = 0;                                                 // 'p'
  std::string error;                                                // client-side failure
  bool Tempfail() const { return final_code == 't' || (final_code == 'y' && reply.rfind("4", 0) == 0); }
  bool Rejected() const { return final_code == 'r' || (final_code == 'y' && reply.rfind("5", 0) == 0); }
  bool Accepted() const { return final_code == 'c' || final_code == 'a'; }
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : added_headers)
      if (k == name) return v;
    return "";
  }
};

class MilterClient {
 public:
  ~MilterClient();
  // Connects to 127.0.0.1:port and negotiates, offering `protocol` (SMFIP_* bits; 0: every step with a
  // reply, the default; kPostfixProtocol: the no-reply and skip options Postfix offers); false on failure.
  bool Connect(int port, std::string* error, uint32_t protocol = 0);
  static constexpr uint32_t kPostfixProtocol = 0x1FFFFF;
  uint32_t negotiated() const { return negotiated_; }   // the protocol bits the filter took
  // Sends a whole message up to BODYEOB (without reading the EOM reply when `wait` is false).
  bool SendMessage(const std::string& queue_id, const std::string& from, const std::vector<std::string>& rcpts,
                   const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body, std::string* error);
  EomResult ReadEom(int timeout_seconds = 120);
  void Quit();

 private:
  bool Send(char cmd, const std::string& data);
  bool Read(char& cmd, std::string& data, int timeout_seconds);
  bool Expect(const char* what, std::string* error);
  bool Step(uint32_t no_reply_bit, const char* what, std::string* error);
  int fd_ = -1;
  uint32_t negotiated_ = 0;
};

}  // namespace airlock::milter::test
