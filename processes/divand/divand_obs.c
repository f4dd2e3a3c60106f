/* Observation tables for DIVAnd: ODV spreadsheet and CSV parsers (line-numbered reports of what was
 * refused), writers, and ISO 8601 times as days since 1970. NetCDF point files are in divand_obsnc.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "divand_obs.h"

#define REPORT_MAX_LINES 50
#define MAX_COLS 256

void nd_dv_table_free(nd_dv_table *t) {
    free(t->lon), free(t->lat), free(t->depth), free(t->time), free(t->value), free(t->report);
    memset(t, 0, sizeof *t);
}

int nd_dv_table_add(nd_dv_table *t, double lon, double lat, double depth, double time, double value) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        double **cols[] = {&t->lon, &t->lat, &t->depth, &t->time, &t->value};
        for (int k = 0; k < 5; k++) {
            double *p = realloc(*cols[k], cap * sizeof *p);
            if (!p) return -1;
            *cols[k] = p;
        }
        t->cap = cap;
    }
    t->lon[t->n] = lon, t->lat[t->n] = lat, t->depth[t->n] = depth, t->time[t->n] = time, t->value[t->n] = value;
    t->n++;
    return 0;
}

static void bad_line(nd_dv_table *t, size_t line, const char *fmt, ...) {
    t->nbad++;
    if (t->nbad > REPORT_MAX_LINES) return;
    char msg[256];
    int k = snprintf(msg, sizeof msg, "line %zu: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    size_t ml = strlen(msg);
    char *r = realloc(t->report, t->report_len + ml + 2);
    if (!r) return;
    t->report = r;
    memcpy(r + t->report_len, msg, ml);
    r[t->report_len + ml] = '\n';
    t->report_len += ml + 1;
    r[t->report_len] = '\0';
}

/* days_from_civil (proleptic Gregorian). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

int nd_dv_parse_time(const char *s, double *days) {
    int y, mo, d, h = 0, mi = 0, n = 0;
    double sec = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5) return -1;
        p += 1 + k;
        if (*p == ':') {
            char *end;
            sec = strtod(p + 1, &end);
            if (end == p + 1) return -1;
            p = end;
        }
    }
    if (*p == 'Z') p++;
    if (*p) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec < 0 || sec >= 61) return -1;
    *days = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) + (h * 3600.0 + mi * 60.0 + sec) / 86400.0;
    return 0;
}

void nd_dv_format_time(double days, char *buf, size_t n) {
    time_t t = (time_t)llround(days * 86400.0);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

static bool parse_num(const char *s, double *v) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return false;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    return !*end && errno == 0 && isfinite(*v);
}

/* SeaDataNet quality flags kept: no QC, good, probably good, changed, interpolated. */
static bool flag_ok(const char *f) {
    while (isspace((unsigned char)*f)) f++;
    if (!*f) return true;
    return f[1] == '\0' && strchr("01258", f[0]) != NULL;
}

typedef struct cols {
    int lon, lat, depth, time, value, flag, ncol;
} cols;

/* Splits a line in place at delim; returns the field count. */
static int split(char *line, char delim, char **f, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return -1;
        f[n++] = p;
        char *d = strchr(p, delim);
        if (!d) break;
        *d = '\0';
        p = d + 1;
    }
    for (int i = 0; i < n; i++) { /* trim and unquote */
        char *s = f[i];
        while (isspace((unsigned char)*s)) s++;
        size_t l = strlen(s);
        while (l && isspace((unsigned char)s[l - 1])) s[--l] = '\0';
        if (l >= 2 && s[0] == '"' && s[l - 1] == '"') s[l - 1] = '\0', s++;
        f[i] = s;
    }
    return n;
}

static bool starts_ci(const char *s, const char *prefix) { return strncasecmp(s, prefix, strlen(prefix)) == 0; }

