/* finwait's command line: what args.c parsed, carried out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/cli/args.h"
#include "proxy/cli/cli_conns.h"
#include "proxy/cli/cli_events.h"
#include "proxy/cli/cli_findings.h"
#include "proxy/cli/cli_report.h"
#include "proxy/cli/cli_run.h"
#include "proxy/cli/cli_toxiproxy.h"
#include "proxy/cli/demo.h"
#include "proxy/faults/intercept_rules.h"
#include "proxy/faults/packet.h"
#include "proxy/fdlimit.h"
#include "proxy/server.h"
#include "rules/config.h"
#include "rules/diag.h"

static int check_only(const struct config *cfg)
{
    struct fd_limit fl;
    char limit[160];
    size_t packet = 0, intercept = 0;

    for (size_t i = 0; i < cfg->nproxies; i++) {
        const struct proxy_cfg *p = &cfg->proxies[i];
        if (p->intercept.on) {
            printf("%s:%u:%u: note: proxy '%s' intercepts connections (mode: %s): it needs Linux, "
                   "CAP_NET_ADMIN and iptables%s\n",
                   cfg->path, p->pos.line, p->pos.col, p->name,
                   p->intercept.mode == INTERCEPT_TPROXY ? "tproxy" : "redirect",
                   p->intercept.mode == INTERCEPT_TPROXY ? " (and the ip tool)" : "");
            intercept++;
        }
    }
    for (size_t i = 0; i < cfg->nproxies; i++)
        for (size_t j = 0; j < cfg->proxies[i].nfaults; j++) {
            const struct fault *f = &cfg->proxies[i].faults[j];
            if (!fault_type_is_packet(f->type))
                continue;
            printf("%s:%u:%u: note: proxy '%s' fault '%s' (%s) works at packet level: it needs "
                   "Linux, CAP_NET_ADMIN and iptables\n",
                   cfg->path, f->pos.line, f->pos.col, cfg->proxies[i].name, f->name,
                   fault_type_name(f->type));
            packet++;
        }
    printf("%s: ok (%zu prox%s%s%s%s)\n", cfg->path, cfg->nproxies,
           cfg->nproxies == 1 ? "y" : "ies", cfg->admin_host ? ", admin API" : "",
           packet ? ", packet-level faults need CAP_NET_ADMIN" : "",
           intercept ? ", interception needs CAP_NET_ADMIN" : "");
    /* what finwait would run with: it raises the soft limit the same way at start */
    fd_limit_get(&fl, true);
    printf("%s: note: %s\n", cfg->path, fd_limit_text(&fl, limit, sizeof limit));
    return 0;
}

/* The configuration to start with: the file, or (--admin alone) none but the API's address. */
static int load(const struct args *a, struct config **cfg)
{
    struct diag d;
    int r;

    diag_init(&d);
    if (a->config)
        r = config_load_file_with(a->config, &a->ov, cfg, &d);
    else
        r = config_load_string_with("command line", "proxies: []\n", 12, &a->ov, cfg, &d);
    if (r != 0) {
        diag_print(&d, stderr);
        fprintf(stderr, "finwait: %s: %zu error%s, nothing started\n",
                a->config ? a->config : "command line", d.n, d.n == 1 ? "" : "s");
    }
    diag_free(&d);
    return r;
}

int main(int argc, char **argv)
{
    struct args a;
    struct config *cfg;
    char err[512];
    int rc;

    rc = args_parse(argc, argv, &a, stderr);
    if (rc != 0)
        return rc;
    switch (a.action) {
    case ARGS_CLI:
        return cli_toxiproxy_main(a.cli_argc, a.cli_argv);
    case ARGS_CONNS:
        return cli_conns_main(a.cli_argc, a.cli_argv);
    case ARGS_EVENTS:
        return cli_events_main(a.cli_argc, a.cli_argv);
    case ARGS_FINDINGS:
        return cli_findings_main(a.cli_argc, a.cli_argv);
    case ARGS_REPORT:
        return cli_report_main(a.cli_argc, a.cli_argv);
    case ARGS_RUN_CMD:
        return cli_run_main(a.cli_argc, a.cli_argv);
    case ARGS_VERSION:
        if (a.named_toxiproxy)
            printf("toxiproxy-server version %s (finwait)\n", FINWAIT_VERSION);
        else
            printf("finwait %s\n", FINWAIT_VERSION);
        return 0;
    case ARGS_HELP:
        args_help(stdout);
        return 0;
    case ARGS_LIST_SCENES:
        return demo_list(stdout);
    case ARGS_DEMO:
        return demo_run(a.demo_scene);
    case ARGS_CLEANUP: {
        char report[8192];
        int r = packet_cleanup_all(report, sizeof report, err, sizeof err);
        size_t used = strlen(report);
        /* interception's chains and routes too, even when the packet engine's failed */
        int r2 = intercept_cleanup_all(report + used, sizeof report - used, err, sizeof err);
        r = r < 0 ? r : r2;
        fputs(report, stdout); /* what was removed, even when something else failed */
        if (r < 0) {
            fprintf(stderr, "finwait: %s\n", err);
            return 1;
        }
        if (!report[0])
            puts("finwait: nothing to remove (no finwait iptables chains)");
        return 0;
    }
    case ARGS_CHECK:
        if (!a.config) {
            fputs("finwait: --check needs a configuration (-c FILE)\n", stderr);
            args_usage(stderr);
            return 2;
        }
        /* fall through */
    case ARGS_RUN:
        break;
    }
    if (load(&a, &cfg) != 0)
        return 2;
    if (a.action == ARGS_CHECK) {
        rc = check_only(cfg);
    } else {
        struct server_opts opts = {.file = a.config, .watch = a.watch, .ov = &a.ov};
        rc = server_run(cfg, &opts);
    }
    config_free(cfg);
    return rc;
}
