#include "watch/watch_config.h"

#include <glob.h>
#include <sys/stat.h>

#include <toml++/toml.h>

#include <charconv>
#include <set>

#include "core/file_read.h"

namespace airlock::watch {
namespace {

Result<GateMode> ParseMode(const std::string& s) {
  if (s == "monitor") return GateMode::kMonitor;
  if (s == "enforce") return GateMode::kEnforce;
  return MakeError("'" + s + "': expected monitor or enforce");
}
Result<FailMode> ParseFail(const std::string& s) {
  if (s == "open") return FailMode::kOpen;
  if (s == "closed") return FailMode::kClosed;
  return MakeError("'" + s + "': expected open or closed");
}
Result<InterpreterReads> ParseReads(const std::string& s) {
  if (s == "downloads") return InterpreterReads::kDownloads;
  if (s == "untrusted") return InterpreterReads::kUntrusted;
  return MakeError("'" + s + "': expected downloads or untrusted");
}
Result<int64_t> ParseInt(const std::string& s, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    return MakeError("'" + s + "': expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v;
}
std::string Dir(std::string d) { return d.ends_with('/') ? d : d + "/"; }

// One key's value as text (strings, integers, booleans) or a list of strings.
Status Apply(WatchConfig& c, const std::string& key, const std::string& v) {
  auto fail = [&](const Error& e) { return MakeError(key + ": " + e.What()); };
  if (key == "mode") {
    auto m = ParseMode(v);
    if (!m) return fail(m.error());
    c.gate.mode = *m;
  } else if (key == "fail_mode") {
    auto m = ParseFail(v);
    if (!m) return fail(m.error());
    c.gate.fail_mode = *m;
  } else if (key == "interpreter_reads") {
    auto m = ParseReads(v);
    if (!m) return fail(m.error());
    c.gate.interpreter_reads = *m;
  } else if (key == "decision_timeout_ms") {
    auto n = ParseInt(v, 10, 60000);
    if (!n) return fail(n.error());
    c.gate.decision_timeout = std::chrono::milliseconds(*n);
  } else if (key == "concurrency") {
    auto n = ParseInt(v, 1, 64);
    if (!n) return fail(n.error());
    c.concurrency = static_cast<int>(*n);
  } else if (key == "queue_limit") {
    auto n = ParseInt(v, 1, 1000000);
    if (!n) return fail(n.error());
    c.queue_limit = static_cast<size_t>(*n);
  } else if (key == "watch_max_dirs") {
    auto n = ParseInt(v, 1, 1000000);
    if (!n) return fail(n.error());
    c.watch_max_dirs = static_cast<size_t>(*n);
  } else if (key == "max_file_size_mb") {
    auto n = ParseInt(v, 1, 1 << 20);
    if (!n) return fail(n.error());
    c.max_file_size = static_cast<uint64_t>(*n) << 20;
  } else if (key == "detonate_timeout_s") {
    auto n = ParseInt(v, 1, 3600);
    if (!n) return fail(n.error());
    c.detonate_timeout = std::chrono::seconds(*n);
  } else if (key == "notify") {
    auto l = ParseNotifyLevel(v);
    if (!l) return fail(l.error());
    c.notify = *l;
  } else if (key == "notify_bus_dir") {
    c.notify_bus_dir = v;
  } else if (key == "state_dir") {
    c.state_dir = v;
  } else if (key == "log") {
    c.log = v;
  } else if (key == "dpkg_info_dir") {
    c.dpkg_info_dir = v;
  } else if (key == "dpkg" || key == "detonate" || key == "interpreters" || key == "sweep_at_start") {
    if (v != "true" && v != "false") return MakeError(key + ": expected true or false");
    bool b = v == "true";
    (key == "dpkg" ? c.dpkg : key == "detonate" ? c.detonate : key == "sweep_at_start" ? c.sweep_at_start : c.gate.gate_interpreters) = b;
  } else if (key == "watch" || key == "watch_flat") {
    if (c.default_watch) {
      c.watch_dirs.clear();
      c.watch_flat.clear();
    }
    c.default_watch = false;
    (key == "watch" ? c.watch_dirs : c.watch_flat).push_back(Dir(v));
  } else if (key == "filesystem_marks" || key == "mount_marks") {
    c.default_marks = false;
    (key == "filesystem_marks" ? c.gate.filesystem_marks : c.gate.mount_marks).push_back(v);
  } else if (key == "allow") {
    c.allow.push_back(v);
  } else if (key == "watch_flat_subdirs") {
    if (!c.flat_subdirs_set) c.watch_flat_subdirs.clear();
    c.flat_subdirs_set = true;
    if (v.empty() || v.find('/') != std::string::npos) return MakeError("watch_flat_subdirs: expected directory name patterns (no '/')");
    c.watch_flat_subdirs.push_back(v);
  } else if (key == "build_dirs") {
    c.build_dirs.push_back(Dir(v));
  } else if (key == "builders") {
    if (v.empty() || v.find('/') != std::string::npos) return MakeError("builders: expected executable file names (no '/')");
    c.builders.push_back(v);
  } else {
    return MakeError("unknown key '" + key + "'");
  }
  return Ok();
}

bool IsListKey(const std::string& k) { return k == "watch" || k == "watch_flat" || k == "watch_flat_subdirs" || k == "build_dirs" || k == "builders" || k == "filesystem_marks" || k == "mount_marks" || k == "allow"; }

}  // namespace

Status ParseWatchConfig(const std::string& text, const std::string& origin, WatchConfig& c) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return MakeError(origin + ": " + std::string(e.description()));
  }
  for (const auto& [k, node] : root) {
    if (k.str() != "watch" || !node.is_table()) return MakeError(origin + ": unknown table or key '" + std::string(k.str()) + "' (expected [watch])");
  }
  const toml::table* t = root["watch"].as_table();
  if (t == nullptr) return Ok();
  for (const auto& [k, node] : *t) {
    const std::string key(k.str());
    auto bad = [&](const char* what) { return MakeError(origin + ": [watch]." + key + ": " + what); };
    if (IsListKey(key)) {
      if (!node.is_array()) return bad("expected a list of strings");
      for (const auto& e : *node.as_array()) {
        if (!e.is_string()) return bad("expected a list of strings");
        if (auto s = Apply(c, key, e.as_string()->get()); !s) return MakeError(origin + ": [watch]." + s.error().What());
      }
      if (node.as_array()->empty() && (key == "watch" || key == "watch_flat") && c.default_watch) {
        c.default_watch = false;
        c.watch_dirs.clear();
        c.watch_flat.clear();
      }
      continue;
    }
    std::string v;
    if (node.is_string()) v = node.as_string()->get();
    else if (node.is_integer()) v = std::to_string(node.as_integer()->get());
    else if (node.is_boolean()) v = node.as_boolean()->get() ? "true" : "false";
    else return bad("expected a string, integer or boolean");
    if (auto s = Apply(c, key, v); !s) return MakeError(origin + ": [watch]." + s.error().What());
  }
  return Ok();
}

