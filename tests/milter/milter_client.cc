#include "milter_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace airlock::milter::test {
namespace {

std::string U32(uint32_t v) {
  uint32_t n = htonl(v);
  return std::string(reinterpret_cast<const char*>(&n), 4);
}

bool ReadN(int fd, char* p, size_t n, int timeout_seconds) {
  while (n > 0) {
    pollfd pf{fd, POLLIN, 0};
    int r = poll(&pf, 1, timeout_seconds * 1000);
    if (r <= 0) return false;
    ssize_t k = read(fd, p, n);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

}  // namespace

MilterClient::~MilterClient() {
  if (fd_ >= 0) close(fd_);
}

bool MilterClient::Send(char cmd, const std::string& data) {
  std::string pkt = U32(static_cast<uint32_t>(data.size() + 1)) + cmd + data;
  size_t off = 0;
  while (off < pkt.size()) {
    ssize_t k = write(fd_, pkt.data() + off, pkt.size() - off);
    if (k <= 0) return false;
    off += static_cast<size_t>(k);
  }
  return true;
}

bool MilterClient::Read(char& cmd, std::string& data, int timeout_seconds) {
  char len[4];
  if (!ReadN(fd_, len, 4, timeout_seconds)) return false;
  uint32_t n;
  std::memcpy(&n, len, 4);
  n = ntohl(n);
  if (n == 0 || n > (64u << 20)) return false;
  std::string buf(n, '\0');
  if (!ReadN(fd_, buf.data(), n, timeout_seconds)) return false;
  cmd = buf[0];
  data = buf.substr(1);
  return true;
}

bool MilterClient::Expect(const char* what, std::string* error) {
  char cmd;
  std::string data;
  if (!Read(cmd, data, 60)) {
    *error = std::string("no reply to ") + what;
    return false;
  }
  if (cmd != 'c') {
    *error = std::string("reply '") + cmd + "' to " + what;
    return false;
  }
  return true;
}

// Waits for the reply to a step, unless the filter negotiated not to send one (SMFIP_NR_*).
bool MilterClient::Step(uint32_t no_reply_bit, const char* what, std::string* error) {
  if ((negotiated_ & no_reply_bit) != 0) return true;
  return Expect(what, error);
}

bool MilterClient::Connect(int port, std::string* error, uint32_t protocol) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *error = std::string("connect: ") + strerror(errno);
    return false;
  }
  // Version 6, every action, no protocol steps skipped.
  if (!Send('O', U32(6) + U32(0x1FF) + U32(protocol))) return false;
  char cmd;
  std::string data;
  if (!Read(cmd, data, 30) || cmd != 'O' || data.size() < 12) {
    *error = "no OPTNEG reply";
    return false;
  }
  negotiated_ = (static_cast<uint32_t>(static_cast<unsigned char>(data[8])) << 24) |
                (static_cast<uint32_t>(static_cast<unsigned char>(data[9])) << 16) |
                (static_cast<uint32_t>(static_cast<unsigned char>(data[10])) << 8) | static_cast<unsigned char>(data[11]);
  std::string connect_info = std::string("client.example.org") + '\0' + '4' + std::string("\x30\x39", 2) + "192.0.2.1" + '\0';
  if (!Send('C', connect_info)) return false;
  if ((negotiated_ & 0x1) != 0) return true;   // SMFIP_NOCONNECT
  return Step(0x1000, "CONNECT", error);      // SMFIP_NR_CONN
}

bool MilterClient::SendMessage(const std::string& queue_id, const std::string& from, const std::vector<std::string>& rcpts,
                               const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
                               std::string* error) {
  if (!Send('D', std::string("M") + "i" + '\0' + queue_id + '\0')) return false;
  // The SMFIP_NR_* bit of each step (mfdef.h).
  if (!Send('M', "<" + from + ">" + '\0') || !Step(0x4000, "MAIL", error)) return false;
  for (const auto& r : rcpts)
    if (!Send('R', "<" + r + ">" + '\0') || !Step(0x8000, "RCPT", error)) return false;
  for (const auto& [k, v] : headers)
    if (!Send('L', k + '\0' + v + '\0') || !Step(0x80, "HEADER", error)) return false;
  if (!Send('N', "") || !Step(0x40000, "EOH", error)) return false;
  for (size_t off = 0; off < body.size(); off += 65535) {
    if (!Send('B', body.substr(off, 65535)) || !Step(0x80000, "BODY", error)) return false;
  }
  if (!Send('D', std::string("E") + "i" + '\0' + queue_id + '\0')) return false;
  return Send('E', "");
}

EomResult MilterClient::ReadEom(int timeout_seconds) {
  EomResult r;
  for (;;) {
    char cmd;
    std::string data;
    if (!Read(cmd, data, timeout_seconds)) {
      r.error = "no end-of-message reply";
      return r;
    }
    switch (cmd) {
      case 'h': {
        size_t z = data.find('\0');
        std::string name = data.substr(0, z);
        std::string value = data.substr(z + 1);
        if (!value.empty() && value.back() == '\0') value.pop_back();
        r.added_headers.push_back({name, value});
        break;
      }
      case 'm': {
        uint32_t idx;
        std::memcpy(&idx, data.data(), 4);
        std::string rest = data.substr(4);
        size_t z = rest.find('\0');
        std::string value = rest.substr(z + 1);
        if (!value.empty() && value.back() == '\0') value.pop_back();
        r.changed_headers.push_back(std::to_string(ntohl(idx)) + " " + rest.substr(0, z) + "=" + value);
        break;
      }
      case 'b':
        r.replaced_body = true;
        r.new_body += data;
        break;
      case 'q':
        r.quarantine_reason = data.substr(0, data.find('\0'));
        break;
      case 'p':
        ++r.progress;
        break;
      case 'y':
        r.final_code = 'y';
        r.reply = data.substr(0, data.find('\0'));
        return r;
      case 'c': case 'a': case 'r': case 't': case 'd':
        r.final_code = cmd;
        return r;
      default:
        break;  // other modifications are not used by airlock
    }
  }
}

void MilterClient::Quit() {
  if (fd_ >= 0) Send('Q', "");
}

}  // namespace airlock::milter::test
