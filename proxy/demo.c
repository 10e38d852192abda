#include "proxy/demo.h"

int demo_run(const char *scene)
{
    (void)scene;
    return 1;
}

int demo_list(FILE *out)
{
    (void)out;
    return 0;
}
