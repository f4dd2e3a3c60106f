/* The process registry and the input validation every front-end runs before a job exists. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builtin/builtin.h"
#include "divand/divand_process.h"
#include "nadir/process.h"
#include "pca/pca_process.h"
#include "plume/plume_process.h"
#include "landuse/landuse.h"
#include "soilmoisture/soilmoisture.h"
#include "superres/sr_process.h"

#define DEFAULT_MAX_INLINE (64u << 10)

static const nd_process *const registry[] = {
    &nd_process_echo,
    &nd_process_sleep,
    &nd_process_statistics,
    &nd_process_pca_screening,
    &nd_process_plume_detection,
    &nd_process_subset,
    &nd_process_soilmoisture,
    &nd_process_landuse,
    &nd_process_divand,
    &nd_process_superres,
};

size_t nd_process_count(void) { return sizeof registry / sizeof registry[0]; }

const nd_process *nd_process_at(size_t i) { return i < nd_process_count() ? registry[i] : NULL; }

const nd_process *nd_process_find(const char *id) {
    if (!id) return NULL;
    for (size_t i = 0; i < nd_process_count(); i++)
        if (strcmp(registry[i]->id, id) == 0) return registry[i];
    return NULL;
}

const nd_io *nd_process_input(const nd_process *p, const char *id) {
    for (size_t i = 0; i < p->ninputs; i++)
        if (strcmp(p->inputs[i].id, id) == 0) return &p->inputs[i];
    return NULL;
}

const nd_io *nd_process_output(const nd_process *p, const char *id) {
    for (size_t i = 0; i < p->noutputs; i++)
        if (strcmp(p->outputs[i].id, id) == 0) return &p->outputs[i];
    return NULL;
}

const char *nd_io_type_name(nd_io_type t) {
    switch (t) {
    case ND_IO_STRING: return "string";
    case ND_IO_INTEGER: return "integer";
    case ND_IO_NUMBER: return "number";
    case ND_IO_BOOLEAN: return "boolean";
    case ND_IO_BBOX: return "bbox";
    case ND_IO_COMPLEX: return "complex";
    case ND_IO_DATASET: return "dataset";
    }
    return "string";
}

/* ---------------------------------------------------------------- literals */

