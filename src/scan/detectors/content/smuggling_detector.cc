// HTML and SVG smuggling. A smuggling page carries its payload inside itself (base64 for atob(),
// char-code arrays, Uint8Array literals), turns it into a Blob/File, and hands it to the user as a
// download (object URL + <a download> + click(), or msSaveOrOpenBlob). All three parts must be in
// the page's scripts: a Blob built from a textarea or from fetch() is an ordinary download button.
// data: URIs that carry executables or archives, and large encoded blobs in scripts, are decoded and
// returned as children so the engine triages what would land on disk. SVG gets extra checks for
// active content (scripts, event handlers, foreignObject HTML, javascript: links).
//
// Bounds: the first kMaxPageScan bytes are examined; at most kMaxChildren children, each at most
// kMaxDecoded bytes (and the engine's remaining budget); all scanning is linear.
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "scan/detectors/content/content_detectors.h"
#include "scan/detectors/content/content_util.h"

namespace airlock::scan {
namespace {

using content::AsciiLower;
using content::Escape;
using content::MakeFinding;
using content::Magic;

constexpr size_t kMaxPageScan = 16u << 20;
constexpr size_t kMaxDecoded = 16u << 20;
constexpr size_t kMaxChildren = 64;
constexpr size_t kMinBlob = 64;         // decoded bytes before a blob becomes a child
constexpr size_t kMaxDataUris = 512;

// Declared types that are programs whatever the bytes look like. Generic types (octet-stream, zip)
// need the magic to agree: pages embed fonts as application/octet-stream.
constexpr std::array<std::string_view, 6> kPayloadMimes = {
    "application/x-msdownload", "application/x-msdos-program",
    "application/vnd.microsoft.portable-executable", "application/hta", "application/java-archive",
    "application/x-ms-shortcut"};

std::string ExtFor(Magic m) {
  switch (m) {
    case Magic::kPe: case Magic::kMz: return ".exe";
    case Magic::kElf: return ".elf";
    case Magic::kZip: return ".zip";
    case Magic::kRar: return ".rar";
    case Magic::kSevenZip: return ".7z";
    case Magic::kGzip: return ".gz";
    case Magic::kIso: return ".iso";
    case Magic::kLnk: return ".lnk";
    case Magic::kPdf: return ".pdf";
    default: return ".bin";
  }
}

bool IsPayload(Magic m) {
  return content::IsNativeExecutable(m) || content::IsArchiveOrImage(m) || m == Magic::kLnk ||
         m == Magic::kOle2;
}

// Parses a literal list of byte values "72, 0x65, 108 ..." starting at `pos` up to `close`.
// Returns the bytes when there are at least kMinBlob values, all 0..255; sets `end` past the list.
std::optional<std::string> ParseByteList(std::string_view s, size_t pos, char close, size_t& end) {
  std::string bytes;
  size_t i = pos;
  while (i < s.size() && bytes.size() < kMaxDecoded) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
    unsigned value = 0;
    size_t digits = 0;
    if (i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
      i += 2;
      while (i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i])) && digits < 4) {
        value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(s[i]))
                                                        ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
        ++i, ++digits;
      }
    } else {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 4) {
        value = value * 10 + static_cast<unsigned>(s[i] - '0');
        ++i, ++digits;
      }
    }
    if (digits == 0 || value > 255) break;
    bytes.push_back(static_cast<char>(value));
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == close) {
      end = i + 1;
      if (bytes.size() >= kMinBlob) return bytes;
      return std::nullopt;
    }
    break;
  }
  end = std::max(i, pos + 1);
  return std::nullopt;
}

struct Page {
  std::string_view text;   // original bytes (capped)
  std::string lower;       // ASCII-lowercased copy
  std::string scripts;     // concatenated <script> bodies (original case)
  std::string scripts_lower;
  bool svg = false;
};

