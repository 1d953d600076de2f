// Candidate passwords for encrypted archives, from the text around them (mail bodies) and a short
// default list. Order: tokens right after a password cue ("password", "passwort", "pw", "code",
// "kennwort", "mot de passe", "pwd", "pass"), then the defaults, then the other short tokens.
// Bounded: at most `max_candidates`, each 1..64 bytes, whatever the input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan {

inline constexpr size_t kDefaultMaxPasswordCandidates = 48;

std::vector<std::string> PasswordCandidates(const std::vector<std::string>& context_text,
                                            size_t max_candidates = kDefaultMaxPasswordCandidates);

// The built-in default list.
const std::vector<std::string>& DefaultPasswords();

// True if `pw` came from the built-in list (used to word the finding).
bool IsDefaultPassword(std::string_view pw);

}  // namespace airlock::scan
