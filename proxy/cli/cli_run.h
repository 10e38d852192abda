/*
 * `finwait run [-c FILE] [--fail-on KIND,...|all] [--report DIR] -- COMMAND ...`: one line in a
 * Makefile or a CI job that turns an integration suite into a teardown check. It starts finwait
 * (the file's proxies, the admin API on a free loopback port), waits until it answers, runs
 * COMMAND with FINWAIT_ADMIN and TOXIPROXY_URL pointing at it, stops finwait gracefully when
 * COMMAND ends, prints the verdicts, writes the reports, and exits with COMMAND's status, or
 * CLI_RUN_FINDINGS when a finding of a --fail-on kind was made.
 */
#ifndef FINWAIT_PROXY_CLI_RUN_H
#define FINWAIT_PROXY_CLI_RUN_H

/* The exit status when the applications made a finding of a --fail-on kind. */
#define CLI_RUN_FINDINGS 3
/* The exit status when finwait itself could not start (its log says why). */
#define CLI_RUN_NOT_STARTED 125

/* argv[0] is "run". */
int cli_run_main(int argc, char **argv);

#endif
