#include "audit/k8s_audit.h"

#include "core/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>
#include <utility>

#include "audit/host_paths.h"
#include "core/unique_fd.h"
#include "policy/profile_loader.h"

namespace airlock::audit {
namespace {

constexpr size_t kMaxManifestBytes = 8u << 20;
constexpr size_t kMaxDocuments = 1000;

// A YAML node plus its manifest path ("spec.containers[0]").
struct At {
  YAML::Node node;
  std::string path;

  At Key(const std::string& key) const {
    // Const access never converts or inserts. Nodes are never assigned (yaml-cpp assignment writes
    // through to the document and throws on missing keys); only copy-constructed.
    const YAML::Node& self = node;
    return {self && self.IsMap() ? self[key] : YAML::Node(YAML::NodeType::Undefined),
            path.empty() ? key : path + "." + key};
  }
  At Index(size_t i) const {
    const YAML::Node& self = node;
    return {self[i], path + "[" + std::to_string(i) + "]"};
  }
  bool Present() const { return node && node.IsDefined() && !node.IsNull(); }
  bool IsSeq() const { return Present() && node.IsSequence(); }
  bool IsMap() const { return Present() && node.IsMap(); }
  std::optional<std::string> Str() const {
    if (!Present() || !node.IsScalar()) return std::nullopt;
    return node.Scalar();
  }
  std::optional<bool> Bool() const {
    auto s = Str();
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "True" || *s == "TRUE") return true;
    if (*s == "false" || *s == "False" || *s == "FALSE") return false;
    return std::nullopt;
  }
  std::optional<long long> Int() const {
    auto s = Str();
    if (!s || s->empty() || s->size() > 18) return std::nullopt;
    long long v = 0;
    size_t i = (*s)[0] == '-' ? 1 : 0;
    if (i == s->size()) return std::nullopt;
    for (; i < s->size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>((*s)[i]))) return std::nullopt;
      v = v * 10 + ((*s)[i] - '0');
    }
    return (*s)[0] == '-' ? -v : v;
  }
  int Line() const { return node && node.IsDefined() ? node.Mark().line + 1 : 0; }
};

class WorkloadAuditor {
 public:
  WorkloadAuditor(std::string label, TargetReport& report) : label_(std::move(label)), r_(report) {}

