/*
 * finwait configuration model: YAML in, a validated and immutable model out.
 *
 * Pure C (no libuv). The proxy only reads a struct config after config_load*()
 * returned it; nothing in it changes while connections use it.
 */
#ifndef FINWAIT_RULES_CONFIG_H
#define FINWAIT_RULES_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* A duration that means "never": delay_fin's `delay: forever`. */
#define DURATION_FOREVER UINT64_MAX

/* `count: all` of the packet faults. */
#define COUNT_ALL UINT32_MAX

enum log_format {
    LOG_FORMAT_TEXT, /* human-readable lines */
    LOG_FORMAT_JSON, /* one JSON object per line, stable keys */
};

enum log_level {
    LOG_LEVEL_ERROR, /* only failures */
    LOG_LEVEL_WARN,  /* plus things that are probably mistakes */
    LOG_LEVEL_INFO,  /* plus every connection event (default) */
    LOG_LEVEL_DEBUG, /* plus internals: backpressure, timers */
};

/* Which bytes a fault touches, as seen from finwait. */
enum fault_dir {
    FAULT_DIR_UPSTREAM = 1,   /* client -> server */
    FAULT_DIR_DOWNSTREAM = 2, /* server -> client */
    FAULT_DIR_BOTH = 3,       /* both of the above */
};

/* Who receives the abortive (reset) or graceful (close) end of `reset` / `close`. */
enum fault_to {
    FAULT_TO_CLIENT = 1, /* the client leg only; the server leg gets a FIN */
    FAULT_TO_SERVER = 2, /* the server leg only; the client leg gets a FIN */
    FAULT_TO_BOTH = 3,   /* both legs */
};

/* A leg of a proxied connection: the TCP connection between finwait and one peer. */
enum fault_leg {
    FAULT_LEG_CLIENT, /* client <-> finwait */
    FAULT_LEG_SERVER, /* finwait <-> server */
};

/* Whose FIN drop_fin drops on its leg. */
enum fault_from {
    FAULT_FROM_FINWAIT, /* the FIN finwait sends to the peer */
    FAULT_FROM_PEER,    /* the FIN the peer sends to finwait */
};

enum refuse_mode {
    REFUSE_RESET, /* RST at once */
    REFUSE_CLOSE, /* FIN before any data */
};

enum fault_type {
    /* finwait's teardown faults (stream level) */
    FAULT_DELAY_FIN,
    FAULT_RST_INSTEAD_OF_FIN,
    FAULT_BREAK_HALF_CLOSE,
    FAULT_RESET,
    FAULT_CLOSE,
    FAULT_BLACKHOLE,
    FAULT_REFUSE,
    /* Toxiproxy's toxics */
    FAULT_LATENCY,
    FAULT_BANDWIDTH,
    FAULT_SLOW_CLOSE,
    FAULT_TIMEOUT,
    FAULT_RESET_PEER,
    FAULT_SLICER,
    FAULT_LIMIT_DATA,
    /* packet level (Linux, CAP_NET_ADMIN) */
    FAULT_DROP_FINAL_ACK,
    FAULT_DROP_FIN,
    FAULT_TYPE_COUNT
};

/* An IPv4 or IPv6 network for `match: {client: CIDR}`. */
struct cidr {
    int family;         /* AF_INET or AF_INET6 */
    uint8_t addr[16];   /* network address, network byte order (first 4 bytes for IPv4) */
    unsigned prefixlen; /* 0..32 or 0..128 */
};

/* Where in the config file something was written (1-based), for messages at run time. */
struct src_pos {
    unsigned line;
    unsigned col;
};

/*
 * One configured fault. Only the members its type uses are meaningful; the loader
 * rejects parameters that do not belong to the type. Durations are milliseconds
 * unless the name says otherwise.
 */
