/* Observation tables for DIVAnd: longitude, latitude, depth, time and value (with quality flags
 * applied), read from ODV spreadsheets (SeaDataNet semantic header), CSV or CF NetCDF point files and
 * written back in those forms. Malformed lines are reported with their numbers; the rest is kept. */
#ifndef NADIR_PROCESSES_DIVAND_OBS_H
#define NADIR_PROCESSES_DIVAND_OBS_H

#include <stddef.h>

typedef struct nd_dv_table {
    size_t n, cap;
    double *lon, *lat, *depth, *time; /* time: days since 1970-01-01T00:00:00Z */
    double *value;
    char parameter[128];              /* the label of the value column ("Temperature [degC]") */
    size_t nbad;                      /* malformed lines */
    size_t nflagged;                  /* values refused by their quality flag */
    char *report;                     /* "line N: why" lines, the first 50 (malloc) */
    size_t report_len;
} nd_dv_table;

void nd_dv_table_free(nd_dv_table *t);
int nd_dv_table_add(nd_dv_table *t, double lon, double lat, double depth, double time, double value);

/* Parsers of text already in memory (at most max_rows rows). parameter: the value column's label or its
 * prefix; NULL or "": the first data column. Returns 0, or -1 with err when nothing usable is there
 * (no header, no such column, too many rows). */
int nd_dv_read_odv(const char *text, size_t len, const char *parameter, size_t max_rows, nd_dv_table *t, char *err,
                   size_t errlen);
int nd_dv_read_csv(const char *text, size_t len, const char *parameter, size_t max_rows, nd_dv_table *t, char *err,
                   size_t errlen);
int nd_dv_read_netcdf(const char *path, const char *parameter, size_t max_rows, nd_dv_table *t, char *err,
                      size_t errlen);

/* Writers; cruise: the cruise label per row or NULL. */
int nd_dv_write_odv(const char *path, const nd_dv_table *t, const char *label, const char *units, const char *p01,
                    char *err, size_t errlen);
int nd_dv_write_csv(const char *path, const nd_dv_table *t, const char *name, char *err, size_t errlen);
int nd_dv_write_netcdf(const char *path, const nd_dv_table *t, const char *name, const char *units, char *err,
                       size_t errlen);

/* Least-squares plane v ≈ c[0] + c[1] x + c[2] y (the "fitted trend" background); -1 when singular. */
int nd_dv_fit_plane(size_t n, const double *x, const double *y, const double *v, double c[3]);

/* ISO 8601 (yyyy-mm-dd[Thh:mm[:ss[.sss]]][Z]) to days since 1970-01-01; -1 when malformed. */
int nd_dv_parse_time(const char *s, double *days);
void nd_dv_format_time(double days, char *buf, size_t n);

#endif
