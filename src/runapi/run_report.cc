#include "runapi/run_report.h"

#include <fmt/format.h>

#include "core/file_read.h"

namespace airlock::runapi {
namespace {

using nlohmann::json;
namespace f = report_field;

const char* TypeName(const json& v) { return v.type_name(); }

std::unexpected<Error> FieldError(std::string_view field, std::string_view what) {
  return MakeError(fmt::format("field '{}': {}", field, what));
}

std::unexpected<Error> WrongType(std::string_view field, std::string_view expected, const json& v) {
  return FieldError(field, fmt::format("expected {}, got {}", expected, TypeName(v)));
}

// The value of a required field, or an error naming it.
Result<const json*> Required(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return FieldError(field, "missing");
  return &*it;
}

// Applies `f` to the required field's value (libstdc++ 12's std::expected has no and_then).
template <class F>
auto Get(const json& obj, const char* field, F f) -> decltype(f(&obj)) {
  auto it = obj.find(field);
  if (it == obj.end()) return FieldError(field, "missing");
  return f(&*it);
}

Result<int64_t> AsInt(const json& v, std::string_view field) {
  if (!v.is_number_integer()) return WrongType(field, "an integer", v);
  return v.get<int64_t>();
}

Result<uint64_t> AsCount(const json& v, std::string_view field) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return WrongType(field, "a non-negative integer", v);
  }
  return v.get<uint64_t>();
}

Result<double> AsNumber(const json& v, std::string_view field) {
  if (!v.is_number()) return WrongType(field, "a number", v);
  return v.get<double>();
}

Result<std::string> AsString(const json& v, std::string_view field) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  return v.get<std::string>();
}

Result<std::vector<std::string>> AsStrings(const json& v, std::string_view field) {
  if (!v.is_array()) return WrongType(field, "an array of strings", v);
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) return WrongType(field, "an array of strings", s);
    out.push_back(s.get<std::string>());
  }
  return out;
}

template <class T, class Conv>
Result<std::map<std::string, T>> AsMap(const json& v, std::string_view field, Conv conv) {
  if (!v.is_object()) return WrongType(field, "an object", v);
  std::map<std::string, T> out;
  for (const auto& [k, x] : v.items()) {
    auto value = conv(x, fmt::format("{}.{}", field, k));
    if (!value) return std::unexpected(std::move(value.error()));
    out[k] = *value;
  }
  return out;
}

bool KnownReason(const std::string& r) {
  for (const char* k : {kReasonOk, kReasonSetupError, kReasonTimeout, kReasonKilledByLimit, kReasonSignaled}) {
    if (r == k) return true;
  }
  return false;
}

Status ReadVersionAndStatus(const json& j, RunReport& r) {
  auto v = Get(j, f::kSchemaVersion, [](const json* x) { return AsInt(*x, f::kSchemaVersion); });
  if (!v) return std::unexpected(std::move(v.error()));
  if (*v < 1) return FieldError(f::kSchemaVersion, fmt::format("{} is not a schema version", *v));
  if (*v > kRunReportSchemaVersion) {
    return MakeError(fmt::format("schema_version {} is newer than this reader ({}): update the consumer", *v,
                                 kRunReportSchemaVersion));
  }
  r.schema_version = static_cast<int>(*v);
  auto status = Get(j, f::kStatus, [](const json* x) { return AsInt(*x, f::kStatus); });
  if (!status) return std::unexpected(std::move(status.error()));
  r.status = static_cast<int>(*status);
  auto reason = Get(j, f::kReason, [](const json* x) { return AsString(*x, f::kReason); });
  if (!reason) return std::unexpected(std::move(reason.error()));
  if (!KnownReason(*reason)) return FieldError(f::kReason, fmt::format("unknown value '{}'", *reason));
  r.reason = *reason;
  return Ok();
}

