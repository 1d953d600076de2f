// `airlock desktop install|uninstall` (docs/BROWSER.md, "Desktop programs in boxes"): launcher entries
// for the user's desktop, following the Desktop Entry Specification:
//  - airlock-chromium.desktop, "Chromium (airlock)": `airlock browser %u`, a web browser for http(s)
//    links and HTML files;
//  - airlock-open.desktop, "Open in airlock": `airlock open %f`, offered in "Open with" for documents
//    (PDF, office formats, images, text), hidden from the application menu.
// Contract: Exec names this installation's airlock by its absolute path. Install writes both into DIR
// (default $XDG_DATA_HOME/applications, else ~/.local/share/applications; created private), each
// through a temporary file renamed into place, and refreshes DIR's MIME cache with
// update-desktop-database when it is installed; it never changes which application is the default
// for a type (the user chooses "Open in airlock" in "Open with", or `xdg-mime default`).
// Uninstall removes exactly those two files. Both say what they did, one line per file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace airlock::browser {

// (file name, content) of each entry, for the airlock at `airlock_path`.
std::vector<std::pair<std::string, std::string>> DesktopEntries(const std::string& airlock_path);
std::string DefaultApplicationsDir();
[[nodiscard]] Status InstallDesktopEntries(const std::string& dir, const std::string& airlock_path);
[[nodiscard]] Status UninstallDesktopEntries(const std::string& dir);

}  // namespace airlock::browser
