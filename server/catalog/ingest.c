/* Ingest: files (read through data/ and GDAL) into STAC items with proj/raster/eo/datacube/file extensions and
 * links to this server's access points; configured datasets into collections; `nadir ingest` over paths. */
#include <dirent.h>
#include <errno.h>
#include <gdal.h>
#include <netcdf.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nadir/catalog.h"
#include "nadir/http.h"
#include "nadir/vector.h"

#define EXT_PROJ "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
#define EXT_RASTER "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
#define EXT_EO "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
#define EXT_CUBE "https://stac-extensions.github.io/datacube/v2.2.0/schema.json"
#define EXT_FILE "https://stac-extensions.github.io/file/v2.1.0/schema.json"
#define MAX_FILES 10000000

int nd_cat_sha256_file(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[1 << 16], md[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    int err = ferror(f);
    fclose(f);
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (err) return -1;
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static double to_epoch(const nd_datetime *d) {
    char iso[48];
    double t = 0;
    nd_datetime_format(d, iso, sizeof iso);
    if (nd_cat_time_parse(iso, true, &t)) t = 0; /* non-Gregorian dates that do not exist (30 February) */
    return t;
}

static void set_time(json_t *props, double t0, double t1) {
    char a[40], b[40];
    nd_cat_time_format(t0, a);
    nd_cat_time_format(t1, b);
    if (t0 == t1) {
        json_object_set_new(props, "datetime", json_string(a));
    } else {
        json_object_set_new(props, "datetime", json_null());
        json_object_set_new(props, "start_datetime", json_string(a));
        json_object_set_new(props, "end_datetime", json_string(b));
    }
}

static const char *item_id_of(const char *path, char *buf, size_t n) {
    const char *base = strrchr(path, '/');
    snprintf(buf, n, "%s", base ? base + 1 : path);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = 0;
    return buf;
}

static const char *gdal_type_name(int t) {
    switch (t) {
    case GDT_Byte: return "uint8";
    case GDT_UInt16: return "uint16";
    case GDT_Int16: return "int16";
    case GDT_UInt32: return "uint32";
    case GDT_Int32: return "int32";
    case GDT_Float32: return "float32";
    case GDT_Float64: return "float64";
    default: return "other";
    }
}

static const char *nc_type_name(int t) {
    switch (t) {
    case NC_BYTE: return "int8";
    case NC_UBYTE: return "uint8";
    case NC_SHORT: return "int16";
    case NC_USHORT: return "uint16";
    case NC_INT: return "int32";
    case NC_UINT: return "uint32";
    case NC_FLOAT: return "float32";
    case NC_DOUBLE: return "float64";
    default: return "other";
    }
}

/* The GeoJSON polygon of a lon/lat box; one crossing the antimeridian goes as drawn (nd_geom splits it). */
static json_t *box_geometry(const double b[4]) {
    double e = b[2] < b[0] ? b[2] + 360 : b[2];
    return json_pack("{s:s, s:[[[f,f],[f,f],[f,f],[f,f],[f,f]]]}", "type", "Polygon", "coordinates", b[0], b[1], e,
                     b[1], e, b[3], b[0], b[3], b[0], b[1]);
}

/* The data file through this server (GET .../file, made absolute when served), never its place on the server. */
static json_t *file_href(const char *collection, const char *id) {
    nd_buf b = {0};
    nd_buf_puts(&b, "/stac/collections/");
    nd_buf_put_urlenc(&b, collection);
    nd_buf_puts(&b, "/items/");
    nd_buf_put_urlenc(&b, id);
    nd_buf_puts(&b, "/file");
    json_t *s = json_string(b.data);
    nd_buf_free(&b);
    return s;
}

/* The access points of a configured dataset on this server, stored as paths (made absolute when served). */
static void server_assets(json_t *assets, const nd_dataset *ds, const double wgs[4], const char *t0, bool timed) {
    /* vector datasets are maps only: no coverage, no DAP variables */
    bool vector = !ds->nvars;
    if (vector && !(ds->vector && ds->vector->nlayers)) return;
    /* the layer a preview shows, named as WMS names them: the first layer of a vector dataset, the true-colour
     * composite of a multiband image ("id/rgb"), else the first variable ("id/variable") */
    nd_buf layer = {0};
    if (vector) nd_buf_printf(&layer, "%s/%s", ds->id, ds->vector->layers[0].name);
    else if (ds->kind == ND_DS_RASTER && ds->nvars >= 3) nd_buf_printf(&layer, "%s/rgb", ds->id);
    else nd_buf_printf(&layer, "%s/%s", ds->id, ds->vars[0].name);
    nd_buf b = {0};
    nd_buf_puts(&b, "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=");
    nd_buf_put_urlenc(&b, layer.data);
    nd_buf_printf(&b, "&STYLES=&CRS=CRS:84&BBOX=%.6f,%.6f,%.6f,%.6f&WIDTH=256&HEIGHT=256&FORMAT=image/png", wgs[0],
                  wgs[1], wgs[2], wgs[3]);
    if (timed) nd_buf_printf(&b, "&TIME=%s", t0);
    json_object_set_new(assets, "thumbnail", json_pack("{s:s, s:s, s:s, s:[s,s]}", "href", b.data, "type", "image/png",
                                                       "title", "Preview (WMS GetMap)", "roles", "thumbnail", "overview"));
    nd_buf_reset(&b);
    nd_buf_printf(&b, "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities");
    json_object_set_new(assets, "wms", json_pack("{s:s, s:s, s:s, s:[s], s:[s]}", "href", b.data, "type",
                                                 "application/xml", "title", "WMS layer", "wms:layers", layer.data,
                                                 "roles", "visual"));
    nd_buf_free(&layer);
    if (vector) return nd_buf_free(&b);
    nd_buf_reset(&b);
    nd_buf_printf(&b, "/wcs?SERVICE=WCS&VERSION=2.0.1&REQUEST=GetCoverage&COVERAGEID=%s&FORMAT=image/tiff", ds->id);
    if (timed) nd_buf_printf(&b, "&SUBSET=time(\"%s\")", t0);
    json_object_set_new(assets, "wcs", json_pack("{s:s, s:s, s:s, s:[s]}", "href", b.data, "type",
                                                 "image/tiff; application=geotiff", "title", "Coverage (WCS GetCoverage)",
                                                 "roles", "data"));
    nd_buf_reset(&b);
    nd_buf_printf(&b, "/opendap/%s", ds->id);
    json_object_set_new(assets, "opendap", json_pack("{s:s, s:s, s:s, s:[s]}", "href", b.data, "type",
                                                     "application/vnd.opendap.org.dap4", "title", "OPeNDAP (DAP2/DAP4)",
                                                     "roles", "data"));
    nd_buf_free(&b);
}

/* datacube extension: the grid's dimensions and the variables on them (NetCDF). */
static void datacube(json_t *props, const nd_dataset *ds, double t0, double t1) {
    json_t *dims = json_object(), *vars = json_object();
    json_t *x = json_pack("{s:s, s:s, s:[f,f]}", "type", "spatial", "axis", "x", "extent", ds->bbox[0], ds->bbox[2]);
    json_t *y = json_pack("{s:s, s:s, s:[f,f]}", "type", "spatial", "axis", "y", "extent", ds->bbox[1], ds->bbox[3]);
    if (ds->epsg) {
        json_object_set_new(x, "reference_system", json_integer(ds->epsg));
        json_object_set_new(y, "reference_system", json_integer(ds->epsg));
    }
    json_object_set_new(dims, ds->x_dim ? ds->x_dim : "x", x);
    json_object_set_new(dims, ds->y_dim ? ds->y_dim : "y", y);
    if (ds->time) {
        char a[40], b[40];
        nd_cat_time_format(t0, a);
        nd_cat_time_format(t1, b);
        json_object_set_new(dims, ds->time->name, json_pack("{s:s, s:[s,s]}", "type", "temporal", "extent", a, b));
    }
    if (ds->vertical && ds->vertical->n) {
        const nd_vertical_axis *v = ds->vertical;
        json_t *z = json_pack("{s:s, s:[f,f]}", "type", "spatial", "axis", "z", "extent", v->values[0], v->values[v->n - 1]);
        if (v->units) json_object_set_new(z, "unit", json_string(v->units));
        json_object_set_new(dims, v->name, z);
    }
    for (size_t i = 0; i < ds->nvars; i++) {
        const nd_variable *v = &ds->vars[i];
        json_t *d = json_array();
        for (int k = 0; k < v->ndims; k++) json_array_append_new(d, json_string(v->dims[k]));
        json_t *jv = json_pack("{s:o, s:s}", "dimensions", d, "type", "data");
        if (v->units) json_object_set_new(jv, "unit", json_string(v->units));
        if (v->long_name) json_object_set_new(jv, "description", json_string(v->long_name));
        json_object_set_new(vars, v->name, jv);
    }
    json_object_set_new(props, "cube:dimensions", dims);
    json_object_set_new(props, "cube:variables", vars);
}

static json_t *item_from_dataset(const char *path, const nd_dataset *ds, size_t fi, const nd_ingest_ctx *ctx,
                                 bool served, nd_error *e) {
    struct stat st;
    if (stat(path, &st)) return nd_fail(e, ND_E_IO, "path", "cannot stat the file"), NULL;
    json_t *props = json_object();
    /* time: the steps of this file, else the file's modification time */
    double t0 = (double)st.st_mtime, t1 = t0;
    bool timed = false;
    if (ds->time && ds->time->n) {
        bool first = true;
        for (size_t i = 0; i < ds->time->n; i++) {
            if (ds->time->file_index && ds->time->file_index[i] != fi) continue;
            double t = to_epoch(&ds->time->dates[i]);
            if (first || t < t0) t0 = t;
            if (first || t > t1) t1 = t;
            first = false;
        }
        timed = !first;
    }
    set_time(props, t0, t1);
    if (ds->epsg) json_object_set_new(props, "proj:code", json_sprintf("EPSG:%d", ds->epsg));
    else json_object_set_new(props, "proj:wkt2", json_string(ds->crs_wkt ? ds->crs_wkt : ""));
    json_object_set_new(props, "proj:shape", json_pack("[I,I]", (json_int_t)ds->height, (json_int_t)ds->width));
    const double *gt = ds->geotransform;
    json_object_set_new(props, "proj:transform", json_pack("[f,f,f,f,f,f,f,f,f]", gt[1], gt[2], gt[0], gt[4], gt[5],
                                                           gt[3], 0.0, 0.0, 1.0));
    json_object_set_new(props, "proj:bbox", json_pack("[f,f,f,f]", ds->bbox[0], ds->bbox[1], ds->bbox[2], ds->bbox[3]));
    json_t *exts = json_pack("[s,s,s]", EXT_PROJ, EXT_RASTER, EXT_FILE);
    if (ds->kind == ND_DS_NETCDF) {
        json_array_append_new(exts, json_string(EXT_CUBE));
        datacube(props, ds, t0, t1);
    } else {
        json_array_append_new(exts, json_string(EXT_EO));
    }

    /* the data file with its bands */
    json_t *bands = json_array(), *eo = json_array();
    for (size_t i = 0; i < ds->nvars; i++) {
        const nd_variable *v = &ds->vars[i];
        json_t *b = json_pack("{s:s, s:s}", "name", v->name, "data_type",
                              v->gdal_type ? gdal_type_name(v->gdal_type) : nc_type_name(v->nc_type));
        if (v->has_fill) json_object_set_new(b, "nodata", json_real(v->fill));
        if (v->scale != 1) json_object_set_new(b, "scale", json_real(v->scale));
        if (v->offset != 0) json_object_set_new(b, "offset", json_real(v->offset));
        if (v->units) json_object_set_new(b, "unit", json_string(v->units));
        json_array_append_new(bands, b);
        json_t *eb = json_pack("{s:s}", "name", v->name);
        if (v->long_name) json_object_set_new(eb, "description", json_string(v->long_name));
        json_array_append_new(eo, eb);
    }
    json_t *data = json_pack("{s:s, s:s, s:[s], s:o, s:I}", "href", "", "type",
                             ds->kind == ND_DS_NETCDF ? "application/x-netcdf" : "image/tiff; application=geotiff",
                             "roles", "data", "raster:bands", bands, "file:size", (json_int_t)st.st_size);
    char idbuf[256];
    item_id_of(path, idbuf, sizeof idbuf);
    json_object_set_new(data, "href", file_href(ctx->collection, idbuf));
    if (ds->kind != ND_DS_NETCDF) json_object_set_new(data, "eo:bands", eo);
    else json_decref(eo);
    if (ctx->checksum) {
        char hex[65];
        if (nd_cat_sha256_file(path, hex) == 0)
            json_object_set_new(data, "file:checksum", json_sprintf("1220%s", hex)); /* multihash: sha2-256 */
    }
    json_t *assets = json_pack("{s:o}", "data", data);
    if (served) {
        char iso[40];
        nd_cat_time_format(t0, iso);
        server_assets(assets, ds, ds->wgs84, iso, timed);
    }

    /* footprint: the valid data of the first variable, else the box */
    json_t *geom = NULL;
    if (ds->nvars) {
        nd_buf src = {0};
        if (ds->kind == ND_DS_NETCDF) nd_buf_printf(&src, "NETCDF:\"%s\":%s", path, ds->vars[0].name);
        else nd_buf_puts(&src, path);
        geom = nd_cat_footprint_raster(src.data, ds->crs_wkt);
        nd_buf_free(&src);
    }
    if (geom) { /* an outline that GEOS finds invalid after reprojection falls back to the box */
        nd_arena *a = nd_arena_new(0);
        nd_geom g;
        char why[160];
        if (nd_geom_from_geojson(a, geom, &g, why, sizeof why)) {
            json_decref(geom);
            geom = NULL;
        }
        nd_arena_free(a);
    }
    if (!geom) geom = box_geometry(ds->wgs84);
    json_t *it = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "type", "Feature", "stac_version", "1.0.0",
                           "id", idbuf, "stac_extensions", exts, "geometry", geom,
                           "properties", props, "assets", assets, "collection", ctx->collection);
    return it;
}

/* A swath file: the outline from its lat/lon arrays, time from the CF attributes when given. */
static json_t *item_from_swath(const char *path, const nd_ingest_ctx *ctx, nd_error *e) {
    json_t *geom = nd_cat_footprint_swath(path);
    if (!geom) return NULL;
    struct stat st;
    stat(path, &st);
    double t0 = (double)st.st_mtime, t1 = t0;
    int nc;
    if (nc_open(path, NC_NOWRITE, &nc) == 0) {
        char buf[64];
        size_t len;
        static const char *const att[] = {"time_coverage_start", "time_coverage_end"};
        for (int k = 0; k < 2; k++)
            if (!nc_inq_attlen(nc, NC_GLOBAL, att[k], &len) && len < sizeof buf) {
                memset(buf, 0, sizeof buf);
                nc_get_att_text(nc, NC_GLOBAL, att[k], buf);
                nd_cat_time_parse(buf, true, k ? &t1 : &t0);
            }
        nc_close(nc);
        if (t1 < t0) t1 = t0;
    }
    json_t *props = json_object();
    set_time(props, t0, t1);
    char idbuf[256];
    item_id_of(path, idbuf, sizeof idbuf);
    json_t *it = json_pack("{s:s, s:s, s:s, s:[s], s:o, s:o, s:{s:{s:o, s:s, s:[s], s:I}}, s:s}", "type", "Feature",
                           "stac_version", "1.0.0", "id", idbuf, "stac_extensions", EXT_FILE, "geometry", geom,
                           "properties", props, "assets", "data", "href", file_href(ctx->collection, idbuf), "type",
                           "application/x-netcdf", "roles", "data", "file:size", (json_int_t)st.st_size, "collection",
                           ctx->collection);
    return it;
}

json_t *nd_cat_item_from_file(const char *path, const nd_ingest_ctx *ctx, nd_error *e) {
    if (ctx->dataset) return item_from_dataset(path, ctx->dataset, ctx->file_index, ctx, true, e);
    nd_dataset_conf conf = {.id = "ingest", .title = "ingest", .source = (char *)path};
    nd_dataset *ds = NULL;
    char err[512];
    if (nd_dataset_open(&conf, &ds, err, sizeof err) == 0) {
        json_t *it = item_from_dataset(path, ds, 0, ctx, false, e);
        nd_dataset_free(ds);
        return it;
    }
    if (nd_dataset_is_netcdf(path)) {
        json_t *it = item_from_swath(path, ctx, e);
        if (it) return it;
    }
    nd_fail(e, ND_E_INVALID_PARAM, "path", "%s", err);
    return NULL;
}

json_t *nd_cat_collection_from_dataset(const nd_dataset *ds) {
    const nd_dataset_conf *c = ds->conf;
    json_t *kw = json_array();
    for (size_t i = 0; i < c->nkeywords; i++) json_array_append_new(kw, json_string(c->keywords[i]));
    json_t *interval;
    if (ds->time && ds->time->n) {
        char a[40], b[40];
        nd_cat_time_format(to_epoch(&ds->time->dates[0]), a);
        nd_cat_time_format(to_epoch(&ds->time->dates[ds->time->n - 1]), b);
        interval = json_pack("[[s,s]]", a, b);
    } else {
        interval = json_pack("[[n,n]]");
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:{s:{s:[[f,f,f,f]]}, s:{s:o}}, s:[s,s]}", "type",
                          "Collection", "stac_version", "1.0.0", "id", ds->id, "title", c->title ? c->title : ds->id,
                          "description", c->abstract && *c->abstract ? c->abstract : (c->title ? c->title : ds->id),
                          "license", c->license && *c->license ? c->license : "other", "keywords", kw, "nadir:origin",
                          "configuration", "extent", "spatial", "bbox", ds->wgs84[0], ds->wgs84[1], ds->wgs84[2],
                          ds->wgs84[3], "temporal", "interval", interval, "stac_extensions", EXT_PROJ, EXT_CUBE);
    json_t *vars = json_array();
    for (size_t i = 0; i < ds->nvars; i++) json_array_append_new(vars, json_string(ds->vars[i].name));
    json_object_set_new(o, "summaries", json_pack("{s:o}", "variables", vars));
    if (ds->epsg)
        json_object_set_new(json_object_get(o, "summaries"), "proj:code", json_pack("[o]", json_sprintf("EPSG:%d", ds->epsg)));
    return o;
}

