#include "watch/notifier.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "core/helper_path.h"
#include "core/json_text.h"
#include "process/spawn.h"

namespace airlock::watch {

Result<NotifyLevel> ParseNotifyLevel(const std::string& s) {
  if (s == "off") return NotifyLevel::kOff;
  if (s == "blocked") return NotifyLevel::kBlocked;
  if (s == "all") return NotifyLevel::kAll;
  return MakeError("'" + s + "': expected off, blocked or all");
}

const char* NotifyLevelName(NotifyLevel l) {
  switch (l) {
    case NotifyLevel::kOff: return "off";
    case NotifyLevel::kAll: return "all";
    default: return "blocked";
  }
}

bool Wanted(NotifyLevel level, const Notice& n) {
  if (level == NotifyLevel::kOff) return false;
  if (n.kind == Notice::Kind::kBlocked || n.message) return true;
  if (n.verdict == Verdict::kMalicious || n.verdict == Verdict::kSuspicious) return true;
  return level == NotifyLevel::kAll && n.verdict == Verdict::kClean;
}

std::string DisplayText(std::string_view bytes, size_t max_bytes) {
  std::string valid = Utf8Text(bytes);
  std::string out;
  out.reserve(valid.size());
  for (unsigned char c : valid) {
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);  // no line breaks or escapes from a name
    else out += static_cast<char>(c);
  }
  if (out.size() <= max_bytes) return out;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return out.substr(0, cut) + "...";
}

std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

namespace {

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string ReleaseHint(std::optional<int64_t> id) {
  return id ? fmt::format("To let it run (as root): airlock verdicts release {}", *id)
            : std::string("To let it run (as root): airlock verdicts list, then airlock verdicts release ID");
}

}  // namespace

NotifyMessage MessageFor(const Notice& n, std::optional<int64_t> id, bool enforce) {
  if (n.message) return *n.message;
  const std::string name = DisplayText(BaseName(n.path), 200), path = EscapeMarkup(DisplayText(n.path));
  const std::string refused = enforce ? "It will not run on this computer." : "airlock watch is in monitor mode: it would be refused in enforce mode.";
  NotifyMessage m;
  m.icon = "dialog-warning";
  m.category = "x-airlock.verdict";
  if (n.kind == Notice::Kind::kBlocked) {
    m.kind = "blocked";
    m.critical = true;
    m.category = "x-airlock.blocked";
    m.summary = "airlock blocked " + name;
    if (n.verdict == Verdict::kUnknown) {
      m.body = path + " has not been judged yet. It is being checked now and will be judged in a few seconds: try again then, "
               "or use it now inside a sandbox: airlock open " + path;
    } else if (n.verdict == Verdict::kSuspicious) {
      m.body = path + " was judged suspicious. " + EscapeMarkup(ReleaseHint(id)) + ", or run it in a sandbox: airlock open " + path;
    } else {
      m.body = fmt::format("{} was judged {}: it will not run (airlock open runs it inside a sandbox, to see what it does).", path,
                           VerdictName(n.verdict));
    }
    return m;
  }
  m.kind = VerdictName(n.verdict);
  if (n.verdict == Verdict::kMalicious) {
    m.critical = true;
    m.summary = "airlock: malicious file " + name;
    m.body = path + " was judged malicious. " + refused + " Delete it.";
  } else if (n.verdict == Verdict::kSuspicious) {
    m.summary = "airlock: suspicious file " + name;
    m.body = path + " was judged suspicious. " + refused + " " + EscapeMarkup(ReleaseHint(id)) + ".";
  } else {
    m.icon = "dialog-information";
    m.summary = "airlock: " + name + " is clean";
    m.body = path + " was judged clean: it may run.";
  }
  return m;
}

struct Notifier::Impl {
  using Clock = std::chrono::steady_clock;
  NotifierOptions o;
  NotifierStats stats;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Notice> queue;
  std::set<std::pair<std::string, int>> queued;  // (path, kind)
  std::map<std::tuple<uid_t, std::string, std::string>, Clock::time_point> last_sent;
  bool stopping = false;
  std::thread thread;

  explicit Impl(NotifierOptions opt) : o(std::move(opt)) {
    if (o.send_argv.empty()) {
      const std::string env = process::FindSystemProgram("env");
      if (!env.empty()) o.send_argv = {env, "-i"};
      o.send_argv.push_back(SelfExe());
      o.send_argv.push_back("notify-send");
    }
  }

