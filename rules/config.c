/*
 * The configuration model and its entry points: load (the YAML walk is rules/config_yaml.c,
 * a fault's mapping rules/config_fault.c, the values' text rules/value.c, the fault types'
 * parameters rules/fault_spec.c), compare, override, free.
 */
#include "rules/config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/config_yaml.h"

bool fault_same(const struct fault *a, const struct fault *b)
{
    struct fault x, y;

    /* the loader callocs faults, so their padding is zero and memcmp compares values */
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    x.name = y.name = NULL;
    x.pos = y.pos = (struct src_pos){0, 0};
    return strcmp(a->name, b->name) == 0 && memcmp(&x, &y, sizeof x) == 0;
}

bool proxy_cfg_same(const struct proxy_cfg *a, const struct proxy_cfg *b)
{
    if (strcmp(a->upstream_host, b->upstream_host) != 0 || a->upstream_port != b->upstream_port ||
        a->enabled != b->enabled || a->connect_timeout_ms != b->connect_timeout_ms ||
        a->idle_timeout_ms != b->idle_timeout_ms ||
        a->half_close_probe_ms != b->half_close_probe_ms || a->nfaults != b->nfaults)
        return false;
    for (size_t i = 0; i < a->nfaults; i++)
        if (!fault_same(&a->faults[i], &b->faults[i]))
            return false;
    return true;
}

bool config_has_packet_faults(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->nproxies; i++)
        for (size_t j = 0; j < cfg->proxies[i].nfaults; j++)
            if (fault_type_is_packet(cfg->proxies[i].faults[j].type))
                return true;
    return false;
}

static void free_proxy(struct proxy_cfg *p)
{
    for (size_t j = 0; j < p->nfaults; j++)
        free(p->faults[j].name);
    free(p->faults);
    free(p->name);
    free(p->listen_host);
    free(p->upstream_host);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nproxies; i++)
        free_proxy(&cfg->proxies[i]);
    free(cfg->proxies);
    free(cfg->path);
    free(cfg->source);
    free(cfg->admin_host);
    for (size_t i = 0; i < cfg->admin_nhosts; i++)
        free(cfg->admin_hosts[i]);
    free(cfg->admin_hosts);
    free(cfg->admin_token);
    free(cfg);
}

/* strdup that copies NULL as NULL; *ok turns false when out of memory. */
static char *dup_or_null(const char *s, bool *ok)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* Copy the faults and strings of *p (already a shallow copy of the original) in place. */
static bool copy_proxy(struct proxy_cfg *p)
{
    const struct fault *faults = p->faults;
    bool ok = true;

    p->name = dup_or_null(p->name, &ok);
    p->listen_host = dup_or_null(p->listen_host, &ok);
    p->upstream_host = dup_or_null(p->upstream_host, &ok);
    p->faults = calloc(p->nfaults ? p->nfaults : 1, sizeof *p->faults);
    if (!p->faults) {
        p->nfaults = 0;
        return false;
    }
    /* memcpy keeps the loader's zeroed padding, which fault_same() compares */
    if (p->nfaults) /* a proxy without faults has none to copy from (NULL) */
        memcpy(p->faults, faults, p->nfaults * sizeof *p->faults);
    for (size_t j = 0; j < p->nfaults; j++)
        p->faults[j].name = dup_or_null(faults[j].name, &ok);
    return ok;
}

struct config *config_copy(const struct config *cfg)
{
    struct config *c = malloc(sizeof *c);
    bool ok = true;

    if (!c)
        return NULL;
    *c = *cfg;
    c->proxies = NULL;
    c->nproxies = 0;
    c->admin_hosts = NULL;
    c->admin_nhosts = 0;
    c->path = dup_or_null(cfg->path, &ok);
    c->admin_host = dup_or_null(cfg->admin_host, &ok);
    c->admin_token = dup_or_null(cfg->admin_token, &ok);
    c->source = malloc(cfg->source_len + 1);
    if (c->source) {
        memcpy(c->source, cfg->source ? cfg->source : "", cfg->source ? cfg->source_len : 0);
        c->source[cfg->source ? cfg->source_len : 0] = '\0';
    } else {
        ok = false;
    }
    if (cfg->admin_nhosts) {
        c->admin_hosts = calloc(cfg->admin_nhosts, sizeof *c->admin_hosts);
        ok = ok && c->admin_hosts;
        for (size_t i = 0; c->admin_hosts && i < cfg->admin_nhosts; i++, c->admin_nhosts++)
            c->admin_hosts[i] = dup_or_null(cfg->admin_hosts[i], &ok);
    }
    if (cfg->nproxies) {
        c->proxies = calloc(cfg->nproxies, sizeof *c->proxies);
        ok = ok && c->proxies;
        for (size_t i = 0; c->proxies && i < cfg->nproxies; i++) {
            c->proxies[i] = cfg->proxies[i];
            c->nproxies = i + 1; /* freed with the copy even when its own copy failed */
            if (!copy_proxy(&c->proxies[i]))
                ok = false;
        }
    }
    if (!ok) {
        config_free(c);
        return NULL;
    }
    return c;
}

