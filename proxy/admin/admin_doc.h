/*
 * The admin API's document: the running configuration as a JSON object with a `proxies`
 * array, in finwait's YAML schema, which requests edit and load back as a configuration.
 */
#ifndef FINWAIT_PROXY_ADMIN_DOC_H
#define FINWAIT_PROXY_ADMIN_DOC_H

#include <jansson.h>
#include <stddef.h>

struct config;

/* The document of cfg, from the text it was loaded from (a Toxiproxy config.json, a bare
 * array, becomes `proxies`, its proxies keeping `on_upstream_failure: close`). Never NULL
 * unless out of memory. */
json_t *admin_doc_from_config(const struct config *cfg);
/* The proxy named `name` (its index in *index if given), or NULL. */
json_t *admin_doc_proxy(json_t *doc, const char *name, size_t *index);
/* A fault's name as the loader gives it: `name`, or the type. */
const char *admin_doc_fault_name(json_t *f);
/* The fault of `proxy` named `name` (its index in *index if given), or NULL. */
json_t *admin_doc_fault(json_t *proxy, const char *name, size_t *index);
/* Drop the faults cfg lost without a request (a `for:` that ran out). */
void admin_doc_prune(json_t *doc, const struct config *cfg);

#endif
