/*
 * The values of a configuration, from their text: durations, sizes and counts, booleans,
 * probabilities, addresses, networks. Pure functions with no YAML in them, so every rule
 * about what fits is in one place and tested on its own (tests/unit/value_parse.c).
 *
 * Each returns 0, -EINVAL when the text is not such a value, or -ERANGE when it is one but
 * does not fit; nothing is ever wrapped or rounded into a different value.
 */
#ifndef FINWAIT_RULES_VALUE_H
#define FINWAIT_RULES_VALUE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* The longest duration: a year. Longer is a typo (or a wish for `forever`), and every
 * duration then fits the relay's arithmetic in microseconds with room to spare. */
#define VALUE_DURATION_MAX_US   (8760ull * 3600 * 1000000)
#define VALUE_DURATION_MAX_TEXT "8760h (a year)"
/* The largest size, rate or byte count: 10^15, a petabyte. The relay multiplies rates by 1000
 * and adds slicer variations; it also keeps the numbers exact in the admin API's JSON. */
#define VALUE_SIZE_MAX 1000000000000000ull

/* A decimal integer (digits only: no sign, spaces, base prefix or exponent) up to `max`. */
int value_parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * "250ms", "1.5s", "2m", "1h", "1500us", or a bare integer in units of `bare_unit_us`
 * (1000 for milliseconds, 1 for microseconds); a fraction needs a unit. The result is in
 * microseconds, rounded to the nearest, at most VALUE_DURATION_MAX_US.
 */
int value_parse_duration_us(const char *s, uint64_t bare_unit_us, uint64_t *out);

/* true/false, yes/no, on/off (also capitalised), as YAML 1.1. */
int value_parse_bool(const char *s, bool *out);

/* A decimal number from 0 to 1 ("0.25", "1", ".5" is not). */
int value_parse_probability(const char *s, double *out);

/* What value_parse_hostport accepts besides host:port. */
#define VALUE_ADDR_ANY_HOST  1u /* ":port" (all interfaces) */
#define VALUE_ADDR_ZERO_PORT 2u /* port 0 (ephemeral) */

/*
 * "host:port", "[v6]:port", and what `flags` allows. *host gets the host without brackets
 * (malloc'd). -EINVAL: not an address; -ERANGE: the port is not 1..65535 (0..65535 with
 * VALUE_ADDR_ZERO_PORT); -ENOMEM.
 */
int value_parse_hostport(const char *s, unsigned flags, char **host, uint16_t *port);

/* "10.0.0.0/8", "fd00::/8", or an address alone (all its bits). */
int value_parse_cidr(const char *s, struct cidr *out);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: only this machine reaches it. */
bool value_host_is_loopback(const char *host);

/* duration_format() (declared in config.h, which proxy/ includes) is defined in value.c. */

#endif
