/*
 * libFuzzer harness for the configuration loader: bytes -> config_load_string -> every
 * proxy, fault and parameter read back through the model's accessors, the invariants the
 * relay relies on checked, a few connections' fault decisions drawn -> the diagnostics
 * printed -> everything freed. ASan and UBSan (built in with FINWAIT_FUZZ) turn any
 * overflow, leak or undefined conversion on the way into a crash with its input.
 *
 * tests/fuzz/run.sh builds and runs it with tests/fuzz/corpus/config and config.dict.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/config.h"
#include "rules/diag.h"
#include "rules/fault.h"
#include "rules/value.h"

/* CHECK() would vanish under NDEBUG; a broken invariant must crash in every build. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Keep the compiler from dropping reads whose only purpose is to be checked by ASan. */
static volatile uint64_t sink;

static const char *const param_names[] = {
    "direction",      "stream",  "delay",  "after", "after_bytes", "to",
    "mode",           "latency", "jitter", "rate",  "timeout",     "average_size",
    "size_variation", "bytes",   "leg",    "from",  "count",
};

static void check_duration(uint64_t ms)
{
    char buf[32];

    CHECK(ms <= VALUE_DURATION_MAX_US / 1000);
    sink += strlen(duration_format(ms, buf, sizeof buf));
}

/* What the relay does with a fault's numbers must stay defined (inject.c's arithmetic). */
static void walk_fault(const struct fault *f)
{
    char buf[32];

    CHECK(f->name && f->type < FAULT_TYPE_COUNT);
    CHECK(f->probability >= 0.0 && f->probability <= 1.0);
    sink += strlen(f->name) + strlen(fault_type_name(f->type)) + fault_type_is_toxic(f->type) +
            fault_type_is_packet(f->type) + strlen(fault_dir_name(f->direction));
    for (size_t i = 0; i < sizeof param_names / sizeof param_names[0]; i++)
        sink += fault_type_has_param(f->type, param_names[i]);
    if (f->type == FAULT_DELAY_FIN && f->delay_ms == DURATION_FOREVER)
        sink += strlen(duration_format(f->delay_ms, buf, sizeof buf));
    else
        check_duration(f->delay_ms);
    check_duration(f->after_ms);
    check_duration(f->latency_ms);
    check_duration(f->jitter_ms);
    check_duration(f->timeout_ms);
    check_duration(f->for_ms);
    CHECK(f->delay_us <= VALUE_DURATION_MAX_US);
    CHECK(f->rate_kbps <= VALUE_SIZE_MAX && f->average_size <= VALUE_SIZE_MAX);
    CHECK(f->bytes <= VALUE_SIZE_MAX && f->after_bytes <= VALUE_SIZE_MAX);
    sink += (uint64_t)((int64_t)f->latency_ms * 1000 + (int64_t)f->jitter_ms * 1000);
    sink += f->rate_kbps * 1000;
    if (f->type == FAULT_SLICER) {
        CHECK(f->average_size > 0);
        CHECK(f->size_variation < f->average_size);
        sink += f->average_size - f->size_variation + 2 * f->size_variation + 1;
    }
    if (fault_type_is_packet(f->type))
        CHECK(f->count >= 1);
    if (f->has_match)
        CHECK(f->match_client.prefixlen <= (f->match_client.family == AF_INET ? 32u : 128u));
}

static void decide_some(const struct config *cfg, const struct proxy_cfg *p)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(40000)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(40000)};
    struct fault_rng rng;

    CHECK(p->nfaults <= FAULTS_MAX);
    fault_rng_seed(&rng, cfg->has_seed ? cfg->seed : 1, p->name);
    inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
    for (int i = 0; i < 4; i++) {
        sink += fault_decide(p, &rng, (const struct sockaddr *)&v4);
        sink += fault_decide(p, &rng, (const struct sockaddr *)&v6);
    }
    v6.sin6_addr = in6addr_loopback;
    sink += fault_decide(p, &rng, (const struct sockaddr *)&v6);
}

static void walk_config(const struct config *cfg)
{
    CHECK(cfg->path && cfg->source && strlen(cfg->source) <= cfg->source_len);
    check_duration(cfg->shutdown_timeout_ms);
    sink += config_has_packet_faults(cfg) + cfg->log_format + cfg->log_level + cfg->log_timeline;
    if (cfg->admin_host)
        sink += strlen(cfg->admin_host) + cfg->admin_port;
    for (size_t i = 0; i < cfg->nproxies; i++) {
        const struct proxy_cfg *p = &cfg->proxies[i];

        CHECK(p->name && p->listen_host && p->upstream_host && p->upstream_port != 0);
        CHECK(proxy_cfg_same(p, p));
        if (i > 0)
            sink += proxy_cfg_same(p, &cfg->proxies[i - 1]);
        check_duration(p->connect_timeout_ms);
        check_duration(p->idle_timeout_ms);
        sink += strlen(p->name) + strlen(p->listen_host) + strlen(p->upstream_host) +
                p->listen_port + p->enabled + p->pos.line;
        for (size_t j = 0; j < p->nfaults; j++)
            walk_fault(&p->faults[j]);
        decide_some(cfg, p);
    }
}

/* Undefined behaviour is a finding, also when the binary is run by hand on one input (the
 * FINWAIT_FUZZ build lets UBSan recover, which would only print it). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    struct config *cfg = NULL;
    struct diag d;
    int r;

    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    diag_init(&d);
    r = config_load_string("fuzz.yaml", (const char *)data, size, &cfg, &d);
    if (r == 0) {
        struct config *copy;
        CHECK(cfg != NULL);
        walk_config(cfg);
        /* a fault that ran out leaves a copy of the running configuration (proxy/faults/expiry.c) */
        copy = config_copy(cfg);
        CHECK(copy != NULL);
        for (size_t i = 0; i < cfg->nproxies; i++) {
            CHECK(proxy_cfg_same(&copy->proxies[i], &cfg->proxies[i]));
            if (copy->proxies[i].nfaults)
                config_drop_fault(copy, i, copy->proxies[i].nfaults / 2);
        }
        walk_config(copy);
        config_free(copy);
        config_free(cfg);
    } else {
        CHECK(cfg == NULL && d.n > 0); /* a refusal always says why */
    }
    diag_print(&d, devnull);
    diag_free(&d);
    return 0;
}
