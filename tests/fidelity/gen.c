/*
 * The cases: the defects measured in issue 14 by name, then cases generated from a seed.
 *
 * A generated case is a request and an answer (each peer writes in chunks with delays, may
 * half-close, reads all, some or none of what the other sent) and then one peer ends first
 * (close, which sends an RST when data is unread, or abort with SO_LINGER 0) while the other
 * reads what is left, and may write to the peer that has gone.
 *
 * Deterministic by construction: every moment that matters is an observation, not a time. A
 * peer closes with unread data only once that data is in its receive queue (OP_WAIT_INQ), ends
 * only once its send queue is empty (OP_WAIT_DRAIN: what it sent is in the next kernel), and the
 * other peer looks at the end only once it happened (OP_WAIT_PEER). Writes that must fail are
 * 64 MiB, more than every buffer on the way (direct or through finwait) holds; writes that
 * must succeed are read, or fit the receiver's buffer (<= 32 KiB). A racy case removes those
 * waits (or puts a short sleep in their place): its peers end at moments chosen by time.
 */
#include <stdio.h>
#include <string.h>

#include "case.h"

#define KIB  1024ull
#define MIB  (1024ull * 1024)
#define HUGE (64 * MIB)

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform number in [lo, hi]. */
static uint64_t pick(uint64_t *s, uint64_t lo, uint64_t hi)
{
    return lo + splitmix(s) % (hi - lo + 1);
}

static bool chance(uint64_t *s, int percent)
{
    return (int)(splitmix(s) % 100) < percent;
}

static int add(struct script *sc, enum op op, uint64_t n, uint32_t chunk, uint32_t delay_ms)
{
    if (sc->n >= CASE_MAX_STEPS) {
        fprintf(stderr, "oracle: a case has more than %d steps\n", CASE_MAX_STEPS);
        return sc->n;
    }
    sc->step[sc->n] = (struct step){.op = op, .n = n, .chunk = chunk, .delay_ms = delay_ms};
    return ++sc->n; /* the step's 1-based number, for OP_WAIT_PEER */
}

static void name(struct kase *k, const char *nm)
{
    snprintf(k->name, sizeof k->name, "%s", nm);
}

/* The server reads 100 B of a large upload, answers 40 B and closes with the rest unread (an
 * RST): the client's upload fails, and it reads the answer before ECONNRESET. */
static void early_answer(struct kase *k)
{
    struct script *c = &k->peer[PEER_CLIENT], *s = &k->peer[PEER_SERVER];

    name(k, "early_answer");
    k->reps = 10;
    add(c, OP_WRITE, HUGE, 0, 0);
    add(c, OP_READ, 0, 0, 0);
    add(c, OP_CLOSE, 0, 0, 0);
    add(s, OP_READ, 100, 0, 0);
    add(s, OP_WRITE, 40, 0, 0);
    add(s, OP_WAIT_INQ, 1, 0, 0);
    add(s, OP_CLOSE, 0, 0, 0);
}

/* The server sends `bytes`, waits until they are acknowledged, then resets; the client reads
 * 0.1 s later: every byte, then ECONNRESET. The client's receive buffer (4 MiB) holds it all
 * while it does not read. With 1 MiB finwait has nothing left to deliver when the RST comes;
 * with 4,000,000 bytes it has (the second measurement). */
static void tail_before_rst(struct kase *k, const char *nm, uint64_t bytes)
{
    struct script *c = &k->peer[PEER_CLIENT], *s = &k->peer[PEER_SERVER];
    int end;

    name(k, nm);
    k->reps = 5;
    k->client_rcvbuf = 4 << 20; /* room for the whole MiB before the client reads */
    add(s, OP_WRITE, bytes, 0, 0);
    add(s, OP_WAIT_DRAIN, 0, 0, 0);
    end = add(s, OP_ABORT, 0, 0, 0);
    add(c, OP_WAIT_PEER, (uint64_t)end, 0, 0);
    add(c, OP_SLEEP, 100, 0, 0);
    add(c, OP_READ, 0, 0, 0);
    add(c, OP_CLOSE, 0, 0, 0);
}

