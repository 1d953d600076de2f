#include "runapi/run_request.h"

#include <algorithm>
#include <cctype>

namespace airlock::runapi {
namespace {

// Digits followed by one of `units` (or nothing when `bare_ok`).
bool NumberWithUnit(const std::string& s, std::initializer_list<const char*> units, bool bare_ok) {
  size_t digits = 0;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.')) ++digits;
  if (digits == 0) return false;
  std::string unit = s.substr(digits);
  if (unit.empty()) return bare_ok;
  return std::any_of(units.begin(), units.end(), [&](const char* u) { return unit == u; });
}

bool NameValue(const std::string& s) {
  size_t eq = s.find('=');
  return eq != std::string::npos && eq > 0;
}

}  // namespace

RunRequest::RunRequest(std::string airlock) : airlock_(std::move(airlock)) {
  if (airlock_.empty()) Reject("no airlock binary");
}

void RunRequest::Reject(std::string why) {
  if (error_.empty()) error_ = std::move(why);
}

RunRequest& RunRequest::Add(std::vector<std::string> words) {
  options_.insert(options_.end(), words.begin(), words.end());
  return *this;
}

RunRequest& RunRequest::AddOnce(const char* option, std::vector<std::string> words) {
  if (std::find(once_.begin(), once_.end(), option) != once_.end()) {
    Reject(std::string(option) + " given twice");
    return *this;
  }
  once_.push_back(option);
  words.insert(words.begin(), option);
  return Add(std::move(words));
}

RunRequest& RunRequest::KillOnInterrupt() { return AddOnce("--on-interrupt", {"kill"}); }

RunRequest& RunRequest::Profile(const std::string& name) {
  if (name.empty()) Reject("--profile: empty name");
  return AddOnce("--profile", {name});
}

RunRequest& RunRequest::AddBind(const char* option, const std::string& host, const std::string& inside) {
  if (host.empty()) Reject(std::string(option) + ": empty host path");
  if (inside.empty() || inside[0] != '/') Reject(std::string(option) + ": sandbox path '" + inside + "' is not absolute");
  return Add({option, host, inside});
}

RunRequest& RunRequest::RoBind(const std::string& host, const std::string& inside) { return AddBind("--ro-bind", host, inside); }
RunRequest& RunRequest::Bind(const std::string& host, const std::string& inside) { return AddBind("--bind", host, inside); }
RunRequest& RunRequest::DevBind(const std::string& host, const std::string& inside) { return AddBind("--dev-bind", host, inside); }

RunRequest& RunRequest::Tmpfs(const std::string& inside, const std::string& size) {
  if (inside.empty() || inside[0] != '/') Reject("--tmpfs: sandbox path '" + inside + "' is not absolute");
  if (!NumberWithUnit(size, {"k", "m", "g"}, false)) Reject("--tmpfs: '" + size + "' is not a size");
  return Add({"--tmpfs", inside + ":" + size});
}

RunRequest& RunRequest::SetEnv(const std::string& key_value) {
  if (!NameValue(key_value)) Reject("--setenv: '" + key_value + "' is not KEY=VALUE");
  return Add({"--setenv", key_value});
}

RunRequest& RunRequest::Chdir(const std::string& inside) {
  if (inside.empty() || inside[0] != '/') Reject("--chdir: '" + inside + "' is not absolute");
  return AddOnce("--chdir", {inside});
}

RunRequest& RunRequest::Timeout(const std::string& duration) {
  if (!NumberWithUnit(duration, {"ms", "s", "m", "h"}, true)) Reject("--timeout: '" + duration + "' is not a duration");
  return AddOnce("--timeout", {duration});
}

RunRequest& RunRequest::Memory(const std::string& size) {
  if (!NumberWithUnit(size, {"k", "m", "g", "K", "M", "G"}, true)) Reject("--memory: '" + size + "' is not a size");
  return AddOnce("--memory", {size});
}

RunRequest& RunRequest::Rlimit(const std::string& name_value) {
  if (!NameValue(name_value)) Reject("--rlimit: '" + name_value + "' is not NAME=VALUE");
  return Add({"--rlimit", name_value});
}

RunRequest& RunRequest::PassFd(int fd) {
  if (fd < 3) Reject("--pass-fd: " + std::to_string(fd) + " (stdio is always passed; fds must be >= 3)");
  return Add({"--pass-fd", std::to_string(fd)});
}

RunRequest& RunRequest::Listen(int port) {
  if (port < 1 || port > 65535) Reject("--listen: " + std::to_string(port) + " is not a TCP port");
  return Add({"--listen", std::to_string(port)});
}

RunRequest& RunRequest::NetAllow(const std::string& host_port) {
  if (host_port.empty() || host_port[0] == '-') Reject("--net-allow: '" + host_port + "' is not HOST:PORT");
  return Add({"--net-allow", host_port});
}

RunRequest& RunRequest::NetPcap(const std::string& pcap_file) { return AddOnce("--net-pcap", {pcap_file}); }

RunRequest& RunRequest::Net(const std::string& mode) {
  if (mode != "none" && mode != "host" && mode != "user" && mode != "sinkhole") Reject("--net: unknown mode '" + mode + "'");
  return AddOnce("--net", {mode});
}

RunRequest& RunRequest::Monitor(const std::string& events_file, bool reads) {
  if (events_file.empty()) Reject("--monitor: empty file name");
  AddOnce("--monitor", {events_file});
  if (reads) Add({"--monitor-reads"});
  return *this;
}

RunRequest& RunRequest::Report(const std::string& report_file) {
  if (report_file.empty()) Reject("--report: empty file name");
  return AddOnce("--report", {report_file});
}

RunRequest& RunRequest::Command(std::vector<std::string> argv) {
  if (!command_.empty()) Reject("the command given twice");
  command_ = std::move(argv);
  return *this;
}

Result<std::vector<std::string>> RunRequest::Argv() const {
  if (!error_.empty()) return MakeError("airlock run request: " + error_);
  if (command_.empty() || command_[0].empty()) return MakeError("airlock run request: no command");
  std::vector<std::string> argv = {airlock_, "run"};
  argv.insert(argv.end(), options_.begin(), options_.end());
  argv.push_back("--");
  argv.insert(argv.end(), command_.begin(), command_.end());
  return argv;
}

}  // namespace airlock::runapi