struct fault {
    enum fault_type type;
    char *name;         /* `name:`, or the type name when not given; never NULL */
    double probability; /* 0..1, share of connections it applies to (default 1) */
    bool has_match;     /* `match: {client: CIDR}` given */
    struct cidr match_client;
    struct src_pos pos; /* where the fault's mapping starts */
    bool new_only;      /* `connections: new`: a reload that adds or changes it leaves the
                           open connections alone (default `all`: they take it too) */
    uint64_t for_ms;    /* `for:`: the fault detaches itself this long after it was attached
                           (proxy/faults/expiry.c); 0 = it stays until removed */

    enum fault_dir direction; /* delay_fin, rst_instead_of_fin, reset, close, blackhole, toxics */
    uint64_t delay_ms;        /* delay_fin (may be DURATION_FOREVER), break_half_close,
                                 slow_close */
    uint64_t after_ms;        /* reset, close, blackhole: time from accept */
    uint64_t after_bytes;     /* reset, close: bytes passed in `direction` */
    bool has_after_bytes;     /* reset, close: after_bytes was given (else after_ms is used) */
    enum fault_to to;         /* reset, close (default both) */
    enum refuse_mode mode;    /* refuse (default reset) */

    uint64_t latency_ms;     /* latency */
    uint64_t jitter_ms;      /* latency */
    uint64_t rate_kbps;      /* bandwidth: KB/s as Toxiproxy (1 KB = 1000 bytes) */
    uint64_t timeout_ms;     /* timeout, reset_peer (0 = timeout never closes) */
    uint64_t average_size;   /* slicer: bytes */
    uint64_t size_variation; /* slicer: bytes */
    uint64_t delay_us;       /* slicer: microseconds between slices, as Toxiproxy */
    uint64_t bytes;          /* limit_data */

    enum fault_leg leg;   /* drop_final_ack, drop_fin */
    enum fault_from from; /* drop_fin */
    uint32_t count;       /* drop_final_ack, drop_fin: drops before one passes, or COUNT_ALL */
};

struct proxy_cfg {
    char *name;
    char *listen_host;    /* "" means all interfaces (`:port`) */
    uint16_t listen_port; /* 0 = ephemeral (the log says which port was bound) */
    char *upstream_host;  /* a literal address or a name resolved per connection */
    uint16_t upstream_port;
    bool enabled;                 /* default true; false: no listener (connection refused) */
    uint64_t connect_timeout_ms;  /* default 5000 */
    uint64_t idle_timeout_ms;     /* default 0 = none */
    uint64_t half_close_probe_ms; /* default 60000 (Linux's tcp_fin_timeout); 0 = off: after a
                                     peer's FIN, probe it once its leg is that long quiet */
    struct fault *faults;
    size_t nfaults;
    struct src_pos pos;
};

struct config {
    char *path;        /* the file it was loaded from (or the name given to config_load_string) */
    char *source;      /* the text it was loaded from, NUL-terminated (the admin API edits it) */
    size_t source_len; /* without the NUL */
    enum log_format log_format;   /* default text */
    enum log_level log_level;     /* default info */
    bool log_timeline;            /* default false */
    uint64_t shutdown_timeout_ms; /* default 5000 */
    bool has_seed;
    uint64_t seed;
    char *admin_host;    /* `admin: {listen: ...}`: the HTTP API's address, or NULL for none */
    uint16_t admin_port; /* 0 = ephemeral */
    char **admin_hosts;  /* `admin.hosts`: names accepted in a request's Host header, besides
                            IP literals and localhost (a browser page cannot rebind them) */
    size_t admin_nhosts;
    char *admin_token;   /* `admin.token`: the bearer token every request must carry, or NULL */
    bool admin_insecure; /* `admin.insecure`: a non-loopback listen without a token, on purpose */
    unsigned admin_max_connections;    /* `admin.max_connections`, default 16 */
    uint64_t admin_request_timeout_ms; /* `admin.request_timeout`: a request's time from its
                                          connection (or the previous answer), default 10 s */
    struct proxy_cfg *proxies;         /* may be empty when the admin API is on */
    size_t nproxies;
};