/* The client half-closes after an upload the server does not read; the server answers,
 * half-closes and closes with the upload unread (FIN, then RST, as python's http.server does):
 * the client reads the answer and EOF. The server closes only once the client's shutdown has
 * returned: otherwise a client thread descheduled between its write and its shutdown (a loaded
 * machine, a sanitizer build) meets the RST first, directly as through finwait, and which path
 * it happens on is luck (one ASan CI run: 1 of 10 through finwait). Its FIN may still be on its
 * way through finwait when the server's crosses it, which is what this case is about. */
static void fin_then_rst(struct kase *k)
{
    struct script *c = &k->peer[PEER_CLIENT], *s = &k->peer[PEER_SERVER];
    int shut;

    name(k, "fin_then_rst");
    k->reps = 10;
    add(c, OP_WRITE, 16 * KIB, 0, 0);
    shut = add(c, OP_SHUT_WR, 0, 0, 0);
    add(c, OP_READ, 0, 0, 0);
    add(c, OP_CLOSE, 0, 0, 0);
    add(s, OP_READ, 100, 0, 0);
    add(s, OP_WRITE, 40, 0, 0);
    add(s, OP_WAIT_INQ, 16 * KIB - 100, 0, 0);
    add(s, OP_WAIT_PEER, (uint64_t)shut, 0, 0);
    add(s, OP_SHUT_WR, 0, 0, 0);
    add(s, OP_CLOSE, 0, 0, 0);
}

/* One peer closes; the other writes to it: the closed peer's kernel answers with an RST at
 * once, and the writer's next send, 50 ms later, fails. */
static void rst_after_fin(struct kase *k, enum peer closer)
{
    struct script *a = &k->peer[closer], *b = &k->peer[closer == PEER_CLIENT];
    int end;

    name(k, closer == PEER_CLIENT ? "rst_after_fin_client_closes" : "rst_after_fin_server_closes");
    k->reps = 5;
    add(a, OP_WRITE, 100, 0, 0);
    add(a, OP_WAIT_DRAIN, 0, 0, 0);
    end = add(a, OP_CLOSE, 0, 0, 0);
    add(b, OP_WAIT_PEER, (uint64_t)end, 0, 0);
    add(b, OP_READ, 0, 0, 0);
    add(b, OP_WRITE, 1000, 0, 0);
    add(b, OP_SLEEP, 50, 0, 0);
    add(b, OP_WRITE, 1000, 0, 0);
    add(b, OP_CLOSE, 0, 0, 0);
}

/* The server reads the head of a large upload, answers in three small chunks 1 ms apart and
 * closes with the upload unread (an RST). Its Nagle holds each chunk until the one before is
 * acknowledged: the last is lost to the RST unless its peer acknowledged at once. Directly, the
 * client reads all three (seed 1000, case 538 of the CI's run, which this case copies). */
static void nagle_tail_before_rst(struct kase *k)
{
    struct script *c = &k->peer[PEER_CLIENT], *s = &k->peer[PEER_SERVER];

    name(k, "nagle_tail_before_rst");
    k->racy = true;
    k->reps = 10;
    add(c, OP_WRITE, HUGE, 16 * MIB, 2);
    add(c, OP_SHUT_WR, 0, 0, 0);
    add(c, OP_READ, 0, 0, 0);
    add(c, OP_SLEEP, 1, 0, 0);
    add(c, OP_READ, 0, 0, 0);
    add(c, OP_ABORT, 0, 0, 0);
    add(s, OP_READ, 1160, 0, 0);
    add(s, OP_WRITE, 15794, 5265, 1);
    add(s, OP_CLOSE, 0, 0, 0);
}

int gen_named_count(void)
{
    return 7;
}

