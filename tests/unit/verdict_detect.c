/*
 * The detectors on synthetic event sequences: each bug's wire signature must give exactly its
 * finding, and each legitimate twin of the same shape none (a false positive is a bug).
 */
#include <string.h>

#include "rules/findings.h"
#include "rules/verdict.h"
#include "tests/lib/check.h"

enum { C = 0, S = 1, UP = 0, DOWN = 1 };

static struct verdict_cfg vc;

static void ev(struct verdict_facts *f, int leg, const char *which, double t)
{
    verdict_facts_leg_event(f, leg, which, t);
}

static void data(struct verdict_facts *f, int dir, uint64_t bytes, double t)
{
    verdict_facts_data(f, dir, bytes, t);
}

static void start(struct verdict_facts *f)
{
    verdict_facts_init(f);
    verdict_facts_leg_established(f, C, 0);
    verdict_facts_leg_established(f, S, 0.3);
}

/* The findings at now_ms; returns how many, the first in *x. */
static int judge(const struct verdict_facts *f, double now_ms, struct finding *x)
{
    struct finding v[8];
    int n = verdict_judge(&vc, f, now_ms, false, v, 8);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "  finding %s/%s: %s\n", verdict_kind_name(v[i].kind),
                verdict_side_name(v[i].side), v[i].why);
    if (n && x)
        *x = v[0];
    return n;
}

static double nm(const struct finding *x, const char *key)
{
    for (int i = 0; i < x->nnums; i++)
        if (strcmp(x->nums[i].key, key) == 0)
            return x->nums[i].value;
    fprintf(stderr, "no number %s\n", key);
    exit(1);
}

/* A pool that never closes: the server closed after 1 s idle, the client holds it. */
static void test_keeps_closed(void)
{
    struct verdict_facts f;
    struct finding x;

    start(&f);
    data(&f, UP, 80, 1);
    data(&f, DOWN, 200, 3);
    ev(&f, S, "fin_received", 1003);
    ev(&f, C, "fin_sent", 1003.2);
    CHECK_EQ(judge(&f, 4000, NULL), 0); /* 3 s: not yet */
    CHECK_EQ(judge(&f, 6100, &x), 1);
    CHECK_EQ(x.kind, VK_PEER_KEEPS_CLOSED);
    CHECK_EQ(x.side, VSIDE_CLIENT);
    CHECK_DBL(nm(&x, "fin_sent_ms"), ==, 1003.2);
    CHECK_DBL(nm(&x, "held_ms"), >=, 5000);
    CHECK(x.expected == NULL);
    f.reported |= 1u << VK_PEER_KEEPS_CLOSED;
    CHECK_EQ(judge(&f, 30000, NULL), 0); /* reported once */
    CHECK_EQ(judge(&f, 61100, &x), 1);
    CHECK_EQ(x.kind, VK_CLOSE_WAIT_LEAK);
    /* the peer's late FIN: judged afterwards with the time it was held */
    start(&f);
    ev(&f, S, "fin_received", 10);
    ev(&f, C, "fin_sent", 10);
    ev(&f, C, "fin_received", 7010);
    CHECK_EQ(judge(&f, 7011, &x), 1);
    CHECK_DBL(nm(&x, "held_ms"), ==, 7000);
    /* switched off */
    vc.on[VK_PEER_KEEPS_CLOSED] = false;
    CHECK_EQ(judge(&f, 7011, NULL), 0);
    vc.on[VK_PEER_KEEPS_CLOSED] = true;
}

/* Twin: a server that works 2 s after the client's half-close and then answers; and a peer
 * that keeps sending for 10 s after finwait's FIN (it is working, not holding). */
