// PDF detector on qpdf. qpdf parses the file (recovering damaged xref tables), and hands back
// objects with names normalised, so "/J#61vaScript" is "/JavaScript" here. We visit every indirect
// object and, without following references, the direct objects nested inside it; actions and
// embedded files are recognised by their keys wherever they sit (catalog, pages, annotations, name
// trees, form fields).
//
// Bounds: xref reconstruction (a scan of the whole file) only up to kMaxRecoverBytes; at most
// kMaxObjects indirect objects (more is reported as malformed and not walked),
// kMaxVisits nested objects in total, nesting depth kMaxDepth, every decoded stream capped at
// kMaxStream bytes (and at the engine's remaining budget) by a pipeline that aborts decoding.
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "scan/detectors/content/content_detectors.h"
#include "scan/detectors/content/content_util.h"

namespace airlock::scan {
namespace {

using content::Escape;
using content::MakeFinding;

constexpr size_t kMaxObjects = 200000;
constexpr size_t kMaxVisits = 2000000;
constexpr int kMaxDepth = 32;
constexpr size_t kMaxStream = 32u << 20;
constexpr size_t kMaxScripts = 32;
constexpr size_t kMaxRecoverBytes = 64u << 20;  // larger files are not reconstructed by scanning
constexpr size_t kMaxUris = 20;

// Collects decoded stream bytes and aborts decoding past a cap (decompression bombs).
class CappedSink final : public Pipeline {
 public:
  CappedSink(std::string& out, size_t cap) : Pipeline("airlock-capped-sink", nullptr), out_(out), cap_(cap) {}
  void write(unsigned char const* data, size_t len) override {
    if (len > cap_ - out_.size()) throw std::length_error("stream exceeds size cap");
    out_.append(reinterpret_cast<const char*>(data), len);
  }
  void finish() override {}

 private:
  std::string& out_;
  size_t cap_;
};

struct Embedded {
  std::string name;
  QPDFObjGen stream;
};

// What the document's scripts can do, from the Reader APIs they name (lowercased text search over
// all scripts, first 1 MiB each): reaching out (URL, attachment launch, form submission to a URL,
// other documents), running obfuscated code, or calling APIs of known Reader exploits.
struct JsWeight {
  std::vector<std::string> capabilities;  // "opens a URL (app.launchURL)", ...
  bool harmless = false;  // short, uses display-side APIs (print, alert, field formatting), no eval,
                          // decoding, function definitions or object construction
};

JsWeight WeighScripts(const std::vector<std::string>& scripts) {
  std::string all;
  for (const auto& sc : scripts) all += content::AsciiLower(std::string_view(sc).substr(0, 1u << 20)) + "\n";
  auto has = [&](std::string_view needle) { return all.find(needle) != std::string::npos; };
  JsWeight w;
  auto cap = [&](bool when, const char* what) {
    if (when) w.capabilities.emplace_back(what);
  };
  cap(has("launchurl("), "opens a URL (launchURL)");
  cap(has("exportdataobject("), "extracts and opens an attachment (exportDataObject)");
  cap(has("submitform(") && (has("http:") || has("https:") || has("curl")), "submits form data to a URL (submitForm)");
  cap(has("geturl(") || has("net.http") || has("soap.request") || has("soap.connect"), "fetches a URL (getURL/Net.HTTP/SOAP)");
  cap(has("app.opendoc(") || has("app.launch("), "opens another document or program (app.openDoc)");
  const bool decodes = has("unescape(") || has("fromcharcode") || has("atob(") || has("\\x") || has("\\u00");
  cap(has("eval(") && decodes, "evaluates decoded/obfuscated code (eval of unescape/fromCharCode)");
  cap(has("%u0c0c") || has("%u9090") || has("unescape(\"%u") || has("unescape('%u"), "builds shellcode (unescape %u)");
  for (std::string_view api : {"util.printf(", "util.printd(", "collab.geticon(", "collab.collectemailinfo(", "getannots(",
                               "media.newplayer(", "spell.customdictionaryopen("}) {
    if (has(api)) {
      w.capabilities.push_back("calls an API of known Reader exploits (" + std::string(api.substr(0, api.size() - 1)) + ")");
      break;
    }
  }
  bool display = false;
  for (std::string_view api : {"print(", "alert(", "afdate_", "afnumber_", "afspecial_", "afpercent_", "aftime_",
                               "printx(", "event.value", "getfield(", "setfocus(", "pagenum", "zoom"}) {
    display = display || has(api);
  }
  w.harmless = display && w.capabilities.empty() && !decodes && !has("eval(") && !has("function") &&
               !has("new ") && all.size() < 4096;
  return w;
}

struct Seen {
  std::vector<std::string> scripts;
  std::vector<std::string> auto_actions;  // "OpenAction /JavaScript", "AA /Launch" ...
  std::vector<std::string> launches;
  std::vector<std::string> uris;
  std::vector<std::string> submits;
  std::vector<std::string> gotors;
  std::vector<Embedded> embedded;
  std::set<QPDFObjGen> embedded_streams;
  bool richmedia = false;
  bool xfa = false;
  size_t visits = 0;
  size_t errors = 0;
  std::string first_error;
};

class PdfDetector final : public Analyzer {
 public:
  std::string_view Name() const override { return "content.pdf"; }
  // By header ("%PDF-" in the first 1 KiB, as readers accept) or MIME type; a ".pdf" name on other
  // bytes is the names detector's business, not a malformed PDF.
  bool Accepts(const Object& object) const override {
    return object.mime == "application/pdf" || content::DetectMagic(object.data) == content::Magic::kPdf;
  }

