/*
 * toxiproxy-cli: its commands, aliases, flags, output lines and exit codes, for finwait's
 * admin API (or Toxiproxy's). Run as `finwait cli ...` or under the name toxiproxy-cli.
 */
#ifndef FINWAIT_PROXY_CLI_TOXIPROXY_H
#define FINWAIT_PROXY_CLI_TOXIPROXY_H

/* argv[0] is the program's (or `cli`); returns the exit status: 0, 1 for a failed command,
 * 3 for an unknown command. */
int cli_toxiproxy_main(int argc, char **argv);

#endif
