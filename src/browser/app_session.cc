#include "browser/app_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <gio/gdesktopappinfo.h>
#include <gio/gio.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "browser/dbus_proxy.h"
#include "browser/home_box.h"
#include "process/spawn.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "runapi/run_request.h"

namespace airlock::browser {
namespace {

constexpr const char* kOpenedDir = "/opened";

void SayApp(const std::string& line) { std::fprintf(stderr, "airlock app: %s\n", line.c_str()); }

// Expands the field codes of one Exec word; `used` is set when it named the file.
std::string ExpandWord(const std::string& word, const std::string& path, const std::string& name, bool& used, bool& drop) {
  if (word == "%i" || word == "%k" || word == "%d" || word == "%D" || word == "%n" || word == "%N" || word == "%v" || word == "%m") {
    drop = true;
    return "";
  }
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    if (word[i] != '%' || i + 1 >= word.size()) {
      out += word[i];
      continue;
    }
    const char code = word[++i];
    if (code == 'f' || code == 'F' || code == 'u' || code == 'U') {
      out += path;
      used = true;
    } else if (code == 'c') {
      out += name;
    } else if (code == '%') {
      out += '%';
    }  // any other code expands to nothing
  }
  return out;
}

struct GFree {
  void operator()(void* p) const { g_free(p); }
};
struct GUnref {
  void operator()(void* p) const { g_object_unref(p); }
};

bool IsOurs(GAppInfo* info) {
  const char* id = g_app_info_get_id(info);
  return id != nullptr && std::string(id).starts_with("airlock-");
}

// The default application for `type` unless it is airlock's own entry; else the first recommended
// (then any) application that is not.
GAppInfo* ChooseApplication(const char* type) {
  if (GAppInfo* d = g_app_info_get_default_for_type(type, FALSE); d != nullptr) {
    if (!IsOurs(d)) return d;
    g_object_unref(d);
  }
  for (GList* (*list)(const char*) : {g_app_info_get_recommended_for_type, g_app_info_get_all_for_type}) {
    GList* all = list(type);
    GAppInfo* chosen = nullptr;
    for (GList* l = all; l != nullptr; l = l->next) {
      auto* info = static_cast<GAppInfo*>(l->data);
      if (chosen == nullptr && !IsOurs(info)) chosen = static_cast<GAppInfo*>(g_object_ref(info));
    }
    g_list_free_full(all, g_object_unref);
    if (chosen != nullptr) return chosen;
  }
  return nullptr;
}

// The file's content type as the desktop sees it (name and first bytes).
Result<std::string> ContentType(const std::string& doc) {
  int fd = ::open(doc.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return MakeError(doc + ": " + std::strerror(errno));
  unsigned char head[4096];
  ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  if (n < 0) return MakeError(doc + ": " + std::strerror(errno));
  gboolean uncertain = FALSE;
  std::unique_ptr<char, GFree> type(g_content_type_guess(doc.c_str(), head, static_cast<gsize>(n), &uncertain));
  if (!type) return MakeError(doc + ": its type is unknown");
  return std::string(type.get());
}

}  // namespace

std::string OpenedPath(const std::string& file) {
  if (file.empty()) return "";
  std::string name = std::filesystem::path(file).filename().string();
  for (char& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ' ')) c = '_';
  }
  if (name.empty() || name[0] == '.' || name[0] == '-' || name[0] == ' ') name = "file" + name;
  return std::string(kOpenedDir) + "/" + name.substr(0, 120);
}

Result<std::vector<std::string>> AppArgv(const AppOptions& o, const DisplayChoice& display, const std::string& bus_socket,
                                         const DisplayChoice& asked) {
  if (o.command.empty()) return MakeError("no program given: airlock app [options] -- PROGRAM [ARGS...]");
  const std::string airlock = FindHelper("airlock");
  if (airlock.empty()) return MakeError("the airlock front end was not found (AIRLOCK_BIN?)");
  runapi::RunRequest r(airlock);
  r.Profile("gui").KillOnInterrupt().Net(o.net);
  AddDesktopAccess(r, display, asked, bus_socket);
  const std::string opened = OpenedPath(o.file);
  if (!opened.empty()) r.RoBind(o.file, opened);
  std::vector<std::string> command = o.command;
  for (auto& word : command) {
    if (word == "%f" && !opened.empty()) word = opened;
  }
  r.Command(command);
  auto argv = r.Argv();
  if (!argv || o.box.empty()) return argv;
  return WithBox(std::move(*argv), o.box);
}

