/*
 * A test peer's view of its own send queue and pending error, for the reset tests: "the peer
 * resets once finwait's kernel has acknowledged everything it sent".
 */
#ifndef FW_TEST_SENDQ_H
#define FW_TEST_SENDQ_H

#include <stdbool.h>

/* Wait until the peer's kernel acknowledged everything written to fd (SIOCOUTQ 0). */
bool sk_wait_acked(int fd, int timeout_ms);
/* The socket's pending error (errno value, taken from the socket), 0 if none. */
int sk_pending_error(int fd);

#endif
