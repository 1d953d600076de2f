#include "seccomp/program_cache.h"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <mutex>
#include <sstream>

namespace airlock {
namespace {

// The embedded programs are constants of the generated file: referred to, not copied.
std::map<std::string, EmbeddedSeccomp>& Registry() {
  static std::map<std::string, EmbeddedSeccomp> r;
  return r;
}

std::string JoinForKey(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + ",";
  return s;
}

void WriteInsns(std::ostringstream& o, const char* tag, const std::vector<sock_filter>& insns) {
  o << tag << ' ' << insns.size() << '\n';
  for (const auto& i : insns) o << i.code << ' ' << static_cast<unsigned>(i.jt) << ' ' << static_cast<unsigned>(i.jf) << ' ' << i.k << '\n';
}

// A whitespace tokenizer over the embedded text: iostreams cost ~0.2 ms per launch here.
class Tokens {
 public:
  explicit Tokens(std::string_view text) : s_(text) {}
  bool Word(std::string_view* out) {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n')) ++pos_;
    size_t b = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ' && s_[pos_] != '\n') ++pos_;
    *out = s_.substr(b, pos_ - b);
    return pos_ > b;
  }
  template <class T>
  bool Number(T* out) {
    std::string_view w;
    if (!Word(&w)) return false;
    auto r = std::from_chars(w.data(), w.data() + w.size(), *out);
    return r.ec == std::errc() && r.ptr == w.data() + w.size();
  }
  bool Tag(const char* tag) {
    std::string_view w;
    return Word(&w) && w == tag;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool ReadInsns(Tokens& in, const char* tag, std::vector<sock_filter>& out) {
  size_t n = 0;
  if (!in.Tag(tag) || !in.Number(&n) || n > 65536) return false;
  out.resize(n);
  for (auto& i : out) {
    unsigned code, jt, jf, k;
    if (!in.Number(&code) || !in.Number(&jt) || !in.Number(&jf) || !in.Number(&k)) return false;
    i.code = static_cast<uint16_t>(code);
    i.jt = static_cast<uint8_t>(jt);
    i.jf = static_cast<uint8_t>(jf);
    i.k = k;
  }
  return true;
}

bool ReadWords(Tokens& in, const char* tag, std::vector<int>& out) {
  size_t n = 0;
  if (!in.Tag(tag) || !in.Number(&n) || n > 100000) return false;
  out.resize(n);
  for (auto& w : out)
    if (!in.Number(&w)) return false;
  return true;
}

bool ReadWords(Tokens& in, const char* tag, std::vector<std::string>& out) {
  size_t n = 0;
  if (!in.Tag(tag) || !in.Number(&n) || n > 100000) return false;
  out.resize(n);
  std::string_view w;
  for (auto& x : out) {
    if (!in.Word(&w)) return false;
    x = w;
  }
  return true;
}

template <class C>
void WriteWords(std::ostringstream& o, const char* tag, const C& words) {
  o << tag << ' ' << words.size();
  for (const auto& w : words) o << ' ' << w;
  o << '\n';
}

// Everything after the instructions ("notif", "allowed", "back", "extra", "notify_nrs"): the part of
// the text that an embedded program keeps as text (EmbedSeccompProgram).
void WriteRest(std::ostringstream& o, const SeccompProgram& p) {
  o << "notif " << (p.uses_user_notif ? 1 : 0) << '\n';
  WriteWords(o, "allowed", p.allowed);
  WriteWords(o, "back", p.allowed_back);
  WriteWords(o, "extra", p.denied_extra);
  WriteWords(o, "notify_nrs", p.notify_nrs);
}

bool ReadRest(Tokens& in, SeccompProgram& p) {
  int notif = 0;
  std::vector<std::string> allowed;
  std::vector<int> nrs;
  if (!in.Tag("notif") || !in.Number(&notif) || !ReadWords(in, "allowed", allowed) || !ReadWords(in, "back", p.allowed_back) ||
      !ReadWords(in, "extra", p.denied_extra) || !ReadWords(in, "notify_nrs", nrs)) {
    return false;
  }
  p.uses_user_notif = notif != 0;
  for (auto& a : allowed) p.allowed.insert(p.allowed.end(), std::move(a));  // written sorted: each at the end
  p.notify_nrs.insert(nrs.begin(), nrs.end());
  return true;
}

}  // namespace

std::string SeccompCacheKey(const SeccompPolicy& p, const SeccompCompileOptions& o) {
  std::string filters;
  for (const auto& f : o.notify_filters) filters += fmt::format("{}:{}:{:#x},", f.syscall, f.arg, f.mask);
  return fmt::format("v1|base={}|allow={}|deny={}|count={}|notify={}|nfilter={}|tree={}{}", p.base, JoinForKey(p.allow),
                     JoinForKey(p.deny), p.count_denials ? 1 : 0, JoinForKey(o.notify_syscalls), filters, o.binary_tree ? 1 : 0,
                     o.setid_guard ? "|setid" : "");
}

std::string SerializeSeccompProgram(const SeccompProgram& p) {
  std::ostringstream o;
  o << "airlock-seccomp-v1\n";
  WriteInsns(o, "insns", p.insns);
  WriteInsns(o, "verdict", p.verdict_insns);
  WriteRest(o, p);
  return o.str();
}

Result<SeccompProgram> DeserializeSeccompProgram(std::string_view text) {
  Tokens in(text);
  SeccompProgram p;
  if (!in.Tag("airlock-seccomp-v1") || !ReadInsns(in, "insns", p.insns) || !ReadInsns(in, "verdict", p.verdict_insns) ||
      !ReadRest(in, p)) {
    return MakeError("corrupt precompiled seccomp program");
  }
  return p;
}

EmbeddedSeccompText EmbedSeccompProgram(const SeccompProgram& p) {
  auto array = [](const std::vector<sock_filter>& insns) {
    std::string out;
    for (const auto& i : insns) out += fmt::format("{{{},{},{},{}u}},", i.code, i.jt, i.jf, i.k);
    return out;
  };
  std::ostringstream rest;
  WriteRest(rest, p);
  return {array(p.insns), array(p.verdict_insns), rest.str()};
}

void RegisterPrecompiledSeccomp(std::string key, EmbeddedSeccomp program) { Registry()[std::move(key)] = program; }

std::vector<std::string> PrecompiledSeccompKeys() {
  std::vector<std::string> keys;
  for (const auto& [k, v] : Registry()) keys.push_back(k);
  return keys;
}

Result<SeccompProgram> CompileSeccompCached(const SeccompPolicy& policy, const SeccompCompileOptions& options) {
  auto it = Registry().find(SeccompCacheKey(policy, options));
  if (it != Registry().end()) {
    const EmbeddedSeccomp& e = it->second;
    SeccompProgram p;
    p.insns.assign(e.insns, e.insns + e.insns_count);
    p.verdict_insns.assign(e.verdict, e.verdict + e.verdict_count);
    Tokens in(e.rest);
    if (ReadRest(in, p)) return p;
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
