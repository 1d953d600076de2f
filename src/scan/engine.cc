#include "scan/engine.h"

#include <algorithm>
#include <exception>
#include <set>
#include <utility>

#include "scan/file_type.h"
#include "scan/file_util.h"
#include "scan/hashes.h"

namespace airlock::scan {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxEvidence = 300;
constexpr size_t kMaxContextPieces = 16;
constexpr size_t kMaxContextBytes = 64 * 1024;
constexpr size_t kMaxFindingsPerObject = 200;

std::string Truncate(std::string s, size_t n) {
  if (s.size() > n) {
    s.resize(n);
    s += "...";
  }
  return s;
}

bool IsTextType(const std::string& mime) { return mime == "text/plain" || mime == "text/html"; }

}  // namespace

struct Engine::InputState {
  const ScanLimits* limits = nullptr;
  Clock::time_point deadline;
  uint64_t total_bytes = 0;
  uint64_t entries = 0;
  bool time_reported = false;
  std::vector<LimitRecord>* limits_hit = nullptr;
  bool TimeUp() const { return Clock::now() >= deadline; }
};

class Engine::Collector final : public LimitedOutput {
 public:
  Collector(InputState& st, ObjectReport& node, int depth) : st_(st), node_(node), depth_(depth) {}

  void AddFinding(Finding f) override {
    if (node_.findings.size() >= kMaxFindingsPerObject) return;
    f.evidence = Truncate(std::move(f.evidence), kMaxEvidence);
    f.severity = std::clamp(f.severity, 0, 10);
    node_.findings.push_back(std::move(f));
  }

  bool AddChild(std::string name, std::string data) override {
    const ScanLimits& lim = *st_.limits;
    if (st_.TimeUp()) {
      LimitHit(kLimitTime, "wall time limit " + std::to_string(lim.max_seconds) + " s");
      return false;
    }
    if (depth_ + 1 > lim.max_depth) {
      LimitHit(kLimitDepth, "nesting deeper than " + std::to_string(lim.max_depth));
      return false;
    }
    if (st_.entries + 1 > lim.max_entries) {
      LimitHit(kLimitEntries, "more than " + std::to_string(lim.max_entries) + " objects");
      return false;
    }
    if (data.size() > lim.max_object_bytes) {
      LimitHit(kLimitObject, name + ": " + std::to_string(data.size()) + " bytes > per-object limit");
      return false;
    }
    if (st_.total_bytes + data.size() > lim.max_total_bytes) {
      LimitHit(kLimitTotal, "more than " + std::to_string(lim.max_total_bytes) + " bytes extracted");
      return false;
    }
    st_.entries += 1;
    st_.total_bytes += data.size();
    children_.emplace_back(std::move(name), std::move(data));
    return true;
  }

  uint64_t RemainingBytes() const override {
    const ScanLimits& lim = *st_.limits;
    uint64_t total_left = st_.total_bytes >= lim.max_total_bytes ? 0 : lim.max_total_bytes - st_.total_bytes;
    return std::min(total_left, lim.max_object_bytes);
  }
  bool TimeUp() const override { return st_.TimeUp(); }
  const ScanLimits& Limits() const override { return *st_.limits; }

  void LimitHit(std::string_view limit_id, std::string detail) override {
    if (!reported_.insert(std::string(limit_id)).second) return;
    if (limit_id == kLimitTime) {
      if (st_.time_reported) return;
      st_.time_reported = true;
    }
    st_.limits_hit->push_back({node_.path, std::string(limit_id), detail});
    AddFinding(LimitFinding(limit_id, std::move(detail)));
  }

  std::vector<std::pair<std::string, std::string>>& children() { return children_; }

 private:
  InputState& st_;
  ObjectReport& node_;
  int depth_;
  std::set<std::string> reported_;
  std::vector<std::pair<std::string, std::string>> children_;
};

Engine::Engine(EngineOptions options) : Engine(options, {}) {
  analyzers_ = MakeUnpackers();
  for (auto& d : MakeDetectors()) analyzers_.push_back(std::move(d));
}

Engine::Engine(EngineOptions options, std::vector<std::unique_ptr<Analyzer>> analyzers)
    : options_(options), analyzers_(std::move(analyzers)) {}

InputReport FailedInput(const std::string& path, const std::string& error) {
  InputReport r;
  r.input = path;
  r.ok = false;
  r.error = error;
  r.root.name = path;
  r.root.path = path;
  return r;
}

InputReport Engine::ScanFile(const std::string& path) {
  auto fd = OpenInputFile(path);
  if (!fd) return FailedInput(path, fd.error().What());
  return ScanOpened(path, fd->get());
}

InputReport Engine::ScanOpened(const std::string& path, int fd) {
  bool truncated = false;
  auto data = ReadBounded(fd, path, options_.limits.max_object_bytes, &truncated);
  if (!data) return FailedInput(path, data.error().What());
  InputReport r = ScanBytes(path == "-" ? "stdin" : path, std::move(*data));
  r.input = path;
  if (truncated) {
    r.limits_hit.push_back({r.root.path, std::string(kLimitObject), "input larger than the per-object limit; "
                                                                   "only the first part was scanned"});
    r.root.findings.push_back(OversizeInputFinding(r.root.mime, options_.limits.max_object_bytes));
    AssessTree(r.root);
  }
  return r;
}

