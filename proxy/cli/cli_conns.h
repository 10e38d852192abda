/*
 * `finwait conns`: the open connections of a running finwait as a table, like ss (from its
 * admin API's GET /connections), redrawn every second with --watch; `finwait conns PROXY ID`:
 * that connection's timeline diagram.
 */
#ifndef FINWAIT_PROXY_CLI_CONNS_H
#define FINWAIT_PROXY_CLI_CONNS_H

/* argv[0] is "conns"; returns the exit status: 0, 1 when the admin API could not answer
 * (unreachable, an error status), 2 for bad usage. */
int cli_conns_main(int argc, char **argv);

#endif
