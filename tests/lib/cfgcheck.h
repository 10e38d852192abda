/* Checks of the configuration loader shared by the unit tests. */
#ifndef FW_TEST_CFGCHECK_H
#define FW_TEST_CFGCHECK_H

/* Load `yaml` (as "t.yaml"); expect failure, nothing loaded, and a message at line:col that
 * contains `text` (else print what came and fail). */
void cfg_expect_error(const char *yaml, unsigned line, unsigned col, const char *text);

#endif
