/*
 * `finwait report`: a running finwait's teardown verdicts as a summary on stdout, JUnit XML
 * for CI systems (--junit FILE: one test case per proxy and kind, failures carrying the
 * evidence) and one self-contained HTML page (--html FILE) with each finding's example
 * connection drawn as an SVG sequence diagram (client | finwait | server).
 */
#ifndef FINWAIT_PROXY_CLI_REPORT_H
#define FINWAIT_PROXY_CLI_REPORT_H

#include <jansson.h>
#include <stdio.h>

/* argv[0] is "report"; returns 0, 1 when the admin API could not answer or a file could not
 * be written, 2 for bad usage. */
int cli_report_main(int argc, char **argv);

/* The names of the proxies of the finwait at `base` (GET /proxies), as a JSON array, or NULL
 * after printing why. */
json_t *cli_report_proxies(const char *what, const char *base);
/* The summary of `findings` and `coping` (the API's arrays) on out. */
void cli_report_summary(json_t *findings, json_t *coping, FILE *out);
/* Write the JUnit XML or the HTML page to path: 0, or -1 after printing why. */
int cli_report_junit(const char *path, json_t *proxies, json_t *findings, json_t *coping);
int cli_report_html(const char *path, json_t *findings, json_t *coping);

#endif
