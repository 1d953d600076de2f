#include "seccomp/program_cache.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <sstream>

namespace airlock {
namespace {

std::map<std::string, std::string>& Registry() {
  static std::map<std::string, std::string> r;
  return r;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + ",";
  return s;
}

void WriteInsns(std::ostringstream& o, const char* tag, const std::vector<sock_filter>& insns) {
  o << tag << ' ' << insns.size() << '\n';
  for (const auto& i : insns) o << i.code << ' ' << static_cast<unsigned>(i.jt) << ' ' << static_cast<unsigned>(i.jf) << ' ' << i.k << '\n';
}

bool ReadInsns(std::istringstream& in, const char* tag, std::vector<sock_filter>& out) {
  std::string t;
  size_t n = 0;
  if (!(in >> t >> n) || t != tag || n > 65536) return false;
  out.resize(n);
  for (auto& i : out) {
    unsigned code, jt, jf, k;
    if (!(in >> code >> jt >> jf >> k)) return false;
    i.code = static_cast<uint16_t>(code);
    i.jt = static_cast<uint8_t>(jt);
    i.jf = static_cast<uint8_t>(jf);
    i.k = k;
  }
  return true;
}

template <class C>
void WriteWords(std::ostringstream& o, const char* tag, const C& words) {
  o << tag << ' ' << words.size();
  for (const auto& w : words) o << ' ' << w;
  o << '\n';
}

template <class T>
bool ReadWords(std::istringstream& in, const char* tag, std::vector<T>& out) {
  std::string t;
  size_t n = 0;
  if (!(in >> t >> n) || t != tag || n > 100000) return false;
  out.resize(n);
  for (auto& w : out)
    if (!(in >> w)) return false;
  return true;
}

}  // namespace

std::string SeccompCacheKey(const SeccompPolicy& p, const SeccompCompileOptions& o) {
  std::string filters;
  for (const auto& f : o.notify_filters) filters += fmt::format("{}:{}:{:#x},", f.syscall, f.arg, f.mask);
  return fmt::format("v1|base={}|allow={}|deny={}|count={}|notify={}|nfilter={}|tree={}", p.base, Join(p.allow),
                     Join(p.deny), p.count_denials ? 1 : 0, Join(o.notify_syscalls), filters, o.binary_tree ? 1 : 0);
}

std::string SerializeSeccompProgram(const SeccompProgram& p) {
  std::ostringstream o;
  o << "airlock-seccomp-v1\n";
  WriteInsns(o, "insns", p.insns);
  WriteInsns(o, "verdict", p.verdict_insns);
  o << "notif " << (p.uses_user_notif ? 1 : 0) << '\n';
  WriteWords(o, "allowed", p.allowed);
  WriteWords(o, "back", p.allowed_back);
  WriteWords(o, "extra", p.denied_extra);
  WriteWords(o, "notify_nrs", p.notify_nrs);
  return o.str();
}

Result<SeccompProgram> DeserializeSeccompProgram(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string magic;
  SeccompProgram p;
  int notif = 0;
  std::string tag;
  std::vector<std::string> allowed;
  std::vector<int> nrs;
  if (!(in >> magic) || magic != "airlock-seccomp-v1" || !ReadInsns(in, "insns", p.insns) ||
      !ReadInsns(in, "verdict", p.verdict_insns) || !(in >> tag >> notif) || tag != "notif" ||
      !ReadWords(in, "allowed", allowed) || !ReadWords(in, "back", p.allowed_back) ||
      !ReadWords(in, "extra", p.denied_extra) || !ReadWords(in, "notify_nrs", nrs)) {
    return MakeError("corrupt precompiled seccomp program");
  }
  p.uses_user_notif = notif != 0;
  p.allowed.insert(allowed.begin(), allowed.end());
  p.notify_nrs.insert(nrs.begin(), nrs.end());
  return p;
}

void RegisterPrecompiledSeccomp(std::string key, std::string serialized) { Registry()[std::move(key)] = std::move(serialized); }

std::vector<std::string> PrecompiledSeccompKeys() {
  std::vector<std::string> keys;
  for (const auto& [k, v] : Registry()) keys.push_back(k);
  return keys;
}

Result<SeccompProgram> CompileSeccompCached(const SeccompPolicy& policy, const SeccompCompileOptions& options) {
  auto it = Registry().find(SeccompCacheKey(policy, options));
  if (it != Registry().end()) {
    auto p = DeserializeSeccompProgram(it->second);
    if (p) return p;
  }
  return CompileSeccomp(policy, options);
}

std::vector<std::pair<SeccompPolicy, SeccompCompileOptions>> PrecompiledSeccompVariants(
    const std::vector<std::string>& monitor_syscalls, const std::vector<std::string>& observed_syscalls,
    const std::vector<NotifyArgFilter>& monitor_filters) {
  // Mirrors RunSandbox: counting runs route the observed syscalls; monitored runs route the monitor's,
  // narrowed by its filters unless every read is asked for (--monitor-reads).
  std::vector<std::pair<SeccompPolicy, SeccompCompileOptions>> v;
  for (bool count : {true, false}) {
    for (int monitor : {0, 1, 2}) {
      SeccompPolicy p;
      p.count_denials = count;
      SeccompCompileOptions o;
      if (monitor) {
        o.notify_syscalls = monitor_syscalls;
        if (monitor == 1) o.notify_filters = monitor_filters;
      } else if (count) {
        o.notify_syscalls = observed_syscalls;
      }
      v.emplace_back(p, o);
    }
  }
  return v;
}

}  // namespace airlock
