// airlock-worker (`airlock worker`): service/worker.h.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "core/private_dir.h"
#include "service/fingerprint.h"
#include "service/jetstream.h"
#include "service/worker.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

std::string DefaultId() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pull analysis work from NATS JetStream and run airlock scan / airlock analyze in their sandboxes\n"
               "(docs/SERVICE.md). Stops on SIGINT/SIGTERM after the running analyses finish.",
               "airlock worker"};
  airlock::service::EngineConfig ec;
  airlock::service::WorkerConfig wc;
  std::string kinds = "static,detonate";
  int ack_wait_s = 120;
  app.add_option("--nats", ec.servers, "NATS server URL(s), comma-separated")->required();
  app.add_option("--id", wc.id, "worker id, unique in the farm (default: HOST-PID)");
  app.add_option("--kinds", kinds, "work kinds to take: static, detonate or both (default)");
  app.add_option("--capacity", wc.capacity, "analyses at once (default 1)")->check(CLI::Range(1, 256));
  app.add_option("--work-dir", wc.work_dir, "private scratch directory (default: $TMPDIR/airlock-worker-ID)");
  app.add_option("--ack-wait", ack_wait_s, "seconds without progress before work is redelivered (default 120)")->check(CLI::Range(1, 86400));
  app.add_option("--max-deliver", ec.max_deliver, "deliveries before work becomes a dead letter (default 3)")->check(CLI::Range(1, 100));
  app.add_option("--replicas", ec.replicas, "JetStream replicas of the streams and buckets (default 1; 3 in a cluster)")->check(CLI::Range(1, 5));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; a usage error is 2, as for every airlock command (not CLI11's own code)
  }
  ec.ack_wait = std::chrono::seconds(ack_wait_s);
  if (wc.id.empty()) wc.id = DefaultId();
  ec.name = "airlock-worker " + wc.id;
  wc.kinds.clear();
  for (size_t p = 0; p <= kinds.size();) {
    size_t c = kinds.find(',', p);
    std::string k = kinds.substr(p, c == std::string::npos ? std::string::npos : c - p);
    if (k != "static" && k != "detonate") {
      std::cerr << "airlock worker: --kinds: '" << k << "' is not static or detonate\n";
      return 2;
    }
    wc.kinds.push_back(k);
    if (c == std::string::npos) break;
    p = c + 1;
  }
  if (wc.work_dir.empty()) {
    const char* tmp = getenv("TMPDIR");
    wc.work_dir = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp") + "/airlock-worker-" + wc.id;
  }
  if (auto st = airlock::MakePrivateDirs(wc.work_dir); !st) {
    std::cerr << "airlock worker: " << st.error().What() << "\n";
    return 2;
  }
  auto fp = airlock::service::ComputeFingerprint();
  if (!fp) {
    std::cerr << "airlock worker: " << fp.error().What() << "\n";
    return 2;
  }
  auto engine = airlock::service::Engine::Connect(ec);
  if (!engine) {
    std::cerr << "airlock worker: " << engine.error().What() << "\n";
    return 2;
  }
  auto say = [&wc](const std::string& m) { std::cerr << "airlock worker " << wc.id << ": " << m << "\n"; };
  if (auto st = (*engine)->AwaitSchema(std::chrono::seconds(60), say); !st) {
    std::cerr << "airlock worker: " << st.error().What() << "\n";
    return 2;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::cerr << "airlock worker " << wc.id << ": ready (kinds " << kinds << ", capacity " << wc.capacity << ", airlock "
            << fp->version << ")\n";
  airlock::service::Worker worker(**engine, wc, *fp);
  worker.Run(g_stop);
  return 0;
}
