#include "scan/unpack/archive_unpacker.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "scan/limits.h"
#include "scan/unpack/passwords.h"
#include "scan/unpack/rar5_headers.h"
#include "scan/unpack/rar_sandbox.h"
#include "scan/unpack/sevenzip_sandbox.h"
#include "scan/unpack/zip_directory.h"

namespace airlock::scan {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxPasswordTries = kDefaultMaxPasswordCandidates;

// Memory source handing libarchive bounded chunks, so archive_filter_bytes() tracks how much
// compressed input an entry consumed (for the ratio check).
struct MemSource {
  std::string_view data;
  size_t pos = 0;
};

la_ssize_t ReadCb(struct archive*, void* client, const void** buf) {
  auto* src = static_cast<MemSource*>(client);
  size_t n = std::min(kReadChunk, src->data.size() - src->pos);
  *buf = src->data.data() + src->pos;
  src->pos += n;
  return static_cast<la_ssize_t>(n);
}

la_int64_t SkipCb(struct archive*, void* client, la_int64_t request) {
  auto* src = static_cast<MemSource*>(client);
  if (request < 0) return 0;
  size_t n = std::min(static_cast<size_t>(request), src->data.size() - src->pos);
  src->pos += n;
  return static_cast<la_int64_t>(n);
}

la_int64_t SeekCb(struct archive*, void* client, la_int64_t offset, int whence) {
  auto* src = static_cast<MemSource*>(client);
  la_int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? static_cast<la_int64_t>(src->pos)
                                                                 : static_cast<la_int64_t>(src->data.size());
  la_int64_t target = base + offset;
  if (target < 0 || target > static_cast<la_int64_t>(src->data.size())) return ARCHIVE_FATAL;
  src->pos = static_cast<size_t>(target);
  return target;
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;

struct Opened {
  ArchivePtr a;
  std::unique_ptr<MemSource> src;
  int open_rc = ARCHIVE_FATAL;
};

Opened Open(std::string_view data, bool raw, const std::string* passphrase) {
  Opened o;
  o.a.reset(archive_read_new());
  o.src = std::make_unique<MemSource>(MemSource{data, 0});
  struct archive* a = o.a.get();
  archive_read_support_filter_all(a);
  if (raw) {
    archive_read_support_format_raw(a);
  } else {
    archive_read_support_format_all(a);
  }
  if (passphrase != nullptr) archive_read_add_passphrase(a, passphrase->c_str());
  archive_read_set_read_callback(a, ReadCb);
  archive_read_set_skip_callback(a, SkipCb);
  archive_read_set_seek_callback(a, SeekCb);
  archive_read_set_callback_data(a, o.src.get());
  o.open_rc = archive_read_open1(a);
  return o;
}

std::string ErrorString(struct archive* a) {
  const char* e = archive_error_string(a);
  return e != nullptr ? e : "unknown error";
}

bool MentionsEncryption(struct archive* a) {
  std::string e = ErrorString(a);
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e.find("encrypt") != std::string::npos || e.find("passphrase") != std::string::npos ||
         e.find("password") != std::string::npos;
}

bool HeaderOk(int rc) { return rc == ARCHIVE_OK || rc == ARCHIVE_WARN; }

enum class ReadOutcome { kOk, kError, kLimit };

// Reads the current entry's data under the limits. On kLimit the limit has been reported.
ReadOutcome ReadEntry(struct archive* a, const std::string& name, AnalyzerOutput& out, std::string& data,
                      std::string* error) {
  const ScanLimits& lim = LimitsOf(out);
  uint64_t budget = out.RemainingBytes();
  la_int64_t start = archive_filter_bytes(a, -1);
  std::array<char, kReadChunk> buf;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n == 0) return ReadOutcome::kOk;
    if (n < 0) {
      if (n == ARCHIVE_WARN) continue;
      if (error != nullptr) *error = ErrorString(a);
      return ReadOutcome::kError;
    }
    if (data.size() + static_cast<size_t>(n) > budget) {
      bool total = budget < lim.max_object_bytes;
      ReportLimit(out, total ? kLimitTotal : kLimitObject,
                  name + ": entry expands past " + std::to_string(budget) + " bytes");
      return ReadOutcome::kLimit;
    }
    data.append(buf.data(), static_cast<size_t>(n));
    if (data.size() > lim.ratio_floor_bytes) {
      la_int64_t consumed = std::max<la_int64_t>(1, archive_filter_bytes(a, -1) - start);
      double ratio = static_cast<double>(data.size()) / static_cast<double>(consumed);
      if (ratio > lim.max_ratio) {
        ReportLimit(out, kLimitRatio,
                    name + ": compression ratio above " + std::to_string(static_cast<int>(lim.max_ratio)) +
                        ":1 (" + std::to_string(data.size()) + " bytes from about " + std::to_string(consumed) +
                        ")");
        return ReadOutcome::kLimit;
      }
    }
    if (out.TimeUp()) {
      ReportLimit(out, kLimitTime, name + ": time limit while decompressing");
      return ReadOutcome::kLimit;
    }
  }
}

