/* CF-conventions time: calendars, "UNITS since EPOCH" strings, decoding and encoding. */
#ifndef NADIR_CFTIME_H
#define NADIR_CFTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ND_CAL_STANDARD,            /* "standard", "gregorian": Julian before 1582-10-15, Gregorian after */
    ND_CAL_PROLEPTIC_GREGORIAN, /* "proleptic_gregorian" */
    ND_CAL_JULIAN,              /* "julian" */
    ND_CAL_NOLEAP,              /* "noleap", "365_day" */
    ND_CAL_ALL_LEAP,            /* "all_leap", "366_day" */
    ND_CAL_360_DAY              /* "360_day" */
} nd_calendar;

typedef struct nd_datetime {
    int year, month, day; /* month 1..12, day 1..31 (1..30 in 360_day) */
    int hour, minute;
    double second;        /* 0 <= second < 60 */
} nd_datetime;

typedef struct nd_time_units {
    double unit_seconds; /* seconds per unit: 1, 60, 3600, 86400 */
    nd_datetime epoch;   /* the reference date, in UTC (a "+hh:mm" offset is applied) */
    nd_calendar cal;
} nd_time_units;

/* Case-insensitive calendar name; NULL or "" is the CF default, standard. */
int nd_cal_parse(const char *name, nd_calendar *out);
const char *nd_cal_name(nd_calendar cal);
bool nd_datetime_valid(const nd_datetime *dt, nd_calendar cal);

/* "days since 1970-01-01", "hours since 1800-1-1 00:00:0.0", "seconds since 1981-01-01T00:00:00Z"...
 * Months and years are refused (CF: not calendar months). These return 0, or -1 on bad input.
 * Decoding is exact to the microsecond within about 290,000 years of the epoch. */
int nd_time_units_parse(const char *units, const char *calendar, nd_time_units *out);
int nd_time_decode(const nd_time_units *u, double value, nd_datetime *out);
int nd_time_encode(const nd_time_units *u, const nd_datetime *dt, double *value);

/* Days between two dates of one calendar (b - a), fractions included; NAN if either is not a date of cal. */
double nd_datetime_diff_days(const nd_datetime *a, const nd_datetime *b, nd_calendar cal);

/* ISO 8601: "2024-01-31T12:00:00Z" (fractional seconds printed only when present, years outside
 * 0..9999 as "-0001" / "+10000"). Returns the length written, or -1 if it does not fit. */
int nd_datetime_format(const nd_datetime *dt, char *buf, size_t n);
/* Accepts "YYYY", "YYYY-MM", "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+hh:mm]" (or a space for T);
 * the result is in UTC and a date of the proleptic Gregorian calendar. 0, or -1 on bad input. */
int nd_datetime_parse(const char *iso, nd_datetime *out);

#endif