namespace {

// Runs argv as a child with the caller's terminal, passing SIGINT/SIGTERM/SIGHUP on; its exit code.
int RunAndWait(const std::vector<std::string>& argv) {
  sigset_t set, old;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  ::pthread_sigmask(SIG_BLOCK, &set, &old);
  auto pid = process::ForkExec(argv, {process::kInherit, process::kInherit, process::kInherit});
  if (!pid) {
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return SayApp("cannot start " + argv[0] + ": " + pid.error().What()), 2;
  }
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(*pid, &status, WNOHANG)) != *pid && (done >= 0 || errno == EINTR)) {
    const timespec tick = {0, 100 * 1000 * 1000};
    const int sig = ::sigtimedwait(&set, nullptr, &tick);
    if (sig > 0) ::kill(*pid, sig);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (done != *pid) return 2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int RunApp(const AppOptions& o) {
  const std::vector<std::string> env = CurrentEnvironment();
  auto display = ChooseDisplay(env, o.headless);
  if (!display) return SayApp(display.error().What()), 2;
  if (!display->weakening.empty()) SayApp("WEAKENED: " + display->weakening);
  if (o.net == "host") SayApp("WEAKENED: --net host: the program shares the host's network");
  if (!o.box.empty()) {
    if (auto made = EnsureHomeBox(o.box, "gui", o.homes, kInsideHome, "the program's home"); !made) return SayApp(made.error().What()), 2;
  }
  std::vector<std::string> weakenings;
  auto opt_ins = StartOptIns(env, {.audio = o.audio, .dbus = o.dbus, .gpu = o.gpu, .screen_share = o.screen_share}, "the program", weakenings);
  if (!opt_ins) return SayApp(opt_ins.error().What()), 2;
  for (const auto& w : weakenings) SayApp("WEAKENED: " + w);
  auto argv = AppArgv(o, *display, opt_ins->bus_socket(), opt_ins->Asked());
  if (!argv) return SayApp(argv.error().What()), 2;
  return RunAndWait(*argv);
}

Result<std::vector<std::string>> ExpandExec(const std::string& exec, const std::string& inside_path, const std::string& name) {
  gint argc = 0;
  gchar** words = nullptr;
  GError* err = nullptr;
  if (!g_shell_parse_argv(exec.c_str(), &argc, &words, &err)) {
    std::string why = err != nullptr ? err->message : "unparsable";
    if (err != nullptr) g_error_free(err);
    return MakeError("the application's Exec line '" + Utf8Text(exec) + "' cannot be read: " + why);
  }
  std::vector<std::string> out;
  bool used = false;
  for (gint i = 0; i < argc; ++i) {
    bool drop = false;
    std::string word = ExpandWord(words[i], inside_path, name, used, drop);
    if (!drop) out.push_back(std::move(word));
  }
  g_strfreev(words);
  if (out.empty() || out.front().empty()) return MakeError("the application's Exec line '" + Utf8Text(exec) + "' names no program");
  if (!used) out.push_back(inside_path);
  return out;
}

Result<std::vector<std::string>> UsualApplication(const std::string& doc, std::string* app_id) {
  auto type = ContentType(doc);
  if (!type) return std::unexpected(type.error());
  std::unique_ptr<GAppInfo, GUnref> app(ChooseApplication(type->c_str()));
  if (!app) {
    return MakeError("no application is registered for " + *type + " (" + Utf8Text(doc) +
                     "): set one with `xdg-mime default APP.desktop " + *type + "`");
  }
  if (app_id != nullptr) *app_id = g_app_info_get_id(app.get()) != nullptr ? g_app_info_get_id(app.get()) : "";
  const char* exec = G_IS_DESKTOP_APP_INFO(app.get()) ? g_desktop_app_info_get_string(G_DESKTOP_APP_INFO(app.get()), "Exec") : nullptr;
  std::unique_ptr<char, GFree> owned(const_cast<char*>(exec));
  if (exec == nullptr) return MakeError("the application for " + *type + " has no Exec line");
  const char* name = g_app_info_get_name(app.get());
  return ExpandExec(exec, OpenedPath(doc), name != nullptr ? name : "");
}

}  // namespace airlock::browser
