#include "watch/notify_send.h"

#include <grp.h>
#include <stdlib.h>
#include <unistd.h>

#include <gio/gio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <map>
#include <memory>

namespace airlock::watch {
namespace {

int Fail(int code, const std::string& what) {
  std::fprintf(stderr, "airlock-watch notify-send: %s\n", what.c_str());
  return code;
}

bool ParseId(const std::string& s, unsigned* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "" when the process now runs as uid (and, when it started as root, gid) only; else why not.
std::string DropTo(uid_t uid, gid_t gid) {
  const bool was_root = ::geteuid() == 0;
  if (was_root) {
    if (::setgroups(0, nullptr) != 0) return std::string("setgroups: ") + std::strerror(errno);
    if (::setresgid(gid, gid, gid) != 0) return std::string("setresgid: ") + std::strerror(errno);
    if (::setresuid(uid, uid, uid) != 0) return std::string("setresuid: ") + std::strerror(errno);
  }
  uid_t r = 0, e = 0, s = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&r, &e, &s) != 0 || ::getresgid(&rg, &eg, &sg) != 0) return "getresuid/getresgid failed";
  if (r != uid || e != uid || s != uid) return "running as uid " + std::to_string(e) + ", not the file owner's " + std::to_string(uid);
  if (was_root && (rg != gid || eg != gid || sg != gid)) return "running as gid " + std::to_string(eg) + ", not " + std::to_string(gid);
  return "";
}

struct GErrorFree {
  void operator()(GError* e) const { g_error_free(e); }
};
struct GObjectUnref {
  void operator()(gpointer o) const { g_object_unref(o); }
};
struct GVariantUnref {
  void operator()(GVariant* v) const { g_variant_unref(v); }
};

int Send(const std::string& bus, const std::map<std::string, std::string>& a) {
  gchar* escaped = g_dbus_address_escape_value(bus.c_str());
  const std::string address = std::string("unix:path=") + escaped;
  g_free(escaped);
  GError* raw = nullptr;
  std::unique_ptr<GDBusConnection, GObjectUnref> conn(g_dbus_connection_new_for_address_sync(
      address.c_str(), static_cast<GDBusConnectionFlags>(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
      nullptr, nullptr, &raw));
  std::unique_ptr<GError, GErrorFree> err(raw);
  if (!conn) return Fail(1, "cannot connect to the session bus " + bus + ": " + (err ? err->message : "unknown error"));
  GVariantBuilder hints;
  g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
  g_variant_builder_add(&hints, "{sv}", "urgency", g_variant_new_byte(a.at("--urgency") == "critical" ? 2 : 1));
  g_variant_builder_add(&hints, "{sv}", "category", g_variant_new_string(a.at("--category").c_str()));
  GVariant* params = g_variant_new("(susss@asa{sv}i)", "airlock", 0u, a.at("--icon").c_str(), a.at("--summary").c_str(),
                                   a.at("--body").c_str(), g_variant_new_strv(nullptr, 0), &hints, -1);
  raw = nullptr;
  std::unique_ptr<GVariant, GVariantUnref> reply(g_dbus_connection_call_sync(
      conn.get(), "org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications", "Notify", params,
      G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 3000, nullptr, &raw));
  err.reset(raw);
  if (!reply) return Fail(1, std::string("org.freedesktop.Notifications.Notify: ") + (err ? err->message : "unknown error"));
  return 0;
}

}  // namespace

int NotifySendMain(const std::vector<std::string>& args) {
  ::clearenv();
  std::map<std::string, std::string> a = {{"--icon", "dialog-warning"}, {"--category", "x-airlock"}};
  static const char* kKeys[] = {"--uid", "--gid", "--bus", "--urgency", "--icon", "--category", "--summary", "--body"};
  for (size_t i = 0; i < args.size(); i += 2) {
    if (std::find(std::begin(kKeys), std::end(kKeys), args[i]) == std::end(kKeys) || i + 1 >= args.size()) {
      return Fail(2, "unexpected argument '" + args[i] + "' (an internal command of airlock watch)");
    }
    a[args[i]] = args[i + 1];
  }
  for (const char* k : kKeys) {
    if (!a.contains(k)) return Fail(2, std::string(k) + " is missing");
    if (!g_utf8_validate(a[k].data(), static_cast<gssize>(a[k].size()), nullptr)) return Fail(2, std::string(k) + " is not valid UTF-8");
  }
  unsigned uid = 0, gid = 0;
  if (!ParseId(a["--uid"], &uid) || !ParseId(a["--gid"], &gid)) return Fail(2, "--uid and --gid take numbers");
  if (a["--urgency"] != "critical" && a["--urgency"] != "normal") return Fail(2, "--urgency: expected critical or normal");
  if (std::string why = DropTo(uid, gid); !why.empty()) return Fail(3, "refusing to connect to the session bus: privilege drop to uid " + a["--uid"] + " failed: " + why);
  return Send(a["--bus"], a);
}

}  // namespace airlock::watch
