// The REST API as the service tests use it (cpp-httplib's client): submit, read, wait for a task.
// Shared by `airlock serve --local` (serve_test.cc) and the farm test (farm_test.cc).
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace airlock::test {

class ApiClient {
 public:
  ApiClient() = default;
  ApiClient(std::string url, std::string key) : url_(std::move(url)), key_(std::move(key)) {}

  httplib::Client Client(const std::string& key) const {
    httplib::Client c(url_);
    c.set_read_timeout(std::chrono::seconds(30));
    if (!key.empty()) c.set_default_headers({{"Authorization", "Bearer " + key}});
    return c;
  }
  // Submits `content` as `name`; the response JSON with "status" (-1: no answer).
  nlohmann::json Submit(const std::string& name, const std::string& content, const std::string& kind,
                        const std::string& timeout = "60") const {
    auto c = Client(key_);
    httplib::MultipartFormDataItems items = {{"file", content, name, "application/octet-stream"}, {"kind", kind, "", ""},
                                             {"timeout", timeout, "", ""}};
    auto r = c.Post("/api/v1/tasks", items);
    if (!r) return nlohmann::json{{"status", -1}};
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object()) j = nlohmann::json{{"body", r->body}};
    j["status"] = r->status;
    return j;
  }
  // GET `path` with `key`; the JSON body (or {"body": text}) with "status" (-1: no answer).
  nlohmann::json Get(const std::string& path, const std::string& key) const {
    auto c = Client(key);
    auto r = c.Get(path);
    if (!r) return nlohmann::json{{"status", -1}};
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object()) j = nlohmann::json{{"body", r->body}};
    j["status"] = r->status;
    return j;
  }
  nlohmann::json Get(const std::string& path) const { return Get(path, key_); }
  // Polls the task until it is done or failed (the API is the synchronisation point), at most `limit`.
  nlohmann::json WaitFinished(uint64_t id, std::chrono::seconds limit = std::chrono::seconds(120)) const {
    auto end = std::chrono::steady_clock::now() + limit;
    nlohmann::json t;
    while (std::chrono::steady_clock::now() < end) {
      t = Get("/api/v1/tasks/" + std::to_string(id));
      if (t.value("state", "") == "done" || t.value("state", "") == "failed") return t;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return t;
  }
  const std::string& url() const { return url_; }
  const std::string& key() const { return key_; }

 private:
  std::string url_, key_;
};

}  // namespace airlock::test
