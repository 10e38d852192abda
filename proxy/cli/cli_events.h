/* `finwait events`: a running finwait's events as its log's text lines. */
#ifndef FINWAIT_PROXY_CLI_EVENTS_H
#define FINWAIT_PROXY_CLI_EVENTS_H

/* argv[0] is "events". Returns the exit status. */
int cli_events_main(int argc, char **argv);

#endif
