/* The pca-screening outputs: per-pixel scores and flags, the selected spectra with their residuals
 * (written block by block, so memory stays bounded), and the STAC item. */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/arena.h"
#include "pca_process.h"

#define NPCS 3

#define NC(call)                                                                                                  \
    do {                                                                                                          \
        int _s = (call);                                                                                          \
        if (_s != NC_NOERR) {                                                                                     \
            rc = nd_fail(err, ND_E_IO, "", "writing the results: %s", nc_strerror(_s));                          \
            goto done;                                                                                            \
        }                                                                                                         \
    } while (0)
#define ATT(nc, var, name, text) NC(nc_put_att_text(nc, var, name, strlen(text), text))

typedef struct scores_nc {
    int nc, score, z, flag, pcs, lat, lon;
} scores_nc;

typedef struct selected_nc {
    int nc, scan, pix, lat, lon, score, rad, res;
    size_t n;
} selected_nc;

static int def_scores(const char *path, const nd_pca_l1b *f, int npcs, double thr, scores_nc *s, nd_error *err) {
    int rc = 0, d[3];
    s->nc = -1;
    NC(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &s->nc));
    int nc = s->nc;
    NC(nc_def_dim(nc, "scanline", f->nscan, &d[0]));
    NC(nc_def_dim(nc, "ground_pixel", f->npix, &d[1]));
    NC(nc_def_dim(nc, "pc", (size_t)npcs, &d[2]));
    float ffill = NAN;
    NC(nc_def_var(nc, "latitude", NC_DOUBLE, 2, d, &s->lat));
    ATT(nc, s->lat, "units", "degrees_north");
    ATT(nc, s->lat, "standard_name", "latitude");
    NC(nc_def_var(nc, "longitude", NC_DOUBLE, 2, d, &s->lon));
    ATT(nc, s->lon, "units", "degrees_east");
    ATT(nc, s->lon, "standard_name", "longitude");
    NC(nc_def_var(nc, "score", NC_FLOAT, 2, d, &s->score));
    NC(nc_def_var_fill(nc, s->score, 0, &ffill));
    ATT(nc, s->score, "long_name", "squared noise-normalised residual after the leading components");
    ATT(nc, s->score, "coordinates", "latitude longitude");
    NC(nc_def_var(nc, "zscore", NC_FLOAT, 2, d, &s->z));
    NC(nc_def_var_fill(nc, s->z, 0, &ffill));
    ATT(nc, s->z, "long_name", "(score - (M - K)) / sqrt(2 (M - K))");
    ATT(nc, s->z, "coordinates", "latitude longitude");
    NC(nc_def_var(nc, "flag", NC_UBYTE, 2, d, &s->flag));
    unsigned char fv[3] = {0, 1, 2};
    NC(nc_put_att_uchar(nc, s->flag, "flag_values", NC_UBYTE, 3, fv));
    ATT(nc, s->flag, "flag_meanings", "ordinary flagged invalid");
    ATT(nc, s->flag, "coordinates", "latitude longitude");
    NC(nc_def_var(nc, "pc_score", NC_FLOAT, 3, d, &s->pcs));
    NC(nc_def_var_fill(nc, s->pcs, 0, &ffill));
    ATT(nc, s->pcs, "long_name", "leading principal-component scores");
    NC(nc_put_att_double(nc, NC_GLOBAL, "score_threshold", NC_DOUBLE, 1, &thr));
    ATT(nc, NC_GLOBAL, "title", "nadir pca-screening scores");
    ATT(nc, NC_GLOBAL, "Conventions", "CF-1.8");
    NC(nc_enddef(nc));
done:
    return rc;
}

