#include "audit/profile_audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <toml++/toml.h>
#include <utility>
#include <vector>

#include "audit/host_paths.h"
#include "core/unique_fd.h"
#include "policy/profile_loader.h"
#include "seccomp/seccomp.h"

namespace airlock::audit {
namespace {

class Auditor {
 public:
  Auditor(const Policy& p, const KeyLocator& locate) : p_(p), locate_(locate) {}

  TargetReport Run() {
    report_.target = p_.name;
    report_.kind = TargetKind::kProfile;
    NamespacesCheck();
    IdentityCheck();
    MountsCheck();
    report_.passes.push_back({"PRF-CAPS", "all capabilities dropped, bounding set cleared, no_new_privs (always, by airlock)"});
    SeccompCheck();
    LandlockCheck();
    LimitsCheck();
    ProcessCheck();
    if (auto valid = ValidatePolicy(p_); !valid) {
      std::string msg = valid.error().What();
      for (size_t pos; (pos = msg.find('\n')) != std::string::npos;) {
        bool after_colon = pos > 0 && msg[pos - 1] == ':';
        msg.replace(pos, 1, after_colon ? " " : "; ");
      }
      Add("PRF-INVALID", Severity::kInfo, "airlock run refuses this policy as written", msg,
          "Fix the validation errors; the grade describes the policy as written.", "");
    }
    Finalize(report_);
    return std::move(report_);
  }

 private:
  // "key = value (file:line)" or "key = value (not set in the profile: built-in default)".
  std::string Ev(const std::string& key, const std::string& value, const std::string& entry = "") const {
    std::string where = locate_ ? locate_(key, entry) : "";
    return key + " = " + value + (where.empty() ? "" : " (" + where + ")");
  }
  void Add(std::string id, Severity sev, std::string title, std::string evidence, std::string remediation,
           std::string technique) {
    report_.findings.push_back(
        {std::move(id), sev, std::move(title), std::move(evidence), std::move(remediation), std::move(technique)});
  }
  void AddPass(std::string id, std::string title) { report_.passes.push_back({std::move(id), std::move(title)}); }

  void NamespacesCheck() {
    bool any = false;
    if (!p_.ns.user) {
      any = true;
      Add("PRF-NS-USER", Severity::kHigh, "no user namespace: ids inside are host ids", Ev("namespaces.user", "false"),
          "Keep namespaces.user = true so that root inside maps to an unprivileged host uid.", "T1611");
    }
    if (!p_.ns.pid) {
      any = true;
      Add("PRF-NS-PID", Severity::kHigh, "host PID namespace shared", Ev("namespaces.pid", "false"),
          "Set namespaces.pid = true; a shared pid namespace exposes host processes to signals and /proc/PID/root.",
          "T1611");
    }
    if (p_.net.mode == NetMode::kHost || !p_.ns.net) {
      any = true;
      Add("PRF-NS-NET", Severity::kHigh, "host network namespace shared",
          p_.net.mode == NetMode::kHost ? Ev("network.mode", "\"host\"") : Ev("namespaces.net", "false"),
          "Use network.mode = \"none\" or \"user\" with an allow list; host networking reaches host listeners "
          "and abstract unix sockets.",
          "T1611");
    }
    if (!p_.ns.ipc) {
      any = true;
      Add("PRF-NS-IPC", Severity::kMedium, "host IPC namespace shared", Ev("namespaces.ipc", "false"),
          "Set namespaces.ipc = true; shared SysV IPC lets the payload read and corrupt host shared memory.", "T1611");
    }
    if (!p_.ns.uts) {
      any = true;
      Add("PRF-NS-UTS", Severity::kLow, "host UTS namespace shared", Ev("namespaces.uts", "false"),
          "Set namespaces.uts = true so the hostname is private.", "T1611");
    }
    if (!p_.ns.cgroup) {
      any = true;
      Add("PRF-NS-CGROUP", Severity::kLow, "host cgroup namespace shared", Ev("namespaces.cgroup", "false"),
          "Set namespaces.cgroup = true so the host cgroup tree is not visible.", "T1613");
    }
    if (!any) AddPass("PRF-NS", "private user, mount, pid, net, ipc, uts and cgroup namespaces");
    if (p_.net.mode == NetMode::kUser) {
      bool open = p_.net.allow.empty();
      Add("PRF-NET-USER", open ? Severity::kLow : Severity::kInfo,
          open ? "outbound network to any destination" : "outbound network limited to an allow list",
          Ev("network.mode", "\"user\"") + (open ? ", network.allow empty" : ""),
          open ? "Restrict network.allow to the destinations the payload needs."
               : "Keep the allow list as small as the workload needs.",
          "T1071");
    }
  }

