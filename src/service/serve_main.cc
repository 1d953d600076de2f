// airlock-serve (`airlock serve`): the HTTP API and web UI (service/api.h) over the JetStream engine;
// with --local, also its own nats-server child and N local workers (docs/SERVICE.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>  // CPPHTTPLIB_OPENSSL_SUPPORT comes from cpp-httplib.pc (Debian builds it with TLS)

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "core/file_read.h"
#include "core/helper_path.h"
#include "core/private_dir.h"
#include "process/spawn.h"
#include "service/api.h"
#include "service/fingerprint.h"
#include "service/nats_server.h"

namespace {

using namespace airlock::service;

struct Args {
  bool local = false;
  std::string nats, listen = "127.0.0.1:8080", state_dir, keys_file, url_file, tls_cert, tls_key;
  int workers = 2, replicas = 1, ack_wait_s = 120, max_deliver = 3, threads = 16;
  std::string max_upload = "64";
  double rate = 5, burst = 20;
  std::string new_key, role = "submit";
};

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/airlock/serve";
  const char* xdg = getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/airlock/serve";
  const char* home = getenv("HOME");
  return std::string(home != nullptr && *home == '/' ? home : "/tmp") + "/.local/state/airlock/serve";
}

airlock::Status AppendKey(const std::string& file, Role role, const std::string& name, const std::string& key) {
  airlock::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return airlock::ErrnoError("open key file " + file);
  std::string line = KeyLine(role, name, key);
  if (::write(fd.get(), line.data(), line.size()) != ssize_t(line.size())) return airlock::ErrnoError("write " + file);
  return airlock::Ok();
}

// --local: the key file in the state directory, with an admin key made on first start (kept in
// STATE/admin.key, mode 0600, so the UI link can be printed again).
airlock::Result<std::string> LocalAdminKey(const std::string& state, const std::string& keys_file) {
  std::string path = state + "/admin.key";
  if (auto k = airlock::ReadRegularFileBounded(path, 200, "admin.key too large")) {
    std::string key = k->substr(0, k->find('\n'));
    if (!key.empty()) return key;
  }
  std::string key = NewApiKey();
  AIRLOCK_TRY_STATUS(AppendKey(keys_file, Role::kAdmin, "local-admin", key), "admin key");
  airlock::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd || ::write(fd.get(), (key + "\n").data(), key.size() + 1) != ssize_t(key.size() + 1)) {
    return airlock::ErrnoError("write " + path);
  }
  return key;
}

// Local workers: started, and restarted when one dies (a crash, or a test's SIGKILL).
class LocalWorkers {
 public:
  LocalWorkers(std::vector<std::string> base, int n, std::string state) : base_(std::move(base)), state_(std::move(state)) {
    pids_.assign(size_t(n), -1);
    thread_ = std::jthread([this](std::stop_token st) { Supervise(st); });
  }
  ~LocalWorkers() {
    thread_.request_stop();
    thread_.join();
  }

