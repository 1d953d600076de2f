// The behaviour monitor: turns seccomp user notifications of the sandboxed process tree into events
// with Sysmon-for-Linux field names (docs/EVENTS.md), so Sigma rules apply as written.
//
// Contract: Observe() runs on the seccomp supervisor thread while the calling thread of the sandbox
// is blocked in its syscall; it reads the arguments from /proc/PID/mem and never blocks on output
// (events go to a bounded EventSink). It always answers "continue": the monitor observes, the filter
// decides. What a racing thread of the sandboxed process could change between our read and the
// kernel's own read is documented in docs/EVENTS.md.
//
// Hot path (docs/PERFORMANCE.md): events are formatted straight into a reused line buffer
// (json_line.h), per-process facts are cached until execve, and calls that cannot produce an event
// worth having are not routed at all (MonitorNotifyFilters).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/unique_fd.h"
#include "monitor/event_sink.h"
#include "seccomp/monitor_syscalls.h"  // MonitoredSyscalls() & co., re-exported
#include "seccomp/notify.h"
#include "seccomp/seccomp.h"

namespace airlock {

// What the sandbox's first process is attributed to: the process that calls the payload's first
// execve is airlock's own pre-exec child (host path and argv of airlock), reported under this fixed
// name as ParentImage and ParentCommandLine instead (docs/EVENTS.md), like /proc/1/cmdline inside.
inline constexpr const char* kSandboxInitName = "airlock-init";
// Where `airlock analyze` mounts its recording stand-ins (crontab, systemctl, sudo, ...): an execve of
// a program in this directory also makes a `tool_invocation` event (docs/EVENTS.md).
inline constexpr const char* kStandinDir = "/opt/airlock/bin";

class Monitor {
 public:
  // user: the sandbox user's name, reported as User.
  Monitor(EventSink& sink, std::string user) : sink_(sink), user_(std::move(user)) {}

  // A monitored syscall (answered with CONTINUE).
  NotifyAnswer Observe(const NotifyEvent& event);
  // A denied syscall (the filter already decided); emits a "syscall" event with Decision denied.
  void ObserveDenied(const NotifyEvent& event);

  uint64_t events() const { return events_; }

  // The payload's command as the sandbox was asked to run it (argv, and the absolute paths execve
  // tries in order), for its first execve: that call is made by airlock's pre-exec child, which is
  // not dumpable, so an unprivileged supervisor cannot read its memory. Called by the run's
  // supervisor (src/sandbox/sandbox.cc) before the payload starts; optional.
  void SetPayloadCommand(std::vector<std::string> argv, std::vector<std::string> exec_candidates, std::string cwd) {
    payload_argv_ = std::move(argv);
    payload_exec_ = std::move(exec_candidates);
    payload_cwd_ = std::move(cwd);
  }

  // Builds (without emitting) the event line for a notification; "" when the call makes no event.
  // Exposed for tests.
  std::string Decode(const NotifyEvent& event);

 private:
  // Per-process facts that do not change until the next execve: /proc/PID/mem, image, pids.
  struct ProcInfo {
    UniqueFd mem;
    std::string image;
    std::string inside_pid;
    std::string inside_ppid;
    bool sandbox_init = false;  // airlock's own pre-exec child: reported as kSandboxInitName
  };
  ProcInfo& Info(pid_t pid);
  // Remembers a script run by an interpreter (bounded), for SelfDelete of scripts.
  void RememberScript(const std::string& path);
  // Formats the event for a notification into line_; false when the call makes no event.
  bool Format(const NotifyEvent& event);
  void Emit(const std::string& line);
  std::unordered_map<pid_t, ProcInfo> procs_;
  EventSink& sink_;
  std::string user_;
  uint64_t events_ = 0;
  std::string line_;  // reused output buffer
  std::unordered_set<std::string> scripts_;  // scripts run by an interpreter in this sandbox (at most 4096)
  std::vector<std::string> payload_argv_, payload_exec_;  // SetPayloadCommand
  std::string payload_cwd_;
  size_t payload_execs_ = 0;   // execve calls of the pre-exec child so far (its i-th tries payload_exec_[i])
  bool payload_started_ = false;  // an execve with readable arguments was seen: the payload runs
};

// Helpers reading another process's state (exposed for tests).
std::string ReadRemoteString(pid_t pid, uint64_t addr, size_t max = 4096);
std::string ProcLink(pid_t pid, const std::string& what);  // readlink /proc/PID/<what>

}  // namespace airlock
