/*
 * The command line: finwait's own options and Toxiproxy's server flags (`-host=H -port=P
 * -config=FILE ...`, Go style, also when finwait runs under the name toxiproxy-server), turned
 * into what main() does.
 */
#ifndef FINWAIT_PROXY_ARGS_H
#define FINWAIT_PROXY_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "rules/config.h"

enum args_action {
    ARGS_RUN,         /* run the proxies (of a file, or of the admin API) */
    ARGS_CHECK,       /* --check: validate the file */
    ARGS_DEMO,        /* demo [SCENE] */
    ARGS_LIST_SCENES, /* demo --list-scenes */
    ARGS_CLEANUP,     /* --cleanup */
    ARGS_VERSION,     /* --version, -version */
    ARGS_HELP,        /* --help */
    ARGS_CLI,         /* toxiproxy-cli's commands: `finwait cli ...` or the name toxiproxy-cli */
    ARGS_CONNS,       /* `finwait conns ...`: the open connections (cli_argc, cli_argv) */
    ARGS_EVENTS,      /* `finwait events ...`: follow a running finwait's events */
    ARGS_FINDINGS,    /* `finwait findings ...`: a running finwait's teardown verdicts */
    ARGS_REPORT,      /* `finwait report ...`: the same as a summary, JUnit XML, HTML */
    ARGS_RUN_CMD,     /* `finwait run ... -- COMMAND`: finwait around a command, then verdicts */
};

struct args {
    enum args_action action;
    const char *config;     /* -c, --config, -config: the file, or NULL */
    const char *demo_scene; /* demo's SCENE, or NULL for all */
    bool watch;             /* reload the file when it changes (off with --no-watch) */
    bool toxiproxy;         /* Toxiproxy's server flags or name: the admin API is always on */
    bool named_toxiproxy;   /* run as toxiproxy-server (or toxiproxy): -version says so */
    int cli_argc; /* ARGS_CLI, ARGS_EVENTS: the command's arguments, cli_argv[0] its name */
    char **cli_argv;
    struct config_overrides ov; /* admin address, insecure, seed, log level */
    char admin_host[256];       /* ov.admin_host points here */
};

/*
 * Parse argv. Returns 0, or 2 (the exit status) after printing what is wrong to `err`.
 * Nothing is allocated.
 */
int args_parse(int argc, char **argv, struct args *a, FILE *err);

/* finwait's usage lines and its help. */
void args_usage(FILE *out);
void args_help(FILE *out);

#endif
