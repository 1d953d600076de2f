// Encrypted Office documents (office_decrypt_unpacker.h): documents are built and encrypted here, at
// test time, by encryptors written in this file from MS-OFFCRYPTO (agile, standard, RC4 CryptoAPI),
// independent of the decryptor under test; when Debian's msoffcrypto-tool is installed it decrypts
// each generated file too, so the inputs are known to be what Office and other tools read.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <optional>

#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/engine.h"
#include "scan/unpack/office_crypto.h"
#include "scan/unpack/passwords.h"
#include "scan/unpack/ppt_crypto.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

using test::FindWithFinding;
using test::HasFinding;

using test::Scan;

using test::Le16;
using test::Le32;
std::string U32(uint32_t v) {
  std::string s;
  Le32(s, v);
  return s;
}

std::string Sha(const EVP_MD* md, const std::string& a, const std::string& b = "") {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned len = 0;
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, md, nullptr);
  EVP_DigestUpdate(c, a.data(), a.size());
  EVP_DigestUpdate(c, b.data(), b.size());
  EVP_DigestFinal_ex(c, reinterpret_cast<unsigned char*>(out.data()), &len);
  EVP_MD_CTX_free(c);
  out.resize(len);
  return out;
}

// AES encryption without padding (input padded with zeros to whole blocks).
std::string AesEnc(const std::string& key, const std::string& iv, std::string in, bool cbc) {
  in.resize((in.size() + 15) / 16 * 16, '\0');
  const EVP_CIPHER* c = key.size() == 32 ? (cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb())
                                         : (cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, c, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                     cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  std::string out(in.size() + 16, '\0');
  int len = 0, fin = 0;
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                    reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &fin);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

std::string Utf16(const std::string& ascii) {
  std::string s;
  for (char c : ascii) Le16(s, static_cast<uint8_t>(c));
  return s;
}

std::string B64(const std::string& s) { return test::Base64(s); }

// ECMA-376 agile (MS-OFFCRYPTO 2.3.4.10-2.3.4.15): SHA-512, AES-256-CBC, spin `spin`. The
// dataIntegrity HMAC is a placeholder: neither airlock nor msoffcrypto-tool (by default) checks it.
std::string EncryptAgile(const std::string& package, const std::string& password, uint32_t spin = 100000) {
  const EVP_MD* md = EVP_sha512();
  const std::string key_salt(16, '\x11'), pw_salt(16, '\x22'), secret(32, '\x33'), verifier(16, '\x44');
  std::string h = Sha(md, pw_salt, Utf16(password));
  for (uint32_t i = 0; i < spin; ++i) h = Sha(md, U32(i), h);
  auto block_key = [&](const char* b) { return Sha(md, h, std::string(b, 8)).substr(0, 32); };
  const std::string enc_input = AesEnc(block_key("\xfe\xa7\xd2\x76\x3b\x4b\x9e\x79"), pw_salt, verifier, true);
  const std::string enc_hash = AesEnc(block_key("\xd7\xaa\x0f\x6d\x30\x61\x34\x4e"), pw_salt, Sha(md, verifier), true);
  const std::string enc_key = AesEnc(block_key("\x14\x6e\x0b\xe7\xab\xac\xd0\xd6"), pw_salt, secret, true);
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<encryption "
      "xmlns=\"http://schemas.microsoft.com/office/2006/encryption\" "
      "xmlns:p=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\"><keyData saltSize=\"16\" "
      "blockSize=\"16\" keyBits=\"256\" hashSize=\"64\" cipherAlgorithm=\"AES\" cipherChaining=\"ChainingModeCBC\" "
      "hashAlgorithm=\"SHA512\" saltValue=\"" + B64(key_salt) + "\"/><dataIntegrity encryptedHmacKey=\"" +
      B64(std::string(64, '\x5a')) + "\" encryptedHmacValue=\"" + B64(std::string(64, '\x5b')) +
      "\"/><keyEncryptors><keyEncryptor "
      "uri=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\"><p:encryptedKey spinCount=\"" +
      std::to_string(spin) + "\" saltSize=\"16\" blockSize=\"16\" keyBits=\"256\" hashSize=\"64\" "
      "cipherAlgorithm=\"AES\" cipherChaining=\"ChainingModeCBC\" hashAlgorithm=\"SHA512\" saltValue=\"" +
      B64(pw_salt) + "\" encryptedVerifierHashInput=\"" + B64(enc_input) + "\" encryptedVerifierHashValue=\"" +
      B64(enc_hash) + "\" encryptedKeyValue=\"" + B64(enc_key) + "\"/></keyEncryptor></keyEncryptors></encryption>";
  std::string info;
  Le16(info, 4);
  Le16(info, 4);
  Le32(info, 0x40);
  info += xml;
  std::string pkg = U32(static_cast<uint32_t>(package.size())) + U32(0);
  for (size_t i = 0, seg = 0; i < package.size(); i += 4096, ++seg) {
    const std::string iv = Sha(md, key_salt, U32(static_cast<uint32_t>(seg))).substr(0, 16);
    pkg += AesEnc(secret, iv, package.substr(i, 4096), true);
  }
  return office::WriteOle({{"EncryptionInfo", info}, {"EncryptedPackage", pkg}});
}

// EncryptionVersionInfo 4.2, the flags, the EncryptionHeader and the EncryptionVerifier (salt,
// encrypted verifier and its hash), as standard (MS-OFFCRYPTO 2.3.4.5) and RC4 CryptoAPI (2.3.5.1)
// encryption write them.
std::string VersionHeaderVerifier(uint32_t flags, const std::string& header, const std::string& salt,
                                  const std::string& verifier, const std::string& verifier_hash) {
  std::string out;
  Le16(out, 4);
  Le16(out, 2);
  Le32(out, flags);
  Le32(out, static_cast<uint32_t>(header.size()));
  out += header;
  Le32(out, 16);
  out += salt + verifier;
  Le32(out, 20);  // VerifierHashSize: SHA-1's, whatever the encrypted hash's padded length
  return out + verifier_hash;
}

// ECMA-376 standard (2.3.4.5-2.3.4.9): SHA-1 x 50000, AES-128-ECB.
std::string EncryptStandard(const std::string& package, const std::string& password) {
  const EVP_MD* md = EVP_sha1();
  const std::string salt(16, '\x55'), verifier(16, '\x66');
  std::string h = Sha(md, salt, Utf16(password));
  for (uint32_t i = 0; i < 50000; ++i) h = Sha(md, U32(i), h);
  const std::string hfinal = Sha(md, h, U32(0));
  std::string b1(64, '\x36'), b2(64, '\x5c');
  for (size_t i = 0; i < 20; ++i) {
    b1[i] = static_cast<char>(b1[i] ^ hfinal[i]);
    b2[i] = static_cast<char>(b2[i] ^ hfinal[i]);
  }
  const std::string key = (Sha(md, b1) + Sha(md, b2)).substr(0, 16);
  std::string header;
  Le32(header, 0x24);    // flags: fCryptoAPI | fAES
  Le32(header, 0);       // sizeExtra
  Le32(header, 0x660E);  // AES-128
  Le32(header, 0x8004);  // SHA-1
  Le32(header, 128);
  Le32(header, 0x18);  // PROV_RSA_AES
  Le32(header, 0);
  Le32(header, 0);
  header += Utf16("Microsoft Enhanced RSA and AES Cryptographic Provider") + std::string(2, '\0');
  std::string info = VersionHeaderVerifier(0x24, header, salt, AesEnc(key, "", verifier, false),
                                           AesEnc(key, "", Sha(md, verifier), false));
  std::string pkg = U32(static_cast<uint32_t>(package.size())) + U32(0) + AesEnc(key, "", package, false);
  return office::WriteOle({{"EncryptionInfo", info}, {"EncryptedPackage", pkg}});
}

class Rc4 {
 public:
  explicit Rc4(const std::string& key) {
    for (int i = 0; i < 256; ++i) s_[i] = static_cast<uint8_t>(i);
    for (int i = 0, j = 0; i < 256; ++i) {
      j = (j + s_[i] + static_cast<uint8_t>(key[i % key.size()])) & 0xFF;
      std::swap(s_[i], s_[j]);
    }
  }
  uint8_t Next() {
    i_ = (i_ + 1) & 0xFF;
    j_ = (j_ + s_[i_]) & 0xFF;
    std::swap(s_[i_], s_[j_]);
    return s_[(s_[i_] + s_[j_]) & 0xFF];
  }

 private:
  std::array<uint8_t, 256> s_{};
  int i_ = 0, j_ = 0;
};

// A BIFF8 workbook (BOF, FILEPASS when `filepass` is given, BOUNDSHEET of a hidden macro sheet, EOF,
// then the sheet: FORMULA =EXEC("cmd /c calc.exe") in a hidden macro sheet when `exec`, else =1+1 in a
// worksheet).
std::string Workbook(const std::string& filepass, bool exec) {
  auto rec = [](std::string& s, uint16_t type, const std::string& data) {
    Le16(s, type);
    Le16(s, static_cast<uint16_t>(data.size()));
    s += data;
  };
  std::string g;
  std::string bof;
  Le16(bof, 0x0600);
  Le16(bof, 0x0005);
  bof += std::string(12, '\0');
  rec(g, 0x0809, bof);
  if (!filepass.empty()) rec(g, 0x002F, filepass);
  // exec: a hidden macro sheet; else a visible worksheet.
  std::string sheet = U32(0) + std::string(exec ? "\x01\x01\x06\x00" : "\x00\x00\x06\x00", 4) + "Macro1";
  const size_t ply_at = g.size() + 4;
  rec(g, 0x0085, sheet);
  rec(g, 0x000A, "");
  const uint32_t ply = static_cast<uint32_t>(g.size());
  for (int i = 0; i < 4; ++i) g[ply_at + i] = static_cast<char>((ply >> (8 * i)) & 0xFF);
  std::string mbof;
  Le16(mbof, 0x0600);
  Le16(mbof, 0x0040);
  mbof += std::string(12, '\0');
  rec(g, 0x0809, mbof);
  std::string rgce;
  if (exec) {
    const std::string cmd = "cmd /c calc.exe";
    rgce += std::string("\x17", 1) + static_cast<char>(cmd.size()) + std::string(1, '\0') + cmd;
    rgce += std::string("\x42\x01\x6E\x00", 4);  // ptgFuncVar argc=1 EXEC
  } else {
    rgce += std::string("\x1E\x01\x00\x1E\x01\x00\x03", 7);  // 1 + 1
  }
  std::string formula(20, '\0');
  Le16(formula, static_cast<uint16_t>(rgce.size()));
  rec(g, 0x0006, formula + rgce);
  rec(g, 0x000A, "");
  return g;
}

// RC4 CryptoAPI (MS-OFFCRYPTO 2.3.5.1), 128-bit SHA-1 keys, a fixed salt: the header from its
// EncryptionVersionInfo (4.2) on, as FILEPASS and PowerPoint's CryptSession10Container carry it, and
// the RC4 key of each block.
struct CryptoApi {
  std::string header;
  std::function<std::string(uint32_t)> key;
};
CryptoApi MakeCryptoApi(const std::string& password) {
  const EVP_MD* sha1 = EVP_sha1();
  const std::string salt(16, '\x77'), verifier(16, '\x12');
  const std::string base = Sha(sha1, salt, Utf16(password));
  auto key = [sha1, base](uint32_t block) { return Sha(sha1, base, U32(block)).substr(0, 16); };
  Rc4 v(key(0));
  std::string enc_verifier = verifier, enc_hash = Sha(sha1, verifier);
  for (auto& c : enc_verifier) c = static_cast<char>(c ^ v.Next());
  for (auto& c : enc_hash) c = static_cast<char>(c ^ v.Next());
  std::string header;
  Le32(header, 0x04);  // fCryptoAPI
  Le32(header, 0);
  Le32(header, 0x6801);  // RC4
  Le32(header, 0x8004);  // SHA-1
  Le32(header, 128);
  Le32(header, 1);  // PROV_RSA_FULL
  Le32(header, 0);
  Le32(header, 0);
  header += Utf16("Microsoft Enhanced Cryptographic Provider v1.0") + std::string(2, '\0');
  return {VersionHeaderVerifier(0x04, header, salt, enc_verifier, enc_hash), key};
}

// RC4 CryptoAPI, FILEPASS per MS-XLS 2.4.117, records encrypted per 2.2.10.
std::string EncryptedXls(const std::string& password, bool exec) {
  const CryptoApi api = MakeCryptoApi(password);
  const auto& key = api.key;
  std::string fp;
  Le16(fp, 1);  // RC4
  fp += api.header;
  std::string wb = Workbook(fp, exec);
  // Keystream by stream position, re-keyed every 1024 bytes; headers, BOF, FILEPASS and
  // BOUNDSHEET's lbPlyPos stay clear.
  std::string ks;
  for (uint32_t block = 0; ks.size() < wb.size(); ++block) {
    Rc4 r(key(block));
    for (int i = 0; i < 1024; ++i) ks.push_back(static_cast<char>(r.Next()));
  }
  for (size_t pos = 0; pos + 4 <= wb.size();) {
    const uint16_t type = static_cast<uint8_t>(wb[pos]) | static_cast<uint8_t>(wb[pos + 1]) << 8;
    const uint16_t len = static_cast<uint8_t>(wb[pos + 2]) | static_cast<uint8_t>(wb[pos + 3]) << 8;
    size_t from = pos + 4;
    if (type == 0x0085) from += 4;
    if (type != 0x0809 && type != 0x002F) {
      for (size_t i = from; i < pos + 4 + len; ++i) wb[i] = static_cast<char>(wb[i] ^ ks[i]);
    }
    pos += 4 + len;
  }
  return office::WriteOle({{"Workbook", wb}});
}

// A Word binary encrypted with RC4 "Office 97" (MS-OFFCRYPTO 2.3.6; MS-DOC 2.2.6.2): FIB base with
// fEncrypted|fWhichTblStm and lKey = the header size, the header at the start of 1Table, the
// WordDocument stream from byte 68 and the table stream after the header encrypted with 512-byte
// re-keying. The text holds a DDEAUTO field when `dde`.
std::string EncryptedDoc(const std::string& password, bool dde) {
  const EVP_MD* md5 = EVP_md5();
  const std::string salt(16, '\x3c'), verifier(16, '\x5d');
  const std::string h0 = Sha(md5, Utf16(password));
  std::string buf;
  for (int i = 0; i < 16; ++i) buf += h0.substr(0, 5) + salt;
  const std::string h1 = Sha(md5, buf);
  auto key = [&](uint32_t block) { return Sha(md5, h1.substr(0, 5), U32(block)); };
  Rc4 v(key(0));
  std::string enc_verifier = verifier, enc_hash = Sha(md5, verifier);
  for (auto& c : enc_verifier) c = static_cast<char>(c ^ v.Next());
  for (auto& c : enc_hash) c = static_cast<char>(c ^ v.Next());
  std::string header;
  Le16(header, 1);
  Le16(header, 1);
  header += salt + enc_verifier + enc_hash;
  std::string doc(0x200, '\0');
  doc[0] = '\xEC';
  doc[1] = '\xA5';
  doc[2] = '\xC1';  // nFib 0x00C1
  doc[0x0A] = '\x00';
  doc[0x0B] = '\x03';  // fEncrypted | fWhichTblStm
  doc[0x0E] = static_cast<char>(header.size());
  doc += dde ? "Dear customer,\r\x13 DDEAUTO c:\\windows\\system32\\cmd.exe \"/k calc.exe\" \x14\x15\r"
             : "Dear customer,\rplease find the order below.\r";
  doc += std::string(1200, 'x');
  std::string table = header + std::string(700, '\x01');
  auto encrypt = [&](std::string& s, size_t from) {
    std::string ks;
    for (uint32_t block = 0; ks.size() < s.size(); ++block) {
      Rc4 r(key(block));
      for (int i = 0; i < 512; ++i) ks.push_back(static_cast<char>(r.Next()));
    }
    for (size_t i = from; i < s.size(); ++i) s[i] = static_cast<char>(s[i] ^ ks[i]);
  };
  encrypt(doc, 68);
  encrypt(table, header.size());
  return office::WriteOle({{"WordDocument", doc}, {"1Table", table}});
}

std::string Docx(bool dde) {
  const std::string body =
      dde ? "<w:p><w:fldSimple w:instr=' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\" '/></w:p>"
          : "<w:p><w:r><w:t>Quarterly figures attached.</w:t></w:r></w:p>";
  const std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document "
      "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" + body +
      "</w:body></w:document>";
  const std::string types =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types "
      "xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Override PartName=\"/word/document.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
  return test::MakeArchive("zip", {{"[Content_Types].xml", types}, {"word/document.xml", doc}});
}

// msoffcrypto-tool's decryption of `file` (an independent implementation), or nullopt when it is not
// installed; a failure to decrypt fails the test, since a generator bug would otherwise test the
// decryptor against itself.
std::optional<std::string> Msoffcrypto(const std::string& file, const std::string& password) {
  if (access("/usr/bin/msoffcrypto-tool", X_OK) != 0) {
    std::fprintf(stderr, "note: msoffcrypto-tool not installed (Debian python3-msoffcrypto-tool): "
                         "generated samples not cross-checked\n");
    return std::nullopt;
  }
  auto dir = std::filesystem::temp_directory_path() / ("airlock-offcrypto-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "in", std::ios::binary) << file; }
  const std::string cmd = "/usr/bin/msoffcrypto-tool -p '" + password + "' '" + (dir / "in").string() + "' '" +
                          (dir / "out").string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(dir / "out", std::ios::binary);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << "msoffcrypto-tool could not decrypt the generated sample";
  return out;
}

// OOXML: msoffcrypto-tool's package must be the plaintext package.
void CrossCheck(const std::string& file, const std::string& password, const std::string& expect) {
  if (auto out = Msoffcrypto(file, password)) {
    EXPECT_EQ(*out, expect);
  }
}

// Binary documents: msoffcrypto-tool's decrypted `stream` (from byte `from`) must equal ours, so
// the keystream positions are checked against an independent implementation, not only the password.
void CrossCheckStream(const std::string& file, const std::string& password, const std::string& stream, size_t from,
                      const std::string& ours) {
  auto out = Msoffcrypto(file, password);
  if (!out) return;
  auto ole = office::OleFile::Open(*out);
  ASSERT_TRUE(ole.has_value());
  auto theirs = ole->ReadStream(stream);
  ASSERT_TRUE(theirs.has_value());
  ASSERT_EQ(theirs->size(), ours.size());
  EXPECT_TRUE(theirs->substr(from) == ours.substr(from)) << stream << " differs from msoffcrypto-tool's";
}

const ObjectReport* Decrypted(const InputReport& r) {
  return test::FindObject(r.root, [](const ObjectReport& o) { return o.name.find(".decrypted.") != std::string::npos; });
}

TEST(OfficeDecrypt, AgileDocxWithDefaultPasswordIsOpenedAndItsDdeFound) {
  const std::string plain = Docx(true);
  const std::string file = EncryptAgile(plain, "VelvetSweatshop");
  CrossCheck(file, "VelvetSweatshop", plain);
  InputReport r = Scan("invoice.docx", file);
  EXPECT_TRUE(HasFinding(r.root, "office.decrypted"));
  EXPECT_NE(test::FindingEvidence(r.root, "office.decrypted").find("ECMA-376 agile; password: VelvetSweatshop"),
            std::string::npos);
  ASSERT_NE(Decrypted(r), nullptr);
  EXPECT_NE(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST(OfficeDecrypt, AgileCleanControlIsOpenedAndClean) {
  InputReport r = Scan("invoice.docx", EncryptAgile(Docx(false), "VelvetSweatshop"));
  EXPECT_TRUE(HasFinding(r.root, "office.decrypted"));
  ASSERT_NE(Decrypted(r), nullptr);
  EXPECT_EQ(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean) << r.root.assessment.score;
}

TEST(OfficeDecrypt, StandardDocxWithPasswordFromMailBody) {
  const std::string plain = Docx(true);
  const std::string file = EncryptStandard(plain, "Qx7-dd91");
  CrossCheck(file, "Qx7-dd91", plain);
  InputReport r = Scan("mail.eml", test::MakeMail("Hi, the document password is Qx7-dd91 as agreed.\n", "order.docx", file));
  EXPECT_NE(test::FindingEvidence(*FindWithFinding(r.root, "office.decrypted"), "office.decrypted")
                .find("ECMA-376 standard; password: Qx7-dd91"),
            std::string::npos);
  EXPECT_NE(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST(OfficeDecrypt, PasswordFromFileName) {
  const std::string file = EncryptAgile(Docx(true), "4711", 1000);
  InputReport r = Scan("order_password_4711.docx", file);
  EXPECT_NE(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(NameAsText("dir/Invoice_pw-4711.xlsx"), "Invoice pw 4711");
}

TEST(OfficeDecrypt, PasswordFromZipComment) {
  const std::string file = EncryptAgile(Docx(true), "k7-Wq2", 1000);
  std::string zip = test::MakeArchive("zip", {{"order.docx", file}});
  const size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  ASSERT_NE(eocd, std::string::npos);
  const std::string comment = "Kennwort: k7-Wq2";
  zip.resize(eocd + 20);
  zip.push_back(static_cast<char>(comment.size()));
  zip.push_back('\0');
  zip += comment;
  InputReport r = Scan("order.zip", zip);
  EXPECT_NE(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

// The password only in the mail's Subject, for a document and (the same mechanism) for a zip.
TEST(OfficeDecrypt, PasswordFromMailSubject) {
  auto subject = [](std::string mail) {
    return mail.replace(mail.find("Subject: documents"), 18, "Subject: Order 7781 (pw: Lm3-71x)");
  };
  InputReport r = Scan("mail.eml", subject(test::MakeMail("See attached.\n", "order.docx",
                                                          EncryptAgile(Docx(true), "Lm3-71x", 1000))));
  EXPECT_NE(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  InputReport z = Scan("mail.eml", subject(test::MakeMail("See attached.\n", "order.zip",
                                                          test::MakeArchive("zip", {{"a.txt", test::Eicar()}}, "Lm3-71x"))));
  EXPECT_NE(FindWithFinding(z.root, "archive.password"), nullptr);
  EXPECT_NE(FindWithFinding(z.root, "yara.EICAR_Test_File"), nullptr);
}

TEST(OfficeDecrypt, UnknownPasswordKeepsCouldNotLookInside) {
  InputReport r = Scan("invoice.docx", EncryptAgile(Docx(true), "not-in-any-list-9", 1000));
  const ObjectReport* o = FindWithFinding(r.root, "office.encrypted");
  ASSERT_NE(o, nullptr);
  EXPECT_NE(test::FindingEvidence(*o, "office.encrypted").find("none of"), std::string::npos);
  EXPECT_FALSE(HasFinding(r.root, "office.decrypted"));
  EXPECT_EQ(Decrypted(r), nullptr);
}

TEST(OfficeDecrypt, Rc4CryptoApiXlsWithExcel4MacroIsOpened) {
  const std::string file = EncryptedXls("VelvetSweatshop", true);
  {
    namespace oc = office_crypto;
    const std::string wb = *office::OleFile::Open(file)->ReadStream("Workbook");
    auto enc = oc::WorkbookEncryption(wb);
    ASSERT_TRUE(enc && *enc);
    auto base = oc::Rc4BaseKey(**enc, "VelvetSweatshop");
    ASSERT_TRUE(base.has_value());
    CrossCheckStream(file, "VelvetSweatshop", "Workbook", 0, oc::DecryptWorkbook(**enc, *base, wb));
  }
  InputReport r = Scan("report.xls", file);
  EXPECT_NE(test::FindingEvidence(r.root, "office.decrypted").find("RC4 CryptoAPI (.xls)"), std::string::npos);
  const ObjectReport* x = FindWithFinding(r.root, "office.xlm.exec");
  ASSERT_NE(x, nullptr);
  EXPECT_NE(test::FindingEvidence(*x, "office.xlm.exec").find("cmd /c calc.exe"), std::string::npos);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST(OfficeDecrypt, Rc4CryptoApiXlsCleanControl) {
  InputReport r = Scan("report.xls", EncryptedXls("VelvetSweatshop", false));
  EXPECT_TRUE(HasFinding(r.root, "office.decrypted"));
  EXPECT_EQ(FindWithFinding(r.root, "office.xlm.exec"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean) << r.root.assessment.score;
  InputReport wrong = Scan("report.xls", EncryptedXls("another-secret-77", true));
  EXPECT_TRUE(HasFinding(wrong.root, "office.encrypted"));
  EXPECT_EQ(FindWithFinding(wrong.root, "office.xlm.exec"), nullptr);
}

TEST(OfficeDecrypt, Rc4DocWithDdeIsOpened) {
  const std::string file = EncryptedDoc("VelvetSweatshop", true);
  {
    namespace oc = office_crypto;
    auto ole = office::OleFile::Open(file);
    std::string doc = *ole->ReadStream("WordDocument");
    auto enc = oc::ParseRc4Header(*ole->ReadStream("1Table"));
    ASSERT_TRUE(enc.has_value());
    auto base = oc::Rc4BaseKey(*enc, "VelvetSweatshop");
    ASSERT_TRUE(base.has_value());
    oc::Rc4Apply(*enc, *base, 512, doc, 68, doc.size());
    CrossCheckStream(file, "VelvetSweatshop", "WordDocument", 68, doc);
  }
  InputReport r = Scan("letter.doc", file);
  EXPECT_NE(test::FindingEvidence(r.root, "office.decrypted").find("RC4 (.doc)"), std::string::npos);
  const ObjectReport* d = FindWithFinding(r.root, "office.dde");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d->name.find(".decrypted.doc"), std::string::npos);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST(OfficeDecrypt, Rc4DocCleanControl) {
  InputReport r = Scan("letter.doc", EncryptedDoc("VelvetSweatshop", false));
  EXPECT_TRUE(HasFinding(r.root, "office.decrypted"));
  EXPECT_EQ(FindWithFinding(r.root, "office.dde"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean) << r.root.assessment.score;
}

// A real presentation encrypted with RC4 CryptoAPI as PowerPoint saves one (MS-PPT 2.3.7: an
// encrypted document has exactly one UserEditAtom): every persist object of the edit chain encrypted
// as one block numbered by its persist id; then appended a CryptSession10Container (a persist object
// of a new id), one PersistDirectoryAtom of every object and the container, and the one UserEditAtom
// (0x20 bytes: encryptSessionPersistIdRef, no earlier edit); the CurrentUserAtom's headerToken
// 0xF3D1C4DF pointing at it. The old edit records stay in the stream, unreferenced.
std::string EncryptPpt(const std::string& ppt, const std::string& password) {
  auto ole = office::OleFile::Open(ppt);
  EXPECT_TRUE(ole.has_value());
  std::string user = *ole->ReadStream("Current User"), doc = *ole->ReadStream("PowerPoint Document");
  auto le32 = [](const std::string& d, size_t at) { return *office::ReadLe32(d, at); };
  const uint32_t old_edit = le32(user, 16);
  std::map<uint32_t, uint32_t> persist;  // the whole chain, newest first
  for (uint32_t at = old_edit; at != 0; at = le32(doc, at + 16)) {
    const uint32_t dir = le32(doc, at + 20), end = dir + 8 + le32(doc, dir + 4);
    for (uint32_t p = dir + 8; p < end;) {
      const uint32_t e = le32(doc, p), n = e >> 20;
      for (uint32_t i = 0; i < n; ++i) persist.emplace((e & 0xFFFFF) + i, le32(doc, p + 4 + 4 * i));
      p += 4 + 4 * n;
    }
  }
  const CryptoApi api = MakeCryptoApi(password);
  for (const auto& [id, at] : persist) {
    Rc4 rc4(api.key(id));
    const size_t end = at + 8 + le32(doc, at + 4);
    for (size_t i = at; i < end; ++i) doc[i] = static_cast<char>(doc[i] ^ rc4.Next());
  }
  const uint32_t session = le32(doc, old_edit + 28) + 1;  // persistIdSeed + 1
  const uint32_t container_at = static_cast<uint32_t>(doc.size());
  Le16(doc, 0x000F);
  Le16(doc, 0x2F14);
  Le32(doc, static_cast<uint32_t>(api.header.size()));
  doc += api.header;
  persist[session] = container_at;
  std::string entries;  // runs of consecutive ids
  for (auto it = persist.begin(); it != persist.end();) {
    auto run = it;
    uint32_t n = 0;
    std::string offsets;
    for (; it != persist.end() && it->first == run->first + n; ++it, ++n) offsets += U32(it->second);
    entries += U32(run->first | (n << 20)) + offsets;
  }
  const uint32_t dir_at = static_cast<uint32_t>(doc.size());
  Le16(doc, 0);
  Le16(doc, 0x1772);
  Le32(doc, static_cast<uint32_t>(entries.size()));
  doc += entries;
  const uint32_t edit_at = static_cast<uint32_t>(doc.size());
  std::string edit = doc.substr(old_edit, 8 + 0x1C);
  edit[4] = 0x20;  // recLen: with encryptSessionPersistIdRef
  for (auto [off, v] : {std::pair<size_t, uint32_t>{16, 0}, {20, dir_at}, {28, session}}) {
    for (int i = 0; i < 4; ++i) edit[off + size_t(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  doc += edit + U32(session);
  for (auto [off, v] : {std::pair<size_t, uint32_t>{12, 0xF3D1C4DFu}, {16, edit_at}}) {
    for (int i = 0; i < 4; ++i) user[off + size_t(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  return office::WriteOle({{"Current User", user}, {"PowerPoint Document", doc}});
}

constexpr const char* kClamPpt = "/usr/share/clamav-testfiles/clam.ppt";

// clamav-testfiles' clam.ppt (an ExOleObjStg packaging ClamAV's harmless test program) encrypted with
// Excel's default password: decrypted, and the packaged program found in the decrypted child; the
// same with a password nobody gives stays "could not look inside".
TEST(OfficeDecrypt, PowerPointWithTheDefaultPasswordIsDecryptedAndItsObjectsJudged) {
  if (access(kClamPpt, R_OK) != 0) GTEST_SKIP() << "clamav-testfiles is not installed (scripts/install-deps.sh)";
  std::ifstream in(kClamPpt, std::ios::binary);
  const std::string plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ObjectReport* packaged = nullptr;
  InputReport control = Scan("deck.ppt", plain);
  ASSERT_NE(packaged = FindWithFinding(control.root, "office.ole.package"), nullptr) << "the plain presentation's package";
  InputReport r = Scan("deck.ppt", EncryptPpt(plain, "VelvetSweatshop"));
  EXPECT_TRUE(HasFinding(r.root, "office.decrypted"));
  EXPECT_NE(test::FindingEvidence(r.root, "office.decrypted").find("RC4 CryptoAPI (.ppt)"), std::string::npos);
  EXPECT_NE(FindWithFinding(r.root, "office.ole.package"), nullptr) << "the packaged program, found after decryption";
  EXPECT_EQ(r.root.assessment.verdict, control.root.assessment.verdict);

  InputReport locked = Scan("deck.ppt", EncryptPpt(plain, "k8#Qz!unguessable"));
  EXPECT_NE(test::FindingEvidence(locked.root, "office.encrypted").find("candidate passwords worked"), std::string::npos);
  EXPECT_EQ(FindWithFinding(locked.root, "office.ole.package"), nullptr);
}

// The generated presentation against an independent implementation: msoffcrypto-tool's decryption and
// ours both give back every persist object of the original byte for byte (msoffcrypto-tool also
// rewrites the edit records and blanks the session container, so objects are compared, not streams).
TEST(OfficeDecrypt, PowerPointEncryptionCrossChecksWithMsoffcrypto) {
  if (access(kClamPpt, R_OK) != 0) GTEST_SKIP() << "clamav-testfiles is not installed (scripts/install-deps.sh)";
  namespace oc = office_crypto;
  std::ifstream in(kClamPpt, std::ios::binary);
  const std::string plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string file = EncryptPpt(plain, "VelvetSweatshop");
  auto enc_ole = office::OleFile::Open(file);
  ASSERT_TRUE(enc_ole.has_value());
  const std::string user = *enc_ole->ReadStream("Current User"), doc = *enc_ole->ReadStream("PowerPoint Document");
  auto enc = oc::PowerPointEncryptionOf(user, doc);
  ASSERT_TRUE(enc) << enc.error().message();
  const std::string ours = oc::DecryptPowerPoint(*enc, *oc::Rc4BaseKey(enc->rc4, "VelvetSweatshop"), doc);
  const std::string original = *office::OleFile::Open(plain)->ReadStream("PowerPoint Document");
  std::optional<std::string> theirs;
  if (auto out = Msoffcrypto(file, "VelvetSweatshop")) {
    auto decrypted = office::OleFile::Open(*out);
    ASSERT_TRUE(decrypted.has_value()) << "msoffcrypto-tool's output is not an OLE file";
    auto stream = decrypted->ReadStream("PowerPoint Document");
    ASSERT_TRUE(stream.has_value());
    theirs = *stream;
  }
  size_t compared = 0, cross_checked = 0;
  for (const auto& [id, at] : enc->persist) {
    if (id == enc->session_id) continue;
    const size_t len = 8 + *office::ReadLe32(original, at + 4);
    EXPECT_TRUE(ours.substr(at, len) == original.substr(at, len)) << "persist object " << id << " (ours)";
    // msoffcrypto-tool 5.0 takes an object's length from the next id's offset (its own "TODO: Fix
    // here"): objects laid out out of id order it decrypts short, and those are not compared.
    auto next = enc->persist.upper_bound(id);
    const bool in_order = next != enc->persist.end() && next->second >= at + len;
    if (theirs && in_order) {
      EXPECT_TRUE(theirs->substr(at, len) == original.substr(at, len)) << "persist object " << id << " (msoffcrypto-tool)";
      ++cross_checked;
    }
    ++compared;
  }
  EXPECT_GE(compared, 3u);
  if (theirs) {
    EXPECT_GE(cross_checked, 3u);
  }
}

// Only the CurrentUserAtom says "encrypted" (no edit behind it, so no CryptSession10Container):
// reported as not opened, naming what is missing; a plain presentation's token (0xE391C05F) is not reported at all.
TEST(OfficeDecrypt, EncryptedPowerPointWithoutItsStructuresIsReportedNotOpened) {
  auto ppt = [](uint32_t token) {
    std::string user;
    Le16(user, 0);
    Le16(user, 0x0FF6);
    Le32(user, 20);
    Le32(user, 20);
    Le32(user, token);
    user += std::string(16, '\0');
    return office::WriteOle({{"Current User", user}, {"PowerPoint Document", std::string(64, '\0')}});
  };
  InputReport r = Scan("deck.ppt", ppt(0xF3D1C4DF));
  EXPECT_NE(test::FindingEvidence(r.root, "office.encrypted").find("no CryptSession10Container"), std::string::npos)
      << test::FindingEvidence(r.root, "office.encrypted");
  EXPECT_FALSE(HasFinding(Scan("deck.ppt", ppt(0xE391C05F)).root, "office.encrypted"));
}

// Hostile presentations: every truncation and many corruptions of an encrypted document parse to an
// error or decrypt within the stream, never crash; a chain that loops is refused.
TEST(OfficeDecrypt, HostilePowerPointStructuresAreErrors) {
  if (access(kClamPpt, R_OK) != 0) GTEST_SKIP() << "clamav-testfiles is not installed (scripts/install-deps.sh)";
  namespace oc = office_crypto;
  std::ifstream in(kClamPpt, std::ios::binary);
  const std::string plain((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string file = EncryptPpt(plain, "x");  // the OLE reader reads from it: it must outlive `ole`
  auto ole = office::OleFile::Open(file);
  ASSERT_TRUE(ole.has_value());
  const std::string user = *ole->ReadStream("Current User"), doc = *ole->ReadStream("PowerPoint Document");
  auto enc = oc::PowerPointEncryptionOf(user, doc);
  ASSERT_TRUE(enc) << enc.error().message();
  auto base = oc::Rc4BaseKey(enc->rc4, "x");
  ASSERT_TRUE(base);
  for (size_t n = 0; n < doc.size(); n += 97) {
    auto e = oc::PowerPointEncryptionOf(user, doc.substr(0, n));
    if (e) {
      EXPECT_LE(oc::DecryptPowerPoint(*e, *base, doc.substr(0, n)).size(), n);
    }
  }
  for (size_t i = doc.size() - 200; i < doc.size(); ++i) {  // the appended edit, directory and container
    std::string bad = doc;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    if (auto e = oc::PowerPointEncryptionOf(user, bad)) (void)oc::DecryptPowerPoint(*e, *base, bad);
  }
  std::string loop = doc;
  const uint32_t edit = *office::ReadLe32(user, 16);
  for (int i = 0; i < 4; ++i) loop[edit + 16 + size_t(i)] = static_cast<char>((edit >> (8 * i)) & 0xFF);  // offsetLastEdit = itself
  auto looped = oc::PowerPointEncryptionOf(user, loop);
  ASSERT_FALSE(looped);
  EXPECT_NE(looped.error().message().find("loops"), std::string::npos);
}

// Hostile headers: every truncation and single-byte corruption of real EncryptionInfo and Workbook
// streams parses to an error or a value and never crashes or decrypts out of bounds; absurd spin
// counts are refused before any hashing.
TEST(OfficeDecrypt, TruncatedAndCorruptHeadersAreErrors) {
  namespace oc = office_crypto;
  for (const std::string& file : {EncryptAgile(Docx(false), "x", 10), EncryptStandard(Docx(false), "x")}) {
    auto ole = office::OleFile::Open(file);
    ASSERT_TRUE(ole.has_value());
    auto info = ole->ReadStream("EncryptionInfo");
    auto pkg = ole->ReadStream("EncryptedPackage");
    ASSERT_TRUE(info && pkg);
    ASSERT_TRUE(oc::ParseEncryptionInfo(*info).has_value());
    for (size_t n = 0; n < info->size(); n += 7) (void)oc::ParseEncryptionInfo(info->substr(0, n));
    for (size_t i = 0; i < info->size(); i += 3) {
      std::string bad = *info;
      bad[i] = static_cast<char>(bad[i] ^ 0xA5);
      auto e = oc::ParseEncryptionInfo(bad);
      const bool cheap = e && (e->kind == oc::PackageEncryption::Kind::kAgile ? e->spin_count <= 10 : i % 60 == 0);
      if (cheap) {  // standard keys cost 50,000 SHA-1 each: a sample of the corruptions
        auto key = oc::PackageKey(*e, "x");
        if (key) (void)oc::DecryptPackage(*e, *key, pkg->substr(0, i % pkg->size()), 1u << 20);
      }
    }
  }
  std::string spin = *office::OleFile::Open(EncryptAgile(Docx(false), "x", 10))->ReadStream("EncryptionInfo");
  spin.replace(spin.find("spinCount=\"10\""), 15, "spinCount=\"4000000000\"");
  EXPECT_FALSE(oc::ParseEncryptionInfo(spin).has_value());

  std::string wb = *office::OleFile::Open(EncryptedXls("x", true))->ReadStream("Workbook");
  for (size_t n = 0; n < wb.size(); ++n) {
    auto found = oc::WorkbookEncryption(wb.substr(0, n));
    if (found && *found) {
      if (auto base = oc::Rc4BaseKey(**found, "x")) (void)oc::DecryptWorkbook(**found, *base, wb.substr(0, n));
    }
  }
}

}  // namespace
}  // namespace airlock::scan
