/* The a-priori source list of plume-detection (GeoJSON points or CSV lines "name,lon,lat"): each known source is
 * looked for among the detected persistent sources (the nearest within a radius), the detected ones are labelled
 * with its name, and the summary says which were found and at what rate. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"
#include "plume_process.h"

#define MAX_APRIORI 10000
#define EARTH_R 6371008.8

/* One CSV line: name,lon,lat (a header line, or any line whose lon/lat are not numbers, is an error unless it
 * is the first). */
static int csv_parse(const char *text, nd_plume_apriori *a, nd_error *err) {
    const char *p = text;
    for (int line = 1; *p; line++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char buf[512];
        if (len >= sizeof buf) return nd_fail(err, ND_E_INVALID_PARAM, "apriori", "CSV line %d is too long", line);
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (len && buf[len - 1] == '\r') buf[--len] = '\0';
        p = end ? end + 1 : p + len;
        if (!len) continue;
        char *c1 = strchr(buf, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL, *e1, *e2;
        if (!c2) return nd_fail(err, ND_E_INVALID_PARAM, "apriori", "CSV line %d is not name,lon,lat", line);
        *c1 = *c2 = '\0';
        double lon = strtod(c1 + 1, &e1), lat = strtod(c2 + 1, &e2);
        while (isspace((unsigned char)*e2) || *e2 == ',') e2++; /* extra columns after lat are ignored */
        if (e1 == c1 + 1 || *e1 || e2 == c2 + 1) {
            if (line == 1) continue; /* the header */
            return nd_fail(err, ND_E_INVALID_PARAM, "apriori", "CSV line %d: lon/lat are not numbers", line);
        }
        if (nd_plume_apriori_add(a, buf, lon, lat, err) < 0) return -(int)err->code;
    }
    return 0;
}

int nd_plume_apriori_add(nd_plume_apriori *a, const char *name, double lon, double lat, nd_error *err) {
    if (!(fabs(lat) <= 90 && fabs(lon) <= 360))
        return nd_fail(err, ND_E_INVALID_PARAM, "apriori", "a-priori source '%.64s' has no valid lon/lat", name);
    if (a->n == MAX_APRIORI) return nd_fail(err, ND_E_INVALID_PARAM, "apriori", "more than %d a-priori sources", MAX_APRIORI);
    a->src = nd_xrealloc(a->src, (a->n + 1) * sizeof *a->src);
    snprintf(a->src[a->n].name, sizeof a->src[a->n].name, "%s", name);
    a->src[a->n].lon = lon, a->src[a->n].lat = lat;
    a->n++;
    return 0;
}

int nd_plume_apriori_parse(const json_t *value, nd_plume_apriori *a, nd_error *err) {
    memset(a, 0, sizeof *a);
    json_t *doc = NULL;
    int rc = 0;
    if (json_is_string(value)) {
        const char *s = json_string_value(value);
        while (isspace((unsigned char)*s)) s++;
        if (*s != '{') {
            rc = csv_parse(s, a, err);
            goto done;
        }
        doc = json_loads(s, 0, NULL);
        if (!doc) return nd_fail(err, ND_E_INVALID_PARAM, "apriori", "the a-priori sources are neither GeoJSON nor CSV");
        value = doc;
    }
    json_t *features = json_object_get(value, "features");
    if (!json_is_array(features)) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "apriori", "the a-priori sources must be a GeoJSON FeatureCollection of points");
        goto done;
    }
    size_t i;
    json_t *f;
    json_array_foreach(features, i, f) {
        json_t *g = json_object_get(f, "geometry"), *c = json_object_get(g, "coordinates");
        if (strcmp(json_string_value(json_object_get(g, "type")) ? json_string_value(json_object_get(g, "type")) : "", "Point") ||
            !json_is_number(json_array_get(c, 0)) || !json_is_number(json_array_get(c, 1))) {
            rc = nd_fail(err, ND_E_INVALID_PARAM, "apriori", "a-priori feature %zu is not a point", i);
            goto done;
        }
        json_t *props = json_object_get(f, "properties"), *nm = json_object_get(props, "name");
        char name[64];
        if (json_is_string(nm)) snprintf(name, sizeof name, "%s", json_string_value(nm));
        else snprintf(name, sizeof name, "%zu", i);
        if ((rc = nd_plume_apriori_add(a, name, json_number_value(json_array_get(c, 0)),
                                       json_number_value(json_array_get(c, 1)), err)) < 0)
            goto done;
    }
done:
    json_decref(doc);
    if (rc == 0 && a->n == 0) rc = nd_fail(err, ND_E_INVALID_PARAM, "apriori", "the a-priori source list is empty");
    if (rc < 0) nd_plume_apriori_free(a);
    return rc;
}

void nd_plume_apriori_free(nd_plume_apriori *a) {
    free(a->src);
    memset(a, 0, sizeof *a);
}

static double dist_m(double lon0, double lat0, double lon1, double lat1) {
    double x = (lon1 - lon0) * M_PI / 180 * cos(0.5 * (lat0 + lat1) * M_PI / 180), y = (lat1 - lat0) * M_PI / 180;
    return EARTH_R * hypot(x, y);
}

int nd_plume_apriori_match(nd_kernel_env *env, const nd_plume_apriori *a, double radius_m, json_t *summary,
                           nd_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sources.geojson", env->dir);
    json_t *fc = json_load_file(path, 0, NULL), *features = json_object_get(fc, "features");
    if (!json_is_array(features)) {
        json_decref(fc);
        return nd_fail(err, ND_E_IO, "", "the detected sources could not be read back");
    }
    json_t *list = json_array();
    size_t found = 0;
    for (size_t k = 0; k < a->n; k++) {
        size_t i, best = (size_t)-1;
        double bd = radius_m;
        json_t *f;
        json_array_foreach(features, i, f) {
            json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
            double d = dist_m(a->src[k].lon, a->src[k].lat, json_number_value(json_array_get(c, 0)),
                              json_number_value(json_array_get(c, 1)));
            if (d <= bd) bd = d, best = i;
        }
        json_t *r = json_pack("{s:s, s:f, s:f, s:b}", "name", a->src[k].name, "lon", a->src[k].lon, "lat",
                              a->src[k].lat, "found", best != (size_t)-1);
        if (best != (size_t)-1) {
            json_t *p = json_object_get(json_array_get(features, best), "properties");
            found++;
            json_object_set_new(r, "source", json_copy(json_object_get(json_array_get(features, best), "id")));
            json_object_set_new(r, "distance_m", json_real(bd));
            const char *keys[] = {"emission", "emission_uncertainty", "detections"};
            for (int j = 0; j < 3; j++) json_object_set(r, keys[j], json_object_get(p, keys[j]));
            /* the detected source is labelled with the nearest known one */
            json_t *prev = json_object_get(p, "apriori_distance_m");
            if (!prev || json_number_value(prev) > bd) {
                json_object_set_new(p, "apriori", json_string(a->src[k].name));
                json_object_set_new(p, "apriori_distance_m", json_real(bd));
            }
        }
        json_array_append_new(list, r);
    }
    json_object_set_new(summary, "apriori", list);
    json_object_set_new(summary, "apriori_found", json_integer((json_int_t)found));
    json_object_set_new(summary, "apriori_radius_m", json_real(radius_m));
    int bad = json_dump_file(fc, path, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0;
    json_decref(fc);
    return bad ? nd_fail(err, ND_E_IO, "", "the labelled sources could not be written") : 0;
}
