/* dns_probe SERVER NAME [TYPE]: sends one DNS query (UDP, type A unless TYPE is a number) for NAME
 * to SERVER:53 and prints what came back, for tests of the --net-allow resolver:
 *   "answer rcode=N count=M"   a response arrived (N: its RCODE, M: its answer count)
 *   "no-answer: <why>"         sendto/recv failed (e.g. Connection refused) or 2 s passed
 * Exit status 0 for an answer, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t BuildQuery(unsigned char* p, const char* name, int qtype) {
  size_t n = 0;
  static const unsigned char head[12] = {0x4a, 0x11, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
  memcpy(p, head, sizeof head);
  n = sizeof head;
  const char* s = name;
  while (*s != '\0') {
    const char* dot = strchr(s, '.');
    size_t len = dot ? (size_t)(dot - s) : strlen(s);
    if (len == 0 || len > 63 || n + len + 6 > 300) break;
    p[n++] = (unsigned char)len;
    memcpy(p + n, s, len);
    n += len;
    s += len + (dot ? 1 : 0);
  }
  p[n++] = 0;
  p[n++] = (unsigned char)(qtype >> 8);
  p[n++] = (unsigned char)(qtype & 0xff);
  p[n++] = 0;
  p[n++] = 1;
  return n;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: dns_probe SERVER NAME [TYPE]\n");
    return 2;
  }
  int qtype = argc > 3 ? atoi(argv[3]) : 1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
    fprintf(stderr, "dns_probe: bad server address %s\n", argv[1]);
    return 2;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    printf("no-answer: %s\n", strerror(errno));
    return 1;
  }
  unsigned char q[320];
  size_t n = BuildQuery(q, argv[2], qtype);
  if (send(s, q, n, 0) < 0) {
    printf("no-answer: send: %s\n", strerror(errno));
    return 1;
  }
  struct pollfd pfd = {s, POLLIN, 0};
  if (poll(&pfd, 1, 2000) <= 0) {
    printf("no-answer: timeout\n");
    return 1;
  }
  unsigned char r[1500];
  ssize_t got = recv(s, r, sizeof r, 0);
  if (got < 12) {
    printf("no-answer: %s\n", got < 0 ? strerror(errno) : "short reply");
    return 1;
  }
  printf("answer rcode=%d count=%d\n", r[3] & 0x0f, (r[6] << 8) | r[7]);
  return 0;
}
