// TNEF (winmail.dat): the reader on streams written here by a small MS-OXTNEF writer, and the engine
// unpacking the attachments of a winmail.dat inside a mail.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "scan/detectors/office/ole_file.h"
#include "scan/engine.h"
#include "scan/unpack/tnef.h"
#include "scan/yara_rules.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

void PutU16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void PutU32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// One TNEF attribute: level, id (type << 16 | tag), length, value, checksum.
void Attr(std::string& s, uint8_t level, uint32_t id, const std::string& value, bool good_checksum = true) {
  s.push_back(static_cast<char>(level));
  PutU32(s, id);
  PutU32(s, static_cast<uint32_t>(value.size()));
  s += value;
  uint16_t sum = 0;
  for (unsigned char c : value) sum = static_cast<uint16_t>(sum + c);
  PutU16(s, good_checksum ? sum : static_cast<uint16_t>(sum + 1));
}

constexpr uint32_t kAttTnefVersion = 0x00089006;
constexpr uint32_t kAttMessageClass = 0x00078008;
constexpr uint32_t kAttAttachRendData = 0x00069002;
constexpr uint32_t kAttAttachTitle = 0x00018010;
constexpr uint32_t kAttAttachData = 0x0006800F;
constexpr uint32_t kAttAttachment = 0x00069005;

std::string Header() {
  std::string s(kTnefSignature);
  PutU16(s, 0x1234);  // legacy key
  Attr(s, 1, kAttTnefVersion, std::string("\x00\x00\x01\x00", 4));
  Attr(s, 1, kAttMessageClass, std::string("IPM.Microsoft Mail.Note\0", 24));
  return s;
}

void Attachment(std::string& s, const std::string& title, const std::string& data) {
  Attr(s, 2, kAttAttachRendData, std::string(14, '\0'));
  Attr(s, 2, kAttAttachTitle, title + '\0');
  Attr(s, 2, kAttAttachData, data);
}

std::string Utf16(const std::u16string& s) {
  std::string out;
  for (char16_t c : s) PutU16(out, static_cast<uint16_t>(c));
  PutU16(out, 0);
  return out;
}

// A MAPI property list: an unrelated PT_LONG, a named property, then one variable-size property.
std::string Props(uint16_t type, uint16_t id, const std::string& value) {
  std::string p;
  PutU32(p, 3);
  PutU16(p, 0x0003);  // PT_LONG PR_ATTACH_METHOD
  PutU16(p, 0x3705);
  PutU32(p, 1);
  PutU16(p, 0x001F);  // PT_UNICODE named property (by string name)
  PutU16(p, 0x8001);
  p += std::string(16, '\x11');  // property set GUID
  PutU32(p, 1);                  // MNID_STRING
  std::string name = Utf16(u"X-Name");
  PutU32(p, static_cast<uint32_t>(name.size()));
  p += name + std::string((4 - name.size() % 4) % 4, '\0');
  PutU32(p, 1);
  std::string v = Utf16(u"ignored");
  PutU32(p, static_cast<uint32_t>(v.size()));
  p += v + std::string((4 - v.size() % 4) % 4, '\0');
  PutU16(p, type);
  PutU16(p, id);
  PutU32(p, 1);
  PutU32(p, static_cast<uint32_t>(value.size()));
  p += value + std::string((4 - value.size() % 4) % 4, '\0');
  return p;
}

TEST(ScanTnef, AttachmentsWithTitles) {
  std::string t = Header();
  Attachment(t, "REPORT~1.DOC", "first attachment");
  Attachment(t, "notes.txt", "second");
  auto c = ParseTnef(t);
  EXPECT_EQ(c.message_class, "IPM.Microsoft Mail.Note");
  EXPECT_FALSE(c.truncated);
  EXPECT_EQ(c.bad_checksums, 0u);
  ASSERT_EQ(c.attachments.size(), 2u);
  EXPECT_EQ(c.attachments[0].name, "REPORT~1.DOC");
  EXPECT_EQ(c.attachments[0].data, "first attachment");
  EXPECT_EQ(c.attachments[1].name, "notes.txt");
  EXPECT_EQ(c.attachments[1].data, "second");
}

