#include "proxy/cli/args.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Toxiproxy's defaults for its API's address. */
#define TOXIPROXY_HOST "localhost"
#define TOXIPROXY_PORT "8474"

static const char usage[] =
    "usage: finwait -c FILE [--no-watch] run the proxies of FILE (YAML, or a Toxiproxy "
    "config.json)\n"
    "       finwait --admin HOST:PORT     serve Toxiproxy's HTTP API, proxies created through it\n"
    "       finwait -host=H -port=P [-config=FILE]  as toxiproxy-server (also under that name)\n"
    "       finwait cli COMMAND ...       as toxiproxy-cli (also under that name)\n"
    "       finwait conns [--admin URL] [--watch] | conns PROXY ID  open connections, timeline\n"
    "       finwait events [--admin URL] [--proxy NAME]  follow a running finwait's events\n"
    "       finwait findings [--admin URL] [--proxy NAME] [--kind KIND] [--json]  teardown "
    "verdicts\n"
    "       finwait report [--admin URL] [--junit FILE] [--html FILE]  the verdicts as a report\n"
    "       finwait run [-c FILE] [--fail-on KIND,...|all] [--report DIR] -- COMMAND ...\n"
    "                                     finwait around COMMAND; exit 3 on a --fail-on finding\n"
    "       finwait --check -c FILE       validate FILE, print every error, exit 0 if valid else "
    "2\n"
    "       finwait demo [SCENE]          run the built-in demo (every scene, or one: "
    "--list-scenes)\n"
    "       finwait --cleanup             remove packet-fault iptables chains left by finwait\n"
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
    "                      'admin: {listen: HOST:PORT}' it also serves Toxiproxy's HTTP API.\n"
    "                      FILE is watched: a change of its content reloads it (as SIGHUP)\n"
    "      --no-watch      do not watch FILE (SIGHUP still reloads it)\n"
    "      --admin HOST:PORT  serve Toxiproxy's HTTP API on HOST:PORT (over FILE's 'admin');\n"
    "                      without FILE, every proxy comes from the API\n"
    "      --check         only validate the configuration; exit 0 if valid, 2 if not;\n"
    "                      also says which faults need CAP_NET_ADMIN\n"
    "      --cleanup       remove every finwait iptables chain (after a crash) and exit\n"
    "      --list-scenes   with demo: list the demo's scenes\n"
    "  -V, --version       print the version and exit\n"
    "  -h, --help          print this help and exit\n"
    "\n"
    "Toxiproxy's server flags (-flag=value or -flag value; they make finwait a toxiproxy-server,\n"
    "as does running it under the name toxiproxy-server or toxiproxy):\n"
    "  -host H             the admin API's host (default localhost); no authentication\n"
    "  -port P             the admin API's port (default 8474)\n"
    "  -config FILE        proxies to create at start (Toxiproxy's JSON, or finwait's YAML)\n"
    "  -seed N             seed of the random fault decisions\n"
    "  -proxy-metrics      accepted: GET /metrics is always served\n"
    "  -runtime-metrics    GET /metrics adds the process_* series (no go_*: no Go runtime)\n"
    "  -version            print the version and exit\n"
    "environment: LOG_LEVEL (trace, debug, info, warn, error) as Toxiproxy's, when the admin\n"
    "address comes from the command line.\n"
    "\n"
    "exit status: 0 success (also after SIGINT/SIGTERM), 1 runtime error at start (e.g. a\n"
    "listen address in use, missing privileges), 2 bad usage or configuration.\n"
    "signals: SIGINT/SIGTERM stop accepting, let open connections finish for up to\n"
    "shutdown_timeout, reset what remains, exit 0. SIGHUP reloads FILE: a fault added,\n"
    "changed or removed reaches open connections at once (not with `connections: new`;\n"
    "refuse, and a changed or removed packet fault, reach new ones only); other proxy\n"
    "settings apply to new connections; a bad file or a busy address changes nothing.\n";

void args_usage(FILE *out)
{
    fputs(usage, out);
}

void args_help(FILE *out)
{
    fputs(usage, out);
    fputs(help, out);
}

enum {
    OPT_CHECK = 256,
    OPT_CLEANUP,
    OPT_LIST_SCENES,
    OPT_ADMIN,
    OPT_NO_WATCH,
    OPT_HOST, /* from here on, Toxiproxy's */
    OPT_PORT,
    OPT_SEED,
    OPT_PROXY_METRICS,
    OPT_RUNTIME_METRICS,
};