static int file_stat(const char *path, struct stat *st) { return stat(path, st) == 0 && S_ISREG(st->st_mode) ? 0 : -1; }

/* Collections made from datasets no longer configured, and items of files no longer in a dataset, go. */
static void drop_stale(nd_cat *c, const nd_registry *reg) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    json_t *gone = json_array();
    if (sqlite3_prepare_v2(db, "SELECT id FROM collections WHERE origin = 'config'", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            if (!nd_registry_get(reg, id)) json_array_append_new(gone, json_pack("[s,n]", id));
        }
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(db, "SELECT f.collection, f.path, f.item FROM files f JOIN collections c ON c.id = f.collection "
                               "WHERE c.origin = 'config'",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const nd_dataset *ds = nd_registry_get(reg, (const char *)sqlite3_column_text(st, 0));
            const char *path = (const char *)sqlite3_column_text(st, 1);
            bool found = false;
            for (size_t f = 0; ds && f < ds->nfiles && !found; f++) found = !strcmp(ds->files[f], path);
            if (ds && !found)
                json_array_append_new(gone, json_pack("[s,s,s]", (const char *)sqlite3_column_text(st, 0),
                                                      (const char *)sqlite3_column_text(st, 2), path));
        }
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    size_t i;
    json_t *g;
    json_array_foreach(gone, i, g) {
        nd_error e;
        const char *coll = json_string_value(json_array_get(g, 0));
        if (json_is_null(json_array_get(g, 1))) {
            nd_cat_delete_collection(c, coll, &e);
        } else {
            nd_cat_delete_item(c, coll, json_string_value(json_array_get(g, 1)), &e);
            sqlite3 *db2 = nd_cat_acquire(c);
            if (sqlite3_prepare_v2(db2, "DELETE FROM files WHERE path = ? AND collection = ?", -1, &st, NULL) ==
                SQLITE_OK) {
                sqlite3_bind_text(st, 1, json_string_value(json_array_get(g, 2)), -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 2, coll, -1, SQLITE_TRANSIENT);
                sqlite3_step(st);
                sqlite3_finalize(st);
            }
            nd_cat_release(c, db2);
        }
    }
    json_decref(gone);
}

