/*
 * The admin API's document: the running configuration as JSON in finwait's YAML schema, made
 * from the very text it was loaded from. Requests edit a copy of it and load that copy as a
 * configuration; these helpers find proxies and faults in it by name.
 */
#include "proxy/admin/admin_doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rules/config.h"

/* A plain YAML scalar as JSON. The document goes back through the loader as JSON text, so
 * every value must come back as the very text it was: a number or a boolean only when JSON
 * writes it the same way ("007", "1e2", "nan" and 2^64-1 stay strings), names always text. */
static json_t *scalar_json(const yaml_node_t *n, bool text)
{
    const char *s = (const char *)n->data.scalar.value;
    char *end, back[64];

    if (text || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
        return json_boolean(s[0] == 't');
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (s[0] && *end == '\0' && errno == 0) {
        snprintf(back, sizeof back, "%lld", i);
        return strcmp(back, s) == 0 ? json_integer(i) : json_string(s);
    }
    double d = strtod(s, &end);
    if (s[0] && *end == '\0' && isfinite(d)) {
        snprintf(back, sizeof back, "%.17g", d); /* as jansson writes a real */
        if (strcmp(back, s) == 0)
            return json_real(d);
    }
    return json_string(s);
}

static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, bool text, int depth)
{
    json_t *j;

    if (!n || depth > 64)
        return json_null();
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar_json(n, text);
    case YAML_SEQUENCE_NODE:
        j = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            json_array_append_new(
                j, node_json(doc, yaml_document_get_node(doc, *i), false, depth + 1));
        return j;
    case YAML_MAPPING_NODE:
        j = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE)
                continue;
            const char *key = (const char *)k->data.scalar.value;
            json_object_set_new(j, key,
                                node_json(doc, yaml_document_get_node(doc, p->value),
                                          strcmp(key, "name") == 0, depth + 1));
        }
        return j;
    default:
        return json_null();
    }
}

/* The running configuration as a document with a `proxies` array (a Toxiproxy config.json,
 * a bare array, becomes its `proxies`), from the very text it was loaded from: no second read
 * of a file that may have changed since. */
json_t *admin_doc_from_config(const struct config *cfg)
{
    yaml_parser_t parser;
    yaml_document_t ydoc;
    json_t *doc = NULL, *root;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)cfg->source, cfg->source_len);
    if (yaml_parser_load(&parser, &ydoc)) {
        root = node_json(&ydoc, yaml_document_get_root_node(&ydoc), false, 0);
        if (json_is_array(root)) {
            /* its proxies keep the loader's default for a config.json in finwait's schema */
            json_t *p;
            size_t i;
            json_array_foreach(root, i, p)
            {
                if (json_is_object(p) && !json_object_get(p, "on_upstream_failure"))
                    json_object_set_new(p, "on_upstream_failure", json_string("close"));
            }
            doc = json_pack("{s:o}", "proxies", root);
        } else if (json_is_object(root))
            doc = root;
        else
            json_decref(root);
        yaml_document_delete(&ydoc);
    }
    yaml_parser_delete(&parser);
    if (!doc)
        doc = json_object();
    if (!json_is_array(json_object_get(doc, "proxies")))
        json_object_set_new(doc, "proxies", json_array());
    return doc;
}

json_t *admin_doc_proxy(json_t *doc, const char *name, size_t *index)
{
    json_t *proxies = json_object_get(doc, "proxies"), *p;
    size_t i;

    json_array_foreach(proxies, i, p)
    {
        if (json_is_string(json_object_get(p, "name")) &&
            strcmp(json_string_value(json_object_get(p, "name")), name) == 0) {
            if (index)
                *index = i;
            return p;
        }
    }
    return NULL;
}

/* A fault's name as the loader gives it: `name`, or the type. */
const char *admin_doc_fault_name(json_t *f)
{
    json_t *n = json_object_get(f, "name");

    if (!json_is_string(n))
        n = json_object_get(f, "type");
    return json_is_string(n) ? json_string_value(n) : "";
}

json_t *admin_doc_fault(json_t *proxy, const char *name, size_t *index)
{
    json_t *faults = json_object_get(proxy, "faults"), *f;
    size_t i;

    json_array_foreach(faults, i, f)
    {
        if (strcmp(admin_doc_fault_name(f), name) == 0) {
            if (index)
                *index = i;
            return f;
        }
    }
    return NULL;
}

/*
 * The document loses the faults the running configuration lost without a request: a `for:`
 * that ran out, or one a file reload kept out for that reason (proxy/faults/expiry.c). The running
 * configuration is the document's minus those, in order, so a walk by name finds them.
 */
void admin_doc_prune(json_t *doc, const struct config *cfg)
{
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(doc, "proxies"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_t *faults = json_object_get(p, "faults");
        const struct proxy_cfg *pc = NULL;
        size_t j = 0, k = 0;

        for (size_t n = 0; name && n < cfg->nproxies && !pc; n++)
            if (strcmp(cfg->proxies[n].name, name) == 0)
                pc = &cfg->proxies[n];
        if (!pc || !json_is_array(faults) || json_array_size(faults) == pc->nfaults)
            continue;
        while (k < json_array_size(faults)) {
            if (j < pc->nfaults &&
                strcmp(admin_doc_fault_name(json_array_get(faults, k)), pc->faults[j].name) == 0) {
                j++;
                k++;
            } else {
                json_array_remove(faults, k);
            }
        }
    }
}