/* Parsed with getopt_long_only: `-host=H` and `--host=H` are the same long option, as Go's
 * flag package reads them; single letters stay finwait's short options (-c, -V, -h). */
static const struct option options[] = {
    {"config", required_argument, NULL, 'c'},
    {"check", no_argument, NULL, OPT_CHECK},
    {"cleanup", no_argument, NULL, OPT_CLEANUP},
    {"list-scenes", no_argument, NULL, OPT_LIST_SCENES},
    {"admin", required_argument, NULL, OPT_ADMIN},
    {"no-watch", no_argument, NULL, OPT_NO_WATCH},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"proxy-metrics", optional_argument, NULL, OPT_PROXY_METRICS},
    {"runtime-metrics", optional_argument, NULL, OPT_RUNTIME_METRICS},
    {NULL, 0, NULL, 0},
};

/* Go's strconv.ParseBool, for `-proxy-metrics=false`. */
static int parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    unsigned long v;

    if (!*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* The admin API binds an address, not a name: resolve `host` once, now, preferring IPv4 as
 * Go does for "localhost". "" stays "" (every interface). Returns 0, or -1 with `why`. */
static int resolve_host(const char *host, char *out, size_t len, const char **why)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;
    int r;

    if (!*host) {
        out[0] = '\0';
        return 0;
    }
    r = getaddrinfo(host, NULL, &hints, &res);
    if (r != 0) {
        *why = gai_strerror(r);
        return -1;
    }
    ai = res;
    for (struct addrinfo *p = res; p; p = p->ai_next)
        if (p->ai_family == AF_INET) {
            ai = p;
            break;
        }
    r = getnameinfo(ai->ai_addr, ai->ai_addrlen, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    if (r != 0) {
        *why = gai_strerror(r);
        return -1;
    }
    return 0;
}

/* HOST:PORT, [V6]:PORT or :PORT into its parts (host copied into `host`). */
static int split_hostport(const char *s, char *host, size_t len, uint16_t *port)
{
    const char *colon, *h = s;
    size_t hlen;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen >= len || parse_port(colon + 1, port) < 0)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return 0;
}