static void test_keeps_closed_twin(void)
{
    struct verdict_facts f;

    start(&f);
    data(&f, UP, 80, 1);
    ev(&f, C, "fin_received", 2);
    ev(&f, S, "fin_sent", 2.1);
    data(&f, DOWN, 500, 2002);
    ev(&f, S, "fin_received", 2003);
    ev(&f, C, "fin_sent", 2003.1);
    ev(&f, C, "fin_received", 2004); /* client closes after reading */
    CHECK_EQ(judge(&f, 9000, NULL), 0);

    start(&f);
    ev(&f, C, "fin_received", 1);
    ev(&f, S, "fin_sent", 1);
    for (double t = 100; t <= 10000; t += 100)
        data(&f, DOWN, 1000, t);
    CHECK_EQ(judge(&f, 10100, NULL), 0);
}

/* golang/go#22158: the server closed its idle keep-alive connection; the client wrote its
 * next request 0.4 ms after finwait relayed the FIN and got an RST. */
static void test_request_into_closed(void)
{
    struct verdict_facts f;
    struct finding x;

    start(&f);
    data(&f, UP, 87, 1);
    data(&f, DOWN, 300, 2);
    ev(&f, S, "fin_received", 1002);
    ev(&f, C, "fin_sent", 1002.1);
    data(&f, UP, 87, 1002.5);
    ev(&f, S, "rst_received", 1002.7);
    ev(&f, C, "rst_sent", 1002.8);
    CHECK_EQ(judge(&f, 1003, &x), 1);
    CHECK_EQ(x.kind, VK_REQUEST_INTO_CLOSED);
    CHECK_EQ(x.side, VSIDE_CLIENT);
    CHECK_DBL(nm(&x, "request_bytes"), ==, 87);
    CHECK_DBL(nm(&x, "idle_before_fin_ms"), ==, 1000);
    CHECK_CONTAINS(x.why, "retry idempotent");
}

/* Twin: a server that half-closes first (shutdown(SHUT_WR)) and keeps reading what the client
 * still sends: bytes after its FIN, but no RST. */
static void test_request_into_closed_twin(void)
{
    struct verdict_facts f;

    start(&f);
    data(&f, UP, 87, 1);
    ev(&f, S, "fin_received", 5);
    ev(&f, C, "fin_sent", 5.1);
    data(&f, UP, 4096, 6);
    ev(&f, C, "fin_received", 7);
    ev(&f, S, "fin_sent", 7.1);
    CHECK_EQ(judge(&f, 8, NULL), 0);
}