TEST(ScanTnef, LongFileNameFromMapiProperties) {
  std::string t = Header();
  Attachment(t, "QUARTE~1.PDF", "%PDF-1.4 body");
  Attr(t, 2, kAttAttachment, Props(0x001F, 0x3707, Utf16(u"Quarterly report \u00e9t\u00e9.pdf")));
  Attachment(t, "A.TXT", "x");
  Attr(t, 2, kAttAttachment, Props(0x001E, 0x3707, std::string("ascii long name.txt\0", 20)));
  auto c = ParseTnef(t);
  ASSERT_EQ(c.attachments.size(), 2u);
  EXPECT_EQ(c.attachments[0].name, "Quarterly report \xc3\xa9t\xc3\xa9.pdf");
  EXPECT_EQ(c.attachments[0].data, "%PDF-1.4 body");
  EXPECT_EQ(c.attachments[1].name, "ascii long name.txt");
}

TEST(ScanTnef, EmbeddedObjectData) {
  // An attachment whose bytes are only in PR_ATTACH_DATA_OBJ (PT_OBJECT: 16-byte IID, then the data).
  std::string t = Header();
  Attr(t, 2, kAttAttachRendData, std::string(14, '\0'));
  Attr(t, 2, kAttAttachment, Props(0x000D, 0x3701, std::string(16, '\x22') + "embedded bytes"));
  auto c = ParseTnef(t);
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].data, "embedded bytes");
  EXPECT_EQ(c.attachments[0].name, "");
}

TEST(ScanTnef, TruncatedAndCorruptInput) {
  std::string t = Header();
  Attachment(t, "ok.txt", "kept");
  Attr(t, 2, kAttAttachRendData, std::string(14, '\0'), /*good_checksum=*/false);
  std::string cut = t;
  Attr(cut, 2, kAttAttachData, std::string(100, 'z'));
  cut.resize(cut.size() - 50);  // the last attribute runs past the end
  auto c = ParseTnef(cut);
  EXPECT_TRUE(c.truncated);
  EXPECT_EQ(c.bad_checksums, 1u);
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].data, "kept");

  // A length field far beyond the input, and a property list claiming 2^32-1 properties.
  std::string huge = Header();
  huge.push_back('\x02');
  PutU32(huge, kAttAttachData);
  PutU32(huge, 0xFFFFFFF0u);
  huge += "short";
  EXPECT_TRUE(ParseTnef(huge).truncated);
  std::string props;
  PutU32(props, 0xFFFFFFFFu);
  std::string t2 = Header();
  Attachment(t2, "a", "b");
  Attr(t2, 2, kAttAttachment, props);
  EXPECT_EQ(ParseTnef(t2).attachments.size(), 1u);

  EXPECT_FALSE(LooksLikeTnef("not tnef"));
  EXPECT_TRUE(ParseTnef("garbage").attachments.empty());
  EXPECT_TRUE(ParseTnef(std::string(kTnefSignature)).attachments.empty());
}

TEST(ScanTnef, AttachmentCountIsBounded) {
  std::string t = Header();
  for (int i = 0; i < 50; ++i) Attachment(t, "f" + std::to_string(i), "d");
  EXPECT_EQ(ParseTnef(t, 10).attachments.size(), 10u);
  EXPECT_EQ(ParseTnef(t).attachments.size(), 50u);
}

// MS-OXRTFCP framing: compSize (body + 12), rawSize, "LZFu", CRC (not checked by the reader).
std::string Lzfu(const std::string& body, uint32_t raw_size) {
  std::string s;
  PutU32(s, static_cast<uint32_t>(body.size() + 12));
  PutU32(s, raw_size);
  s += "LZFu";
  PutU32(s, 0);
  return s + body;
}

