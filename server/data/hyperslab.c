/* Raw hyperslabs in the stored type: netCDF-C per file of an aggregation, GDAL RasterIO for rasters. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>
#include <gdal.h>
#include <netcdf.h>

#include "nadir/read.h"
#include "nadir/schema.h"

#define MAX_DIMS 64

/* netCDF-C (and the HDF5 beneath it) is not thread-safe; every call from the request threads goes
 * through this one lock. */
static pthread_mutex_t nc_lock = PTHREAD_MUTEX_INITIALIZER;

/* HDF5 keeps its automatic error printing per thread and netCDF-C turns it off only in the thread that
 * initialised it: in request threads HDF5 would print a trace for every optional attribute netCDF-C probes.
 * HDF5 is loaded with netCDF-C, so its switch is looked up rather than linked. */
static _Thread_local bool hdf5_quiet;

static void quiet_hdf5(void) {
    if (hdf5_quiet) return;
    hdf5_quiet = true;
    typedef int (*set_auto_fn)(int64_t estack, void *func, void *data);
    set_auto_fn set_auto = (set_auto_fn)dlsym(RTLD_DEFAULT, "H5Eset_auto2");
    if (set_auto) set_auto(0 /* H5E_DEFAULT */, NULL, NULL);
}

void nd_nc_lock(void) {
    pthread_mutex_lock(&nc_lock);
    quiet_hdf5();
}
void nd_nc_unlock(void) { pthread_mutex_unlock(&nc_lock); }

size_t nd_var_type_size(const nd_variable *v) {
    if (v->band) return (size_t)GDALGetDataTypeSizeBytes((GDALDataType)v->gdal_type);
    switch (v->nc_type) {
    case NC_BYTE: case NC_UBYTE: case NC_CHAR: return 1;
    case NC_SHORT: case NC_USHORT: return 2;
    case NC_INT: case NC_UINT: case NC_FLOAT: return 4;
    case NC_INT64: case NC_UINT64: case NC_DOUBLE: return 8;
    case NC_STRING: return sizeof(char *); /* pointers allocated by netCDF-C: nc_free_string() them */
    default: return 0;
    }
}

/* Index of the aggregated time dimension in v, or -1 when v does not span it or there is one file. */
static int time_dim(const nd_dataset *ds, const nd_variable *v) {
    if (!ds->time || ds->nfiles < 2) return -1;
    for (int k = 0; k < v->ndims; k++)
        if (strcmp(v->dims[k], ds->time->name) == 0) return k;
    return -1;
}

static int check_window(const nd_variable *v, const size_t *start, const size_t *count, const ptrdiff_t *stride,
                        nd_error *err) {
    if (v->ndims > MAX_DIMS) return nd_fail(err, ND_E_NOT_IMPLEMENTED, v->name, "Too many dimensions");
    for (int k = 0; k < v->ndims; k++) {
        if (stride[k] < 1)
            return nd_fail(err, ND_E_INVALID_PARAM, v->dims[k], "Stride must be at least 1 on %s", v->dims[k]);
        if (count[k] == 0) continue;
        /* last = start + (count-1)*stride, checked without overflow */
        if (start[k] >= v->shape[k] || (count[k] - 1) > (v->shape[k] - 1 - start[k]) / (size_t)stride[k])
            return nd_fail(err, ND_E_INVALID_PARAM, v->dims[k], "Index range outside 0..%zu on %s",
                           v->shape[k] ? v->shape[k] - 1 : 0, v->dims[k]);
    }
    return 0;
}

static int nc_fail(nd_error *err, const nd_variable *v, const char *path, int rc) {
    return nd_fail(err, ND_E_IO, v->name, "Cannot read %s from %s (%s)", v->name, nd_path_base(path), nc_strerror(rc));
}

/* One nc_get_vars on one file, under the lock. */
static int read_nc(const char *path, const nd_variable *v, const size_t *start, const size_t *count,
                   const ptrdiff_t *stride, void *out, nd_error *err) {
    nd_nc_lock();
    int ncid, varid, rc = nc_open(path, NC_NOWRITE, &ncid);
    if (rc == NC_NOERR) {
        int gid = ncid;
        const char *base = v->name, *slash = strrchr(v->name, '/');
        if (slash && slash != v->name) { /* "/g1/g2/v": a variable in a netCDF-4 group */
            char grp[NC_MAX_NAME * 4 + 1];
            snprintf(grp, sizeof grp, "%.*s", (int)(slash - v->name), v->name);
            rc = nc_inq_grp_full_ncid(ncid, grp, &gid);
            base = slash + 1;
        } else if (slash) {
            base = slash + 1;
        }
        if (rc == NC_NOERR) rc = nc_inq_varid(gid, base, &varid);
        if (rc == NC_NOERR) rc = nc_get_vars(gid, varid, start, count, stride, out);
        nc_close(ncid);
    }
    nd_nc_unlock();
    return rc == NC_NOERR ? 0 : nc_fail(err, v, path, rc);
}

/* Joined time index -> files: consecutive selected steps in one file are one strided read. When time is not the
 * outermost dimension the pieces are read aside and scattered into place. */