static int def_selected(const char *path, const nd_pca_l1b *f, selected_nc *s, nd_error *err) {
    int rc = 0, d[2], vwl;
    s->nc = -1;
    NC(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &s->nc));
    int nc = s->nc;
    NC(nc_def_dim(nc, "spectrum", NC_UNLIMITED, &d[0]));
    NC(nc_def_dim(nc, "channel", (size_t)f->m, &d[1]));
    NC(nc_def_var(nc, "wavelength", NC_DOUBLE, 1, &d[1], &vwl));
    ATT(nc, vwl, "units", "nm");
    NC(nc_def_var(nc, "scanline_index", NC_INT, 1, d, &s->scan));
    NC(nc_def_var(nc, "ground_pixel_index", NC_INT, 1, d, &s->pix));
    NC(nc_def_var(nc, "latitude", NC_DOUBLE, 1, d, &s->lat));
    ATT(nc, s->lat, "units", "degrees_north");
    NC(nc_def_var(nc, "longitude", NC_DOUBLE, 1, d, &s->lon));
    ATT(nc, s->lon, "units", "degrees_east");
    NC(nc_def_var(nc, "score", NC_DOUBLE, 1, d, &s->score));
    NC(nc_def_var(nc, "radiance", NC_FLOAT, 2, d, &s->rad));
    NC(nc_def_var(nc, "residual", NC_FLOAT, 2, d, &s->res));
    ATT(nc, s->res, "long_name", "radiance minus its reconstruction from the leading components");
    size_t chunk[2] = {64, (size_t)f->m};
    NC(nc_def_var_chunking(nc, s->rad, NC_CHUNKED, chunk));
    NC(nc_def_var_chunking(nc, s->res, NC_CHUNKED, chunk));
    ATT(nc, NC_GLOBAL, "title", "nadir pca-screening: spectra of interest");
    NC(nc_enddef(nc));
    NC(nc_put_var_double(nc, vwl, f->wl));
done:
    return rc;
}

static int put_selected(selected_nc *s, int scan, int pix, double lat, double lon, double score, const double *x,
                        const double *res, int m, nd_error *err) {
    int rc = 0;
    size_t st[2] = {s->n, 0}, ct[2] = {1, (size_t)m};
    float *buf = nd_xmalloc(2 * (size_t)m * sizeof *buf);
    for (int j = 0; j < m; j++) buf[j] = (float)x[j], buf[m + j] = (float)res[j];
    NC(nc_put_var1_int(s->nc, s->scan, st, &scan));
    NC(nc_put_var1_int(s->nc, s->pix, st, &pix));
    NC(nc_put_var1_double(s->nc, s->lat, st, &lat));
    NC(nc_put_var1_double(s->nc, s->lon, st, &lon));
    NC(nc_put_var1_double(s->nc, s->score, st, &score));
    NC(nc_put_vara_float(s->nc, s->rad, st, ct, buf));
    NC(nc_put_vara_float(s->nc, s->res, st, ct, buf + m));
    s->n++;
done:
    free(buf);
    return rc;
}

