#include "browser/session_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "browser/download_judge.h"
#include "browser/home_box.h"
#include "core/helper_path.h"
#include "core/json_text.h"

namespace airlock::browser {

void Say(const std::string& line) { std::fprintf(stderr, "airlock browser: %s\n", line.c_str()); }

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string Base64Decode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Status WriteNewFile(const std::string& path, const std::string& bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError("write " + path);
  if (::write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) return ErrnoError("write " + path);
  return Ok();
}

JudgeQueue::JudgeQueue(const Quarantine& q, std::string downloads_dir, int interrupt_fd, const std::string& notify_bus_dir)
    : q_(q), downloads_(std::move(downloads_dir)), interrupt_fd_(interrupt_fd), notices_(notify_bus_dir), thread_([this] { Loop(); }) {}

void JudgeQueue::Submit(HeldDownload d) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(d));
  cv_.notify_one();
}

bool JudgeQueue::Idle() {
  std::lock_guard lock(mu_);
  return queue_.empty() && !busy_;
}

void JudgeQueue::Finish() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

std::vector<HeldDownload> JudgeQueue::Done() {
  std::lock_guard lock(mu_);
  return done_;
}

void JudgeQueue::Loop() {
  for (;;) {
    HeldDownload d;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      d = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    JudgeOne(d);
    std::lock_guard lock(mu_);
    done_.push_back(d);
    busy_ = false;
  }
}

// Held, never released: the judgement could not finish.
void JudgeQueue::Unjudged(HeldDownload& d, const std::string& why) {
  d.state = "unjudged";
  d.why = "not judged: " + why + " (held; `airlock downloads delete " + d.id + "`)";
  (void)q_.Save(d);
  Say(fmt::format("download {} '{}' {}", d.id, Utf8Text(d.name), d.why));
  notices_.Tell(d, q_.FilePath(d));
}

void JudgeQueue::JudgeOne(HeldDownload& d) {
  auto scan = ScanHeldFile(q_.FilePath(d), q_.root() + "/.stage", interrupt_fd_);
  if (!scan) return Unjudged(d, scan.error().What());
  std::string detonated;
  if (scan->verdict != "malicious" && IsRunnable(q_.FilePath(d))) {
    Say(fmt::format("download {} '{}' is runnable: detonating it in the analysis sandbox (up to {} s)", d.id, Utf8Text(d.name), kDetonateSeconds));
    auto run = DetonateHeldFile(q_.FilePath(d), q_.root() + "/.analysis", interrupt_fd_);
    if (!run) return Unjudged(d, "detonation: " + run.error().What());
    detonated = run->verdict;
    *scan = Worse(*scan, *run);
  }
  ApplyVerdict(*scan, d);
  if (!detonated.empty()) d.why += "; airlock analyze: " + detonated;
  if (auto saved = q_.Save(d); !saved) Say(saved.error().What());
  Decide(d);
}

// Released when clean, else held; said on stderr and told on the desktop.
void JudgeQueue::Decide(HeldDownload& d) {
  if (d.verdict == "clean") {
    auto to = q_.Release(d, downloads_, false);
    if (to) {
      d.state = "released";
      Say(fmt::format("download '{}' is clean: released to {}", Utf8Text(d.name), *to));
      return notices_.Tell(d, *to);
    }
    d.why = "clean, but not released: " + to.error().What();
    (void)q_.Save(d);
    Say(fmt::format("download {} '{}' {}", d.id, Utf8Text(d.name), d.why));
    return notices_.Tell(d, q_.FilePath(d));
  }
  std::string techniques;
  for (const auto& t : d.techniques) techniques += (techniques.empty() ? "" : ",") + t;
  if (d.verdict == "malicious") {
    Say(fmt::format("download {} '{}' is MALICIOUS ({}): it stays in quarantine", d.id, Utf8Text(d.name), techniques));
  } else {
    Say(fmt::format("download {} '{}' is suspicious ({}): held; `airlock downloads release {}` to take it", d.id, Utf8Text(d.name),
                    d.why, d.id));
  }
  notices_.Tell(d, q_.FilePath(d));
}

nlohmann::json SessionDriver::Report() {
  nlohmann::json r = {{"url", o_.url}, {"loaded", loaded_}, {"first_load_ms", load_ms_}, {"navigate_error", navigate_error_},
                      {"text", text_}, {"downloads", nlohmann::json::array()}, {"dropped", dropped_}};
  for (const auto& d : judge_.Done()) r["downloads"].push_back(DownloadJson(d));
  if (checked_) r["sandbox"] = nlohmann::json::parse(SandboxFactsJson(facts_));
  return r;
}