std::string RawChildName(std::string_view name) {
  size_t slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  for (std::string_view ext : {".gz", ".tgz", ".bz2", ".xz", ".lzma", ".zst", ".Z", ".lz", ".z"}) {
    if (name.size() > ext.size() && name.ends_with(ext)) {
      std::string base(name.substr(0, name.size() - ext.size()));
      if (ext == ".tgz") base += ".tar";
      return base;
    }
  }
  return std::string(name) + ".decompressed";
}

struct EntryMeta {
  std::string path;
  bool encrypted = false;
};

class ArchiveWalk {
 public:
  ArchiveWalk(const Object& object, AnalyzerOutput& out) : object_(object), out_(out) {}

  void Run() {
    // libarchive 3.6 hands out RAR 5 ciphertext as data: find the encrypted members ourselves.
    Rar5Encryption rar5 = FindRar5Encryption(object_.data, LimitsOf(out_).max_entries + 1);
    if (rar5.headers) {
      OpenInSandbox("archive headers are encrypted");
      return;
    }
    rar5_encrypted_.insert(rar5.members.begin(), rar5.members.end());
    bool raw = false;
    Opened o = Open(object_.data, false, nullptr);
    if (!o.a) return;
    struct archive_entry* entry = nullptr;
    int rc = o.open_rc == ARCHIVE_OK ? archive_read_next_header(o.a.get(), &entry) : o.open_rc;
    if (rc < ARCHIVE_WARN || rc == ARCHIVE_EOF) {
      if (rc < ARCHIVE_WARN && MentionsEncryption(o.a.get())) {
        if (SandboxKind() != nullptr) {
          OpenInSandbox("archive headers are encrypted");
        } else {
          EncryptedFinding("archive headers are encrypted", false);
        }
        return;
      }
      // A compressed stream that is not an archive, or one that only looks like an empty one (a tar
      // reader takes leading zero blocks for the end of the archive): read it raw.
      if (archive_filter_count(o.a.get()) > 1) {
        o = Open(object_.data, true, nullptr);
        if (!o.a) return;
        rc = o.open_rc == ARCHIVE_OK ? archive_read_next_header(o.a.get(), &entry) : o.open_rc;
        raw = true;
      }
      if (rc < ARCHIVE_WARN) {
        Corrupt(o.a ? ErrorString(o.a.get()) : "cannot open");
        return;
      }
    }
    // First pass: everything readable without a password.
    for (; HeaderOk(rc); rc = archive_read_next_header(o.a.get(), &entry)) {
      if (stop_ || out_.TimeUp()) return;
      if (++entries_seen_ > LimitsOf(out_).max_entries) {
        ReportLimit(out_, kLimitEntries, "archive lists more than " + std::to_string(LimitsOf(out_).max_entries) +
                                             " entries");
        return;
      }
      std::string path = raw ? RawChildName(object_.name) : EntryPath(entry);
      if (!CheckEntry(entry, path)) continue;
      if (archive_entry_is_encrypted(entry) || TakeRar5Encrypted(path)) {
        encrypted_.push_back(path);
        continue;
      }
      std::string data, error;
      ReadOutcome r = ReadEntry(o.a.get(), path, out_, data, &error);
      if (r == ReadOutcome::kLimit) continue;
      if (r == ReadOutcome::kError) {
        if (MentionsEncryption(o.a.get())) {
          encrypted_.push_back(path);
          continue;
        }
        Corrupt(path + ": " + error);
        if (data.empty()) {
          if (unread_.size() < 256) unread_.push_back(path);  // named by its header, content unreadable
          continue;
        }
      }
      if (!data.empty()) read_.insert(path);
      if (!out_.AddChild(path, std::move(data))) stop_ = true;
    }
    if (rc == ARCHIVE_FATAL && !stop_) {
      if (MentionsEncryption(o.a.get())) {
        EncryptedFinding("archive is encrypted", false);
      } else if (entries_seen_ > 0) {
        Corrupt(ErrorString(o.a.get()));
      }
    }
    // RAR 5 members marked encrypted that libarchive listed under another name (or not at all).
    encrypted_.insert(encrypted_.end(), rar5_encrypted_.begin(), rar5_encrypted_.end());
    rar5_encrypted_.clear();
    if (!encrypted_.empty() && !stop_) OpenEncrypted();
  }

