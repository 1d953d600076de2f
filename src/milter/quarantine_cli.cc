#include "milter/quarantine_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <iostream>

#include "milter/config.h"
#include "milter/quarantine_store.h"

namespace airlock::milter {
namespace {

constexpr const char* kUsage =
    "Usage: airlock quarantine [--state-dir DIR] [--config FILE] list [--json] | show ID | release ID | delete ID\n"
    "  list     the held messages (id, time, verdict, score, sender, recipients)\n"
    "  show     an entry's metadata and scan report\n"
    "  release  deliver the message: release it from the MTA's hold queue (postsuper -H), or re-inject\n"
    "           the original unchanged with sendmail; then remove the entry\n"
    "  delete   remove the entry (and the held message: postsuper -d)\n"
    "Exit: 0 ok, 1 unknown ID, 2 error.\n";

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

int NotFound(const std::string& id) {
  std::fprintf(stderr, "airlock quarantine: no entry '%s'\n", id.c_str());
  return 1;
}

// True when the MTA holds QID: `postqueue -j` (beside postsuper) lists it in the "hold" queue.
bool HeldByMta(const MilterConfig& c, const std::string& qid) {
  if (qid.empty() || c.postsuper.empty()) return false;
  std::string postqueue = c.postsuper.substr(0, c.postsuper.rfind('/') + 1) + "postqueue";
  if (access(postqueue.c_str(), X_OK) != 0) return false;
  std::vector<std::string> argv = {postqueue};
  if (!c.postfix_config_dir.empty()) argv.insert(argv.end(), {"-c", c.postfix_config_dir});
  argv.push_back("-j");
  std::string out;
  ProgramResult r = RunProgram(argv, "", &out);
  if (r.status != 0) return false;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) eol = out.size();
    auto j = nlohmann::json::parse(out.substr(pos, eol - pos), nullptr, false);
    pos = eol + 1;
    if (j.is_object() && j.value("queue_id", "") == qid && j.value("queue_name", "") == "hold") return true;
  }
  return false;
}

