/*
 * finwait's GET /metrics as a test reads it: parsed by Prometheus' own parser (Debian's
 * python3-prometheus-client, through tests/lib/prom_parse.py), so a malformed exposition fails
 * the test that scrapes.
 */
#ifndef FW_TEST_PROM_H
#define FW_TEST_PROM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* GET /metrics from the admin API on 127.0.0.1:admin, checked (200, Prometheus' content type)
 * and parsed; the test fails otherwise. Returns {"families": {NAME: {"type", "help"}},
 * "samples": {SERIES: value}} (the caller's to json_decref). */
json_t *prom_scrape(uint16_t admin);
/* Run the parser on `text`: true if it parses (and keeps finwait's conventions). */
bool prom_parses(const char *text);
/* The value of SERIES, written `name{a="x",b="y"}` with the labels sorted by name, or -1 when
 * the scrape does not have it. */
double prom_get(json_t *m, const char *series);

#endif
