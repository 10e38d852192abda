/*
 * Tests of upstream names control what names resolve to without touching the machine: they
 * run in a network namespace and a mount namespace of their own, where /etc/hosts (and
 * /etc/resolv.conf) are private files bind-mounted over the real ones. finwait, started
 * afterwards, inherits both namespaces.
 */
#ifndef FW_TEST_NAMES_H
#define FW_TEST_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Enter the namespaces (lo up) with `hosts` as /etc/hosts and, unless NULL, `resolv` as
 * /etc/resolv.conf. Without the privilege: exit 77 (skipped), unless CI=true and running as
 * root, where a skip would hide a failure: then the test fails. */
void names_enter(const char *hosts, const char *resolv);
/* Run a shell command (iptables in the test's own namespace); the test fails if it does. */
void names_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if `cmd` (iptables, ip6tables) is installed. */
bool names_have(const char *cmd);

#endif