  void Log(std::string line) {
    if (o.log) o.log(std::move(line));
  }

  void Push(Notice n) {
    std::lock_guard lock(mu);
    if (stopping || !queued.emplace(n.path, static_cast<int>(n.kind)).second) return;
    if (queue.size() >= o.queue_limit) {
      queued.erase({n.path, static_cast<int>(n.kind)});
      stats.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue.push_back(std::move(n));
    cv.notify_one();
  }

  // False when (uid, path, kind) was told less than rate_window ago; else records now.
  bool Allowed(uid_t uid, const std::string& path, const std::string& kind) {
    const auto now = Clock::now();
    if (last_sent.size() >= 4096) std::erase_if(last_sent, [&](const auto& e) { return now - e.second >= o.rate_window; });
    auto [it, fresh] = last_sent.try_emplace({uid, path, kind}, now);
    if (!fresh && now - it->second < o.rate_window) return false;
    it->second = now;
    return true;
  }

  gid_t PrimaryGid(uid_t uid, gid_t fallback) {
    struct passwd pw{}, *found = nullptr;
    std::vector<char> buf(16384);
    return ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr ? pw.pw_gid : fallback;
  }

  void Send(const Notice& n) {
    struct stat st{};
    const std::string shown = DisplayText(n.path);
    if (::stat(n.path.c_str(), &st) != 0) {
      const std::string err = std::strerror(errno);
      stats.failed.fetch_add(1, std::memory_order_relaxed);
      return Log(fmt::format("notify uid=? kind={} path={} failed: cannot stat the file to find its owner: {}",
                             MessageFor(n, std::nullopt, o.enforce).kind, shown, err));
    }
    const uid_t uid = st.st_uid;
    const std::string bus = fmt::format("{}/{}/bus", o.bus_dir, uid);
    struct stat bst{};
    if (::lstat(bus.c_str(), &bst) != 0 || !S_ISSOCK(bst.st_mode) || bst.st_uid != uid) {
      stats.no_session.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::optional<int64_t> id;
    if (o.id_of && !n.sha256.empty()) id = o.id_of(n.sha256);
    const NotifyMessage m = MessageFor(n, id, o.enforce);
    if (!Allowed(uid, n.path, m.kind)) {
      stats.rate_limited.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::vector<std::string> argv = o.send_argv;
    const std::vector<std::string> args = {"--uid", std::to_string(uid), "--gid", std::to_string(PrimaryGid(uid, st.st_gid)),
                                           "--bus", bus, "--urgency", m.critical ? "critical" : "normal", "--icon", m.icon,
                                           "--category", m.category, "--summary", m.summary, "--body", m.body};
    argv.insert(argv.end(), args.begin(), args.end());
    process::SpawnOptions so;
    so.capture_stdout = false;
    so.stderr_cap = 4096;
    so.kill_with_caller = true;
    so.deadline = Clock::now() + o.send_timeout;
    auto r = process::SpawnAndCapture(argv, so);
    std::string why;
    if (!r) why = r.error().What();
    else if (r->timed_out) why = fmt::format("no answer within {} ms (killed)", o.send_timeout.count());
    else if (r->exit_code != 0) why = fmt::format("exit {}: {}", r->exit_code, DisplayText(r->err.substr(0, r->err.find('\n')), 300));
    (why.empty() ? stats.sent : stats.failed).fetch_add(1, std::memory_order_relaxed);
    Log(fmt::format("notify uid={} kind={} path={} {}", uid, m.kind, shown, why.empty() ? "sent" : "failed: " + why));
  }

  void Loop() {
    for (;;) {
      Notice n;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        n = std::move(queue.front());
        queue.pop_front();
        queued.erase({n.path, static_cast<int>(n.kind)});
      }
      Send(n);
    }
  }
};

Notifier::Notifier(NotifierOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->o.level != NotifyLevel::kOff) impl_->thread = std::thread([this] { impl_->Loop(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Notifier::Notify(Notice notice) {
  if (Wanted(impl_->o.level, notice)) impl_->Push(std::move(notice));
}

const NotifierStats& Notifier::stats() const { return impl_->stats; }

}  // namespace airlock::watch