static bool parse_double(const char *s, double *v) {
    if (!s || !*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !*end && errno == 0 && isfinite(*v);
}

static bool parse_ll(const char *s, long long *v) {
    if (!s || !*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return !*end && errno == 0;
}

/* The text a literal is compared with allowed values by. */
static const char *literal_text(const json_t *v, char *buf, size_t n) {
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, n, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else return NULL;
    return buf;
}

/* The smaller of the input's own limit and the configured one. */
static size_t limit_of(const nd_io *io, const nd_process_limits *lim) {
    size_t own = io->max_bytes ? io->max_bytes : DEFAULT_MAX_INLINE;
    return lim && lim->max_inline && lim->max_inline < own ? lim->max_inline : own;
}

/* One literal value, typed; NULL with err set when it does not fit io. */
static json_t *check_literal(const nd_io *io, const json_t *v, const nd_process_limits *lim, nd_error *err) {
    /* The qualified form {"value": x, "uom": ...} carries the same literal. */
    if (json_is_object(v) && json_object_get(v, "value")) v = json_object_get(v, "value");
    json_t *out = NULL;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    switch (io->type) {
    case ND_IO_STRING:
        if (!s) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be a string", io->id);
            return NULL;
        }
        if (strlen(s) > limit_of(io, lim)) {
            nd_fail(err, ND_E_TOO_LARGE, io->id, "input '%s' is longer than %zu bytes", io->id, limit_of(io, lim));
            return NULL;
        }
        out = json_string(s);
        break;
    case ND_IO_INTEGER: {
        long long x;
        if (json_is_integer(v)) x = json_integer_value(v);
        else if (!parse_ll(s, &x)) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be an integer", io->id);
            return NULL;
        }
        if ((io->has_min && x < io->min) || (io->has_max && x > io->max)) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be within [%g, %g], got %lld", io->id,
                    io->has_min ? io->min : -INFINITY, io->has_max ? io->max : INFINITY, x);
            return NULL;
        }
        out = json_integer(x);
        break;
    }
    case ND_IO_NUMBER: {
        double x;
        if (json_is_number(v)) x = json_number_value(v);
        else if (!parse_double(s, &x)) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be a number", io->id);
            return NULL;
        }
        if ((io->has_min && x < io->min) || (io->has_max && x > io->max)) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be within [%g, %g], got %g", io->id,
                    io->has_min ? io->min : -INFINITY, io->has_max ? io->max : INFINITY, x);
            return NULL;
        }
        out = json_real(x);
        break;
    }
    case ND_IO_BOOLEAN:
        if (json_is_boolean(v)) out = json_boolean(json_is_true(v));
        else if (s && (!strcasecmp(s, "true") || !strcmp(s, "1"))) out = json_true();
        else if (s && (!strcasecmp(s, "false") || !strcmp(s, "0"))) out = json_false();
        else {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be true or false", io->id);
            return NULL;
        }
        break;
    default:
        return NULL;
    }
    if (io->allowed) {
        char buf[64];
        const char *text = literal_text(out, buf, sizeof buf);
        bool ok = false;
        for (const char *const *a = io->allowed; *a && !ok; a++) ok = text && strcmp(*a, text) == 0;
        if (!ok) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' is not one of the allowed values", io->id);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---------------------------------------------------------------- bbox, complex, dataset */

/* {"bbox":[4], "crs":...}, a bare [4] array, or WPS text "minx,miny,maxx,maxy[,crs]". */
static json_t *check_bbox(const nd_io *io, const json_t *v, nd_error *err) {
    double b[4];
    const char *crs = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
    const json_t *arr = json_is_object(v) ? json_object_get(v, "bbox") : v;
    if (json_is_object(v) && json_is_string(json_object_get(v, "crs"))) crs = json_string_value(json_object_get(v, "crs"));
    if (json_is_array(arr) && json_array_size(arr) == 4) {
        for (size_t i = 0; i < 4; i++) {
            const json_t *x = json_array_get(arr, i);
            if (!json_is_number(x)) goto bad;
            b[i] = json_number_value(x);
        }
    } else if (json_is_string(v)) {
        char text[512];
        snprintf(text, sizeof text, "%s", json_string_value(v));
        char *save = NULL, *tok = strtok_r(text, ",", &save);
        for (int i = 0; i < 4; i++, tok = strtok_r(NULL, ",", &save))
            if (!tok || !parse_double(tok, &b[i])) goto bad;
        if (tok) crs = json_string_value(v) + (tok - text);
    } else {
        goto bad;
    }
    if (!(b[0] <= b[2] && b[1] <= b[3]) || !isfinite(b[0] + b[1] + b[2] + b[3])) {
        nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s': the bounding box is inverted", io->id);
        return NULL;
    }
    return json_pack("{s:[f,f,f,f], s:s}", "bbox", b[0], b[1], b[2], b[3], "crs", crs);
bad:
    nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must be a bounding box [minx, miny, maxx, maxy]", io->id);
    return NULL;
}

/* The host part of an http(s) URL, lower-cased into host; false when it is no such URL. */
static bool url_host(const char *url, char *host, size_t n) {
    const char *p;
    if (!strncasecmp(url, "http://", 7)) p = url + 7;
    else if (!strncasecmp(url, "https://", 8)) p = url + 8;
    else return false;
    const char *at = NULL;
    for (const char *q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++)
        if (*q == '@') at = q;
    if (at) p = at + 1; /* user:password@host */
    size_t len;
    if (*p == '[') len = strcspn(p, "]") + 1;
    else len = strcspn(p, ":/?#");
    if (len == 0 || len >= n) return false;
    for (size_t i = 0; i < len; i++) host[i] = (char)tolower((unsigned char)p[i]);
    host[len] = '\0';
    return true;
}

bool nd_process_url_allowed(const nd_process_limits *lim, const char *url) {
    char host[256];
    if (!url || !url_host(url, host, sizeof host)) return false;
    /* User-info, backslashes and escapes in the authority are refused: clients (curl, GDAL, browsers) disagree
     * on where "a:1@b", "a\\@b" or "a%2f@b" put the host, so a check here could pass what is fetched elsewhere. */
    const char *p = strstr(url, "://") + 3;
    for (const char *q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++)
        if (*q == '@' || *q == '\\' || *q == '%' || (unsigned char)*q <= ' ') return false;
    for (size_t i = 0; lim && i < lim->nallowed_hosts; i++)
        if (strcasecmp(lim->allowed_hosts[i], host) == 0) return true;
    return false;
}

static json_t *check_complex(const nd_io *io, const json_t *v, const nd_process_limits *lim, nd_error *err) {
    const json_t *href = json_is_object(v) ? json_object_get(v, "href") : NULL;
    const json_t *mt = json_is_object(v) ? json_object_get(v, "mediaType") : NULL;
    if (json_is_object(v) && !mt) mt = json_object_get(v, "type");
    const char *media = json_is_string(mt) ? json_string_value(mt) : io->formats ? io->formats[0] : NULL;
    if (io->formats && json_is_string(mt)) {
        bool ok = false;
        for (const char *const *f = io->formats; *f && !ok; f++) ok = strcasecmp(*f, media) == 0;
        if (!ok) {
            nd_fail(err, ND_E_INVALID_FORMAT, io->id, "input '%s' does not accept this media type", io->id);
            return NULL;
        }
    }
    if (href) {
        char host[256];
        if (!json_is_string(href) || !url_host(json_string_value(href), host, sizeof host)) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s': a reference must be an http(s) URL", io->id);
            return NULL;
        }
        if (!nd_process_url_allowed(lim, json_string_value(href))) {
            nd_fail(err, ND_E_FORBIDDEN, io->id, "input '%s': references to this host are not allowed", io->id);
            return NULL;
        }
        return json_pack("{s:O, s:s?}", "href", href, "mediaType", media);
    }
    const json_t *value = json_is_object(v) && json_object_get(v, "value") ? json_object_get(v, "value") : v;
    size_t size = json_is_string(value) ? strlen(json_string_value(value)) : 0;
    if (!json_is_string(value)) {
        char *dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        size = dump ? strlen(dump) : 0;
        free(dump);
    }
    if (size > limit_of(io, lim)) {
        nd_fail(err, ND_E_TOO_LARGE, io->id, "input '%s' is larger than %zu bytes", io->id, limit_of(io, lim));
        return NULL;
    }
    return json_pack("{s:O, s:s?}", "value", value, "mediaType", media);
}

