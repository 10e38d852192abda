#include "cfgcheck.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rules/config.h"

void cfg_expect_error(const char *yaml, unsigned line, unsigned col, const char *text)
{
    struct config *cfg = (struct config *)1;
    struct diag d;
    bool found = false;

    diag_init(&d);
    CHECK_EQ(config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &d), -1);
    CHECK(cfg == NULL);
    for (size_t i = 0; i < d.n; i++)
        if (d.msgs[i].line == line && d.msgs[i].col == col && strstr(d.msgs[i].text, text))
            found = true;
    if (!found) {
        fprintf(stderr, "expected %u:%u: %s\ngot:\n", line, col, text);
        diag_print(&d, stderr);
    }
    CHECK(found);
    diag_free(&d);
}