void config_drop_fault(struct config *cfg, size_t proxy, size_t fault)
{
    struct proxy_cfg *p = &cfg->proxies[proxy];

    assert(proxy < cfg->nproxies && fault < p->nfaults);
    free(p->faults[fault].name);
    memmove(&p->faults[fault], &p->faults[fault + 1], (p->nfaults - fault - 1) * sizeof *p->faults);
    p->nfaults--;
}

int config_apply_overrides(struct config *cfg, const struct config_overrides *ov)
{
    if (!ov)
        return 0;
    if (ov->admin_host) {
        char *host = strdup(ov->admin_host);
        if (!host)
            return -1;
        free(cfg->admin_host);
        cfg->admin_host = host;
        cfg->admin_port = ov->admin_port;
    }
    if (ov->admin_insecure)
        cfg->admin_insecure = true;
    if (ov->has_seed) {
        cfg->has_seed = true;
        cfg->seed = ov->seed;
    }
    if (ov->has_log_level)
        cfg->log_level = ov->log_level;
    return 0;
}

int config_load_string(const char *name, const char *text, size_t len, struct config **out,
                       struct diag *d)
{
    return config_load_string_ex(name, text, len, NULL, 0, out, d);
}

int config_load_string_with(const char *name, const char *text, size_t len,
                            const struct config_overrides *ov, struct config **out, struct diag *d)
{
    return config_load_string_ex(name, text, len, ov, 0, out, d);
}

int config_load_string_ex(const char *name, const char *text, size_t len,
                          const struct config_overrides *ov, unsigned flags, struct config **out,
                          struct diag *d)
{
    struct config *cfg;
    size_t errors;

    *out = NULL;
    cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        diag_add(d, name, 0, 0, NULL, "out of memory");
        return -1;
    }
    cfg->path = strdup(name);
    cfg->log_format = LOG_FORMAT_TEXT;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->shutdown_timeout_ms = 5000;
    cfg->admin_max_connections = 16;
    cfg->admin_request_timeout_ms = 10000;

    errors = config__load_yaml(cfg, name, text, len, ov && ov->admin_host,
                               flags & CONFIG_TOXIPROXY_VALUES, d);
    if (errors == 0 && config_apply_overrides(cfg, ov) == 0 &&
        (cfg->source = malloc(len + 1)) != NULL) {
        memcpy(cfg->source, text, len);
        cfg->source[len] = '\0';
        cfg->source_len = len;
        *out = cfg;
        return 0;
    }
    if (errors == 0)
        diag_add(d, name, 0, 0, NULL, "out of memory");
    config_free(cfg);
    return -1;
}

int config_load_file(const char *path, struct config **out, struct diag *d)
{
    return config_load_file_with(path, NULL, out, d);
}

int config_read_file(const char *path, char **text, size_t *len, struct diag *d)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *buf = NULL;
    size_t n = 0, cap = 0;

    *text = NULL;
    *len = 0;
    if (!fp) {
        if (d)
            diag_add(d, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    /* fopen opens a directory on Linux and reads nothing from it: not an empty file */
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (d)
            diag_add(d, path, 0, 0, NULL, "is a directory, not a configuration file");
        fclose(fp);
        return -1;
    }
    for (;;) {
        if (n + 4096 > cap) {
            char *t;
            cap = cap ? cap * 2 : 8192;
            t = realloc(buf, cap);
            if (!t) {
                free(buf);
                fclose(fp);
                if (d)
                    diag_add(d, path, 0, 0, NULL, "out of memory");
                return -1;
            }
            buf = t;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        if (d)
            diag_add(d, path, 0, 0, NULL, "cannot read: %s", strerror(errno));
        free(buf);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int config_load_file_with(const char *path, const struct config_overrides *ov, struct config **out,
                          struct diag *d)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if (config_read_file(path, &text, &len, d) != 0)
        return -1;
    rc = config_load_string_with(path, text, len, ov, out, d);
    free(text);
    return rc;
}
