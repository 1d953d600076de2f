#include "scan/unpack/office_decrypt_unpacker.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/unpack/office_crypto.h"
#include "scan/unpack/passwords.h"
#include "scan/unpack/ppt_crypto.h"

namespace airlock::scan {
namespace {

namespace oc = office_crypto;

constexpr std::string_view kVelvetSweatshop = "VelvetSweatshop";
// Agile keys cost a spin of up to kMaxSpinCount hashes (100000 SHA-512 is ~0.05 s here): fewer tries.
constexpr size_t kMaxPackageTries = 16;
constexpr size_t kMaxRc4Tries = kDefaultMaxPasswordCandidates + 1;
constexpr uint64_t kMaxStream = 64u << 20;

std::vector<std::string> Candidates(const Object& object) {
  const std::vector<std::string> context = NearbyText(object);
  std::vector<std::string> out = {std::string(kVelvetSweatshop)};
  for (auto& c : PasswordCandidates(context)) {
    if (c != kVelvetSweatshop) out.push_back(std::move(c));
  }
  return out;
}

std::string Stem(std::string_view name) {
  std::string_view leaf = office::BaseName(name);
  size_t dot = leaf.rfind('.');
  return std::string(dot == std::string_view::npos || dot == 0 ? leaf : leaf.substr(0, dot));
}

std::string Extension(std::string_view name) {
  std::string_view leaf = office::BaseName(name);
  size_t dot = leaf.rfind('.');
  if (dot == std::string_view::npos) return "";
  std::string ext(leaf.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Tries candidates until `attempt` succeeds; returns the password that worked.
std::optional<std::string> TryAll(const std::vector<std::string>& candidates, size_t max_tries,
                                  AnalyzerOutput& out, const std::function<bool(const std::string&)>& attempt,
                                  size_t& tried) {
  tried = 0;
  for (const auto& pw : candidates) {
    if (tried >= max_tries || out.TimeUp()) break;
    ++tried;
    if (attempt(pw)) return pw;
  }
  return std::nullopt;
}

class Decryptor {
 public:
  Decryptor(const Object& object, const office::OleFile& ole, AnalyzerOutput& out)
      : object_(object), ole_(ole), out_(out), candidates_(Candidates(object)) {}

  void Run() {
    if (ole_.HasStream("EncryptedPackage") && ole_.HasStream("EncryptionInfo")) return Package();
    for (const char* s : {"Workbook", "Book"}) {
      if (ole_.HasStream(s)) return Workbook(s);
    }
    if (ole_.HasStream("WordDocument")) return Word();
    if (ole_.HasStream("PowerPoint Document") && PowerPointEncrypted()) PowerPoint();
  }

 private:
  void Package() {
    auto info = ole_.ReadStream("EncryptionInfo", 1u << 20);
    if (!info) return Encrypted("EncryptionInfo + EncryptedPackage", "EncryptionInfo unreadable");
    auto enc = oc::ParseEncryptionInfo(*info);
    if (!enc) return Encrypted("EncryptionInfo + EncryptedPackage", enc.error().message());
    const char* scheme = enc->kind == oc::PackageEncryption::Kind::kAgile ? "ECMA-376 agile" : "ECMA-376 standard";
    std::string key;
    size_t tried = 0;
    auto pw = TryAll(candidates_, kMaxPackageTries, out_, [&](const std::string& p) {
      auto k = oc::PackageKey(*enc, p);
      if (k) key = std::move(*k);
      return k.has_value();
    }, tried);
    if (!pw) return Encrypted(scheme, NoPassword(tried));
    auto stream = ole_.ReadStream("EncryptedPackage", kMaxStream);
    if (!stream) return Encrypted(scheme, "EncryptedPackage unreadable: " + stream.error().message());
    auto plain = oc::DecryptPackage(*enc, key, *stream, std::min<uint64_t>(out_.RemainingBytes(), kMaxStream));
    if (!plain) return Encrypted(scheme, plain.error().message());
    std::string ext = Extension(object_.name);
    if (ext != "docx" && ext != "docm" && ext != "xlsx" && ext != "xlsm" && ext != "xlsb" && ext != "pptx" &&
        ext != "pptm" && ext != "dotm" && ext != "xltm" && ext != "potm" && ext != "ppsm") {
      ext = "zip";
    }
    Decrypted(scheme, *pw);
    out_.AddChild(Stem(object_.name) + ".decrypted." + ext, std::move(*plain));
  }

  void Workbook(const char* name) {
    auto wb = ole_.ReadStream(name, kMaxStream);
    if (!wb) return;
    auto found = oc::WorkbookEncryption(*wb);
    if (!found) return;  // not encrypted
    if (!*found) return Encrypted("Excel FILEPASS", found->error().message());
    const oc::Rc4Encryption& enc = **found;
    std::string base;
    size_t tried = 0;
    auto pw = TryAll(candidates_, kMaxRc4Tries, out_, [&](const std::string& p) {
      auto k = oc::Rc4BaseKey(enc, p);
      if (k) base = std::move(*k);
      return k.has_value();
    }, tried);
    const char* scheme = enc.cryptoapi ? "RC4 CryptoAPI (.xls)" : "RC4 (.xls)";
    if (!pw) return Encrypted(scheme, NoPassword(tried));
    Decrypted(scheme, *pw);
    std::string plain = oc::DecryptWorkbook(enc, base, *wb);
    out_.AddChild(Stem(object_.name) + ".decrypted.xls", office::WriteOle({{name, std::move(plain)}}));
  }

  // MS-DOC 2.2.6: FIB base flags (offset 0x0A) fEncrypted 0x0100, fWhichTblStm 0x0200, fObfuscated
  // 0x8000; lKey (0x0E) is the size of the encryption header at the start of the table stream.
  void Word() {
    auto doc = ole_.ReadStream("WordDocument", kMaxStream);
    if (!doc || doc->size() < 68) return;
    const uint16_t flags = *office::ReadLe16(*doc, 0x0A);
    if ((flags & 0x0100) == 0) return;
    if (flags & 0x8000) return Encrypted("Word XOR obfuscation", "XOR obfuscation is not supported");
    const std::string table_name = (flags & 0x0200) ? "1Table" : "0Table";
    auto table = ole_.ReadStream(table_name, kMaxStream);
    if (!table) return Encrypted("Word encryption", table_name + " unreadable");
    const uint32_t lkey = *office::ReadLe32(*doc, 0x0E);
    auto enc = oc::ParseRc4Header(std::string_view(*table).substr(0, lkey));
    if (!enc) return Encrypted("Word encryption", enc.error().message());
    std::string base;
    size_t tried = 0;
    auto pw = TryAll(candidates_, kMaxRc4Tries, out_, [&](const std::string& p) {
      auto k = oc::Rc4BaseKey(*enc, p);
      if (k) base = std::move(*k);
      return k.has_value();
    }, tried);
    const char* scheme = enc->cryptoapi ? "RC4 CryptoAPI (.doc)" : "RC4 (.doc)";
    if (!pw) return Encrypted(scheme, NoPassword(tried));
    Decrypted(scheme, *pw);
    std::string plain_doc = *doc;
    oc::Rc4Apply(*enc, base, 512, plain_doc, 68, plain_doc.size());
    plain_doc[0x0B] = static_cast<char>(plain_doc[0x0B] & ~0x01);  // fEncrypted off
    std::string plain_table = *table;
    oc::Rc4Apply(*enc, base, 512, plain_table, lkey, plain_table.size());
    std::vector<std::pair<std::string, std::string>> streams = {{"WordDocument", std::move(plain_doc)},
                                                                {table_name, std::move(plain_table)}};
    if (auto data = ole_.ReadStream("Data", kMaxStream)) {
      oc::Rc4Apply(*enc, base, 512, *data, 0, data->size());
      streams.emplace_back("Data", std::move(*data));
    }
    out_.AddChild(Stem(object_.name) + ".decrypted.doc", office::WriteOle(streams));
  }

  // MS-PPT 2.3.7: the persist objects of "PowerPoint Document" are encrypted, one block each; the
  // decrypted presentation (its embedded storages, VBA included) is triaged as a child.
  void PowerPoint() {
    const char* scheme = "RC4 CryptoAPI (.ppt)";
    auto user = ole_.ReadStream("Current User", 1u << 16);
    auto doc = ole_.ReadStream("PowerPoint Document", kMaxStream);
    if (!user || !doc) return Encrypted(scheme, "Current User or PowerPoint Document unreadable");
    auto enc = oc::PowerPointEncryptionOf(*user, *doc);
    if (!enc) return Encrypted(scheme, enc.error().message());
    std::string base;
    size_t tried = 0;
    auto pw = TryAll(candidates_, kMaxRc4Tries, out_, [&](const std::string& p) {
      auto k = oc::Rc4BaseKey(enc->rc4, p);
      if (k) base = std::move(*k);
      return k.has_value();
    }, tried);
    if (!pw) return Encrypted(scheme, NoPassword(tried));
    Decrypted(scheme, *pw);
    std::vector<std::pair<std::string, std::string>> streams = {{"Current User", oc::PlainCurrentUser(*user)},
                                                                {"PowerPoint Document", oc::DecryptPowerPoint(*enc, base, *doc)}};
    out_.AddChild(Stem(object_.name) + ".decrypted.ppt", office::WriteOle(streams));
  }

  // MS-PPT 2.3.2: the CurrentUserAtom's headerToken is 0xF3D1C4DF when the document is encrypted.
  bool PowerPointEncrypted() const {
    if (ole_.HasStream("EncryptedSummary")) return true;
    auto user = ole_.ReadStream("Current User", 1u << 16);
    return user && office::ReadLe32(*user, 12) == 0xF3D1C4DFu;
  }

  std::string NoPassword(size_t tried) const {
    return "none of " + std::to_string(tried) + " candidate passwords worked (Excel's default " +
           std::string(kVelvetSweatshop) + ", passwords from the surrounding text and the file name, common ones)";
  }

  void Encrypted(const std::string& scheme, const std::string& why) {
    out_.AddFinding(Finding{"office.encrypted", 3, "Password-protected Office document, could not look inside",
                            "The content is encrypted and was not opened, so it was not inspected; attackers "
                            "encrypt documents (and send the password in the mail) to get past scanners.",
                            scheme + ": " + why, {"T1027"}});
  }

  void Decrypted(const std::string& scheme, const std::string& pw) {
    const bool velvet = pw == kVelvetSweatshop;
    out_.AddFinding(Finding{
        "office.decrypted", 3,
        velvet ? "Office document encrypted with Excel's built-in default password, decrypted"
               : "Encrypted Office document opened with a password from its surroundings",
        velvet ? "Excel opens files encrypted with \"VelvetSweatshop\" without asking, so this encryption only "
                 "hides the content from scanners (Excel also uses it for write-protected workbooks). The "
                 "decrypted document is triaged as a child."
               : "Sending a document with its password alongside is a common way past mail filters. The "
                 "decrypted document is triaged as a child.",
        scheme + "; password: " + pw, {"T1027"}});
  }

  const Object& object_;
  const office::OleFile& ole_;
  AnalyzerOutput& out_;
  std::vector<std::string> candidates_;
};

}  // namespace

bool OfficeDecryptUnpacker::Accepts(const Object& object) const { return office::LooksLikeOle(object.data); }

void OfficeDecryptUnpacker::Analyze(const Object& object, AnalyzerOutput& out) {
  auto ole = office::OleFile::Open(object.data);
  if (!ole) return;
  Decryptor(object, *ole, out).Run();
}

}  // namespace airlock::scan