 private:
  std::string EntryPath(struct archive_entry* entry) {
    const char* p = archive_entry_pathname_utf8(entry);
    if (p == nullptr) p = archive_entry_pathname(entry);
    std::string path = p != nullptr ? p : "";
    if (path.empty()) path = "entry-" + std::to_string(entries_seen_);
    return path;
  }

  // Findings about the entry itself; returns true when it is a regular file worth reading.
  bool CheckEntry(struct archive_entry* entry, const std::string& path) {
    mode_t mode = archive_entry_mode(entry);
    if (IsUnsafeMemberPath(path)) {
      Add({"archive.path_traversal", 5, "archive member path escapes the extraction directory",
           "Absolute or '..' member paths overwrite files outside the target directory when extracted "
           "naively (Zip Slip).", path, {}});
    }
    if ((mode & (S_ISUID | S_ISGID)) != 0 && AE_IFREG == archive_entry_filetype(entry)) {
      Add({"archive.setuid", 4, "archive member has the setuid/setgid bit",
           "A setuid or setgid file gains its owner's privileges when run after extraction as root.", path,
           {"T1548.001"}});
    }
    const char* link = archive_entry_symlink(entry);
    const char* hard = archive_entry_hardlink(entry);
    if (link != nullptr || hard != nullptr || archive_entry_filetype(entry) == AE_IFLNK) {
      std::string target = link != nullptr ? link : hard != nullptr ? hard : "";
      bool escapes = IsUnsafeMemberPath(target);
      Add({"archive.link", escapes ? 5 : 2,
           escapes ? "archive link member points outside the archive" : "archive contains a link member",
           "Links inside archives redirect later writes or reads when extracted; airlock never follows them.",
           path + " -> " + target, {}});
      return false;
    }
    return archive_entry_filetype(entry) == AE_IFREG || archive_entry_filetype(entry) == 0;
  }

  bool TakeRar5Encrypted(const std::string& path) {
    auto it = rar5_encrypted_.find(path);
    if (it == rar5_encrypted_.end()) return false;
    rar5_encrypted_.erase(it);
    return true;
  }

