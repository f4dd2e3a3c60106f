/* CF-conventions time: the six CF calendars, "UNITS since EPOCH" strings, and exact decoding/encoding of time values. */
#include "nadir/cftime.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Dates are computed as a day number plus microseconds of the day, both integers,
 * so that "hours since 1800-01-01" = 1946016 lands exactly on a whole hour. */
#define US_PER_S INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_S)

typedef struct {
    int64_t days; /* calendar-specific day number; only differences within one calendar matter */
    int64_t us;   /* 0 <= us < US_PER_DAY once normalised */
} stamp;

static const struct {
    const char *name;
    nd_calendar cal;
} cal_names[] = {
    {"standard", ND_CAL_STANDARD},         {"gregorian", ND_CAL_STANDARD},
    {"proleptic_gregorian", ND_CAL_PROLEPTIC_GREGORIAN},
    {"julian", ND_CAL_JULIAN},             {"noleap", ND_CAL_NOLEAP},
    {"365_day", ND_CAL_NOLEAP},            {"all_leap", ND_CAL_ALL_LEAP},
    {"366_day", ND_CAL_ALL_LEAP},          {"360_day", ND_CAL_360_DAY},
};

/* Months and years are refused, as CF does: udunits makes them fractions of a
 * tropical year, which no calendar's months or years are. */
static const struct {
    const char *name;
    int64_t us;
} unit_names[] = {
    {"microseconds", 1}, {"microsecond", 1}, {"us", 1},
    {"milliseconds", 1000}, {"millisecond", 1000}, {"msecs", 1000}, {"msec", 1000}, {"ms", 1000},
    {"seconds", US_PER_S}, {"second", US_PER_S}, {"secs", US_PER_S}, {"sec", US_PER_S}, {"s", US_PER_S},
    {"minutes", 60 * US_PER_S}, {"minute", 60 * US_PER_S}, {"mins", 60 * US_PER_S}, {"min", 60 * US_PER_S},
    {"hours", 3600 * US_PER_S}, {"hour", 3600 * US_PER_S}, {"hrs", 3600 * US_PER_S}, {"hr", 3600 * US_PER_S},
    {"h", 3600 * US_PER_S},
    {"days", US_PER_DAY}, {"day", US_PER_DAY}, {"d", US_PER_DAY},
    {"weeks", 7 * US_PER_DAY}, {"week", 7 * US_PER_DAY},
};

