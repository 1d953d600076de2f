#include "service/nats_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/private_dir.h"
#include "process/spawn.h"

namespace airlock::service {

std::string FindNatsServer() { return process::FindSystemProgram("nats-server"); }

NatsServer::~NatsServer() { Stop(); }

void NatsServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  process::WaitExitCode(pid_);
  pid_ = -1;
}

void NatsServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || r < 0) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
}

Result<std::unique_ptr<NatsServer>> NatsServer::Start(const NatsServerOptions& o, std::chrono::milliseconds wait) {
  std::string bin = FindNatsServer();
  if (bin.empty()) return MakeError("nats-server is not installed (apt-get install nats-server), or give --nats URL");
  AIRLOCK_TRY_STATUS(MakePrivateDirs(o.dir + "/store"), "nats-server directory");
  std::vector<std::string> argv = {bin, "-js", "-sd", o.dir + "/store", "-a", o.address, "-p", std::to_string(o.port),
                                   "--ports_file_dir", o.dir, "-l", o.dir + "/server.log"};
  if (!o.name.empty()) argv.insert(argv.end(), {"--server_name", o.name});
  if (o.cluster_port > 0) {
    argv.insert(argv.end(), {"--cluster_name", o.cluster_name, "--cluster", "nats://127.0.0.1:" + std::to_string(o.cluster_port)});
    std::string routes;
    for (const auto& r : o.routes) routes += (routes.empty() ? "" : ",") + r;
    if (!routes.empty()) argv.insert(argv.end(), {"--routes", routes});
  }
  auto pid = process::ForkExec(argv, process::ChildStdio{}, SIGKILL);
  if (!pid) return std::unexpected(std::move(pid.error()).WithContext("start nats-server"));
  std::unique_ptr<NatsServer> s(new NatsServer());
  s->pid_ = *pid;
  std::string ports = o.dir + "/nats-server_" + std::to_string(*pid) + ".ports";
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(ports);
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    if (j.is_object() && j["nats"].is_array() && !j["nats"].empty() && j["nats"][0].is_string()) {
      s->url_ = j["nats"][0].get<std::string>();
      return s;
    }
    int st = 0;
    if (waitpid(*pid, &st, WNOHANG) == *pid) {
      s->pid_ = -1;
      std::ifstream log(o.dir + "/server.log");
      std::stringstream l;
      l << log.rdbuf();
      std::string tail = l.str();
      if (tail.size() > 600) tail = tail.substr(tail.size() - 600);
      return MakeError("nats-server exited at start; its log ends:\n" + tail);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the ports file the server writes
  }
  return MakeError("nats-server did not report its port within " + std::to_string(wait.count()) + " ms (" + o.dir + "/server.log)");
}

}  // namespace airlock::service
