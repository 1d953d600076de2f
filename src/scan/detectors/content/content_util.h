// Small pure helpers shared by the content detectors (names/types, PDF, HTML/SVG, scripts, ELF).
// Everything here works on untrusted bytes: bounded, no allocation proportional to anything but the
// input (and capped where noted), never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan::content {

// Builds a Finding; evidence is truncated to 240 bytes here (the engine truncates again).
Finding MakeFinding(std::string id, int severity, std::string title, std::string explanation,
                    std::string_view evidence, std::vector<std::string> techniques = {});

// ASCII lower-casing (names and markup keywords are ASCII; other bytes pass through).
std::string AsciiLower(std::string_view s);
bool EndsWithI(std::string_view s, std::string_view suffix);
bool StartsWithI(std::string_view s, std::string_view prefix);
// Leaf extension without the dot, lower-cased ("" when none). "a.PDF" -> "pdf".
std::string Extension(std::string_view name);

// True when the object (or an ancestor) arrived in an email: an ancestor whose mime is
// message/rfc822 or whose name ends ".eml".
bool ArrivedByMail(const Object& object);

// What the leading bytes say the content is.
enum class Magic { kNone, kPe, kMz, kElf, kMachO, kShebang, kLnk, kZip, kRar, kSevenZip, kGzip,
                   kCab, kIso, kVhd, kVhdx, kPdf, kOle2, kImage };
Magic DetectMagic(std::string_view data);
std::string_view MagicName(Magic m);
// Native executables (PE, bare MZ, ELF, Mach-O).
bool IsNativeExecutable(Magic m);
// Archive or disk-image containers that may carry executables.
bool IsArchiveOrImage(Magic m);

// Decodes base64 (standard or URL alphabet), skipping ASCII whitespace and stopping at '='.
// Returns nullopt on any other byte or when the output would exceed max_out bytes.
std::optional<std::string> DecodeBase64(std::string_view in, size_t max_out);

// Percent-decoding for data: URIs without ;base64 (invalid escapes pass through).
std::string PercentDecode(std::string_view in, size_t max_out);

// Shannon entropy in bits per byte (0..8) of the bytes.
double Entropy(std::string_view data);

// Printable rendering of untrusted text for evidence: non-printable bytes and non-ASCII become \xNN.
std::string Escape(std::string_view s, size_t max_len = 200);

}  // namespace airlock::scan::content
