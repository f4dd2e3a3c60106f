/* `nadir seed`: renders a zoom range of a layer's tiles through the server's own routes, filling the
 * tile cache, with a progress bar on stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/wmts.h"
#include "wmts_priv.h"

#define MAX_SEED_TILES 10000000L /* a typo in --zoom must not start a week-long run */

static int fail(const char *msg, const char *arg) {
    fprintf(stderr, "nadir seed: %s%s\nusage: nadir seed -c FILE LAYER --zoom A-B [--bbox W,S,E,N] [--time T] "
                    "[--elevation Z] [--style S] [--tms WebMercatorQuad|WorldCRS84Quad] [--format png|jpg]\n",
            msg, arg ? arg : "");
    return 2;
}

static void progress(long done, long total, long errors, time_t start) {
    int width = 40, fill = total ? (int)(done * width / total) : width;
    double el = difftime(time(NULL), start);
    fprintf(stderr, "\r[%.*s%*s] %ld/%ld tiles %3d%%  %ld errors  %.0fs", fill,
            "########################################", width - fill, "", done, total,
            total ? (int)(done * 100 / total) : 100, errors, el);
    fflush(stderr);
}

/* "A-B" or "A", 0 <= A <= B <= ND_TMS_MAX_ZOOM. */
static int parse_zoom(const char *s, int *z0, int *z1) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s) return -1;
    if (*end == '-') {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        if (end == p) return -1;
    }
    if (*end || a < 0 || b < a || b > ND_TMS_MAX_ZOOM) return -1;
    *z0 = (int)a;
    *z1 = (int)b;
    return 0;
}

/* Opens the configuration like `serve` does, with only the map services registered. */
static nd_app *open_app(const char *conf) {
    char err[1024];
    nd_config *cfg;
    nd_registry *reg;
    if (nd_config_load(conf, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "nadir seed: %s\n", err);
        return NULL;
    }
    if (nd_registry_open(cfg, &reg, err, sizeof err) < 0) {
        fprintf(stderr, "nadir seed: %s\n", err);
        nd_config_free(cfg);
        return NULL;
    }
    nd_app *app = nd_app_new(cfg, reg);
    nd_wms_register(app);
    nd_wmts_register(app);
    return app;
}

int nd_wmts_seed_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"zoom", required_argument, 0, 'z'}, {"bbox", required_argument, 0, 'b'},
        {"time", required_argument, 0, 't'},   {"style", required_argument, 0, 's'}, {"tms", required_argument, 0, 'm'},
        {"format", required_argument, 0, 'f'}, {"elevation", required_argument, 0, 'e'}, {0},
    };
    const char *conf = NULL, *zoom = NULL, *bbox_s = NULL, *tval = NULL, *style = "default", *tms_id = "WebMercatorQuad",
               *ext = "png", *eval = NULL;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "c:", opts, NULL)) != -1;) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 'z': zoom = optarg; break;
        case 'b': bbox_s = optarg; break;
        case 't': tval = optarg; break;
        case 's': style = optarg; break;
        case 'm': tms_id = optarg; break;
        case 'f': ext = optarg; break;
        case 'e': eval = optarg; break;
        default: return fail("unknown option", NULL);
        }
    }
    if (!conf) return fail("missing -c FILE", NULL);
    if (optind != argc - 1) return fail("give one LAYER", NULL);
    const char *layer_name = argv[optind];
    int z0, z1, n = 0;
    if (!zoom || parse_zoom(zoom, &z0, &z1) < 0) return fail("--zoom is A-B within 0-18, got ", zoom ? zoom : "nothing");
    const nd_tms *tms = nd_tms_get(tms_id);
    if (!tms) return fail("unknown tile matrix set ", tms_id);
    if (strcmp(ext, "png") && strcmp(ext, "jpg")) return fail("--format is png or jpg, got ", ext);
    double box[4];
    if (bbox_s && (sscanf(bbox_s, "%lf,%lf,%lf,%lf%n", &box[0], &box[1], &box[2], &box[3], &n) != 4 || bbox_s[n] ||
                   box[1] >= box[3] || box[1] < -90 || box[3] > 90))
        return fail("--bbox is W,S,E,N in degrees, got ", bbox_s);
    for (const char *p = style; *p; p++)
        if (*p == '/' || *p == '?' || *p == '%') return fail("bad style ", style);
    if (tval)
        for (const char *p = tval; *p; p++)
            if (*p == '/' || *p == '?' || *p == '%') return fail("bad time ", tval);
    if (eval)
        for (const char *p = eval; *p; p++)
            if (*p == '/' || *p == '?' || *p == '%') return fail("bad elevation ", eval);

    nd_app *app = open_app(conf);
    if (!app) return 1;
    int rc = 0;
    const wmts_layer *l = wmts_layer_find(layer_name);
    if (!l) {
        fprintf(stderr, "nadir seed: no layer is called '%s'\n", layer_name);
        rc = 1;
        goto out;
    }
    if (!bbox_s) {
        if (!l->ds) {
            fprintf(stderr, "nadir seed: give --bbox for this layer\n");
            rc = 1;
            goto out;
        }
        memcpy(box, l->ds->wgs84, sizeof box);
    }
    long total = 0;
    for (int z = z0; z <= z1; z++) {
        long r0, r1, c0, c1;
        nd_tms_tile_range(tms, z, box, &r0, &r1, &c0, &c1);
        total += (r1 - r0 + 1) * (c1 - c0 + 1);
        if (total > MAX_SEED_TILES) {
            fprintf(stderr, "nadir seed: more than %ld tiles; narrow --zoom or --bbox\n", MAX_SEED_TILES);
            rc = 1;
            goto out;
        }
    }
    /* the REST path's dimension segments, as the capabilities' templates have them: {Time} then {Elevation} */
    char dims[256] = "";
    if (l->has_time || (tval && !l->has_z)) strncat(dims, tval ? tval : "default", 100), strcat(dims, "/");
    if (l->has_z) strncat(dims, eval ? eval : "default", 100), strcat(dims, "/");
    long done = 0, errors = 0;
    time_t start = time(NULL), last = 0;
    for (int z = z0; z <= z1; z++) {
        long r0, r1, c0, c1;
        nd_tms_tile_range(tms, z, box, &r0, &r1, &c0, &c1);
        for (long r = r0; r <= r1; r++)
            for (long c = c0; c <= c1; c++) {
                char url[1024];
                snprintf(url, sizeof url, "/wmts/1.0.0/%s/%s/%s%s/%d/%ld/%ld.%s", l->safe, style, dims, tms->id, z, r,
                         c, ext);
                nd_req *rq = nd_req_new_test(app, "GET", url, NULL);
                nd_resp rs;
                memset(&rs, 0, sizeof rs);
                nd_http_dispatch(app, rq, &rs);
                if (rs.status != 200) {
                    if (!errors) fprintf(stderr, "\nnadir seed: %s: HTTP %d: %.*s\n", url, rs.status,
                                         (int)(rs.body.len > 300 ? 300 : rs.body.len), rs.body.data ? rs.body.data : "");
                    errors++;
                }
                nd_resp_free(&rs);
                nd_req_free_test(rq);
                done++;
                if (time(NULL) != last || done == total) {
                    last = time(NULL);
                    progress(done, total, errors, start);
                }
            }
    }
    fputc('\n', stderr);
    rc = errors ? 1 : 0;
out:;
    nd_config *cfg = app->config;
    nd_registry *reg = app->datasets;
    nd_app_free(app);
    nd_registry_free(reg);
    nd_config_free(cfg);
    return rc;
}
