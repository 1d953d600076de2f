// Grading of Kubernetes manifests: the samples in tests/samples/k8s, pod/container precedence, and
// hostile input (bad YAML, wrong types, deep nesting) that must give errors or reports, never crashes.
#include <gtest/gtest.h>

#include "audit/k8s_audit.h"
#include "audit_test_util.h"

namespace airlock::audit {
namespace {

using test::FindAll;
using test::HasFinding;
using test::SamplePath;

std::vector<TargetReport> Audit(const std::string& text) {
  auto r = AuditManifestText(text, "inline.yaml");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().What());
  return r ? *r : std::vector<TargetReport>{};
}

TEST(AuditK8s, PrivilegedPodWithHostRootAndHostPidIsF) {
  auto r = AuditManifestFile(SamplePath("privileged-pod.yaml"));
  ASSERT_TRUE(r.has_value()) << r.error().What();
  ASSERT_EQ(r->size(), 1u);
  const TargetReport& pod = (*r)[0];
  EXPECT_EQ(pod.kind, TargetKind::kKubernetes);
  EXPECT_NE(pod.target.find("Pod/node-shell"), std::string::npos) << pod.target;
  EXPECT_EQ(pod.grade, "F");
  auto priv = FindAll(pod, "K8S-PRIVILEGED", "spec.containers[0].securityContext.privileged = true");
  ASSERT_EQ(priv.size(), 1u);
  EXPECT_EQ(priv[0].severity, Severity::kCritical);
  EXPECT_EQ(priv[0].technique, "T1611");
  EXPECT_NE(priv[0].evidence.find("privileged-pod.yaml:13"), std::string::npos) << priv[0].evidence;
  auto host = FindAll(pod, "K8S-HOSTPATH", "spec.volumes[0].hostPath.path = /");
  ASSERT_EQ(host.size(), 1u);
  EXPECT_EQ(host[0].severity, Severity::kCritical);
  auto pid = FindAll(pod, "K8S-HOSTPID", "spec.hostPID = true");
  ASSERT_EQ(pid.size(), 1u);
  EXPECT_EQ(pid[0].severity, Severity::kHigh);
  EXPECT_TRUE(HasFinding(pod, "K8S-SA-TOKEN"));
  EXPECT_EQ(FindAll(pod, "K8S-SA-TOKEN")[0].technique, "T1552.007");
}

TEST(AuditK8s, RestrictedDeploymentIsA) {
  auto r = AuditManifestFile(SamplePath("restricted-deployment.yaml"));
  ASSERT_TRUE(r.has_value()) << r.error().What();
  ASSERT_EQ(r->size(), 1u);
  const TargetReport& d = (*r)[0];
  EXPECT_NE(d.target.find("Deployment/web"), std::string::npos);
  EXPECT_EQ(d.grade, "A");
  EXPECT_EQ(d.score, 100);
  for (const Finding& f : d.findings) ADD_FAILURE() << f.id << ": " << f.evidence;
}

TEST(AuditK8s, MultiDocumentFileGivesOneReportPerWorkload) {
  auto r = AuditManifestFile(SamplePath("multi-document.yaml"));
  ASSERT_TRUE(r.has_value()) << r.error().What();
  ASSERT_EQ(r->size(), 2u);  // the Service is skipped
  const TargetReport& cron = (*r)[0];
  const TargetReport& ds = (*r)[1];
  EXPECT_NE(cron.target.find("multi-document.yaml#2 CronJob/image-gc"), std::string::npos) << cron.target;
  EXPECT_NE(ds.target.find("multi-document.yaml#3 DaemonSet/node-agent"), std::string::npos) << ds.target;

  auto sock = FindAll(cron, "K8S-HOSTPATH", "spec.jobTemplate.spec.template.spec.volumes[0].hostPath.path");
  ASSERT_EQ(sock.size(), 1u);
  EXPECT_EQ(sock[0].severity, Severity::kCritical);
  EXPECT_EQ(sock[0].technique, "T1610");
  auto admin = FindAll(cron, "K8S-CAP-ADD", "SYS_ADMIN");
  ASSERT_EQ(admin.size(), 1u);
  EXPECT_EQ(admin[0].severity, Severity::kCritical);
  EXPECT_TRUE(HasFinding(cron, "K8S-RUN-AS-ROOT", "runAsUser = 0"));
  EXPECT_FALSE(HasFinding(cron, "K8S-RUN-AS-NON-ROOT"));  // the uid-0 finding covers it

  EXPECT_TRUE(HasFinding(ds, "K8S-HOSTNETWORK"));
  EXPECT_TRUE(HasFinding(ds, "K8S-HOSTPORT", "hostPort = 9100"));
  EXPECT_TRUE(HasFinding(ds, "K8S-APPARMOR-UNCONFINED", "container.apparmor.security.beta.kubernetes.io/agent"));
  EXPECT_TRUE(HasFinding(ds, "K8S-SECCOMP-UNCONFINED", "spec.template.spec.securityContext.seccompProfile.type"));
  EXPECT_TRUE(HasFinding(ds, "K8S-PROCMOUNT", "initContainers[0]"));
  EXPECT_TRUE(HasFinding(ds, "K8S-PRIV-ESCALATION", "allowPrivilegeEscalation = true"));
  EXPECT_TRUE(HasFinding(ds, "K8S-CAP-DROP", "containers[0].securityContext.capabilities.drop"));
  EXPECT_EQ(FindAll(ds, "K8S-CAP-ADD", "SYS_PTRACE")[0].severity, Severity::kHigh);
  EXPECT_EQ(FindAll(ds, "K8S-CAP-ADD", "NET_ADMIN")[0].severity, Severity::kHigh);
  // The pod-level Unconfined profile is one finding, not one per container plus "missing".
  EXPECT_EQ(FindAll(ds, "K8S-SECCOMP-UNCONFINED").size(), 1u);
  EXPECT_FALSE(HasFinding(ds, "K8S-SECCOMP-MISSING"));
}

TEST(AuditK8s, MalformedYamlIsAnErrorWithTheLine) {
  auto r = AuditManifestFile(SamplePath("malformed.yaml"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().What().find("malformed.yaml:9:"), std::string::npos) << r.error().What();
}

TEST(AuditK8s, ContainerSettingsOverridePodSettings) {
  auto r = Audit(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: good
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}
      resources: {limits: {cpu: "1", memory: 64Mi}}
    - name: bad
      securityContext: {runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}, seccompProfile: {type: Unconfined}}
      resources: {limits: {cpu: "1", memory: 64Mi}}
)");
  ASSERT_EQ(r.size(), 1u);
  auto nonroot = FindAll(r[0], "K8S-RUN-AS-NON-ROOT");
  ASSERT_EQ(nonroot.size(), 1u);
  EXPECT_NE(nonroot[0].evidence.find("containers[1].securityContext.runAsNonRoot = false"), std::string::npos);
  auto seccomp = FindAll(r[0], "K8S-SECCOMP-UNCONFINED");
  ASSERT_EQ(seccomp.size(), 1u);
  EXPECT_NE(seccomp[0].evidence.find("containers[1]"), std::string::npos);
  EXPECT_FALSE(HasFinding(r[0], "K8S-CAP-ADD"));  // NET_BIND_SERVICE is allowed by "restricted"
  EXPECT_EQ(r[0].findings.size(), 2u);
}

