// airlock watch's configuration: TOML ([watch] table, docs/ENDPOINT.md) then command-line flags, each
// flag overriding its key. Unknown keys, wrong types and bad values are errors naming the key or
// flag, so a typo never silently weakens the gate.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "watch/gate.h"
#include "watch/notifier.h"

namespace airlock::watch {

struct WatchConfig {
  GateOptions gate;                  // mode, fail mode, timeout, marks, interpreters
  std::vector<std::string> watch_dirs;  // watched with their subdirectories (dir_watcher.h)
  std::vector<std::string> watch_flat;  // watched, their own entries only, and subdirectories named:
  std::vector<std::string> watch_flat_subdirs = {"mozilla_*", "evolution-*"};  // attachments opened by Thunderbird, Evolution
  size_t watch_max_dirs = 8192;      // directory marks at most
  bool flat_subdirs_set = false;     // watch_flat_subdirs configured: the defaults replaced
  bool sweep_at_start = true;        // judge what arrived while the daemon was not running
  std::vector<std::string> build_dirs;  // transitive trust for builds there (build_trust.h); none: off
  std::vector<std::string> builders;    // executable names; empty: DefaultBuilders()
  bool default_marks = true;         // no mark configured: the defaults below
  bool default_watch = true;         // no watch directory configured: the defaults below
  std::string state_dir = "/var/lib/airlock/watch";
  std::string log = "-";             // "-" = stderr
  std::vector<std::string> allow;    // allow-list entries (trust_policy.h AddAllowEntry)
  bool dpkg = true;
  std::string dpkg_info_dir = "/var/lib/dpkg/info";
  int concurrency = 2;
  size_t queue_limit = 4096;
  uint64_t max_file_size = 256ull << 20;
  bool detonate = true;
  std::chrono::seconds detonate_timeout{30};
  NotifyLevel notify = NotifyLevel::kBlocked;  // desktop notifications (notifier.h)
  std::string notify_bus_dir = "/run/user";    // a user's session bus: <dir>/<uid>/bus
};

// Parses the TOML text of a config file (`origin` names it in errors) into `config`.
Status ParseWatchConfig(const std::string& toml_text, const std::string& origin, WatchConfig& config);
// Applies the daemon's flags (argv after "watch"); --config FILE is read first wherever it appears.
Status ApplyWatchFlags(const std::vector<std::string>& args, WatchConfig& config);
// What the daemon cannot run with, named (after FillDefaults): build directories need the gate to see
// opens (interpreters = true) and may neither lie in nor hold a watched directory.
Status CheckWatchConfig(const WatchConfig& config);
// Fills in the default watch directories and marks where none were configured:
//   watch: /root/Downloads, /home/*/Downloads and the browser quarantines (/root and
//   /home/*/.local/share/airlock/downloads), those that exist; watch_flat: /tmp;
//   filesystem marks: the filesystems holding /, /home, /tmp, /var/tmp, /dev/shm and every watch dir.
void FillDefaults(WatchConfig& config);

}  // namespace airlock::watch