/* python3 -m http.server: 501 without reading the body, close, the kernel resets. */
static void test_answer_lost(void)
{
    struct verdict_facts f;
    struct finding x;

    start(&f);
    data(&f, UP, 65536, 1);
    data(&f, DOWN, 480, 2);
    data(&f, UP, 131072, 3);
    ev(&f, S, "rst_received", 4);
    ev(&f, C, "rst_sent", 4.1);
    CHECK_EQ(judge(&f, 5, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    CHECK_EQ(x.side, VSIDE_SERVER);
    CHECK_DBL(nm(&x, "answer_bytes"), ==, 480);
    CHECK_DBL(nm(&x, "unread_bytes"), ==, 131072);
    /* the bytes after the answer were refused by the reset (EPIPE at finwait) */
    start(&f);
    data(&f, UP, 65536, 1);
    data(&f, DOWN, 198, 2);
    verdict_facts_undelivered(&f, UP, 4096, 4.5);
    ev(&f, S, "rst_received", 4.5);
    CHECK_EQ(judge(&f, 5, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    CHECK_DBL(nm(&x, "refused_bytes"), ==, 4096);
    /* the server's close sent a FIN first, the upload went on and drew the RST */
    start(&f);
    data(&f, UP, 65536, 1);
    data(&f, DOWN, 555, 20);
    ev(&f, S, "fin_received", 27.7);
    ev(&f, C, "fin_sent", 27.8);
    verdict_facts_undelivered(&f, UP, 8192, 29);
    ev(&f, S, "rst_received", 29);
    ev(&f, C, "rst_sent", 29.5);
    CHECK_EQ(judge(&f, 30, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    CHECK_DBL(nm(&x, "fin_ms"), ==, 27.7);
    /* the same with the upload going on across the answer (a burst before it, one after it):
     * python3 -m http.server's 501 to a 4 MiB POST from curl, as finwait saw it */
    start(&f);
    data(&f, UP, 65536, 0.2);
    data(&f, DOWN, 555, 2.0);
    data(&f, UP, 32922, 2.1);
    ev(&f, S, "fin_received", 2.465);
    ev(&f, C, "fin_sent", 2.514);
    verdict_facts_undelivered(&f, UP, 65536, 2.575);
    ev(&f, S, "rst_received", 2.575);
    ev(&f, C, "rst_sent", 2.611);
    CHECK_EQ(judge(&f, 3, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    CHECK_DBL(nm(&x, "answer_bytes"), ==, 555);
    /* the same as finwait saw it once (no refused bytes, 64 KiB more after the FIN): found as
     * answer_lost, not as request_into_closed (which it was, "after 0 ms idle") */
    start(&f);
    data(&f, UP, 327834, 0.39);
    data(&f, DOWN, 198, 0.82);
    data(&f, UP, 65536, 0.83);
    data(&f, DOWN, 357, 0.86);
    ev(&f, S, "fin_received", 0.897);
    ev(&f, C, "fin_sent", 0.928);
    data(&f, UP, 65536, 0.949);
    ev(&f, S, "rst_received", 1.122);
    ev(&f, C, "rst_sent", 1.262);
    CHECK_EQ(judge(&f, 2, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    CHECK_DBL(nm(&x, "answer_bytes"), ==, 198);
    /* the upload stalled (the server stopped reading), the answer, its shutdown's FIN, and its
     * close's RST over the unread bytes at once: the commonest shape through finwait */
    start(&f);
    data(&f, UP, 655514, 0.418);
    data(&f, UP, 0, 1.191);
    data(&f, DOWN, 555, 2.065);
    ev(&f, S, "fin_received", 2.072);
    ev(&f, C, "fin_sent", 2.160);
    ev(&f, S, "rst_received", 2.132);
    ev(&f, C, "rst_sent", 2.207);
    CHECK_EQ(judge(&f, 3, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    /* twin: the whole request read, the answer, FIN, and the client's own FIN: no RST */
    start(&f);
    data(&f, UP, 655514, 0.418);
    data(&f, DOWN, 555, 2.065);
    ev(&f, S, "fin_received", 2.072);
    ev(&f, C, "fin_sent", 2.160);
    ev(&f, C, "fin_received", 2.3);
    CHECK_EQ(judge(&f, 3, NULL), 0);
    /* twin: keep-alive, a new request after a pause, the server's FIN, its RST: not this */
    start(&f);
    data(&f, UP, 100, 1);
    data(&f, DOWN, 480, 2);
    data(&f, UP, 100, 500);
    ev(&f, S, "fin_received", 500.2);
    ev(&f, C, "fin_sent", 500.3);
    verdict_facts_undelivered(&f, UP, 100, 501);
    ev(&f, S, "rst_received", 501);
    struct finding v[8];
    int n = verdict_judge(&vc, &f, 502, false, v, 8);
    for (int i = 0; i < n; i++)
        CHECK(v[i].kind != VK_ANSWER_LOST);
}

/* The same when the RST destroyed the answer before finwait read it: the upload still going. */
static void test_answer_lost_unseen(void)
{
    struct verdict_facts f;
    struct finding x;

    start(&f);
    for (double t = 1; t < 130; t += 1)
        data(&f, UP, 8192, t);
    ev(&f, S, "rst_received", 132);
    ev(&f, C, "rst_sent", 132.1);
    CHECK_EQ(judge(&f, 133, &x), 1);
    CHECK_EQ(x.kind, VK_ANSWER_LOST);
    CHECK_EQ(x.side, VSIDE_SERVER);
    CHECK_DBL(nm(&x, "last_byte_ms"), ==, 129);
    /* twin: a server that crashes (or resets on purpose) a second after the request ended */
    start(&f);
    data(&f, UP, 100, 1);
    ev(&f, S, "rst_received", 1001);
    CHECK_EQ(judge(&f, 1002, NULL), 0);
}

/* Twin: SO_LINGER 0 by design: the whole request, the answer, then the RST. */
static void test_answer_lost_twin(void)
{
    struct verdict_facts f;

    /* a client that resets once it has its answer (SO_LINGER 0: the benchmark's connection
     * loop, load generators, health checks): the answer reached it after it wrote, as asked */
    start(&f);
    data(&f, UP, 1, 0.36);
    data(&f, DOWN, 1, 0.61);
    ev(&f, C, "rst_received", 0.66);
    ev(&f, S, "rst_sent", 0.7);
    CHECK_EQ(judge(&f, 1, NULL), 0);
    /* ... after several keep-alive exchanges, a millisecond apart */
    start(&f);
    for (int i = 0; i < 4; i++) {
        data(&f, UP, 80, 1 + i);
        data(&f, DOWN, 300, 1.2 + i);
    }
    ev(&f, C, "rst_received", 5.3);
    CHECK_EQ(judge(&f, 6, NULL), 0);
    /* a server that answers its second request and resets (SO_LINGER 0 after a complete
     * exchange on a kept-alive connection) */
    start(&f);
    data(&f, UP, 100, 1);
    data(&f, DOWN, 480, 2);
    data(&f, UP, 100, 3);
    data(&f, DOWN, 480, 4);
    ev(&f, S, "rst_received", 4.5);
    CHECK_EQ(judge(&f, 5, NULL), 0);
    /* but a client that resets while finwait is still writing the server's stream to it
     * (its reset refused the bytes) left them unread */
    {
        struct finding x;
        start(&f);
        data(&f, UP, 80, 1);
        data(&f, DOWN, 65536, 2);
        verdict_facts_undelivered(&f, DOWN, 32768, 3.5);
        ev(&f, C, "rst_received", 3.5);
        CHECK_EQ(judge(&f, 4, &x), 1);
        CHECK_EQ(x.kind, VK_ANSWER_LOST);
        CHECK_EQ(x.side, VSIDE_CLIENT);
    }

    start(&f);
    data(&f, UP, 100, 1);
    data(&f, DOWN, 480, 2);
    ev(&f, S, "rst_received", 2.5);
    ev(&f, C, "rst_sent", 2.6);
    CHECK_EQ(judge(&f, 5, NULL), 0);
    /* an RST after a FIN is not an abortive close of a live exchange */
    start(&f);
    data(&f, UP, 100, 1);
    data(&f, DOWN, 480, 2);
    ev(&f, S, "fin_received", 2.1);
    data(&f, UP, 100, 3);
    ev(&f, S, "rst_received", 3.5);
    struct finding x;
    CHECK_EQ(judge(&f, 5, &x), 1);
    CHECK_EQ(x.kind, VK_REQUEST_INTO_CLOSED); /* that one is the reuse race, not this */
}

/* Redis dropping a pending BLPOP reply / Node allowHalfOpen: false. */
static void test_half_close_ignored(void)
{
    struct verdict_facts f;
    struct finding x;

    start(&f);
    data(&f, UP, 14, 1);
    data(&f, DOWN, 5, 1.5);
    data(&f, UP, 30, 10);
    ev(&f, C, "fin_received", 10.2);
    ev(&f, S, "fin_sent", 10.3);
    ev(&f, S, "fin_received", 12.4);
    CHECK_EQ(judge(&f, 13, &x), 1);
    CHECK_EQ(x.kind, VK_HALF_CLOSE_IGNORED);
    CHECK_EQ(x.side, VSIDE_SERVER);
    CHECK_DBL(nm(&x, "delay_ms"), >, 2.0);
    CHECK_DBL(nm(&x, "delay_ms"), <, 2.2);
}

/* Twins: the server answers 2 s after the half-close; a fire-and-forget upload (the server
 * never sends a byte). */
static void test_half_close_ignored_twin(void)
{
    struct verdict_facts f;

    start(&f);
    data(&f, UP, 14, 1);
    data(&f, DOWN, 5, 1.5);
    data(&f, UP, 30, 10);
    ev(&f, C, "fin_received", 10.2);
    ev(&f, S, "fin_sent", 10.3);
    data(&f, DOWN, 100, 2010);
    ev(&f, S, "fin_received", 2011);
    CHECK_EQ(judge(&f, 2100, NULL), 0);

    start(&f);
    data(&f, UP, 1 << 20, 1);
    ev(&f, C, "fin_received", 50);
    ev(&f, S, "fin_sent", 50.1);
    ev(&f, S, "fin_received", 50.5);
    CHECK_EQ(judge(&f, 60, NULL), 0);
}

/* An early answer: nginx answers a 4 MiB POST after its headers and discards the rest. The
 * upload bytes after the answer are the request it answered, not a new one, when the relay
 * saw the upload on its way as it read the answer, or when a bulk upload ran up to the answer
 * and on right after it; the same bytes after a pause (a client that read the answer and
 * asked again), or after a small request, are a new request. */
static void test_half_close_ignored_early_answer(void)
{
    static const struct {
        bool early;
        uint64_t before, after;
        double resumed_ms;
        int found;
    } cases[] = {
        {true, 65536, 4128768, 1.3, 0},  /* marked by the relay */
        {true, 100, 100, 9, 0},          /* marked, whatever the timing */
        {false, 65536, 4128768, 1.3, 0}, /* bulk, resumed 0.1 ms after the answer */
        {false, 65536, 4128768, 6, 0},   /* bulk both sides, up to the answer, a stall after */
        {false, 150, 4194304, 1.3, 0},   /* the head answered, the body right after */
        {false, 150, 4194304, 6, 1},     /* the head answered, the body 4.8 ms later */
        {false, 65536, 100, 1.3, 0},     /* bulk, up to the answer and on: its tail */
        {false, 65536, 100, 6, 1},       /* bulk, then 4.8 ms of pause and a small one */
        {false, 100, 100, 1.3, 1},       /* a small request, answered, and the next at once */
    };
    struct verdict_facts f;
    struct finding x;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        start(&f);
        data(&f, UP, cases[i].before, 1);
        if (cases[i].early)
            verdict_facts_early(&f);
        data(&f, DOWN, 555, 1.2);
        data(&f, UP, cases[i].after, cases[i].resumed_ms);
        ev(&f, C, "fin_received", 30);
        ev(&f, S, "fin_sent", 30.1);
        ev(&f, S, "fin_received", 30.4);
        CHECK_MSG(judge(&f, 40, &x) == cases[i].found, "case %zu", i);
        if (cases[i].found)
            CHECK_EQ(x.kind, VK_HALF_CLOSE_IGNORED);
    }
    /* the mark goes with the answer it was taken for, not a later one */
    start(&f);
    verdict_facts_early(&f);
    data(&f, UP, 100, 1);
    data(&f, DOWN, 10, 2);
    CHECK(f.bursts[1].early);
    data(&f, UP, 100, 3);
    data(&f, DOWN, 10, 4);
    CHECK(!f.bursts[3].early);
}

/* curl -m 0.5 against a 2 s answer. */
static void test_client_timeout(void)
{
    struct verdict_facts f;
    struct finding x;

    start(&f);
    data(&f, UP, 78, 1);
    ev(&f, C, "fin_received", 501);
    ev(&f, S, "fin_sent", 501.1);
    data(&f, DOWN, 2000, 2002);
    ev(&f, C, "rst_received", 2002.3);
    ev(&f, S, "rst_sent", 2002.4);
    CHECK_EQ(judge(&f, 2003, &x), 1);
    CHECK_EQ(x.kind, VK_CLIENT_TIMEOUT_SHORTER);
    CHECK_DBL(nm(&x, "waited_ms"), ==, 500);
    /* a fault of finwait's reset it: expected, and named */
    verdict_facts_fault(&f, "reset_client", 1800);
    CHECK_EQ(judge(&f, 2003, &x), 1);
    CHECK_STR(x.expected, "reset_client");
}

/* Twin: a client that half-closes after its request and reads the answer. */
static void test_client_timeout_twin(void)
{
    struct verdict_facts f;

    start(&f);
    data(&f, UP, 78, 1);
    ev(&f, C, "fin_received", 1.2);
    ev(&f, S, "fin_sent", 1.3);
    data(&f, DOWN, 2000, 2002);
    ev(&f, S, "fin_received", 2002.1);
    ev(&f, C, "fin_sent", 2002.2);
    CHECK_EQ(judge(&f, 2003, NULL), 0);
}

static void test_abandoned(void)
{
    struct verdict_open open[14];
    struct finding x[4];
    size_t who[4];

    for (int i = 0; i < 12; i++)
        open[i] = (struct verdict_open){"10.0.0.1", 61000 + i, true};
    open[12] = (struct verdict_open){"10.0.0.2", 600000, true}; /* LISTEN connection */
    open[13] = (struct verdict_open){"10.0.0.1", 1, true};
    CHECK_EQ(verdict_judge_abandoned(&vc, open, 14, x, who, 4), 1);
    CHECK_EQ(x[0].kind, VK_ABANDONED);
    CHECK_EQ(who[0], 0);
    CHECK_DBL(x[0].nums[0].value, ==, 12);
    /* twin: 9 idle (pub/sub subscribers of one client) stay under the count */
    CHECK_EQ(verdict_judge_abandoned(&vc, open + 3, 11, x, who, 4), 0);
}

static void test_time_wait(void)
{
    struct verdict_rate r = {0};
    struct finding x;
    int found = 0;

    for (int i = 0; i < 3000; i++)
        found += verdict_rate_add(&vc, &r, 1000.0 + i * 10, &x);
    CHECK_EQ(found, 1);
    CHECK_EQ(x.kind, VK_TIME_WAIT_PRESSURE);
    CHECK_DBL(x.nums[0].value, ==, 2500);
    /* twin: 3000 connections over an hour, a keep-alive client's reconnects */
    memset(&r, 0, sizeof r);
    found = 0;
    for (int i = 0; i < 3000; i++)
        found += verdict_rate_add(&vc, &r, 1000.0 + i * 1200.0, &x);
    CHECK_EQ(found, 0);
}

static void test_aggregate(void)
{
    struct findings fs = {0};
    struct finding x = {.kind = VK_ANSWER_LOST, .side = VSIDE_SERVER};
    struct finding_agg *a = NULL;

    for (uint64_t id = 1; id <= 8; id++)
        a = findings_add(&fs, &x, id, NULL, "127.0.0.1:80", 100.0 + (double)id);
    CHECK_EQ(a->count, 8);
    CHECK_EQ(a->nexamples, FINDING_EXAMPLES);
    CHECK_EQ(a->examples[0], 1);
    CHECK_DBL(a->first_s, ==, 101);
    CHECK_DBL(a->last_s, ==, 108);
    x.expected = "reset";
    findings_add(&fs, &x, 9, NULL, "127.0.0.1:80", 110);
    CHECK_EQ(fs.agg[VK_ANSWER_LOST][VSIDE_SERVER][1].count, 1);
    CHECK_EQ(fs.total, 9);
}

int main(void)
{
    verdict_cfg_default(&vc);
    test_keeps_closed();
    test_keeps_closed_twin();
    test_request_into_closed();
    test_request_into_closed_twin();
    test_answer_lost();
    test_answer_lost_twin();
    test_answer_lost_unseen();
    test_half_close_ignored();
    test_half_close_ignored_twin();
    test_half_close_ignored_early_answer();
    test_client_timeout();
    test_client_timeout_twin();
    test_abandoned();
    test_time_wait();
    test_aggregate();
    printf("ok\n");
    return 0;
}
