/* Loads the YAML configuration into nd_config from per-section schema tables, with FILE:LINE:COL errors. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "nadir/arena.h"
#include "nadir/config.h"

/*
 * The keys (docs/configuration.md is the user-facing version of this table):
 *
 *   server:
 *     key                 type         default                  limits / meaning
 *     bind                string       "0.0.0.0"                address to listen on
 *     port                int          8080                     1..65535
 *     base_url            string       http://localhost:<port>  http:// or https://, trailing '/' removed
 *     threads             int          online CPUs              1..256
 *     max_connections     int          1024                     1..1000000
 *     per_ip_connections  int          0                        0..1000000, 0 = unlimited
 *     timeout_s           int          30                       1..86400
 *     max_body            size         10MiB                    0..1TiB
 *     cors_origins        string list  ["*"]                    a list, or one string
 *     access_log          string       "-"                      "-" = stderr, "off", or a path
 *     data_dir            path         "var"                    relative to the config's directory
 *     debug_routes        bool         false
 *     max_coverage_bytes  size         2GiB                     WCS/subset output limit, checked before any work
 *     tile_cache_dir      path         <data_dir>/tiles         the WMTS/XYZ/OGC API tile cache
 *     tile_cache_max      size         512MiB                   least recently used tiles evicted past it; 0 = no cache
 *     viewer_dir          path         beside the binary        the built web viewer (share/viewer) served at /viewer/
 *
 *   datasets: (a list of)
 *     id                  string       required                 [A-Za-z0-9_.-]{1,64}, unique
 *     title               string       the id
 *     abstract            string       ""
 *     license             string       ""
 *     access              string       "public"
 *     keywords            string list  []
 *     source              path/glob    required                 relative to the config's directory
 *     variables           string list  [] (all)
 *
 *   jobs:
 *     executor            string       "local"                  local or slurm
 *     workers             int          2                        concurrent local jobs, 1..1024
 *     timeout_s           int          3600                     per job
 *     memory_limit        size         4GiB                     per job (RLIMIT_AS), 0 = none
 *     threads             int          1                        OpenMP/OpenBLAS threads per job
 *     directory           path         <server.data_dir>/jobs
 *     retention_s         int          604800                   finished jobs kept this long, 0 = forever
 *     sync_timeout_s      int          60                       a synchronous execution waits this long
 *     max_inline          size         1MiB                     inline input limit (413 above)
 *     slurm_partition, slurm_account  string  none
 *     allowed_hosts       string list  []                       hosts URL inputs and callbacks may name
 *
 *   catalog:
 *     database            path         <server.data_dir>/catalog.db
 *     transactions        bool         false                    STAC transactions (create/update/delete)
 *     api_key             string       none                     required when transactions are on
 *
 *   styles: (a list of; map styles for WMS/WMTS)
 *     name                string       required                 [A-Za-z0-9_.-]{1,64}
 *     title               string       the name
 *     layers              string list  required                 "dataset/variable" layers offering it
 *     default             bool         false                    the layers' default style
 *     palette             string       "viridis"                a colour map of renderers/colormap.c
 *     range               "min,max"    data statistics          min < max
 *     log                 bool         false                    logarithmic scale (range above 0)
 *     bands               int          250                      2..250 colour bands
 *     above, below        colour       "extend"                 "#RRGGBB", "transparent" or "extend"
 *     rgb                 string list  the layer's bands         RGB composites: red, green, blue variables
 *     stretch             string       "stddev"                 minmax, stddev (mean +- 2 sigma) or percentile
 *     percentiles         "low,high"   "2,98"                   for stretch: percentile
 *     ranges              string list  none                     per band "min,max": fixed stretches
 *     fill, stroke        colour       renderer's               vector layers: "#RRGGBB", "#AARRGGBB", transparent
 *     stroke_width        int          1                        vector layers: pixels
 *     point_size          int          6                        vector layers: point symbol diameter, pixels
 *     label               string       none                     vector layers: the attribute labelling features
 *
 *   auth: (absent: nothing is checked; docs/security.md)
 *     required            bool         false                    credentials needed everywhere but /health
 *     realm               string       "nadir"                  WWW-Authenticate realm
 *     admin_roles         string list  ["admin"]                roles that may do anything
 *     keys                list of      {id, sha256, user, roles} API keys, stored as hex SHA-256
 *     issuer, audience    string       none                     OpenID Connect; required with jwks
 *     jwks                path         none                     the provider's public keys (JWKS file)
 *     leeway_s            int          60                       clock skew allowed on exp/nbf
 *     rules               list of      {datasets, processes, read, execute, transactions}: id globs, roles
 *
 *   limits:
 *     requests_per_minute int          0                        per key/user or IP; 0 = none
 *     burst               int          requests_per_minute / 6  token bucket size
 *     services            list of      {service, concurrent}    concurrency cap per service
 *     jobs_per_user       int          0                        accepted + running jobs per owner
 *     stream_timeout_s    int          0                        a streamed response is cut after this; 0 = never
 *
 * ${VAR}, ${VAR:-default} and $$ are substituted in every scalar value.
 */

#define MAX_FILE_SIZE (16u << 20)
#define MAX_DEPTH 64          /* far deeper than any real config; bounds the recursion below */
#define MAX_NODES (1u << 20)  /* with aliases refused, this bounds memory at ~64 MiB */
#define MAX_ID_LEN 64

/* ---------------------------------------------------------------- the YAML tree */

/* Our own tree built from libyaml events, so aliases can be refused where they occur
 * (libyaml's document loader would silently share nodes) and every node keeps its mark. */
typedef enum { N_SCALAR, N_MAP, N_SEQ } node_kind;

typedef struct ynode {
    node_kind kind;
    int line, col;             /* 1-based */
    char *text;                /* scalars */
    bool plain;                /* unquoted scalar: only these can be null */
    struct ynode *child, *last; /* maps hold key, value, key, value, ... */
    struct ynode *next;
} ynode;

/* ---------------------------------------------------------------- the schema */

typedef enum { T_STRING, T_INT, T_BOOL, T_SIZE, T_STRLIST, T_SECTION, T_SECTION_LIST } field_type;