/* The dataset a URL of this server refers to, as its own links give them (relative, or under server.base_url):
 * an OGC API collection /collections/{id}, a STAC collection /stac/collections/{id}, or an item of the results
 * collection (a job output, whose dataset has the item's id). NULL for anything else. */
static const char *referenced_dataset(const char *href, const char *self, char *buf, size_t n) {
    size_t sl = self ? strlen(self) : 0;
    const char *path = sl && !strncmp(href, self, sl) ? href + sl : href;
    static const char *const prefixes[] = {"/stac/collections/results/items/", "/collections/", "/stac/collections/"};
    for (size_t i = 0; path[0] == '/' && i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(path, prefixes[i], pl) != 0) continue;
        const char *id = path + pl;
        size_t k = strcspn(id, "/?#");
        if (k == 0 || k >= n || id[k] == '/') return NULL; /* deeper: items of a dataset's collection are files */
        memcpy(buf, id, k);
        buf[k] = '\0';
        return buf;
    }
    return NULL;
}

static json_t *check_dataset(const nd_io *io, const json_t *v, const nd_process_limits *lim, nd_error *err) {
    const json_t *href = json_is_object(v) ? json_object_get(v, "href") : NULL;
    char ref[256];
    if (json_is_string(href)) {
        const char *id = referenced_dataset(json_string_value(href), lim ? lim->self_url : NULL, ref, sizeof ref);
        if (!id) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s': a reference must be a collection of this server or "
                    "an item of its results collection", io->id);
            return NULL;
        }
        v = json_string(id);
        json_t *checked = check_dataset(io, v, lim, err);
        json_decref((json_t *)v);
        return checked;
    }
    if (json_is_object(v) && json_object_get(v, "value")) v = json_object_get(v, "value");
    if (!json_is_string(v)) {
        nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' must name a dataset", io->id);
        return NULL;
    }
    const char *id = json_string_value(v);
    if (lim && lim->datasets) {
        const nd_dataset *ds = nd_registry_get(lim->datasets, id);
        if (!ds) {
            nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s': there is no dataset with this id", io->id);
            return NULL;
        }
        if (ds->conf && ds->conf->access && strcmp(ds->conf->access, "public") != 0) {
            nd_fail(err, ND_E_FORBIDDEN, io->id, "input '%s': this dataset may not be read", io->id);
            return NULL;
        }
    }
    return json_string(id);
}

static json_t *check_one(const nd_io *io, const json_t *v, const nd_process_limits *lim, nd_error *err) {
    switch (io->type) {
    case ND_IO_BBOX: return check_bbox(io, v, err);
    case ND_IO_COMPLEX: return check_complex(io, v, lim, err);
    case ND_IO_DATASET: return check_dataset(io, v, lim, err);
    default: return check_literal(io, v, lim, err);
    }
}