  void Analyze(const Object& object, AnalyzerOutput& out) override {
    try {
      AnalyzeOrThrow(object, out);
    } catch (const QPDFExc& e) {
      if (e.getErrorCode() == qpdf_e_password) {
        out.AddFinding(MakeFinding("pdf.encrypted", 3, "Password-protected PDF",
                                   "The PDF needs a password to open, which hides its content from "
                                   "scanners; the password usually travels in the mail body.",
                                   Escape(e.getMessageDetail()), {"T1027.013"}));
        return;
      }
      Malformed(e.what(), out);
    } catch (const std::exception& e) {
      Malformed(e.what(), out);
    }
  }

 private:
  // severity 3 when qpdf gave up, 2 when it recovered (damaged xref, bad objects).
  static void Malformed(std::string_view reason, AnalyzerOutput& out, int severity = 3) {
    out.AddFinding(MakeFinding("pdf.malformed", severity, "Malformed PDF",
                               severity >= 3 ? "qpdf could not parse the file; damaged structure is common "
                               "in exploit documents and hides content from simple scanners."
                                             : "qpdf had to repair the file; damaged structure is common in "
                               "exploit documents and hides content from simple scanners.",
                               Escape(reason)));
  }

  static std::string Str(QPDFObjectHandle h) {
    if (h.isString()) return h.getUTF8Value();
    if (h.isName()) return h.getName();
    if (h.isDictionary()) {  // file specification
      for (const char* key : {"/UF", "/F", "/Unix", "/DOS"}) {
        if (h.hasKey(key) && h.getKey(key).isString()) return h.getKey(key).getUTF8Value();
      }
      if (h.hasKey("/Win")) return Str(h.getKey("/Win"));
    }
    return {};
  }

  std::string StreamBytes(QPDFObjectHandle stream, AnalyzerOutput& out) {
    std::string data;
    size_t cap = static_cast<size_t>(std::min<uint64_t>(kMaxStream, out.RemainingBytes()));
    CappedSink sink(data, cap);
    try {
      stream.pipeStreamData(&sink, 0, qpdf_dl_generalized, true);
    } catch (const std::exception&) {
      // Partial data is still useful evidence.
    }
    return data;
  }

  std::string ScriptOf(QPDFObjectHandle js, AnalyzerOutput& out) {
    if (js.isString()) return js.getUTF8Value();
    if (js.isStream()) return StreamBytes(js, out);
    return {};
  }

  static std::string ActionType(QPDFObjectHandle action) {
    if (action.isDictionary() && action.hasKey("/S") && action.getKey("/S").isName()) {
      return action.getKey("/S").getName();
    }
    return {};
  }

  // An auto-run action: OpenAction (unless it is a plain destination) or any entry of an /AA dict.
  static void NoteAutoAction(std::string_view where, QPDFObjectHandle action, Seen& seen) {
    if (action.isArray()) return;  // destination: [page /Fit]
    std::string type = ActionType(action);
    if (type == "/GoTo" || seen.auto_actions.size() >= 16) return;
    seen.auto_actions.push_back(std::string(where) + " " + (type.empty() ? "?" : type));
  }

  void Visit(QPDFObjectHandle h, int depth, Seen& seen, AnalyzerOutput& out) {
    if (++seen.visits > kMaxVisits || depth > kMaxDepth) return;
    if (h.isArray()) {
      int n = h.getArrayNItems();
      for (int i = 0; i < n && seen.visits <= kMaxVisits; ++i) {
        QPDFObjectHandle item = h.getArrayItem(i);
        if (!item.isIndirect()) Visit(item, depth + 1, seen, out);
      }
      return;
    }
    QPDFObjectHandle dict = h.isStream() ? h.getDict() : h;
    if (!dict.isDictionary()) return;
    if (h.isStream() && dict.hasKey("/Type") && dict.getKey("/Type").isName() &&
        dict.getKey("/Type").getName() == "/EmbeddedFile" && seen.embedded_streams.count(h.getObjGen()) == 0) {
      seen.embedded_streams.insert(h.getObjGen());
      seen.embedded.push_back({"", h.getObjGen()});
    }
    InspectDict(dict, seen, out);
    for (const std::string& key : dict.getKeys()) {
      QPDFObjectHandle v = dict.getKey(key);
      if (!v.isIndirect()) Visit(v, depth + 1, seen, out);
    }
  }

