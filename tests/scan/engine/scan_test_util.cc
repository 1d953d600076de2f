#include "scan_test_util.h"

#include "scan/engine.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

namespace airlock::scan::test {
namespace {

la_ssize_t AppendCb(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

struct Writer {
  struct archive* a = archive_write_new();
  std::string out;
  ~Writer() { archive_write_free(a); }
  void Check(int rc, const char* what) {
    if (rc < ARCHIVE_WARN) throw std::runtime_error(std::string(what) + ": " + (archive_error_string(a) != nullptr ? archive_error_string(a) : "?"));
  }
  void Open(const std::string& format, const std::string& password, const char* options = nullptr) {
    if (format == "zip") {
      Check(archive_write_set_format_zip(a), "format zip");
      if (!password.empty()) {
        Check(archive_write_set_options(a, "zip:encryption=zipcrypt"), "zip encryption");
        Check(archive_write_set_passphrase(a, password.c_str()), "passphrase");
      }
    } else if (format == "7z") {
      Check(archive_write_set_format_7zip(a), "format 7z");
    } else {
      Check(archive_write_set_format_pax_restricted(a), "format tar");
      if (format == "tar.gz") Check(archive_write_add_filter_gzip(a), "gzip");
    }
    if (options != nullptr) Check(archive_write_set_options(a, options), "options");
    archive_write_set_bytes_in_last_block(a, 1);
    Check(archive_write_open(a, &out, nullptr, AppendCb, nullptr), "open");
  }
  void Entry(const Member& m, uint64_t size) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    if (!m.symlink.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, m.symlink.c_str());
      archive_entry_set_perm(e, 0777);
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, static_cast<mode_t>(m.mode));
      archive_entry_set_size(e, static_cast<la_int64_t>(size));
    }
    archive_entry_set_mtime(e, 1700000000, 0);
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    Check(rc, "header");
  }
  void Data(const char* p, size_t n) {
    if (archive_write_data(a, p, n) < 0) Check(ARCHIVE_FATAL, "data");
  }
  std::string Finish() {
    Check(archive_write_close(a), "close");
    return std::move(out);
  }
};

}  // namespace

void Le16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}

void Le32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::string Eicar() {
  // Split so that this source file itself is not an EICAR match.
  std::string s = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$";
  s += "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  return s;
}

std::string MakeArchive(const std::string& format, const std::vector<Member>& members, const std::string& password) {
  Writer w;
  w.Open(format, password);
  for (const auto& m : members) {
    w.Entry(m, m.data.size());
    if (m.symlink.empty() && !m.data.empty()) w.Data(m.data.data(), m.data.size());
  }
  return w.Finish();
}

std::string Gzip(const std::string& data) {
  Writer w;
  w.Check(archive_write_set_format_raw(w.a), "format raw");
  w.Check(archive_write_add_filter_gzip(w.a), "gzip");
  w.Check(archive_write_open(w.a, &w.out, nullptr, AppendCb, nullptr), "open");
  w.Entry({"data", "", 0644, ""}, data.size());
  w.Data(data.data(), data.size());
  return w.Finish();
}

std::string MakeZeroBombZip(const std::string& name, uint64_t size) {
  Writer w;
  w.Open("zip", "", "zip:compression-level=1");
  w.Entry({name, "", 0644, ""}, size);
  std::string zeros(1 << 20, '\0');
  for (uint64_t done = 0; done < size; done += zeros.size()) {
    w.Data(zeros.data(), static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - done)));
  }
  return w.Finish();
}

std::string Base64(const std::string& data) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t line = 0;
  for (size_t i = 0; i < data.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    if (i + 2 < data.size()) v |= static_cast<uint8_t>(data[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < data.size() ? kAlphabet[v & 63] : '=');
    if (++line == 19) {
      out += "\r\n";
      line = 0;
    }
  }
  return out + "\r\n";
}

std::string MakeMail(const std::string& body, const std::string& attachment_name, const std::string& attachment) {
  std::string m =
      "From: Alice <alice@example.org>\r\n"
      "To: Bob <bob@example.org>\r\n"
      "Subject: documents\r\n"
      "Date: Tue, 14 Nov 2023 10:00:00 +0000\r\n"
      "Message-ID: <test-1@example.org>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"BOUNDARY-42\"\r\n"
      "\r\n"
      "--BOUNDARY-42\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "\r\n" +
      body +
      "\r\n"
      "--BOUNDARY-42\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"" +
      attachment_name + "\"\r\n\r\n" + Base64(attachment) + "--BOUNDARY-42--\r\n";
  return m;
}

const ObjectReport* FindObject(const ObjectReport& root, const std::function<bool(const ObjectReport&)>& pred) {
  if (pred(root)) return &root;
  for (const auto& c : root.children) {
    if (const ObjectReport* r = FindObject(c, pred)) return r;
  }
  return nullptr;
}

bool HasFinding(const ObjectReport& o, const std::string& finding_id) {
  for (const auto& f : o.findings) {
    if (f.id == finding_id) return true;
  }
  return false;
}

const ObjectReport* FindWithFinding(const ObjectReport& root, const std::string& finding_id) {
  return FindObject(root, [&](const ObjectReport& o) { return HasFinding(o, finding_id); });
}

std::string FindingEvidence(const ObjectReport& o, const std::string& finding_id) {
  for (const auto& f : o.findings) {
    if (f.id == finding_id) return f.evidence;
  }
  return "";
}

const YaraRules& ProjectRules() {
  static std::unique_ptr<YaraRules> rules = [] {
    auto r = YaraRules::Load({std::string(AIRLOCK_SOURCE_DIR) + "/rules/yara"}, "");
    if (!r) throw std::runtime_error(r.error().What());
    return std::move(*r);
  }();
  return *rules;
}

InputReport Scan(const std::string& name, std::string data, ScanLimits limits) {
  EngineOptions o;
  o.limits = limits;
  o.yara = &ProjectRules();
  Engine engine(o);
  return engine.ScanBytes(name, std::move(data));
}

}  // namespace airlock::scan::test