int nd_pca_screen_write(nd_kernel_env *env, const nd_pca_l1b *f, const nd_pca_basis *b, double threshold,
                        nd_pca_screen_stats *st, nd_error *err) {
    char path[4096];
    scores_nc sc = {.nc = -1};
    selected_nc se = {.nc = -1};
    int rc, m = f->m, npcs = b->k < NPCS ? b->k : NPCS;
    snprintf(path, sizeof path, "%s/scores.nc", env->dir);
    if ((rc = def_scores(path, f, npcs, threshold, &sc, err)) < 0) goto done;
    snprintf(path, sizeof path, "%s/selected.nc", env->dir);
    if ((rc = def_selected(path, f, &se, err)) < 0) goto done;
    size_t sb = ND_PCA_BLOCK / f->npix ? ND_PCA_BLOCK / f->npix : 1, nb = sb * f->npix;
    double *x = nd_xmalloc(nb * m * sizeof *x), *res = nd_xmalloc(nb * m * sizeof *res);
    double *score = nd_xmalloc(nb * sizeof *score), *z = nd_xmalloc(nb * sizeof *z);
    double *pcs = nd_xmalloc(nb * npcs * sizeof *pcs), *lat = nd_xmalloc(nb * sizeof *lat), *lon = nd_xmalloc(nb * sizeof *lon);
    float *fb = nd_xmalloc(nb * npcs * sizeof *fb);
    unsigned char *flag = nd_xmalloc(nb);
    st->lat0 = st->lon0 = INFINITY;
    st->lat1 = st->lon1 = -INFINITY;
    for (size_t s0 = 0; s0 < f->nscan && rc == 0; s0 += sb) {
        size_t ns = f->nscan - s0 < sb ? f->nscan - s0 : sb, n = ns * f->npix;
        if (nd_pca_l1b_read(f, s0, ns, x) < 0) {
            rc = nd_fail(err, ND_E_IO, "spectra", "the radiances of scanlines %zu.. could not be read", s0);
            break;
        }
        nd_pca_l1b_read_geo(f, s0, ns, lat, lon);
        nd_pca_score(b, x, n, &(nd_pca_result){.score = score, .zscore = z, .pcs = pcs, .npcs = npcs, .residual = res});
        size_t start[3] = {s0, 0, 0}, count[3] = {ns, f->npix, (size_t)npcs};
        for (size_t i = 0; i < n && rc == 0; i++) {
            flag[i] = !isfinite(score[i]) ? 2 : score[i] > threshold;
            if (flag[i] == 2) continue;
            st->valid++;
            if (isfinite(lat[i])) st->lat0 = fmin(st->lat0, lat[i]), st->lat1 = fmax(st->lat1, lat[i]);
            if (isfinite(lon[i])) st->lon0 = fmin(st->lon0, lon[i]), st->lon1 = fmax(st->lon1, lon[i]);
            if (flag[i] == 1) {
                st->flagged++;
                rc = put_selected(&se, (int)(s0 + i / f->npix), (int)(i % f->npix), lat[i], lon[i], score[i],
                                  x + i * m, res + i * m, m, err);
            }
        }
        if (rc < 0) break;
        NC(nc_put_vara_double(sc.nc, sc.lat, start, count, lat));
        NC(nc_put_vara_double(sc.nc, sc.lon, start, count, lon));
        NC(nc_put_vara_double(sc.nc, sc.score, start, count, score));
        NC(nc_put_vara_double(sc.nc, sc.z, start, count, z));
        NC(nc_put_vara_uchar(sc.nc, sc.flag, start, count, flag));
        for (size_t i = 0; i < n * npcs; i++) fb[i] = (float)pcs[i];
        NC(nc_put_vara_float(sc.nc, sc.pcs, start, count, fb));
        int pct = 10 + (int)(89.0 * (double)(s0 + ns) / (double)f->nscan);
        if (env->progress && env->progress(env, pct, "scoring")) rc = nd_fail(err, ND_E_INTERNAL, "", "the job was dismissed");
    }
    free(x);
    free(res);
    free(score);
    free(z);
    free(pcs);
    free(lat);
    free(lon);
    free(fb);
    free(flag);
done:
    if (sc.nc >= 0 && nc_close(sc.nc) != NC_NOERR && rc == 0) rc = nd_fail(err, ND_E_IO, "", "closing scores.nc failed");
    if (se.nc >= 0 && nc_close(se.nc) != NC_NOERR && rc == 0) rc = nd_fail(err, ND_E_IO, "", "closing selected.nc failed");
    return rc;
}

json_t *nd_pca_stac_item(nd_kernel_env *env, const nd_pca_l1b *f, const nd_pca_screen_stats *st, const json_t *summary) {
    const char *slash = strrchr(env->dir, '/');
    const char *job = slash ? slash + 1 : env->dir;
    json_t *geom = json_null(), *bbox = json_null();
    if (isfinite(st->lat0) && isfinite(st->lon0)) {
        bbox = json_pack("[f,f,f,f]", st->lon0, st->lat0, st->lon1, st->lat1);
        geom = json_pack("{s:s, s:[[[f,f],[f,f],[f,f],[f,f],[f,f]]]}", "type", "Polygon", "coordinates", st->lon0,
                         st->lat0, st->lon1, st->lat0, st->lon1, st->lat1, st->lon0, st->lat1, st->lon0, st->lat0);
    }
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_t *props = json_pack("{s:s, s:I, s:I, s:I, s:O, s:O, s:I}", "datetime", now, "pca:spectra",
                              (json_int_t)(f->nscan * f->npix), "pca:valid", (json_int_t)st->valid, "pca:flagged",
                              (json_int_t)st->flagged, "pca:threshold", json_object_get(summary, "threshold"),
                              "pca:components", json_object_get(summary, "components"), "pca:channels",
                              (json_int_t)f->m);
    json_t *assets = json_pack(
        "{s:{s:s, s:s, s:[s]}, s:{s:s, s:s, s:[s]}, s:{s:s, s:s, s:[s]}}", "scores", "href", "scores.nc", "type",
        "application/x-netcdf", "roles", "data", "selected", "href", "selected.nc", "type", "application/x-netcdf",
        "roles", "data", "basis", "href", "basis.nc", "type", "application/x-netcdf", "roles", "metadata");
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:[]}", "type", "Feature", "stac_version", "1.0.0", "id",
                     job, "geometry", geom, "bbox", bbox, "properties", props, "assets", assets, "links");
}