// `postsuper -H QID`.
bool ReleaseFromHold(const MilterConfig& c, const std::string& qid) {
  if (!HeldByMta(c, qid) || access(c.postsuper.c_str(), X_OK) != 0) return false;
  std::vector<std::string> argv = {c.postsuper};
  if (!c.postfix_config_dir.empty()) argv.insert(argv.end(), {"-c", c.postfix_config_dir});
  argv.insert(argv.end(), {"-H", qid});
  return RunProgram(argv, "").status == 0;
}

}  // namespace

ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input, std::string* out) {
  ProgramResult r;
  int in[2], err[2], outp[2];
  if (pipe2(in, O_CLOEXEC) != 0) return r;
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return r;
  }
  if (pipe2(outp, O_CLOEXEC) != 0) {
    for (int fd : {in[0], in[1], err[0], err[1]}) close(fd);
    return r;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], err[0], err[1], outp[0], outp[1]}) close(fd);
    return r;
  }
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(outp[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(err[1]);
  close(outp[1]);
  signal(SIGPIPE, SIG_IGN);
  size_t off = 0;
  int wfd = in[1];
  if (input.empty()) {
    close(wfd);
    wfd = -1;
  }
  int rfd = err[0];
  int ofd = outp[0];
  char buf[4096];
  while (wfd >= 0 || rfd >= 0 || ofd >= 0) {
    pollfd p[3] = {{wfd, POLLOUT, 0}, {rfd, POLLIN, 0}, {ofd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (wfd >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(wfd, input.data() + off, std::min<size_t>(input.size() - off, 65536));
      if (n > 0) off += static_cast<size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) off = input.size();
      if (off >= input.size()) {
        close(wfd);
        wfd = -1;
      }
    }
    if (rfd >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
      ssize_t n = read(rfd, buf, sizeof buf);
      if (n <= 0) {
        close(rfd);
        rfd = -1;
      } else if (r.err.size() < 65536) {
        r.err.append(buf, static_cast<size_t>(n));
      }
    }
    if (ofd >= 0 && (p[2].revents & (POLLIN | POLLERR | POLLHUP))) {
      ssize_t n = read(ofd, buf, sizeof buf);
      if (n <= 0) {
        close(ofd);
        ofd = -1;
      } else if (out != nullptr && out->size() < (16u << 20)) {
        out->append(buf, static_cast<size_t>(n));
      }
    }
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

int QuarantineMain(int argc, char** argv) {
  std::string state_dir, config_path;
  std::vector<std::string> rest;
  bool json_out = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if ((a == "--state-dir" || a == "--config") && i + 1 < argc) {
      (a == "--state-dir" ? state_dir : config_path) = argv[++i];
    } else if (a == "--json") {
      json_out = true;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "airlock quarantine: unknown option '%s'\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      rest.push_back(a);
    }
  }
  MilterConfig config;
  if (!config_path.empty()) {
    auto c = LoadConfig(config_path);
    if (!c) {
      std::fprintf(stderr, "airlock quarantine: bad config: %s\n", c.error().What().c_str());
      return 2;
    }
    config = std::move(*c);
  }
  if (!state_dir.empty()) config.state_dir = state_dir;
  if (rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  QuarantineStore store(config.state_dir);
  const std::string& cmd = rest[0];
  if (cmd == "list" && rest.size() == 1) {
    auto list = store.List();
    if (!list) {
      std::fprintf(stderr, "airlock quarantine: %s\n", list.error().What().c_str());
      return 2;
    }
    if (json_out) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& m : *list) arr.push_back(MetaToJson(m));
      std::cout << arr.dump(2) << "\n";
      return 0;
    }
    for (const auto& m : *list) {
      std::cout << fmt::format("{}  {}  {:<10} {:4.1f}  {} -> {}  {}\n", m.id, m.time, m.verdict, m.score, m.sender,
                               Join(m.recipients, ","), Join(m.techniques, ","));
    }
    return 0;
  }
  if (rest.size() != 2 || (cmd != "show" && cmd != "release" && cmd != "delete")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& id = rest[1];
  auto meta = store.Meta(id);
  if (!meta) return meta.error().err() == ENOENT ? NotFound(id) : (std::fprintf(stderr, "airlock quarantine: %s\n", meta.error().What().c_str()), 2);
  if (cmd == "show") {
    auto report = store.Report(id);
    nlohmann::json out = MetaToJson(*meta);
    nlohmann::json parsed = report ? nlohmann::json::parse(*report, nullptr, false) : nlohmann::json();
    out["report"] = parsed.is_discarded() ? nlohmann::json() : parsed;  // a corrupt report.json: null, not "<discarded>"
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (cmd == "delete") {
    if (!meta->queue_id.empty() && !config.postsuper.empty() && access(config.postsuper.c_str(), X_OK) == 0) {
      std::vector<std::string> argv2 = {config.postsuper};
      if (!config.postfix_config_dir.empty()) argv2.insert(argv2.end(), {"-c", config.postfix_config_dir});
      argv2.insert(argv2.end(), {"-d", meta->queue_id, "hold"});
      (void)RunProgram(argv2, "");
    }
    if (auto s = store.Remove(id); !s) {
      std::fprintf(stderr, "airlock quarantine: %s\n", s.error().What().c_str());
      return 2;
    }
    std::printf("deleted %s\n", id.c_str());
    return 0;
  }
  // release
  if (ReleaseFromHold(config, meta->queue_id)) {
    std::printf("released %s from the hold queue (queue id %s)\n", id.c_str(), meta->queue_id.c_str());
  } else {
    auto msg = store.Message(id);
    if (!msg) {
      std::fprintf(stderr, "airlock quarantine: %s\n", msg.error().What().c_str());
      return 2;
    }
    if (meta->recipients.empty()) {
      std::fprintf(stderr, "airlock quarantine: %s has no recipients to deliver to\n", id.c_str());
      return 2;
    }
    std::vector<std::string> argv2 = {config.sendmail};
    if (!config.postfix_config_dir.empty()) argv2.insert(argv2.end(), {"-C", config.postfix_config_dir});
    argv2.insert(argv2.end(), {"-i", "-f", meta->sender, "--"});
    for (const auto& r : meta->recipients) argv2.push_back(r);
    ProgramResult r = RunProgram(argv2, *msg);
    if (r.status != 0) {
      std::fprintf(stderr, "airlock quarantine: %s failed (status %d): %s\n", config.sendmail.c_str(), r.status, r.err.c_str());
      return 2;
    }
    std::printf("re-injected %s with %s\n", id.c_str(), config.sendmail.c_str());
  }
  if (auto s = store.Remove(id); !s) {
    std::fprintf(stderr, "airlock quarantine: %s\n", s.error().What().c_str());
    return 2;
  }
  return 0;
}

}  // namespace airlock::milter