/* Toxiproxy reads zerolog's level names; finwait has four levels. */
static int parse_log_level(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } levels[] = {
        {"trace", LOG_LEVEL_DEBUG}, {"debug", LOG_LEVEL_DEBUG},    {"info", LOG_LEVEL_INFO},
        {"warn", LOG_LEVEL_WARN},   {"error", LOG_LEVEL_ERROR},    {"fatal", LOG_LEVEL_ERROR},
        {"panic", LOG_LEVEL_ERROR}, {"disabled", LOG_LEVEL_ERROR},
    };

    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    return -1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int args_parse(int argc, char **argv, struct args *a, FILE *err)
{
    const char *name = argc > 0 ? base_name(argv[0]) : "finwait";
    const char *host = NULL, *port = NULL, *admin = NULL, *why = "";
    char hostbuf[sizeof a->admin_host];
    bool metrics;
    int opt;

    memset(a, 0, sizeof *a);
    a->action = ARGS_RUN;
    a->watch = true;
    if (strcmp(name, "toxiproxy-cli") == 0 || (argc > 1 && strcmp(argv[1], "cli") == 0)) {
        a->action = ARGS_CLI;
        a->cli_argc = strcmp(name, "toxiproxy-cli") == 0 ? argc : argc - 1;
        a->cli_argv = argv + (argc - a->cli_argc);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "conns") == 0 || strcmp(argv[1], "events") == 0 ||
                     strcmp(argv[1], "findings") == 0 || strcmp(argv[1], "report") == 0 ||
                     strcmp(argv[1], "run") == 0)) {
        a->action = strcmp(argv[1], "conns") == 0      ? ARGS_CONNS
                    : strcmp(argv[1], "events") == 0   ? ARGS_EVENTS
                    : strcmp(argv[1], "findings") == 0 ? ARGS_FINDINGS
                    : strcmp(argv[1], "report") == 0   ? ARGS_REPORT
                                                       : ARGS_RUN_CMD;
        a->cli_argc = argc - 1;
        a->cli_argv = argv + 1;
        return 0;
    }
    a->toxiproxy = strcmp(name, "toxiproxy-server") == 0 || strcmp(name, "toxiproxy") == 0;
    a->named_toxiproxy = a->toxiproxy;
    optind = 0;
    while ((opt = getopt_long_only(argc, argv, "c:Vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            a->config = optarg;
            break;
        case OPT_CHECK:
            a->action = ARGS_CHECK;
            break;
        case OPT_CLEANUP:
            a->action = ARGS_CLEANUP;
            break;
        case OPT_LIST_SCENES:
            a->action = ARGS_LIST_SCENES;
            break;
        case OPT_ADMIN:
            admin = optarg;
            break;
        case OPT_NO_WATCH:
            a->watch = false;
            break;
        case 'V':
            a->action = ARGS_VERSION;
            return 0;
        case 'h':
            a->action = ARGS_HELP;
            return 0;
        case OPT_HOST:
            host = optarg;
            a->toxiproxy = true;
            break;
        case OPT_PORT:
            port = optarg;
            a->toxiproxy = true;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 0);
            if (!*optarg || *end || errno) {
                fprintf(err, "invalid value \"%s\" for flag -seed: parse error\n", optarg);
                goto bad;
            }
            a->ov.has_seed = true;
            a->ov.seed = (uint64_t)v;
            a->toxiproxy = true;
            break;
        }
        case OPT_PROXY_METRICS:
        case OPT_RUNTIME_METRICS:
            if (optarg && parse_go_bool(optarg, &metrics) < 0) {
                fprintf(err, "invalid boolean value \"%s\" for -%s: parse error\n", optarg,
                        opt == OPT_PROXY_METRICS ? "proxy-metrics" : "runtime-metrics");
                goto bad;
            }
            if (opt == OPT_RUNTIME_METRICS)
                a->ov.runtime_metrics = !optarg || metrics;
            a->toxiproxy = true;
            break;
        default:
            goto bad;
        }
    }
    if (optind < argc && strcmp(argv[optind], "demo") == 0) {
        if (argc - optind > 2)
            goto bad;
        if (a->action != ARGS_LIST_SCENES)
            a->action = ARGS_DEMO;
        a->demo_scene = optind + 1 < argc ? argv[optind + 1] : NULL;
        return 0;
    }
    if (optind < argc) {
        fprintf(err, "finwait: unexpected argument '%s'\n", argv[optind]);
        goto bad;
    }
    if (a->action == ARGS_LIST_SCENES) {
        fputs("finwait: --list-scenes goes with demo\n", err);
        goto bad;
    }
    if (a->action != ARGS_RUN && a->action != ARGS_CHECK)
        return 0;

    /* Where the admin API listens: --admin, else Toxiproxy's flags (with its defaults) */
    if (admin) {
        if (split_hostport(admin, hostbuf, sizeof hostbuf, &a->ov.admin_port) < 0) {
            fprintf(err, "finwait: --admin '%s': expected HOST:PORT (e.g. 127.0.0.1:8474)\n",
                    admin);
            goto bad;
        }
        host = hostbuf;
    } else if (a->toxiproxy) {
        if (!host)
            host = TOXIPROXY_HOST;
        if (parse_port(port ? port : TOXIPROXY_PORT, &a->ov.admin_port) < 0) {
            fprintf(err, "finwait: -port '%s': expected a port number (0 to 65535)\n", port);
            goto bad;
        }
    }
    if (host) {
        if (resolve_host(host, a->admin_host, sizeof a->admin_host, &why) < 0) {
            fprintf(err, "finwait: %s '%s': cannot resolve: %s\n", admin ? "--admin" : "-host",
                    host, why);
            goto bad;
        }
        a->ov.admin_host = a->admin_host;
    }
    /* Toxiproxy's API has no authentication and its users rely on reaching it (-host=0.0.0.0
     * in a container): its flags mean an open API on purpose. */
    if (a->toxiproxy)
        a->ov.admin_insecure = true;
    if (a->ov.admin_host && (a->toxiproxy || !a->config)) {
        const char *lvl = getenv("LOG_LEVEL");
        if (lvl && *lvl && parse_log_level(lvl, &a->ov.log_level) == 0)
            a->ov.has_log_level = true;
        else if (lvl && *lvl)
            fprintf(err, "finwait: unknown LOG_LEVEL value: \"%s\" (ignored)\n", lvl);
    }
    if (!a->config && !a->ov.admin_host) {
        fputs("finwait: no configuration given (-c FILE, or --admin HOST:PORT)\n", err);
        goto bad;
    }
    return 0;
bad:
    fputs(usage, err);
    return 2;
}
