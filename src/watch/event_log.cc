#include "watch/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "core/clock.h"

namespace airlock::watch {
namespace {

UniqueFd OpenLog(const std::string& path) {
  if (path == "-") return UniqueFd(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3));
  return UniqueFd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
}

void WriteAll(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk or a closed pipe: the line is lost, the daemon goes on
    off += static_cast<size_t>(n);
  }
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& path, size_t limit) {
  UniqueFd fd = OpenLog(path);
  if (!fd) return ErrnoError("log " + path);
  return std::unique_ptr<EventLog>(new EventLog(path, std::move(fd), limit));
}

EventLog::EventLog(std::string path, UniqueFd fd, size_t limit) : path_(std::move(path)), fd_(std::move(fd)), limit_(limit) {
  thread_ = std::thread([this] { Loop(); });
}

EventLog::~EventLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.join();
}

void EventLog::Write(std::string line) {
  std::lock_guard lock(mu_);
  if (lines_.size() >= limit_) {
    ++dropped_;
    return;
  }
  lines_.push_back(UtcTimeNow() + " " + std::move(line) + "\n");
  cv_.notify_one();
}

uint64_t EventLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void EventLog::Loop() {
  auto last_check = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !lines_.empty(); });
    std::deque<std::string> batch;
    batch.swap(lines_);
    uint64_t lost = dropped_ - dropped_reported_;
    dropped_reported_ = dropped_;
    const bool stop = stopping_;
    lock.unlock();
    if (path_ != "-" && std::chrono::steady_clock::now() - last_check > std::chrono::seconds(1)) {
      last_check = std::chrono::steady_clock::now();
      struct stat by_name{}, open{};
      if (::stat(path_.c_str(), &by_name) != 0 || (::fstat(fd_.get(), &open) == 0 && by_name.st_ino != open.st_ino)) {
        if (UniqueFd fresh = OpenLog(path_)) fd_ = std::move(fresh);  // rotated: write to the new file
      }
    }
    if (lost > 0) WriteAll(fd_.get(), UtcTimeNow() + " log: " + std::to_string(lost) + " line(s) dropped (queue full)\n");
    std::string text;
    for (auto& l : batch) text += l;
    WriteAll(fd_.get(), text);
    if (stop) return;
    lock.lock();
  }
}

}  // namespace airlock::watch