  void InspectDict(QPDFObjectHandle dict, Seen& seen, AnalyzerOutput& out) {
    std::string type = ActionType(dict);
    if ((type == "/JavaScript" || dict.hasKey("/JS")) && seen.scripts.size() < kMaxScripts) {
      std::string js = ScriptOf(dict.getKey("/JS"), out);
      if (!js.empty()) seen.scripts.push_back(std::move(js));
    }
    if (type == "/Launch") {
      std::string target = Str(dict.getKey("/F"));
      if (target.empty()) target = Str(dict.getKey("/Win"));
      seen.launches.push_back(target.empty() ? dict.unparse().substr(0, 200) : target);
    }
    if (type == "/URI" && seen.uris.size() < kMaxUris) seen.uris.push_back(Str(dict.getKey("/URI")));
    if (type == "/SubmitForm") seen.submits.push_back(Str(dict.getKey("/F")));
    if (type == "/GoToR" || type == "/GoToE") seen.gotors.push_back(Str(dict.getKey("/F")));
    if (dict.hasKey("/OpenAction")) NoteAutoAction("OpenAction", dict.getKey("/OpenAction"), seen);
    // Document-level scripts (the catalog's /Names /JavaScript tree) run when the document opens.
    if (dict.hasKey("/Names") && dict.getKey("/Names").isDictionary() &&
        dict.getKey("/Names").hasKey("/JavaScript") && seen.auto_actions.size() < 16) {
      seen.auto_actions.push_back("Names /JavaScript (document-level)");
    }
    if (dict.hasKey("/AA") && dict.getKey("/AA").isDictionary()) {
      QPDFObjectHandle aa = dict.getKey("/AA");
      for (const std::string& key : aa.getKeys()) NoteAutoAction("AA " + key, aa.getKey(key), seen);
    }
    if (dict.hasKey("/RichMediaContent") ||
        (dict.hasKey("/Subtype") && dict.getKey("/Subtype").isName() &&
         dict.getKey("/Subtype").getName() == "/RichMedia")) {
      seen.richmedia = true;
    }
    if (dict.hasKey("/XFA")) seen.xfa = true;
    if (dict.hasKey("/EF") && dict.getKey("/EF").isDictionary()) {
      QPDFObjectHandle ef = dict.getKey("/EF");
      for (const char* key : {"/UF", "/F"}) {
        QPDFObjectHandle s = ef.getKey(key);
        if (!s.isStream() || seen.embedded_streams.count(s.getObjGen()) > 0) continue;
        seen.embedded_streams.insert(s.getObjGen());
        seen.embedded.push_back({Str(dict), s.getObjGen()});
        break;
      }
    }
  }

  void AnalyzeOrThrow(const Object& object, AnalyzerOutput& out) {
    QPDF pdf;
    pdf.setSuppressWarnings(true);
    pdf.setAttemptRecovery(object.data.size() <= kMaxRecoverBytes);
    pdf.processMemoryFile(object.name.empty() ? "pdf" : object.name.c_str(), object.data.data(),
                          object.data.size());
    if (pdf.getObjectCount() > kMaxObjects) {
      Malformed("more than " + std::to_string(kMaxObjects) + " objects; not walked", out);
      return;
    }
    Seen seen;
    for (QPDFObjectHandle h : pdf.getAllObjects()) {
      if (out.TimeUp() || seen.visits > kMaxVisits) break;
      try {
        Visit(h, 0, seen, out);
      } catch (const std::exception& e) {
        if (seen.errors++ == 0) seen.first_error = e.what();
      }
    }
    // Files referenced only by their /EmbeddedFile stream still get extracted.
    for (Embedded& e : seen.embedded) {
      if (e.name.empty()) e.name = "embedded.bin";
    }
    Report(pdf, seen, out);
  }

  // Appends item to a separator-joined list in place. (Building `sep + item` as a temporary first made
  // GCC 12 at -O3 report a -Wrestrict false positive in operator+(const char*, string&&); appending
  // the two pieces needs no temporary and no insert at the front.)
  static void AppendJoined(std::string& list, std::string_view sep, std::string_view item) {
    if (!list.empty()) list += sep;
    list += item;
  }

