/*
 * The differential oracle's model: a case is two peer scripts (client and server), each a list
 * of steps run on a blocking TCP socket; a run records what each peer observed, step by step.
 * The same case runs directly (client -> server) and through finwait with no fault
 * (client -> finwait -> server); a faithful proxy leaves every observation unchanged.
 */
#ifndef FW_FIDELITY_CASE_H
#define FW_FIDELITY_CASE_H

#include <stdbool.h>
#include <stdint.h>

enum peer { PEER_CLIENT, PEER_SERVER };

enum op {
    OP_WRITE,      /* n bytes in chunks of `chunk` bytes, `delay_ms` between chunks */
    OP_READ,       /* until n bytes arrived (n = 0: until the connection ends) */
    OP_SHUT_WR,    /* shutdown(SHUT_WR): FIN after what is queued */
    OP_WAIT_PEER,  /* until the other peer has finished its step number n (1-based) */
    OP_WAIT_INQ,   /* until at least n bytes wait unread in the own receive queue */
    OP_WAIT_DRAIN, /* until the own send queue is empty (the next hop's kernel acked it all) */
    OP_WAIT_END,   /* until the other peer's end (its FIN or RST) has reached this socket */
    OP_SLEEP,      /* n ms: a moment chosen by time alone (only in racy cases and "later") */
    OP_CLOSE,      /* close(): FIN, or RST when received data is unread */
    OP_ABORT,      /* SO_LINGER {1, 0} then close(): RST, unsent data discarded */
};

struct step {
    enum op op;
    uint64_t n;
    uint32_t chunk;
    uint32_t delay_ms;
};

#define CASE_MAX_STEPS 12

struct script {
    struct step step[CASE_MAX_STEPS];
    int n;
};

struct kase {
    uint64_t seed;
    int index;
    char name[48];     /* a named case's name, or "gen" */
    bool racy;         /* an outcome depends on timing: compared by counts, not exactly */
    int reps;          /* runs each way (0: the default of its kind) */
    int client_rcvbuf; /* SO_RCVBUF of the client's socket (0: the kernel's autotuning) */
    struct script peer[2];
};

/* How one step ended, as the peer saw it. */
enum end {
    END_OK = 1,  /* done as asked (a read of n bytes got them; a wait was satisfied) */
    END_EOF,     /* a read returned 0 */
    END_RESET,   /* ECONNRESET */
    END_PIPE,    /* EPIPE */
    END_TIMEOUT, /* nothing ended it within its bound */
    END_ERROR,   /* another errno */
};

struct obs {
    enum end end;
    int err;        /* errno when END_ERROR */
    uint64_t bytes; /* read or written */
    uint64_t hash;  /* FNV-1a of the bytes read */
    bool data_ok;   /* every byte read is the other peer's byte at that offset */
};

struct peer_obs {
    struct obs step[CASE_MAX_STEPS];
    int n;
};

struct run_obs {
    struct peer_obs peer[2];
};

/* tests/fidelity/gen.c */
/* Case `index` of seed `seed`: named cases first (index < gen_named_count()), then generated. */
void gen_case(uint64_t seed, int index, struct kase *k);
int gen_named_count(void);
/* Print the case's scripts, one step a line. */
void gen_print(const struct kase *k);
const char *gen_op_name(enum op op);

/* tests/fidelity/peer.c */
/* Run one case on a connected pair (c: client's socket, s: server's); both are closed on
 * return. Observations go to *o. A nonzero `jitter` seeds random shifts of the peers' timed
 * moments: each peer starts up to 1 ms late, each sleep and each delay between chunks lasts up
 * to 2 ms longer, each end comes up to 5 ms later. */
void peer_run(const struct kase *k, int c, int s, uint64_t jitter, struct run_obs *o);
/* The byte peer p sends at offset off. */
uint8_t peer_byte(enum peer p, uint64_t off);
const char *peer_end_name(enum end e);

#endif