/* Column roles from the header line: ODV labels ("Longitude [degrees_east]") or CSV names. */
static int header_cols(char **f, int n, const char *parameter, bool odv, cols *c, char *label, size_t lablen,
                       char *err, size_t errlen) {
    *c = (cols){-1, -1, -1, -1, -1, -1, n};
    for (int i = 0; i < n; i++) {
        const char *h = f[i];
        if (c->lon < 0 && (starts_ci(h, "longitude") || strcasecmp(h, "lon") == 0)) c->lon = i;
        else if (c->lat < 0 && (starts_ci(h, "latitude") || strcasecmp(h, "lat") == 0)) c->lat = i;
        else if (c->depth < 0 && starts_ci(h, "depth")) c->depth = i;
        else if (c->time < 0 && (starts_ci(h, "yyyy-mm-dd") || strcasecmp(h, "time") == 0 || strcasecmp(h, "date") == 0 ||
                                 strcasecmp(h, "datetime") == 0))
            c->time = i;
    }
    if (c->lon < 0 || c->lat < 0) {
        snprintf(err, errlen, "the header names no longitude/latitude columns");
        return -1;
    }
    int after = c->depth > c->lat ? c->depth : c->lat;
    for (int i = 0; i < n && c->value < 0; i++) {
        if (i == c->lon || i == c->lat || i == c->depth || i == c->time || starts_ci(f[i], "QV:")) continue;
        if (parameter && *parameter) {
            if (starts_ci(f[i], parameter)) c->value = i;
        } else if (odv ? i > after : (strcasecmp(f[i], "value") == 0 || (i > after && !starts_ci(f[i], "flag") &&
                                                                         !starts_ci(f[i], "qc"))))
            c->value = i;
    }
    if (c->value < 0) {
        snprintf(err, errlen, "no column %s%s%s in the header", parameter && *parameter ? "'" : "for the values",
                 parameter && *parameter ? parameter : "", parameter && *parameter ? "'" : "");
        return -1;
    }
    snprintf(label, lablen, "%s", f[c->value]);
    if (c->value + 1 < n && (starts_ci(f[c->value + 1], "QV:") || strcasecmp(f[c->value + 1], "flag") == 0 ||
                             strcasecmp(f[c->value + 1], "qc") == 0))
        c->flag = c->value + 1;
    return 0;
}

static int read_delimited(const char *text, size_t len, const char *parameter, size_t max_rows, bool odv,
                          nd_dv_table *t, char *err, size_t errlen) {
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    char delim = odv ? '\t' : ',';
    cols c = {0};
    bool have_header = false;
    double plon = NAN, plat = NAN, ptime = NAN; /* ODV: metadata carried down a station's rows */
    size_t lineno = 0;
    char *f[MAX_COLS];
    int rc = 0;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        lineno++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = '\0';
        char *next = nl ? nl + 1 : NULL;
        const char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || (odv && strncmp(s, "//", 2) == 0) || (!odv && *s == '#')) {
            line = next;
            continue;
        }
        if (!odv && !have_header && strchr(line, ',') == NULL && strchr(line, ';') != NULL) delim = ';';
        int n = split(line, delim, f, MAX_COLS);
        if (!have_header) {
            if (n < 0 || header_cols(f, n, parameter, odv, &c, t->parameter, sizeof t->parameter, err, errlen) < 0) {
                if (n < 0) snprintf(err, errlen, "line %zu: more than %d columns", lineno, MAX_COLS);
                rc = -1;
                break;
            }
            have_header = true;
            line = next;
            continue;
        }
        if (n < 0 || n < c.ncol - (odv ? c.ncol : 0) || n <= c.value) {
            bad_line(t, lineno, "%d fields, expected %d", n, c.ncol);
            line = next;
            continue;
        }
        double lon = plon, lat = plat, depth = 0, tm = odv ? ptime : NAN, v;
        const char *why = NULL;
        if (*f[c.lon] && !parse_num(f[c.lon], &lon)) why = "longitude is not a number";
        else if (*f[c.lat] && !parse_num(f[c.lat], &lat)) why = "latitude is not a number";
        else if (c.time >= 0 && c.time < n && *f[c.time] && nd_dv_parse_time(f[c.time], &tm) < 0 &&
                 !parse_num(f[c.time], &tm))
            why = "time is not ISO 8601";
        else if (c.depth >= 0 && c.depth < n && *f[c.depth] && !parse_num(f[c.depth], &depth))
            why = "depth is not a number";
        else if (!isfinite(lon) || !isfinite(lat)) why = "no position";
        else if (lon < -180 || lon > 360 || lat < -90 || lat > 90) why = "position out of range";
        if (why) {
            bad_line(t, lineno, "%s", why);
            line = next;
            continue;
        }
        if (odv) plon = lon, plat = lat, ptime = tm;
        if (!*f[c.value]) { /* a missing value: nothing to report */
            line = next;
            continue;
        }
        if (!parse_num(f[c.value], &v)) {
            bad_line(t, lineno, "value '%.32s' is not a number", f[c.value]);
            line = next;
            continue;
        }
        if (c.flag >= 0 && c.flag < n && !flag_ok(f[c.flag])) {
            t->nflagged++;
            line = next;
            continue;
        }
        if (t->n >= max_rows) {
            snprintf(err, errlen, "more than %zu observations", max_rows);
            rc = -1;
            break;
        }
        if (nd_dv_table_add(t, lon > 180 ? lon - 360 : lon, lat, depth, tm, v) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        line = next;
    }
    if (rc == 0 && !have_header) {
        snprintf(err, errlen, "no header line");
        rc = -1;
    }
    free(buf);
    return rc;
}