Status ApplyWatchFlags(const std::vector<std::string>& args, WatchConfig& c) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "--config") continue;
    auto text = ReadRegularFileBounded(args[i + 1], 1 << 20, "config larger than 1 MiB");
    if (!text) return MakeError("--config: " + text.error().What());
    AIRLOCK_TRY_STATUS(ParseWatchConfig(*text, args[i + 1], c), "--config");
  }
  static const std::set<std::string> kValued = {"--config", "--fail-mode", "--decision-timeout", "--state-dir", "--watch", "--mark-fs",
                                                "--mark-mount", "--allow", "--dpkg-info", "--interpreter-reads", "--concurrency",
                                                "--detonate-timeout", "--log", "--mode", "--queue-limit",
                                                "--max-file-size-mb", "--watch-max-dirs", "--watch-flat",
                                                "--build-dir", "--builder", "--watch-flat-subdir", "--notify", "--notify-bus-dir"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    Status s = Ok();
    if (kValued.contains(a)) {
      if (i + 1 >= args.size()) return MakeError(a + " needs a value");
      const std::string& v = args[++i];
      if (a == "--config") continue;
      static const std::pair<const char*, const char*> kMap[] = {
          {"--fail-mode", "fail_mode"}, {"--decision-timeout", "decision_timeout_ms"}, {"--state-dir", "state_dir"},
          {"--watch", "watch"}, {"--mark-fs", "filesystem_marks"}, {"--mark-mount", "mount_marks"}, {"--allow", "allow"},
          {"--dpkg-info", "dpkg_info_dir"}, {"--interpreter-reads", "interpreter_reads"}, {"--concurrency", "concurrency"},
          {"--detonate-timeout", "detonate_timeout_s"}, {"--log", "log"}, {"--mode", "mode"},
          {"--queue-limit", "queue_limit"}, {"--max-file-size-mb", "max_file_size_mb"}, {"--watch-max-dirs", "watch_max_dirs"},
          {"--watch-flat", "watch_flat"}, {"--build-dir", "build_dirs"}, {"--builder", "builders"}, {"--watch-flat-subdir", "watch_flat_subdirs"},
          {"--notify", "notify"}, {"--notify-bus-dir", "notify_bus_dir"}};
      for (const auto& [flag, key] : kMap) {
        if (a == flag) s = Apply(c, key, v);
      }
    } else if (a == "--enforce") {
      c.gate.mode = GateMode::kEnforce;
    } else if (a == "--monitor") {
      c.gate.mode = GateMode::kMonitor;
    } else if (a == "--no-dpkg") {
      c.dpkg = false;
    } else if (a == "--no-detonate") {
      c.detonate = false;
    } else if (a == "--no-start-sweep") {
      c.sweep_at_start = false;
    } else if (a == "--no-interpreters") {
      c.gate.gate_interpreters = false;
    } else {
      return MakeError("unknown option '" + a + "' (see `airlock watch --help`)");
    }
    if (!s) return MakeError(a + ": " + s.error().What());
  }
  return Ok();
}