  void IdentityCheck() {
    if (p_.identity.outside_uid_when_root == 0 || p_.identity.outside_gid_when_root == 0) {
      Add("PRF-ID-ROOT", Severity::kHigh, "sandbox mapped to host uid/gid 0 (airlock refuses it, but the profile asks)",
          p_.identity.outside_uid_when_root == 0 ? Ev("identity.outside_uid", "0") : Ev("identity.outside_gid", "0"),
          "Map to an unprivileged host id (identity.outside_uid = 65534).", "T1611");
    } else {
      AddPass("PRF-ID", "sandbox maps to an unprivileged host uid when root runs airlock");
    }
  }

  // "profile FILE line N (workdir)" -> " (FILE:N, workdir)"
  static std::string Origin(const MountEntry& m) {
    if (m.origin.empty()) return "";
    std::string o = m.origin;
    size_t line = o.find(" line ");
    if (o.starts_with("profile ") && line != std::string::npos) {
      std::string rest = o.substr(line + 6);
      size_t space = rest.find(' ');
      std::string num = rest.substr(0, space);
      std::string extra = space == std::string::npos ? "" : rest.substr(space + 1);
      if (extra.size() > 2 && extra.front() == '(' && extra.back() == ')') extra = extra.substr(1, extra.size() - 2);
      o = o.substr(8, line - 8) + ":" + num + (extra.empty() ? "" : ", " + extra);
    }
    return " (" + o + ")";
  }

  void MountsCheck() {
    bool any = false;
    for (const MountEntry& m : p_.mounts) {
      if (m.kind == MountEntry::Kind::kBind) {
        any = true;
        PathRisk r = WritableHostPathRisk(m.src);
        bool workdir = m.origin.find("(workdir)") != std::string::npos;
        Add(r.severity == Severity::kCritical ? "PRF-BIND-SENSITIVE" : "PRF-BIND-RW", r.severity,
            (workdir ? "current directory writable: " : "writable host path: ") + m.src,
            "bind " + m.src + " -> " + m.dst + " read-write" + Origin(m) + ": " + r.why,
            r.severity == Severity::kCritical ? "Never bind this path writable; bind only the directory the workload needs."
                                              : "Bind read-only (ro_bind) unless the workload must write there.",
            r.technique);
      } else if (m.kind == MountEntry::Kind::kRoBind) {
        if (auto r = ReadOnlyHostPathRisk(m.src)) {
          any = true;
          Add("PRF-BIND-RO-SENSITIVE", r->severity, "sensitive host path exposed read-only: " + m.src,
              "ro_bind " + m.src + " -> " + m.dst + Origin(m) + ": " + r->why,
              "Bind only the files the workload needs, never credentials or runtime sockets.", r->technique);
        }
      } else if (m.kind == MountEntry::Kind::kDevBind) {
        any = true;
        const std::string& s = m.src;
        constexpr std::array<std::string_view, 12> kRaw = {"/dev",       "/dev/mem",  "/dev/kmem", "/dev/port",
                                                           "/dev/sd",    "/dev/nvme", "/dev/vd",   "/dev/xvd",
                                                           "/dev/loop",  "/dev/dm-",  "/dev/mapper", "/dev/hd"};
        bool raw = std::any_of(kRaw.begin(), kRaw.end(), [&](std::string_view k) {
          return k == "/dev" ? s == "/dev" : s.compare(0, k.size(), k) == 0;
        });
        Add("PRF-DEVICE", raw ? Severity::kCritical : Severity::kHigh, "host device exposed: " + s,
            "dev_bind " + s + " -> " + m.dst + Origin(m),
            raw ? "Never pass memory or block devices into a sandbox." : "Pass only the device the workload needs, and only to trusted code.",
            raw ? "T1611" : "T1068");
      }
    }
    if (!any) AddPass("PRF-MOUNTS", "no writable, device or sensitive host paths");
  }