Status ReadOptionalScalars(const json& j, RunReport& r) {
  for (auto [field, dst] : {std::pair{f::kChildExitStatus, &r.child_exit_status}, std::pair{f::kChildSignal, &r.child_signal},
                            std::pair{f::kInterruptSignal, &r.interrupt_signal}}) {
    if (!j.contains(field)) continue;
    auto v = AsInt(j[field], field);
    if (!v) return std::unexpected(std::move(v.error()));
    *dst = static_cast<int>(*v);
  }
  if (j.contains(f::kError)) {
    auto e = AsString(j[f::kError], f::kError);
    if (!e) return std::unexpected(std::move(e.error()));
    r.error = *e;
  }
  if (j.contains(f::kWarmAgeMs)) {
    auto w = AsNumber(j[f::kWarmAgeMs], f::kWarmAgeMs);
    if (!w) return std::unexpected(std::move(w.error()));
    r.warm_age_ms = *w;
  }
  if (j.contains(f::kInterrupted)) {
    if (!j[f::kInterrupted].is_boolean()) return WrongType(f::kInterrupted, "a boolean", j[f::kInterrupted]);
    r.interrupted = j[f::kInterrupted].get<bool>();
  }
  if (j.contains(f::kNetwork)) {
    if (!j[f::kNetwork].is_object()) return WrongType(f::kNetwork, "an object", j[f::kNetwork]);
    r.network = j[f::kNetwork];
  }
  return Ok();
}

Result<RunReportHelper> ReadHelper(const json& h) {
  if (!h.is_object()) return WrongType(f::kHelpers, "an array of objects", h);
  RunReportHelper out;
  auto name = Get(h, f::kHelperName, [](const json* x) { return AsString(*x, "helpers.name"); });
  if (!name) return std::unexpected(std::move(name.error()));
  out.name = *name;
  auto uid = Get(h, f::kHelperUid, [](const json* x) { return AsInt(*x, "helpers.uid"); });
  if (!uid) return std::unexpected(std::move(uid.error()));
  out.uid = *uid;
  for (auto [field, dst] : {std::pair{f::kHelperSandboxed, &out.sandboxed}, std::pair{f::kHelperSeccomp, &out.seccomp},
                            std::pair{f::kHelperNoNewPrivs, &out.no_new_privs}}) {
    auto v = Required(h, field);
    if (!v) return std::unexpected(std::move(v.error()));
    if (!(*v)->is_boolean()) return WrongType(field, "a boolean", **v);
    *dst = (*v)->get<bool>();
  }
  if (h.contains(f::kHelperCapabilities)) {
    auto caps = AsStrings(h[f::kHelperCapabilities], "helpers.capabilities");
    if (!caps) return std::unexpected(std::move(caps.error()));
    out.capabilities = *caps;
  }
  if (h.contains(f::kHelperDetail)) {
    auto d = AsString(h[f::kHelperDetail], "helpers.detail");
    if (!d) return std::unexpected(std::move(d.error()));
    out.detail = *d;
  }
  return out;
}

Status ReadHelpers(const json& j, RunReport& r) {
  if (!j.contains(f::kHelpers)) return Ok();
  if (!j[f::kHelpers].is_array()) return WrongType(f::kHelpers, "an array", j[f::kHelpers]);
  for (const auto& h : j[f::kHelpers]) {
    auto one = ReadHelper(h);
    if (!one) return std::unexpected(std::move(one.error()));
    r.helpers.push_back(std::move(*one));
  }
  return Ok();
}

Status ReadResources(const json& j, RunReport& r) {
  auto wall = Get(j, f::kWallSeconds, [](const json* x) { return AsNumber(*x, f::kWallSeconds); });
  if (!wall) return std::unexpected(std::move(wall.error()));
  r.wall_seconds = *wall;
  auto cpu = Required(j, f::kCpuSeconds);
  if (!cpu) return std::unexpected(std::move(cpu.error()));
  if (!(*cpu)->is_object()) return WrongType(f::kCpuSeconds, "an object", **cpu);
  auto user = Get(**cpu, f::kCpuUser, [](const json* x) { return AsNumber(*x, "cpu_seconds.user"); });
  auto sys = Get(**cpu, f::kCpuSystem, [](const json* x) { return AsNumber(*x, "cpu_seconds.system"); });
  if (!user) return std::unexpected(std::move(user.error()).WithContext(f::kCpuSeconds));
  if (!sys) return std::unexpected(std::move(sys.error()).WithContext(f::kCpuSeconds));
  r.user_cpu_seconds = *user;
  r.system_cpu_seconds = *sys;
  auto peak = Required(j, f::kPeakMemoryBytes);
  if (!peak) return std::unexpected(std::move(peak.error()));
  if (!(*peak)->is_null()) {
    auto p = AsCount(**peak, f::kPeakMemoryBytes);
    if (!p) return std::unexpected(std::move(p.error()));
    r.peak_memory_bytes = *p;
  }
  return Ok();
}

