// One rule for failing a key from outside its analysis (a dead letter, a verification no other worker
// took): the result record becomes failed with the reason, unless it is done or failed already (then
// it stands), by compare-and-set against concurrent writers (at most 5 tries).
#pragma once

#include <string>

#include "service/jetstream.h"

namespace airlock::service {

void FailResultUnlessFinished(Engine& engine, const std::string& key, const std::string& why);

}  // namespace airlock::service