  struct GroupRisk {
    Severity severity;
    const char* technique;
  };
  static GroupRisk RiskOfGroup(const std::string& g) {
    static const std::pair<const char*, GroupRisk> kRisks[] = {
        {"@mount", {Severity::kHigh, "T1611"}},        {"@chroot", {Severity::kHigh, "T1611"}},
        {"@namespaces", {Severity::kHigh, "T1611"}},   {"@handles", {Severity::kHigh, "T1611"}},
        {"@module", {Severity::kHigh, "T1068"}},       {"@kexec", {Severity::kHigh, "T1068"}},
        {"@bpf", {Severity::kHigh, "T1068"}},          {"@io-uring", {Severity::kHigh, "T1068"}},
        {"@userfaultfd", {Severity::kHigh, "T1068"}},  {"@keyring", {Severity::kHigh, "T1068"}},
        {"@perf", {Severity::kHigh, "T1068"}},         {"@raw-io", {Severity::kHigh, "T1068"}},
        {"@ptrace", {Severity::kHigh, "T1055.008"}},   {"@debug", {Severity::kHigh, "T1055"}},
        {"@reboot", {Severity::kMedium, "T1529"}},     {"@clock-set", {Severity::kMedium, "T1070.006"}},
        {"@swap", {Severity::kMedium, "T1068"}},       {"@quota", {Severity::kMedium, "T1068"}},
        {"@acct", {Severity::kMedium, "T1068"}},       {"@privileged-misc", {Severity::kMedium, "T1068"}},
    };
    for (const auto& [name, risk] : kRisks) {
      if (g == name) return risk;
    }
    return {Severity::kLow, "T1068"};
  }

  void SeccompCheck() {
    const auto& seccomp = p_.seccomp;
    if (seccomp.requirement == Requirement::kDisabled) {
      Add("PRF-SECCOMP-DISABLED", Severity::kCritical, "seccomp disabled: the whole kernel syscall surface is reachable",
          Ev("seccomp.mode", "\"disabled\""),
          "Set seccomp.mode = \"required\" and allow back only the groups the workload needs.", "T1068");
    } else if (seccomp.requirement == Requirement::kBestEffort) {
      Add("PRF-SECCOMP-BEST-EFFORT", Severity::kMedium, "seccomp best-effort: runs unfiltered where it cannot install",
          Ev("seccomp.mode", "\"best-effort\""), "Set seccomp.mode = \"required\".", "T1068");
    } else {
      AddPass("PRF-SECCOMP", "seccomp allow-list required");
    }
    // Allowed-back groups are reported even with seccomp disabled: they show intent, and they come
    // back the moment somebody re-enables the filter.
    const auto& groups = SyscallGroups();
    for (const std::string& entry : seccomp.allow) {
      const SyscallGroup* group = nullptr;
      if (!entry.empty() && entry.front() == '@') {
        for (const SyscallGroup& g : groups) {
          if (g.name == entry) group = &g;
        }
        if (!group) {
          Add("PRF-SECCOMP-ALLOW", Severity::kLow, "unknown seccomp group allowed back: " + entry,
              Ev("seccomp.allow", "[\"" + entry + "\"]", entry), "Remove the unknown group.", "T1068");
          continue;
        }
      } else {
        for (const SyscallGroup& g : groups) {
          if (std::find(g.syscalls.begin(), g.syscalls.end(), entry) != g.syscalls.end()) {
            group = &g;
            break;
          }
        }
        if (!group) {
          Add("PRF-SECCOMP-ALLOW", Severity::kLow, "syscall outside every named group allowed back: " + entry,
              Ev("seccomp.allow", "[\"" + entry + "\"]", entry), "Remove it unless the workload needs it.", "T1068");
          continue;
        }
      }
      if (group->in_default) continue;  // already allowed by the base: no change
      GroupRisk r = RiskOfGroup(group->name);
      std::string what = entry == group->name ? entry : entry + " (from " + group->name + ")";
      Add("PRF-SECCOMP-ALLOW", r.severity, "dangerous syscalls allowed back: " + what,
          Ev("seccomp.allow", "[\"" + entry + "\"]", entry) + ": " + group->description,
          "Remove " + entry + " from seccomp.allow, or run this workload in a VM.", r.technique);
    }
    if (!seccomp.count_denials) {
      Add("PRF-SECCOMP-UNCOUNTED", Severity::kInfo, "seccomp denials are not counted in the report",
          Ev("seccomp.count_denials", "false"), "Set seccomp.count_denials = true to see what the payload tried.",
          "T1068");
    }
  }

