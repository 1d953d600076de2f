// airlock-milter: the mail filter daemon (`airlock milter`), its quarantine admin (`airlock quarantine`)
// and its sandboxed scan worker (`--scan-worker`, started by the daemon inside `airlock run`).
// docs/MAIL.md describes the behaviour; the libmilter glue is here, the decisions in filter.cc.
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <grp.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/helper_path.h"
#include "core/private_dir.h"
#include "milter/config.h"
#include "milter/filter.h"
#include "milter/quarantine_cli.h"
#include "milter/scan_worker.h"
#include "milter/spool.h"
#include "runapi/run_request.h"
#include "scan/scanner.h"

namespace airlock::milter {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSpoolMemory = 1 << 20;

Filter* g_filter = nullptr;
std::string g_spool_dir;
std::atomic<int> g_active{0};

struct Conn {
  unsigned long no_reply = 0;   // SMFIP_NR_* the MTA agreed to: those callbacks must answer SMFIS_NOREPLY
  Envelope env;
  std::unique_ptr<Spool> spool;
  uint64_t body_offset = 0;
  bool in_message = false;
  std::string error;   // a spool error: the message fails closed
};

Conn* GetConn(SMFICTX* ctx) { return static_cast<Conn*>(smfi_getpriv(ctx)); }

// The answer of a callback before end of message: none when the MTA agreed not to wait for one.
// Problems before end of message (no connection state, a command out of order) are kept for OnEom,
// which tempfails; with no-reply negotiated there is no earlier answer to give.
sfsistat Next(const Conn* c, unsigned long nr_flag) {
  return c != nullptr && (c->no_reply & nr_flag) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

// Protocol options asked of the MTA (milter protocol 6): no reply to connect, MAIL, RCPT, each header,
// end of headers and each body chunk, and no HELO, DATA or unknown commands at all, so that a message
// costs the MTA one round trip (end of message) instead of one per header and body chunk. Each option is
// taken only when the MTA offers it.
constexpr unsigned long kWantedProtocol = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |
                                          SMFIP_NR_BODY | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOUNKNOWN;
constexpr unsigned long kActions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE;

class SmfiActions : public MtaActions {
 public:
  explicit SmfiActions(SMFICTX* ctx) : ctx_(ctx) {}
  bool AddHeader(const std::string& name, const std::string& value) override {
    return smfi_addheader(ctx_, const_cast<char*>(name.c_str()), const_cast<char*>(value.c_str())) == MI_SUCCESS;
  }
  bool ChangeHeader(const std::string& name, int index, const std::string* value) override {
    return smfi_chgheader(ctx_, const_cast<char*>(name.c_str()), index,
                          value != nullptr ? const_cast<char*>(value->c_str()) : nullptr) == MI_SUCCESS;
  }
  bool ReplaceBody(const std::string& body) override {
    size_t off = 0;
    do {
      size_t n = std::min<size_t>(body.size() - off, 65536);
      if (smfi_replacebody(ctx_, reinterpret_cast<unsigned char*>(const_cast<char*>(body.data() + off)), static_cast<int>(n)) !=
          MI_SUCCESS) {
        return false;
      }
      off += n;
    } while (off < body.size());
    return true;
  }
  bool Quarantine(const std::string& reason) override {
    return smfi_quarantine(ctx_, const_cast<char*>(reason.c_str())) == MI_SUCCESS;
  }
  bool SetReply(const std::string& code, const std::string& xcode, const std::string& text) override {
    return smfi_setreply(ctx_, const_cast<char*>(code.c_str()), const_cast<char*>(xcode.c_str()),
                         const_cast<char*>(text.c_str())) == MI_SUCCESS;
  }
  void Progress() override { smfi_progress(ctx_); }

 private:
  SMFICTX* ctx_;
};

void ResetMessage(Conn* c) {
  c->env = Envelope{};
  c->spool = std::make_unique<Spool>(g_spool_dir, kSpoolMemory, g_filter->config().max_message_size);
  c->body_offset = 0;
  c->in_message = false;
  c->error.clear();
}

void Append(Conn* c, std::string_view data) {
  if (!c->error.empty()) return;
  if (auto s = c->spool->Append(data); !s) c->error = s.error().What();
}

std::string StripAngles(const char* s) {
  std::string v = s != nullptr ? s : "";
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  return v;
}

sfsistat OnNegotiate(SMFICTX* ctx, unsigned long actions, unsigned long protocol, unsigned long, unsigned long,
                     unsigned long* want_actions, unsigned long* want_protocol, unsigned long* f2, unsigned long* f3) {
  auto* c = new (std::nothrow) Conn;
  if (c == nullptr) return SMFIS_REJECT;   // the MTA applies its default action (tempfail)
  smfi_setpriv(ctx, c);
  *want_actions = actions & kActions;
  *want_protocol = protocol & kWantedProtocol;
  *f2 = 0;
  *f3 = 0;
  c->no_reply = *want_protocol;
  return SMFIS_CONTINUE;
}

sfsistat OnConnect(SMFICTX* ctx, char*, _SOCK_ADDR*) {
  Conn* c = GetConn(ctx);
  if (c == nullptr) {   // no negotiation callback (an old MTA): replies for everything
    c = new (std::nothrow) Conn;
    if (c == nullptr) return SMFIS_TEMPFAIL;
    smfi_setpriv(ctx, c);
  }
  return Next(c, SMFIP_NR_CONN);
}

sfsistat OnEnvFrom(SMFICTX* ctx, char** argv) {
  Conn* c = GetConn(ctx);
  if (c == nullptr) return SMFIS_TEMPFAIL;   // only without negotiation (OnNegotiate made it otherwise)
  ResetMessage(c);
  c->in_message = true;
  c->env.from = StripAngles(argv != nullptr ? argv[0] : nullptr);
  if (const char* q = smfi_getsymval(ctx, const_cast<char*>("i")); q != nullptr) c->env.queue_id = q;
  return Next(c, SMFIP_NR_MAIL);
}

sfsistat OnRcpt(SMFICTX* ctx, char** argv) {
  Conn* c = GetConn(ctx);
  if (c == nullptr || !c->in_message) return c != nullptr && (c->no_reply & SMFIP_NR_RCPT) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
  if (c->env.rcpts.size() < 10000) c->env.rcpts.push_back(StripAngles(argv != nullptr ? argv[0] : nullptr));
  return Next(c, SMFIP_NR_RCPT);
}

sfsistat OnHeader(SMFICTX* ctx, char* name, char* value) {
  Conn* c = GetConn(ctx);
  if (c == nullptr || !c->in_message) return c != nullptr && (c->no_reply & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
  static const char* kOwn[3] = {"X-Airlock-Verdict", "X-Airlock-Score", "X-Airlock-Techniques"};
  for (int i = 0; i < 3; ++i)
    if (strcasecmp(name, kOwn[i]) == 0) ++c->env.existing_airlock_headers[i];
  std::string line = std::string(name) + ": " + (value != nullptr ? value : "") + "\r\n";
  Append(c, line);
  return Next(c, SMFIP_NR_HDR);
}

sfsistat OnEoh(SMFICTX* ctx) {
  Conn* c = GetConn(ctx);
  if (c == nullptr || !c->in_message) return c != nullptr && (c->no_reply & SMFIP_NR_EOH) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
  Append(c, "\r\n");
  c->body_offset = c->spool->size();
  return Next(c, SMFIP_NR_EOH);
}

sfsistat OnBody(SMFICTX* ctx, unsigned char* data, size_t len) {
  Conn* c = GetConn(ctx);
  if (c == nullptr || !c->in_message) return c != nullptr && (c->no_reply & SMFIP_NR_BODY) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
  Append(c, std::string_view(reinterpret_cast<const char*>(data), len));
  return Next(c, SMFIP_NR_BODY);
}

sfsistat OnEom(SMFICTX* ctx) {
  Conn* c = GetConn(ctx);
  if (c == nullptr || !c->in_message) return SMFIS_TEMPFAIL;
  ++g_active;
  if (const char* q = smfi_getsymval(ctx, const_cast<char*>("i")); q != nullptr) c->env.queue_id = q;
  SmfiActions mta(ctx);
  Outcome o;
  if (!c->error.empty()) {
    o = g_filter->Fail(c->env, c->spool->size(), c->error, std::chrono::steady_clock::now(), mta);
  } else if (c->spool->oversize()) {
    o = g_filter->Process(c->env, "", 0, c->spool->size(), mta);
  } else {
    auto msg = c->spool->Contents();
    if (!msg) o = g_filter->Fail(c->env, c->spool->size(), msg.error().What(), std::chrono::steady_clock::now(), mta);
    else o = g_filter->Process(c->env, *msg, c->body_offset, 0, mta);
  }
  c->in_message = false;
  c->spool.reset();
  --g_active;
  switch (o) {
    case Outcome::kAccept: return SMFIS_CONTINUE;
    case Outcome::kReject: return SMFIS_REJECT;
    case Outcome::kDiscard: return SMFIS_DISCARD;
    case Outcome::kTempfail: return SMFIS_TEMPFAIL;
  }
  return SMFIS_TEMPFAIL;
}

sfsistat OnAbort(SMFICTX* ctx) {
  if (Conn* c = GetConn(ctx)) {
    c->in_message = false;
    c->spool.reset();
  }
  return SMFIS_CONTINUE;
}

sfsistat OnClose(SMFICTX* ctx) {
  delete GetConn(ctx);
  smfi_setpriv(ctx, nullptr);
  return SMFIS_CONTINUE;
}

// "inet:HOST:PORT" (the contract's form) -> libmilter's "inet:PORT@HOST"; others unchanged.
std::string LibmilterConn(const std::string& spec) {
  if (spec.rfind("inet:", 0) == 0 && spec.find('@') == std::string::npos) {
    std::string rest = spec.substr(5);
    size_t colon = rest.rfind(':');
    if (colon != std::string::npos) return "inet:" + rest.substr(colon + 1) + "@" + rest.substr(0, colon);
    return spec;
  }
  return spec;
}

// libmilter writes each reply (every added header, then the verdict) as its own small packet; with
// Nagle's algorithm the second one waits for the MTA's delayed ACK (40 ms on Linux). libmilter does not
// expose its sockets, so TCP_NODELAY is set on its listening socket, which accepted sockets inherit.
void SetNoDelayOnListeners() {
  for (int fd = 3; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

// The scan workers' `airlock run`: the default profile, this binary and the project rules read-only,
// 1 GiB; the worker stops by itself a second before message_budget.
runapi::RunRequest ScanWorkerRequest(const std::string& airlock, const MilterConfig& config) {
  int worker_seconds = static_cast<int>(std::max<int64_t>(1, config.message_budget.count() / 1000 - 1));
  runapi::RunRequest req(airlock);
  req.RoBind(SelfExe(), "/opt/airlock/airlock-milter");
  std::error_code ec;
  if (std::string rules = scan::ProjectRulesDir(); fs::is_directory(rules, ec)) {
    req.RoBind(rules, "/opt/airlock/rules").SetEnv("AIRLOCK_RULES_DIR=/opt/airlock/rules");
  }
  req.Memory("1g").Command({"/opt/airlock/airlock-milter", "--scan-worker", "--max-seconds", std::to_string(worker_seconds)});
  return req;
}

constexpr const char* kUsage = R"(Usage: airlock milter [--listen inet:HOST:PORT|unix:PATH] [--config FILE] [--state-dir DIR] [--log FILE|-]

The airlock mail filter (libmilter; Postfix smtpd_milters / Sendmail INPUT_MAIL_FILTER). Every message
gets static triage in a pool of sandboxed workers, optionally detonation of runnable attachments with
`airlock analyze`; the verdict picks the action (accept, tag, reject, discard, quarantine, strip).
Fails closed: internal errors, timeouts, overload and oversize mail are tempfailed (451 4.7.1) unless
fail_open is set. Configuration and behaviour: docs/MAIL.md. Exit 2 on a bad configuration.
)";

int MilterMain(int argc, char** argv) {
  std::string config_path, listen, state_dir, log;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "airlock milter: %s needs a value\n", a.c_str());
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--config") {
      if (!value(config_path)) return 2;
    } else if (a == "--listen") {
      if (!value(listen)) return 2;
    } else if (a == "--state-dir") {
      if (!value(state_dir)) return 2;
    } else if (a == "--log") {
      if (!value(log)) return 2;
    } else {
      std::fprintf(stderr, "airlock milter: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  MilterConfig config;
  if (!config_path.empty()) {
    auto c = LoadConfig(config_path);
    if (!c) {
      std::fprintf(stderr, "airlock milter: bad config: %s\n", c.error().What().c_str());
      return 2;
    }
    config = std::move(*c);
  }
  if (!listen.empty()) config.listen = listen;
  if (!state_dir.empty()) config.state_dir = state_dir;
  if (!log.empty()) config.log = log;
  if (config.listen.rfind("inet:", 0) != 0 && config.listen.rfind("unix:", 0) != 0 && config.listen.rfind("local:", 0) != 0 &&
      config.listen.rfind("inet6:", 0) != 0) {
    std::fprintf(stderr, "airlock milter: bad --listen '%s' (expected inet:HOST:PORT or unix:PATH)\n", config.listen.c_str());
    return 2;
  }
  if (auto made = MakePrivateDirs(config.state_dir + "/spool"); !made) {
    std::fprintf(stderr, "airlock milter: state dir %s: %s\n", config.state_dir.c_str(), made.error().What().c_str());
    return 2;
  }
  ::chmod(config.state_dir.c_str(), 0700);
  g_spool_dir = config.state_dir + "/spool";

  std::string airlock = FindHelper("airlock");
  if (airlock.empty()) {
    std::fprintf(stderr, "airlock milter: the airlock binary was not found beside %s\n", SelfExe().c_str());
    return 2;
  }
  auto worker_argv = ScanWorkerRequest(airlock, config).Argv();
  if (!worker_argv) {
    std::fprintf(stderr, "airlock milter: %s\n", worker_argv.error().What().c_str());
    return 2;
  }
  // libmilter's signal thread takes SIGTERM/SIGINT/SIGHUP with sigwait(); block them in every thread we
  // start (the stats thread) so that none of ours gets the default action. Workers unblock after fork.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto pool = std::make_unique<WorkerPool>(*worker_argv, config.workers, config.queue);
  ::signal(SIGPIPE, SIG_IGN);
  if (auto s = pool->Start(std::chrono::seconds(120)); !s) {
    std::fprintf(stderr, "airlock milter: %s\n", s.error().What().c_str());
    return 1;
  }
  std::unique_ptr<VerdictCache> cache;
  if (auto c = VerdictCache::Open(config.state_dir + "/cache.sqlite", AIRLOCK_VERSION); c) {
    cache = std::move(*c);
  } else {
    std::fprintf(stderr, "airlock milter: %s (running without a cache)\n", c.error().What().c_str());
  }
  Filter filter(config, std::move(pool), std::move(cache));
  g_filter = &filter;

  smfiDesc desc{};
  desc.xxfi_name = const_cast<char*>("airlock");
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = kActions;
  desc.xxfi_negotiate = OnNegotiate;
  desc.xxfi_connect = OnConnect;
  desc.xxfi_envfrom = OnEnvFrom;
  desc.xxfi_envrcpt = OnRcpt;
  desc.xxfi_header = OnHeader;
  desc.xxfi_eoh = OnEoh;
  desc.xxfi_body = OnBody;
  desc.xxfi_eom = OnEom;
  desc.xxfi_abort = OnAbort;
  desc.xxfi_close = OnClose;
  std::string conn = LibmilterConn(config.listen);
  if (smfi_setconn(conn.data()) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
    std::fprintf(stderr, "airlock milter: cannot set up libmilter for %s\n", config.listen.c_str());
    return 2;
  }
  // Longer than the message budget, so that libmilter never drops a connection we are still deciding.
  smfi_settimeout(static_cast<int>(std::max<int64_t>(7200, config.message_budget.count() / 1000 * 2)));
  if (smfi_opensocket(true) != MI_SUCCESS) {
    std::fprintf(stderr, "airlock milter: cannot listen on %s\n", config.listen.c_str());
    return 2;
  }
  SetNoDelayOnListeners();
  if (config.listen.rfind("unix:", 0) == 0 || config.listen.rfind("local:", 0) == 0) {
    // Postfix's smtpd (user postfix) must be able to connect: group postfix when it exists, mode 0660.
    std::string path = config.listen.substr(config.listen.find(':') + 1);
    if (const group* g = ::getgrnam("postfix"); g != nullptr && ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      std::fprintf(stderr, "airlock-milter: cannot give %s to group postfix: %s\n", path.c_str(), std::strerror(errno));
    }
    ::chmod(path.c_str(), 0660);
  }
  std::fprintf(stderr, "airlock-milter: listening on %s%s\n", config.listen.c_str(),
               config.fail_open ? " (FAIL-OPEN: errors deliver mail unscanned)" : "");
  std::fflush(stderr);

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread stats_thread([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; })) {
      lock.unlock();
      filter.FlushStats("periodic");
      lock.lock();
    }
  });
  int rc = smfi_main();
  // In-flight messages finish (bounded by the budget), then the workers stop.
  auto until = std::chrono::steady_clock::now() + config.message_budget + std::chrono::seconds(5);
  bool were_active = g_active.load() > 0;
  while (g_active.load() > 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (were_active) std::this_thread::sleep_for(std::chrono::milliseconds(500));  // libmilter sends their replies
  filter.Drain(std::chrono::seconds(5));
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  stats_thread.join();
  filter.FlushStats("exit");
  filter.pool().Stop();
  // SIGINT makes libmilter report an abort; both it and SIGTERM are orderly stops for us.
  if (rc != MI_SUCCESS) std::fprintf(stderr, "airlock-milter: libmilter stopped (abort)\n");
  std::fprintf(stderr, "airlock-milter: stopped\n");
  return 0;
}

int ScanWorkerMain(int argc, char** argv) {
  int max_seconds = 30;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc) max_seconds = std::atoi(argv[++i]);
  }
  return RunScanWorker(max_seconds);
}

}  // namespace
}  // namespace airlock::milter

int main(int argc, char** argv) {
  using namespace airlock::milter;
  if (argc >= 2 && std::strcmp(argv[1], "--scan-worker") == 0) return ScanWorkerMain(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "quarantine") == 0) return QuarantineMain(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "milter") == 0) return MilterMain(argc - 2, argv + 2);
  return MilterMain(argc - 1, argv + 1);
}