  void Run(const At& pod_spec, const At& pod_meta) {
    PodLevel(pod_spec, pod_meta);
    At psc = pod_spec.Key("securityContext");
    for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
      At cs = pod_spec.Key(list);
      if (!cs.IsSeq()) continue;
      for (size_t i = 0; i < cs.node.size() && i < 1000; ++i) {
        At c = cs.Index(i);
        if (c.IsMap()) Container(c, psc, pod_meta, std::string_view(list) == "ephemeralContainers");
      }
    }
  }

 private:
  // "path = value (file:line)"; `shown` overrides the printed value.
  std::string Ev(const At& at, const std::string& shown = "") const {
    std::string value = shown.empty() ? at.Str().value_or("...") : shown;
    if (value.size() > 200) value = value.substr(0, 200) + "...";
    int line = at.Line();
    return at.path + " = " + value + (line > 0 ? " (" + label_ + ":" + std::to_string(line) + ")" : "");
  }
  // For missing settings: "path not set (in the object at file:line)".
  std::string Missing(const At& at, const At& parent) const {
    int line = parent.Line();
    return at.path + " not set" + (line > 0 ? " (" + label_ + ":" + std::to_string(line) + ")" : "");
  }
  void Add(std::string id, Severity sev, std::string title, std::string evidence, std::string remediation,
           std::string technique) {
    r_.findings.push_back(
        {std::move(id), sev, std::move(title), std::move(evidence), std::move(remediation), std::move(technique)});
  }

  void PodLevel(const At& spec, const At& meta) {
    struct HostNs {
      const char* key;
      Severity sev;
      const char* title;
    };
    for (const HostNs& h : {HostNs{"hostPID", Severity::kHigh, "host PID namespace shared"},
                            HostNs{"hostIPC", Severity::kHigh, "host IPC namespace shared"},
                            HostNs{"hostNetwork", Severity::kHigh, "host network namespace shared"}}) {
      At a = spec.Key(h.key);
      if (a.Bool().value_or(false)) {
        Add(std::string("K8S-") + (h.key[4] == 'P' ? "HOSTPID" : h.key[4] == 'I' ? "HOSTIPC" : "HOSTNETWORK"),
            h.sev, h.title, Ev(a), std::string("Remove ") + h.key + " (Pod Security Standards baseline forbids it).",
            "T1611");
      }
    }
    At vols = spec.Key("volumes");
    if (vols.IsSeq()) {
      for (size_t i = 0; i < vols.node.size() && i < 1000; ++i) {
        At hp = vols.Index(i).Key("hostPath").Key("path");
        auto path = hp.Str();
        if (!path) continue;
        PathRisk risk = WritableHostPathRisk(*path);
        Severity sev = risk.severity == Severity::kCritical ? Severity::kCritical : Severity::kHigh;
        Add("K8S-HOSTPATH", sev, "hostPath volume: " + *path, Ev(hp) + ": " + risk.why,
            "Replace the hostPath volume with emptyDir, a PVC, a ConfigMap or a CSI volume.", risk.technique);
      }
    }
    At token = spec.Key("automountServiceAccountToken");
    if (!token.Bool().has_value() || *token.Bool()) {
      Add("K8S-SA-TOKEN", Severity::kMedium, "service account token mounted into the pod",
          token.Present() ? Ev(token) : Missing(token, spec) + " (defaults to true)",
          "Set automountServiceAccountToken: false unless the workload calls the API server.", "T1552.007");
    }
    At psc = spec.Key("securityContext");
    At pod_seccomp = psc.Key("seccompProfile").Key("type");
    if (pod_seccomp.Str() == "Unconfined") {
      Add("K8S-SECCOMP-UNCONFINED", Severity::kHigh, "pod seccomp profile Unconfined", Ev(pod_seccomp),
          "Set securityContext.seccompProfile.type: RuntimeDefault.", "T1068");
    }
    At annotations = meta.Key("annotations");
    if (annotations.IsMap()) {
      for (const auto& kv : annotations.node) {
        if (!kv.first.IsScalar() || !kv.second.IsScalar()) continue;
        const std::string& key = kv.first.Scalar();
        std::string value = kv.second.Scalar();
        At a{kv.second, annotations.path + "[\"" + key + "\"]"};
        bool apparmor = key.starts_with("container.apparmor.security.beta.kubernetes.io/");
        bool seccomp = key.starts_with("seccomp.security.alpha.kubernetes.io/") ||
                       key.starts_with("container.seccomp.security.alpha.kubernetes.io/");
        if (apparmor && value == "unconfined") {
          Add("K8S-APPARMOR-UNCONFINED", Severity::kHigh, "AppArmor disabled for a container", Ev(a),
              "Remove the annotation or use runtime/default.", "T1611");
        } else if (seccomp && value == "unconfined") {
          Add("K8S-SECCOMP-UNCONFINED", Severity::kHigh, "seccomp disabled by annotation", Ev(a),
              "Remove the annotation and set seccompProfile.type: RuntimeDefault.", "T1068");
        }
      }
    }
    At pod_aa = psc.Key("appArmorProfile").Key("type");
    if (pod_aa.Str() == "Unconfined") {
      Add("K8S-APPARMOR-UNCONFINED", Severity::kHigh, "pod AppArmor profile Unconfined", Ev(pod_aa),
          "Set appArmorProfile.type: RuntimeDefault.", "T1611");
    }
  }

  struct CapRisk {
    std::string_view cap;
    Severity sev;
    std::string_view technique;
  };
  static std::optional<CapRisk> RiskOfCap(const std::string& raw) {
    std::string cap;
    for (char ch : raw) cap += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (cap.starts_with("CAP_")) cap = cap.substr(4);
    static constexpr std::array<CapRisk, 17> kCaps = {{
        {"ALL", Severity::kCritical, "T1611"},         {"SYS_ADMIN", Severity::kCritical, "T1611"},
        {"SYS_MODULE", Severity::kCritical, "T1611"},  {"SYS_RAWIO", Severity::kCritical, "T1611"},
        {"DAC_READ_SEARCH", Severity::kCritical, "T1611"}, {"SYS_PTRACE", Severity::kHigh, "T1055.008"},
        {"NET_ADMIN", Severity::kHigh, "T1557"},       {"BPF", Severity::kHigh, "T1068"},
        {"PERFMON", Severity::kHigh, "T1068"},         {"SYS_BOOT", Severity::kHigh, "T1529"},
        {"SYS_TIME", Severity::kHigh, "T1070.006"},    {"DAC_OVERRIDE", Severity::kHigh, "T1068"},
        {"SETFCAP", Severity::kHigh, "T1548"},         {"MKNOD", Severity::kHigh, "T1611"},
        {"SYSLOG", Severity::kMedium, "T1082"},        {"NET_RAW", Severity::kMedium, "T1557"},
        {"NET_BIND_SERVICE", Severity::kInfo, ""},
    }};
    for (const CapRisk& c : kCaps) {
      if (c.cap == cap) {
        if (c.sev == Severity::kInfo) return std::nullopt;  // allowed by "restricted"
        return c;
      }
    }
    return CapRisk{"", Severity::kMedium, "T1068"};
  }

  void Container(const At& c, const At& psc, const At& meta, bool ephemeral) {
    At sc = c.Key("securityContext");
    std::string name = c.Key("name").Str().value_or(c.path);
    if (name.size() > 100) name = name.substr(0, 100) + "...";
    At priv = sc.Key("privileged");
    bool privileged = priv.Bool().value_or(false);
    if (privileged) {
      Add("K8S-PRIVILEGED", Severity::kCritical, "privileged container: " + name, Ev(priv),
          "Remove privileged: true; grant only the specific capability the container needs.", "T1611");
    }
    At ape = sc.Key("allowPrivilegeEscalation");
    if (ape.Bool() != std::optional<bool>(false)) {
      Add("K8S-PRIV-ESCALATION", Severity::kMedium, "privilege escalation allowed (setuid binaries work): " + name,
          ape.Present() ? Ev(ape) : Missing(ape, c) + " (defaults to true)",
          "Set securityContext.allowPrivilegeEscalation: false.", "T1548.001");
    }
    // runAsUser / runAsNonRoot: the container's setting overrides the pod's.
    At user = sc.Key("runAsUser").Present() ? sc.Key("runAsUser") : psc.Key("runAsUser");
    At nonroot = sc.Key("runAsNonRoot").Present() ? sc.Key("runAsNonRoot") : psc.Key("runAsNonRoot");
    auto uid = user.Int();
    if (uid && *uid == 0) {
      Add("K8S-RUN-AS-ROOT", Severity::kHigh, "container runs as uid 0: " + name, Ev(user),
          "Run as a non-zero uid and set runAsNonRoot: true.", "T1611");
    } else if (nonroot.Bool() != std::optional<bool>(true)) {
      bool explicit_user = uid && *uid > 0;
      Add("K8S-RUN-AS-NON-ROOT", explicit_user ? Severity::kLow : Severity::kMedium,
          "runAsNonRoot not enforced: " + name,
          nonroot.Present() ? Ev(nonroot) : Missing(sc.Key("runAsNonRoot"), c) + " (pod and container)",
          "Set securityContext.runAsNonRoot: true (pod or container level).", "T1611");
    }
    At caps = sc.Key("capabilities");
    At add = caps.Key("add");
    if (add.IsSeq()) {
      for (size_t i = 0; i < add.node.size() && i < 100; ++i) {
        At a = add.Index(i);
        auto cap = a.Str();
        if (!cap) continue;
        auto risk = RiskOfCap(*cap);
        if (!risk) continue;
        Add("K8S-CAP-ADD", risk->sev, "capability added: " + *cap + " (" + name + ")", Ev(a),
            "Remove " + *cap + " from capabilities.add; only NET_BIND_SERVICE is allowed by the restricted profile.",
            std::string(risk->technique));
      }
    }
    At drop = caps.Key("drop");
    bool drops_all = false;
    if (drop.IsSeq()) {
      for (const auto& d : drop.node) {
        if (d.IsScalar() && (d.Scalar() == "ALL" || d.Scalar() == "all")) drops_all = true;
      }
    }
    if (!drops_all && !privileged) {
      Add("K8S-CAP-DROP", Severity::kMedium, "capabilities not dropped: " + name,
          drop.Present() ? Ev(drop, "[without ALL]") : Missing(drop, c),
          "Set securityContext.capabilities.drop: [\"ALL\"].", "T1068");
    }
    At seccomp = sc.Key("seccompProfile").Key("type");
    At pod_seccomp = psc.Key("seccompProfile").Key("type");
    At eff = seccomp.Present() ? seccomp : pod_seccomp;
    bool annotated = false;
    if (At ann = meta.Key("annotations"); ann.IsMap()) {
      annotated = ann.Key("seccomp.security.alpha.kubernetes.io/pod").Present();
    }
    if (seccomp.Str() == "Unconfined") {
      Add("K8S-SECCOMP-UNCONFINED", Severity::kHigh, "seccomp profile Unconfined: " + name, Ev(seccomp),
          "Set seccompProfile.type: RuntimeDefault.", "T1068");
    } else if (!eff.Present() && !annotated) {
      Add("K8S-SECCOMP-MISSING", Severity::kMedium, "no seccomp profile: " + name,
          Missing(sc.Key("seccompProfile"), c) + " (pod and container)",
          "Set securityContext.seccompProfile.type: RuntimeDefault (pod level covers every container).", "T1068");
    }
    At aa = sc.Key("appArmorProfile").Key("type");
    if (aa.Str() == "Unconfined") {
      Add("K8S-APPARMOR-UNCONFINED", Severity::kHigh, "AppArmor profile Unconfined: " + name, Ev(aa),
          "Set appArmorProfile.type: RuntimeDefault.", "T1611");
    }
    At proc = sc.Key("procMount");
    if (proc.Str() == "Unmasked") {
      Add("K8S-PROCMOUNT", Severity::kHigh, "unmasked /proc: " + name, Ev(proc),
          "Remove procMount: Unmasked (use Default).", "T1611");
    }
    At rorf = sc.Key("readOnlyRootFilesystem");
    if (rorf.Bool() != std::optional<bool>(true)) {
      Add("K8S-RW-ROOTFS", Severity::kLow, "writable root filesystem: " + name,
          rorf.Present() ? Ev(rorf) : Missing(rorf, c),
          "Set readOnlyRootFilesystem: true and mount emptyDir where the app writes.", "T1105");
    }
    if (!ephemeral) {
      At limits = c.Key("resources").Key("limits");
      bool memory = limits.Key("memory").Present();
      bool cpu = limits.Key("cpu").Present();
      if (!memory || !cpu) {
        std::string missing = !memory && !cpu ? "memory and cpu" : !memory ? "memory" : "cpu";
        Add("K8S-LIMITS", memory ? Severity::kLow : Severity::kMedium, "no " + missing + " limit: " + name,
            limits.Present() ? Missing(limits.Key(!memory ? "memory" : "cpu"), c) : Missing(limits, c),
            "Set resources.limits.memory and resources.limits.cpu.", "T1499");
      }
    }
    At ports = c.Key("ports");
    if (ports.IsSeq()) {
      for (size_t i = 0; i < ports.node.size() && i < 1000; ++i) {
        At hp = ports.Index(i).Key("hostPort");
        if (hp.Int().value_or(0) != 0) {
          Add("K8S-HOSTPORT", Severity::kMedium, "hostPort opened on the node: " + hp.Str().value_or(""), Ev(hp),
              "Expose the port through a Service instead of hostPort.", "T1599");
        }
      }
    }
  }

  std::string label_;
  TargetReport& r_;
};