  bool Is7z() const { return object_.data.starts_with(kSevenZipSignature); }
  bool IsRar() const { return object_.data.starts_with(kRarSignature); }
  // The format whose encryption libarchive cannot decrypt and a sandboxed tool does, or nullptr.
  const char* SandboxKind() const { return Is7z() ? "7z AES" : IsRar() ? "RAR AES" : nullptr; }

  // libarchive cannot decrypt 7z or RAR: 7-Zip's 7zz (sevenzip_sandbox.h) or unar (rar_sandbox.h)
  // does, in a sandbox.
  void OpenInSandbox(const std::string& what) {
    auto candidates = PasswordCandidates(NearbyText(object_));
    if (candidates.size() > kMaxPasswordTries) candidates.resize(kMaxPasswordTries);
    const ScanLimits& lim = LimitsOf(out_);
    ExtractBudget budget;
    budget.max_bytes = std::min<uint64_t>(out_.RemainingBytes(), lim.max_total_bytes);
    budget.max_files = static_cast<size_t>(std::min<uint64_t>(lim.max_entries, 100000));
    budget.timeout_seconds = std::max(1, lim.max_seconds);
    const bool rar = IsRar();
    const std::string kind = SandboxKind();
    const std::string tool = rar ? "unar" : "7zz";
    ExtractOutcome r = rar ? OpenEncryptedRar(object_.data, candidates, budget)
                           : OpenEncrypted7z(object_.data, candidates, budget);
    if (r.status != ExtractOutcome::Status::kOpened) {
      EncryptedFinding(what + "; " + kind + ", not opened: " + r.detail, !encrypted_.empty());
      if (r.status == ExtractOutcome::Status::kTooLarge) {
        PasswordFinding(r.password);
        ReportLimit(out_, kLimitTotal, "encrypted " + std::string(rar ? "RAR " : "7z ") + r.detail);
      }
      return;
    }
    EncryptedFinding(what + "; " + kind + ", opened with " + tool + " in a sandbox" +
                         (r.detail.empty() ? "" : " (" + r.detail + ")"),
                     !encrypted_.empty());
    PasswordFinding(r.password);
    for (auto& [path, data] : r.files) {
      if (stop_) break;
      if (!out_.AddChild(path, std::move(data))) stop_ = true;
    }
    if (r.truncated && !stop_) {
      ReportLimit(out_, kLimitTotal, "encrypted " + std::string(rar ? "RAR" : "7z") + ": more than " +
                                         std::to_string(budget.max_bytes) + " bytes or " +
                                         std::to_string(budget.max_files) + " members");
    }
  }

  void PasswordFinding(const std::string& found) {
    bool from_context = !IsDefaultPassword(found) ||
                        std::any_of(object_.context_text.begin(), object_.context_text.end(),
                                    [&](const std::string& t) { return t.find(found) != std::string::npos; });
    Add({"archive.password", from_context ? 4 : 3,
         from_context ? "encrypted archive opened with a password given in the surrounding text"
                      : "encrypted archive opened with a common password",
         "Sending an encrypted archive with its password alongside is a common way to get malware past "
         "mail filters.",
         "password: " + found, {"T1027.013"}});
  }

