// airlock-milter configuration (TOML, docs/MAIL.md). Every key is optional; unknown keys and bad
// values are errors that name the key, so a typo never silently weakens the filter.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::milter {

enum class Action { kAccept, kTag, kReject, kDiscard, kQuarantine, kStrip };
const char* ActionName(Action a);
Result<Action> ParseAction(const std::string& text);

struct MilterConfig {
  // [milter]
  std::string listen = "inet:127.0.0.1:10025";
  int workers = 2;
  int queue = 64;
  std::chrono::milliseconds message_budget{30000};
  uint64_t max_message_size = 50ull << 20;
  bool fail_open = false;
  std::string state_dir = "/var/lib/airlock";
  std::string log = "-";
  // [detonation]
  bool detonation_enabled = false;
  std::vector<std::string> detonation_kinds = {"elf", "shell", "python", "perl", "browser"};
  std::string detonation_mode = "inline";  // "inline" | "tempfail"
  std::chrono::milliseconds detonation_timeout{20000};
  int detonation_concurrency = 0;          // analyses at once; 0 = the number of CPUs (ParseConfig fills it in)
  // [actions]
  Action on_malicious = Action::kReject;
  Action on_suspicious = Action::kTag;
  Action on_clean = Action::kAccept;
  bool tag_all = true;
  std::string reject_reply = "5.7.1";
  // [quarantine]
  bool quarantine_hold = true;
  std::string postfix_config_dir;
  std::string sendmail = "/usr/sbin/sendmail";
  std::string postsuper = "/usr/sbin/postsuper";
};

// Parses TOML text; `origin` names the source in errors ("FILE: [milter].workers: ...").
Result<MilterConfig> ParseConfig(const std::string& toml_text, const std::string& origin);
// Reads and parses FILE.
Result<MilterConfig> LoadConfig(const std::string& path);

}  // namespace airlock::milter
