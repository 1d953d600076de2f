#include "scan/detectors/office/embedded.h"

#include <cctype>

#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/inflate.h"
#include "scan/detectors/office/ole_file.h"

namespace airlock::scan::office {

const std::string_view kClsidEquation3("\x02\xCE\x02\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46", 16);
const std::string_view kClsidUrlMoniker("\xE0\xC9\xEA\x79\xF9\xBA\xCE\x11\x8C\x82\x00\xAA\x00\x4B\xA9\x0B", 16);
const std::string_view kClsidFileMoniker("\x03\x03\x00\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46", 16);

bool ContainsBytes(std::string_view data, std::string_view needle) {
  return data.find(needle) != std::string_view::npos;
}

namespace {

std::optional<std::string> FindAsciiUrl(std::string_view s) {
  for (std::string_view scheme : {"http://", "https://", "ftp://", "file://"}) {
    size_t pos = FindIcase(s, scheme);
    if (pos == std::string_view::npos) continue;
    size_t end = pos;
    while (end < s.size() && end - pos < 1024 && static_cast<unsigned char>(s[end]) > 0x20 &&
           static_cast<unsigned char>(s[end]) < 0x7F && s[end] != '"' && s[end] != '<' && s[end] != '>') {
      ++end;
    }
    return std::string(s.substr(pos, end - pos));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindEmbeddedUrl(std::string_view data) {
  // UTF-16LE: keep only the low bytes of units whose high byte is 0, then search.
  for (size_t phase = 0; phase < 2; ++phase) {
    std::string narrow;
    narrow.reserve(data.size() / 2);
    for (size_t i = phase; i + 1 < data.size(); i += 2) {
      narrow.push_back(data[i + 1] == '\0' ? data[i] : '\x01');
    }
    if (auto url = FindAsciiUrl(narrow)) return url;
  }
  return FindAsciiUrl(data);
}

bool IsExecutableName(std::string_view name) {
  for (std::string_view ext : {".exe", ".dll", ".scr", ".bat", ".cmd", ".com", ".pif", ".ps1", ".vbs", ".vbe",
                               ".js", ".jse", ".wsf", ".wsh", ".hta", ".jar", ".lnk", ".cpl", ".msi", ".reg",
                               ".sct", ".inf", ".chm", ".url", ".iso", ".img", ".scf", ".ps1xml", ".psm1",
                               ".msc", ".settingcontent-ms", ".library-ms", ".appref-ms", ".py", ".sh"}) {
    if (EndsWithIcase(name, ext)) return true;
  }
  return false;
}

namespace {

// What the packaged bytes are, whatever the label says: something that runs when double-clicked
// (PE, shortcut, Internet shortcut, Explorer command file, script with #!), or a plain document.
std::string_view RunnableContent(std::string_view c) {
  if (c.starts_with("MZ")) return "Windows executable";
  if (c.starts_with(std::string_view("L\0\0\0\x01\x14\x02\0", 8))) return "Windows shortcut (LNK)";
  if (c.starts_with("\x7f" "ELF")) return "ELF executable";
  if (c.starts_with("#!")) return "script with #! line";
  std::string_view head = c.substr(0, 256);
  if (ContainsIcase(head, "[InternetShortcut]")) return "Internet shortcut (URL=...)";
  if (ContainsIcase(head, "[Shell]") && ContainsIcase(c.substr(0, 4096), "Command=")) return "Explorer command file (SCF)";
  if (ContainsIcase(head, "<job") || ContainsIcase(head, "<package")) return "Windows Script File";
  return {};
}

bool DocumentContent(std::string_view c) {
  return c.starts_with("%PDF-") || c.starts_with("\x89PNG") || c.starts_with("\xFF\xD8\xFF") || c.starts_with("GIF8") ||
         c.starts_with("{\\rtf") || LooksLikeOle(c) || c.starts_with("PK\x03\x04");
}

}  // namespace

// Judged by the payload: a runnable name or runnable content is 7; a document (PDF, image, Office
// file) under a document name is 2, since the child carries the judgement; anything else is 4.
void ReportPackage(const PackagedFile& file, std::string_view where, AnalyzerOutput& out) {
  std::string name(BaseName(file.label));
  if (name.empty()) name = std::string(BaseName(file.source_path));
  if (name.empty()) name = "package.bin";
  const std::string_view runnable = RunnableContent(file.content);
  const bool exec_name = IsExecutableName(name) || IsExecutableName(file.source_path);
  const bool exec = exec_name || !runnable.empty();
  const bool document = !exec && DocumentContent(file.content);
  Finding f;
  f.id = "office.ole.package";
  f.severity = exec ? 7 : document ? 2 : 4;
  f.title = "Embedded packaged file '" + name + "' in " + std::string(where);
  f.explanation = exec ? "The document carries an executable, shortcut or script as an OLE Package" +
                             (runnable.empty() ? std::string() : " (content: " + std::string(runnable) + ")") +
                             "; one double-click runs it."
                  : document ? "The document carries a document (PDF, image or Office file) as an OLE Package; it is "
                               "extracted and judged on its own, the wrapper adds nothing."
                             : "The document carries a file as an OLE Package object.";
  f.evidence = "label=" + file.label + " source=" + file.source_path + " size=" + std::to_string(file.content.size());
  f.techniques = {"T1204.002"};
  if (exec) f.techniques.push_back("T1027.006");
  out.AddFinding(std::move(f));
  if (!file.content.empty() && file.content.size() <= out.RemainingBytes()) {
    out.AddChild(name, std::string(file.content));
  }
}

bool ExtractActiveMime(std::string_view b, const std::string& child_name, AnalyzerOutput& out) {
  if (!b.starts_with("ActiveMime")) return false;
  for (size_t off = 0; off + 2 < b.size() && off < 0x200; ++off) {
    if (b[off] != '\x78') continue;
    auto probe = InflateZlib(b.substr(off), 8);  // cheap check before inflating everything
    if (!probe || !LooksLikeOle(*probe)) continue;
    auto inflated = InflateZlib(b.substr(off), out.RemainingBytes());
    if (inflated && LooksLikeOle(*inflated)) {
      out.AddChild(child_name, std::move(*inflated));
      return true;
    }
  }
  return false;
}

bool ReportEquationAndMonikers(std::string_view payload, std::string_view class_name, std::string_view id_prefix,
                               std::string_view where, AnalyzerOutput& out) {
  bool reported = false;
  const bool equation = ContainsIcase(class_name, "Equation.3") || ContainsBytes(payload, kClsidEquation3) ||
                        ContainsIcase(payload, "Equation Native");
  if (equation) {
    out.AddFinding(Finding{std::string(id_prefix) + ".equation_editor", 8,
                           "Equation Editor object in " + std::string(where),
                           "Equation Editor (EQNEDT32, CLSID 0002CE02) objects exploit CVE-2017-11882 / "
                           "CVE-2018-0802; no legitimate document needs one today.",
                           class_name.empty() ? "CLSID {0002CE02-0000-0000-C000-000000000046}" : std::string(class_name),
                           {"T1203"}});
    reported = true;
  }
  const bool url_moniker = ContainsBytes(payload, kClsidUrlMoniker);
  const bool ole2link = ContainsIcase(class_name, "OLE2Link");
  if (url_moniker || ole2link) {
    std::string evidence = std::string(class_name);
    if (auto url = FindEmbeddedUrl(payload)) evidence += (evidence.empty() ? "" : " ") + *url;
    out.AddFinding(Finding{std::string(id_prefix) + ".ole2link", 7,
                           "Linked OLE object with a URL moniker in " + std::string(where),
                           "An OLE2Link / URL moniker fetches and activates a remote object when the document "
                           "opens (CVE-2017-0199 style).",
                           evidence.empty() ? "URL moniker" : evidence, {"T1221", "T1203"}});
    reported = true;
  }
  return reported;
}

}  // namespace airlock::scan::office
