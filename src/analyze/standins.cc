#include "analyze/standins.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::analyze {

const std::vector<std::string>& StandinTools() {
  static const std::vector<std::string> kTools = {
      "crontab", "at",       "atq",      "atrm",   "batch",   "systemctl", "service", "sudo",       "su",
      "useradd", "adduser",  "usermod",  "userdel", "groupadd", "passwd",  "chpasswd", "ssh",       "scp",
      "nc",      "ncat",     "netcat",   "insmod", "modprobe", "rmmod",    "iptables", "ip6tables", "ufw",
      "setenforce"};
  return kTools;
}

const std::vector<std::string>& FallbackStandinTools() {
  static const std::vector<std::string> kTools = {"curl", "wget"};
  return kTools;
}

namespace {

Status Links(const std::string& dir, const std::vector<std::string>& tools) {
  if (::mkdir(dir.c_str(), 0755) != 0) return MakeError("stand-ins: mkdir " + dir, errno);
  for (const auto& t : tools) {
    if (::symlink(kStandinProgram, (dir + "/" + t).c_str()) != 0) return MakeError("stand-ins: symlink " + t, errno);
  }
  return Ok();
}

}  // namespace

Status MakeStandinDir(const std::string& dir) {
  AIRLOCK_TRY_STATUS(Links(dir, StandinTools()), "stand-ins");
  return Links(dir + "/fallback", FallbackStandinTools());
}

std::string StandinPath() {
  return std::string(kStandinBinDir) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + kStandinBinDir + "/fallback";
}

}  // namespace airlock::analyze
