#include "rlimit/rlimit.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <limits>
#include <string_view>

namespace airlock {
namespace {

struct NamedResource {
  const char* name;
  int resource;
};

constexpr NamedResource kResources[] = {
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},         {"as", RLIMIT_AS},
    {"core", RLIMIT_CORE},     {"fsize", RLIMIT_FSIZE},         {"cpu", RLIMIT_CPU},
    {"stack", RLIMIT_STACK},   {"memlock", RLIMIT_MEMLOCK},     {"data", RLIMIT_DATA},
    {"rss", RLIMIT_RSS},       {"msgqueue", RLIMIT_MSGQUEUE},   {"nice", RLIMIT_NICE},
    {"rtprio", RLIMIT_RTPRIO}, {"sigpending", RLIMIT_SIGPENDING}, {"locks", RLIMIT_LOCKS},
};

// Parses one half of a value ("1024", "64M", "unlimited").
Result<uint64_t> ParseAmount(std::string_view s) {
  if (s.empty()) return MakeError("empty value");
  if (s == "unlimited" || s == "infinity") return static_cast<uint64_t>(RLIM_INFINITY);
  uint64_t n = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) return MakeError("value '" + std::string(s) + "' is too large");
    n = n * 10 + digit;
  }
  if (i == 0) return MakeError("value '" + std::string(s) + "' is not a number");
  std::string_view suffix = s.substr(i);
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: return MakeError("value '" + std::string(s) + "' has an unknown suffix");
    }
    std::string_view rest = suffix.substr(1);
    if (!(rest.empty() || rest == "B" || rest == "b" || rest == "iB" || rest == "ib")) {
      return MakeError("value '" + std::string(s) + "' has an unknown suffix");
    }
  }
  if (shift && n > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return MakeError("value '" + std::string(s) + "' is too large");
  }
  n <<= shift;
  // RLIM_INFINITY is all ones: a finite value may not collide with it.
  if (n == static_cast<uint64_t>(RLIM_INFINITY)) return MakeError("value '" + std::string(s) + "' is too large");
  return n;
}

}  // namespace

int RlimitResourceByName(const std::string& name) {
  for (const auto& r : kResources) {
    if (name == r.name) return r.resource;
  }
  return -1;
}

Result<RlimitEntry> ParseRlimitValue(const std::string& value) {
  RlimitEntry e;
  auto colon = value.find(':');
  if (colon == std::string::npos) {
    auto n = ParseAmount(value);
    if (!n) return std::unexpected(n.error());
    e.soft = e.hard = *n;
    return e;
  }
  auto soft = ParseAmount(std::string_view(value).substr(0, colon));
  if (!soft) return std::unexpected(std::move(soft.error()).WithContext("soft limit"));
  auto hard = ParseAmount(std::string_view(value).substr(colon + 1));
  if (!hard) return std::unexpected(std::move(hard.error()).WithContext("hard limit"));
  if (*soft > *hard) return MakeError("soft limit " + std::to_string(*soft) + " exceeds hard limit " + std::to_string(*hard));
  e.soft = *soft;
  e.hard = *hard;
  return e;
}

Result<RlimitEntry> ParseRlimitSpec(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos) return MakeError("rlimit '" + spec + "': expected NAME=VALUE");
  std::string name = spec.substr(0, eq);
  if (RlimitResourceByName(name) < 0) return MakeError("rlimit '" + spec + "': unknown limit name '" + name + "'");
  auto v = ParseRlimitValue(spec.substr(eq + 1));
  if (!v) return std::unexpected(std::move(v.error()).WithContext("rlimit '" + spec + "'"));
  v->name = name;
  return v;
}

Result<std::vector<PreparedRlimit>> PrepareRlimits(const Limits& limits, const std::vector<std::string>& fallback) {
  std::vector<PreparedRlimit> out;
  auto set = [&out](int resource, uint64_t soft, uint64_t hard) {
    for (auto& p : out) {
      if (p.resource == resource) {
        p.value.rlim_cur = soft;
        p.value.rlim_max = hard;
        return;
      }
    }
    PreparedRlimit p;
    p.resource = resource;
    p.value.rlim_cur = soft;
    p.value.rlim_max = hard;
    out.push_back(p);
  };
  auto has = [&out](int resource) {
    return std::any_of(out.begin(), out.end(), [resource](const PreparedRlimit& p) { return p.resource == resource; });
  };
  auto clamp_to_current = [](int resource, uint64_t v) {
    struct rlimit cur {};
    if (getrlimit(static_cast<__rlimit_resource_t>(resource), &cur) == 0 && cur.rlim_max != RLIM_INFINITY && v > cur.rlim_max) return static_cast<uint64_t>(cur.rlim_max);
    return v;
  };

  for (const auto& e : limits.rlimits) {
    int resource = RlimitResourceByName(e.name);
    if (resource < 0) return MakeError("rlimit: unknown limit name '" + e.name + "'");
    if (e.soft > e.hard) return MakeError("rlimit " + e.name + ": soft limit exceeds hard limit");
    set(resource, e.soft, e.hard);
  }
  for (const auto& f : fallback) {
    if (f == "memory") {
      if (limits.memory_bytes && !has(RLIMIT_AS)) {
        uint64_t v = clamp_to_current(RLIMIT_AS, *limits.memory_bytes);
        set(RLIMIT_AS, v, v);
      }
    } else if (f == "pids") {
      if (limits.pids && !has(RLIMIT_NPROC)) {
        uint64_t v = clamp_to_current(RLIMIT_NPROC, *limits.pids);
        set(RLIMIT_NPROC, v, v);
      }
    } else if (f == "cpu") {
      // No rlimit equivalent of a CPU share; the caller reports it as not enforced.
    } else {
      return MakeError("rlimit fallback: unknown limit '" + f + "'");
    }
  }
  if (!has(RLIMIT_CORE)) set(RLIMIT_CORE, 0, 0);
  std::sort(out.begin(), out.end(), [](const PreparedRlimit& a, const PreparedRlimit& b) { return a.resource < b.resource; });
  return out;
}

int ApplyRlimitsInChild(const std::vector<PreparedRlimit>& limits) {
  for (const auto& l : limits) {
    if (setrlimit(static_cast<__rlimit_resource_t>(l.resource), &l.value) != 0) return -errno;
  }
  return 0;
}

}  // namespace airlock
