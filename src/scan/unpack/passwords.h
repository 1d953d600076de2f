// Candidate passwords for encrypted archives, from the text around them (mail bodies) and a short
// default list. Order: tokens right after a password cue ("password", "passwort", "pw", "code",
// "kennwort", "mot de passe", "pwd", "pass"), then the defaults, then the other short tokens.
// Bounded: at most `max_candidates`, each 1..64 bytes, whatever the input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan {

inline constexpr size_t kDefaultMaxPasswordCandidates = 48;

std::vector<std::string> PasswordCandidates(const std::vector<std::string>& context_text,
                                            size_t max_candidates = kDefaultMaxPasswordCandidates);

// The text near an encrypted object where senders put passwords, for PasswordCandidates: the
// object's context_text (mail bodies), then for the object and each container it came in its name
// with separators as spaces ("order_pw-4711.zip" -> "order pw 4711"), the comment of every zip
// container and the Subject of every mail container (from the first 64 KiB of its headers).
// Used by the archive and office-decrypt unpackers.
std::vector<std::string> NearbyText(const Object& object);

// A file name as text for the harvester: the extension dropped, separators as spaces.
std::string NameAsText(std::string_view name);

// The built-in default list.
const std::vector<std::string>& DefaultPasswords();

// True if `pw` came from the built-in list (used to word the finding).
bool IsDefaultPassword(std::string_view pw);

}  // namespace airlock::scan