/*
 * What the command line says over the file (Toxiproxy's -host/-port/-seed, finwait's --admin,
 * the LOG_LEVEL environment variable), applied to every configuration loaded while finwait
 * runs, so a reload keeps them.
 */
struct config_overrides {
    const char *admin_host; /* the admin API's address, or NULL for the file's `admin` */
    uint16_t admin_port;
    bool admin_insecure;
    bool has_seed;
    uint64_t seed;
    bool has_log_level;
    enum log_level log_level;
};

/*
 * Load and validate. On success returns 0 and sets *out (free with config_free).
 * On failure returns -1, *out is NULL and every problem found is in `d`
 * (FILE:LINE:COL messages with the source line). `d` may already hold messages.
 */
int config_load_file(const char *path, struct config **out, struct diag *d);
int config_load_string(const char *name, const char *text, size_t len, struct config **out,
                       struct diag *d);
/* The same with the command line's overrides (`ov` may be NULL): with an admin address in
 * `ov`, a file without proxies is valid, as with `admin` in it. */
int config_load_file_with(const char *path, const struct config_overrides *ov, struct config **out,
                          struct diag *d);
int config_load_string_with(const char *name, const char *text, size_t len,
                            const struct config_overrides *ov, struct config **out, struct diag *d);
/* The whole file at `path` (NUL-terminated; the caller frees it). Returns 0, or -1 with why in
 * `d` (which may be NULL). */
int config_read_file(const char *path, char **text, size_t *len, struct diag *d);
/* Toxiproxy's values where their meaning is clear (for its HTTP API; finwait's YAML stays
 * strict): bandwidth `rate: 0` stalls the data, a slicer's size_variation may reach
 * average_size. */
#define CONFIG_TOXIPROXY_VALUES 1u
/* config_load_string_with and `flags` (CONFIG_*). */
int config_load_string_ex(const char *name, const char *text, size_t len,
                          const struct config_overrides *ov, unsigned flags, struct config **out,
                          struct diag *d);
void config_free(struct config *cfg);
/* A deep copy of cfg (to change before it runs). Returns NULL when out of memory. */
struct config *config_copy(const struct config *cfg);
/* Remove fault `fault` of proxy `proxy` from cfg, which must not be running yet. */
void config_drop_fault(struct config *cfg, size_t proxy, size_t fault);
/* Apply `ov` (may be NULL) to cfg. Returns 0, or -1 when out of memory (cfg unchanged). */
int config_apply_overrides(struct config *cfg, const struct config_overrides *ov);

/* "delay_fin", "latency", ... */
const char *fault_type_name(enum fault_type t);
/* The type called `name`; false if there is none. */
bool fault_type_lookup(const char *name, enum fault_type *out);
/* True if faults of type t take the parameter `name` ("direction", "delay", ...). */
bool fault_type_has_param(enum fault_type t, const char *name);
/* True for Toxiproxy's toxics: they take `toxicity` and `stream`. */
bool fault_type_is_toxic(enum fault_type t);
/* True for drop_final_ack and drop_fin: needs the packet engine (Linux, CAP_NET_ADMIN). */
bool fault_type_is_packet(enum fault_type t);
const char *fault_dir_name(enum fault_dir d);
/* True if faults a and b are the same: name, type and every parameter (where they were
 * written aside). */
bool fault_same(const struct fault *a, const struct fault *b);
/* True if a and b would run the same: the same upstream, timeouts and faults (names and
 * positions in the file aside). */
bool proxy_cfg_same(const struct proxy_cfg *a, const struct proxy_cfg *b);
/* True if any proxy of cfg has a packet-level fault. */
bool config_has_packet_faults(const struct config *cfg);

/*
 * Format a duration for people: "250ms", "2s", "forever". Returns buf.
 */
const char *duration_format(uint64_t ms, char *buf, size_t len);

#endif
