/* finwait's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/demo.h"
#include "proxy/packet.h"
#include "proxy/server.h"
#include "rules/config.h"
#include "rules/diag.h"

static const char usage[] =
    "usage: finwait -c FILE            run the proxies of FILE (YAML, or a Toxiproxy config.json)\n"
    "       finwait --check -c FILE    validate FILE, print every error, exit 0 if valid else 2\n"
    "       finwait demo [SCENE]       run the built-in demo (every scene, or one: --list-scenes)\n"
    "       finwait --cleanup          remove packet-fault iptables chains left by finwait\n"
    "       finwait --version | --help\n";

static const char help[] =
    "\n"
    "finwait is a TCP proxy that relays both directions independently (a FIN is relayed as a\n"
    "FIN, an RST as an RST) and injects teardown faults: delayed or lost FIN, RST instead of\n"
    "FIN, broken half-close, mid-stream reset, and, on Linux with CAP_NET_ADMIN, dropped final\n"
    "ACK or FIN segments.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   configuration file (see examples/ and the README); with\n"
    "                      'admin: {listen: HOST:PORT}' it also serves Toxiproxy's HTTP API\n"
    "      --check         only validate the configuration; exit 0 if valid, 2 if not;\n"
    "                      also says which faults need CAP_NET_ADMIN\n"
    "      --cleanup       remove every finwait iptables chain (after a crash) and exit\n"
    "      --list-scenes   with demo: list the demo's scenes\n"
    "  -V, --version       print the version and exit\n"
    "  -h, --help          print this help and exit\n"
    "\n"
    "exit status: 0 success (also after SIGINT/SIGTERM), 1 runtime error at start (e.g. a\n"
    "listen address in use, missing privileges), 2 bad usage or configuration.\n"
    "signals: SIGINT/SIGTERM stop accepting, let open connections finish for up to\n"
    "shutdown_timeout, reset what remains, exit 0. SIGHUP reloads FILE: new connections\n"
    "use it, open ones keep theirs; a bad file or a busy address changes nothing.\n";

static int check_only(const struct config *cfg)
{
    size_t packet = 0;

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
    printf("%s: ok (%zu prox%s%s%s)\n", cfg->path, cfg->nproxies, cfg->nproxies == 1 ? "y" : "ies",
           cfg->admin_host ? ", admin API" : "",
           packet ? ", packet-level faults need CAP_NET_ADMIN" : "");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"cleanup", no_argument, NULL, 'C'},
        {"list-scenes", no_argument, NULL, 'L'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool check = false, cleanup = false, list = false;
    struct config *cfg;
    struct diag d;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'C':
            cleanup = true;
            break;
        case 'L':
            list = true;
            break;
        case 'V':
            printf("finwait %s\n", FINWAIT_VERSION);
            return 0;
        case 'h':
            fputs(usage, stdout);
            fputs(help, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc && strcmp(argv[optind], "demo") == 0) {
        if (list)
            return demo_list(stdout);
        if (argc - optind > 2) {
            fputs(usage, stderr);
            return 2;
        }
        return demo_run(optind + 1 < argc ? argv[optind + 1] : NULL);
    }
    if (optind < argc) {
        fprintf(stderr, "finwait: unexpected argument '%s'\n", argv[optind]);
        fputs(usage, stderr);
        return 2;
    }
    if (cleanup) {
        char err[512], report[8192];
        int r = packet_cleanup_all(report, sizeof report, err, sizeof err);
        fputs(report, stdout); /* what was removed, even when something else failed */
        if (r < 0) {
            fprintf(stderr, "finwait: %s\n", err);
            return 1;
        }
        if (!report[0])
            puts("finwait: nothing to remove (no finwait iptables chains)");
        return 0;
    }
    if (!path) {
        fputs("finwait: no configuration given (-c FILE)\n", stderr);
        fputs(usage, stderr);
        return 2;
    }
    diag_init(&d);
    if (config_load_file(path, &cfg, &d) != 0) {
        diag_print(&d, stderr);
        fprintf(stderr, "finwait: %s: %zu error%s, nothing started\n", path, d.n,
                d.n == 1 ? "" : "s");
        diag_free(&d);
        return 2;
    }
    diag_free(&d);
    rc = check ? check_only(cfg) : server_run(cfg);
    config_free(cfg);
    return rc;
}
