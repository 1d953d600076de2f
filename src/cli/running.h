// The registry of running sandboxes (`airlock ps`, `airlock stop`, `airlock run --name`): one record
// and one control socket (sandbox/control.h) per run in <runtime dir>/running (core/runtime_dir.h:
// private to the user, mode 0700), written by the airlock process that supervises the run and removed
// when it ends. A record whose process is gone (airlock was SIGKILLed) is stale: listings skip and
// remove it. A user sees and stops only their own sandboxes (the directory is theirs, and the control
// socket answers only its owner); root sees every user's with --all.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::cli {

struct RunningRecord {
  std::string id;         // 12 hex digits, or the --name
  std::string name;       // --name, or ""
  pid_t pid = 0;          // the supervising airlock process
  unsigned long long start_ticks = 0;  // its start time (/proc/PID/stat), against pid reuse
  uid_t uid = 0;
  std::vector<std::string> command;
  std::string profile;
  std::string net;        // network mode
  std::string box;        // `airlock box run`: the box, else ""
  std::string started;    // UTC, RFC 3339
  std::string dir;        // the registry directory it was found in (not stored)
};

// A name given with --name: 1-40 of [A-Za-z0-9_.-], not starting with '.' or '-'. The error says so.
Status ValidateRunName(const std::string& name);

// This run's entry, removed when destroyed. Create fails if --name is taken by a live sandbox of the
// user ("name X is in use by the sandbox started ... (pid N): choose another or `airlock stop X`").
class Registration {
 public:
  static Result<Registration> Create(RunningRecord record);
  Registration(Registration&&) noexcept;
  Registration& operator=(Registration&&) = delete;
  ~Registration();
  int control_fd() const { return control_.get(); }
  const RunningRecord& record() const { return record_; }

 private:
  Registration() = default;
  RunningRecord record_;
  std::string json_path_, sock_path_;
  UniqueFd control_;
};

// Live records of the caller (and with all_users, as root, of every user), oldest first; stale ones
// are removed on the way.
std::vector<RunningRecord> ListRunning(bool all_users);

// The record whose id or name is `which` (from ListRunning(all_users)); an error that says how to list
// them when there is none.
Result<RunningRecord> FindRunning(const std::string& which, bool all_users);

std::string ControlSocketPath(const RunningRecord& record);

// The record's airlock process still runs (same pid and start time).
bool IsLive(const RunningRecord& record);

}  // namespace airlock::cli
