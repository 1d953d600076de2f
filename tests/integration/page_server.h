// The pages `airlock browser` tests load: a tiny HTTP server the test runs, the pages and files both
// browsers' tests share (browser_session_test.cc, firefox_session_test.cc), and what they check of
// the quarantine after one of them.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test_env.h"

namespace airlock::test {

// A page whose content type is this never finishes: the server promises more than it sends, then stalls.
inline const char* kNeverEnds = "test/never-ends";
// A download whose content type is this arrives slowly: 64 KiB every 10 ms (about 6 MB/s).
inline const char* kTrickles = "test/trickles";

// A tiny HTTP/1.0 server on `address` (127.0.0.1 unless given): path -> (content type, body); attachments
// by ".pdf" and ".sh".
class HttpServer {
 public:
  explicit HttpServer(std::map<std::string, std::pair<std::string, std::string>> pages, std::string address = "127.0.0.1")
      : pages_(std::move(pages)), address_(std::move(address)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address_.c_str(), &a.sin_addr) != 1) return;
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  std::string Url(const std::string& path) const { return "http://" + address_ + ":" + std::to_string(port_) + path; }
  std::string HostPort() const { return address_ + ":" + std::to_string(port_); }

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      char buf[4096];
      ssize_t n = ::recv(c, buf, sizeof buf - 1, 0);
      std::string req(buf, n > 0 ? static_cast<size_t>(n) : 0);
      if (!req.starts_with("GET ") || req.find(' ', 4) == std::string::npos) {  // a preconnect closed unused, or junk
        ::close(c);
        continue;
      }
      std::string path = req.substr(4, req.find(' ', 4) - 4);
      auto it = pages_.find(path);
      std::string resp;
      if (it == pages_.end()) {
        resp = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      } else if (it->second.first == kNeverEnds) {  // promises 64 MiB, sends the body given, then stalls
        resp = "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 67108864\r\n" + Disposition(path) + "\r\n" +
               it->second.second;
        (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ::close(c);
        continue;
      } else if (it->second.first == kTrickles) {
        resp = "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(it->second.second.size()) +
               "\r\n\r\n";
        bool sent = ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL) > 0;
        for (size_t at = 0; sent && !stop_ && at < it->second.second.size(); at += 65536) {
          const size_t chunk = std::min<size_t>(65536, it->second.second.size() - at);
          sent = ::send(c, it->second.second.data() + at, chunk, MSG_NOSIGNAL) == static_cast<ssize_t>(chunk);
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ::close(c);
        continue;
      } else {
        resp = "HTTP/1.0 200 OK\r\nContent-Type: " + it->second.first + "\r\nContent-Length: " + std::to_string(it->second.second.size()) +
               "\r\n" + Disposition(path) + "\r\n" + it->second.second;
      }
      (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  // Attachments: a .pdf as report.pdf, a .sh under its own name.
  static std::string Disposition(const std::string& path) {
    if (path.ends_with(".pdf")) return "Content-Disposition: attachment; filename=\"report.pdf\"\r\n";
    if (path.ends_with(".sh")) return "Content-Disposition: attachment; filename=\"" + path.substr(1) + "\"\r\n";
    return "";
  }
  std::map<std::string, std::pair<std::string, std::string>> pages_;
  std::string address_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

inline const char* kPdf =
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

// A page with much colour on it (a screenshot of it is far from blank) and a marker text.
inline std::string RichPage() {
  std::string body = "<html><head><title>airlock-page-ok</title></head><body style='background:#136'>";
  for (int i = 0; i < 120; ++i) {
    body += "<span style='color:hsl(" + std::to_string(i * 37 % 360) + ",90%,60%);font-size:" + std::to_string(10 + i % 17) +
            "px'>airlock " + std::to_string(i * 7919) + " </span>";
  }
  return body + "<p>airlock-page-ok</p></body></html>";
}

// HTML smuggling: the zip is built by the page's script from base64 and "clicked" as a blob: URL.
inline const char* kSmuggling =
    "<html><body><p>Your document</p><script>"
    "var b=atob('UEsDBBQAAAAAAOIIhl0vOtrpEgAAABIAAAAGAAAAcnVuLnNoIyEvYmluL3NoCmVjaG8gaGkKUEsBAhQDFAAAAAAA4giGXS862ukSAAAAEgAAAAYAAAAAAAAAAAAAAIABAAAAAHJ1bi5zaFBLBQYAAAAAAQABADQAAAA2AAAAAAA=');"
    "var u=new Uint8Array(b.length);for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);"
    "var a=document.createElement('a');a.href=URL.createObjectURL(new Blob([u],{type:'application/zip'}));"
    "a.download='invoice.zip';document.body.appendChild(a);a.click();</script></body></html>";

// SVG smuggling: an SVG image whose script builds a shell script and "clicks" it as a blob: URL.
inline const char* kSvgSmuggling =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\" height=\"80\"><text x=\"10\" y=\"40\">Loading your document</text>"
    "<script><![CDATA[var a = document.createElementNS('http://www.w3.org/1999/xhtml', 'a');"
    "a.href = URL.createObjectURL(new Blob(['#!/bin/sh\\necho svg-smuggled\\n'], {type: 'application/octet-stream'}));"
    "a.download = 'update.sh'; document.documentElement.appendChild(a); a.click();]]></script></svg>";

// The pages of the --box tests: /set.html stores a value in the page's localStorage, /get.html shows it.
inline std::map<std::string, std::pair<std::string, std::string>> StoragePages() {
  return {{"/set.html", {"text/html", "<p>set</p><script>localStorage.setItem('airlock', 'kept-4411')</script>"}},
          {"/get.html", {"text/html", "<p id=v>?</p><script>document.getElementById('v').textContent = "
                                      "'value:' + localStorage.getItem('airlock')</script>"}}};
}

// --box keeps a page's storage for the next session in the box, and a disposable browser (the control)
// reads none. `text_of(args)` runs a settled session with args and returns its page text; `http` serves
// StoragePages(). `box diff` shows `profile_dir` (the browser's profile, relative to the home), and
// neither the user's home (`home`) nor the box's lower directory gets it.
inline void ExpectBoxKeepsStorage(const std::function<std::string(std::vector<std::string>)>& text_of, const HttpServer& http,
                                  const std::string& home, const std::string& profile_dir) {
  EXPECT_NE(text_of({"--box", "web", http.Url("/set.html")}).find("set"), std::string::npos);
  EXPECT_NE(text_of({"--box", "web", http.Url("/get.html")}).find("value:kept-4411"), std::string::npos) << "the box kept the page's storage";
  EXPECT_NE(text_of({http.Url("/get.html")}).find("value:null"), std::string::npos) << "control: a disposable browser starts empty";
  RunResult diff = Run({"/usr/bin/env", "AIRLOCK_BOX_STORE=" + home + "/boxes", AirlockBin(), "box", "diff", "web"});
  EXPECT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_NE(diff.out.find(profile_dir), std::string::npos) << "the profile is in the box: " << diff.out.substr(0, 2000);
  EXPECT_FALSE(std::filesystem::exists(home + "/" + profile_dir)) << "a browser profile reached the user's home";
  EXPECT_FALSE(std::filesystem::exists(home + "/browser-homes/web/" + profile_dir)) << "the box's lower layer changed on the host";
}

// A session (`airlock browser` with `args`, home `home`, headless, 12 s) during which the test writes
// into its incoming directory, as the browser would when it saves there by other means than a
// download: a clean PDF (kPdf) is released with its verdict at the end; a partial download file, an
// empty file and a folder are not taken (the folder is said in the report's `dropped`).
inline void ExpectSavedFilesJudged(const std::string& home, std::vector<std::string> args) {
  const std::string log = home + "/browser.log", report = home + "/report.json";
  std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + home, AirlockBin(), "browser", "--quarantine", home + "/q", "--downloads",
                                   home + "/Downloads", "--timeout", "12", "--report", report};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("data:text/html,<title>to print</title><p>a page to print</p>");
  pid_t b = SpawnLogged(argv, log);
  std::string incoming;
  for (int i = 0; i < 300 && incoming.empty(); ++i, ::usleep(100000)) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(home + "/q", ec)) {
      if (e.path().filename().string().starts_with(".incoming-")) incoming = e.path().string();
    }
  }
  ASSERT_FALSE(incoming.empty()) << ReadFileOrEmpty(log);
  WriteFile(incoming + "/printed.pdf", kPdf, 0644);
  WriteFile(incoming + "/half.zip.crdownload", "PK", 0644);
  WriteFile(incoming + "/half.zip.part", "PK", 0644);
  WriteFile(incoming + "/empty.txt", "", 0644);
  std::filesystem::create_directories(incoming + "/page_files");
  int status = 0;
  ASSERT_EQ(::waitpid(b, &status, 0), b);
  const std::string err = ReadFileOrEmpty(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << err;
  EXPECT_NE(err.find("'printed.pdf' was saved by the browser in its download folder"), std::string::npos) << err;
  const std::string released = home + "/Downloads/printed.pdf";
  ASSERT_EQ(ReadFileOrEmpty(released), kPdf) << err;
  RunResult attrs = Run({"/usr/bin/python3", "-c", "import os,sys;print(os.getxattr(sys.argv[1],'user.airlock.verdict').decode())", released});
  EXPECT_NE(attrs.out.find("clean sha256:"), std::string::npos) << attrs.out << attrs.err;
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(home + "/Downloads", ec)) out.push_back(e.path().filename().string());
  EXPECT_EQ(out, std::vector<std::string>{"printed.pdf"});
  nlohmann::json rep = nlohmann::json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << err;
  EXPECT_NE(rep["dropped"].dump().find("folder 'page_files'"), std::string::npos) << rep.dump();
  EXPECT_FALSE(std::filesystem::exists(incoming)) << "the incoming directory is removed at exit";
}

// After a session on /smuggle.svg (kSvgSmuggling): the script it built is not in `downloads_dir` and
// `airlock downloads list --json` (its output `list_json`) shows it held, script-built, T1027.017.
inline void ExpectSvgScriptHeld(const std::string& downloads_dir, const std::string& list_json, const std::string& session_err) {
  using nlohmann::json;
  EXPECT_FALSE(std::filesystem::exists(downloads_dir + "/update.sh")) << session_err;
  json after = json::parse(list_json, nullptr, false);
  ASSERT_TRUE(after.is_object() && after["downloads"].is_array()) << list_json;
  bool found = false;
  for (const json& d : after["downloads"]) {
    if (d["name"] != "update.sh") continue;
    found = true;
    EXPECT_EQ(d["state"], "held") << d.dump();
    EXPECT_TRUE(d["scripted"].get<bool>()) << d.dump();
    EXPECT_EQ(d["techniques"], json::array({"T1027.017"})) << d.dump();
  }
  EXPECT_TRUE(found) << after.dump() << session_err;
}

}  // namespace airlock::test
