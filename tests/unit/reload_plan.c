/* The reload plan matches proxies by name, never by position: the lists that crashed finwait
 * when a reload matched them by index (a proxy removed with two after it, one inserted before
 * the others, a disabled one re-enabled in the middle, a listen change in the middle, the 4th
 * of 10 deleted) give the steps a person would expect. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rules/plan.h"

#define MAXP 16

struct side {
    struct config cfg;
    struct proxy_cfg p[MAXP];
    char names[MAXP][16];
    uint16_t bound[MAXP];
};

/* `spec`: space-separated "name:port" (port 0 = ephemeral), a '-' prefix for disabled. Bound
 * ports of the running side: the port itself, or 40000+i for port 0. */
static void build(struct side *s, const char *spec)
{
    char buf[512], *tok, *save;

    memset(s, 0, sizeof *s);
    s->cfg.proxies = s->p;
    snprintf(buf, sizeof buf, "%s", spec);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        struct proxy_cfg *p = &s->p[s->cfg.nproxies];
        unsigned port;
        bool disabled = tok[0] == '-';
        char *name = s->names[s->cfg.nproxies];
        CHECK(sscanf(tok + disabled, "%15[^:]:%u", name, &port) == 2);
        p->name = name;
        p->listen_host = "127.0.0.1";
        p->listen_port = (uint16_t)port;
        p->upstream_host = "127.0.0.1";
        p->upstream_port = 8080;
        p->enabled = !disabled;
        s->bound[s->cfg.nproxies] = disabled ? 0 : port ? (uint16_t)port : 40000 + s->cfg.nproxies;
        s->cfg.nproxies++;
    }
}

/* The plan as text: "keep a>a start d stop b" in the plan's order. */
static const char *plan_text(const char *old_spec, const char *next_spec)
{
    static char out[1024];
    static struct side o, n;
    struct plan plan;
    size_t len = 0;

    build(&o, old_spec);
    build(&n, next_spec);
    CHECK_EQ(plan_make(&o.cfg, o.bound, &n.cfg, &plan), 0);
    CHECK_EQ(plan.n, plan.nkeep + plan.nstart + plan.nstop);
    out[0] = '\0';
    for (size_t k = 0; k < plan.n; k++) {
        const struct plan_step *st = &plan.steps[k];
        if (st->action == PLAN_KEEP)
            len += (size_t)snprintf(out + len, sizeof out - len, "%skeep %s>%s", len ? " " : "",
                                    o.p[st->old_index].name, n.p[st->new_index].name);
        else if (st->action == PLAN_START)
            len += (size_t)snprintf(out + len, sizeof out - len, "%sstart %s", len ? " " : "",
                                    n.p[st->new_index].name);
        else
            len += (size_t)snprintf(out + len, sizeof out - len, "%sstop %s", len ? " " : "",
                                    o.p[st->old_index].name);
    }
    plan_free(&plan);
    return out;
}

/* The fault steps of a kept proxy "web" going from faults `o` to faults `n`, as text:
 * "detach x, same a, change b, attach c". */
static const char *fault_plan(struct fault *o, size_t no, struct fault *n, size_t nn)
{
    static char out[512];
    struct proxy_cfg po = {.name = "web",
                           .listen_host = "",
                           .listen_port = 1,
                           .upstream_host = "h",
                           .upstream_port = 1,
                           .enabled = true,
                           .faults = o,
                           .nfaults = no};
    struct proxy_cfg pn = po;
    struct config co = {.proxies = &po, .nproxies = 1}, cn = {.proxies = &pn, .nproxies = 1};
    uint16_t bound = 1;
    struct plan plan;
    size_t len = 0;
    static const char *names[] = {"same", "change", "attach", "detach"};

    pn.faults = n;
    pn.nfaults = nn;
    CHECK_EQ(plan_make(&co, &bound, &cn, &plan), 0);
    CHECK_EQ(plan.n, 1);
    CHECK_EQ(plan.steps[0].action, PLAN_KEEP);
    out[0] = '\0';
    for (size_t k = 0; k < plan.steps[0].nfaults; k++) {
        const struct plan_fault *f = &plan.steps[0].faults[k];
        const struct fault *which =
            f->action == PLAN_FAULT_DETACH ? &o[f->old_fault] : &n[f->new_fault];
        if (f->action == PLAN_FAULT_SAME || f->action == PLAN_FAULT_CHANGE)
            CHECK_STR(o[f->old_fault].name, n[f->new_fault].name);
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s %s", k ? ", " : "",
                                names[f->action], which->name);
    }
    plan_free(&plan);
    return out;
}