static const int cum_days[2][13] = {
    {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
    {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
};

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
static int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

/* ---- calendars ---- */

/* CF 1.9 and cftime: the real-world calendars count 1 BC as year -1 (no year 0),
 * the others use astronomical numbering. */
static bool has_year_zero(nd_calendar cal) { return cal != ND_CAL_STANDARD && cal != ND_CAL_JULIAN; }
static int64_t to_astronomical(int year) { return year < 0 ? (int64_t)year + 1 : year; }
static int64_t from_astronomical(int64_t y) { return y <= 0 ? y - 1 : y; }

static bool gregorian_leap(int64_t y) { return floor_mod(y, 4) == 0 && (floor_mod(y, 100) != 0 || floor_mod(y, 400) == 0); }
static bool julian_leap(int64_t y) { return floor_mod(y, 4) == 0; }

/* Is the date (astronomical year) on or after 1582-10-15, the first Gregorian day? */
static bool on_or_after_reform(int64_t y, int m, int d) {
    if (y != 1582) return y > 1582;
    return m > 10 || (m == 10 && d >= 15);
}

static int month_length(nd_calendar cal, int year, int month) {
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (cal == ND_CAL_360_DAY) return 30;
    if (month != 2) return len[month - 1];
    int64_t y = has_year_zero(cal) ? year : to_astronomical(year);
    switch (cal) {
    case ND_CAL_NOLEAP: return 28;
    case ND_CAL_ALL_LEAP: return 29;
    case ND_CAL_JULIAN: return julian_leap(y) ? 29 : 28;
    case ND_CAL_STANDARD: return (y > 1582 ? gregorian_leap(y) : julian_leap(y)) ? 29 : 28;
    default: return gregorian_leap(y) ? 29 : 28;
    }
}

/* Days since 1970-01-01 (proleptic Gregorian), after H. Hinnant's days_from_civil;
 * the year runs March to February so the leap day comes last. */
static int64_t gregorian_days(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400), yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* Same day numbering as gregorian_days, so Julian 1582-10-04 is the day before Gregorian 1582-10-15. */
static int64_t julian_days(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 4), yoe = y - era * 4;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 1461 + yoe * 365 + doy - 719470;
}

static void march_doy_to_md(int64_t doy, int *m, int *d) {
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
}

static int64_t gregorian_from_days(int64_t z, int *m, int *d) {
    z += 719468;
    int64_t era = floor_div(z, 146097), doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    march_doy_to_md(doe - (365 * yoe + yoe / 4 - yoe / 100), m, d);
    return yoe + era * 400 + (*m <= 2);
}

static int64_t julian_from_days(int64_t z, int *m, int *d) {
    z += 719470;
    int64_t era = floor_div(z, 1461), doe = z - era * 1461;
    int64_t yoe = (doe - doe / 1460) / 365;
    march_doy_to_md(doe - 365 * yoe, m, d);
    return yoe + era * 4 + (*m <= 2);
}

/* Fixed-length-year calendars: day 0 is 0000-01-01. */
static int64_t fixed_days(nd_calendar cal, int64_t y, int m, int d) {
    if (cal == ND_CAL_360_DAY) return y * 360 + (m - 1) * 30 + d - 1;
    int leap = cal == ND_CAL_ALL_LEAP;
    return y * (365 + leap) + cum_days[leap][m - 1] + d - 1;
}

static int64_t fixed_from_days(nd_calendar cal, int64_t z, int *m, int *d) {
    if (cal == ND_CAL_360_DAY) {
        int64_t doy = floor_mod(z, 360);
        *m = (int)(doy / 30) + 1;
        *d = (int)(doy % 30) + 1;
        return floor_div(z, 360);
    }
    int leap = cal == ND_CAL_ALL_LEAP;
    int64_t doy = floor_mod(z, 365 + leap);
    int month = 1;
    while (doy >= cum_days[leap][month]) month++;
    *m = month;
    *d = (int)(doy - cum_days[leap][month - 1]) + 1;
    return floor_div(z, 365 + leap);
}

/* The caller has checked the date exists in cal. */
static int64_t days_of(nd_calendar cal, int year, int m, int d) {
    int64_t y = has_year_zero(cal) ? year : to_astronomical(year);
    switch (cal) {
    case ND_CAL_PROLEPTIC_GREGORIAN: return gregorian_days(y, m, d);
    case ND_CAL_JULIAN: return julian_days(y, m, d);
    case ND_CAL_STANDARD: return on_or_after_reform(y, m, d) ? gregorian_days(y, m, d) : julian_days(y, m, d);
    default: return fixed_days(cal, y, m, d);
    }
}

static int64_t date_of(nd_calendar cal, int64_t z, int *m, int *d) {
    switch (cal) {
    case ND_CAL_PROLEPTIC_GREGORIAN: return gregorian_from_days(z, m, d);
    case ND_CAL_JULIAN: return from_astronomical(julian_from_days(z, m, d));
    case ND_CAL_STANDARD:
        return from_astronomical(z >= gregorian_days(1582, 10, 15) ? gregorian_from_days(z, m, d)
                                                                    : julian_from_days(z, m, d));
    default: return fixed_from_days(cal, z, m, d);
    }
}

static int64_t second_us(double second) { return llround(second * 1e6); }

static void normalise(stamp *s) {
    s->days += floor_div(s->us, US_PER_DAY);
    s->us = floor_mod(s->us, US_PER_DAY);
}

static int to_stamp(const nd_datetime *dt, nd_calendar cal, stamp *out) {
    if (!nd_datetime_valid(dt, cal)) return -1;
    out->days = days_of(cal, dt->year, dt->month, dt->day);
    out->us = ((int64_t)dt->hour * 3600 + dt->minute * 60) * US_PER_S + second_us(dt->second);
    normalise(out); /* 59.9999996 s rounds up to the next minute */
    return 0;
}

static int from_stamp(stamp s, nd_calendar cal, nd_datetime *out) {
    normalise(&s);
    int m, d;
    int64_t y = date_of(cal, s.days, &m, &d);
    if (y < -999999999 || y > 999999999) return -1;
    int64_t sec_us = s.us % (60 * US_PER_S);
    *out = (nd_datetime){(int)y, m, d, (int)(s.us / (3600 * US_PER_S)), (int)(s.us / (60 * US_PER_S) % 60),
                         (double)sec_us / 1e6};
    return 0;
}

int nd_cal_parse(const char *name, nd_calendar *out) {
    if (!out) return -1;
    if (!name || !*name) {
        *out = ND_CAL_STANDARD;
        return 0;
    }
    for (size_t i = 0; i < sizeof cal_names / sizeof cal_names[0]; i++) {
        if (strcasecmp(name, cal_names[i].name) == 0) {
            *out = cal_names[i].cal;
            return 0;
        }
    }
    return -1;
}

const char *nd_cal_name(nd_calendar cal) {
    for (size_t i = 0; i < sizeof cal_names / sizeof cal_names[0]; i++)
        if (cal_names[i].cal == cal) return cal_names[i].name;
    return "unknown";
}

bool nd_datetime_valid(const nd_datetime *dt, nd_calendar cal) {
    if (!dt || (unsigned)cal > ND_CAL_360_DAY) return false;
    if (dt->year < -999999999 || dt->year > 999999999 || (dt->year == 0 && !has_year_zero(cal))) return false;
    if (dt->month < 1 || dt->month > 12 || dt->day < 1 || dt->day > month_length(cal, dt->year, dt->month))
        return false;
    if (cal == ND_CAL_STANDARD && dt->year == 1582 && dt->month == 10 && dt->day > 4 && dt->day < 15) return false;
    if (dt->hour < 0 || dt->hour > 23 || dt->minute < 0 || dt->minute > 59) return false;
    return isfinite(dt->second) && dt->second >= 0 && dt->second < 60;
}

/* ---- text ---- */

/* Reads min..max decimal digits; fails on fewer, stops before more. */
static bool read_digits(const char **p, int min, int max, long *out) {
    const char *s = *p;
    long v = 0;
    int n = 0;
    while (n < max && isdigit((unsigned char)s[n])) v = v * 10 + (s[n++] - '0');
    if (n < min) return false;
    *p = s + n;
    *out = v;
    return true;
}

/* Seconds with an optional fraction, rounded to the microsecond (59.9999999 becomes 60 for the caller to carry). */
static bool read_seconds(const char **p, int min_int_digits, int64_t *us) {
    long whole;
    if (!read_digits(p, min_int_digits, 2, &whole) || whole > 59) return false;
    int64_t frac = 0, scale = US_PER_S;
    if (**p == '.') {
        const char *s = ++*p;
        if (!isdigit((unsigned char)*s)) return false;
        int n = 0;
        for (; isdigit((unsigned char)*s); s++, n++) {
            if (n < 6) {
                scale /= 10;
                frac += (*s - '0') * scale;
            } else if (n == 6 && *s >= '5') {
                frac++;
            }
        }
        *p = s;
    }
    *us = whole * US_PER_S + frac;
    return true;
}

/* "Z", "+hh:mm", "-hhmm", "+h" (udunits' "-6"); returns minutes east of UTC. */
static bool read_offset(const char **p, bool lenient, long *minutes) {
    const char *s = *p;
    if (*s == 'Z' || *s == 'z') {
        *p = s + 1;
        *minutes = 0;
        return true;
    }
    if (*s != '+' && *s != '-') return false;
    int sign = *s++ == '-' ? -1 : 1;
    long h, m = 0;
    if (!read_digits(&s, lenient ? 1 : 2, 2, &h)) return false;
    if (*s == ':') {
        s++;
        if (!read_digits(&s, 2, 2, &m)) return false;
    } else if (isdigit((unsigned char)*s) && !read_digits(&s, 2, 2, &m)) {
        return false;
    }
    if (h > 23 || m > 59) return false;
    *p = s;
    *minutes = sign * (h * 60 + m);
    return true;
}

/* An optional field introduced by sep: absent is fine, sep without its digits is not. */
static bool read_opt_field(const char **p, char sep, int min, int max, long *out) {
    if (**p != sep) return true;
    ++*p;
    return read_digits(p, min, max, out);
}

static const char *skip_spaces(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    return s;
}

/* Fields of a date and time as written, before calendar checks and the UTC offset. */
typedef struct {
    long year, month, day, hour, minute;
    int64_t second_us;
    long offset_min;
} date_fields;

/* Turns written fields into a UTC date of cal, carrying the offset and rounded seconds across days. */
static int fields_to_datetime(const date_fields *f, nd_calendar cal, nd_datetime *out) {
    if (f->hour > 23 || f->minute > 59) return -1;
    nd_datetime dt = {(int)f->year, (int)f->month, (int)f->day, (int)f->hour, (int)f->minute, 0};
    stamp s;
    if (to_stamp(&dt, cal, &s) < 0) return -1;
    s.us += f->second_us - (int64_t)f->offset_min * 60 * US_PER_S;
    return from_stamp(s, cal, out);
}

/* The reference date of a units string, as loosely as udunits and cftime take it:
 * "1-1-1", "1970-01-01 0:0:0.0", "1981-01-01T00:00:00Z", "1970-01-01 00:00:00 +01:00", "... UTC". */
static int parse_reference(const char *s, nd_calendar cal, nd_datetime *out) {
    date_fields f = {0, 1, 1, 0, 0, 0, 0};
    int sign = 1;
    if (*s == '-' || *s == '+') sign = *s++ == '-' ? -1 : 1;
    if (!read_digits(&s, 1, 9, &f.year)) return -1;
    f.year *= sign;
    if (!read_opt_field(&s, '-', 1, 2, &f.month) || !read_opt_field(&s, '-', 1, 2, &f.day)) return -1;
    const char *t = (*s == 'T' || *s == 't') ? s + 1 : skip_spaces(s);
    if (t != s && isdigit((unsigned char)*t)) {
        s = t;
        if (!read_digits(&s, 1, 2, &f.hour) || !read_opt_field(&s, ':', 1, 2, &f.minute)) return -1;
        if (*s == ':') {
            s++;
            if (!read_seconds(&s, 1, &f.second_us)) return -1;
        }
    }
    s = skip_spaces(s);
    if (strncasecmp(s, "UTC", 3) == 0 || strncasecmp(s, "GMT", 3) == 0) s += 3;
    else if (*s && !read_offset(&s, true, &f.offset_min)) return -1;
    s = skip_spaces(s);
    if (strncasecmp(s, "UTC", 3) == 0) s = skip_spaces(s + 3);
    if (*s) return -1;
    return fields_to_datetime(&f, cal, out);
}

int nd_time_units_parse(const char *units, const char *calendar, nd_time_units *out) {
    if (!units || !out) return -1;
    nd_calendar cal;
    if (nd_cal_parse(calendar, &cal) < 0) return -1;
    const char *s = skip_spaces(units);
    size_t n = 0;
    while (isalpha((unsigned char)s[n])) n++;
    int64_t unit_us = 0;
    for (size_t i = 0; i < sizeof unit_names / sizeof unit_names[0]; i++)
        if (strlen(unit_names[i].name) == n && strncasecmp(s, unit_names[i].name, n) == 0) unit_us = unit_names[i].us;
    if (!unit_us) return -1;
    s += n;
    if (!isspace((unsigned char)*s)) return -1;
    s = skip_spaces(s);
    if (strncasecmp(s, "since", 5) != 0 || !isspace((unsigned char)s[5])) return -1;
    nd_datetime epoch;
    if (parse_reference(skip_spaces(s + 5), cal, &epoch) < 0) return -1;
    *out = (nd_time_units){(double)unit_us / 1e6, epoch, cal};
    return 0;
}

/* The unit in whole microseconds; every unit nd_time_units_parse knows is one. */
static int64_t unit_us_of(const nd_time_units *u) {
    double us = u->unit_seconds * 1e6;
    if (!(us >= 1 && us < 1e15) || us != floor(us)) return 0;
    return (int64_t)us;
}

int nd_time_decode(const nd_time_units *u, double value, nd_datetime *out) {
    if (!u || !out || !isfinite(value)) return -1;
    int64_t unit_us = unit_us_of(u);
    stamp s;
    if (!unit_us || fabs(value) >= 0x1p53 || to_stamp(&u->epoch, u->cal, &s) < 0) return -1;
    /* Whole units are multiplied exactly; only the fraction is rounded, to the microsecond. */
    double whole = floor(value);
    int64_t delta;
    if (__builtin_mul_overflow((int64_t)whole, unit_us, &delta) ||
        __builtin_add_overflow(delta, llround((value - whole) * (double)unit_us), &delta))
        return -1;
    s.days += floor_div(delta, US_PER_DAY);
    s.us += floor_mod(delta, US_PER_DAY);
    return from_stamp(s, u->cal, out);
}

int nd_time_encode(const nd_time_units *u, const nd_datetime *dt, double *value) {
    if (!u || !dt || !value) return -1;
    int64_t unit_us = unit_us_of(u), delta;
    stamp e, t;
    if (!unit_us || to_stamp(&u->epoch, u->cal, &e) < 0 || to_stamp(dt, u->cal, &t) < 0) return -1;
    if (__builtin_mul_overflow(t.days - e.days, US_PER_DAY, &delta) ||
        __builtin_add_overflow(delta, t.us - e.us, &delta))
        return -1;
    /* One division of exact integers rounds once, so 0.1 days comes back as the double 0.1;
     * past 2^53 microseconds whole units and the remainder keep whole-unit values exact. */
    if (delta >= -(INT64_C(1) << 53) && delta <= INT64_C(1) << 53)
        *value = (double)delta / (double)unit_us;
    else
        *value = (double)(delta / unit_us) + (double)(delta % unit_us) / (double)unit_us;
    return 0;
}

double nd_datetime_diff_days(const nd_datetime *a, const nd_datetime *b, nd_calendar cal) {
    stamp sa, sb;
    if (to_stamp(a, cal, &sa) < 0 || to_stamp(b, cal, &sb) < 0) return NAN;
    return (double)(sb.days - sa.days) + (double)(sb.us - sa.us) / (double)US_PER_DAY;
}

int nd_datetime_format(const nd_datetime *dt, char *buf, size_t n) {
    if (!dt || !buf || n == 0) return -1;
    int64_t us = isfinite(dt->second) ? second_us(dt->second) : 0;
    if (us < 0) us = 0;
    if (us >= 60 * US_PER_S) us = 60 * US_PER_S - 1; /* no carry: that would need the calendar */
    char year[16], frac[8] = "";
    if (dt->year < 0) snprintf(year, sizeof year, "-%04lld", -(long long)dt->year);
    else if (dt->year > 9999) snprintf(year, sizeof year, "+%d", dt->year); /* ISO 8601 expanded year */
    else snprintf(year, sizeof year, "%04d", dt->year);
    if (us % US_PER_S) {
        snprintf(frac, sizeof frac, ".%06d", (int)(us % US_PER_S));
        for (size_t k = strlen(frac); frac[k - 1] == '0'; k--) frac[k - 1] = '\0';
    }
    int len = snprintf(buf, n, "%s-%02d-%02dT%02d:%02d:%02d%sZ", year, dt->month, dt->day, dt->hour, dt->minute,
                       (int)(us / US_PER_S), frac);
    return len < 0 || (size_t)len >= n ? -1 : len;
}

/* "THH:MM[:SS[.fff]][Z|+hh:mm]" after a full date, fixed-width fields. */
static bool read_iso_time(const char **p, date_fields *f) {
    const char *s = *p;
    if (*s != 'T' && *s != 't' && *s != ' ') return false;
    s++;
    if (!read_digits(&s, 2, 2, &f->hour) || *s++ != ':' || !read_digits(&s, 2, 2, &f->minute)) return false;
    if (*s == ':') {
        s++;
        if (!read_seconds(&s, 2, &f->second_us)) return false;
    }
    if (*s && !read_offset(&s, false, &f->offset_min)) return false;
    *p = s;
    return true;
}

/* Strict ISO 8601, for request parameters: fixed-width fields, nothing after the end. */
int nd_datetime_parse(const char *iso, nd_datetime *out) {
    if (!iso || !out) return -1;
    date_fields f = {0, 1, 1, 0, 0, 0, 0};
    const char *s = iso;
    int sign = 0;
    if (*s == '-' || *s == '+') sign = *s++ == '-' ? -1 : 1;
    if (!read_digits(&s, 4, sign ? 9 : 4, &f.year)) return -1;
    if (sign) f.year *= sign;
    if (*s == '-') {
        s++;
        if (!read_digits(&s, 2, 2, &f.month)) return -1;
        if (*s == '-') {
            s++;
            if (!read_digits(&s, 2, 2, &f.day)) return -1;
            if (*s && !read_iso_time(&s, &f)) return -1;
        }
    }
    if (*s) return -1;
    return fields_to_datetime(&f, ND_CAL_PROLEPTIC_GREGORIAN, out);
}