TEST(ScanTnef, CompressedRtfUsesThePresetDictionary) {
  // control 0x41: a reference to the preset dictionary (offset 0, 15 bytes), five literals, the end.
  std::string body = "\x41";
  body += std::string("\x00\x0D", 2) + "hello" + "\x0E\x30";
  auto rtf = DecompressRtf(Lzfu(body, 20), 1 << 20);
  ASSERT_TRUE(rtf.has_value());
  EXPECT_EQ(*rtf, "{\\rtf1\\ansi\\machello");

  // control 0x18: three literals, a reference back to them (offset 207, 3 bytes), the end.
  std::string body2 = "\x18" "abc" "\x0C\xF1" "\x0D\x50";
  EXPECT_EQ(DecompressRtf(Lzfu(body2, 6), 1 << 20).value_or("?"), "abcabc");
  EXPECT_EQ(DecompressRtf(Lzfu(body2, 6), 4).value_or("?"), "abca");  // bounded by max_out
  EXPECT_EQ(DecompressRtf(Lzfu(body2, 2), 1 << 20).value_or("?"), "ab");  // and by the declared size

  std::string stored;
  PutU32(stored, 12 + 5);
  PutU32(stored, 5);
  stored += "MELA";
  PutU32(stored, 0);
  EXPECT_EQ(DecompressRtf(stored + "{\\rtf", 100).value_or("?"), "{\\rtf");
  EXPECT_FALSE(DecompressRtf("short", 100).has_value());
  EXPECT_FALSE(DecompressRtf(std::string(12, '\0') + "ABCD", 100).has_value());  // unknown type

  // In a TNEF stream: the message-level attMAPIProps carries PR_RTF_COMPRESSED.
  std::string t = Header();
  Attr(t, 1, 0x00069003, Props(0x0102, 0x1009, Lzfu(body, 20)));
  Attachment(t, "a.txt", "x");
  auto c = ParseTnef(t);
  EXPECT_EQ(c.rtf_body, "{\\rtf1\\ansi\\machello");
  EXPECT_FALSE(c.rtf_corrupt);
  ASSERT_EQ(c.attachments.size(), 1u);
}

TEST(ScanTnef, EngineUnpacksWinmailDatInMail) {
  std::string t = Header();
  // The body as stored compressed RTF.
  const std::string rtf = "{\\rtf1\\ansi Hello}";
  std::string stored;
  PutU32(stored, static_cast<uint32_t>(12 + rtf.size()));
  PutU32(stored, static_cast<uint32_t>(rtf.size()));
  stored += "MELA";
  PutU32(stored, 0);
  Attr(t, 1, 0x00069003, Props(0x0102, 0x1009, stored + rtf));
  Attachment(t, "README.TXT", "see the other file\n");
  Attachment(t, "EICAR~1.COM", test::Eicar());
  Attr(t, 2, kAttAttachment, Props(0x001F, 0x3707, Utf16(u"eicar test file.com")));
  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  auto r = engine.ScanBytes("mail.eml", test::MakeMail("see attached", "winmail.dat", t));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  const ObjectReport* hit = test::FindObject(r.root, [](const ObjectReport& x) { return x.name == "eicar test file.com"; });
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->path, "mail.eml > winmail.dat > eicar test file.com");
  EXPECT_TRUE(test::HasFinding(*hit, "yara.EICAR_Test_File"));
  EXPECT_EQ(hit->assessment.verdict, Verdict::kMalicious);
  const ObjectReport* body = test::FindObject(r.root, [](const ObjectReport& x) { return x.name == "message.rtf"; });
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(body->mime, "text/rtf");
  const ObjectReport* readme = test::FindObject(r.root, [](const ObjectReport& x) { return x.name == "README.TXT"; });
  ASSERT_NE(readme, nullptr);
  EXPECT_EQ(readme->assessment.verdict, Verdict::kClean);

  // A broken TNEF stream is a low-severity finding, and what came before the break is still scanned.
  std::string cut = t.substr(0, t.size() - 10);
  auto r2 = engine.ScanBytes("winmail.dat", cut);
  EXPECT_TRUE(test::HasFinding(r2.root, "tnef.malformed"));
  EXPECT_NE(test::FindObject(r2.root, [](const ObjectReport& x) { return x.name == "README.TXT"; }), nullptr);
}