 private:
  void Supervise(std::stop_token st) {
    while (!st.stop_requested()) {
      for (size_t i = 0; i < pids_.size(); ++i) {
        int status = 0;
        if (pids_[i] > 0 && waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
          std::cerr << "airlock serve: local worker " << i + 1 << " (pid " << pids_[i] << ") exited; restarting it\n";
          pids_[i] = -1;
        }
        if (pids_[i] <= 0) {
          auto argv = base_;
          argv.insert(argv.end(), {"--id", "local-" + std::to_string(i + 1), "--work-dir", state_ + "/work/" + std::to_string(i + 1)});
          auto pid = airlock::process::ForkExec(argv, airlock::process::ChildStdio{-1, airlock::process::kInherit, airlock::process::kInherit}, SIGKILL);
          if (pid) pids_[i] = *pid;
          else std::cerr << "airlock serve: start worker: " << pid.error().What() << "\n";
        }
      }
      for (int t = 0; t < 5 && !st.stop_requested(); ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (pid_t p : pids_) {
      if (p > 0) kill(p, SIGTERM);
    }
    for (pid_t p : pids_) {
      if (p > 0) airlock::process::WaitExitCode(p);
    }
  }
  std::vector<std::string> base_;
  std::string state_;
  std::vector<pid_t> pids_;
  std::jthread thread_;
};

int Fail(const std::string& msg) {
  std::cerr << "airlock serve: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"The analysis service: REST API, web UI and Prometheus metrics over NATS JetStream (docs/SERVICE.md).\n"
               "`airlock serve --local` starts everything on this machine (its own nats-server and workers).",
               "airlock serve"};
  app.add_flag("--local", a.local, "start a private nats-server and local workers (nothing else to install or configure)");
  app.add_option("--nats", a.nats, "NATS server URL(s) of the farm, comma-separated (without --local)");
  app.add_option("--listen", a.listen, "HOST:PORT to serve on (default 127.0.0.1:8080; port 0 = any free port)");
  app.add_option("--workers", a.workers, "--local: local workers (default 2)")->check(CLI::Range(0, 256));
  app.add_option("--state-dir", a.state_dir, "--local: private state (NATS store, keys, worker scratch)");
  app.add_option("--keys", a.keys_file, "API key file (default with --local: STATE/keys)");
  app.add_option("--max-upload", a.max_upload, "largest upload in MiB (default 64)");
  app.add_option("--rate", a.rate, "submissions per second per key (default 5)");
  app.add_option("--burst", a.burst, "submission burst per key (default 20)");
  app.add_option("--ack-wait", a.ack_wait_s, "seconds without progress before work is redelivered (default 120)")->check(CLI::Range(1, 86400));
  app.add_option("--max-deliver", a.max_deliver, "deliveries before work becomes a dead letter (default 3)")->check(CLI::Range(1, 100));
  app.add_option("--replicas", a.replicas, "JetStream replicas (default 1; 3 in a 3-node cluster)")->check(CLI::Range(1, 5));
  app.add_option("--threads", a.threads, "HTTP worker threads (default 16)")->check(CLI::Range(1, 1024));
  app.add_option("--tls-cert", a.tls_cert, "serve HTTPS with this certificate (PEM)");
  app.add_option("--tls-key", a.tls_key, "the certificate's private key (PEM)");
  app.add_option("--url-file", a.url_file, "write the service's URL here once it listens");
  app.add_option("--new-key", a.new_key, "add a key named NAME to the key file, print it, and exit");
  app.add_option("--role", a.role, "--new-key's role: read, submit or admin (default submit)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; a usage error is 2, as for every airlock command (not CLI11's own code)
  }

  if (a.state_dir.empty()) a.state_dir = DefaultStateDir();
  if (a.keys_file.empty() && (a.local || !a.new_key.empty())) a.keys_file = a.state_dir + "/keys";
  if (!a.new_key.empty()) {
    auto role = ParseRole(a.role);
    if (!role) return Fail("--role must be read, submit or admin");
    if (auto st = airlock::MakePrivateDirs(a.keys_file.substr(0, a.keys_file.rfind('/'))); !st) return Fail(st.error().What());
    std::string key = NewApiKey();
    if (auto st = AppendKey(a.keys_file, *role, a.new_key, key); !st) return Fail(st.error().What());
    std::cout << key << "\n";
    std::cerr << "airlock serve: added " << a.role << " key '" << a.new_key << "' to " << a.keys_file << " (only its hash is stored)\n";
    return 0;
  }
  if ((!a.tls_cert.empty()) != (!a.tls_key.empty())) return Fail("--tls-cert and --tls-key go together");
  if (!a.local && a.nats.empty()) return Fail("give --nats URL (a farm) or --local (everything on this machine)");
  if (!a.local && a.keys_file.empty()) return Fail("give --keys FILE (make keys with `airlock serve --new-key NAME --keys FILE`)");
  size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos) return Fail("--listen must be HOST:PORT");
  std::string host = a.listen.substr(0, colon);
  int port = std::atoi(a.listen.c_str() + colon + 1);
  uint64_t max_upload_mib = std::strtoull(a.max_upload.c_str(), nullptr, 10);
  if (max_upload_mib == 0 || max_upload_mib > 4096) return Fail("--max-upload must be 1..4096 (MiB)");

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread: the signal thread below takes them
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<NatsServer> nats;
  std::string admin_key;
  if (a.local) {
    if (auto st = airlock::MakePrivateDirs(a.state_dir); !st) return Fail(st.error().What());
    auto key = LocalAdminKey(a.state_dir, a.keys_file);
    if (!key) return Fail(key.error().What());
    admin_key = *key;
    if (a.nats.empty()) {
      auto s = NatsServer::Start(NatsServerOptions{a.state_dir + "/nats", "airlock-local"});
      if (!s) return Fail(s.error().What());
      nats = std::move(*s);
      a.nats = nats->url();
    }
  }
  auto key_text = airlock::ReadRegularFileBounded(a.keys_file, 16u << 20, "key file larger than 16 MiB");
  if (!key_text) return Fail(key_text.error().What());
  auto keys = KeyRing::Parse(*key_text);
  if (!keys) return Fail(a.keys_file + ": " + keys.error().message());
  if (keys->size() == 0) return Fail(a.keys_file + " holds no key: add one with `airlock serve --new-key NAME --role admin --keys " + a.keys_file + "`");
  auto fp = ComputeFingerprint();
  if (!fp) return Fail(fp.error().What());

