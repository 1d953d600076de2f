#include "scan/detectors/office/vba_scan.h"

#include <algorithm>
#include <cctype>

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxItems = 32;

bool IsIdent(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Case-insensitive search for `word` not glued to identifier characters on either side.
bool HasWord(std::string_view text, std::string_view word) {
  size_t pos = 0;
  while ((pos = FindIcase(text, word, pos)) != std::string_view::npos) {
    const bool left_ok = pos == 0 || !IsIdent(word.front()) || !IsIdent(text[pos - 1]);
    const size_t end = pos + word.size();
    const bool right_ok = end >= text.size() || !IsIdent(word.back()) || !IsIdent(text[end]);
    if (left_ok && right_ok) return true;
    ++pos;
  }
  return false;
}

void AddUnique(std::vector<std::string>& list, std::string item) {
  if (list.size() >= kMaxItems) return;
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

// Drops lines that are comments ('... or Rem ...), keeping the rest verbatim.
std::string StripComments(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = source.substr(start, end - start);
    std::string_view t = Trim(line);
    const bool comment = (!t.empty() && t.front() == '\'') || StartsWithIcase(t, "rem ");
    if (!comment) {
      out.append(line);
      out.push_back('\n');
    }
    start = end + 1;
  }
  return out;
}

constexpr std::string_view kAutoExec[] = {
    "AutoExec", "AutoOpen", "Auto_Open", "AutoClose", "Auto_Close", "AutoExit", "AutoNew",
    "Document_Open", "Document_Close", "Document_New", "Document_BeforeClose", "DocumentOpen",
    "DocumentBeforeClose", "DocumentChange", "Document_ContentControlOnEnter", "Workbook_Open",
    "Workbook_Close", "Workbook_Activate", "Workbook_BeforeClose", "Workbook_Deactivate",
    "Auto_Activate", "Presentation_Open", "App_WorkbookOpen", "ImageCombo21_Change",
    "OnSlideShowPageChange"};

// ActiveX control events that fire without a click once the document is shown; any control name
// may precede them ("InkPicture1_Painted", "Frame3_Layout").
constexpr std::string_view kAutoEventSuffixes[] = {"_Painted", "_Painting", "_GotFocus", "_LostFocus",
                                                   "_MouseHover", "_Layout", "_Resize"};

// Identifiers ending in one of kAutoEventSuffixes.
void FindAutoEvents(std::string_view text, std::vector<std::string>& out) {
  for (std::string_view suffix : kAutoEventSuffixes) {
    size_t pos = 0;
    while ((pos = FindIcase(text, suffix, pos)) != std::string_view::npos) {
      const size_t end = pos + suffix.size();
      size_t begin = pos;
      while (begin > 0 && IsIdent(text[begin - 1]) && pos - begin < 64) --begin;
      if (begin < pos && (end >= text.size() || !IsIdent(text[end]))) {
        AddUnique(out, std::string(text.substr(begin, end - begin)));
      }
      pos = end;
    }
  }
}

constexpr std::string_view kWrite[] = {"Kill", "CreateTextFile", "SaveToFile", "FileCopy", "CopyFile",
                                       "CopyFolder", "MoveFile", "WriteLine", "ADODB.Stream",
                                       "Put", "RtlMoveMemory"};

constexpr std::string_view kExecute[] = {
    "Shell", "ShellExecute", "ShellExecuteA", "ShellExecuteEx", "WScript.Shell", "Shell.Application",
    "CreateObject", "GetObject", "CallByName", "MacScript", "ExecuteExcel4Macro", "SendKeys",
    "FollowHyperlink", "Win32_Process", "WinExec", "CreateThread", "CreateRemoteThread",
    "VirtualAlloc", "VirtualAllocEx", "EnumSystemCodePages", "EnumDateFormats", "Application.Run",
    "mshta", "wscript", "cscript", "rundll32", "regsvr32", "certutil", "cmd.exe", "cmd /c", ".Exec",
    ".Run"};

constexpr std::string_view kDownload[] = {"URLDownloadToFile", "URLDownloadToFileA", "XMLHTTP",
                                          "Microsoft.XMLHTTP", "MSXML2.ServerXMLHTTP", "WinHttp.WinHttpRequest",
                                          "WinHttpRequest", "InternetExplorer.Application",
                                          "Net.WebClient", "DownloadFile", "DownloadString",
                                          "InternetOpenUrl", "bitsadmin"};

constexpr std::string_view kObfuscation[] = {"StrReverse", "Base64", "bin.base64", "FromBase64String",
                                             "Xor", "CallByName", "Environ"};

constexpr std::string_view kExecExtensions[] = {".exe", ".dll", ".scr", ".bat", ".cmd", ".ps1", ".vbs",
                                                ".vbe", ".js", ".jse", ".hta", ".jar", ".pif", ".lnk",
                                                ".wsf", ".cpl", ".msi"};

// "Open x For Output|Binary|Append" (file write) on one line.
void FindOpenForWrite(std::string_view text, MacroTraits& t) {
  size_t pos = 0;
  while ((pos = FindIcase(text, "open ", pos)) != std::string_view::npos) {
    // The rest of the statement, at most 256 characters (keeps the scan linear).
    std::string_view line = text.substr(pos, 256);
    line = line.substr(0, line.find('\n'));
    for (std::string_view mode : {"for output", "for binary", "for append"}) {
      if (ContainsIcase(line, mode)) AddUnique(t.write, "Open ... " + std::string(line.substr(FindIcase(line, mode), mode.size())));
    }
    pos += 5;
  }
}

// Chr(, ChrW(, ChrB( and Chr$( calls: count them; many of them suggest string building.
void FindChrCalls(std::string_view text, MacroTraits& t) {
  size_t count = 0;
  for (std::string_view f : {"chr(", "chrw(", "chrb(", "chr$(", "chrw$("}) {
    size_t pos = 0;
    while ((pos = FindIcase(text, f, pos)) != std::string_view::npos) {
      if (pos == 0 || !IsIdent(text[pos - 1])) ++count;
      pos += f.size();
    }
  }
  if (count >= 1) AddUnique(t.obfuscation, "Chr() x" + std::to_string(count));
}

void FindDeclares(std::string_view text, MacroTraits& t) {
  size_t pos = 0;
  while ((pos = FindIcase(text, "lib \"", pos)) != std::string_view::npos) {
    if (pos > 0 && IsIdent(text[pos - 1])) {
      pos += 5;
      continue;
    }
    size_t q = text.find('"', pos + 5);
    if (q == std::string_view::npos || q - pos > 80) break;
    std::string lib(text.substr(pos + 5, q - pos - 5));
    AddUnique(t.execute, "Lib \"" + lib + "\"");
    t.uses_native_api = true;
    pos = q;
  }
}

bool IsUrlChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-._~:/?#[]@!$&*+,;=%").find(c) != std::string_view::npos;
}

