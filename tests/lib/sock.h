/*
 * Test peers: blocking sockets with a deadline on every wait, the kernel's TCP state, a
 * deterministic byte pattern, and a background thread for a peer that must run meanwhile.
 */
#ifndef FW_TEST_SOCK_H
#define FW_TEST_SOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

int64_t now_ms(void);

/* Listen on host (a literal) at port *port (0 = ephemeral; the bound port is written back). */
int sk_listen(const char *host, uint16_t *port);
/* Accept within timeout_ms, or -1. */
int sk_accept(int lfd, int timeout_ms);
/* Connect within timeout_ms; -1 (errno set) on failure. `src` may bind a source address. */
int sk_connect(const char *host, uint16_t port, int timeout_ms);
int sk_connect_from(const char *src, const char *host, uint16_t port, int timeout_ms);
/* The same, but a reset that lands between the handshake and the poll (connect() then reports
 * ECONNRESET) still gives the socket, with *reset set: what came before the RST is readable on
 * it (then EOF: reading SO_ERROR took the error), as a direct client reads it. */
int sk_connect_seen(const char *src, const char *host, uint16_t port, int timeout_ms, bool *reset);
/* Connect (from src, if not NULL) to host:port, a proxy in front of the server listening on
 * lfd, and accept the server's side: both ends of one proxied connection, or the test fails. */
void sk_pair(const char *src, const char *host, uint16_t port, int lfd, int *c, int *s);
/* Write everything (pattern bytes from offset `off` when buf is NULL). 0, or -errno. */
int sk_write_all(int fd, const void *buf, size_t len, int timeout_ms);
int sk_write_pattern(int fd, uint64_t off, uint64_t len, int timeout_ms);

/* How a read ended. */
enum sk_end {
    SK_EOF = 1, /* read returned 0 */
    SK_RESET,   /* ECONNRESET */
    SK_TIMEOUT, /* nothing more before the deadline */
    SK_ERROR,   /* another errno (in .err) */
};

struct sk_read {
    uint64_t bytes; /* bytes read */
    enum sk_end end;
    int err;          /* errno for SK_ERROR */
    bool pattern_ok;  /* every byte matched the pattern (when checked) */
    int64_t first_ms; /* now_ms() of the first byte, 0 if none */
    int64_t end_ms;   /* now_ms() when it ended */
};

/* Read until EOF, error, or timeout_ms without the connection ending. With `check`, bytes
 * are compared with the pattern from offset 0. `max` stops after that many bytes (0 = no
 * limit; end is then SK_TIMEOUT unless the connection ended). */
struct sk_read sk_read_until_end(int fd, int timeout_ms, bool check, uint64_t max);
/* Connect (from src, if not NULL), read until the connection ends and close it. A reset that
 * lands between the handshake and the poll makes connect() itself report ECONNRESET; the
 * client has then seen the reset all the same, so it ends as SK_RESET, with the bytes that
 * came before the RST (still readable, as a direct client reads them). */
struct sk_read sk_connect_read_end(const char *src, const char *host, uint16_t port,
                                   int timeout_ms);
/* Read exactly n bytes (or fewer if the connection ends / times out). */
struct sk_read sk_read_n(int fd, uint64_t n, int timeout_ms);
/* True if nothing arrives (no data, no EOF, no RST) within ms. */
bool sk_silent(int fd, int ms);

const char *sk_end_name(enum sk_end e);
/* Kernel TCP state (tcpi_state) and its name: "ESTABLISHED", "FIN_WAIT2", ... */
int sk_tcp_state(int fd);
const char *sk_state_name(int state);
/* Wait until fd's state is `state`; true if reached. */
bool sk_wait_state(int fd, int state, int timeout_ms);
/* One round trip of a proxied connection: "ping" from the client end c to the server end s,
 * "pong" back; milliseconds from the client's write to the answer's arrival. The test fails if
 * a side does not get its 4 bytes. */
int64_t sk_round_trip(int c, int s);
/* A new connection through the proxy at host:port to the server listening on lfd carries one
 * round trip (sk_pair, then sk_round_trip), and is closed. */
void sk_relays(int lfd, const char *host, uint16_t port);
/* Abortive close: SO_LINGER {1,0} then close -> RST. */
void sk_reset(int fd);
void sk_shut_wr(int fd);

uint8_t sk_pattern(uint64_t off);

/* A peer on a thread. */
struct sk_thread {
    pthread_t tid;
    void *(*fn)(void *);
    void *arg;
};
void sk_thread_start(struct sk_thread *t, void *(*fn)(void *), void *arg);
void sk_thread_join(struct sk_thread *t);

#endif
