#include "milter/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>
#include <sstream>

#include "core/file_read.h"
#include "policy/profile_loader.h"

namespace airlock::milter {
namespace {

// Reads one section strictly: every key must be known and of the right type.
class Section {
 public:
  Section(const toml::table* t, std::string name) : t_(t), name_(std::move(name)) {}

  Status Known(const std::set<std::string>& keys) const {
    if (t_ == nullptr) return Ok();
    for (const auto& [k, v] : *t_) {
      if (!keys.count(std::string(k.str()))) return MakeError("[" + name_ + "]: unknown key '" + std::string(k.str()) + "'");
    }
    return Ok();
  }
  Status String(const char* key, std::string& out) const {
    const toml::node* n = Get(key);
    if (n == nullptr) return Ok();
    if (!n->is_string()) return Bad(key, "expected a string");
    out = n->as_string()->get();
    return Ok();
  }
  Status Bool(const char* key, bool& out) const {
    const toml::node* n = Get(key);
    if (n == nullptr) return Ok();
    if (!n->is_boolean()) return Bad(key, "expected true or false");
    out = n->as_boolean()->get();
    return Ok();
  }
  Status Int(const char* key, int& out, int lo, int hi) const {
    const toml::node* n = Get(key);
    if (n == nullptr) return Ok();
    if (!n->is_integer()) return Bad(key, "expected an integer");
    int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) return Bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = static_cast<int>(v);
    return Ok();
  }
  Status Duration(const char* key, std::chrono::milliseconds& out) const {
    std::string s;
    const toml::node* n = Get(key);
    if (n == nullptr) return Ok();
    if (n->is_integer()) s = std::to_string(n->as_integer()->get());
    else if (n->is_string()) s = n->as_string()->get();
    else return Bad(key, "expected a duration like \"30s\"");
    auto d = ParseDuration(s);
    if (!d) return Bad(key, d.error().What());
    if (d->count() <= 0) return Bad(key, "must be positive");
    out = *d;
    return Ok();
  }
  Status Size(const char* key, uint64_t& out) const {
    std::string s;
    const toml::node* n = Get(key);
    if (n == nullptr) return Ok();
    if (n->is_integer()) s = std::to_string(n->as_integer()->get());
    else if (n->is_string()) s = n->as_string()->get();
    else return Bad(key, "expected a size like \"50M\"");
    auto v = ParseSize(s);
    if (!v) return Bad(key, v.error().What());
    if (*v == 0) return Bad(key, "must be positive");
    out = *v;
    return Ok();
  }
  Status Act(const char* key, Action& out) const {
    std::string s;
    if (auto st = String(key, s); !st) return st;
    if (s.empty()) return Ok();
    auto a = ParseAction(s);
    if (!a) return Bad(key, a.error().What());
    out = *a;
    return Ok();
  }
  Status Strings(const char* key, std::vector<std::string>& out) const {
    const toml::node* n = Get(key);
    if (n == nullptr) return Ok();
    if (!n->is_array()) return Bad(key, "expected an array of strings");
    std::vector<std::string> v;
    for (const auto& e : *n->as_array()) {
      if (!e.is_string()) return Bad(key, "expected an array of strings");
      v.push_back(e.as_string()->get());
    }
    out = std::move(v);
    return Ok();
  }

 private:
  const toml::node* Get(const char* key) const { return t_ == nullptr ? nullptr : t_->get(key); }
  std::unexpected<Error> Bad(const char* key, const std::string& why) const {
    return MakeError("[" + name_ + "]." + key + ": " + why);
  }
  const toml::table* t_;
  std::string name_;
};

#define MILTER_TRY(expr)            \
  do {                              \
    if (auto st_ = (expr); !st_) {  \
      return std::unexpected(std::move(st_.error()).WithContext(origin)); \
    }                               \
  } while (0)

}  // namespace

const char* ActionName(Action a) {
  switch (a) {
    case Action::kAccept: return "accept";
    case Action::kTag: return "tag";
    case Action::kReject: return "reject";
    case Action::kDiscard: return "discard";
    case Action::kQuarantine: return "quarantine";
    case Action::kStrip: return "strip";
  }
  return "accept";
}

Result<Action> ParseAction(const std::string& text) {
  for (Action a : {Action::kAccept, Action::kTag, Action::kReject, Action::kDiscard, Action::kQuarantine, Action::kStrip}) {
    if (text == ActionName(a)) return a;
  }
  return MakeError("unknown action '" + text + "' (accept, tag, reject, discard, quarantine or strip)");
}