static uint64_t size_small_medium(uint64_t *s)
{
    int r = (int)pick(s, 0, 99);
    if (r < 15)
        return 0;
    if (r < 60)
        return pick(s, 1, 2000);
    return pick(s, 2001, 32 * KIB);
}

static void write_chunks(uint64_t *s, struct script *sc, uint64_t n)
{
    uint64_t parts = n >= 4 ? pick(s, 1, 4) : 1;
    uint32_t chunk = (uint32_t)((n + parts - 1) / parts);

    if (n == 0)
        return;
    add(sc, OP_WRITE, n, parts > 1 ? chunk : 0, parts > 1 ? (uint32_t)pick(s, 0, 3) : 0);
}

static enum op end_kind(uint64_t *s)
{
    return chance(s, 60) ? OP_CLOSE : OP_ABORT;
}

/* The peer that stays looks at what the other's end (step `end`) left it: once the end has
 * arrived, it may write to the peer that has gone (two chunks 30 ms apart: the first reaches
 * a closed socket whose kernel answers with an RST, the second fails; not after its own
 * half-close, where a write fails whatever the peer did), then reads to the end, and ends. */
static void after_end(uint64_t *s, struct script *sc, int end, bool shut)
{
    add(sc, OP_WAIT_PEER, (uint64_t)end, 0, 0);
    if (!shut && chance(s, 30)) {
        add(sc, OP_WAIT_END, 0, 0, 0);
        add(sc, OP_WRITE, pick(s, 1001, 2000), 1000, 30);
    }
    add(sc, OP_READ, 0, 0, 0);
    add(sc, end_kind(s), 0, 0, 0);
}

static void generated(uint64_t *s, struct kase *k)
{
    struct script *c = &k->peer[PEER_CLIENT], *sv = &k->peer[PEER_SERVER];
    bool server_first = chance(s, 55);
    bool huge = server_first && chance(s, 15);
    bool big_req = !huge && chance(s, 10);
    uint64_t req = huge ? HUGE : big_req ? MIB : size_small_medium(s);
    bool client_shut = chance(s, 50);
    uint64_t ans, sread, cread, unread;
    bool server_shut;
    int end;

    name(k, "gen");
    /* the server's reading of the request: all (to EOF), exactly the request, some, none */
    int mode = (int)pick(s, 0, 3);
    if (huge)
        mode = 2;
    if (big_req)
        mode = client_shut ? 0 : 1;
    if (mode == 0 && !client_shut)
        mode = 1;
    if (mode == 2 && req < 2)
        mode = 1;
    sread = mode <= 1 ? req : mode == 2 ? pick(s, 1, (huge ? 2000 : req - 1)) : 0;
    unread = req - sread;

    /* the answer: 1 MiB only to a client that reads all of it before anyone ends */
    ans = !huge && chance(s, 10) ? MIB : size_small_medium(s);
    server_shut = chance(s, 40);
    int cmode = (int)pick(s, 0, 2); /* 0: all of it, 1: some, 2: none */
    if (ans == MIB || huge)
        cmode = 0;
    if (cmode == 1 && ans < 2)
        cmode = 0;
    cread = cmode == 0 ? ans : cmode == 1 ? pick(s, 1, ans - 1) : 0;

    write_chunks(s, c, req);
    if (client_shut)
        add(c, OP_SHUT_WR, 0, 0, 0);
    if (mode == 0)
        add(sv, OP_READ, 0, 0, 0);
    else if (sread)
        add(sv, OP_READ, sread, 0, 0);
    write_chunks(s, sv, ans);
    if (server_shut)
        add(sv, OP_SHUT_WR, 0, 0, 0);

    if (server_first) {
        /* the client reads its part of the answer meanwhile; to the end if it asked for all */
        if (cmode == 0 && (server_shut || huge))
            add(c, OP_READ, 0, 0, 0);
        else if (cread)
            add(c, OP_READ, cread, 0, 0);
        /* the server ends once the client has done all it does before (a 64 MiB upload ends
         * only with the server's end), what it sent is acked and what stays unread is there */
        if (!huge)
            add(sv, OP_WAIT_PEER, (uint64_t)c->n, 0, 0);
        add(sv, OP_WAIT_DRAIN, 0, 0, 0);
        if (huge)
            add(sv, OP_WAIT_INQ, 1, 0, 0);
        else if (unread)
            add(sv, OP_WAIT_INQ, unread, 0, 0);
        end = add(sv, end_kind(s), 0, 0, 0);
        after_end(s, c, end, client_shut || huge);
    } else {
        if (cmode == 0 && server_shut)
            add(c, OP_READ, 0, 0, 0);
        else if (cread)
            add(c, OP_READ, cread, 0, 0);
        add(c, OP_WAIT_PEER, (uint64_t)sv->n, 0, 0);
        if (ans > cread)
            add(c, OP_WAIT_INQ, ans - cread, 0, 0);
        add(c, OP_WAIT_DRAIN, 0, 0, 0);
        end = add(c, end_kind(s), 0, 0, 0);
        after_end(s, sv, end, server_shut);
    }
}

