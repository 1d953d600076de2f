// RTF: the tolerant parser (fields, objects, hex junk, nesting, \bin) and the analyzer's findings on
// RTFs generated here (DDE, Equation Editor, packaged file, OLE2Link, \objupdate).
#include <gtest/gtest.h>

#include "office_test_support.h"
#include "scan/detectors/office/rtf_parser.h"

namespace airlock::scan::office::testing {
namespace {

std::string ToHex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

void Le32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// OLE1 EmbeddedObject: version, format 2, class, topic, item, native size, native data.
std::string Ole1(const std::string& cls, const std::string& native) {
  std::string s;
  Le32(s, 0x00000501);
  Le32(s, 2);
  Le32(s, static_cast<uint32_t>(cls.size() + 1));
  s += cls + '\0';
  Le32(s, 0);
  Le32(s, 0);
  Le32(s, static_cast<uint32_t>(native.size()));
  return s + native;
}

std::string RtfWithObject(const std::string& cls, const std::string& objdata_hex, const std::string& extra = "") {
  return "{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}Hello{\\object\\objemb" + extra + "{\\*\\objclass " + cls +
         "}{\\*\\objdata " + objdata_hex + "}}}";
}

TEST(RtfParser, CollectsFieldInstructionsWithEscapes) {
  RtfDocument d = ParseRtf(
      "{\\rtf1{\\field{\\*\\fldinst {\\rtlch DDEAUTO c:\\\\\\\\windows\\\\\\\\system32\\\\\\\\cmd.exe \"/k calc.exe\"}}"
      "{\\fldrslt x}}}");
  ASSERT_EQ(d.field_instructions.size(), 1u);
  EXPECT_EQ(d.field_instructions[0], R"(DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc.exe")");
}

TEST(RtfParser, HexWithJunkAndControlWordsDecodes) {
  RtfDocument d = ParseRtf("{\\rt{\\object{\\*\\objdata 01 0\r\n5 zz\\par 00{\\junk}00 q}}}");
  ASSERT_EQ(d.objects.size(), 1u);
  EXPECT_EQ(d.objects[0].data, std::string("\x01\x05\x00\x00", 4));
}

TEST(RtfParser, BinControlWordTakesRawBytes) {
  RtfDocument d = ParseRtf(std::string("{\\rtf1{\\object{\\*\\objdata \\bin4 ") + std::string("\x01\x02}{", 4) + " 03}}}");
  ASSERT_EQ(d.objects.size(), 1u);
  EXPECT_EQ(d.objects[0].data, std::string("\x01\x02}{\x03", 5));
}

TEST(RtfParser, DeepNestingIsBoundedAndStillMatched) {
  std::string rtf = "{\\rtf1" + std::string(100000, '{') + "x" + std::string(100000, '}') +
                    "{\\object{\\*\\objclass Equation.3}}}";
  RtfDocument d = ParseRtf(rtf);
  EXPECT_TRUE(d.depth_exceeded);
  EXPECT_EQ(d.max_depth, 100001u);
  ASSERT_EQ(d.objects.size(), 1u);
  EXPECT_EQ(d.objects[0].class_name, "Equation.3");
}

TEST(RtfParser, UnbalancedAndTruncatedInputIsFine) {
  for (std::string_view s : {"{\\rtf1{\\object{\\*\\objdata 0102", "}}}}{\\rt", "{\\rtf1\\", "{\\rtf1\\'", "{\\rtf1\\bin99999999 ab",
                             "{\\rtf1\\objdata 0", "{\\rtf1\\fldinst DDE x"}) {
    RtfDocument d = ParseRtf(s);
    (void)d;
  }
  RtfDocument d = ParseRtf("{\\rtf1{\\object{\\*\\objdata 0102");
  ASSERT_EQ(d.objects.size(), 1u);
  EXPECT_EQ(d.objects[0].data, "\x01\x02");
}

TEST(RtfAnalyzer, DdeFieldInRtf) {
  TreeResult r = ScanTree("dde.rtf", "{\\rtf1{\\field{\\*\\fldinst DDEAUTO \"C:\\\\Programs\\\\cmd.exe\" \"/c calc\"}}}");
  auto f = r.With("office.dde");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].evidence, "DDEAUTO \"C:\\Programs\\cmd.exe\" \"/c calc\"");
  EXPECT_EQ(f[0].severity, 8);
}

TEST(RtfAnalyzer, EquationEditorByClassName) {
  TreeResult r = ScanTree("eq.rtf", RtfWithObject("Equation.3", ToHex(Ole1("Equation.3", std::string(64, '\x41')))));
  auto f = r.With("office.rtf.equation_editor");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 8);
  EXPECT_EQ(f[0].techniques, std::vector<std::string>{"T1203"});
  EXPECT_TRUE(r.Has("office.rtf.object"));
}

TEST(RtfAnalyzer, EquationEditorByClsidInsideEmbeddedOle) {
  const std::string clsid("\x02\xCE\x02\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46", 16);
  std::string ole = MakeOle({{"Equation Native", std::string(32, 'B')}}, clsid);
  // The class name is disguised; the CLSID inside the OLE payload still gives it away.
  TreeResult r = ScanTree("eq2.rtf", RtfWithObject("Word.Document.8", ToHex(Ole1("Word.Document.8", ole)), "\\objupdate"));
  EXPECT_TRUE(r.Has("office.rtf.equation_editor")) << r.Describe();
  EXPECT_TRUE(r.Has("office.rtf.objupdate"));
  // The OLE payload becomes a child, where the OLE analyzer sees it too.
  EXPECT_TRUE(r.Has("office.ole.equation_editor")) << r.Describe();
}

