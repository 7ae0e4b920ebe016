/* The bare HTTP responder benches/get_cpu.sh compares Dynacore against: one
 * thread, one epoll set, level-triggered, non-blocking sockets. Each complete
 * request (head up to the blank line plus Content-Length body bytes) is
 * answered with the same fixed reply, read from a file at start-up (the
 * script captures a real Dynacore GetItem reply, headers included). This is
 * the least work a server can do per request on Linux sockets: one
 * epoll_wait wake-up, one read, one write.
 *
 *   cc -O2 -o bare_epoll bare_epoll.c && ./bare_epoll PORT REPLY_FILE
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNS 4096
#define BUF 65536
static char *bufs[CONNS];
static size_t fill[CONNS];

/* Length of the first complete request in b[0..n), or 0 if incomplete. */
static size_t request_len(const char *b, size_t n) {
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = end - b + 4, body = 0;
    for (const char *p = b; p < end; p++) {
        if ((*p == '\n') && strncasecmp(p + 1, "content-length:", 15) == 0) {
            body = strtoul(p + 16, NULL, 10);
            break;
        }
    }
    return head + body <= n ? head + body : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PORT REPLY_FILE\n", argv[0]); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    static char reply[BUF];
    size_t reply_len = fread(reply, 1, sizeof reply, f);
    fclose(f);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1024)) { perror("bind"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0) continue;
                if (c >= CONNS) { close(c); continue; }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                if (!bufs[c]) bufs[c] = malloc(BUF);
                fill[c] = 0;
                ev.events = EPOLLIN; ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            ssize_t r = read(fd, bufs[fd] + fill[fd], BUF - fill[fd]);
            if (r <= 0) { close(fd); continue; }
            fill[fd] += r;
            size_t len;
            while ((len = request_len(bufs[fd], fill[fd])) > 0) {
                /* Replies are small: loopback takes them whole. */
                if (write(fd, reply, reply_len) != (ssize_t)reply_len) break;
                memmove(bufs[fd], bufs[fd] + len, fill[fd] - len);
                fill[fd] -= len;
            }
            if (fill[fd] == BUF) { close(fd); }
        }
    }
}
