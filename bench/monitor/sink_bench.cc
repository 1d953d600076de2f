// EventSink alone (the monitor's writer thread): how many event lines per second it takes without
// dropping, pushing as fast as one thread can and at a fixed 50,000 lines/s.
// Usage: sink_bench OUTPUT_FILE [SECONDS]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "monitor/event_sink.h"
#include "monitor/json_line.h"

using Clock = std::chrono::steady_clock;

namespace {

// A typical file_event line (~250 bytes).
void Format(std::string& buf, long i) {
  airlock::JsonLine(buf)
      .Str("category", "file_event")
      .Int("EventID", 11)
      .Str("UtcTime", "2026-11-27 08:00:00.000")
      .Str("ProcessId", "42")
      .Str("Image", "/usr/bin/tar")
      .Str("User", "sandbox")
      .Str("Operation", "create")
      .Str("TargetFilename", "/tmp/x/some/directory/file" + std::to_string(i) + ".txt")
      .Finish();
}

void Run(const char* path, double seconds, double rate) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path);
    std::exit(1);
  }
  std::string line;
  long pushed = 0;
  auto t0 = Clock::now();
  {
    airlock::EventSink sink(fd, 65536);
    for (;;) {
      double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      if (elapsed >= seconds) break;
      if (rate > 0 && pushed >= elapsed * rate) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        continue;
      }
      for (int k = 0; k < 64; ++k) {
        Format(line, pushed);
        sink.Push(line);
        ++pushed;
      }
    }
    sink.Close();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%s: pushed %ld lines in %.2f s (%.0f lines/s), written %llu, dropped %llu\n",
                rate > 0 ? "paced 50,000/s" : "unpaced", pushed, s, static_cast<double>(pushed) / s,
                static_cast<unsigned long long>(sink.written()), static_cast<unsigned long long>(sink.dropped()));
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sink_bench OUTPUT_FILE [SECONDS]\n");
    return 2;
  }
  double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  Run(argv[1], seconds, 50000);
  Run(argv[1], seconds, 0);
  return 0;
}