Status ReadLists(const json& j, RunReport& r) {
  auto layers = Get(j, f::kLayers, [](const json* x) { return ParseLayers(*x); });
  if (!layers) return std::unexpected(std::move(layers.error()));
  r.layers = std::move(*layers);
  for (auto [field, dst] : {std::pair{f::kNotEnforced, &r.not_enforced}, std::pair{f::kWeakenings, &r.weakenings}}) {
    auto v = Get(j, field, [field](const json* x) { return AsStrings(*x, field); });
    if (!v) return std::unexpected(std::move(v.error()));
    *dst = std::move(*v);
  }
  for (auto [field, dst] : {std::pair{f::kDeniedSyscalls, &r.denied_syscalls}, std::pair{f::kObservedSyscalls, &r.observed_syscalls}}) {
    auto v = Get(j, field, [field](const json* x) { return AsMap<uint64_t>(*x, field, AsCount); });
    if (!v) return std::unexpected(std::move(v.error()));
    *dst = std::move(*v);
  }
  auto setup = Get(j, f::kSetupMs, [](const json* x) { return AsMap<double>(*x, f::kSetupMs, AsNumber); });
  if (!setup) return std::unexpected(std::move(setup.error()));
  r.setup_ms = std::move(*setup);
  return Ok();
}

Status ReadLaunchAndMonitor(const json& j, RunReport& r) {
  auto launch = Get(j, f::kLaunch, [](const json* x) { return AsString(*x, f::kLaunch); });
  if (!launch) return std::unexpected(std::move(launch.error()));
  if (*launch != kLaunchCold && *launch != kLaunchWarm) return FieldError(f::kLaunch, fmt::format("unknown value '{}'", *launch));
  r.launch = *launch;
  if (!j.contains(f::kMonitor)) return Ok();
  const json& m = j[f::kMonitor];
  if (!m.is_object()) return WrongType(f::kMonitor, "an object", m);
  RunReportMonitor mon;
  for (auto [field, dst] : {std::pair{f::kMonitorEvents, &mon.events}, std::pair{f::kMonitorDropped, &mon.dropped},
                            std::pair{f::kMonitorLost, &mon.lost}}) {
    auto v = Get(m, field, [field](const json* x) { return AsCount(*x, field); });
    if (!v) return std::unexpected(std::move(v.error()).WithContext(f::kMonitor));
    *dst = *v;
  }
  r.monitor = mon;
  return Ok();
}

bool KnownEnforcer(const std::string& by) {
  for (const char* k : {kByCgroupV2Pids, kByCgroupV1Pids, kByRlimitNproc, kByCgroupV2Memory, kByCgroupV1Memory, kByRlimitAs,
                        kByCgroupV2Cpu, kByCgroupV1Cpu, kByNone}) {
    if (by == k) return true;
  }
  return false;
}

Result<RunReportLimit> ReadLimit(const json& b, const char* name) {
  std::string field = fmt::format("{}.{}", f::kBounds, name);
  if (!b[name].is_object()) return WrongType(field, "an object", b[name]);
  const json& o = b[name];
  RunReportLimit out;
  auto limit = Required(o, f::kBoundLimit);
  if (!limit) return std::unexpected(std::move(limit.error()).WithContext(field));
  if (!(*limit)->is_null()) {
    auto v = AsNumber(**limit, field + ".limit");
    if (!v) return std::unexpected(std::move(v.error()));
    out.limit = *v;
  }
  auto by = Get(o, f::kBoundEnforcedBy, [&field](const json* x) { return AsString(*x, field + ".enforced_by"); });
  if (!by) return std::unexpected(std::move(by.error()).WithContext(field));
  if (!KnownEnforcer(*by)) return FieldError(field + ".enforced_by", fmt::format("unknown value '{}'", *by));
  out.enforced_by = *by;
  return out;
}

