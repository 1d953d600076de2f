// airlock-browse's page watch: what it records from CDP events and when it decides the page settled.
#include <gtest/gtest.h>

#include "analyze/browse_watch.h"

using namespace airlock::analyze;
using nlohmann::json;

namespace {

cdp::Message Event(const std::string& method, json params = json::object()) {
  cdp::Message m;
  m.method = method;
  m.params = std::move(params);
  return m;
}

WatchLimits Limits() {
  WatchLimits l;
  l.settle_ms = 1000;
  l.load_wait_ms = 5000;
  l.max_items = 3;
  l.max_text = 32;
  return l;
}

}  // namespace

TEST(BrowseWatch, NotSettledBeforeNavigatingOrLoading) {
  PageWatch w(Limits());
  EXPECT_FALSE(w.Settled(100000)) << "nothing navigated yet";
  w.Navigating(0);
  EXPECT_FALSE(w.Settled(1500)) << "not loaded, load wait not over";
  w.OnEvent(Event("Page.loadEventFired"), 2000);
  EXPECT_FALSE(w.Settled(2999));
  EXPECT_TRUE(w.Settled(3000));
  EXPECT_TRUE(w.loaded());
}

TEST(BrowseWatch, LoadWaitBoundsAPageThatNeverLoads) {
  PageWatch w(Limits());
  w.Navigating(0);
  EXPECT_FALSE(w.Settled(4999));
  EXPECT_TRUE(w.Settled(5000));
}

TEST(BrowseWatch, ADownloadInProgressHoldsTheSettleUntilItCompletes) {
  PageWatch w(Limits());
  w.Navigating(0);
  w.OnEvent(Event("Page.loadEventFired"), 100);
  w.OnEvent(Event("Browser.downloadWillBegin", {{"guid", "g1"}, {"url", "blob:null/abc"}, {"suggestedFilename", "a.zip"}}), 900);
  w.OnEvent(Event("Browser.downloadProgress", {{"guid", "g1"}, {"state", "inProgress"}, {"receivedBytes", 10}, {"totalBytes", 167}}), 950);
  EXPECT_TRUE(w.DownloadsInProgress());
  EXPECT_FALSE(w.Settled(60000)) << "a download in progress is waited for (the driver's deadline bounds it)";
  w.OnEvent(Event("Browser.downloadProgress", {{"guid", "g1"}, {"state", "completed"}, {"receivedBytes", 167}, {"totalBytes", 167}}), 61000);
  EXPECT_FALSE(w.DownloadsInProgress());
  EXPECT_FALSE(w.Settled(61999));
  EXPECT_TRUE(w.Settled(62000));
  ASSERT_EQ(w.downloads().size(), 1u);
  EXPECT_EQ(w.downloads()[0].state, "completed");
  EXPECT_EQ(w.downloads()[0].received_bytes, 167);
  json s = w.Summary();
  EXPECT_EQ(s["downloads"][0]["suggested_name"], "a.zip");
  EXPECT_EQ(s["downloads"][0]["url"], "blob:null/abc");
}

TEST(BrowseWatch, ProgressForAnUnknownDownloadIsIgnoredAndDuplicatesAreNotAdded) {
  PageWatch w(Limits());
  w.OnEvent(Event("Browser.downloadProgress", {{"guid", "nope"}, {"state", "inProgress"}}), 0);
  EXPECT_TRUE(w.downloads().empty());
  w.OnEvent(Event("Browser.downloadWillBegin", {{"guid", "g"}, {"url", "x"}}), 0);
  w.OnEvent(Event("Browser.downloadWillBegin", {{"guid", "g"}, {"url", "x"}}), 0);
  EXPECT_EQ(w.downloads().size(), 1u);
}

