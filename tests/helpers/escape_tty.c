/* escape_tty: the terminal-tampering attacker of the escape tier's resource probes
 * (tests/escape/escape_terminal_test.cc), driven by the test through a pty of its own.
 * Usage: escape_tty tamper [winch=ROWSxCOLS] [tail=BYTES] | quick | state
 *   quick: only the tampering below ("DID" lines), then exit 0 (bench/escape.sh runs it in each runtime);
 *   state: "STATE echo=E icanon=I nonblock=N excl=X rows=R cols=C" of its stdin, for the host side to
 *          compare before and after (bench/escape.sh).
 * tamper:
 * On its stdin/stdout terminal, in this order, one line each:
 *   "SIZE r c"            the window size it was given
 *   "DID <what> <rc> <errno>"  for each tampering: echo_off (ECHO and ICANON cleared), nonblock
 *                         (O_NONBLOCK on stdin's and stdout's open file description), excl (TIOCEXCL),
 *                         tiocsti (one character pushed into the input), winsize (set to 11x22)
 *   "READY"               then it waits (bounded) for 4 input bytes
 *   "GOT <bytes>"         what arrived; then it waits for SIGWINCH until the size is winch
 *   "WINCH r c"           the size it saw last; then "WAITINT" and it waits for SIGINT
 *   "SIGINT"|"NOSIGINT"   then `tail` bytes of filler lines and "TAIL-END", and exits 0 at once.
 * It restores nothing: whatever it changed is left for the test to find (or not) on the terminal. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "escape_probe.h"

static volatile sig_atomic_t g_winch, g_int;
static void on_winch(int s) { (void)s; g_winch = 1; }
static void on_int(int s) { (void)s; g_int = 1; }

/* stdout may be non-blocking now (we set it): write everything, waiting for room. */
static void put(const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w > 0) {
      s += w;
      n -= (size_t)w;
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      struct pollfd p = {1, POLLOUT, 0};
      poll(&p, 1, 1000);
    } else {
      _exit(3);
    }
  }
}
static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) put(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
static void did(const char* what, int rc) { say("DID %s %d %s\n", what, rc, rc == 0 ? "OK" : ename(errno)); }

static void tamper(void) {
  struct termios t;
  int rc = tcgetattr(0, &t);
  if (rc == 0) {
    t.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    rc = tcsetattr(0, TCSANOW, &t);
  }
  did("echo_off", rc);
  rc = fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  if (rc == 0) rc = fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  did("nonblock", rc);
  did("excl", ioctl(0, TIOCEXCL));
  char c = '#';
  did("tiocsti", ioctl(0, TIOCSTI, &c));
  struct winsize ws = {11, 22, 0, 0};
  did("winsize", ioctl(0, TIOCSWINSZ, &ws));
}

/* Up to `want` bytes of input within ~30 s (stdin is non-blocking now). */
static size_t read_input(char* buf, size_t want) {
  size_t got = 0;
  for (int i = 0; i < 300 && got < want; i++) {
    struct pollfd p = {0, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(0, buf + got, want - got);
    if (n > 0) got += (size_t)n;
  }
  return got;
}

static int state(void) {
  struct termios t;
  struct winsize ws = {0, 0, 0, 0};
  int excl = -1;
  if (tcgetattr(0, &t) != 0) {
    printf("STATE none %s\n", ename(errno));
    return 1;
  }
  ioctl(0, TIOCGEXCL, &excl);
  ioctl(0, TIOCGWINSZ, &ws);
  printf("STATE echo=%d icanon=%d nonblock=%d excl=%d rows=%d cols=%d\n", !!(t.c_lflag & ECHO), !!(t.c_lflag & ICANON),
         !!(fcntl(0, F_GETFL) & O_NONBLOCK), excl, ws.ws_row, ws.ws_col);
  return 0;
}

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  if (argc >= 2 && strcmp(argv[1], "state") == 0) return state();
  if (argc >= 2 && strcmp(argv[1], "quick") == 0) {
    tamper();
    return 0;
  }
  if (argc < 2 || strcmp(argv[1], "tamper") != 0) {
    fprintf(stderr, "usage: escape_tty tamper [winch=ROWSxCOLS] [tail=BYTES] | quick | state\n");
    return 2;
  }
  int want_rows = 0, want_cols = 0;
  sscanf(param("winch", "0x0"), "%dx%d", &want_rows, &want_cols);
  long tail = atol(param("tail", "65536"));
  signal(SIGWINCH, on_winch);
  signal(SIGINT, on_int);
  struct winsize ws = {0, 0, 0, 0};
  ioctl(0, TIOCGWINSZ, &ws);
  say("SIZE %d %d\n", ws.ws_row, ws.ws_col);
  tamper();
  say("READY\n");
  char in[5] = {0};
  read_input(in, 4);
  say("GOT %s\n", in);
  for (int i = 0; i < 300; i++) {  /* bounded: ~30 s */
    if (g_winch) {
      g_winch = 0;
      ioctl(0, TIOCGWINSZ, &ws);
      if (ws.ws_row == want_rows && ws.ws_col == want_cols) break;
    }
    usleep(100000);
  }
  say("WINCH %d %d\n", ws.ws_row, ws.ws_col);
  say("WAITINT\n");
  for (int i = 0; i < 300 && !g_int; i++) usleep(100000);
  say("%s\n", g_int ? "SIGINT" : "NOSIGINT");
  char line[80];
  memset(line, 'x', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  for (long done = 0; done < tail; done += (long)sizeof line) put(line, sizeof line);
  say("TAIL-END\n");
  _exit(0);
}
