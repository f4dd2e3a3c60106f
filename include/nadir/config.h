/* The configuration file (YAML): schema, loading with precise errors, ${VAR} substitution. */
#ifndef NADIR_CONFIG_H
#define NADIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nd_server_conf {
    char *bind;               /* default "0.0.0.0" */
    int port;                 /* default 8080 */
    char *base_url;           /* public URL for links; default http://localhost:PORT */
    int threads;              /* default: number of CPUs */
    int max_connections;      /* default 1024 */
    int per_ip_connections;   /* default 0 = unlimited */
    int timeout_s;            /* idle connection timeout, default 30 */
    long long max_body;       /* request body limit in bytes, default 10 MiB */
    char **cors_origins;      /* default ["*"] */
    size_t ncors_origins;
    char *access_log;         /* "-" = stderr (default), "off", or a file path */
    char *data_dir;           /* working files (caches, jobs); default "var" next to the config */
    bool debug_routes;        /* /debug/sleep for tests; default false */
    long long max_coverage_bytes; /* largest coverage (WCS, subset) written, default 2 GiB */
    char *tile_cache_dir;     /* tile cache directory; NULL = <data_dir>/tiles */
    long long tile_cache_max; /* tile cache size cap, default 512 MiB; 0 = no tile cache */
    char *viewer_dir;         /* the built viewer served at /viewer/; NULL = found beside the binary */
} nd_server_conf;

typedef struct nd_dataset_conf {
    char *id;                 /* [A-Za-z0-9_.-]+, unique */
    char *title, *abstract, *license, *access;
    char **keywords;
    size_t nkeywords;
    char *source;             /* a file GDAL or netCDF reads, or a glob joined along time */
    char **variables;         /* optional subset of variables to publish */
    size_t nvariables;
    char *file;               /* config file it came from and line, for messages */
    int line;
} nd_dataset_conf;

/* The STAC catalogue (server/catalog). */
typedef struct nd_catalog_conf {
    char *database;           /* SQLite file; NULL = <server.data_dir>/catalog.db */
    bool transactions;        /* STAC transactions extension; default false */
    char *api_key;            /* required by transactions (Authorization: Bearer KEY or X-API-Key) */
} nd_catalog_conf;

/* Processing jobs (server/jobs): the executor and its limits. */
typedef struct nd_processing_conf {
    char *executor;           /* "local" (default) or "slurm" */
    int workers;              /* concurrent jobs of the local executor, default 2 */
    int timeout_s;            /* per job, default 3600 */
    long long memory_limit;   /* per job (RLIMIT_AS), default 4GiB; 0 = none */
    int threads;              /* OpenMP/OpenBLAS threads per job, default 1 */
    char *directory;          /* job directories and index; NULL = <server.data_dir>/jobs */
    int retention_s;          /* finished jobs and their files are kept this long, default 7 days */
    int sync_timeout_s;       /* a synchronous execution waits this long, default 60 */
    long long max_inline;     /* inline (complex or string) input limit, default 1MiB */
    char *slurm_partition, *slurm_account; /* NULL: Slurm's defaults */
    char **allowed_hosts;     /* hosts that URL inputs and subscriber callbacks may name; default none */
    size_t nallowed_hosts;
} nd_processing_conf;

