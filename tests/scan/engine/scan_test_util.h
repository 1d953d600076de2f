// Helpers for the scan engine tests: samples generated at test time (EICAR from its string, archives
// written with libarchive, mails built as text). Never a live malware binary.
#pragma once

#include <magic.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/limits.h"
#include "scan/report.h"
#include "scan/yara_rules.h"

namespace airlock::scan::test {

// Little-endian integers appended to a byte string (headers of generated samples).
void Le16(std::string& s, uint16_t v);
void Le32(std::string& s, uint32_t v);

// libmagic's own answers (MIME type and description) for a buffer: what the engine's shortcuts must agree with.
class Libmagic {
 public:
  Libmagic() {
    mime_ = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
    desc_ = magic_open(MAGIC_NONE | MAGIC_NO_CHECK_COMPRESS);
    ok_ = mime_ != nullptr && desc_ != nullptr && magic_load(mime_, nullptr) == 0 && magic_load(desc_, nullptr) == 0;
  }
  ~Libmagic() {
    if (mime_ != nullptr) magic_close(mime_);
    if (desc_ != nullptr) magic_close(desc_);
  }
  bool ok() const { return ok_; }
  std::string Mime(std::string_view d) { return Str(magic_buffer(mime_, d.data(), d.size())); }
  std::string Desc(std::string_view d) { return Str(magic_buffer(desc_, d.data(), d.size())); }

 private:
  static std::string Str(const char* s) { return s != nullptr ? s : "?"; }
  magic_t mime_ = nullptr;
  magic_t desc_ = nullptr;
  bool ok_ = false;
};

// The EICAR test string, assembled at run time.
std::string Eicar();

struct Member {
  std::string name;
  std::string data;
  int mode = 0644;
  std::string symlink;  // when set, a symlink member to this target
};

// Archive formats libarchive can write: "zip", "tar.gz", "7z", "tar".
// `password` (zip only) encrypts with traditional PKWARE encryption.
std::string MakeArchive(const std::string& format, const std::vector<Member>& members,
                        const std::string& password = "");

// A raw gzip stream of `data` (no archive inside).
std::string Gzip(const std::string& data);

// A zip with one member `name` of `size` zero bytes, streamed (never held in memory).
std::string MakeZeroBombZip(const std::string& name, uint64_t size);

// A multipart/mixed mail with a text body and one base64 attachment.
std::string MakeMail(const std::string& body, const std::string& attachment_name, const std::string& attachment);

// Depth-first search for an object; nullptr if none.
const ObjectReport* FindObject(const ObjectReport& root, const std::function<bool(const ObjectReport&)>& pred);
// The first object (pre-order) carrying a finding with this id.
const ObjectReport* FindWithFinding(const ObjectReport& root, const std::string& finding_id);
bool HasFinding(const ObjectReport& o, const std::string& finding_id);
std::string Base64(const std::string& data);
// The evidence of the first finding with this id on `o` ("" if none).
std::string FindingEvidence(const ObjectReport& o, const std::string& finding_id);

// The project's rules/yara, compiled once per test binary (throws if they do not compile).
const YaraRules& ProjectRules();

// `data` named `name` through a whole engine with the project's rules and these limits.
InputReport Scan(const std::string& name, std::string data, ScanLimits limits = {});

}  // namespace airlock::scan::test