  void Report(QPDF& pdf, Seen& seen, AnalyzerOutput& out) {
    const bool auto_run = !seen.auto_actions.empty();
    std::string autos;
    for (const auto& a : seen.auto_actions) AppendJoined(autos, ", ", a);
    if (!seen.scripts.empty()) {
      const JsWeight w = WeighScripts(seen.scripts);
      std::string caps;
      for (const auto& c : w.capabilities) AppendJoined(caps, "; ", c);
      int severity = auto_run ? 6 : 4;
      std::string title = auto_run ? "PDF runs JavaScript automatically" : "PDF contains JavaScript";
      std::string why = "Reader JavaScript is the usual vehicle of PDF exploits and redirects; it is extracted as "
                        "script.js and judged on its own.";
      if (!w.capabilities.empty()) {
        severity = auto_run ? 8 : 6;
        title = (auto_run ? "PDF runs JavaScript on open that " : "PDF JavaScript that ") + w.capabilities.front();
        why = "The script uses Reader APIs that reach outside the document (" + caps + ")" +
              (auto_run ? ", and an OpenAction/AA entry runs it without a click." : ".");
      } else if (w.harmless && auto_run) {
        severity = 3;
        title = "PDF runs a display-only script on open";
        why = "The automatic script only uses printing, alerts, field formatting or navigation (no URL, attachment, "
              "eval or exploit API); it is reported, not judged malicious.";
      }
      out.AddFinding(MakeFinding("pdf.javascript", severity, title, why, Escape(seen.scripts.front(), 160),
                                 {"T1059.007"}));
      for (size_t i = 0; i < seen.scripts.size(); ++i) {
        std::string name = i == 0 ? "script.js" : "script_" + std::to_string(i + 1) + ".js";
        if (!out.AddChild(std::move(name), std::move(seen.scripts[i]))) break;
      }
    }
    if (auto_run) {
      out.AddFinding(MakeFinding("pdf.auto_action", 3, "PDF acts when opened or viewed",
                                 "OpenAction/AA entries run an action without a click.", autos,
                                 {"T1204.002"}));
    }
    if (!seen.launches.empty()) {
      out.AddFinding(MakeFinding("pdf.launch", 8, "PDF launches a program",
                                 "A /Launch action starts an external program or opens a file.",
                                 Escape(seen.launches.front()), {"T1204.002"}));
    }
    if (!seen.embedded.empty()) {
      std::string names;
      for (const auto& e : seen.embedded) AppendJoined(names, ", ", Escape(e.name, 80));
      out.AddFinding(MakeFinding("pdf.embedded_file", 3, "PDF carries embedded files",
                                 "Embedded files are extracted and triaged as children.", names,
                                 {"T1027.009"}));
      for (const auto& e : seen.embedded) {
        if (out.TimeUp()) break;
        std::string data = StreamBytes(pdf.getObjectByObjGen(e.stream), out);
        std::string leaf = e.name.substr(e.name.find_last_of("/\\") == std::string::npos
                                             ? 0 : e.name.find_last_of("/\\") + 1);
        if (!out.AddChild(leaf.empty() ? "embedded.bin" : leaf, std::move(data))) break;
      }
    }
    if (!seen.uris.empty()) {
      std::string list;
      for (const auto& u : seen.uris) AppendJoined(list, " ", Escape(u, 100));
      out.AddFinding(MakeFinding("pdf.uri", 1, "PDF links to URLs", "Links found in /URI actions.", list));
    }
    if (!seen.submits.empty()) {
      out.AddFinding(MakeFinding("pdf.submit_form", 3, "PDF submits form data",
                                 "A /SubmitForm action sends form fields (often credentials) to a URL.",
                                 Escape(seen.submits.front())));
    }
    if (!seen.gotors.empty()) {
      out.AddFinding(MakeFinding("pdf.remote_goto", 3, "PDF opens a remote document",
                                 "/GoToR or /GoToE opens another file; a UNC path leaks credentials.",
                                 Escape(seen.gotors.front()), {"T1187"}));
    }
    if (seen.richmedia) {
      out.AddFinding(MakeFinding("pdf.richmedia", 4, "PDF embeds rich media (Flash)",
                                 "RichMedia annotations load Flash/video players, a past exploit path.",
                                 "/RichMedia", {"T1203"}));
    }
    if (seen.xfa) {
      out.AddFinding(MakeFinding("pdf.xfa", 3, "PDF contains an XFA form",
                                 "XFA forms carry their own scripts and XML and were used in exploits.",
                                 "/XFA", {"T1203"}));
    }
    if (seen.errors > 0) {
      Malformed(seen.first_error, out);
    } else if (pdf.anyWarnings()) {
      std::vector<QPDFExc> warnings = pdf.getWarnings();
      Malformed(warnings.empty() ? "recovered" : warnings.front().what(), out, 2);
    }
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakePdfDetector() { return std::make_unique<PdfDetector>(); }

}  // namespace airlock::scan
