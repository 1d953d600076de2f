// A stand-in scan worker for the worker pool and filter tests: the test binary itself, started as
// `<test binary> --fake-worker MODE [ARG]`. Including this header adds a static initializer that, in
// such a process, speaks the worker protocol (milter/frame.h) on stdin/stdout and exits before gtest
// starts. Ordinary test runs are not affected.
//
// Startup modes: "serve" (ready frame, then answer requests), "not-ready" (a ready:false frame),
// "exit" (exits at once, no frame), "die-when-idle COUNTER" (the first process started with COUNTER
// sends its ready frame and exits; later ones serve).
// Requests in "serve" mode: the request header's fields steer the reply.
//   "touch": PATH   create PATH on receipt (the test waits for it: the worker is busy now)
//   "sleep_ms": N   sleep before answering
//   "crash": N      exit(N) without answering
//   "garbage": true write a truncated frame and exit
//   otherwise {"ok": true, "echo": <request header>} + the payload, for op "echo" (or no op);
//   for op "scan": the verdict is read from markers in the message (VERDICT:malicious|suspicious|clean,
//   TECH:<technique>), "WORKER:crash", "WORKER:notok", "WORKER:badjson", "WORKER:slow" (3 s) steer
//   failures; the report has one attachment "evil.bin" with sha256 "aa..aa" carrying the verdict
//   ("ATTACHMENT:unjudged": the attachment's verdict is "error", the message's stays as marked).
//   for op "strip": {"ok": true} + a rewritten message: "Content-Type: text/plain" and a body that
//   lists the removed sha256s ("removed: <json>").
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "milter/frame.h"

namespace airlock::milter::test {

inline constexpr const char* kFakeSha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

inline std::string SelfExe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

inline std::vector<std::string> FakeWorkerArgv(const std::string& mode, const std::string& arg = "") {
  std::vector<std::string> argv = {SelfExe(), "--fake-worker", mode};
  if (!arg.empty()) argv.push_back(arg);
  return argv;
}

inline nlohmann::json FakeScanReply(const std::string& message) {
  using nlohmann::json;
  std::string verdict = "clean";
  for (const char* v : {"malicious", "suspicious"})
    if (message.find(std::string("VERDICT:") + v) != std::string::npos) verdict = v;
  double score = verdict == "malicious" ? 9 : verdict == "suspicious" ? 5 : 0;
  std::vector<std::string> techniques;
  for (size_t pos = message.find("TECH:"); pos != std::string::npos; pos = message.find("TECH:", pos + 1)) {
    size_t end = message.find_first_of(" \r\n", pos + 5);
    techniques.push_back(message.substr(pos + 5, end == std::string::npos ? std::string::npos : end - pos - 5));
  }
  json child = {{"name", "evil.bin"}, {"type", {{"mime", "application/octet-stream"}}}, {"hashes", {{"sha256", kFakeSha}}},
                {"verdict", message.find("ATTACHMENT:unjudged") != std::string::npos ? "error" : verdict}, {"score", score},
                {"techniques", techniques}};
  json report = {{"verdict", verdict}, {"score", score}, {"techniques", techniques},
                 {"objects", json::array({{{"name", "message.eml"}, {"children", json::array({child})}}})}};
  return {{"ok", true}, {"report", report}};
}

inline int ServeFakeWorker() {
  using nlohmann::json;
  if (!WriteFrame(STDOUT_FILENO, json({{"ready", true}, {"pid", ::getpid()}}).dump(), "")) return 2;
  for (;;) {
    auto frame = ReadFrame(STDIN_FILENO);
    if (!frame) return 0;
    json req = json::parse(frame->header, nullptr, false);
    if (!req.is_object()) req = json::object();
    if (req.contains("touch")) std::ofstream(req["touch"].get<std::string>()) << "busy\n";
    if (req.contains("sleep_ms")) std::this_thread::sleep_for(std::chrono::milliseconds(req["sleep_ms"].get<int>()));
    if (req.contains("crash")) return req["crash"].get<int>();
    if (req.value("garbage", false)) {
      (void)!::write(STDOUT_FILENO, "\x05\x00\x00", 3);
      return 0;
    }
    std::string op = req.value("op", "echo");
    const std::string& msg = frame->payload;
    json reply;
    std::string payload;
    if (op == "scan") {
      if (msg.find("WORKER:crash") != std::string::npos) return 1;
      if (msg.find("WORKER:slow") != std::string::npos) std::this_thread::sleep_for(std::chrono::seconds(3));
      if (msg.find("WORKER:badjson") != std::string::npos) {
        if (!WriteFrame(STDOUT_FILENO, "this is not json", "")) return 2;
        continue;
      }
      reply = msg.find("WORKER:notok") != std::string::npos ? json{{"ok", false}, {"error", "scanner failed"}} : FakeScanReply(msg);
    } else if (op == "strip") {
      reply = {{"ok", true}, {"removed", 1}};
      payload = "From: alice@example.org\r\nContent-Type: text/plain\r\n\r\nremoved: " + req.value("remove", json::object()).dump() + "\r\n";
    } else {
      reply = {{"ok", true}, {"echo", req}};
      payload = msg;
    }
    if (!WriteFrame(STDOUT_FILENO, reply.dump(), payload)) return 2;
  }
}

inline int RunFakeWorker(const std::vector<std::string>& args) {
  const std::string& mode = args[2];
  if (mode == "serve") return ServeFakeWorker();
  if (mode == "not-ready") {
    (void)WriteFrame(STDOUT_FILENO, R"({"ready": false, "error": "rules did not load"})", "");
    return 2;
  }
  if (mode == "exit") return 3;
  if (mode == "die-when-idle" && args.size() > 3) {
    // O_EXCL: exactly one process wins the first start.
    int fd = ::open(args[3].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      (void)WriteFrame(STDOUT_FILENO, R"({"ready": true})", "");
      return 0;
    }
    return ServeFakeWorker();
  }
  return 99;
}

// Runs before main(): a fake worker process never reaches gtest.
inline bool MaybeRunFakeWorker() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string a;
  while (std::getline(f, a, '\0')) args.push_back(a);
  if (args.size() < 3 || args[1] != "--fake-worker") return false;
  ::_exit(RunFakeWorker(args));
}

// Internal linkage: defined (and so initialized) in every test file that includes this header.
[[maybe_unused]] static const bool kFakeWorkerChecked = MaybeRunFakeWorker();

}  // namespace airlock::milter::test