/* Copies variable `name` of in (count values from start 0) into out at start, as doubles or bytes. */
static int copy_var(int in, int out, const char *name, int ndims, const size_t *count, const size_t *start, nd_error *err) {
    int rc = 0, vi, vo;
    size_t n = 1;
    for (int d = 0; d < ndims; d++) n *= count[d];
    size_t zero[3] = {0, 0, 0};
    double *buf = nd_xmalloc((n ? n : 1) * sizeof *buf);
    NC(nc_inq_varid(in, name, &vi));
    NC(nc_inq_varid(out, name, &vo));
    if (n) {
        NC(nc_get_vara_double(in, vi, zero, count, buf));
        NC(nc_put_vara_double(out, vo, start, count, buf));
    }
done:
    free(buf);
    return rc;
}

/* Adds file_index along dimension dim of an open file, the worker's file each row came from. */
static int def_file_index(int nc, const char *dim, int *var, nd_error *err) {
    int rc = 0, d;
    NC(nc_redef(nc));
    NC(nc_inq_dimid(nc, dim, &d));
    NC(nc_def_var(nc, "file_index", NC_INT, 1, &d, var));
    ATT(nc, *var, "long_name", "position of the input file in the summary's files list");
    NC(nc_enddef(nc));
done:
    return rc;
}

static int put_ints(int nc, int var, size_t start, size_t count, const int *v) {
    return nc_put_vara_int(nc, var, &start, &count, v) != NC_NOERR;
}

