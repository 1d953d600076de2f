// The sandbox's resolver under `--net user --net-allow`: serves the UDP socket that
// ConfigureNetnsFromParent bound to 127.0.0.1:53 inside the sandbox's network namespace (the
// sandbox's /etc/resolv.conf names it), on one thread of the supervisor, outside the sandbox.
//
// It answers only the names on the allow-list, with the addresses airlock resolved on the host at
// start (getaddrinfo, or the address a NAME=ADDRESS entry pins): A with the IPv4 ones, AAAA with the
// IPv6 ones, other types of an allowed name with an empty answer. Every other name is REFUSED and
// counted; nothing is forwarded, so no query name leaves the machine unless it is allowed. (The
// user-mode stack's own DNS forwarder is switched off and unreachable under --net-allow.)
//
// Untrusted input: every packet is parsed with net/dns_message.h (bounds-checked); malformed ones
// are counted and dropped. Bounded: at most 64 datagrams per wake-up, kMaxNames refused names kept.
//
// Threading: Start() spawns the thread; Stop() (idempotent, also the destructor) joins it;
// Summary() is valid after Stop().
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/unique_fd.h"
#include "net/service_thread.h"

namespace airlock {

// Allowed name (lower case, no trailing dot) -> its addresses (canonical text).
using AllowedNames = std::map<std::string, std::vector<std::string>>;

// What one query got. Pure, exposed for tests.
struct ResolverAnswer {
  enum class Kind { kAnswered, kNoData, kRefused, kMalformed } kind = Kind::kMalformed;
  std::string name;   // the question's name as sent (empty when malformed)
  std::string reply;  // the response datagram ("" when malformed: nothing is sent)
};
ResolverAnswer AnswerFromAllowList(std::string_view packet, const AllowedNames& names);

class AllowResolver {
 public:
  static constexpr size_t kMaxNames = 64;  // refused names listed in the summary

  AllowResolver(UniqueFd udp, AllowedNames names);
  ~AllowResolver();
  AllowResolver(const AllowResolver&) = delete;
  AllowResolver& operator=(const AllowResolver&) = delete;

  Status Start();
  void Stop();
  // {"resolver": "127.0.0.1:53 (airlock)", "queries", "answered", "refused", "malformed",
  //  "refused_names": [...] (escaped, at most kMaxNames)}
  nlohmann::json Summary() const;

 private:
  void Loop();
  void Serve();

  UniqueFd udp_;
  AllowedNames names_;
  ServiceThread worker_;  // runs Loop(); the destructor stops it before any member goes
  uint64_t queries_ = 0, answered_ = 0, refused_ = 0, malformed_ = 0;
  std::set<std::string> refused_names_;
};

}  // namespace airlock