/* What a served dataset adds to an item (server_assets), taken away when no configured dataset serves it. */
static const char *const served_assets[] = {"thumbnail", "wms", "wcs", "opendap"};

/* An ingested item of a file that a configured dataset serves gets the dataset's access points for its own box
 * and time: a WMS preview, the WMS layer, a WCS GetCoverage and the OPeNDAP URL. */
static void serve_item(nd_cat *c, const char *collection, const char *id, const nd_dataset *ds) {
    json_t *it = nd_cat_get_item(c, collection, id);
    if (!it) return;
    json_t *assets = json_object_get(it, "assets");
    if (!json_is_object(assets)) json_object_set_new(it, "assets", assets = json_object());
    for (size_t k = 0; k < sizeof served_assets / sizeof served_assets[0]; k++) json_object_del(assets, served_assets[k]);
    json_t *bb = json_object_get(it, "bbox"), *props = json_object_get(it, "properties");
    if (ds && json_array_size(bb) == 4) {
        double box[4];
        for (int k = 0; k < 4; k++) box[k] = json_number_value(json_array_get(bb, (size_t)k));
        const char *t = json_string_value(json_object_get(props, "datetime"));
        if (!t) t = json_string_value(json_object_get(props, "start_datetime"));
        server_assets(assets, ds, box, t ? t : "", t && ds->time && ds->time->n);
    }
    nd_error e = {0};
    nd_cat_put_items(c, collection, &it, 1, ND_PUT_UPSERT, &e);
    json_decref(it);
}

