#include "findings.h"

#include <stdio.h>
#include <time.h>

#include "check.h"
#include "http.h"
#include "sock.h"

static json_t *get(uint16_t admin, const char *proxy, const char *kind)
{
    char path[256];
    json_t *j = NULL;

    snprintf(path, sizeof path, "/findings?proxy=%s%s%s", proxy, kind ? "&kind=" : "",
             kind ? kind : "");
    CHECK_EQ(http_json(admin, "GET", path, NULL, &j), 200);
    CHECK(j && json_is_array(json_object_get(j, "findings")));
    return j;
}

uint64_t fw_findings_count(uint16_t admin, const char *proxy, const char *kind)
{
    json_t *j = get(admin, proxy, kind), *f;
    size_t i;
    uint64_t n = 0;

    json_array_foreach(json_object_get(j, "findings"), i, f)
    {
        n += (uint64_t)json_integer_value(json_object_get(f, "count"));
        fprintf(stderr, "  finding: %s\n", json_string_value(json_object_get(f, "why")));
    }
    json_decref(j);
    return n;
}

json_t *fw_wait_finding(uint16_t admin, const char *proxy, const char *kind, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    for (;;) {
        json_t *j = get(admin, proxy, kind);
        json_t *list = json_object_get(j, "findings");
        if (json_array_size(list) > 0) {
            json_t *f = json_incref(json_array_get(list, 0));
            json_decref(j);
            return f;
        }
        json_decref(j);
        if (now_ms() >= end)
            return NULL;
        nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
    }
}

double fw_evidence(json_t *finding, const char *key)
{
    json_t *v = json_object_get(json_object_get(finding, "evidence"), key);

    CHECK_MSG(json_is_number(v), "no evidence '%s'", key);
    return json_number_value(v);
}
