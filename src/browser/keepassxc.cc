#include "browser/keepassxc.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/json_text.h"
#include "core/unique_fd.h"

namespace airlock::browser {
namespace {

constexpr const char* kAppDir = "/app/org.keepassxc.KeePassXC";
constexpr const char* kSocketName = "/org.keepassxc.KeePassXC.BrowserServer";

// Where Qt puts the runtime directory of this user (QStandardPaths::RuntimeLocation).
std::string RuntimeDir(const std::vector<std::string>& env) {
  std::string runtime = EnvOf(env, "XDG_RUNTIME_DIR");
  if (!runtime.empty()) return runtime;
  const passwd* pw = ::getpwuid(::getuid());
  return pw != nullptr ? std::string("/tmp/runtime-") + pw->pw_name : "";
}

Status WriteManifest(const std::string& path, const std::string& text) {
  (void)::unlink(path.c_str());
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd || ::fchmod(fd.get(), 0644) != 0 || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return ErrnoError("--keepassxc: write " + path);
  }
  return {};
}

}  // namespace

std::string KeePassXcManifest(const std::string& browser) {
  nlohmann::json m = {{"name", kKeePassXcHost},
                      {"description", "KeePassXC's browser proxy, allowed by airlock browser --keepassxc"},
                      {"path", kKeePassXcProxy},
                      {"type", "stdio"}};
  if (browser == "firefox") {
    m["allowed_extensions"] = {"keepassxc-browser@keepassxc.org"};
  } else {
    m["allowed_origins"] = {"chrome-extension://oboonakemofpalcgghocfoadofidjkkk/", "chrome-extension://pdffhmdngciaglkoonimfcmckehcpafo/"};
  }
  return DumpJson(m, 2) + "\n";
}

Result<DisplayChoice> ChooseKeePassXc(const std::vector<std::string>& env, const std::string& browser, const std::string& manifest_path) {
  if (::geteuid() == 0) {
    return MakeError("--keepassxc: as root the browser's sandbox runs as nobody outside, which cannot reach a KeePassXC; "
                     "run airlock browser as the desktop's user");
  }
  if (::access(kKeePassXcProxy, X_OK) != 0) return MakeError(std::string("--keepassxc: no ") + kKeePassXcProxy + " (apt-get install keepassxc)");
  const std::string runtime = RuntimeDir(env);
  DisplayChoice k;
  k.platform = "keepassxc";
  if (!runtime.empty() && IsSocket(runtime + kAppDir + kSocketName)) {
    k.ro_binds.push_back({runtime + kAppDir, std::string(kInsideRuntime) + kAppDir});  // the directory: a restarted KeePassXC is found
  } else if (!runtime.empty() && IsSocket(runtime + kSocketName)) {
    std::error_code ec;
    k.ro_binds.push_back({std::filesystem::canonical(runtime + kSocketName, ec).string(), std::string(kInsideRuntime) + kSocketName});
  } else {
    return MakeError("--keepassxc: KeePassXC's browser socket is not in " + Utf8Text(runtime.empty() ? "$XDG_RUNTIME_DIR" : runtime) + kAppDir +
                     ": start KeePassXC and turn on Settings > Browser Integration (and your browser in it)");
  }
  if (auto w = WriteManifest(manifest_path, KeePassXcManifest(browser)); !w) return std::unexpected(w.error());
  const std::string inside = browser == "firefox" ? std::string(kInsideHome) + "/.mozilla/native-messaging-hosts/"
                                                  : std::string(kInsideHome) + "/.config/chromium/NativeMessagingHosts/";
  k.ro_binds.push_back({manifest_path, inside + kKeePassXcHost + ".json"});
  k.env = {std::string("XDG_RUNTIME_DIR=") + kInsideRuntime};
  k.weakening = "--keepassxc: the browser's KeePassXC-Browser extension reaches your KeePassXC (its browser socket is bound in): "
                "a compromised browser can ask it for what it would give the extension";
  return k;
}

}  // namespace airlock::browser