void FindIocs(std::string_view text, MacroTraits& t) {
  for (std::string_view scheme : {"http://", "https://", "ftp://"}) {
    size_t pos = 0;
    while ((pos = FindIcase(text, scheme, pos)) != std::string_view::npos) {
      size_t end = pos + scheme.size();
      while (end < text.size() && IsUrlChar(text[end]) && end - pos < 512) ++end;
      if (end > pos + scheme.size() + 2) AddUnique(t.iocs, std::string(text.substr(pos, end - pos)));
      pos = end;
    }
  }
  // Dotted quads.
  for (size_t i = 0; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) || (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.'))) continue;
    size_t j = i;
    int parts = 0;
    bool ok = true;
    while (parts < 4) {
      size_t digits = 0;
      int value = 0;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) && digits < 4) {
        value = value * 10 + (text[j] - '0');
        ++j;
        ++digits;
      }
      if (digits == 0 || digits > 3 || value > 255) {
        ok = false;
        break;
      }
      ++parts;
      if (parts < 4) {
        if (j >= text.size() || text[j] != '.') {
          ok = false;
          break;
        }
        ++j;
      }
    }
    if (ok && parts == 4 && (j >= text.size() || !(std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '.'))) {
      AddUnique(t.iocs, std::string(text.substr(i, j - i)));
    }
    i = j;
  }
  // Executable file names inside string literals.
  for (std::string_view ext : kExecExtensions) {
    size_t pos = 0;
    while ((pos = FindIcase(text, ext, pos)) != std::string_view::npos) {
      size_t end = pos + ext.size();
      if (end < text.size() && IsIdent(text[end])) {
        pos = end;
        continue;
      }
      size_t begin = pos;
      while (begin > 0 && (IsIdent(text[begin - 1]) || text[begin - 1] == '-' || text[begin - 1] == '.') && pos - begin < 64) --begin;
      if (begin < pos) AddUnique(t.iocs, std::string(text.substr(begin, end - begin)));
      pos = end;
    }
  }
}

}  // namespace

