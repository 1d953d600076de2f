// The sandbox's own terminal (docs/SECURITY.md, "The terminal"). When airlock's stdin, stdout or
// stderr is a terminal, the payload does not get that terminal: the parent opens a fresh
// pseudo-terminal (/dev/ptmx), keeps the master, and the slave replaces each stdio descriptor that was
// a terminal and becomes the payload's controlling terminal in its new session. The payload never
// holds a descriptor of the caller's terminal, so nothing it does (modes, O_NONBLOCK, TIOCEXCL,
// TIOCSTI, window size) reaches it. A relay thread copies bytes both ways:
//   caller's terminal (in raw mode while relaying) -> master -> the slave's line discipline: Ctrl-C,
//     Ctrl-D, Ctrl-Z arrive as bytes and become the payload's SIGINT, EOF, SIGTSTP from its own
//     terminal (airlock itself gets no SIGINT from the caller's terminal while it relays);
//   master -> the caller's terminal (stdout if it is one, else stderr, else stdin when writable).
// Window size: copied when the pty is opened; OnWindowChange (the supervisor calls it on SIGWINCH)
// copies it again, and the kernel signals the payload's foreground group itself.
// The caller's terminal is restored (host_terminal.h: termios, file status flags, exclusive mode) by
// Finish and by the destructor, so on every path out of a run. Finish relays what the sandbox wrote
// last before it returns (no lost tail), then closes the master: a process still holding the slave is
// hung up and can no longer write to the caller's terminal.
// When airlock runs in the background of its terminal, it neither relays input nor changes modes
// (reading would stop it with SIGTTIN); output is still relayed.
//
// Sides: PtyRelay is the parent's; the child applies StdioTerminal with the allocation-free functions
// below. Threading: Start, ReleaseSlave and Finish from one thread (the run's); OnWindowChange from
// any; the relay thread is started by Start, after clone (the sandbox never sees it), and inherits
// the caller's signal mask (the supervisor blocks the forwarded signals before).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "tty/host_terminal.h"

namespace airlock {

// What the payload's stdio becomes; prepared in the parent (PtyRelay::stdio), applied in the child.
struct StdioTerminal {
  int slave = -1;                           // borrowed from the PtyRelay; -1: stdio left as it is
  bool replace[3] = {false, false, false};  // stdio i (0, 1, 2) becomes the slave
};

// Bit i set: stdio i is the private terminal (the form a warm sandbox's request carries it in).
unsigned StdioTerminalMask(const StdioTerminal& t);

// Child side, after setsid and before descriptors are closed: dup2(slave, i) for each replaced i, then,
// when `controlling`, makes it the controlling terminal (TIOCSCTTY: the caller must be a session
// leader without one). Allocation-free; 0 or -errno.
int AttachTerminalInChild(const StdioTerminal& t, bool controlling);
// TIOCSCTTY on the first stdio descriptor in `mask` (StdioTerminalMask), for a payload that received its
// stdio already in place (a warm sandbox). Allocation-free; 0 or -errno (0 for an empty mask).
int TakeControllingTerminalInChild(unsigned mask);

class PtyRelay {
 public:
  // A pseudo-terminal for the payload when any of fds 0, 1, 2 is a terminal; nullptr when none is.
  // Saves the caller's terminal state first. The slave gets the caller's modes and window size; when
  // the caller's input is not relayed (stdin is no terminal, or we are in its background) the caller's
  // terminal keeps its own output processing and the slave's is turned off (no doubled CR).
  // Fails when no pseudo-terminal can be opened (the message says how to run without one).
  static Result<std::unique_ptr<PtyRelay>> OpenFromParent();
  ~PtyRelay();
  PtyRelay(const PtyRelay&) = delete;
  PtyRelay& operator=(const PtyRelay&) = delete;

  StdioTerminal stdio() const;
  // "stdin, stdout, stderr on a pseudo-terminal of its own (/dev/pts/N); input and output relayed"
  std::string Describe() const;

  // The sandbox holds the slave now (cold: cloned; warm: sent): drops our copy.
  void ReleaseSlave() { slave_.reset(); }
  // Raw mode on the caller's terminal (when its input is relayed) and the relay thread. Idempotent.
  Status Start();
  // The caller's window size to the pty. Any thread; a no-op once finished.
  void OnWindowChange();
  // The sandbox has ended: relays what is left in the pty (bounded), stops the relay thread, closes
  // the master and restores the caller's terminal. Idempotent.
  void Finish();

 private:
  PtyRelay() = default;
  void Relay();
  bool CopyOut();
  void Drain();
  void WriteOut(const char* data, size_t len);

  UniqueFd master_;
  UniqueFd slave_;
  UniqueFd stop_;  // eventfd: Finish asks the thread to drain and end
  int pts_ = -1;   // the pty's number, for Describe
  bool replace_[3] = {false, false, false};
  int in_fd_ = -1;   // the caller's terminal we read (stdin), -1 = input not relayed
  int out_fd_ = -1;  // where the payload's terminal output goes, -1 = dropped
  std::vector<HostTerminalState> saved_;  // each stdio descriptor that is a terminal
  std::thread thread_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace airlock
