/* The process registry: what each process takes and gives (typed inputs/outputs with their limits),
 * how it may run (sync/async, devices), the kernel behind it, and input validation shared by WPS and
 * OGC API - Processes. Kernels know no HTTP: JSON values in, files and JSON values out. */
#ifndef NADIR_PROCESS_H
#define NADIR_PROCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "nadir/config.h"
#include "nadir/dataset.h"
#include "nadir/error.h"

typedef enum {
    ND_IO_STRING,
    ND_IO_INTEGER,
    ND_IO_NUMBER,
    ND_IO_BOOLEAN,
    ND_IO_BBOX,     /* {"bbox":[minx,miny,maxx,maxy], "crs":"...CRS84"} */
    ND_IO_COMPLEX,  /* inline {"value":..., "mediaType":...} or a reference {"href":...} */
    ND_IO_DATASET,  /* the id of a dataset (or STAC item/collection) of this server */
} nd_io_type;

typedef struct nd_io {
    const char *id, *title, *description;
    nd_io_type type;
    const char *const *allowed;  /* literals: NULL-terminated allowed values, or NULL for any */
    const char *def;             /* default written as text; NULL: none */
    bool has_min, has_max;       /* numbers: inclusive range */
    double min, max;
    const char *uom;             /* unit of measure, or NULL */
    const char *const *formats;  /* complex: media types, the first is the default */
    size_t max_bytes;            /* complex inline values and literal strings: the limit (0: 64 KiB) */
    int min_occurs, max_occurs;  /* min 0: optional; max > 1: a JSON array of values is accepted */
} nd_io;

struct nd_kernel_env;
struct nd_process_limits;
/* A kernel: reads the validated inputs, writes files into env->dir and sets outputs[id] to
 * {"value": v} (literals, inline complex with "mediaType") or {"file": NAME, "mediaType": T}. */
typedef int (*nd_kernel_fn)(struct nd_kernel_env *env, const json_t *inputs, json_t *outputs, nd_error *err);

typedef struct nd_process {
    const char *id, *title, *description, *version;
    const nd_io *inputs;
    size_t ninputs;
    const nd_io *outputs;
    size_t noutputs;
    bool sync, async;            /* job control options offered */
    const char *const *devices;  /* NULL-terminated: "cpu", "cuda" */
    nd_kernel_fn run;
    /* Checks across inputs against the datasets (a variable exists, a box meets the extent) before a
     * job exists; NULL when the generic checks suffice. */
    int (*check)(const json_t *inputs, const struct nd_process_limits *lim, nd_error *err);
} nd_process;

/* What a running kernel can use: its directory, the configuration, progress reports, cancellation. */
typedef struct nd_kernel_env {
    const char *dir;             /* the job directory: outputs go here */
    const nd_config *config;     /* NULL when the job has none (unit tests) */
    /* Reports progress (0..100) and a short message; returns nonzero when the job should stop. */
    int (*progress)(struct nd_kernel_env *env, int percent, const char *message);
    void *priv;
} nd_kernel_env;

/* The built-in processes in registry order (echo, sleep, statistics, subset). */
size_t nd_process_count(void);
const nd_process *nd_process_at(size_t i);
const nd_process *nd_process_find(const char *id);

/* What validation may consult; all optional. */
typedef struct nd_process_limits {
    const nd_registry *datasets;       /* dataset inputs must name one of these, readable publicly */
    char *const *allowed_hosts;        /* hosts a reference (href) may point at */
    const char *self_url;              /* server.base_url: dataset references under it are this server's */
    size_t nallowed_hosts;
    size_t max_inline;                 /* inline complex/string limit; the smaller of it and each nd_io's applies */
    long long max_output_bytes;        /* largest output a process may plan to write (0: none) */
} nd_process_limits;

/* True when url is an http(s) URL, without user-info or escapes in its authority, whose host lim allows. Job
 * inputs by reference and subscriber callbacks both go through it. */
bool nd_process_url_allowed(const nd_process_limits *lim, const char *url);
/* Checks inputs ({id: value | [values]}, as OGC API - Processes sends them) against p before any work:
 * unknown or missing ids (MISSING_PARAM), wrong types or values out of range (INVALID_PARAM),
 * oversized inline values (TOO_LARGE), unknown datasets (NOT_FOUND / FORBIDDEN), hosts not allowed
 * (FORBIDDEN). On success *out holds the inputs with defaults filled and numbers typed. */
int nd_process_check_inputs(const nd_process *p, const json_t *inputs, const nd_process_limits *lim, json_t **out,
                            nd_error *err);
const nd_io *nd_process_input(const nd_process *p, const char *id);
const nd_io *nd_process_output(const nd_process *p, const char *id);
/* "string", "integer", "number", "boolean", ... as JSON Schema / WPS data types name them. */
const char *nd_io_type_name(nd_io_type t);
/* A dataset of env's configuration opened for a kernel (free with nd_dataset_free). */
int nd_kernel_open_dataset(nd_kernel_env *env, const char *id, nd_dataset **out, nd_error *err);

/* The kernels' synthetic inputs for `nadir demo-data DIR`, their rasters added to DIR/nadir.yaml. */
int nd_processes_demo_write(const char *dir, char *err, size_t errlen);

#endif