Result<RunReportTmpfs> ReadTmpfs(const json& t) {
  const std::string field = fmt::format("{}.{}[]", f::kBounds, f::kBoundTmpfs);
  if (!t.is_object()) return WrongType(field, "an object", t);
  RunReportTmpfs out;
  auto path = Get(t, f::kTmpfsPath, [&field](const json* x) { return AsString(*x, field + ".path"); });
  auto size = Get(t, f::kTmpfsSizeBytes, [&field](const json* x) { return AsCount(*x, field + ".size_bytes"); });
  auto inodes = Get(t, f::kTmpfsInodes, [&field](const json* x) { return AsCount(*x, field + ".inodes"); });
  auto writable = Required(t, f::kTmpfsWritable);
  if (!path) return std::unexpected(std::move(path.error()).WithContext(field));
  if (!size) return std::unexpected(std::move(size.error()).WithContext(field));
  if (!inodes) return std::unexpected(std::move(inodes.error()).WithContext(field));
  if (!writable) return std::unexpected(std::move(writable.error()).WithContext(field));
  if (!(*writable)->is_boolean()) return WrongType(field + ".writable", "a boolean", **writable);
  return RunReportTmpfs{*path, *size, *inodes, (*writable)->get<bool>()};
}

Status ReadBounds(const json& j, RunReport& r) {
  if (!j.contains(f::kBounds)) return Ok();
  auto bounds = ParseBounds(j[f::kBounds]);
  if (!bounds) return std::unexpected(std::move(bounds.error()));
  r.bounds = std::move(*bounds);
  return Ok();
}

}  // namespace

Result<RunReportBounds> ParseBounds(const json& b) {
  if (!b.is_object()) return WrongType(f::kBounds, "an object", b);
  RunReportBounds bounds;
  for (auto [name, dst] : {std::pair{f::kBoundPids, &bounds.pids}, std::pair{f::kBoundMemory, &bounds.memory}}) {
    if (!b.contains(name)) return FieldError(fmt::format("{}.{}", f::kBounds, name), "missing");
    auto l = ReadLimit(b, name);
    if (!l) return std::unexpected(std::move(l.error()));
    *dst = std::move(*l);
  }
  if (b.contains(f::kBoundCpu)) {
    auto l = ReadLimit(b, f::kBoundCpu);
    if (!l) return std::unexpected(std::move(l.error()));
    bounds.cpu = std::move(*l);
  }
  auto tmpfs = Required(b, f::kBoundTmpfs);
  if (!tmpfs) return std::unexpected(std::move(tmpfs.error()).WithContext(f::kBounds));
  if (!(*tmpfs)->is_array()) return WrongType("bounds.tmpfs", "an array", **tmpfs);
  for (const json& t : **tmpfs) {
    auto one = ReadTmpfs(t);
    if (!one) return std::unexpected(std::move(one.error()));
    bounds.tmpfs.push_back(std::move(*one));
  }
  return bounds;
}

Result<std::vector<RunReportLayer>> ParseLayers(const json& layers) {
  if (!layers.is_array()) return WrongType(f::kLayers, "an array", layers);
  std::vector<RunReportLayer> out;
  for (const auto& l : layers) {
    if (!l.is_object()) return WrongType(f::kLayers, "an array of objects", l);
    RunReportLayer layer;
    auto name = Get(l, f::kLayerName, [](const json* x) { return AsString(*x, "layers[].name"); });
    auto detail = Get(l, f::kLayerDetail, [](const json* x) { return AsString(*x, "layers[].detail"); });
    auto engaged = Required(l, f::kLayerEngaged);
    if (!name) return std::unexpected(std::move(name.error()));
    if (!detail) return std::unexpected(std::move(detail.error()));
    if (!engaged) return std::unexpected(std::move(engaged.error()));
    if (!(*engaged)->is_boolean()) return WrongType("layers[].engaged", "a boolean", **engaged);
    out.push_back({*name, (*engaged)->get<bool>(), *detail});
  }
  return out;
}

Result<RunReport> ParseRunReport(const json& j) {
  if (!j.is_object()) return MakeError(fmt::format("run report: expected an object, got {}", TypeName(j)));
  RunReport r;
  for (auto step : {ReadVersionAndStatus, ReadOptionalScalars, ReadResources, ReadLists, ReadLaunchAndMonitor, ReadHelpers,
                    ReadBounds}) {
    if (auto s = step(j, r); !s) return std::unexpected(std::move(s.error()).WithContext("run report"));
  }
  return r;
}

Result<RunReport> ParseRunReport(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MakeError("run report: not valid JSON");
  return ParseRunReport(j);
}

Result<RunReport> ReadRunReportFile(const std::string& path) {
  auto text = ReadRegularFileBounded(path, 16u << 20, "run report larger than 16 MiB");
  if (!text) return std::unexpected(std::move(text.error()));
  return ParseRunReport(std::string_view(*text));
}

}  // namespace airlock::runapi
