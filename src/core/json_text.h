// Bytes from outside (the sandbox, files, packets, mail) in airlock's JSON: the one rule every JSON
// writer follows (run report, monitor events, scan, analyze, milter, audit, rules, pool, check).
//
// JSON text is UTF-8 (RFC 8259), while file names, DNS names, command lines and program output are
// bytes. Here, bytes that are not valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF) become the four characters `\xNN` (a backslash, 'x' and two lowercase hex digits;
// Python's "backslashreplace"), one per byte; valid UTF-8 is kept exactly as it is. So nothing is
// dropped, readers see ordinary strings (in the JSON file the backslash itself is escaped: "\\xff"),
// and a writer never fails on them. docs/REPORT.md and docs/EVENTS.md describe this for consumers.
// The one ambiguity: a name whose bytes really are the text `\xff` reads the same as one holding the
// byte 0xff (a name that was valid UTF-8 is never changed).
//
// Contract:
//  - DumpJson is the only way airlock turns a JSON document into text (ctest `json_dump.check` fails on
//    any other `.dump(` under src/). It never throws: a document with invalid UTF-8 in a string or a
//    key is written with those bytes as `\xNN`; nlohmann's error_handler_t::replace (U+FFFD) is only
//    the last line of defence, and "null" the answer when memory runs out.
//  - AppendJsonString is the writer for callers that build JSON text without a document (the
//    monitor's hot path, src/monitor/json_line.h): the same `\xNN` rule, no allocation once `out` has
//    grown, never throws (other than std::bad_alloc from `out`).
//  - All functions are pure (no global state) and safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace airlock {

// True when `bytes` is entirely valid UTF-8.
bool IsUtf8(std::string_view bytes);

// `bytes` as valid UTF-8: invalid bytes as `\xNN`, the rest unchanged.
void AppendUtf8Text(std::string& out, std::string_view bytes);
std::string Utf8Text(std::string_view bytes);

// Appends `bytes` as one quoted JSON string: RFC 8259 escapes for '"', '\\' and control characters
// (\n, \t, ... or \u00XX), invalid bytes as the text `\xNN` (written "\\xNN").
void AppendJsonString(std::string& out, std::string_view bytes);

// Every string value and object key of `j` made valid UTF-8 (Utf8Text), in place. For documents that
// are both written as JSON and used otherwise (analyze's report also renders HTML).
void MakeJsonUtf8(nlohmann::json& j);
void MakeJsonUtf8(nlohmann::ordered_json& j);

// `j` as JSON text (indent < 0: one line; otherwise pretty with that many spaces). Never throws.
std::string DumpJson(const nlohmann::json& j, int indent = -1) noexcept;
std::string DumpJson(const nlohmann::ordered_json& j, int indent = -1) noexcept;

}  // namespace airlock