int nd_process_check_inputs(const nd_process *p, const json_t *inputs, const nd_process_limits *lim, json_t **out,
                            nd_error *err) {
    *out = NULL;
    if (inputs && !json_is_object(inputs))
        return nd_fail(err, ND_E_INVALID_PARAM, "inputs", "inputs must be an object of input ids");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)inputs, key, val) {
        if (!nd_process_input(p, key))
            return nd_fail(err, ND_E_INVALID_PARAM, key, "process '%s' has no input '%s'", p->id, key);
    }
    json_t *res = json_object();
    for (size_t i = 0; i < p->ninputs; i++) {
        const nd_io *io = &p->inputs[i];
        const json_t *v = inputs ? json_object_get(inputs, io->id) : NULL;
        json_t *typed = NULL;
        if (!v || json_is_null(v)) {
            if (io->def) {
                json_t *d = json_string(io->def);
                typed = check_one(io, d, NULL, err);
                json_decref(d);
                if (!typed) goto fail;
            } else if (io->min_occurs > 0) {
                nd_fail(err, ND_E_MISSING_PARAM, io->id, "input '%s' is required", io->id);
                goto fail;
            } else {
                continue;
            }
        } else if (json_is_array(v) && io->type != ND_IO_BBOX) {
            size_t n = json_array_size(v);
            int maxo = io->max_occurs > 0 ? io->max_occurs : 1;
            if (n == 0 || (int)n > maxo || (int)n < io->min_occurs) {
                nd_fail(err, ND_E_INVALID_PARAM, io->id, "input '%s' takes %d to %d values, got %zu", io->id,
                        io->min_occurs > 0 ? io->min_occurs : 1, maxo, n);
                goto fail;
            }
            if (maxo == 1) {
                typed = check_one(io, json_array_get(v, 0), lim, err);
            } else {
                typed = json_array();
                for (size_t j = 0; j < n; j++) {
                    json_t *one = check_one(io, json_array_get(v, j), lim, err);
                    if (!one) { json_decref(typed); typed = NULL; break; }
                    json_array_append_new(typed, one);
                }
            }
            if (!typed) goto fail;
        } else {
            typed = check_one(io, v, lim, err);
            if (!typed) goto fail;
        }
        json_object_set_new(res, io->id, typed);
    }
    if (p->check && lim && lim->datasets && p->check(res, lim, err) < 0) goto fail;
    *out = res;
    return 0;
fail:
    json_decref(res);
    return -(int)err->code;
}

/* The file of a published job output "JOBID-OUTPUT": a job directory beside this job's holds it (the server
 * checked at submission that the dataset is published). NULL when id is no such output. */
static char *job_output_file(const nd_kernel_env *env, const char *id) {
    const char *slash = env->dir ? strrchr(env->dir, '/') : NULL;
    if (!slash || strlen(id) < 38 || id[36] != '-' || strspn(id, "0123456789abcdef-") < 36) return NULL;
    char path[4200];
    snprintf(path, sizeof path, "%.*s/%.36s/outputs.json", (int)(slash - env->dir), env->dir, id);
    json_t *outs = json_load_file(path, 0, NULL);
    const char *file = json_string_value(json_object_get(json_object_get(outs, id + 37), "file"));
    char *res = NULL;
    if (file && !strchr(file, '/')) {
        snprintf(path, sizeof path, "%.*s/%.36s/%s", (int)(slash - env->dir), env->dir, id, file);
        res = nd_xstrdup(path);
    }
    json_decref(outs);
    return res;
}

int nd_kernel_open_dataset(nd_kernel_env *env, const char *id, nd_dataset **out, nd_error *err) {
    *out = NULL;
    char msg[512];
    char *output = job_output_file(env, id);
    if (output) {
        int rc = nd_dataset_open_file(id, id, NULL, output, out, msg, sizeof msg);
        free(output);
        return rc < 0 ? nd_fail(err, ND_E_IO, "", "dataset '%s' could not be opened", id) : 0;
    }
    if (!env->config) return nd_fail(err, ND_E_INTERNAL, "", "the job has no configuration to find datasets in");
    for (size_t i = 0; i < env->config->ndatasets; i++) {
        const nd_dataset_conf *c = &env->config->datasets[i];
        if (strcmp(c->id, id) != 0) continue;
        if (nd_dataset_open_in(c, env->config->dir, out, msg, sizeof msg) < 0)
            return nd_fail(err, ND_E_IO, "", "dataset '%s' could not be opened", id);
        return 0;
    }
    return nd_fail(err, ND_E_INVALID_PARAM, "", "there is no dataset '%s'", id);
}
