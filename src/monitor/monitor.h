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
#include <vector>

#include <nlohmann/json.hpp>

#include "core/unique_fd.h"
#include "monitor/event_sink.h"
#include "seccomp/monitor_syscalls.h"  // MonitoredSyscalls() & co., re-exported
#include "seccomp/notify.h"
#include "seccomp/seccomp.h"

namespace airlock {

class Monitor {
 public:
  // user: the sandbox user's name, reported as User.
  Monitor(EventSink& sink, std::string user) : sink_(sink), user_(std::move(user)) {}

  // A monitored syscall (answered with CONTINUE).
  NotifyAnswer Observe(const NotifyEvent& event);
  // A denied syscall (the filter already decided); emits a "syscall" event with Decision denied.
  void ObserveDenied(const NotifyEvent& event);

  uint64_t events() const { return events_; }

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
  };
  ProcInfo& Info(pid_t pid);
  // Formats the event for a notification into line_; false when the call makes no event.
  bool Format(const NotifyEvent& event);
  void Emit(const std::string& line);
  std::unordered_map<pid_t, ProcInfo> procs_;
  EventSink& sink_;
  std::string user_;
  uint64_t events_ = 0;
  std::string line_;  // reused output buffer
};

// Helpers reading another process's state (exposed for tests).
std::string ReadRemoteString(pid_t pid, uint64_t addr, size_t max = 4096);
std::string ProcLink(pid_t pid, const std::string& what);  // readlink /proc/PID/<what>

}  // namespace airlock