Status CheckWatchConfig(const WatchConfig& c) {
  if (c.build_dirs.empty()) return Ok();
  if (!c.gate.gate_interpreters) return MakeError("build_dirs: trust for builds needs the gate to see opens (interpreters = true; drop --no-interpreters)");
  for (const auto& b : c.build_dirs) {
    for (const auto* list : {&c.watch_dirs, &c.watch_flat}) {
      for (const auto& w : *list) {
        if (b.starts_with(w) || w.starts_with(b)) {
          return MakeError("build_dirs: " + b + " and the watched " + w + " overlap (downloads are never trusted as builds: keep them apart)");
        }
      }
    }
  }
  return Ok();
}

void FillDefaults(WatchConfig& c) {
  auto exists_dir = [](const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  };
  if (c.default_watch && c.watch_dirs.empty() && c.watch_flat.empty()) {
    if (exists_dir("/tmp")) c.watch_flat.push_back(Dir("/tmp"));  // its own entries: not every build tree below it
    std::vector<std::string> dirs = {"/root/Downloads", "/root/.local/share/airlock/downloads"};
    for (const char* pattern : {"/home/*/Downloads", "/home/*/.local/share/airlock/downloads"}) {
      glob_t g{};
      if (::glob(pattern, GLOB_ONLYDIR | GLOB_NOSORT, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) dirs.emplace_back(g.gl_pathv[i]);
      }
      ::globfree(&g);
    }
    for (const auto& d : dirs) {
      if (exists_dir(d)) c.watch_dirs.push_back(Dir(d));
    }
  }
  if (c.default_marks && c.gate.filesystem_marks.empty() && c.gate.mount_marks.empty()) {
    std::set<dev_t> seen;
    std::vector<std::string> cands = {"/", "/home", "/tmp", "/var/tmp", "/dev/shm"};
    for (const auto& d : c.watch_dirs) cands.push_back(d);
    for (const auto& d : c.watch_flat) cands.push_back(d);
    for (const auto& p : cands) {
      struct stat st{};
      if (::stat(p.c_str(), &st) == 0 && seen.insert(st.st_dev).second) c.gate.filesystem_marks.push_back(p);
    }
  }
}

}  // namespace airlock::watch