static void fault_plans(void)
{
    struct fault lat = {.type = FAULT_LATENCY,
                        .name = "lat",
                        .latency_ms = 50,
                        .direction = FAULT_DIR_DOWNSTREAM,
                        .probability = 1};
    struct fault lat300 = lat, fin = {.type = FAULT_DELAY_FIN,
                                      .name = "fin",
                                      .delay_ms = DURATION_FOREVER,
                                      .direction = FAULT_DIR_UPSTREAM,
                                      .probability = 1};
    struct fault up = lat;

    lat300.latency_ms = 300;
    up.direction = FAULT_DIR_UPSTREAM;
    {
        struct fault o[] = {lat}, n[] = {lat, fin};
        CHECK_STR(fault_plan(o, 1, n, 2), "same lat, attach fin");
    }
    {
        struct fault o[] = {lat, fin}, n[] = {fin};
        CHECK_STR(fault_plan(o, 2, n, 1), "detach lat, same fin");
    }
    {
        struct fault o[] = {lat, fin}, n[] = {fin, lat300};
        CHECK_STR(fault_plan(o, 2, n, 2), "same fin, change lat");
    }
    {
        /* two faults of one name: the n-th matches the n-th */
        struct fault o[] = {lat, up}, n[] = {lat300, up};
        CHECK_STR(fault_plan(o, 2, n, 2), "change lat, same lat");
    }
    {
        struct fault o[] = {lat}, n[] = {0};
        CHECK_STR(fault_plan(o, 1, n, 0), "detach lat");
    }
    TEST_PASS("faults are matched by name: attach, change, detach, same");
}

int main(void)
{
    fault_plans();
    CHECK_STR(plan_text("a:1 b:2 c:3 d:4", "a:1 c:3 d:4"), "keep a>a keep c>c keep d>d stop b");
    TEST_PASS("a proxy removed with two after it");
    CHECK_STR(plan_text("a:1 b:2 c:3 d:4", "a:1 -b:2 c:3 d:4"),
              "keep a>a keep c>c keep d>d stop b");
    TEST_PASS("a proxy disabled with two after it");
    CHECK_STR(plan_text("b:2 c:3", "a:1 b:2 c:3"), "start a keep b>b keep c>c");
    TEST_PASS("a proxy inserted before the others");
    CHECK_STR(plan_text("a:1 -b:2 c:3", "a:1 b:2 c:3"), "start b keep a>a keep c>c");
    TEST_PASS("a disabled proxy re-enabled in the middle");
    CHECK_STR(plan_text("a:1 b:2 c:3", "a:1 b:5 c:3"), "start b keep a>a keep c>c stop b");
    TEST_PASS("a listen change in the middle: a new socket, then the old one stops");
    CHECK_STR(plan_text("p0:10 p1:11 p2:12 p3:13 p4:14 p5:15 p6:16 p7:17 p8:18 p9:19",
                        "p0:10 p1:11 p2:12 p4:14 p5:15 p6:16 p7:17 p8:18 p9:19"),
              "keep p0>p0 keep p1>p1 keep p2>p2 keep p4>p4 keep p5>p5 keep p6>p6 keep p7>p7 "
              "keep p8>p8 keep p9>p9 stop p3");
    TEST_PASS("the 4th of 10 deleted");
    CHECK_STR(plan_text("c:3 a:1 b:2", "a:1 b:2 c:3"), "keep a>a keep b>b keep c>c");
    TEST_PASS("a reordered list keeps every socket");
    CHECK_STR(plan_text("a:1 b:2", "x:1 b:2"), "keep a>x keep b>b");
    TEST_PASS("a renamed proxy at a fixed address takes its socket over");
    CHECK_STR(plan_text("a:0 b:0", "b:0 x:0"), "start x keep b>b stop a");
    TEST_PASS("a renamed proxy at port 0 gets a new socket; the kept one keeps its port");
    CHECK_STR(plan_text("a:0", "a:40000"), "keep a>a");
    TEST_PASS("pinning the ephemeral port a proxy was given keeps its socket");
    CHECK_STR(plan_text("a:1 b:2", "a:2 b:1"), "keep b>a keep a>b");
    TEST_PASS("two proxies that swap addresses keep both sockets");
    CHECK_STR(plan_text("a:1 b:2", "a:3 c:1"), "start a keep a>c stop b");
    TEST_PASS("a proxy moves away and a new one takes its old address");
    CHECK_STR(plan_text("-a:1 b:2", "-a:1 b:2"), "keep b>b");
    TEST_PASS("a disabled proxy stays without a socket");
    return 0;
}