  void LandlockCheck() {
    if (p_.landlock.requirement == Requirement::kDisabled) {
      Add("PRF-LANDLOCK-DISABLED", Severity::kLow, "Landlock disabled: no second layer behind the mount plan",
          Ev("landlock.mode", "\"disabled\""), "Set landlock.mode = \"best-effort\" or \"required\".", "T1611");
    } else if (p_.landlock.requirement == Requirement::kBestEffort) {
      Add("PRF-LANDLOCK-BEST-EFFORT", Severity::kInfo, "Landlock best-effort: not enforced on kernels without it",
          Ev("landlock.mode", "\"best-effort\""), "Set landlock.mode = \"required\" where every host supports it.",
          "T1611");
    } else {
      AddPass("PRF-LANDLOCK", "Landlock required");
    }
  }

  void LimitsCheck() {
    std::vector<std::string> unset;
    if (!p_.limits.memory_bytes) unset.push_back("limits.memory");
    if (!p_.limits.pids) unset.push_back("limits.pids");
    if (!p_.limits.timeout) unset.push_back("limits.timeout");
    if (unset.empty()) {
      AddPass("PRF-LIMITS", "memory, pids and timeout limits set");
      return;
    }
    std::string list;
    for (const std::string& u : unset) list += (list.empty() ? "" : ", ") + u;
    // With every limit missing and a network, the sandbox is a ready resource-hijacking host.
    bool all = unset.size() == 3;
    bool networked = p_.net.mode != NetMode::kNone;
    Severity sev = all && networked ? Severity::kMedium : Severity::kLow;
    Add("PRF-LIMITS", sev, all ? "no resource limits" : "incomplete resource limits", list + " not set",
        "Set limits.memory, limits.pids and limits.timeout (or pass --memory/--pids/--timeout).", "T1499");
  }

  static bool LooksSecret(const std::string& name) {
    std::string up;
    for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    constexpr std::array<std::string_view, 10> kWords = {"TOKEN", "SECRET",     "PASSWORD", "PASSWD", "API_KEY",
                                                         "APIKEY", "CREDENTIAL", "PRIVATE",  "AWS_",   "_KEY"};
    for (std::string_view w : kWords) {
      if (up.find(w) != std::string::npos) return true;
    }
    return up == "KEY" || up.ends_with("_AUTH") || up == "SSH_AUTH_SOCK";
  }

