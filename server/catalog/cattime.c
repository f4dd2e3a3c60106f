/* RFC 3339 instants and STAC/OGC datetime intervals as seconds since 1970 (UTC). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/catalog.h"

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

int nd_cat_time_parse(const char *s, bool date_ok, double *out) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    size_t len = strlen(s);
    if (len < 10 || len > 40 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100) || y % 400 == 0)) return -1;
    const char *p = s + 10;
    double frac = 0, tz = 0;
    if (*p == 0) {
        if (!date_ok) return -1;
    } else {
        if ((*p != 'T' && *p != 't' && *p != ' ') || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) ||
            p[6] != ':' || digits(p + 7, 2, &se))
            return -1;
        if (h > 23 || mi > 59 || se > 60) return -1;
        p += 9;
        if (*p == '.') {
            double scale = 0.1;
            if (!isdigit((unsigned char)p[1])) return -1;
            for (p++; isdigit((unsigned char)*p); p++, scale /= 10) frac += (*p - '0') * scale;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int th, tm;
            if (digits(p + 1, 2, &th) || p[3] != ':' || digits(p + 4, 2, &tm) || th > 23 || tm > 59) return -1;
            tz = (*p == '+' ? 1 : -1) * (th * 3600.0 + tm * 60.0);
            p += 6;
        } else {
            return -1;
        }
        if (*p) return -1;
    }
    *out = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + se + frac - tz;
    return 0;
}

static bool open_end(const char *s, size_t n) { return n == 0 || (n == 2 && s[0] == '.' && s[1] == '.'); }

int nd_cat_interval_parse(const char *s, double out[2]) {
    const char *slash = strchr(s, '/');
    if (!slash) {
        if (nd_cat_time_parse(s, true, &out[0])) return -1;
        out[1] = out[0];
        return 0;
    }
    if (strchr(slash + 1, '/')) return -1;
    char a[48], b[48];
    size_t na = (size_t)(slash - s), nb = strlen(slash + 1);
    if (na >= sizeof a || nb >= sizeof b) return -1;
    memcpy(a, s, na);
    a[na] = 0;
    memcpy(b, slash + 1, nb + 1);
    if (open_end(a, na) && open_end(b, nb)) return -1;
    if (open_end(a, na)) out[0] = ND_T_MIN;
    else if (nd_cat_time_parse(a, true, &out[0])) return -1;
    if (open_end(b, nb)) out[1] = ND_T_MAX;
    else if (nd_cat_time_parse(b, true, &out[1])) return -1;
    /* A date alone as the end means the whole day. */
    if (nb == 10 && !open_end(b, nb)) out[1] += 86399.999;
    return out[0] <= out[1] ? 0 : -1;
}

void nd_cat_time_format(double t, char out[40]) {
    double fl = floor(t);
    time_t sec = (time_t)fl;
    int ms = (int)llround((t - fl) * 1000);
    if (ms == 1000) sec++, ms = 0;
    struct tm tm;
    gmtime_r(&sec, &tm);
    if (ms)
        snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    else
        snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
}
