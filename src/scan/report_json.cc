#include "scan/report_json.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/json_text.h"
#include "core/navigator_layer.h"
#include "core/unique_fd.h"

namespace airlock::scan {
namespace {

// The common finding fields (core/report_envelope.h), then the scan's own; "id" is the deprecated
// name of "rule" (docs/REPORT.md, kept for one release).
nlohmann::json FindingJson(const Finding& f, const std::string& object) {
  nlohmann::json j = ReportFinding(f.id, f.severity, f.techniques, f.evidence, object);
  j["title"] = f.title;
  j["explanation"] = f.explanation;
  j["id"] = f.id;
  return j;
}

nlohmann::json ObjectJson(const ObjectReport& o) {
  nlohmann::json j;
  j["path"] = o.path;
  j["name"] = o.name;
  j["type"] = {{"mime", o.mime}, {"description", o.magic}};
  j["size"] = o.size;
  j["hashes"] = ReportHashes(o.sha256, o.sha1, o.md5);
  j["verdict"] = VerdictName(o.assessment.verdict);
  j["score"] = static_cast<double>(o.assessment.score);
  j["techniques"] = o.assessment.techniques;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : o.findings) j["findings"].push_back(FindingJson(f, o.path));
  if (!o.extracted_as.empty()) j["extracted_as"] = o.extracted_as;
  j["children"] = nlohmann::json::array();
  for (const auto& c : o.children) j["children"].push_back(ObjectJson(c));
  return j;
}

}  // namespace

nlohmann::json ReportToJson(const ScanReport& report) {
  nlohmann::json j = nlohmann::json::object();
  j["verdict"] = VerdictName(report.assessment.verdict);
  j["score"] = static_cast<double>(report.assessment.score);
  j["techniques"] = report.assessment.techniques;
  j["duration_ms"] = report.duration_ms;  // deprecated: "duration" (seconds) of the envelope
  j["sandboxed"] = report.sandboxed;
  j["objects"] = nlohmann::json::array();
  j["limits_hit"] = nlohmann::json::array();
  j["errors"] = nlohmann::json::array();
  for (const auto& in : report.inputs) {
    if (!in.ok) {
      j["errors"].push_back({{"input", in.input}, {"error", in.error}, {"verdict", "error"}});
      continue;
    }
    nlohmann::json o = ObjectJson(in.root);
    o["input"] = in.input;
    o["duration"] = static_cast<double>(in.duration_ms) / 1000.0;
    o["duration_ms"] = in.duration_ms;  // deprecated: "duration"
    j["objects"].push_back(std::move(o));
    for (const auto& l : in.limits_hit) {
      j["limits_hit"].push_back({{"path", l.path}, {"limit", l.limit}, {"detail", l.detail}});
    }
  }
  StampReportEnvelope(j, "scan", report.clock);
  return j;
}

std::string ReportToJsonText(const ScanReport& report) {
  return DumpJson(ReportToJson(report), 2) + "\n";
}

std::string NavigatorLayerText(const nlohmann::json& report) {
  size_t inputs = report.contains("objects") && report["objects"].is_array() ? report["objects"].size() : 0;
  return DumpJson(NavigatorLayer(report, "airlock scan", fmt::format("Techniques airlock scan found in {} input(s)", inputs)), 2) + "\n";
}

Status WriteFileReplacing(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".airlock-new";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return ErrnoError("write " + tmp);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status failed = ErrnoError("write " + tmp);
      ::unlink(tmp.c_str());
      return failed;
    }
    done += static_cast<size_t>(n);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status failed = ErrnoError("rename to " + path);
    ::unlink(tmp.c_str());
    return failed;
  }
  return Ok();
}

}  // namespace airlock::scan