Result<MilterConfig> ParseConfig(const std::string& toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return MakeError(msg.str());
  }
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    if (key != "milter" && key != "detonation" && key != "actions" && key != "quarantine") {
      return MakeError(origin + ": unknown section '" + key + "'");
    }
    if (!v.is_table()) return MakeError(origin + ": '" + key + "' must be a table");
  }
  MilterConfig c;
  Section m(root["milter"].as_table(), "milter");
  MILTER_TRY(m.Known({"listen", "workers", "queue", "message_budget", "max_message_size", "fail_open", "state_dir", "log"}));
  MILTER_TRY(m.String("listen", c.listen));
  MILTER_TRY(m.Int("workers", c.workers, 1, 64));
  MILTER_TRY(m.Int("queue", c.queue, 0, 100000));
  MILTER_TRY(m.Duration("message_budget", c.message_budget));
  MILTER_TRY(m.Size("max_message_size", c.max_message_size));
  MILTER_TRY(m.Bool("fail_open", c.fail_open));
  MILTER_TRY(m.String("state_dir", c.state_dir));
  MILTER_TRY(m.String("log", c.log));

  Section d(root["detonation"].as_table(), "detonation");
  MILTER_TRY(d.Known({"enabled", "kinds", "mode", "timeout", "concurrency"}));
  MILTER_TRY(d.Bool("enabled", c.detonation_enabled));
  MILTER_TRY(d.Strings("kinds", c.detonation_kinds));
  MILTER_TRY(d.String("mode", c.detonation_mode));
  MILTER_TRY(d.Duration("timeout", c.detonation_timeout));
  c.detonation_concurrency = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  MILTER_TRY(d.Int("concurrency", c.detonation_concurrency, 1, 1024));
  if (c.detonation_mode != "inline" && c.detonation_mode != "tempfail") {
    return MakeError(origin + ": [detonation].mode: expected \"inline\" or \"tempfail\", got '" + c.detonation_mode + "'");
  }
  static const std::set<std::string> kKinds = {"elf", "shell", "python", "perl", "browser", "archive"};
  for (const auto& k : c.detonation_kinds) {
    if (!kKinds.count(k)) return MakeError(origin + ": [detonation].kinds: unknown runner kind '" + k + "'");
  }

  Section a(root["actions"].as_table(), "actions");
  MILTER_TRY(a.Known({"malicious", "suspicious", "clean", "tag_all", "reject_reply"}));
  MILTER_TRY(a.Act("malicious", c.on_malicious));
  MILTER_TRY(a.Act("suspicious", c.on_suspicious));
  MILTER_TRY(a.Act("clean", c.on_clean));
  MILTER_TRY(a.Bool("tag_all", c.tag_all));
  MILTER_TRY(a.String("reject_reply", c.reject_reply));
  {
    const auto& r = c.reject_reply;
    bool ok = r.size() >= 5 && r[0] == '5' && r[1] == '.';
    for (char ch : r) ok = ok && (std::isdigit(static_cast<unsigned char>(ch)) || ch == '.');
    if (!ok) return MakeError(origin + ": [actions].reject_reply: expected an enhanced status code 5.x.y, got '" + r + "'");
  }
  if (c.on_clean == Action::kStrip) return MakeError(origin + ": [actions].clean: strip makes no sense for clean mail");

  Section q(root["quarantine"].as_table(), "quarantine");
  MILTER_TRY(q.Known({"hold", "postfix_config_dir", "sendmail", "postsuper"}));
  MILTER_TRY(q.Bool("hold", c.quarantine_hold));
  MILTER_TRY(q.String("postfix_config_dir", c.postfix_config_dir));
  MILTER_TRY(q.String("sendmail", c.sendmail));
  MILTER_TRY(q.String("postsuper", c.postsuper));
  if (c.listen.rfind("inet:", 0) != 0 && c.listen.rfind("unix:", 0) != 0 && c.listen.rfind("inet6:", 0) != 0 &&
      c.listen.rfind("local:", 0) != 0) {
    return MakeError(origin + ": [milter].listen: expected inet:HOST:PORT or unix:PATH, got '" + c.listen + "'");
  }
  return c;
}

Result<MilterConfig> LoadConfig(const std::string& path) {
  auto text = ReadRegularFileBounded(path, 1 << 20, "config larger than 1 MiB");
  if (!text) return std::unexpected(std::move(text.error()));
  return ParseConfig(*text, path);
}

}  // namespace airlock::milter