/* A named map style (renderers/): the layers ("dataset/variable") offering it and how values become colours. */
typedef struct nd_style_conf {
    char *name;               /* [A-Za-z0-9_.-]+ */
    char *title;
    char **layers;            /* layers offering the style; required */
    size_t nlayers;
    bool is_default;          /* `default: true`: the style the layers get when none is asked for */
    char *palette;            /* a colour map name (renderers/colormap.c), default viridis */
    char *range;              /* "min,max"; NULL: from the data's statistics */
    bool log;                 /* logarithmic scale */
    int bands;                /* number of colour bands, 2..250, default 250 */
    char *above, *below;      /* "#RRGGBB", "transparent" or "extend" (default) */
    /* RGB composites ("dataset/rgb" layers) */
    char **rgb;               /* the red, green and blue variables (3); NULL: the layer's own choice */
    size_t nrgb;
    char *stretch;            /* "minmax", "stddev" (mean +- 2 sigma, default) or "percentile" */
    char *percentiles;        /* "low,high" for stretch: percentile, default "2,98" */
    char **ranges;            /* per band "min,max" (3): fixed stretches, over stretch */
    size_t nranges;
    /* vector layers */
    char *fill, *stroke;      /* "#RRGGBB", "#AARRGGBB" or "transparent"; NULL: the renderer's defaults */
    int stroke_width;         /* pixels, default 1 */
    int point_size;           /* pixels, default 6 */
    char *label;              /* attribute whose text labels each feature; NULL: none */
} nd_style_conf;

/* Who may do what (server/http/auth.c); docs/security.md explains each key. */
typedef struct nd_auth_key_conf {
    char *id;                 /* names the key in logs and rate limits; never the secret */
    char *sha256;             /* hex SHA-256 of the key as clients send it */
    char *user;               /* default: the id */
    char **roles;
    size_t nroles;
} nd_auth_key_conf;

/* A rule: the ids it covers (globs) and, per operation, the roles allowed; an empty list leaves the
 * operation to a later rule or to the default (read and execute open, transactions admins only). */
typedef struct nd_auth_rule_conf {
    char **datasets;          /* dataset and STAC collection ids */
    size_t ndatasets;
    char **processes;
    size_t nprocesses;
    char **read, **execute, **transactions;
    size_t nread, nexecute, ntransactions;
} nd_auth_rule_conf;

typedef struct nd_auth_conf {
    bool enabled;             /* the section is present: without it nothing is checked */
    bool required;            /* every request but /health needs credentials */
    char *realm;              /* WWW-Authenticate realm */
    char **admin_roles;       /* may do anything and see every job; default ["admin"] */
    size_t nadmin_roles;
    nd_auth_key_conf *keys;
    size_t nkeys;
    char *issuer, *audience;  /* OpenID Connect: both required when jwks is set */
    char *jwks;               /* JWKS file with the provider's public keys */
    int leeway_s;             /* clock skew allowed on exp/nbf/iat, default 60 */
    nd_auth_rule_conf *rules;
    size_t nrules;
} nd_auth_conf;

/* Per-service concurrency cap. */
typedef struct nd_limit_service_conf {
    char *service;            /* route service label: wms, wcs, dap, stac, processes... */
    int concurrent;
} nd_limit_service_conf;

/* Rate limits and quotas (server/http/limits.c); 0 everywhere means no limit. */
typedef struct nd_limits_conf {
    int requests_per_minute;  /* per API key / user, or per client IP when anonymous */
    int burst;                /* bucket size; default: requests_per_minute / 6, at least 1 */
    nd_limit_service_conf *services;
    size_t nservices;
    int jobs_per_user;        /* accepted + running jobs of one owner */
    int stream_timeout_s;     /* a streamed response (OPeNDAP, coverages) still sending after this is cut */
} nd_limits_conf;

typedef struct nd_config {
    char *path;               /* the file loaded */
    char *dir;                /* its directory: relative paths in it are relative to this */
    nd_server_conf server;
    nd_dataset_conf *datasets;
    size_t ndatasets;
    nd_catalog_conf catalog;
    nd_processing_conf jobs;
    nd_style_conf *styles;
    size_t nstyles;
    nd_auth_conf auth;
    nd_limits_conf limits;
} nd_config;

/* On error returns negative and writes "FILE:LINE:COL: what was expected" into err. */
int nd_config_load(const char *path, nd_config **out, char *err, size_t errlen);
/* Same, from text in memory; name is used in messages, dir resolves relative paths. */
int nd_config_parse(const char *text, size_t len, const char *name, const char *dir,
                    nd_config **out, char *err, size_t errlen);
void nd_config_free(nd_config *c);

#endif
