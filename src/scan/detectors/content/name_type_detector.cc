// Names and types: what a user sees (the name) against what the bytes are (the magic), and carriers
// that bypass Mark-of-the-Web or masquerade as documents. Pure byte/name checks, O(name + 64 KiB).
#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "scan/detectors/content/content_detectors.h"
#include "scan/detectors/content/content_util.h"

namespace airlock::scan {
namespace {

using content::AsciiLower;
using content::Escape;
using content::MakeFinding;
using content::Magic;

constexpr std::array<std::string_view, 25> kExecExt = {
    "exe", "scr", "com", "pif", "cpl", "msi", "msp", "dll", "bat", "cmd", "ps1", "psm1", "vbs",
    "vbe", "js", "jse", "wsf", "wsh", "hta", "jar", "sh", "bash", "app", "elf", "reg"};
constexpr std::array<std::string_view, 3> kShortcutExt = {"lnk", "url", "desktop"};
constexpr std::array<std::string_view, 4> kDiskExt = {"iso", "img", "vhd", "vhdx"};
constexpr std::array<std::string_view, 34> kDocExt = {
    "pdf", "doc", "docx", "docm", "dot", "xls", "xlsx", "xlsm", "ppt", "pptx", "rtf", "txt", "odt",
    "ods", "odp", "csv", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "mp3", "mp4", "avi",
    "mov", "wav", "zip", "rar", "7z", "htm", "html", "xml"};

template <size_t N>
bool In(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool IsExecOrShortcutExt(std::string_view ext) { return In(kExecExt, ext) || In(kShortcutExt, ext); }

// Bidi controls and invisible characters, by their UTF-8 encoding.
struct Invisible {
  std::string_view utf8;
  std::string_view name;
  bool reorders;  // changes display order (the RTLO trick), not just invisible
};
constexpr std::array<Invisible, 17> kInvisibles = {{
    {"\xe2\x80\xae", "U+202E RIGHT-TO-LEFT OVERRIDE", true},
    {"\xe2\x80\xad", "U+202D LEFT-TO-RIGHT OVERRIDE", true},
    {"\xe2\x80\xab", "U+202B RIGHT-TO-LEFT EMBEDDING", true},
    {"\xe2\x80\xaa", "U+202A LEFT-TO-RIGHT EMBEDDING", true},
    {"\xe2\x80\xac", "U+202C POP DIRECTIONAL FORMATTING", false},
    {"\xe2\x81\xa6", "U+2066 LEFT-TO-RIGHT ISOLATE", true},
    {"\xe2\x81\xa7", "U+2067 RIGHT-TO-LEFT ISOLATE", true},
    {"\xe2\x81\xa8", "U+2068 FIRST STRONG ISOLATE", true},
    {"\xe2\x81\xa9", "U+2069 POP DIRECTIONAL ISOLATE", false},
    {"\xe2\x80\x8e", "U+200E LEFT-TO-RIGHT MARK", false},
    {"\xe2\x80\x8f", "U+200F RIGHT-TO-LEFT MARK", false},
    {"\xd8\x9c", "U+061C ARABIC LETTER MARK", false},
    {"\xe2\x80\x8b", "U+200B ZERO WIDTH SPACE", false},
    {"\xe2\x80\x8c", "U+200C ZERO WIDTH NON-JOINER", false},
    {"\xe2\x80\x8d", "U+200D ZERO WIDTH JOINER", false},
    {"\xe2\x81\xa0", "U+2060 WORD JOINER", false},
    {"\xef\xbb\xbf", "U+FEFF ZERO WIDTH NO-BREAK SPACE", false},
}};

// Length in bytes of the padding character that ends `s` (ASCII space, tab, underscore, UTF-8
// NBSP, U+2000..U+200A spaces, U+3000), or 0.
size_t TrailingPad(std::string_view s) {
  if (s.empty()) return 0;
  const char c = s.back();
  if (c == ' ' || c == '\t' || c == '_') return 1;
  if (s.ends_with("\xc2\xa0")) return 2;
  if (s.ends_with("\xe3\x80\x80")) return 3;
  if (s.size() >= 3 && s.substr(s.size() - 3, 2) == "\xe2\x80" &&
      static_cast<unsigned char>(c) >= 0x80 && static_cast<unsigned char>(c) <= 0x8a) {
    return 3;
  }
  return 0;
}

class NameTypeDetector final : public Analyzer {
 public:
  std::string_view Name() const override { return "content.names"; }
  bool Accepts(const Object& object) const override {
    return !object.name.empty() || !object.data.empty();
  }

  void Analyze(const Object& object, AnalyzerOutput& out) override {
    const bool mail = content::ArrivedByMail(object);
    const std::string ext = content::Extension(object.name);
    const Magic magic = content::DetectMagic(object.data);
    CheckInvisibles(object, out);
    CheckDoubleExtension(object, ext, mail, out);
    CheckMismatch(object, ext, magic, out);
    CheckExecutable(object, ext, magic, mail, out);
    CheckCarriers(object, ext, magic, mail, out);
  }

 private:
  static void CheckInvisibles(const Object& object, AnalyzerOutput& out) {
    const Invisible* worst = nullptr;
    for (const auto& inv : kInvisibles) {
      if (object.name.find(inv.utf8) == std::string::npos) continue;
      if (worst == nullptr || (inv.reorders && !worst->reorders)) worst = &inv;
    }
    if (worst == nullptr) return;
    if (worst->reorders) {
      out.AddFinding(MakeFinding(
          "name.bidi_override", 8, "File name contains a bidirectional override",
          std::string(worst->name) + " makes the name display in a different order than it is "
          "stored, so an executable extension can be shown as a harmless one (\"invoice\\u202Efdp.exe\" "
          "displays as \"invoiceexe.pdf\").",
          Escape(object.name), {"T1036.002"}));
    } else {
      out.AddFinding(MakeFinding(
          "name.invisible_char", 5, "File name contains an invisible or bidi control character",
          std::string(worst->name) + " is invisible when displayed; it is used to make names look "
          "like other names or to hide the real extension.",
          Escape(object.name), {"T1036.002"}));
    }
  }

  static void CheckDoubleExtension(const Object& object, const std::string& ext, bool mail,
                                   AnalyzerOutput& out) {
    if (!IsExecOrShortcutExt(ext)) return;
    std::string_view name = object.name;
    if (size_t slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    size_t last = name.rfind('.');
    if (last == std::string_view::npos || last == 0) return;
    std::string_view stem = name.substr(0, last);
    size_t pad = 0;  // padding characters
    std::string_view trimmed = stem;
    for (size_t n; (n = TrailingPad(trimmed)) > 0; ++pad) trimmed.remove_suffix(n);
    size_t prev = trimmed.rfind('.');
    std::string inner = prev == std::string_view::npos ? "" : AsciiLower(trimmed.substr(prev + 1));
    const bool decoy = In(kDocExt, inner);
    if (!decoy && pad < 3) return;
    out.AddFinding(MakeFinding(
        "name.double_extension", mail ? 8 : 7, "Executable hidden behind a document-like name",
        decoy ? "The name ends in a document extension followed by the real, executable one (." + ext +
                    "); many viewers hide the last extension."
              : "The executable extension (." + ext + ") is pushed out of view by padding.",
        Escape(object.name), {"T1036.007"}));
  }

  static void CheckMismatch(const Object& object, const std::string& ext, Magic magic,
                            AnalyzerOutput& out) {
    if (!In(kDocExt, ext)) return;
    if (!content::IsNativeExecutable(magic) && magic != Magic::kLnk) return;
    out.AddFinding(MakeFinding(
        "name.type_mismatch", 8, "Executable content under a document extension",
        "The name says ." + ext + " but the bytes are a " + std::string(content::MagicName(magic)) +
            "; the extension was chosen to make the user open it.",
        Escape(object.name), {"T1036.008"}));
  }

  static void CheckExecutable(const Object& object, const std::string& ext, Magic magic, bool mail,
                              AnalyzerOutput& out) {
    const bool native = content::IsNativeExecutable(magic);
    const bool script_ext = In(kExecExt, ext);
    const bool shebang = magic == Magic::kShebang;
    if (!native && !script_ext && !shebang) return;
    std::string what = native ? std::string(content::MagicName(magic))
                              : (script_ext ? "." + ext + " file" : "script with #! line");
    // A Unix shell script in a directory of a mailed archive is how source trees travel between
    // developers (build.sh, configure): mail clients do not run it on a click, so the name alone
    // weighs little and the script detector judges what it does.
    const bool unix_script = !native && (ext == "sh" || ext == "bash" || (shebang && !script_ext));
    if (mail && unix_script && object.depth > 0 && object.name.find('/') != std::string::npos) {
      out.AddFinding(MakeFinding(
          "name.executable_in_mail", 3, "Shell script inside a mailed source tree",
          "A " + what + " sits in a directory of a mailed archive, as build scripts of source trees do; a "
          "shell script does not run from the mail client, so it is judged by its content (download-and-run, "
          "reverse shells, persistence), not by being a script.",
          Escape(object.path.empty() ? object.name : object.path), {"T1566.001"}));
      return;
    }
    if (mail) {
      out.AddFinding(MakeFinding(
          "name.executable_in_mail", native ? 7 : 6, "Executable or script delivered by email",
          "A " + what + " reached the user as (part of) an email attachment; legitimate mail almost "
          "never carries programs, phishing does.",
          Escape(object.path.empty() ? object.name : object.path), {"T1566.001", "T1204.002"}));
    } else if (object.depth > 0) {
      out.AddFinding(MakeFinding("name.executable", 2, "Executable or script inside a container",
                                 "A " + what + " was found inside another file.",
                                 Escape(object.name), {"T1204.002"}));
    }
  }

  static void CheckCarriers(const Object& object, const std::string& ext, Magic magic, bool mail,
                            AnalyzerOutput& out) {
    const bool disk = In(kDiskExt, ext) || magic == Magic::kIso || magic == Magic::kVhd ||
                      magic == Magic::kVhdx;
    if (disk) {
      out.AddFinding(MakeFinding(
          "name.disk_image", mail ? 5 : 2, "Disk image as a carrier",
          "Files inside a mounted ISO/IMG/VHD(X) do not inherit the Mark-of-the-Web, so SmartScreen "
          "and Office Protected View do not warn when they are opened.",
          Escape(object.name), {"T1553.005"}));
    }
    std::string_view head = object.data.substr(0, 64);
    const bool shortcut = In(kShortcutExt, ext) || magic == Magic::kLnk ||
                          head.starts_with("[InternetShortcut]") || head.starts_with("[Desktop Entry]");
    if (shortcut) {
      out.AddFinding(MakeFinding(
          "name.shortcut", mail ? 6 : 3, "Shortcut file as a carrier",
          "Shortcuts (.lnk, .url, .desktop) run a command or open a remote target when clicked while "
          "looking like a document.",
          Escape(object.name), {"T1204.002"}));
    }
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeNameTypeDetector() { return std::make_unique<NameTypeDetector>(); }

}  // namespace airlock::scan