Result<runapi::RunRequest> BrowserRunRequest(const SessionOptions& o, const DisplayChoice& display, const DisplayChoice& asked,
                                             const std::string& incoming, const std::string& bus_socket) {
  const std::string airlock = FindHelper("airlock");
  if (airlock.empty()) return MakeError("the airlock front end was not found (AIRLOCK_BIN?)");
  runapi::RunRequest r(airlock);
  r.Profile("browser").KillOnInterrupt().Rlimit("as=unlimited");
  if (!o.net.empty()) r.Net(o.net);
  for (const auto& a : o.net_allow) r.NetAllow(a);
  r.Bind(incoming, kInsideDownloads);
  AddDesktopAccess(r, display, asked, bus_socket);
  if (!o.uploads.empty()) r.RoBind(o.uploads, std::string(kInsideHome) + "/Uploads");
  if (o.keepassxc) r.Tmpfs(kInsideRuntime, "1m");
  return r;
}

Result<std::vector<std::string>> BoxedArgv(const runapi::RunRequest& r, const SessionOptions& o) {
  auto argv = r.Argv();
  if (!argv || o.box.empty()) return argv;
  return WithBox(std::move(*argv), o.box);
}

void AdmitFinished(Quarantine& q, JudgeQueue& judge, int incoming_fd, const std::string& file_name, const HeldDownload& meta,
                   std::vector<std::string>& dropped) {
  const std::string shown = Utf8Text(meta.suggested_name.empty() ? file_name : meta.suggested_name);
  if (file_name.empty() || file_name == "." || file_name == ".." || file_name.find('/') != std::string::npos) {
    return dropped.push_back("download '" + shown + "': its file name is not one path component");
  }
  UniqueFd fd(::openat(incoming_fd, file_name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st{};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return dropped.push_back("download '" + shown + "': its file is missing or not a regular file");
  }
  auto held = q.Admit(fd.get(), meta);
  (void)::unlinkat(incoming_fd, file_name.c_str(), 0);
  if (!held) return dropped.push_back("download '" + shown + "' not admitted: " + held.error().What());
  Say(fmt::format("download {} '{}' finished ({} bytes): judging", held->id, Utf8Text(held->name), held->size));
  judge.Submit(*held);
}

void SessionDriver::AdmitSavedFiles(const std::set<std::string>& download_names) {
  UniqueFd dir(::openat(incoming_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = dir ? ::fdopendir(dir.release()) : nullptr;
  if (d == nullptr) return;
  std::vector<std::string> saved;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || download_names.count(name) || name.ends_with(".part") || name.ends_with(".crdownload")) continue;
    if (saved.size() == 1000) {
      dropped_.push_back("more than 1000 files saved by the browser in its download folder: the rest not taken");
      break;
    }
    saved.push_back(name);
  }
  ::closedir(d);
  for (const auto& name : saved) {
    struct stat st{};
    if (::fstatat(incoming_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      dropped_.push_back("folder '" + Utf8Text(name) + "' saved by the browser in its download folder: not taken (only files are)");
      continue;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) continue;  // nothing to lose (and an unfinished download's placeholder)
    Say(fmt::format("'{}' was saved by the browser in its download folder: held and judged as a download", Utf8Text(name)));
    HeldDownload meta;
    meta.suggested_name = name;  // no URL: not a download (a page saved or printed to a file)
    AdmitFinished(q_, judge_, incoming_.get(), name, meta, dropped_);
  }
}

// Forks the sandbox's front end with the DevTools pipe at fds 3 and 4 and its stderr into `log`.
Result<Launched> Launch(const std::vector<std::string>& args, int log_fd) {
  int cmd[2], evt[2];
  if (::pipe2(cmd, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd cmd_r(cmd[0]), cmd_w(cmd[1]);
  if (::pipe2(evt, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd evt_r(evt[0]), evt_w(evt[1]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = ::fcntl(cmd_r.get(), F_DUPFD_CLOEXEC, 10);
    int out = ::fcntl(evt_w.get(), F_DUPFD_CLOEXEC, 10);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || out < 0 || null < 0 || ::dup2(null, 0) < 0 || (log_fd >= 0 && ::dup2(log_fd, 2) < 0) || ::dup2(2, 1) < 0 ||
        ::dup2(in, 3) < 0 || ::dup2(out, 4) < 0) {
      ::_exit(126);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return Launched{pid, std::move(cmd_w), std::move(evt_r)};
}

}  // namespace airlock::browser
