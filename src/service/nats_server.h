// A private nats-server child (docs/SERVICE.md "serve --local"): JetStream on, its store in a private
// directory, listening on loopback (or a given address) on a port the server picks (-p -1) and reports through its ports
// file, so there is no race for a free port. Used by `airlock serve --local` and by the tests.
//
// Contract: Start returns once the server accepts clients (its ports file names the URL), or an error
// with the server's log tail. The child dies with the thread that started it (PR_SET_PDEATHSIG) and
// is stopped (SIGTERM, then SIGKILL after 5 s) and reaped by the destructor or Stop().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::service {

struct NatsServerOptions {
  std::string dir;   // private directory (created 0700): store/, the ports file, server.log
  std::string name;  // server_name ("" = nats-server's default)
  int port = -1;     // -1: the server picks a free port
  // Cluster (3-node tests): the route listen port and the routes to solicit; empty = no cluster.
  int cluster_port = 0;
  std::vector<std::string> routes;
  std::string cluster_name = "airlock";
  std::string address = "127.0.0.1";  // where clients connect (the farm test: a bridge's address)
};

class NatsServer {
 public:
  ~NatsServer();
  static Result<std::unique_ptr<NatsServer>> Start(const NatsServerOptions& o,
                                                   std::chrono::milliseconds wait = std::chrono::seconds(20));
  const std::string& url() const { return url_; }
  pid_t pid() const { return pid_; }
  void Kill();  // SIGKILL and reap (chaos tests)
  void Stop();  // SIGTERM, then SIGKILL after 5 s; reap

 private:
  NatsServer() = default;
  pid_t pid_ = -1;
  std::string url_;
};

// The nats-server program (/usr/sbin or /usr/bin), "" when it is not installed.
std::string FindNatsServer();

}  // namespace airlock::service