// Where the pod spec lives for each workload kind.
std::optional<std::pair<At, At>> PodSpecOf(const At& doc, const std::string& kind) {
  if (kind == "Pod") return std::make_pair(doc.Key("spec"), doc.Key("metadata"));
  static constexpr std::array<std::string_view, 6> kTemplated = {"Deployment", "ReplicaSet", "StatefulSet",
                                                                 "DaemonSet",  "Job",        "ReplicationController"};
  if (std::find(kTemplated.begin(), kTemplated.end(), kind) != kTemplated.end()) {
    At tpl = doc.Key("spec").Key("template");
    return std::make_pair(tpl.Key("spec"), tpl.Key("metadata"));
  }
  if (kind == "CronJob") {
    At tpl = doc.Key("spec").Key("jobTemplate").Key("spec").Key("template");
    return std::make_pair(tpl.Key("spec"), tpl.Key("metadata"));
  }
  return std::nullopt;
}

void AuditObject(const At& obj, const std::string& label, const std::string& doc_tag, int depth,
                 std::vector<TargetReport>& out, std::vector<std::string>& skipped) {
  if (!obj.IsMap()) return;
  std::string kind = obj.Key("kind").Str().value_or("");
  if (kind == "List" && depth == 0) {
    At items = obj.Key("items");
    if (!items.IsSeq()) return;
    for (size_t i = 0; i < items.node.size() && i < kMaxDocuments; ++i) {
      AuditObject(items.Index(i), label, doc_tag + ".items[" + std::to_string(i) + "]", 1, out, skipped);
    }
    return;
  }
  auto pod = PodSpecOf(obj, kind);
  if (!pod) {
    skipped.push_back(kind.empty() ? "(no kind)" : kind);
    return;
  }
  TargetReport report;
  report.kind = TargetKind::kKubernetes;
  std::string name = obj.Key("metadata").Key("name").Str().value_or("(unnamed)");
  if (name.size() > 100) name = name.substr(0, 100) + "...";
  report.target = label + "#" + doc_tag + " " + kind + "/" + name;
  // Evidence paths are relative to the object; prefix with items[i] inside a List.
  At root{obj.node, depth == 0 ? "" : doc_tag.substr(doc_tag.find('.') + 1)};
  auto rooted = PodSpecOf(root, kind);
  if (!rooted->first.IsMap()) {
    report.findings.push_back({"K8S-NO-POD-SPEC", Severity::kInfo, "no pod spec found", rooted->first.path + " missing",
                               "Check the manifest structure.", ""});
  } else {
    WorkloadAuditor(label, report).Run(rooted->first, rooted->second);
  }
  Finalize(report);
  out.push_back(std::move(report));
}

}  // namespace