  void OpenEncrypted() {
    if (SandboxKind() != nullptr) {
      OpenInSandbox(std::to_string(encrypted_.size()) + " encrypted member(s)");
      return;
    }
    auto candidates = PasswordCandidates(NearbyText(object_));
    std::string found;
    size_t tries = 0;
    for (const auto& pw : candidates) {
      if (out_.TimeUp() || ++tries > kMaxPasswordTries) break;
      if (TryPassword(pw)) {
        found = pw;
        break;
      }
    }
    if (found.empty()) {
      EncryptedFinding(std::to_string(encrypted_.size()) +
                           " encrypted member(s), not opened (no candidate password worked, or a cipher "
                           "libarchive cannot decrypt: it decrypts zip only; 7z goes to 7zz, RAR to unar)",
                       true);
      return;
    }
    EncryptedFinding(std::to_string(encrypted_.size()) + " encrypted member(s)", true);
    PasswordFinding(found);
    Opened o = Open(object_.data, false, &found);
    if (!o.a || o.open_rc != ARCHIVE_OK) return;
    struct archive_entry* entry = nullptr;
    size_t seen = 0;
    while (!stop_ && HeaderOk(archive_read_next_header(o.a.get(), &entry))) {
      if (out_.TimeUp() || ++seen > entries_seen_) break;
      if (!archive_entry_is_encrypted(entry)) continue;
      mode_t type = archive_entry_filetype(entry);
      if (type != AE_IFREG && type != 0) continue;
      std::string path = EntryPath(entry);
      std::string data, error;
      ReadOutcome r = ReadEntry(o.a.get(), path, out_, data, &error);
      if (r == ReadOutcome::kLimit) continue;
      if (r == ReadOutcome::kError) {
        Corrupt(path + ": " + error);
        continue;
      }
      if (!out_.AddChild(path, std::move(data))) stop_ = true;
    }
  }

  // Reads the first encrypted member completely (CRC checked by libarchive) with `pw`.
  bool TryPassword(const std::string& pw) {
    Opened o = Open(object_.data, false, &pw);
    if (!o.a || o.open_rc != ARCHIVE_OK) return false;
    struct archive_entry* entry = nullptr;
    size_t seen = 0;
    while (HeaderOk(archive_read_next_header(o.a.get(), &entry))) {
      if (++seen > entries_seen_) return false;
      if (!archive_entry_is_encrypted(entry)) continue;
      std::array<char, kReadChunk> buf;
      uint64_t total = 0;
      uint64_t cap = std::min<uint64_t>(out_.RemainingBytes(), LimitsOf(out_).max_object_bytes);
      for (;;) {
        la_ssize_t n = archive_read_data(o.a.get(), buf.data(), buf.size());
        if (n == 0) return true;
        if (n < 0 && n != ARCHIVE_WARN) return false;
        if (n > 0) total += static_cast<uint64_t>(n);
        if (total > cap || out_.TimeUp()) return true;  // decrypts and decompresses: good enough
      }
    }
    return false;
  }

  void EncryptedFinding(std::string detail, bool members) {
    if (encrypted_reported_) return;
    encrypted_reported_ = true;
    std::string evidence = std::move(detail);
    if (members && !encrypted_.empty()) evidence += ": " + encrypted_.front();
    Add({"archive.encrypted", 3, "encrypted archive",
         "Encryption hides the archive's content from scanners and mail filters.", evidence, {"T1027.013"}});
  }

  void Corrupt(std::string detail) {
    if (corrupt_reported_) return;
    corrupt_reported_ = true;
    Add({"archive.corrupt", 1, "archive is damaged or truncated",
         "Part of the archive could not be read; members after the damage were not analyzed.", std::move(detail), {}});
  }

  void Add(Finding f) { out_.AddFinding(std::move(f)); }