InputReport Engine::ScanBytes(const std::string& name, std::string data) {
  auto start = Clock::now();
  InputReport report;
  report.input = name;
  InputState st;
  st.limits = &options_.limits;
  st.deadline = start + std::chrono::seconds(options_.limits.max_seconds);
  st.limits_hit = &report.limits_hit;
  report.root.name = name;
  report.root.path = name;
  Triage(st, report.root, std::move(data), 0, nullptr, {}, nullptr, nullptr);
  AssessTree(report.root);
  report.duration_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return report;
}

void Engine::Triage(InputState& st, ObjectReport& node, std::string data, int depth, const Object* parent,
                    std::vector<std::string> context, const std::string* known_mime,
                    const std::string* known_magic) {
  node.size = data.size();
  if (known_mime != nullptr) {
    node.mime = *known_mime;
    node.magic = *known_magic;
  } else if (FileTyper* typer = FileTyper::Shared()) {
    auto type = typer->Identify(data);
    node.mime = std::move(type.mime);
    node.magic = std::move(type.description);
  }
  Hashes h = HashAll(data);
  node.md5 = std::move(h.md5);
  node.sha1 = std::move(h.sha1);
  node.sha256 = std::move(h.sha256);

  Collector out(st, node, depth);
  if (options_.extractor != nullptr) {
    auto written = options_.extractor->Write(node.name, data);
    if (written) {
      node.extracted_as = *written;
    } else {
      out.AddFinding({"scan.extract_error", 0, "could not extract object", "", written.error().What(), {}});
    }
  }
  if (options_.blocklist != nullptr && options_.blocklist->Contains(node.sha256)) {
    out.AddFinding({"blocklist.sha256", 10, "SHA-256 is on the block-list",
                    "The object's SHA-256 digest is listed in the configured block-list of known-bad files.",
                    node.sha256, {}});
  }
  if (options_.yara != nullptr) {
    for (auto& f : options_.yara->Scan(data)) out.AddFinding(std::move(f));
  }

  Object obj;
  obj.name = node.name;
  obj.path = node.path;
  obj.data = data;
  obj.mime = node.mime;
  obj.magic = node.magic;
  obj.depth = depth;
  obj.parent = parent;
  obj.context_text = std::move(context);

  for (auto& analyzer : analyzers_) {
    if (out.TimeUp()) {
      out.LimitHit(kLimitTime, "wall time limit " + std::to_string(st.limits->max_seconds) + " s");
      break;
    }
    try {
      if (!analyzer->Accepts(obj)) continue;
      analyzer->Analyze(obj, out);
    } catch (const std::exception& e) {
      out.AddFinding({"scan.analyzer_error", 0, "analyzer failed", "", std::string(analyzer->Name()) + ": " + e.what(), {}});
    } catch (...) {
      out.AddFinding({"scan.analyzer_error", 0, "analyzer failed", "", std::string(analyzer->Name()), {}});
    }
  }

  auto& children = out.children();
  if (children.empty()) return;
  // Type the children first so text siblings (mail bodies) can become context for the others.
  std::vector<FileTyper::Type> types(children.size());
  std::vector<std::string> child_context = obj.context_text;
  FileTyper* typer = FileTyper::Shared();
  for (size_t i = 0; i < children.size(); ++i) {
    if (typer != nullptr) types[i] = typer->Identify(children[i].second);
    if (IsTextType(types[i].mime) && child_context.size() < kMaxContextPieces) {
      child_context.push_back(children[i].second.substr(0, kMaxContextBytes));
    }
  }
  node.children.resize(children.size());
  for (size_t i = 0; i < children.size(); ++i) {
    ObjectReport& child = node.children[i];
    child.name = children[i].first;
    child.path = node.path + " > " + children[i].first;
    if (st.TimeUp()) {
      out.LimitHit(kLimitTime, "wall time limit " + std::to_string(st.limits->max_seconds) + " s");
      child.size = children[i].second.size();
      child.mime = types[i].mime;
      child.magic = types[i].description;
      continue;
    }
    Triage(st, child, std::move(children[i].second), depth + 1, &obj, child_context, &types[i].mime,
           &types[i].description);
    std::string().swap(children[i].second);  // free as we go
  }
}

void AssessTree(ObjectReport& node) {
  std::vector<const Finding*> all;
  // Post-order: children first, so every node's assessment covers its subtree.
  for (auto& child : node.children) AssessTree(child);
  std::vector<const ObjectReport*> walk{&node};
  while (!walk.empty()) {
    const ObjectReport* n = walk.back();
    walk.pop_back();
    for (const auto& f : n->findings) all.push_back(&f);
    for (const auto& c : n->children) walk.push_back(&c);
  }
  node.assessment = Assess(all);
}

void AssessScan(ScanReport& report) {
  std::vector<const Finding*> all;
  std::vector<const ObjectReport*> walk;
  report.any_error = false;
  for (const auto& in : report.inputs) {
    if (!in.ok) report.any_error = true;
    walk.push_back(&in.root);
  }
  while (!walk.empty()) {
    const ObjectReport* n = walk.back();
    walk.pop_back();
    for (const auto& f : n->findings) all.push_back(&f);
    for (const auto& c : n->children) walk.push_back(&c);
  }
  report.assessment = Assess(all);
  // An input that could not be read was not judged: the scan's verdict says so unless something
  // was malicious (the same order as the exit status).
  if (report.any_error && report.assessment.verdict != Verdict::kMalicious) report.assessment.verdict = Verdict::kError;
}

int ExitCodeFor(const ScanReport& report) {
  if (report.assessment.verdict == Verdict::kMalicious) return 1;
  if (report.any_error) return 2;
  if (report.assessment.verdict == Verdict::kSuspicious) return 3;
  return 0;
}

}  // namespace airlock::scan