Result<std::vector<TargetReport>> AuditManifestText(const std::string& text, const std::string& label) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    std::string where = label;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return MakeError(where + ": bad YAML: " + e.msg);
  }
  if (docs.size() > kMaxDocuments) return MakeError(label + ": more than " + std::to_string(kMaxDocuments) + " documents");
  std::vector<TargetReport> out;
  std::vector<std::string> skipped;
  try {
    for (size_t i = 0; i < docs.size(); ++i) {
      AuditObject(At{docs[i], ""}, label, std::to_string(i + 1), 0, out, skipped);
    }
  } catch (const YAML::Exception& e) {
    return MakeError(label + ":" + std::to_string(e.mark.line + 1) + ": unexpected YAML structure: " + e.msg);
  }
  if (out.empty()) {
    std::string kinds;
    for (const std::string& k : skipped) kinds += (kinds.empty() ? "" : ", ") + k;
    return MakeError(label + ": no Pod or workload template found" + (kinds.empty() ? "" : " (kinds: " + kinds + ")"));
  }
  return out;
}

Result<std::vector<TargetReport>> AuditManifestFile(const std::string& path) {
  auto text = ReadRegularFileBounded(path, kMaxManifestBytes, "manifest larger than 8 MiB");
  if (!text) return std::unexpected(text.error());
  return AuditManifestText(*text, path);
}

bool LooksLikeManifest(const std::string& path) {
  for (std::string_view ext : {".yaml", ".yml", ".json"}) {
    if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0) return true;
  }
  if (path.ends_with(".toml")) return false;
  if (path.find('/') == std::string::npos) {
    for (const BuiltinProfile& b : BuiltinProfiles()) {
      if (b.name == path) return false;  // built-in names win, as in LoadProfile
    }
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return false;
  char buf[4096];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return false;
  std::string head(buf, static_cast<size_t>(n));
  return (head.starts_with("apiVersion:") || head.find("\napiVersion:") != std::string::npos) &&
         (head.starts_with("kind:") || head.find("\nkind:") != std::string::npos);
}

}  // namespace airlock::audit