std::string JoinList(const std::vector<std::string>& items, size_t max) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  if (items.size() > max) out += ", ...";
  return out;
}

MacroTraits ScanMacroSource(std::string_view source) {
  MacroTraits t;
  const std::string text = StripComments(source);
  for (auto w : kAutoExec) {
    if (HasWord(text, w)) AddUnique(t.autoexec, std::string(w));
  }
  FindAutoEvents(text, t.autoexec);
  for (auto w : kWrite) {
    if (w == "Put") {
      if (FindIcase(text, "put #") != std::string_view::npos) AddUnique(t.write, "Put #");
      continue;
    }
    if (HasWord(text, w)) AddUnique(t.write, std::string(w));
  }
  FindOpenForWrite(text, t);
  for (auto w : kExecute) {
    if (HasWord(text, w)) AddUnique(t.execute, std::string(w));
  }
  if (HasWord(text, "powershell") || HasWord(text, "powershell.exe")) {
    AddUnique(t.execute, "PowerShell");
    t.uses_powershell = true;
  }
  FindDeclares(text, t);
  for (auto w : kDownload) {
    if (HasWord(text, w)) AddUnique(t.download, std::string(w));
  }
  for (auto w : kObfuscation) {
    if (HasWord(text, w)) AddUnique(t.obfuscation, std::string(w));
  }
  FindChrCalls(text, t);
  FindIocs(text, t);
  return t;
}

std::vector<Finding> MacroFindings(std::string_view kind, const MacroTraits& t,
                                   const std::vector<std::string>& modules) {
  const std::string prefix = "office." + std::string(kind);
  const std::string lang = kind == "odf" ? "StarBasic" : "VBA";
  std::vector<Finding> out;
  out.push_back(Finding{prefix + ".macro", 4, "Document contains " + lang + " macros",
                        "Macros run code on the victim's machine once enabled; most documents need none.",
                        "modules: " + JoinList(modules), {"T1059.005"}});
  if (!t.autoexec.empty()) {
    out.push_back(Finding{prefix + ".autoexec", 5, "Macro runs automatically (" + t.autoexec.front() + ")",
                          "An auto-exec trigger runs the macro when the document is opened or closed, "
                          "without a further user action.",
                          JoinList(t.autoexec), {"T1059.005", "T1204.002"}});
  }
  std::vector<std::string> suspicious;
  for (const auto* list : {&t.execute, &t.write, &t.download}) {
    suspicious.insert(suspicious.end(), list->begin(), list->end());
  }
  if (!suspicious.empty()) {
    std::vector<std::string> techniques = {"T1059.005"};
    if (!t.download.empty()) techniques.push_back("T1105");
    if (t.uses_powershell) techniques.push_back("T1059.001");
    if (t.uses_native_api) techniques.push_back("T1106");
    out.push_back(Finding{prefix + ".suspicious", 5, "Macro uses suspicious calls",
                          "Calls that execute programs, write files or download are what droppers use.",
                          JoinList(suspicious), techniques});
  }
  if (!t.obfuscation.empty()) {
    out.push_back(Finding{prefix + ".obfuscation", 4, "Macro builds or hides strings",
                          "String building (Chr, StrReverse, Base64, Xor) hides commands from readers and scanners.",
                          JoinList(t.obfuscation), {"T1027"}});
  }
  if (!t.iocs.empty()) {
    out.push_back(Finding{prefix + ".ioc", 3, "Macro contains URLs, IP addresses or executable names",
                          "Network locations and executable names in macro code are typical of droppers.",
                          JoinList(t.iocs), {}});
  }
  // mraptor: auto-exec and (write or execute); downloads count as writes.
  if (!t.autoexec.empty() && (!t.write.empty() || !t.execute.empty() || !t.download.empty())) {
    std::vector<std::string> payload;
    for (const auto* list : {&t.download, &t.write, &t.execute}) payload.insert(payload.end(), list->begin(), list->end());
    out.push_back(Finding{prefix + ".autoexec_payload", 8,
                          "Auto-exec macro writes, downloads or executes (mraptor: A and (W or X))",
                          "A macro that starts by itself and then drops or runs something is the classic "
                          "malicious-document pattern.",
                          "trigger: " + JoinList(t.autoexec, 4) + "; actions: " + JoinList(payload, 8),
                          {"T1059.005", "T1204.002"}});
  }
  return out;
}

}  // namespace airlock::scan::office