  EngineConfig ec{a.nats, "airlock-serve", a.replicas, std::chrono::seconds(a.ack_wait_s), a.max_deliver};
  auto engine = Engine::Connect(ec);
  if (!engine) return Fail(engine.error().What());
  auto say = [](const std::string& m) { std::cerr << "airlock serve: " << m << "\n"; };
  if (auto st = (*engine)->AwaitSchema(std::chrono::seconds(60), say); !st) return Fail(st.error().What());
  Api api(**engine, std::move(*keys), *fp, ApiConfig{size_t(max_upload_mib) << 20, a.rate, a.burst});
  if (auto st = api.Start(); !st) return Fail(st.error().What());

  std::unique_ptr<LocalWorkers> workers;
  if (a.local && a.workers > 0) {
    std::string bin = airlock::FindHelper("airlock-worker");
    if (bin.empty()) return Fail("airlock-worker is not installed next to airlock-serve");
    workers = std::make_unique<LocalWorkers>(
        std::vector<std::string>{bin, "--nats", a.nats, "--ack-wait", std::to_string(a.ack_wait_s), "--max-deliver",
                                 std::to_string(a.max_deliver), "--replicas", std::to_string(a.replicas)},
        a.workers, a.state_dir);
  }

  std::unique_ptr<httplib::Server> server;
  if (!a.tls_cert.empty()) {
    server = std::make_unique<httplib::SSLServer>(a.tls_cert.c_str(), a.tls_key.c_str());
    if (!server->is_valid()) return Fail("TLS: cannot load " + a.tls_cert + " / " + a.tls_key);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  const int threads = a.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  server->set_payload_max_length(size_t(max_upload_mib) << 20);
  server->set_read_timeout(std::chrono::seconds(30));
  server->set_write_timeout(std::chrono::seconds(30));
  server->set_keep_alive_max_count(100);
  api.Mount(*server);
  int bound = port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound < 0) return Fail("cannot listen on " + a.listen + " (in use? another `airlock serve`?)");
  std::string url = std::string(a.tls_cert.empty() ? "http" : "https") + "://" + host + ":" + std::to_string(bound);
  if (!a.url_file.empty()) {
    std::ofstream(a.url_file + ".tmp") << url << "\n";
    std::rename((a.url_file + ".tmp").c_str(), a.url_file.c_str());
  }
  std::cerr << "airlock serve: listening on " << url << " (NATS " << a.nats << ", airlock " << fp->version << ")\n";
  if (!admin_key.empty()) std::cerr << "airlock serve: web UI: " << url << "/#key=" << admin_key << "\n";
  std::jthread signals([&server, sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    std::cerr << "airlock serve: stopping (signal " << sig << ")\n";
    server->stop();
  });
  server->listen_after_bind();
  workers.reset();
  pthread_kill(signals.native_handle(), SIGTERM);  // the signal thread may still wait
  return 0;
}
