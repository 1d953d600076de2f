/* escape_net: attacker probes against HOST NETWORK endpoints and raw sockets (tests/escape).
 * Usage: escape_net PROBE|all [port=N] [hostip=A.B.C.D] [unixname=NAME]
 *   port      a TCP listener the test runs on the host (bound to 0.0.0.0)
 *   hostip    a non-loopback IPv4 address of the host (optional)
 *   unixname  the name of a host ABSTRACT unix socket the test listens on (without the leading NUL)
 * One line per probe, exit 0. Connects are non-blocking with a 2 s bound; nothing is sent.
 * Socket probes: ESCAPED when the socket was created (its kernel code is reachable). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape_probe.h"

/* Non-blocking connect bounded at 2 s; returns 0 on success or an errno value. */
static int bounded_connect(int s, const struct sockaddr* a, socklen_t len) {
  fcntl(s, F_SETFL, O_NONBLOCK);
  if (connect(s, a, len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  struct pollfd p = {s, POLLOUT, 0};
  if (poll(&p, 1, 2000) <= 0) return ETIMEDOUT;
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
  return err;
}

static int tcp_to(const char* ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { close(s); return EINVAL; }
  int rc = bounded_connect(s, (struct sockaddr*)&a, sizeof a);
  close(s);
  return rc;
}

static void p_tcp_host(void) {
  int port = atoi(param("port", "22"));
  const char* ips[] = {"127.0.0.1", param("hostip", NULL), NULL};
  char why[128] = "";
  for (int i = 0; i < 2 && ips[i]; i++) {
    int rc = tcp_to(ips[i], port);
    if (rc == 0) {
      char what[96];
      snprintf(what, sizeof what, "connected to host %s:%d", ips[i], port);
      escaped("tcp_host", what);
      return;
    }
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "%s%s:%s", n ? " " : "", ips[i], ename(rc));
  }
  blocked("tcp_host", why);
}

static void p_abstract_unix(void) {
  const char* name = param("unixname", "airlock-escape-probe");
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) { blocked_errno("abstract_unix", errno); return; }
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t n = strlen(name);
  if (n > sizeof a.sun_path - 2) n = sizeof a.sun_path - 2;
  memcpy(a.sun_path + 1, name, n);
  int rc = bounded_connect(s, (struct sockaddr*)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
  close(s);
  if (rc == 0) escaped("abstract_unix", "connected to the host's abstract socket");
  else blocked_errno("abstract_unix", rc);
}

static void try_socket(const char* probe, int family, int type, int proto) {
  errno = 0;
  int s = socket(family, type | SOCK_CLOEXEC, proto);
  if (s >= 0) { close(s); escaped(probe, "socket created"); return; }
  blocked_errno(probe, errno);
}

static void p_af_packet(void) { try_socket("af_packet", AF_PACKET, SOCK_RAW, htons(3 /* ETH_P_ALL */)); }
static void p_raw_inet(void) { try_socket("raw_inet", AF_INET, SOCK_RAW, IPPROTO_ICMP); }
/* The obsolete packet socket: the kernel turns it into AF_PACKET (and logs it on the host). */
static void p_sock_packet(void) { try_socket("sock_packet", AF_INET, SOCK_PACKET, htons(3 /* ETH_P_ALL */)); }
/* Protocols and netlink families a sandbox has no use for (kernel attack surface, loaded on demand). */
static void p_mptcp(void) { try_socket("mptcp", AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */); }
static void p_netlink_netfilter(void) { try_socket("netlink_netfilter", AF_NETLINK, SOCK_RAW, 12 /* NETLINK_NETFILTER */); }
static void p_netlink_generic(void) { try_socket("netlink_generic", AF_NETLINK, SOCK_RAW, 16 /* NETLINK_GENERIC */); }

static const struct probe probes[] = {{"tcp_host", p_tcp_host},       {"abstract_unix", p_abstract_unix},
                                      {"af_packet", p_af_packet},     {"raw_inet", p_raw_inet},
                                      {"sock_packet", p_sock_packet}, {"mptcp", p_mptcp},
                                      {"netlink_netfilter", p_netlink_netfilter},
                                      {"netlink_generic", p_netlink_generic}, {NULL, NULL}};

int main(int argc, char** argv) { return probe_main(argc, argv, "escape_net", probes); }