TEST(AuditK8s, ListKindAndCapPrefix) {
  auto r = Audit(R"(apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db}
    spec:
      template:
        spec:
          containers:
            - name: db
              securityContext: {capabilities: {add: [CAP_SYS_MODULE]}}
)");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].target.find("StatefulSet/db"), std::string::npos);
  auto mod = FindAll(r[0], "K8S-CAP-ADD", "items[0].spec.template.spec.containers[0]");
  ASSERT_EQ(mod.size(), 1u);
  EXPECT_EQ(mod[0].severity, Severity::kCritical);
}

TEST(AuditK8s, HostileInputNeverCrashes) {
  // Wrong types everywhere the auditor looks.
  auto odd = AuditManifestText(R"(kind: Pod
metadata: [1, 2]
spec:
  hostPID: maybe
  volumes: {hostPath: /}
  securityContext: "x"
  containers:
    - 42
    - name: [a]
      securityContext: [privileged]
      ports: "80"
      resources: {limits: 7}
  initContainers: {}
)", "odd.yaml");
  ASSERT_TRUE(odd.has_value()) << odd.error().What();
  ASSERT_EQ(odd->size(), 1u);
  EXPECT_FALSE(HasFinding((*odd)[0], "K8S-HOSTPID"));  // "maybe" is not true

  // Deep nesting: an error (or a report), never a stack overflow.
  std::string deep(200000, '[');
  auto d = AuditManifestText(deep, "deep.yaml");
  EXPECT_FALSE(d.has_value());

  // Alias fan-out is shared, not expanded.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x]\n";
  for (int i = 0; i < 20; ++i) {
    bomb += "b" + std::to_string(i) + ": &b" + std::to_string(i) + " [*" + (i == 0 ? std::string("a") : "b" + std::to_string(i - 1)) +
            ", *" + (i == 0 ? std::string("a") : "b" + std::to_string(i - 1)) + "]\n";
  }
  bomb += "kind: Pod\nspec: {containers: [*b19]}\n";
  auto b = AuditManifestText(bomb, "bomb.yaml");
  EXPECT_TRUE(b.has_value());

  auto none = AuditManifestText("apiVersion: v1\nkind: ConfigMap\n", "cm.yaml");
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().What().find("no Pod or workload"), std::string::npos);
  EXPECT_FALSE(AuditManifestText("", "empty.yaml").has_value());
  EXPECT_FALSE(AuditManifestFile("/proc").has_value());  // not a regular file
}

TEST(AuditK8s, ManifestDetection) {
  EXPECT_TRUE(LooksLikeManifest("x.yaml"));
  EXPECT_TRUE(LooksLikeManifest("dir/x.yml"));
  EXPECT_FALSE(LooksLikeManifest("default"));
  EXPECT_FALSE(LooksLikeManifest("a/b.toml"));
}

}  // namespace
}  // namespace airlock::audit