  void ProcessCheck() {
    for (const std::string& name : p_.env_keep) {
      if (LooksSecret(name)) {
        Add("PRF-ENV-SECRET", Severity::kMedium, "secret-looking host variable passed in: " + name,
            Ev("process.env_keep", "[\"" + name + "\"]", name),
            "Do not pass credentials into a sandbox for untrusted code; use a scoped, short-lived token if needed.",
            "T1552.001");
      }
    }
    for (const auto& [name, value] : p_.env_set) {
      if (LooksSecret(name) && !value.empty()) {
        Add("PRF-ENV-SECRET", Severity::kHigh, "credential written in the profile: " + name,
            Ev("process.env." + name, "\"<redacted>\""),
            "Remove the credential from the profile file; profiles are not secret stores.", "T1552.001");
      }
    }
    if (p_.allow_nested_userns) {
      Add("PRF-NESTED-USERNS", Severity::kHigh, "nested user namespaces allowed (kernel attack surface)",
          Ev("weaken.nested_userns", "true"),
          "Leave weaken.nested_userns = false unless the payload is a browser that needs it.", "T1068");
    }
    if (p_.keep_capabilities) {
      Add("PRF-KEEP-CAPS", Severity::kHigh, "the payload keeps its capabilities inside its user namespace",
          Ev("weaken.keep_capabilities", "true"), "Leave weaken.keep_capabilities = false (it exists for layer tests).",
          "T1068");
    }
    for (int fd : p_.pass_fds) {
      Add("PRF-PASS-FD", Severity::kLow, "host file descriptor passed in: " + std::to_string(fd),
          Ev("process.pass_fds", "[" + std::to_string(fd) + "]", std::to_string(fd)),
          "Pass only fds whose target is meant for the payload (a leaked directory fd is an escape).", "T1611");
    }
    if (!p_.new_session) {
      Add("PRF-NO-SETSID", Severity::kMedium, "no new session: the payload shares the caller's terminal session",
          Ev("process.new_session", "false"), "Set process.new_session = true.", "T1611");
    }
    if (!p_.new_keyring) {
      Add("PRF-KEYRING", Severity::kLow, "session keyring shared with the caller", Ev("process.new_keyring", "false"),
          "Set process.new_keyring = true.", "T1552");
    }
    if (!p_.die_with_parent) {
      Add("PRF-ORPHAN", Severity::kLow, "sandbox survives its parent", Ev("process.die_with_parent", "false"),
          "Set process.die_with_parent = true.", "TA0003");
    }
  }

  const Policy& p_;
  const KeyLocator& locate_;
  TargetReport report_;
};

// The profile documents a policy was built from, newest last, for line lookups.
struct SourceDoc {
  std::string label;
  toml::table table;
};

std::string ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return "";
  std::string text;
  char buf[8192];
  while (text.size() <= (1u << 20)) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

std::vector<SourceDoc> LoadSources(const Policy& policy) {
  std::vector<SourceDoc> docs;
  for (const std::string& src : policy.sources) {
    std::string label, text;
    if (src.starts_with("builtin:")) {
      std::string name = src.substr(8);
      for (const BuiltinProfile& b : BuiltinProfiles()) {
        if (b.name == name) text = b.toml;
      }
      label = "builtin/" + name + ".toml";
    } else {
      label = src;
      text = ReadSmallFile(src);
    }
    try {
      docs.push_back({label, toml::parse(text, label)});
    } catch (const toml::parse_error&) {
      // The loader accepted it; a change since then only costs the line number.
    }
  }
  return docs;
}

std::string LocateIn(const std::vector<SourceDoc>& docs, const std::string& key, const std::string& value) {
  for (auto it = docs.rbegin(); it != docs.rend(); ++it) {
    toml::node_view<const toml::node> n = toml::node_view<const toml::node>(it->table).at_path(key);
    if (!n) continue;
    const toml::node* node = n.node();
    if (!value.empty()) {
      if (const toml::array* a = node->as_array()) {
        for (const toml::node& e : *a) {
          bool match = (e.is_string() && *e.value<std::string>() == value) ||
                       (e.is_integer() && std::to_string(*e.value<int64_t>()) == value);
          if (match) return it->label + ":" + std::to_string(e.source().begin.line);
        }
        continue;
      }
    }
    return it->label + ":" + std::to_string(node->source().begin.line);
  }
  return "";
}

}  // namespace

TargetReport AuditPolicy(const Policy& policy, const KeyLocator& locate) { return Auditor(policy, locate).Run(); }

Result<TargetReport> AuditProfile(const std::string& name_or_path, const std::string& cwd) {
  auto policy = LoadProfile(name_or_path, cwd);
  if (!policy) return std::unexpected(std::move(policy.error()));
  std::vector<SourceDoc> docs = LoadSources(*policy);
  KeyLocator locate = [&docs](const std::string& key, const std::string& value) { return LocateIn(docs, key, value); };
  TargetReport report = AuditPolicy(*policy, locate);
  report.target = name_or_path;
  return report;
}

}  // namespace airlock::audit
