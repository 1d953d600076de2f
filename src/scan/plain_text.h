// A fast, conservative pre-classifier for plain prose, in front of libmagic (file_type.cc).
//
// libmagic's soft magic costs about 1 ms per small text object (hundreds of string/search/regex rules
// are tried, and all of them fail on prose), which made typing ~85% of a mail scan's CPU time. Most
// objects in mail are prose bodies and text attachments that libmagic can only call "text/plain".
// LooksLikePlainProse() says true only when the data has none of the features libmagic's text rules
// (and the detectors) look for, so that libmagic's answer would be "text/plain" too; when unsure it
// says false and the caller asks libmagic. It never looks at names or declared types (both are
// attacker-controlled). tests/scan/engine/plain_text_test.cc checks it against libmagic.
//
// True requires all of:
//   - 2 bytes .. 8 MiB; only printable ASCII, tab, LF, CR and well-formed UTF-8 (no NUL, ESC, C1, ...);
//   - none of  < > { } [ ] \ # ` | ^ ~ $ = *  anywhere (markup, code, shell, TeX, ...), no "%!"/"%P";
//   - no line that starts (after blanks) with a "word:" header, "From ", a code or shell keyword, or
//     a character other than a letter, digit or quote;
//   - it cannot be CSV by libmagic's test (first two lines with the same number of , ; or tab).
#pragma once

#include <string_view>

namespace airlock::scan {

bool LooksLikePlainProse(std::string_view data);

}  // namespace airlock::scan

#include <optional>
#include <string>

namespace airlock::scan {

// RFC 822 mail that libmagic would type as message/rfc822 by its first header ("From:", "Received:",
// "Return-Path:", "Delivered-To:"), when the rest is plain ASCII/UTF-8 text: returns
// libmagic's description, e.g. "news or mail, ASCII text, with CRLF line terminators"; nullopt when
// unsure (the caller asks libmagic).
std::optional<std::string> PlainMailDescription(std::string_view data);

// libmagic's text suffix for ASCII or UTF-8 text (no control characters but tab, CR, LF):
// ", ASCII text" or ", Unicode text, UTF-8 text", the longest line when over 300 characters, and the
// line terminators unless all LF. nullopt for anything else.
std::optional<std::string> TextSuffix(std::string_view data);

}  // namespace airlock::scan
