// The quarantine store: <state_dir>/quarantine/<ID>/{message.eml, report.json, meta.json}
// (docs/MAIL.md). IDs are "<UTC yyyymmddThhmmss>-<8 hex>", the only names the store accepts back,
// so an ID from the command line can never name a path outside the store.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::milter {

struct QuarantineMeta {
  std::string id, queue_id, sender;
  std::vector<std::string> recipients;
  std::string time, verdict;
  double score = 0;
  std::vector<std::string> techniques;
};
nlohmann::json MetaToJson(const QuarantineMeta& m);
QuarantineMeta MetaFromJson(const nlohmann::json& j);

bool ValidQuarantineId(const std::string& id);

class QuarantineStore {
 public:
  explicit QuarantineStore(std::string state_dir) : dir_(std::move(state_dir) + "/quarantine") {}
  // Writes a new entry (files 0600, directory 0700; written under a temporary name and renamed, so a
  // listed entry is always complete). Fills meta.id.
  Result<std::string> Add(QuarantineMeta& meta, const std::string& message, const std::string& report_json);
  Result<std::vector<QuarantineMeta>> List() const;
  // Errors with ENOENT for an unknown (or malformed) ID.
  Result<QuarantineMeta> Meta(const std::string& id) const;
  Result<std::string> Message(const std::string& id) const;
  Result<std::string> Report(const std::string& id) const;
  Status Remove(const std::string& id);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace airlock::milter