class SmugglingDetector final : public Analyzer {
 public:
  SmugglingDetector()
      : base64_literal_(R"(["'`]([A-Za-z0-9+/]{256,}={0,2})["'`])"),
        blob_(R"((?i)new\s+(blob|file)\s*\()"),
        decode_source_(R"((?i)\batob\s*\(|fromcharcode|uint8array\s*\(\s*\[|base64tobytes)"),
        object_url_(R"((?i)createobjecturl\s*\()"),
        download_attr_(R"((?i)\.download\s*=|setattribute\s*\(\s*["']download["']|\bdownload\s*=\s*["'])"),
        click_(R"((?i)\.click\s*\(\s*\)|dispatchevent\s*\(\s*new\s+mouseevent|location(\.href)?\s*=|location\.assign\s*\(|window\.open\s*\()"),
        ms_save_(R"((?i)mssaveoropenblob|mssaveblob)"),
        event_handler_(R"((?i)(<[a-z][^>]{0,200}\son[a-z]+\s*=[^>]{0,60}))"),
        js_href_(R"((?i)(href\s*=\s*["']?\s*javascript:[^"'>]{0,80}))"),
        handler_value_(R"((?i)\son[a-z]+\s*=\s*["']([^"']{0,1000})["'])") {}

  std::string_view Name() const override { return "content.html_svg"; }

  bool Accepts(const Object& object) const override {
    if (object.mime == "text/html" || object.mime == "application/xhtml+xml" || object.mime == "image/svg+xml") {
      return true;
    }
    const std::string ext = content::Extension(object.name);
    if (ext == "html" || ext == "htm" || ext == "xhtml" || ext == "shtml" || ext == "svg" || ext == "hta") {
      return true;
    }
    const std::string head = AsciiLower(object.data.substr(0, 1024));
    return head.find("<html") != std::string::npos || head.find("<!doctype html") != std::string::npos ||
           head.find("<svg") != std::string::npos;
  }

  void Analyze(const Object& object, AnalyzerOutput& out) override {
    Page page;
    page.text = object.data.substr(0, kMaxPageScan);
    page.lower = AsciiLower(page.text);
    const size_t svg_at = page.lower.find("<svg");
    const size_t html_at = page.lower.find("<html");
    page.svg = object.mime == "image/svg+xml" || content::Extension(object.name) == "svg" ||
               (svg_at != std::string::npos && (html_at == std::string::npos || svg_at < html_at));
    CollectScripts(page);
    children_ = 0;
    CheckSmuggling(page, out);
    DecodeScriptBlobs(page, out);
    CheckDataUris(page, out);
    if (page.svg) CheckSvgActiveContent(page, out);
  }

 private:
  static void CollectScripts(Page& page) {
    size_t pos = 0;
    while ((pos = page.lower.find("<script", pos)) != std::string::npos) {
      size_t gt = page.lower.find('>', pos);
      if (gt == std::string::npos) break;
      size_t end = page.lower.find("</script", gt);
      if (end == std::string::npos) end = page.lower.size();
      page.scripts.append(page.text.substr(gt + 1, end - gt - 1));
      page.scripts.push_back('\n');
      pos = end;
    }
    page.scripts_lower = AsciiLower(page.scripts);
  }

  std::string Family(const Page& page) const { return page.svg ? "svg" : "html"; }
  std::string Technique(const Page& page) const { return page.svg ? "T1027.017" : "T1027.006"; }

  bool AddChild(std::string name, std::string data, AnalyzerOutput& out) {
    if (children_ >= kMaxChildren) return false;
    ++children_;
    return out.AddChild(std::move(name), std::move(data));
  }

  void CheckSmuggling(const Page& page, AnalyzerOutput& out) {
    const std::string& s = page.scripts;
    const bool blob = RE2::PartialMatch(s, blob_);
    const bool embedded = RE2::PartialMatch(s, decode_source_) || RE2::PartialMatch(s, base64_literal_);
    const bool ms_save = RE2::PartialMatch(s, ms_save_);
    const bool anchor = RE2::PartialMatch(s, object_url_) && RE2::PartialMatch(s, click_) &&
                        (RE2::PartialMatch(s, download_attr_) || RE2::PartialMatch(page.text, download_attr_));
    if (!(blob && embedded && (ms_save || anchor))) return;
    std::string evidence = std::string("new Blob/File from embedded data, ") +
                           (ms_save ? "msSaveOrOpenBlob" : "createObjectURL + download + click()");
    out.AddFinding(MakeFinding(Family(page) + ".smuggling", 8,
                               page.svg ? "SVG smuggling: image builds and drops a file"
                                        : "HTML smuggling: page builds and drops a file",
                               "The page decodes a payload it carries inside itself and saves it as a "
                               "download, so the file never crosses the mail or web gateway as a file.",
                               evidence, {Technique(page)}));
  }

  // Large base64 literals and byte arrays in scripts become children; executables/archives are
  // reported.
  void DecodeScriptBlobs(const Page& page, AnalyzerOutput& out) {
    std::vector<std::string> blobs;
    re2::StringPiece input(page.scripts);
    re2::StringPiece literal;
    while (blobs.size() < kMaxChildren && RE2::FindAndConsume(&input, base64_literal_, &literal)) {
      auto decoded = content::DecodeBase64(std::string_view(literal.data(), literal.size()),
                                           std::min<uint64_t>(kMaxDecoded, out.RemainingBytes()));
      if (decoded && decoded->size() >= kMinBlob) blobs.push_back(std::move(*decoded));
    }
    const std::string& sl = page.scripts_lower;
    size_t bracket = sl.find('[');
    size_t call = sl.find("fromcharcode(");
    for (size_t pos = 0; blobs.size() < kMaxChildren && pos < sl.size();) {
      // Cached next positions keep this linear in the script size.
      if (bracket != std::string::npos && bracket < pos) bracket = sl.find('[', pos);
      if (call != std::string::npos && call < pos) call = sl.find("fromcharcode(", pos);
      if (bracket == std::string::npos && call == std::string::npos) break;
      size_t end = 0;
      std::optional<std::string> bytes;
      if (call != std::string::npos && (bracket == std::string::npos || call < bracket)) {
        bytes = ParseByteList(sl, call + 13, ')', end);
      } else {
        bytes = ParseByteList(sl, bracket + 1, ']', end);
      }
      if (bytes) blobs.push_back(std::move(*bytes));
      pos = end;
    }
    std::string payloads;
    for (size_t i = 0; i < blobs.size(); ++i) {
      Magic m = content::DetectMagic(blobs[i]);
      if (IsPayload(m)) payloads += (payloads.empty() ? "" : ", ") + std::string(content::MagicName(m));
      if (!AddChild("smuggled_" + std::to_string(i + 1) + ExtFor(m), std::move(blobs[i]), out)) break;
    }
    if (!payloads.empty()) {
      out.AddFinding(MakeFinding(Family(page) + ".embedded_payload", 7,
                                 "Script carries an encoded executable or archive",
                                 "An executable or archive is encoded inside the page's script; it was "
                                 "decoded and is triaged as a child.",
                                 payloads, {Technique(page)}));
    }
  }

  void CheckDataUris(const Page& page, AnalyzerOutput& out) {
    const std::string& l = page.lower;
    std::string kinds;
    size_t count = 0;
    size_t next = 0;  // scanning resumes after the previous URI's payload: linear overall
    for (size_t pos = l.find("data:"); pos != std::string::npos && count < kMaxDataUris;
         pos = l.find("data:", std::max(pos + 5, next))) {
      ++count;
      size_t comma = std::string_view(l).substr(pos, 200).find(',');
      if (comma == std::string::npos) continue;
      comma += pos;
      std::string_view header = std::string_view(l).substr(pos + 5, comma - pos - 5);
      if (header.find_first_of("\"'<> \n") != std::string_view::npos) continue;
      std::string_view mediatype = header.substr(0, header.find(';'));
      const bool base64 = header.find(";base64") != std::string_view::npos;
      size_t end = l.find_first_of("\"'<>)\n\r\t ", comma + 1);
      if (end == std::string::npos) end = l.size();
      next = end;
      std::string_view payload = page.text.substr(comma + 1, end - comma - 1);
      if (mediatype.starts_with("image/") && mediatype != "image/svg+xml") {
        // Images are rendered, not run; only flag one that is really a program.
        if (!base64) continue;
      }
      const size_t cap = static_cast<size_t>(std::min<uint64_t>(kMaxDecoded, out.RemainingBytes()));
      std::optional<std::string> data = base64 ? content::DecodeBase64(payload, cap)
                                               : std::optional<std::string>(content::PercentDecode(payload, cap));
      if (!data || data->empty()) continue;
      const Magic m = content::DetectMagic(*data);
      const bool declared = std::find(kPayloadMimes.begin(), kPayloadMimes.end(), mediatype) != kPayloadMimes.end();
      const bool document = mediatype == "text/html" || mediatype == "image/svg+xml" ||
                            mediatype == "application/xhtml+xml";
      if (IsPayload(m) || (declared && m != Magic::kImage)) {
        kinds += (kinds.empty() ? "" : ", ") + std::string(mediatype.empty() ? "?" : mediatype) + " (" +
                 std::string(content::MagicName(m)) + ")";
        if (!AddChild("data_uri_" + std::to_string(count) + ExtFor(m), std::move(*data), out)) break;
      } else if (document && data->size() >= 32) {
        // A page inside the page: triage it too (phishing kits nest their forms this way).
        if (!AddChild("data_uri_" + std::to_string(count) + (mediatype == "text/html" ? ".html" : ".svg"),
                      std::move(*data), out)) {
          break;
        }
      }
    }
    if (!kinds.empty()) {
      out.AddFinding(MakeFinding(Family(page) + ".data_uri_payload", 7,
                                 "data: URI carries an executable or archive",
                                 "A file is embedded in the markup as a data: URI and can be saved "
                                 "without ever being downloaded; it was decoded and is triaged as a child.",
                                 kinds, {Technique(page)}));
    }
  }

  // What the SVG's code (script bodies and event-handler values) reaches beyond the drawing: the
  // network, eval/decoding, navigation, downloads, the DOM as HTML, cookies/storage. Empty: the code
  // only restyles or animates the image (hover effects), and is reported low.
  std::vector<std::string> SvgCodeReach(const Page& page) const {
    std::string code = page.scripts_lower;
    re2::StringPiece input(page.text), value;
    for (int n = 0; n < 512 && RE2::FindAndConsume(&input, handler_value_, &value); ++n) {
      code += AsciiLower(std::string_view(value.data(), value.size()));
      code += '\n';
    }
    std::vector<std::string> reach;
    for (std::string_view marker :
         {"fetch(", "xmlhttprequest", "websocket", "sendbeacon", "http:", "https:", "eval(", "new function", "atob(",
          "fromcharcode", "unescape(", "location", "window.open", ".click(", "download", "createobjecturl", "import(",
          "document.write", "innerhtml", "outerhtml", "insertadjacenthtml", "document.cookie", "localstorage",
          "postmessage", "settimeout(\"", "settimeout('", ".src", "submit"}) {
      if (code.find(marker) != std::string::npos && reach.size() < 8) reach.emplace_back(marker);
    }
    return reach;
  }

  void CheckSvgActiveContent(const Page& page, AnalyzerOutput& out) {
    const std::string& l = page.lower;
    const std::vector<std::string> svg_t = {"T1027.017"};
    const std::vector<std::string> reach = SvgCodeReach(page);
    std::string reach_text;
    for (const auto& r : reach) reach_text += (reach_text.empty() ? "" : ", ") + r;
    const bool inert = reach.empty();
    const std::string inert_why =
        " Here the code only changes the drawing (no network, eval, decoding, navigation or download), so it "
        "is reported, not judged suspicious.";
    if (l.find("<script") != std::string::npos) {
      size_t at = l.find("<script");
      out.AddFinding(MakeFinding("svg.script", inert ? 2 : 5,
                                 inert ? "SVG image contains a script that only changes the drawing"
                                       : "SVG image contains script that reaches out (" + reach_text + ")",
                                 "Images do not need scripts; an SVG opened in a browser runs them with "
                                 "the origin of wherever it is opened." + (inert ? inert_why : std::string()),
                                 Escape(page.text.substr(at, 80)), svg_t));
    }
    re2::StringPiece handler;
    if (RE2::PartialMatch(page.text, event_handler_, &handler)) {
      out.AddFinding(MakeFinding("svg.event_handler", inert ? 2 : 5, "SVG image has event-handler attributes",
                                 "onload=/onclick= attributes run script when the image is shown." +
                                     (inert ? inert_why : std::string()),
                                 Escape(std::string_view(handler.data(), handler.size())), svg_t));
    }
    size_t end = 0;
    for (size_t pos = l.find("<foreignobject"); pos != std::string::npos && end != std::string::npos;
         pos = l.find("<foreignobject", std::max(pos + 1, end))) {
      // Each region is searched once: the next opening tag is looked for after this one's end.
      end = l.find("</foreignobject", pos);
      std::string_view inner = std::string_view(l).substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      bool html = false;
      for (std::string_view tag : {"<html", "<body", "<iframe", "<form", "<input", "<embed", "<object", "<script", "<a "}) {
        html = html || inner.find(tag) != std::string_view::npos;
      }
      if (html) {
        out.AddFinding(MakeFinding("svg.foreign_object", 4, "SVG embeds HTML through foreignObject",
                                   "foreignObject lets an image carry forms, iframes and links (phishing "
                                   "pages disguised as images).",
                                   Escape(page.text.substr(pos, 100)), svg_t));
        break;
      }
    }
    re2::StringPiece href;
    if (RE2::PartialMatch(page.text, js_href_, &href)) {
      out.AddFinding(MakeFinding("svg.javascript_href", 6, "SVG link runs javascript:",
                                 "A javascript: link in an image runs script when clicked.",
                                 Escape(std::string_view(href.data(), href.size())), svg_t));
    }
  }

  RE2 base64_literal_;
  RE2 blob_;
  RE2 decode_source_;
  RE2 object_url_;
  RE2 download_attr_;
  RE2 click_;
  RE2 ms_save_;
  RE2 event_handler_;
  RE2 js_href_;
  RE2 handler_value_;  // event-handler attribute values (the code)
  size_t children_ = 0;
};

}  // namespace

std::unique_ptr<Analyzer> MakeSmugglingDetector() { return std::make_unique<SmugglingDetector>(); }

}  // namespace airlock::scan
