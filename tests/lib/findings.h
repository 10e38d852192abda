/* The teardown verdicts of a running finwait, read through its admin API (GET /findings). */
#ifndef FW_TEST_FINDINGS_H
#define FW_TEST_FINDINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* GET /findings?proxy=P: the number of findings (summed counts) of kind K (NULL: any). */
uint64_t fw_findings_count(uint16_t admin, const char *proxy, const char *kind);
/* Wait (polling, up to timeout_ms) for a finding of `kind` on `proxy`; returns its JSON object
 * (the caller's to json_decref) or NULL. */
json_t *fw_wait_finding(uint16_t admin, const char *proxy, const char *kind, int timeout_ms);
/* A number of a finding's evidence (the test fails if it is missing). */
double fw_evidence(json_t *finding, const char *key);

#endif