/* Files ingested into other collections (nadir ingest) that a configured dataset serves, and those it no longer
 * serves since the last start: only the items whose serving dataset changed are rewritten. */
static void link_served(nd_cat *c, const nd_registry *reg) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    json_t *change = json_array();
    if (sqlite3_exec(db, "CREATE TEMP TABLE IF NOT EXISTS served(path TEXT PRIMARY KEY, dataset TEXT NOT NULL);"
                         "DELETE FROM temp.served",
                     NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO temp.served(path, dataset) VALUES(?,?)", -1, &st, NULL) ==
            SQLITE_OK) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (size_t d = 0; d < reg->n; d++)
            for (size_t f = 0; f < reg->items[d]->nfiles; f++) {
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, reg->items[d]->files[f], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, reg->items[d]->id, -1, SQLITE_STATIC);
                sqlite3_step(st);
            }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sqlite3_finalize(st);
        if (sqlite3_prepare_v2(db, "SELECT f.path, f.collection, f.item, s.dataset FROM files f "
                                   "LEFT JOIN temp.served s ON s.path = f.path JOIN collections c ON c.id = f.collection "
                                   "WHERE c.origin != 'config' AND f.served_by IS NOT s.dataset",
                               -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW) {
                json_t *row = json_array();
                for (int k = 0; k < 4; k++) {
                    const char *v = (const char *)sqlite3_column_text(st, k);
                    json_array_append_new(row, v ? json_string(v) : json_null());
                }
                json_array_append_new(change, row);
            }
            sqlite3_finalize(st);
        }
    }
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.served", NULL, NULL, NULL);
    nd_cat_release(c, db);
    size_t i;
    json_t *row;
    json_array_foreach(change, i, row) {
        const char *path = json_string_value(json_array_get(row, 0)), *coll = json_string_value(json_array_get(row, 1));
        const char *dsid = json_string_value(json_array_get(row, 3));
        serve_item(c, coll, json_string_value(json_array_get(row, 2)), dsid ? nd_registry_get(reg, dsid) : NULL);
        db = nd_cat_acquire(c);
        if (sqlite3_prepare_v2(db, "UPDATE files SET served_by = ? WHERE path = ? AND collection = ?", -1, &st, NULL) ==
            SQLITE_OK) {
            if (dsid) sqlite3_bind_text(st, 1, dsid, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, coll, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        nd_cat_release(c, db);
    }
    json_decref(change);
}

int nd_cat_sync_datasets(nd_cat *c, const nd_registry *reg, char *err, size_t errlen) {
    int skipped = 0;
    drop_stale(c, reg);
    for (size_t d = 0; d < reg->n; d++) {
        const nd_dataset *ds = reg->items[d];
        json_t *coll = nd_cat_collection_from_dataset(ds);
        nd_error e = {0};
        int rc = nd_cat_put_collection(c, coll, ND_PUT_UPSERT, "config", &e);
        json_decref(coll);
        if (rc) return snprintf(err, errlen, "catalogue: collection %s: %s", ds->id, e.detail), -1;
        for (size_t f = 0; f < ds->nfiles; f++) {
            struct stat st;
            if (file_stat(ds->files[f], &st)) continue;
            if (nd_cat_file_unchanged(c, ds->files[f], ds->id, st.st_size, st.st_mtime)) continue;
            nd_ingest_ctx ctx = {.collection = ds->id, .dataset = ds, .file_index = f, .checksum = true};
            json_t *it = nd_cat_item_from_file(ds->files[f], &ctx, &e);
            rc = it ? nd_cat_put_items(c, ds->id, &it, 1, ND_PUT_UPSERT, &e) : -1;
            if (rc == 0)
                nd_cat_file_record(c, ds->files[f], ds->id, json_string_value(json_object_get(it, "id")), st.st_size,
                                   st.st_mtime, NULL);
            json_decref(it);
            /* the dataset is served all the same: the file is only missing from the catalogue */
            if (rc && skipped++ == 0)
                snprintf(err, errlen, "catalogue: %s of dataset %s: %s", nd_path_base(ds->files[f]), ds->id, e.detail);
        }
    }
    link_served(c, reg);
    return skipped;
}

/* ---------------------------------------------------------------- nadir ingest */

typedef struct walk {
    char **files;
    size_t n, cap;
} walk;

static void collect(walk *w, const char *path, int depth) {
    struct stat st;
    if (stat(path, &st) || w->n >= MAX_FILES) return;
    if (S_ISREG(st.st_mode)) {
        if (w->n == w->cap) w->files = nd_xrealloc(w->files, (w->cap = w->cap ? 2 * w->cap : 64) * sizeof *w->files);
        char *abs = realpath(path, NULL);
        w->files[w->n++] = abs ? abs : nd_xstrdup(path);
        return;
    }
    if (!S_ISDIR(st.st_mode) || depth > 32) return;
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            nd_buf b = {0};
            nd_buf_printf(&b, "%s/%s", path, names[i]->d_name);
            collect(w, b.data, depth + 1);
            nd_buf_free(&b);
        }
        free(names[i]);
    }
    free(names);
}

