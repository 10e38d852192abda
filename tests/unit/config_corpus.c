/* Every input of the configuration fuzzer's corpus (the examples, tricky inputs and what the
 * fuzzer once crashed on) loads or is refused with diagnostics, never crashes: the suites run
 * it with and without the sanitizers, so a finding stays fixed without a fuzzing run. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rules/config.h"
#include "rules/diag.h"

int main(void)
{
    const char *dir = FINWAIT_SOURCE_DIR "/tests/fuzz/corpus/config";
    DIR *dp = opendir(dir);
    struct dirent *e;
    FILE *sink = fopen("/dev/null", "w");
    int n = 0;

    CHECK(dp != NULL && sink != NULL);
    while ((e = readdir(dp)) != NULL) {
        char path[1024], *text;
        size_t len;
        struct config *cfg = NULL;
        struct diag d;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CHECK_MSG(config_read_file(path, &text, &len, NULL) == 0, "cannot read %s", path);
        diag_init(&d);
        if (config_load_string(e->d_name, text, len, &cfg, &d) == 0)
            config_free(cfg);
        else
            CHECK_MSG(d.n > 0, "%s refused without a diagnostic", e->d_name);
        diag_print(&d, sink);
        diag_free(&d);
        free(text);
        n++;
    }
    closedir(dp);
    fclose(sink);
    CHECK_INT(n, >=, 20);
    fprintf(stderr, "%d corpus inputs\n", n);
    TEST_PASS("every corpus input loads or is refused, none crashes");
    return 0;
}
