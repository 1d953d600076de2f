// Encrypted Office documents (MS-OFFCRYPTO, office_crypto.h): OOXML inside an OLE container
// (EncryptionInfo + EncryptedPackage; ECMA-376 agile and standard), .xls with a FILEPASS record and
// .doc with fEncrypted (RC4 and RC4 CryptoAPI). The candidates are Excel's built-in default
// "VelvetSweatshop" (Excel opens such files without asking, so the encryption only blinds scanners),
// then the archive path's candidates (passwords.h PasswordCandidates over NearbyText: mail bodies and
// subjects, comments of the zips it came in, names of the file and its containers). A password that works gives `office.decrypted` and the
// decrypted document as a child (OOXML package as "<stem>.decrypted.<ext>", binary documents as a
// rebuilt OLE file with the decrypted streams), which the engine triages like any other; none gives
// `office.encrypted` ("could not look inside"). PowerPoint encryption is detected, not decrypted.
#pragma once

#include <string_view>

#include "scan/analyzer.h"

namespace airlock::scan {

class OfficeDecryptUnpacker final : public Analyzer {
 public:
  std::string_view Name() const override { return "office-decrypt"; }
  bool Accepts(const Object& object) const override;
  void Analyze(const Object& object, AnalyzerOutput& out) override;
};

}  // namespace airlock::scan