TEST(RtfAnalyzer, PackageObjectIsExtracted) {
  std::string native;
  native += std::string("\x02\x00", 2);
  native += std::string("run.js") + '\0' + "C:\\x\\run.js" + '\0';
  native += std::string("\x00\x00\x03\x00", 4);
  std::string tmp = std::string("C:\\t\\run.js") + '\0';
  Le32(native, static_cast<uint32_t>(tmp.size()));
  native += tmp;
  const std::string script = "WScript.Echo(1)";
  Le32(native, static_cast<uint32_t>(script.size()));
  native += script;
  TreeResult r = ScanTree("pkg.rtf", RtfWithObject("Package", ToHex(Ole1("Package", native))));
  auto f = r.With("office.ole.package");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  ASSERT_EQ(r.leaves.size(), 1u);
  EXPECT_EQ(r.leaves[0].name, "run.js");
  EXPECT_EQ(r.leaves[0].data, script);
}

TEST(RtfAnalyzer, Ole2LinkWithUrlMoniker) {
  std::string ole_stream(20, '\0');
  ole_stream += std::string("\xE0\xC9\xEA\x79\xF9\xBA\xCE\x11\x8C\x82\x00\xAA\x00\x4B\xA9\x0B", 16);
  for (char c : std::string("http://192.0.2.5/doc.rtf")) {
    ole_stream.push_back(c);
    ole_stream.push_back('\0');
  }
  std::string ole = MakeOle({{"\x01Ole", ole_stream}});
  TreeResult r = ScanTree("link.rtf", RtfWithObject("OLE2Link", ToHex(Ole1("OLE2Link", ole)), "\\objautlink\\objupdate"));
  auto f = r.With("office.rtf.ole2link");
  ASSERT_GE(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_NE(f[0].evidence.find("http://192.0.2.5/doc.rtf"), std::string::npos);
  EXPECT_EQ(f[0].techniques, (std::vector<std::string>{"T1221", "T1203"}));
}

TEST(RtfAnalyzer, PlainRtfIsClean) {
  TreeResult r = ScanTree("plain.rtf", "{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 Hello {\\b world}\\par}");
  EXPECT_TRUE(r.findings.empty()) << r.Describe();
}

}  // namespace
}  // namespace airlock::scan::office::testing

namespace airlock::scan::office::testing {
namespace {

std::string PackageNative(const std::string& label, const std::string& content) {
  std::string native("\x02\x00", 2);
  native += label + '\0' + "C:\\x\\" + label + '\0';
  native += std::string("\x00\x00\x03\x00", 4);
  std::string tmp = "C:\\t\\" + label + '\0';
  Le32(native, static_cast<uint32_t>(tmp.size()));
  native += tmp;
  Le32(native, static_cast<uint32_t>(content.size()));
  return native + content;
}

std::string Lnk() {
  std::string lnk("L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
  return lnk + std::string(60, '\0') + "C:\\Windows\\System32\\calc.exe";
}

// Issue 17: RTF objects of every kind rtfobj extracts, judged by the payload: an OLE1 Package whose
// content is a shortcut under a text label (with \objupdate); an \objdata outside any \object group
// holding a raw OLE2 storage whose Ole10Native carries a shortcut; next to them a Package of a PDF.
TEST(RtfAnalyzer, ObjectsAreJudgedByTheirPayload) {
  TreeResult pkg = ScanTree("a.rtf", RtfWithObject("Package", ToHex(Ole1("Package", PackageNative("notes.txt", Lnk()))),
                                                   "\\objupdate"));
  ASSERT_EQ(pkg.With("office.ole.package").size(), 1u) << pkg.Describe();
  EXPECT_EQ(pkg.With("office.ole.package")[0].severity, 7);
  EXPECT_TRUE(pkg.Has("office.rtf.objupdate"));

  std::string ole2 = MakeOle({{"\x01Ole10Native", [] {
                                 std::string n = PackageNative("Q3.lnk", Lnk());
                                 std::string out;
                                 Le32(out, static_cast<uint32_t>(n.size()));
                                 return out + n;
                               }()}});
  TreeResult bare = ScanTree("b.rtf", "{\\rtf1\\ansi Hello{\\*\\objdata " + ToHex(ole2) + "}}");
  ASSERT_TRUE(bare.Has("office.rtf.object")) << bare.Describe();
  auto inner = bare.With("office.ole.package");
  ASSERT_EQ(inner.size(), 1u) << bare.Describe();
  EXPECT_EQ(inner[0].severity, 7);

  TreeResult pdf = ScanTree("c.rtf", RtfWithObject("Package", ToHex(Ole1("Package", PackageNative("Q3.pdf", "%PDF-1.4\n%%EOF\n")))));
  EXPECT_LE(pdf.MaxSeverity(), 3) << pdf.Describe();
}

}  // namespace
}  // namespace airlock::scan::office::testing