int nd_pca_gather(nd_kernel_env *env, char *const *dirs, size_t n, nd_error *err) {
    int rc = 0, *in = nd_xmalloc(n * 2 * sizeof *in), *idx = NULL, fi_sc = -1, fi_se = -1, d, v;
    size_t *nscan = nd_xmalloc(n * sizeof *nscan), *nsel = nd_xmalloc(n * sizeof *nsel), total = 0, npix = 0, np = 0;
    scores_nc sc = {.nc = -1};
    selected_nc se = {.nc = -1};
    nd_pca_l1b f = {0};
    double thr = NAN;
    char path[4096];
    for (size_t i = 0; i < 2 * n; i++) in[i] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t pix, m;
        snprintf(path, sizeof path, "%s/scores.nc", dirs[i]);
        NC(nc_open(path, NC_NOWRITE, &in[2 * i]));
        snprintf(path, sizeof path, "%s/selected.nc", dirs[i]);
        NC(nc_open(path, NC_NOWRITE, &in[2 * i + 1]));
        NC(nc_inq_dimid(in[2 * i], "scanline", &d));
        NC(nc_inq_dimlen(in[2 * i], d, &nscan[i]));
        NC(nc_inq_dimid(in[2 * i], "ground_pixel", &d));
        NC(nc_inq_dimlen(in[2 * i], d, &pix));
        NC(nc_inq_dimid(in[2 * i], "pc", &d));
        NC(nc_inq_dimlen(in[2 * i], d, &np));
        NC(nc_inq_dimid(in[2 * i + 1], "spectrum", &d));
        NC(nc_inq_dimlen(in[2 * i + 1], d, &nsel[i]));
        NC(nc_inq_dimid(in[2 * i + 1], "channel", &d));
        NC(nc_inq_dimlen(in[2 * i + 1], d, &m));
        if (i == 0) {
            npix = pix, f.m = (int)m;
            f.wl = nd_xmalloc(m * sizeof *f.wl);
            NC(nc_inq_varid(in[1], "wavelength", &v));
            NC(nc_get_var_double(in[1], v, f.wl));
            NC(nc_get_att_double(in[0], NC_GLOBAL, "score_threshold", &thr));
        } else if (pix != npix || (int)m != f.m) {
            rc = nd_fail(err, ND_E_INVALID_PARAM, "collection", "file %zu has %zu ground pixels and %zu channels, the "
                         "first %zu and %d: the files cannot be gathered", i, pix, m, npix, f.m);
            goto done;
        }
        total += nscan[i];
    }
    f.nscan = total, f.npix = npix;
    snprintf(path, sizeof path, "%s/scores.nc", env->dir);
    if ((rc = def_scores(path, &f, (int)np, thr, &sc, err)) < 0 || (rc = def_file_index(sc.nc, "scanline", &fi_sc, err)) < 0)
        goto done;
    snprintf(path, sizeof path, "%s/selected.nc", env->dir);
    if ((rc = def_selected(path, &f, &se, err)) < 0 || (rc = def_file_index(se.nc, "spectrum", &fi_se, err)) < 0)
        goto done;
    size_t s0 = 0, k0 = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t st2[2] = {s0, 0}, ct2[2] = {nscan[i], npix}, st3[3] = {s0, 0, 0}, ct3[3] = {nscan[i], npix, np};
        const char *v2[] = {"latitude", "longitude", "score", "zscore", "flag"};
        for (int j = 0; j < 5 && rc == 0; j++) rc = copy_var(in[2 * i], sc.nc, v2[j], 2, ct2, st2, err);
        if (rc == 0) rc = copy_var(in[2 * i], sc.nc, "pc_score", 3, ct3, st3, err);
        idx = nd_xrealloc(idx, (nscan[i] + nsel[i] + 1) * sizeof *idx);
        for (size_t j = 0; j < nscan[i] + nsel[i]; j++) idx[j] = (int)i;
        if (rc == 0 && nscan[i] && (put_ints(sc.nc, fi_sc, s0, nscan[i], idx) || (nsel[i] && put_ints(se.nc, fi_se, k0, nsel[i], idx))))
            rc = nd_fail(err, ND_E_IO, "", "writing file_index failed");
        /* The selected spectra keep their scanline in the concatenated scores. */
        if (rc == 0 && nsel[i]) {
            int vs, vo;
            size_t z[1] = {0}, c1[1] = {nsel[i]}, k1[1] = {k0};
            NC(nc_inq_varid(in[2 * i + 1], "scanline_index", &vs));
            NC(nc_get_vara_int(in[2 * i + 1], vs, z, c1, idx));
            for (size_t j = 0; j < nsel[i]; j++) idx[j] += (int)s0;
            NC(nc_inq_varid(se.nc, "scanline_index", &vo));
            NC(nc_put_vara_int(se.nc, vo, k1, c1, idx));
            size_t ks[2] = {k0, 0}, kc[2] = {nsel[i], (size_t)f.m};
            const char *v1[] = {"ground_pixel_index", "latitude", "longitude", "score"};
            for (int j = 0; j < 4 && rc == 0; j++) rc = copy_var(in[2 * i + 1], se.nc, v1[j], 1, c1, k1, err);
            if (rc == 0) rc = copy_var(in[2 * i + 1], se.nc, "radiance", 2, kc, ks, err);
            if (rc == 0) rc = copy_var(in[2 * i + 1], se.nc, "residual", 2, kc, ks, err);
        }
        s0 += nscan[i], k0 += nsel[i];
    }
    free(idx);
    idx = NULL;
done:
    free(idx);
    for (size_t i = 0; i < 2 * n; i++)
        if (in[i] >= 0) nc_close(in[i]);
    if (sc.nc >= 0 && nc_close(sc.nc) != NC_NOERR && rc == 0) rc = nd_fail(err, ND_E_IO, "", "closing scores.nc failed");
    if (se.nc >= 0 && nc_close(se.nc) != NC_NOERR && rc == 0) rc = nd_fail(err, ND_E_IO, "", "closing selected.nc failed");
    free(in);
    free(nscan);
    free(nsel);
    free(f.wl);
    return rc;
}
