#include "service/results.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/json_text.h"
#include "service/task_model.h"

namespace airlock::service {

void FailResultUnlessFinished(Engine& engine, const std::string& key, const std::string& why) {
  for (int i = 0; i < 5; ++i) {
    auto cur = engine.KvGet(kResultsBucket, key);
    if (!cur || !*cur) return;
    auto r = ParseResult(nlohmann::json::parse((*cur)->value, nullptr, false));
    if (!r || r->state == TaskState::kDone || r->state == TaskState::kFailed) return;
    r->state = TaskState::kFailed;
    r->error = why;
    r->finished_at = UtcTimeNow();
    auto upd = engine.KvUpdate(kResultsBucket, key, DumpJson(ResultJson(*r)), (*cur)->revision);
    if (upd && *upd) return;
  }
}

}  // namespace airlock::service