static int read_aggregated(const nd_dataset *ds, const nd_variable *v, int td, const size_t *start,
                           const size_t *count, const ptrdiff_t *stride, void *out, nd_error *err) {
    size_t esz = nd_var_type_size(v), outer = 1, inner = esz;
    for (int k = 0; k < td; k++) outer *= count[k];
    for (int k = td + 1; k < v->ndims; k++) inner *= count[k];
    size_t lstart[MAX_DIMS], lcount[MAX_DIMS];
    memcpy(lstart, start, (size_t)v->ndims * sizeof *lstart);
    memcpy(lcount, count, (size_t)v->ndims * sizeof *lcount);
    const nd_time_axis *t = ds->time;
    for (size_t i = 0; i < count[td];) {
        size_t ti = start[td] + i * (size_t)stride[td];
        uint32_t f = t->file_index[ti];
        size_t run = 1;
        while (i + run < count[td] && t->file_index[ti + run * (size_t)stride[td]] == f) run++;
        lstart[td] = t->local_index[ti];
        lcount[td] = run;
        char *dst = (char *)out + i * inner;
        char *tmp = NULL;
        if (td > 0) dst = tmp = malloc(outer * run * inner + 1);
        if (!dst) return nd_fail(err, ND_E_INTERNAL, v->name, "Out of memory");
        int rc = read_nc(ds->files[f], v, lstart, lcount, stride, dst, err);
        if (rc == 0 && tmp)
            for (size_t o = 0; o < outer; o++)
                memcpy((char *)out + (o * count[td] + i) * inner, tmp + o * run * inner, run * inner);
        free(tmp);
        if (rc < 0) return rc;
        i += run;
    }
    return 0;
}

/* One band of one file: rows one by one when x is strided (GDAL's decimation would not pick the same cells). */
static int read_band(const char *path, const nd_variable *v, size_t y0, size_t ny, size_t sy, size_t x0, size_t nx,
                     size_t sx, char *out, nd_error *err) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH h = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    GDALRasterBandH b = h ? GDALGetRasterBand(h, v->band) : NULL;
    GDALDataType gt = (GDALDataType)v->gdal_type;
    size_t esz = nd_var_type_size(v), span = (nx - 1) * sx + 1;
    CPLErr e = b ? CE_None : CE_Failure;
    char *row = NULL;
    if (b && sx == 1 && sy == 1) {
        e = GDALRasterIO(b, GF_Read, (int)x0, (int)y0, (int)nx, (int)ny, out, (int)nx, (int)ny, gt, 0, 0);
    } else if (b) {
        row = sx == 1 ? NULL : malloc(span * esz);
        for (size_t j = 0; j < ny && e == CE_None; j++) {
            char *dst = out + j * nx * esz;
            e = GDALRasterIO(b, GF_Read, (int)x0, (int)(y0 + j * sy), (int)span, 1, row ? row : dst, (int)span, 1, gt,
                             0, 0);
            if (row && e == CE_None)
                for (size_t i = 0; i < nx; i++) memcpy(dst + i * esz, row + i * sx * esz, esz);
        }
    }
    free(row);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", CPLGetLastErrorMsg());
    if (h) GDALClose(h);
    CPLPopErrorHandler();
    if (e != CE_None)
        return nd_fail(err, ND_E_IO, v->name, "Cannot read band %d of %s (%s)", v->band, nd_path_base(path), msg);
    return 0;
}

static int read_raster(const nd_dataset *ds, const nd_variable *v, const size_t *start, const size_t *count,
                       const ptrdiff_t *stride, void *out, nd_error *err) {
    int yd = v->ndims - 2, xd = v->ndims - 1;
    size_t plane = count[yd] * count[xd] * nd_var_type_size(v);
    size_t nt = v->ndims == 3 ? count[0] : 1;
    for (size_t i = 0; i < nt; i++) {
        size_t f = 0;
        if (v->ndims == 3) {
            size_t ti = start[0] + i * (size_t)stride[0];
            f = ds->time ? ds->time->file_index[ti] : ti;
        }
        if (f >= ds->nfiles) return nd_fail(err, ND_E_INTERNAL, v->name, "Time step without a file");
        int rc = read_band(ds->files[f], v, start[yd], count[yd], (size_t)stride[yd], start[xd], count[xd],
                           (size_t)stride[xd], (char *)out + i * plane, err);
        if (rc < 0) return rc;
    }
    return 0;
}

int nd_read_hyperslab(const nd_dataset *ds, const nd_variable *v, const size_t *start, const size_t *count,
                      const ptrdiff_t *stride, void *out, nd_error *err) {
    int rc = check_window(v, start, count, stride, err);
    if (rc < 0) return rc;
    for (int k = 0; k < v->ndims; k++)
        if (count[k] == 0) return 0;
    if (v->band) {
        if (v->ndims != 2 && v->ndims != 3)
            return nd_fail(err, ND_E_INTERNAL, v->name, "A raster band has 2 or 3 dimensions");
        return read_raster(ds, v, start, count, stride, out, err);
    }
    if (!nd_var_type_size(v)) return nd_fail(err, ND_E_NOT_IMPLEMENTED, v->name, "Type of %s not supported", v->name);
    int td = time_dim(ds, v);
    if (td >= 0) return read_aggregated(ds, v, td, start, count, stride, out, err);
    return read_nc(ds->files[0], v, start, count, stride, out, err);
}