static void progress_bar(size_t done, size_t total) {
    int width = 40, fill = total ? (int)(width * done / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu files", fill, "########################################", width - fill, "",
            done, total);
    if (done == total) fputc('\n', stderr);
}

/* The collection's extent follows its items. */
static void update_extent(nd_cat *c, const char *collection) {
    json_t *coll = nd_cat_get_collection(c, collection);
    if (!coll) return;
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT min(b.minx), min(b.miny), max(b.maxx), max(b.maxy), min(i.start_dt), "
                               "max(i.end_dt) FROM items i JOIN items_st b ON b.id IN (2 * i.rid, 2 * i.rid + 1) "
                               "WHERE i.collection = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, collection, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            char a[40], b[40];
            nd_cat_time_format(sqlite3_column_double(st, 4), a);
            nd_cat_time_format(sqlite3_column_double(st, 5), b);
            json_object_set_new(coll, "extent",
                                json_pack("{s:{s:[[f,f,f,f]]}, s:{s:[[s,s]]}}", "spatial", "bbox",
                                          sqlite3_column_double(st, 0), sqlite3_column_double(st, 1),
                                          sqlite3_column_double(st, 2), sqlite3_column_double(st, 3), "temporal",
                                          "interval", a, b));
        }
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    nd_error e;
    nd_cat_put_collection(c, coll, ND_PUT_REPLACE, "ingest", &e);
    json_decref(coll);
}

