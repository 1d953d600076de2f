#include "analyze/network_report.h"

#include <map>
#include <set>
#include <string>

#include "core/json_text.h"
#include "runapi/run_report.h"

namespace airlock::analyze {
namespace {

namespace rf = runapi::report_field;  // `run` is the `airlock run` report

constexpr size_t kCap = 500;

std::string FieldText(const nlohmann::json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end()) return "";
  return it->is_string() ? it->get<std::string>() : DumpJson(*it);
}

bool IsLoopback(const std::string& ip) { return ip.rfind("127.", 0) == 0 || ip == "::1"; }

}  // namespace

nlohmann::json BuildNetworkSection(const std::vector<nlohmann::json>& events, const nlohmann::json& run) {
  nlohmann::json net = nlohmann::json::object();
  const nlohmann::json rn = run.is_object() && run.contains(rf::kNetwork) ? run[rf::kNetwork] : nlohmann::json::object();
  net["mode"] = rn.value("mode", "none");
  nlohmann::json domains = nlohmann::json::array(), dests = nlohmann::json::array(), urls = nlohmann::json::array();
  std::set<std::string> seen_domain, seen_dest, seen_url;
  std::map<std::string, std::string> host_of;  // sinkhole address -> name it was resolved from
  // The monitor's connect/sendto events know the process; the sinkhole's know the name and bytes.
  std::map<std::string, std::string> image_of;  // "ip:port" -> first image that dialled it
  for (const auto& e : events) {
    if (e.value("category", "") != "network_connection" || !e.contains("DestinationIp")) continue;
    if (e.contains("DestinationHostname")) host_of[FieldText(e, "DestinationIp")] = FieldText(e, "DestinationHostname");
    if (e.contains("Image")) image_of.emplace(FieldText(e, "DestinationIp") + ":" + FieldText(e, "DestinationPort"), FieldText(e, "Image"));
  }
  for (const auto& e : events) {
    std::string cat = e.value("category", "");
    if (cat == "dns_query") {
      std::string q = FieldText(e, "QueryName");
      if (!q.empty() && seen_domain.size() < kCap && seen_domain.insert(q).second) domains.push_back(q);
    } else if (cat == "network_connection") {
      std::string ip = FieldText(e, "DestinationIp");
      std::string port = FieldText(e, "DestinationPort");
      std::string proto = FieldText(e, "Protocol");
      // DNS to the resolver and loopback traffic are plumbing, not destinations.
      if (!ip.empty() && !IsLoopback(ip) && port != "53" && seen_dest.size() < kCap &&
          seen_dest.insert(proto + " " + ip + ":" + port).second) {
        nlohmann::json d = {{"protocol", proto}, {"ip", ip}, {"port", e["DestinationPort"]}};
        auto h = host_of.find(ip);
        if (h != host_of.end()) d["hostname"] = h->second;
        auto im = image_of.find(ip + ":" + port);
        if (im != image_of.end()) d["image"] = im->second;
        dests.push_back(d);
      }
      std::string url = FieldText(e, "Url");
      std::string sni = FieldText(e, "TlsServerName");
      if (url.empty() && !sni.empty() && seen_url.size() < kCap && seen_url.insert("TLS https://" + sni + "/").second) {
        urls.push_back({{"method", "TLS"}, {"url", "https://" + sni + "/"}, {"host", sni}});
      }
      if (!url.empty() && seen_url.size() < kCap && seen_url.insert(FieldText(e, "Method") + " " + url).second) {
        nlohmann::json u = {{"method", FieldText(e, "Method")}, {"url", url}};
        if (e.contains("Host")) u["host"] = FieldText(e, "Host");
        if (e.contains("UserAgent")) u["user_agent"] = FieldText(e, "UserAgent");
        auto im = image_of.find(ip + ":" + port);
        if (im != image_of.end()) u["image"] = im->second;
        urls.push_back(u);
      }
    }
  }
  net["domains"] = domains;
  net["destinations"] = dests;
  net["urls"] = urls;
  for (const char* k : {"dns_queries", "connections", "udp_datagrams", "records_dropped"}) {
    if (rn.contains(k)) net[k] = rn[k];
  }
  // The sinkhole's traffic as packets (net/pcap_writer.h): named by file, relative to the report.
  if (rn.contains("pcap") && rn["pcap"].is_object() && rn["pcap"].contains("path") && rn["pcap"]["path"].is_string()) {
    const std::string path = rn["pcap"]["path"].get<std::string>();
    net["pcap"] = {{"file", path.substr(path.rfind('/') + 1)}, {"bytes", rn["pcap"].value("bytes", 0)},
                   {"truncated", rn["pcap"].value("truncated", 0)}};
  }
  return net;
}

}  // namespace airlock::analyze