typedef struct loader loader;
typedef struct schema schema;

/* Checks or rewrites a string value once it is set (n is NULL for a default). */
typedef int (*fix_fn)(loader *L, const ynode *n, const char *key, char **val);

typedef struct field {
    const char *name;
    field_type type;
    size_t off;          /* where the value lives in the struct */
    size_t count_off;    /* lists: where the size_t count lives */
    const char *def;     /* default, written as in the file; NULL = none (or set by finish) */
    long long min, max;  /* ints and sizes: the range; strings: the length range (max 0 = any) */
    bool required;
    fix_fn fix;          /* strings: extra check or rewrite */
    const schema *sub;   /* sections */
} field;

struct schema {
    const char *label;   /* "server", "dataset": used in messages */
    const field *fields;
    size_t nfields;
    size_t size;         /* of one struct, for section lists */
    /* Defaults that depend on other keys, and cross-item checks; node may be NULL. */
    int (*finish)(loader *L, const ynode *n, void *obj);
    void (*free_extra)(void *obj);
};

struct loader {
    const char *name;    /* for messages */
    const char *dir;     /* absolute, no trailing '/' except for "/" itself */
    nd_config *cfg;
    char *err;
    size_t errlen;
    nd_arena *arena;
    size_t nnodes;
};

#define FIELD_PTR(obj, off, T) ((T *)((char *)(obj) + (off)))
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- errors */