int nd_dv_read_odv(const char *text, size_t len, const char *parameter, size_t max_rows, nd_dv_table *t, char *err,
                   size_t errlen) {
    return read_delimited(text, len, parameter, max_rows, true, t, err, errlen);
}

int nd_dv_read_csv(const char *text, size_t len, const char *parameter, size_t max_rows, nd_dv_table *t, char *err,
                   size_t errlen) {
    return read_delimited(text, len, parameter, max_rows, false, t, err, errlen);
}

/* ODV generic spreadsheet with the SeaDataNet semantic header: one station per (position, time). */
int nd_dv_write_odv(const char *path, const nd_dv_table *t, const char *label, const char *units, const char *p01,
                    char *err, size_t errlen) {
    FILE *fp = fopen(path, "w");
    if (!fp) {
        snprintf(err, errlen, "cannot write the ODV file");
        return -1;
    }
    fprintf(fp, "//SDN_parameter_mapping\n");
    fprintf(fp, "//<subject>SDN:LOCAL:%s</subject><object>SDN:P01::%s</object><units>SDN:P06::%s</units>\n", label,
            p01, strcmp(units, "degC") == 0 ? "UPAA" : "UUUU");
    fprintf(fp, "//<subject>SDN:LOCAL:Depth</subject><object>SDN:P01::ADEPZZ01</object><units>SDN:P06::ULAA</units>\n");
    fprintf(fp, "// Synthetic observations written by nadir (DIVAnd demo)\n");
    fprintf(fp, "Cruise\tStation\tType\tyyyy-mm-ddThh:mm:ss.sss\tLongitude [degrees_east]\tLatitude [degrees_north]\t"
                "LOCAL_CDI_ID\tEDMO_code\tBot. Depth [m]\tDepth [m]\tQV:SEADATANET\t%s [%s]\tQV:SEADATANET\n",
            label, units);
    size_t station = 0;
    for (size_t i = 0; i < t->n; i++) {
        bool same = i > 0 && t->lon[i] == t->lon[i - 1] && t->lat[i] == t->lat[i - 1] && t->time[i] == t->time[i - 1];
        if (!same) {
            char ts[32];
            nd_dv_format_time(t->time[i], ts, sizeof ts);
            station++;
            fprintf(fp, "demo\t%zu\tB\t%s.000\t%.5f\t%.5f\tdemo_%zu\t1579\t\t", station, ts, t->lon[i], t->lat[i], station);
        } else {
            fprintf(fp, "\t\t\t\t\t\t\t\t\t");
        }
        fprintf(fp, "%.2f\t1\t%.4f\t1\n", t->depth[i], t->value[i]);
    }
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        snprintf(err, errlen, "cannot write the ODV file");
        return -1;
    }
    return 0;
}

int nd_dv_write_csv(const char *path, const nd_dv_table *t, const char *name, char *err, size_t errlen) {
    FILE *fp = fopen(path, "w");
    if (!fp) {
        snprintf(err, errlen, "cannot write the CSV file");
        return -1;
    }
    fprintf(fp, "longitude,latitude,depth,time,%s\n", name);
    for (size_t i = 0; i < t->n; i++) {
        char ts[32];
        nd_dv_format_time(t->time[i], ts, sizeof ts);
        fprintf(fp, "%.5f,%.5f,%.2f,%s,%.4f\n", t->lon[i], t->lat[i], t->depth[i], ts, t->value[i]);
    }
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        snprintf(err, errlen, "cannot write the CSV file");
        return -1;
    }
    return 0;
}

int nd_dv_fit_plane(size_t n, const double *x, const double *y, const double *v, double c[3]) {
    /* Normal equations in centred coordinates (well conditioned), solved by Cramer's rule. */
    double mx = 0, my = 0, mv = 0;
    for (size_t i = 0; i < n; i++) mx += x[i], my += y[i], mv += v[i];
    if (n < 3) return -1;
    mx /= (double)n, my /= (double)n, mv /= (double)n;
    double sxx = 0, sxy = 0, syy = 0, sxv = 0, syv = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my, w = v[i] - mv;
        sxx += a * a, sxy += a * b, syy += b * b, sxv += a * w, syv += b * w;
    }
    double det = sxx * syy - sxy * sxy;
    if (!(fabs(det) > 1e-12 * (sxx * syy + 1e-300))) return -1;
    c[1] = (sxv * syy - syv * sxy) / det;
    c[2] = (syv * sxx - sxv * sxy) / det;
    c[0] = mv - c[1] * mx - c[2] * my;
    return 0;
}