int nd_cat_ingest_paths(nd_cat *c, const char *collection, char **paths, size_t n, bool progress, size_t *added,
                        size_t *skipped) {
    *added = *skipped = 0;
    json_t *coll = nd_cat_get_collection(c, collection);
    nd_error e = {0};
    if (!coll) {
        coll = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:[[f,f,f,f]]}, s:{s:[[n,n]]}}}", "type", "Collection",
                         "stac_version", "1.0.0", "id", collection, "description",
                         "Files ingested with nadir ingest", "license", "other", "extent", "spatial", "bbox", -180.0,
                         -90.0, 180.0, 90.0, "temporal", "interval");
        if (nd_cat_put_collection(c, coll, ND_PUT_CREATE, "ingest", &e)) {
            fprintf(stderr, "nadir ingest: collection %s: %s\n", collection, e.detail);
            json_decref(coll);
            return 1;
        }
    }
    json_decref(coll);
    walk w = {0};
    for (size_t i = 0; i < n; i++) {
        size_t before = w.n;
        collect(&w, paths[i], 0);
        if (w.n == before) fprintf(stderr, "nadir ingest: %s: no such file or directory\n", paths[i]);
    }
    int failures = 0;
    for (size_t i = 0; i < w.n; i++) {
        const char *path = w.files[i];
        struct stat st;
        if (progress) progress_bar(i, w.n);
        if (file_stat(path, &st) || nd_cat_file_unchanged(c, path, collection, st.st_size, st.st_mtime)) {
            (*skipped)++;
            continue;
        }
        nd_ingest_ctx ctx = {.collection = collection, .checksum = true};
        json_t *it = nd_cat_item_from_file(path, &ctx, &e);
        int rc = it ? nd_cat_put_items(c, collection, &it, 1, ND_PUT_UPSERT, &e) : -1;
        if (rc == 0) {
            char hex[65] = "";
            const char *sum = json_string_value(
                json_object_get(json_object_get(json_object_get(it, "assets"), "data"), "file:checksum"));
            if (sum && strlen(sum) == 68) memcpy(hex, sum + 4, 65);
            nd_cat_file_record(c, path, collection, json_string_value(json_object_get(it, "id")), st.st_size,
                               st.st_mtime, hex[0] ? hex : NULL);
            (*added)++;
        } else {
            if (progress) fputc('\n', stderr);
            fprintf(stderr, "nadir ingest: %s: skipped: %s\n", path, e.detail);
            failures++;
        }
        json_decref(it);
    }
    if (progress) progress_bar(w.n, w.n);
    for (size_t i = 0; i < w.n; i++) free(w.files[i]);
    free(w.files);
    update_extent(c, collection);
    return failures;
}