__attribute__((format(printf, 4, 5)))
static int fail(loader *L, int line, int col, const char *fmt, ...) {
    if (!L->err || !L->errlen) return -1;
    int n = snprintf(L->err, L->errlen, "%s:%d:%d: ", L->name, line, col);
    if (n < 0 || (size_t)n >= L->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *kind_name(const ynode *n) {
    return n->kind == N_MAP ? "a mapping" : n->kind == N_SEQ ? "a list" : "a string";
}

/* The value as it appears in a message: quoted and cut short so one bad line stays one line. */
static const char *shown(const char *s, char *buf, size_t n) {
    size_t len = strlen(s);
    if (len + 3 <= n) {
        snprintf(buf, n, "'%s'", s);
    } else {
        snprintf(buf, n, "'%.*s...'", (int)(n > 8 ? n - 8 : 0), s);
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    return buf;
}

/* ---------------------------------------------------------------- building the tree */

static ynode *node_new(loader *L, node_kind kind, yaml_mark_t m) {
    ynode *n = nd_arena_alloc(L->arena, sizeof *n);
    n->kind = kind;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    return n;
}

static void node_add(ynode *parent, ynode *child) {
    if (parent->last) parent->last->next = child;
    else parent->child = child;
    parent->last = child;
}

/* Where a reader error (bad UTF-8, control characters) sits: libyaml gives only a byte offset. */
static void offset_to_mark(const char *text, size_t len, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static int syntax_error(loader *L, yaml_parser_t *p, const char *text, size_t len) {
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        offset_to_mark(text, len, p->problem_offset, &line, &col);
        return fail(L, line, col, "%s", problem);
    }
    if (p->context)
        return fail(L, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
                    "%s (%s at line %d, column %d)", problem, p->context,
                    (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return fail(L, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1, "%s", problem);
}

/* Adds one event to the tree under construction; *done is set at the end of the stream. */
static int take_event(loader *L, yaml_event_t *ev, ynode **stack, int *depth, ynode **root,
                      int *ndocs, bool *done) {
    yaml_mark_t m = ev->start_mark;
    ynode *n = NULL;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++*ndocs > 1)
            return fail(L, (int)m.line + 1, (int)m.column + 1,
                        "only one YAML document is allowed in the configuration");
        return 0;
    case YAML_ALIAS_EVENT:
        return fail(L, (int)m.line + 1, (int)m.column + 1,
                    "YAML aliases (*%s) are not supported in the configuration; repeat the value",
                    (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
            return fail(L, (int)m.line + 1, (int)m.column + 1, "NUL character in a value");
        n = node_new(L, N_SCALAR, m);
        n->text = nd_arena_strndup(L->arena, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (*depth >= MAX_DEPTH)
            return fail(L, (int)m.line + 1, (int)m.column + 1, "nested deeper than %d levels", MAX_DEPTH);
        n = node_new(L, ev->type == YAML_MAPPING_START_EVENT ? N_MAP : N_SEQ, m);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        (*depth)--;
        return 0;
    default:
        return 0;
    }
    if (++L->nnodes > MAX_NODES)
        return fail(L, n->line, n->col, "too many values (the limit is %u)", MAX_NODES);
    if (*depth > 0) node_add(stack[*depth - 1], n);
    else *root = n;
    if (n->kind != N_SCALAR) stack[(*depth)++] = n;
    return 0;
}

static int build_tree(loader *L, const char *text, size_t len, ynode **root) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fail(L, 1, 1, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    ynode *stack[MAX_DEPTH];
    int depth = 0, ndocs = 0, rc = 0;
    bool done = false;
    *root = NULL;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(L, &p, text, len);
            break;
        }
        rc = take_event(L, &ev, stack, &depth, root, &ndocs, &done);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---------------------------------------------------------------- scalars */

/* A plain empty, ~ or null scalar: YAML's null, which we read as "not set". */
static bool is_null(const ynode *n) {
    if (!n) return true;
    if (n->kind != N_SCALAR || !n->plain) return false;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static bool valid_var_name(const char *s, size_t n) {
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

/* Appends the value of one ${NAME} or ${NAME:-default}; ref points after "${", end at its '}'. */
static int expand_ref(loader *L, const ynode *n, const char *ref, const char *end, nd_buf *out) {
    const char *sep = strstr(ref, ":-");
    if (sep && sep > end) sep = NULL;
    size_t nlen = (size_t)((sep ? sep : end) - ref);
    if (!valid_var_name(ref, nlen))
        return fail(L, n->line, n->col, "bad variable reference '${%.*s}'", (int)(end - ref), ref);
    char name[256];
    if (nlen >= sizeof name) return fail(L, n->line, n->col, "variable name too long");
    memcpy(name, ref, nlen);
    name[nlen] = '\0';
    const char *v = getenv(name);
    if (sep && (!v || !*v)) {
        nd_buf_append(out, sep + 2, (size_t)(end - sep - 2));
        return 0;
    }
    if (!v) return fail(L, n->line, n->col, "environment variable '%s' is not set (write ${%s:-default} to give one)", name, name);
    nd_buf_puts(out, v);
    return 0;
}

/* ${VAR}, ${VAR:-default} and $$ -> $; any other '$' stays as it is. */
static int expand_env(loader *L, const ynode *n, char **out) {
    nd_buf b = {0};
    const char *s = n->text;
    while (*s) {
        const char *d = strchr(s, '$');
        if (!d) {
            nd_buf_puts(&b, s);
            break;
        }
        nd_buf_append(&b, s, (size_t)(d - s));
        if (d[1] == '$') {
            nd_buf_puts(&b, "$");
            s = d + 2;
        } else if (d[1] == '{') {
            const char *end = strchr(d + 2, '}');
            if (!end) {
                nd_buf_free(&b);
                return fail(L, n->line, n->col, "unterminated '${' in '%s'", n->text);
            }
            if (expand_ref(L, n, d + 2, end, &b) < 0) {
                nd_buf_free(&b);
                return -1;
            }
            s = end + 1;
        } else {
            nd_buf_puts(&b, "$");
            s = d + 1;
        }
    }
    if (!b.data) nd_buf_puts(&b, "");
    *out = nd_buf_steal(&b, NULL);
    return 0;
}

static int parse_int(const char *s, long long *v) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int parse_bool(const char *s, bool *v) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < LEN(yes); i++) {
        if (!strcasecmp(s, yes[i])) return *v = true, 0;
        if (!strcasecmp(s, no[i])) return *v = false, 0;
    }
    return -1;
}

/* "512", "64KiB", "10MB", "2G": KB/MB/GB are powers of 1000, KiB/MiB/GiB and bare k/M/G of 1024. */
static int parse_size(const char *s, long long *v) {
    static const struct { const char *suffix; long long mult; } units[] = {
        {"", 1}, {"B", 1},
        {"KB", 1000LL}, {"MB", 1000LL * 1000}, {"GB", 1000LL * 1000 * 1000},
        {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30},
        {"k", 1LL << 10}, {"M", 1LL << 20}, {"G", 1LL << 30},
    };
    if (!isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno) return -1;
    while (*end == ' ') end++;
    for (size_t i = 0; i < LEN(units); i++) {
        if (strcasecmp(end, units[i].suffix) != 0) continue;
        if (n > LLONG_MAX / units[i].mult) return -1;
        *v = n * units[i].mult;
        return 0;
    }
    return -1;
}

/* ---------------------------------------------------------------- paths */

static bool has_url_scheme(const char *s) {
    const char *p = s;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-') p++;
    return p > s && isalpha((unsigned char)*s) && !strncmp(p, "://", 3);
}

/* Relative to the config's directory, so a config works from whatever directory nadir starts in. */
static char *resolve_path(const loader *L, const char *p) {
    if (p[0] == '/' || has_url_scheme(p)) return nd_xstrdup(p);
    while (p[0] == '.' && p[1] == '/') {
        p += 2;
        while (*p == '/') p++;
    }
    nd_buf b = {0};
    nd_buf_puts(&b, L->dir);
    if (b.len == 0 || b.data[b.len - 1] != '/') nd_buf_puts(&b, "/");
    if (strcmp(p, ".") != 0) nd_buf_puts(&b, p);
    else if (b.len > 1) b.data[--b.len] = '\0';
    return nd_buf_steal(&b, NULL);
}

static int fix_path(loader *L, const ynode *n, const char *key, char **val) {
    char *abs = resolve_path(L, *val);
    free(*val);
    *val = abs;
    return 0;
}

static int fix_access_log(loader *L, const ynode *n, const char *key, char **val) {
    if (!strcmp(*val, "-") || !strcmp(*val, "off")) return 0;
    return fix_path(L, n, key, val);
}

static int fix_base_url(loader *L, const ynode *n, const char *key, char **val) {
    char *s = *val;
    size_t skip = !strncmp(s, "http://", 7) ? 7 : !strncmp(s, "https://", 8) ? 8 : 0;
    size_t len = strlen(s);
    while (len > skip && s[len - 1] == '/') s[--len] = '\0';
    if (skip && len > skip) return 0;
    char buf[80];
    return fail(L, n->line, n->col, "'%s' must be an http:// or https:// URL, got %s", key,
                shown(s, buf, sizeof buf));
}

static int fix_id(loader *L, const ynode *n, const char *key, char **val) {
    for (const char *p = *val; *p; p++) {
        if (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-') continue;
        char buf[80];
        return fail(L, n->line, n->col, "'%s' may contain only letters, digits, '_', '.' and '-', got %s",
                    key, shown(*val, buf, sizeof buf));
    }
    return 0;
}

/* ---------------------------------------------------------------- the tables */

static int server_finish(loader *L, const ynode *n, void *obj);
static int dataset_finish(loader *L, const ynode *n, void *obj);
static void dataset_free_extra(void *obj);

#define S(f) offsetof(nd_server_conf, f)
static const field server_fields[] = {
    {"bind", T_STRING, S(bind), 0, "0.0.0.0", 1, 0, false, NULL, NULL},
    {"port", T_INT, S(port), 0, "8080", 1, 65535, false, NULL, NULL},
    {"base_url", T_STRING, S(base_url), 0, NULL, 1, 0, false, fix_base_url, NULL},
    {"threads", T_INT, S(threads), 0, NULL, 1, 256, false, NULL, NULL},
    {"max_connections", T_INT, S(max_connections), 0, "1024", 1, 1000000, false, NULL, NULL},
    {"per_ip_connections", T_INT, S(per_ip_connections), 0, "0", 0, 1000000, false, NULL, NULL},
    {"timeout_s", T_INT, S(timeout_s), 0, "30", 1, 86400, false, NULL, NULL},
    {"max_body", T_SIZE, S(max_body), 0, "10MiB", 0, 1LL << 40, false, NULL, NULL},
    {"cors_origins", T_STRLIST, S(cors_origins), S(ncors_origins), "*", 0, 0, false, NULL, NULL},
    {"access_log", T_STRING, S(access_log), 0, "-", 1, 0, false, fix_access_log, NULL},
    {"data_dir", T_STRING, S(data_dir), 0, "var", 1, 0, false, fix_path, NULL},
    {"max_coverage_bytes", T_SIZE, S(max_coverage_bytes), 0, "2GiB", 1, 1LL << 40, false, NULL, NULL},
    {"tile_cache_dir", T_STRING, S(tile_cache_dir), 0, NULL, 1, 0, false, fix_path, NULL},
    {"tile_cache_max", T_SIZE, S(tile_cache_max), 0, "512MiB", 0, 1LL << 40, false, NULL, NULL},
    {"viewer_dir", T_STRING, S(viewer_dir), 0, NULL, 1, 0, false, fix_path, NULL},
    {"debug_routes", T_BOOL, S(debug_routes), 0, "false", 0, 0, false, NULL, NULL},
};
#undef S

#define D(f) offsetof(nd_dataset_conf, f)
static const field dataset_fields[] = {
    {"id", T_STRING, D(id), 0, NULL, 1, MAX_ID_LEN, true, fix_id, NULL},
    {"title", T_STRING, D(title), 0, NULL, 0, 0, false, NULL, NULL},
    {"abstract", T_STRING, D(abstract), 0, "", 0, 0, false, NULL, NULL},
    {"license", T_STRING, D(license), 0, "", 0, 0, false, NULL, NULL},
    {"access", T_STRING, D(access), 0, "public", 1, 0, false, NULL, NULL},
    {"keywords", T_STRLIST, D(keywords), D(nkeywords), NULL, 0, 0, false, NULL, NULL},
    {"source", T_STRING, D(source), 0, NULL, 1, 0, true, fix_path, NULL},
    {"variables", T_STRLIST, D(variables), D(nvariables), NULL, 0, 0, false, NULL, NULL},
};
#undef D

static const schema server_schema = {"server", server_fields, LEN(server_fields), sizeof(nd_server_conf),
                                     server_finish, NULL};
static const schema dataset_schema = {"dataset", dataset_fields, LEN(dataset_fields),
                                      sizeof(nd_dataset_conf), dataset_finish, dataset_free_extra};

#define C(f) offsetof(nd_catalog_conf, f)
static const field catalog_fields[] = {
    {"database", T_STRING, C(database), 0, NULL, 1, 0, false, fix_path, NULL},
    {"transactions", T_BOOL, C(transactions), 0, "false", 0, 0, false, NULL, NULL},
    {"api_key", T_STRING, C(api_key), 0, NULL, 8, 256, false, NULL, NULL},
};
#undef C
static const schema catalog_schema = {"catalog", catalog_fields, LEN(catalog_fields), sizeof(nd_catalog_conf),
                                      NULL, NULL};

static int fix_executor(loader *L, const ynode *n, const char *key, char **val) {
    if (!strcmp(*val, "local") || !strcmp(*val, "slurm")) return 0;
    return fail(L, n ? n->line : 1, n ? n->col : 1, "'%s' must be local or slurm", key);
}

#define J(f) offsetof(nd_processing_conf, f)
static const field jobs_fields[] = {
    {"executor", T_STRING, J(executor), 0, "local", 1, 0, false, fix_executor, NULL},
    {"workers", T_INT, J(workers), 0, "2", 1, 1024, false, NULL, NULL},
    {"timeout_s", T_INT, J(timeout_s), 0, "3600", 1, 30 * 86400, false, NULL, NULL},
    {"memory_limit", T_SIZE, J(memory_limit), 0, "4GiB", 0, 1LL << 50, false, NULL, NULL},
    {"threads", T_INT, J(threads), 0, "1", 1, 1024, false, NULL, NULL},
    {"directory", T_STRING, J(directory), 0, NULL, 1, 0, false, fix_path, NULL},
    {"retention_s", T_INT, J(retention_s), 0, "604800", 0, 0x7fffffff, false, NULL, NULL},
    {"sync_timeout_s", T_INT, J(sync_timeout_s), 0, "60", 1, 86400, false, NULL, NULL},
    {"max_inline", T_SIZE, J(max_inline), 0, "1MiB", 1, 1LL << 30, false, NULL, NULL},
    {"slurm_partition", T_STRING, J(slurm_partition), 0, NULL, 1, 128, false, NULL, NULL},
    {"slurm_account", T_STRING, J(slurm_account), 0, NULL, 1, 128, false, NULL, NULL},
    {"allowed_hosts", T_STRLIST, J(allowed_hosts), J(nallowed_hosts), NULL, 0, 0, false, NULL, NULL},
};
#undef J
static const schema jobs_schema = {"jobs", jobs_fields, LEN(jobs_fields), sizeof(nd_processing_conf), NULL, NULL};

static int fix_range(loader *L, const ynode *n, const char *key, char **val) {
    char *end;
    double a = strtod(*val, &end);
    if (*end == ',') {
        const char *q = end + 1;
        double b = strtod(q, &end);
        if (end != q && !*end && a < b) return 0;
    }
    return fail(L, n ? n->line : 1, n ? n->col : 1, "'%s' must be \"min,max\" with min < max", key);
}

static int fix_color(loader *L, const ynode *n, const char *key, char **val) {
    const char *v = *val;
    if (!strcmp(v, "extend") || !strcmp(v, "transparent")) return 0;
    size_t len = strlen(v);
    if (v[0] == '#' && (len == 7 || len == 9) && strspn(v + 1, "0123456789abcdefABCDEF") == len - 1) return 0;
    return fail(L, n ? n->line : 1, n ? n->col : 1, "'%s' must be #RRGGBB, transparent or extend", key);
}

static int fix_stretch(loader *L, const ynode *n, const char *key, char **val) {
    if (!strcmp(*val, "minmax") || !strcmp(*val, "stddev") || !strcmp(*val, "percentile")) return 0;
    return fail(L, n ? n->line : 1, n ? n->col : 1, "'%s' must be minmax, stddev or percentile", key);
}

#define Y(f) offsetof(nd_style_conf, f)
static const field style_fields[] = {
    {"name", T_STRING, Y(name), 0, NULL, 1, MAX_ID_LEN, true, fix_id, NULL},
    {"title", T_STRING, Y(title), 0, NULL, 0, 0, false, NULL, NULL},
    {"layers", T_STRLIST, Y(layers), Y(nlayers), NULL, 0, 0, true, NULL, NULL},
    {"default", T_BOOL, Y(is_default), 0, "false", 0, 0, false, NULL, NULL},
    {"palette", T_STRING, Y(palette), 0, "viridis", 1, 64, false, fix_id, NULL},
    {"range", T_STRING, Y(range), 0, NULL, 3, 128, false, fix_range, NULL},
    {"log", T_BOOL, Y(log), 0, "false", 0, 0, false, NULL, NULL},
    {"bands", T_INT, Y(bands), 0, "250", 2, 250, false, NULL, NULL},
    {"above", T_STRING, Y(above), 0, "extend", 1, 16, false, fix_color, NULL},
    {"below", T_STRING, Y(below), 0, "extend", 1, 16, false, fix_color, NULL},
    {"rgb", T_STRLIST, Y(rgb), Y(nrgb), NULL, 0, 0, false, NULL, NULL},
    {"stretch", T_STRING, Y(stretch), 0, "stddev", 1, 16, false, fix_stretch, NULL},
    {"percentiles", T_STRING, Y(percentiles), 0, "2,98", 3, 64, false, fix_range, NULL},
    {"ranges", T_STRLIST, Y(ranges), Y(nranges), NULL, 0, 0, false, NULL, NULL},
    {"fill", T_STRING, Y(fill), 0, NULL, 1, 16, false, fix_color, NULL},
    {"stroke", T_STRING, Y(stroke), 0, NULL, 1, 16, false, fix_color, NULL},
    {"stroke_width", T_INT, Y(stroke_width), 0, "1", 0, 50, false, NULL, NULL},
    {"point_size", T_INT, Y(point_size), 0, "6", 1, 100, false, NULL, NULL},
    {"label", T_STRING, Y(label), 0, NULL, 1, 128, false, NULL, NULL},
};
#undef Y
static const schema style_schema = {"style", style_fields, LEN(style_fields), sizeof(nd_style_conf), NULL, NULL};

static int fix_sha256(loader *L, const ynode *n, const char *key, char **val) {
    char *v = *val;
    for (char *p = v; *p; p++) *p = (char)tolower((unsigned char)*p);
    if (strlen(v) == 64 && strspn(v, "0123456789abcdef") == 64) return 0;
    return fail(L, n ? n->line : 1, n ? n->col : 1, "'%s' must be 64 hex digits (sha256sum of the key)", key);
}

static int auth_key_finish(loader *L, const ynode *n, void *obj) {
    nd_auth_key_conf *k = obj;
    if (!k->user) k->user = nd_xstrdup(k->id);
    return 0;
}

/* The section's presence switches checking on; OIDC needs its three keys together. */
static int auth_finish(loader *L, const ynode *n, void *obj) {
    nd_auth_conf *a = obj;
    a->enabled = n != NULL;
    if (a->jwks && (!a->issuer || !a->audience))
        return fail(L, n ? n->line : 1, n ? n->col : 1, "auth: 'jwks' needs 'issuer' and 'audience'");
    return 0;
}

static bool key_given(const ynode *map, const char *name);

static int limits_finish(loader *L, const ynode *n, void *obj) {
    nd_limits_conf *l = obj;
    if (!key_given(n, "burst")) l->burst = l->requests_per_minute / 6 > 1 ? l->requests_per_minute / 6 : 1;
    return 0;
}

#define K(f) offsetof(nd_auth_key_conf, f)
static const field auth_key_fields[] = {
    {"id", T_STRING, K(id), 0, NULL, 1, MAX_ID_LEN, true, fix_id, NULL},
    {"sha256", T_STRING, K(sha256), 0, NULL, 64, 64, true, fix_sha256, NULL},
    {"user", T_STRING, K(user), 0, NULL, 1, 256, false, NULL, NULL},
    {"roles", T_STRLIST, K(roles), K(nroles), NULL, 0, 0, false, NULL, NULL},
};
#undef K
static const schema auth_key_schema = {"auth key", auth_key_fields, LEN(auth_key_fields),
                                       sizeof(nd_auth_key_conf), auth_key_finish, NULL};

#define R(f) offsetof(nd_auth_rule_conf, f)
static const field auth_rule_fields[] = {
    {"datasets", T_STRLIST, R(datasets), R(ndatasets), NULL, 0, 0, false, NULL, NULL},
    {"processes", T_STRLIST, R(processes), R(nprocesses), NULL, 0, 0, false, NULL, NULL},
    {"read", T_STRLIST, R(read), R(nread), NULL, 0, 0, false, NULL, NULL},
    {"execute", T_STRLIST, R(execute), R(nexecute), NULL, 0, 0, false, NULL, NULL},
    {"transactions", T_STRLIST, R(transactions), R(ntransactions), NULL, 0, 0, false, NULL, NULL},
};
#undef R
static const schema auth_rule_schema = {"auth rule", auth_rule_fields, LEN(auth_rule_fields),
                                        sizeof(nd_auth_rule_conf), NULL, NULL};

#define A(f) offsetof(nd_auth_conf, f)
static const field auth_fields[] = {
    {"required", T_BOOL, A(required), 0, "false", 0, 0, false, NULL, NULL},
    {"realm", T_STRING, A(realm), 0, "nadir", 1, 128, false, fix_id, NULL},
    {"admin_roles", T_STRLIST, A(admin_roles), A(nadmin_roles), "admin", 0, 0, false, NULL, NULL},
    {"keys", T_SECTION_LIST, A(keys), A(nkeys), NULL, 0, 0, false, NULL, &auth_key_schema},
    {"issuer", T_STRING, A(issuer), 0, NULL, 1, 1024, false, NULL, NULL},
    {"audience", T_STRING, A(audience), 0, NULL, 1, 1024, false, NULL, NULL},
    {"jwks", T_STRING, A(jwks), 0, NULL, 1, 0, false, fix_path, NULL},
    {"leeway_s", T_INT, A(leeway_s), 0, "60", 0, 3600, false, NULL, NULL},
    {"rules", T_SECTION_LIST, A(rules), A(nrules), NULL, 0, 0, false, NULL, &auth_rule_schema},
};
#undef A
static const schema auth_schema = {"auth", auth_fields, LEN(auth_fields), sizeof(nd_auth_conf), auth_finish, NULL};

#define M(f) offsetof(nd_limit_service_conf, f)
static const field limit_service_fields[] = {
    {"service", T_STRING, M(service), 0, NULL, 1, 32, true, fix_id, NULL},
    {"concurrent", T_INT, M(concurrent), 0, NULL, 1, 100000, true, NULL, NULL},
};
#undef M
static const schema limit_service_schema = {"limits service", limit_service_fields, LEN(limit_service_fields),
                                            sizeof(nd_limit_service_conf), NULL, NULL};

#define M(f) offsetof(nd_limits_conf, f)
static const field limits_fields[] = {
    {"requests_per_minute", T_INT, M(requests_per_minute), 0, "0", 0, 6000000, false, NULL, NULL},
    {"burst", T_INT, M(burst), 0, NULL, 1, 1000000, false, NULL, NULL},
    {"services", T_SECTION_LIST, M(services), M(nservices), NULL, 0, 0, false, NULL, &limit_service_schema},
    {"jobs_per_user", T_INT, M(jobs_per_user), 0, "0", 0, 1000000, false, NULL, NULL},
    {"stream_timeout_s", T_INT, M(stream_timeout_s), 0, "0", 0, 604800, false, NULL, NULL},
};
#undef M
static const schema limits_schema = {"limits", limits_fields, LEN(limits_fields), sizeof(nd_limits_conf),
                                     limits_finish, NULL};

/* Later services add their section here: one line and a struct in config.h. */
static const field top_fields[] = {
    {"server", T_SECTION, offsetof(nd_config, server), 0, NULL, 0, 0, false, NULL, &server_schema},
    {"datasets", T_SECTION_LIST, offsetof(nd_config, datasets), offsetof(nd_config, ndatasets), NULL, 0, 0,
     false, NULL, &dataset_schema},
    {"catalog", T_SECTION, offsetof(nd_config, catalog), 0, NULL, 0, 0, false, NULL, &catalog_schema},
    {"jobs", T_SECTION, offsetof(nd_config, jobs), 0, NULL, 0, 0, false, NULL, &jobs_schema},
    {"styles", T_SECTION_LIST, offsetof(nd_config, styles), offsetof(nd_config, nstyles), NULL, 0, 0, false, NULL,
     &style_schema},
    {"auth", T_SECTION, offsetof(nd_config, auth), 0, NULL, 0, 0, false, NULL, &auth_schema},
    {"limits", T_SECTION, offsetof(nd_config, limits), 0, NULL, 0, 0, false, NULL, &limits_schema},
};
static const schema top_schema = {"the configuration", top_fields, LEN(top_fields), sizeof(nd_config), NULL,
                                  NULL};

/* The seen-key bitmask in load_map has 64 bits. */
_Static_assert(LEN(server_fields) <= 64 && LEN(dataset_fields) <= 64 && LEN(top_fields) <= 64,
               "a section has more than 64 keys");

/* ---------------------------------------------------------------- setting values */

static int load_map(loader *L, const schema *sc, const ynode *map, void *obj);

/* One scalar after ${VAR} substitution; n NULL means the field's default text. */
static int scalar_text(loader *L, const field *f, const ynode *n, char **out) {
    if (!n) {
        *out = nd_xstrdup(f->def);
        return 0;
    }
    if (n->kind != N_SCALAR)
        return fail(L, n->line, n->col, "'%s' must be %s, got %s", f->name,
                    f->type == T_STRLIST ? "a string or a list of strings" : "a single value", kind_name(n));
    return expand_env(L, n, out);
}

static int set_string(loader *L, const field *f, const ynode *n, const char *text, void *obj) {
    char *v = nd_xstrdup(text);
    size_t len = strlen(v);
    char buf[80];
    if (n && (len < (size_t)f->min || (f->max && len > (size_t)f->max))) {
        int rc = len < (size_t)f->min
                     ? fail(L, n->line, n->col, "'%s' must not be empty", f->name)
                     : fail(L, n->line, n->col, "'%s' must be at most %lld characters, got %s", f->name, f->max,
                            shown(v, buf, sizeof buf));
        free(v);
        return rc;
    }
    char **slot = FIELD_PTR(obj, f->off, char *);
    free(*slot);
    *slot = v;
    return f->fix ? f->fix(L, n, f->name, slot) : 0;
}

static int set_number(loader *L, const field *f, const ynode *n, const char *text, void *obj) {
    long long v = 0;
    int bad = f->type == T_SIZE ? parse_size(text, &v) : parse_int(text, &v);
    if (bad || v < f->min || v > f->max) {
        char buf[80];
        int line = n ? n->line : 1, col = n ? n->col : 1;
        if (f->type == T_SIZE)
            return fail(L, line, col, "'%s' must be a size between %lld and %lld bytes (like 512, 64KiB, 10MB, 2G), got %s",
                        f->name, f->min, f->max, shown(text, buf, sizeof buf));
        return fail(L, line, col, "'%s' must be an integer between %lld and %lld, got %s", f->name, f->min, f->max,
                    shown(text, buf, sizeof buf));
    }
    if (f->type == T_SIZE) *FIELD_PTR(obj, f->off, long long) = v;
    else *FIELD_PTR(obj, f->off, int) = (int)v;
    return 0;
}

static int set_bool(loader *L, const field *f, const ynode *n, const char *text, void *obj) {
    bool v;
    if (parse_bool(text, &v) < 0) {
        char buf[80];
        return fail(L, n ? n->line : 1, n ? n->col : 1, "'%s' must be true or false, got %s", f->name,
                    shown(text, buf, sizeof buf));
    }
    *FIELD_PTR(obj, f->off, bool) = v;
    return 0;
}

static void list_push(char ***items, size_t *count, char *s) {
    *items = nd_xrealloc(*items, (*count + 1) * sizeof **items);
    (*items)[(*count)++] = s;
}

/* A list of strings, or one string standing for a list of one. */
static int set_strlist(loader *L, const field *f, const ynode *n, void *obj) {
    char ***items = FIELD_PTR(obj, f->off, char **);
    size_t *count = FIELD_PTR(obj, f->count_off, size_t);
    if (!n) {
        if (f->def) list_push(items, count, nd_xstrdup(f->def));
        return 0;
    }
    if (n->kind != N_SEQ) {
        char *s;
        if (scalar_text(L, f, n, &s) < 0) return -1;
        list_push(items, count, s);
        return 0;
    }
    for (const ynode *it = n->child; it; it = it->next) {
        if (it->kind != N_SCALAR)
            return fail(L, it->line, it->col, "'%s' must be a list of strings, got %s in it", f->name, kind_name(it));
        char *s;
        if (expand_env(L, it, &s) < 0) return -1;
        list_push(items, count, s);
    }
    return 0;
}

static int set_section_list(loader *L, const field *f, const ynode *n, void *obj) {
    if (!n) return 0;
    if (n->kind != N_SEQ)
        return fail(L, n->line, n->col, "'%s' must be a list of mappings, got %s", f->name, kind_name(n));
    void **items = FIELD_PTR(obj, f->off, void *);
    size_t *count = FIELD_PTR(obj, f->count_off, size_t);
    for (const ynode *it = n->child; it; it = it->next) {
        if (it->kind != N_MAP)
            return fail(L, it->line, it->col, "each item of '%s' must be a mapping, got %s", f->name, kind_name(it));
        /* Counted before it is filled so a failure half-way is still freed by nd_config_free. */
        *items = nd_xrealloc(*items, (*count + 1) * f->sub->size);
        void *item = (char *)*items + *count * f->sub->size;
        memset(item, 0, f->sub->size);
        (*count)++;
        if (load_map(L, f->sub, it, item) < 0) return -1;
    }
    return 0;
}

/* Sets one field from its node, or from its default when n is NULL. */
static int set_field(loader *L, const field *f, const ynode *n, void *obj) {
    if (is_null(n)) n = NULL;
    switch (f->type) {
    case T_SECTION:
        if (n && n->kind != N_MAP)
            return fail(L, n->line, n->col, "'%s' must be a mapping, got %s", f->name, kind_name(n));
        return load_map(L, f->sub, n, FIELD_PTR(obj, f->off, char));
    case T_SECTION_LIST:
        return set_section_list(L, f, n, obj);
    case T_STRLIST:
        return set_strlist(L, f, n, obj);
    default:
        break;
    }
    if (!n && !f->def) return 0; /* left for the section's finish */
    char *text;
    if (scalar_text(L, f, n, &text) < 0) return -1;
    int rc = f->type == T_STRING ? set_string(L, f, n, text, obj)
             : f->type == T_BOOL ? set_bool(L, f, n, text, obj)
                                 : set_number(L, f, n, text, obj);
    free(text);
    return rc;
}

static const field *find_field(const schema *sc, const char *name) {
    for (size_t i = 0; i < sc->nfields; i++)
        if (!strcmp(sc->fields[i].name, name)) return &sc->fields[i];
    return NULL;
}

static int unknown_key(loader *L, const schema *sc, const ynode *key) {
    nd_buf b = {0};
    for (size_t i = 0; i < sc->nfields; i++) nd_buf_printf(&b, "%s%s", i ? ", " : "", sc->fields[i].name);
    char buf[80];
    fail(L, key->line, key->col, "unknown key %s in %s (expected one of: %s)", shown(key->text, buf, sizeof buf),
         sc->label, b.data);
    nd_buf_free(&b);
    return -1;
}

/* Fills obj from a mapping (NULL: all defaults): unknown and repeated keys are errors. */
static int load_map(loader *L, const schema *sc, const ynode *map, void *obj) {
    uint64_t seen = 0;
    for (const ynode *k = map ? map->child : NULL; k; k = k->next ? k->next->next : NULL) {
        const ynode *v = k->next;
        if (k->kind != N_SCALAR)
            return fail(L, k->line, k->col, "keys in %s must be plain names, got %s", sc->label, kind_name(k));
        const field *f = find_field(sc, k->text);
        if (!f) return unknown_key(L, sc, k);
        uint64_t bit = 1ULL << (f - sc->fields);
        if (seen & bit) return fail(L, k->line, k->col, "key '%s' appears twice in %s", f->name, sc->label);
        seen |= bit;
        if (f->required && is_null(v))
            return fail(L, v->line, v->col, "'%s' must not be empty", f->name);
        if (set_field(L, f, v, obj) < 0) return -1;
    }
    for (size_t i = 0; i < sc->nfields; i++) {
        const field *f = &sc->fields[i];
        if (seen & (1ULL << i)) continue;
        if (f->required)
            return fail(L, map ? map->line : 1, map ? map->col : 1, "missing key '%s' in %s", f->name, sc->label);
        if (set_field(L, f, NULL, obj) < 0) return -1;
    }
    return sc->finish ? sc->finish(L, map, obj) : 0;
}

/* ---------------------------------------------------------------- section hooks */

static int online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static bool key_given(const ynode *map, const char *name) {
    for (const ynode *k = map ? map->child : NULL; k; k = k->next ? k->next->next : NULL)
        if (k->kind == N_SCALAR && !strcmp(k->text, name)) return !is_null(k->next);
    return false;
}

static const ynode *value_of(const ynode *map, const char *name) {
    for (const ynode *k = map ? map->child : NULL; k; k = k->next ? k->next->next : NULL)
        if (k->kind == N_SCALAR && !strcmp(k->text, name)) return k->next;
    return map;
}

/* Defaults that depend on the machine or on the port. */
static int server_finish(loader *L, const ynode *n, void *obj) {
    nd_server_conf *s = obj;
    if (!key_given(n, "threads")) s->threads = online_cpus();
    if (!key_given(n, "base_url")) {
        char url[64];
        snprintf(url, sizeof url, "http://localhost:%d", s->port);
        s->base_url = nd_xstrdup(url);
    }
    return 0;
}

/* Title defaults to the id; the id must be unique among the datasets before this one. */
static int dataset_finish(loader *L, const ynode *n, void *obj) {
    nd_dataset_conf *d = obj;
    if (!d->title) d->title = nd_xstrdup(d->id);
    d->file = nd_xstrdup(L->name);
    d->line = n ? n->line : 1;
    size_t self = (size_t)(d - L->cfg->datasets);
    for (size_t i = 0; i < self; i++) {
        if (strcmp(L->cfg->datasets[i].id, d->id) != 0) continue;
        const ynode *at = value_of(n, "id");
        return fail(L, at ? at->line : 1, at ? at->col : 1,
                    "duplicate dataset id '%s' (the dataset at line %d already uses it)", d->id,
                    L->cfg->datasets[i].line);
    }
    return 0;
}

static void dataset_free_extra(void *obj) { free(((nd_dataset_conf *)obj)->file); }

/* ---------------------------------------------------------------- freeing */

/* Walks the same tables that filled obj, so a new key is freed without touching this. */
static void free_fields(const schema *sc, void *obj) {
    for (size_t i = 0; i < sc->nfields; i++) {
        const field *f = &sc->fields[i];
        switch (f->type) {
        case T_STRING:
            free(*FIELD_PTR(obj, f->off, char *));
            break;
        case T_STRLIST: {
            char **items = *FIELD_PTR(obj, f->off, char **);
            size_t n = *FIELD_PTR(obj, f->count_off, size_t);
            for (size_t j = 0; j < n; j++) free(items[j]);
            free(items);
            break;
        }
        case T_SECTION:
            free_fields(f->sub, FIELD_PTR(obj, f->off, char));
            break;
        case T_SECTION_LIST: {
            char *items = *FIELD_PTR(obj, f->off, char *);
            size_t n = *FIELD_PTR(obj, f->count_off, size_t);
            for (size_t j = 0; j < n; j++) free_fields(f->sub, items + j * f->sub->size);
            free(items);
            break;
        }
        default:
            break;
        }
    }
    if (sc->free_extra) sc->free_extra(obj);
}

void nd_config_free(nd_config *c) {
    if (!c) return;
    free_fields(&top_schema, c);
    free(c->path);
    free(c->dir);
    free(c);
}

/* ---------------------------------------------------------------- entry points */

/* An absolute directory for resolving relative paths: realpath when it exists, else joined to cwd. */
static char *absolute_dir(const char *dir) {
    char *r = realpath(dir && *dir ? dir : ".", NULL);
    if (r) return r;
    if (dir[0] == '/') return nd_xstrdup(dir);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return nd_xstrdup(dir);
    nd_buf b = {0};
    nd_buf_printf(&b, "%s/%s", cwd, dir);
    return nd_buf_steal(&b, NULL);
}

static int load_root(loader *L, const ynode *root) {
    if (!root || is_null(root))
        return fail(L, root ? root->line : 1, root ? root->col : 1,
                    "no configuration (expected a mapping with server/datasets)");
    if (root->kind != N_MAP)
        return fail(L, root->line, root->col, "the configuration must be a mapping with server/datasets, got %s",
                    kind_name(root));
    return load_map(L, &top_schema, root, L->cfg);
}

int nd_config_parse(const char *text, size_t len, const char *name, const char *dir, nd_config **out, char *err,
                    size_t errlen) {
    loader L = {.name = name ? name : "<config>", .err = err, .errlen = errlen};
    *out = NULL;
    if (err && errlen) err[0] = '\0';
    if (len > MAX_FILE_SIZE) return fail(&L, 1, 1, "too large (%zu bytes, the limit is 16 MiB)", len);
    nd_config *c = nd_xcalloc(1, sizeof *c);
    c->path = nd_xstrdup(L.name);
    c->dir = absolute_dir(dir);
    L.dir = c->dir;
    L.cfg = c;
    L.arena = nd_arena_new(64 * 1024);
    ynode *root = NULL;
    int rc = build_tree(&L, text, len, &root);
    if (rc == 0) rc = load_root(&L, root);
    nd_arena_free(L.arena);
    if (rc < 0) {
        nd_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* Reads a whole regular file of at most MAX_FILE_SIZE bytes; errno is set on failure. */
static char *read_file(const char *path, size_t *len, bool *too_big) {
    *too_big = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    int bad = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (bad) {
        int e = bad;
        close(fd);
        errno = e;
        return NULL;
    }
    nd_buf b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            if (n < 0) {
                nd_buf_free(&b);
                errno = e;
                return NULL;
            }
            break;
        }
        if (b.len + (size_t)n > MAX_FILE_SIZE) {
            *too_big = true;
            close(fd);
            nd_buf_free(&b);
            return NULL;
        }
        nd_buf_append(&b, chunk, (size_t)n);
    }
    if (!b.data) nd_buf_puts(&b, "");
    return nd_buf_steal(&b, len);
}

int nd_config_load(const char *path, nd_config **out, char *err, size_t errlen) {
    *out = NULL;
    size_t len = 0;
    bool too_big;
    char *text = read_file(path, &len, &too_big);
    if (!text) {
        if (err && errlen) {
            if (too_big) snprintf(err, errlen, "%s: too large (the limit is 16 MiB)", path);
            else snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        }
        return -1;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : nd_xstrdup(".");
    if (!dir) abort();
    int rc = nd_config_parse(text, len, path, dir, out, err, errlen);
    free(dir);
    free(text);
    return rc;
}