// An OLE1 Package (MS-OLEDS 2.2.5 Ole10Native stream) carrying `label` with `content`.
std::string Ole10Native(const std::string& label, const std::string& content) {
  std::string body;
  PutU16(body, 2);
  body += label + '\0';
  body += "C:\\Users\\bob\\" + label + '\0';
  PutU16(body, 0);
  PutU16(body, 3);
  std::string tmp = "C:\\Temp\\" + label + '\0';
  PutU32(body, static_cast<uint32_t>(tmp.size()));
  body += tmp;
  PutU32(body, static_cast<uint32_t>(content.size()));
  body += content;
  std::string out;
  PutU32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

// Hard negative of issue 17: Outlook wraps an inserted PDF as an embedded OLE Package in
// PR_ATTACH_DATA_OBJ; the PDF decides, not the wrapper. Its positive: the same wrapper around a .lnk.
TEST(ScanTnef, EmbeddedOlePackageOfAPdfIsJudgedByThePdf) {
  const std::string pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages "
                          "/Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
  auto wrap = [](const std::string& label, const std::string& data) {
    std::string t = Header();
    Attr(t, 2, kAttAttachRendData, std::string(14, '\0'));
    const std::string ole = office::WriteOle({{"\x01Ole10Native", Ole10Native(label, data)}});
    Attr(t, 2, kAttAttachment, Props(0x000D, 0x3701, std::string(16, '\x22') + ole));
    return t;
  };
  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  auto r = engine.ScanBytes("mail.eml", test::MakeMail("Report attached.", "winmail.dat", wrap("Q3 report.pdf", pdf)));
  const ObjectReport* inner = test::FindObject(r.root, [](const ObjectReport& x) { return x.name == "Q3 report.pdf"; });
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->mime, "application/pdf");
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean) << r.root.assessment.score;
  std::string lnk("L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
  lnk += std::string(60, '\0') + "C:\\Windows\\System32\\calc.exe";
  auto bad = engine.ScanBytes("mail.eml", test::MakeMail("Report attached.", "winmail.dat", wrap("Q3 report.lnk", lnk)));
  EXPECT_EQ(bad.root.assessment.verdict, Verdict::kMalicious) << bad.root.assessment.score;
}

// ClamAV's own TNEF sample (Debian clamav-testfiles): Outlook's real layout, a compressed-RTF body and
// clam.exe as the attachment.
TEST(ScanTnef, ClamavTestfile) {
  const char* path = "/usr/share/clamav-testfiles/clam.tnef";
  std::ifstream f(path, std::ios::binary);
  if (!f) GTEST_SKIP() << "SKIPPED: " << path << " missing (apt-get install clamav-testfiles)";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();  // the attachments' data are views into it
  auto c = ParseTnef(data);
  EXPECT_FALSE(c.truncated);  // (three of its attributes carry checksums that do not add up: ignored)
  EXPECT_TRUE(c.rtf_body.starts_with("{\\rtf1\\ansi")) << c.rtf_body.substr(0, 40);
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].name, "clam.exe");
  EXPECT_TRUE(c.attachments[0].data.starts_with("MZ"));

  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  auto r = engine.ScanBytes("winmail.dat", data);
  EXPECT_FALSE(test::HasFinding(r.root, "tnef.malformed"));
  const ObjectReport* exe = test::FindObject(r.root, [](const ObjectReport& x) { return x.name == "clam.exe"; });
  ASSERT_NE(exe, nullptr);
  EXPECT_TRUE(test::HasFinding(*exe, "yara.ClamAV_Test_File"));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

}  // namespace
}  // namespace airlock::scan
