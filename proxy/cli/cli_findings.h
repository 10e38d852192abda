/*
 * `finwait findings`: the teardown verdicts of a running finwait (its admin API's
 * GET /findings) as a table with each finding's sentence, or as the API's JSON.
 */
#ifndef FINWAIT_PROXY_CLI_FINDINGS_H
#define FINWAIT_PROXY_CLI_FINDINGS_H

#include <jansson.h>

/* argv[0] is "findings"; returns the exit status: 0, 1 when the admin API could not answer,
 * 2 for bad usage. */
int cli_findings_main(int argc, char **argv);

/* GET base/findings?query as the API's JSON array (new reference), or NULL after printing why
 * (prefixed with `what`) to stderr. With `coping`, *coping gets the answer's `coping` array
 * (how the clients coped with finwait's faults; a new reference). */
json_t *cli_findings_fetch(const char *what, const char *base, const char *query, json_t **coping);
/* The table of `list` (the API's findings) on out. */
void cli_findings_print(json_t *list, FILE *out);

#endif