 public:
  // A damaged archive still names its members (a zip's central directory; any format's headers read
  // before its data failed: 7z, RAR, tar...), and archivers more lenient than libarchive (or the
  // user's retry) may extract them: names of executables that could not be read are judged by the
  // name (archive.damaged_names), more severely when the archive came by mail.
  void JudgeDamagedNames() {
    if (!corrupt_reported_) return;
    const bool zip = object_.data.starts_with("PK");
    std::vector<std::string> names = zip ? ZipDirectoryNames(object_.data, 256) : std::vector<std::string>{};
    for (const auto& n : unread_) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
    std::vector<std::string> risky;
    int worst = 0;
    for (const auto& name : names) {
      const int risk = MemberNameRisk(name);
      if (risk == 0 || read_.contains(name)) continue;
      worst = std::max(worst, risk);
      if (risky.size() < 8) risky.push_back(name);
    }
    if (risky.empty()) return;
    const bool mail = FromMail();
    const int severity = mail ? (worst == 2 ? 8 : 7) : (worst == 2 ? 6 : 4);
    std::string listed;
    for (const auto& n : risky) listed += (listed.empty() ? "" : ", ") + n;
    std::vector<std::string> techniques = {"T1204.002"};
    if (worst == 2) techniques.push_back("T1036.007");
    if (mail) techniques.push_back("T1566.001");
    Add({"archive.damaged_names", severity,
         std::string("damaged archive names executable members that could not be read") + (mail ? " (mail)" : ""),
         "The archive is damaged so its members could not be analyzed, but it names programs or scripts"
         + std::string(worst == 2 ? " disguised behind a document extension" : "") +
             ". Archivers more lenient than libarchive still extract them; a damaged archive that carries an "
             "executable is a known way to slip past mail scanners.",
         (zip ? "directory names: " : "names in its headers: ") + listed, techniques});
  }

 private:
  bool FromMail() const {
    for (const Object* o = &object_; o != nullptr; o = o->parent) {
      if (o->mime == "message/rfc822" || o->name.ends_with(".eml")) return true;
    }
    return false;
  }

  const Object& object_;
  AnalyzerOutput& out_;
  std::vector<std::string> encrypted_;
  std::multiset<std::string> rar5_encrypted_;  // RAR 5 members with an encryption record, not yet listed
  size_t entries_seen_ = 0;
  bool stop_ = false;
  bool encrypted_reported_ = false;
  bool corrupt_reported_ = false;
  std::set<std::string> read_;  // members read with data
  std::vector<std::string> unread_;  // members whose header was read and whose data was not
};

}  // namespace

bool IsArchiveMime(std::string_view mime) {
  static constexpr std::array<std::string_view, 28> kTypes = {
      "application/zip", "application/x-zip-compressed", "application/x-7z-compressed", "application/x-rar",
      "application/vnd.rar", "application/x-rar-compressed", "application/x-tar", "application/x-gtar",
      "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz",
      "application/zstd", "application/x-zstd", "application/x-lzma", "application/x-lzip",
      "application/x-compress", "application/vnd.ms-cab-compressed", "application/x-iso9660-image",
      "application/x-cpio", "application/x-archive", "application/java-archive", "application/x-lha",
      "application/x-lzh-compressed", "application/epub+zip", "application/x-xar", "application/x-bzip",
      "application/x-java-archive"};
  if (std::find(kTypes.begin(), kTypes.end(), mime) != kTypes.end()) return true;
  return mime.starts_with("application/vnd.openxmlformats-officedocument.") ||
         mime.starts_with("application/vnd.oasis.opendocument.") ||
         mime.starts_with("application/vnd.ms-word.") || mime.starts_with("application/vnd.ms-excel.") ||
         mime.starts_with("application/vnd.ms-powerpoint.");
}

bool IsUnsafeMemberPath(std::string_view path) {
  if (path.empty()) return false;
  if (path[0] == '/' || path[0] == '\\') return true;
  if (path.size() >= 2 && path[1] == ':') return true;  // C:\...
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

bool ArchiveUnpacker::Accepts(const Object& object) const {
  if (IsArchiveMime(object.mime)) return true;
  // libmagic sometimes names OOXML "application/octet-stream" with a telling description.
  return object.magic.starts_with("Zip archive") || object.magic.starts_with("Microsoft Word 2007") ||
         object.magic.starts_with("Microsoft Excel 2007") || object.magic.starts_with("Microsoft PowerPoint 2007") ||
         object.magic.starts_with("Microsoft OOXML");
}

void ArchiveUnpacker::Analyze(const Object& object, AnalyzerOutput& out) {
  ArchiveWalk walk(object, out);
  walk.Run();
  walk.JudgeDamagedNames();
}

}  // namespace airlock::scan