TEST(BrowseWatch, RecordsRequestsNavigationsConsoleAndPopupsWithinBounds) {
  PageWatch w(Limits());
  for (int i = 0; i < 5; ++i) {
    w.OnEvent(Event("Network.requestWillBeSent", {{"request", {{"url", "http://evil.example/" + std::to_string(i)}, {"method", "GET"}}},
                                                  {"type", "Script"}}),
              0);
  }
  w.OnEvent(Event("Page.frameNavigated", {{"frame", {{"url", "data:text/html;base64," + std::string(100, 'A')}}}}), 0);
  w.OnEvent(Event("Runtime.consoleAPICalled", {{"type", "log"}, {"args", json::array({{{"type", "string"}, {"value", "hi"}}})}}), 0);
  w.OnEvent(Event("Runtime.consoleAPICalled", {{"type", "error"}, {"args", json::array({{{"type", "string"}, {"value", "boom"}},
                                                                                       {{"type", "number"}, {"value", 42}}})}}),
            0);
  w.OnEvent(Event("Runtime.exceptionThrown", {{"exceptionDetails", {{"text", "Uncaught"}, {"exception", {{"description", "TypeError: x"}}}}}}), 0);
  w.OnEvent(Event("Target.targetCreated", {{"targetInfo", {{"type", "page"}, {"url", "about:blank"}}}}), 0);  // ours: no opener
  w.OnEvent(Event("Target.targetCreated", {{"targetInfo", {{"type", "page"}, {"url", "http://popup.example/"}, {"openerId", "T"}}}}), 0);
  json s = w.Summary();
  ASSERT_EQ(s["requests"].size(), 3u) << "bounded by max_items";
  EXPECT_EQ(s["requests"][0]["url"], "http://evil.example/0");
  EXPECT_EQ(s["requests"][0]["type"], "Script");
  EXPECT_EQ(s["dropped_items"], 2);
  ASSERT_EQ(s["navigations"].size(), 1u);
  std::string nav = s["navigations"][0];
  EXPECT_EQ(nav.rfind("data:text/html;base64,AAAAAAAAAA", 0), 0u);
  EXPECT_NE(nav.find("...(122 bytes)"), std::string::npos) << nav;
  ASSERT_EQ(s["console"].size(), 2u) << "errors and exceptions only: " << s["console"].dump();
  EXPECT_EQ(s["console"][0]["text"], "boom 42");
  EXPECT_EQ(s["console"][1]["level"], "exception");
  EXPECT_EQ(s["console"][1]["text"], "TypeError: x");
  ASSERT_EQ(s["popups"].size(), 1u);
  EXPECT_EQ(s["popups"][0], "http://popup.example/");
}

TEST(BrowseWatch, MalformedEventParamsAreIgnored) {
  PageWatch w(Limits());
  w.OnEvent(Event("Network.requestWillBeSent", {{"request", "not an object"}}), 0);
  w.OnEvent(Event("Page.frameNavigated", {{"frame", 5}}), 0);
  w.OnEvent(Event("Browser.downloadWillBegin", {{"guid", 5}, {"url", json::array()}}), 0);
  w.OnEvent(Event("Runtime.consoleAPICalled", {{"type", "error"}, {"args", "x"}}), 0);
  json s = w.Summary();
  EXPECT_TRUE(s["requests"].empty());
  EXPECT_TRUE(s["navigations"].empty());
  EXPECT_EQ(s["downloads"].size(), 1u);
  EXPECT_EQ(s["downloads"][0]["guid"], "");
}

TEST(BrowseWatch, NavigateFailureCountsAsLoaded) {
  PageWatch w(Limits());
  w.Navigating(0);
  w.NavigateFailed("net::ERR_FILE_NOT_FOUND");
  EXPECT_TRUE(w.Settled(1000));
  EXPECT_EQ(w.Summary()["navigate_error"], "net::ERR_FILE_NOT_FOUND");
}

TEST(BrowseDownloadName, SanitizesTheSuggestedName) {
  EXPECT_EQ(SafeDownloadName("Invoice_2026.zip", "g"), "Invoice_2026.zip");
  EXPECT_EQ(SafeDownloadName("../../etc/passwd", "g"), "passwd");
  EXPECT_EQ(SafeDownloadName("..\\evil.exe", "g"), "evil.exe");
  EXPECT_EQ(SafeDownloadName(".bashrc", "g"), "_bashrc");
  EXPECT_EQ(SafeDownloadName("a b;c$(d).sh", "g"), "a_b_c__d_.sh");
  EXPECT_EQ(SafeDownloadName("..", "1234-abcd"), "1234-abcd");
  EXPECT_EQ(SafeDownloadName("", ""), "download");
  EXPECT_EQ(SafeDownloadName(std::string(300, 'x'), "g").size(), 100u);
}