/* A racy case: the same conversation with its moments left to time (the waits gone, or a
 * sleep of 0-3 ms in place of waiting for the other peer). */
static void make_racy(uint64_t *s, struct kase *k)
{
    k->racy = true;
    for (int p = 0; p < 2; p++) {
        struct script *sc = &k->peer[p];
        int j = 0;
        for (int i = 0; i < sc->n; i++) {
            struct step st = sc->step[i];
            if (st.op == OP_WAIT_DRAIN || st.op == OP_WAIT_INQ || st.op == OP_WAIT_END)
                continue;
            if (st.op == OP_WAIT_PEER)
                st = (struct step){.op = OP_SLEEP, .n = pick(s, 0, 3)};
            sc->step[j++] = st;
        }
        sc->n = j;
    }
}

void gen_case(uint64_t seed, int index, struct kase *k)
{
    uint64_t s = seed * 0x2545f4914f6cdd1dull + (uint64_t)index;

    memset(k, 0, sizeof *k);
    k->seed = seed;
    k->index = index;
    switch (index) {
    case 0:
        early_answer(k);
        return;
    case 1:
        tail_before_rst(k, "tail_before_rst", 4000000);
        return;
    case 2:
        tail_before_rst(k, "tail_before_rst_1mib", MIB);
        return;
    case 3:
        fin_then_rst(k);
        return;
    case 4:
        rst_after_fin(k, PEER_CLIENT);
        return;
    case 5:
        rst_after_fin(k, PEER_SERVER);
        return;
    case 6:
        nagle_tail_before_rst(k);
        return;
    }
    splitmix(&s);
    generated(&s, k);
    if (chance(&s, 20))
        make_racy(&s, k);
}

const char *gen_op_name(enum op op)
{
    static const char *const names[] = {"write",    "read",       "shut_wr",  "wait_peer",
                                        "wait_inq", "wait_drain", "wait_end", "sleep",
                                        "close",    "abort"};
    return names[op];
}

void gen_print(const struct kase *k)
{
    static const char *const who[] = {"client", "server"};

    printf("case %d (seed %llu): %s%s\n", k->index, (unsigned long long)k->seed, k->name,
           k->racy ? " (racy)" : "");
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < k->peer[p].n; i++) {
            const struct step *st = &k->peer[p].step[i];
            printf("  %s %2d %-10s", who[p], i + 1, gen_op_name(st->op));
            if (st->op == OP_WRITE || st->op == OP_READ || st->op == OP_WAIT_INQ ||
                st->op == OP_WAIT_PEER || st->op == OP_SLEEP)
                printf(" %llu", (unsigned long long)st->n);
            if (st->chunk)
                printf(" in chunks of %u, %u ms apart", st->chunk, st->delay_ms);
            printf("\n");
        }
}
