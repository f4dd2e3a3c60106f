/* Tests of CF time: decoding and encoding checked against python3-cftime, calendars, units and ISO 8601 text. */
#include "nadir/cftime.h"

#include "test.h"

typedef struct {
    const char *units, *calendar;
    double value;
    const char *iso; /* cftime's answer, written as nd_datetime_format writes it */
} cf_case;

/* Produced by cftime 1.6.2 (Debian python3-cftime 1.6.2-3) with
 * cftime.num2date(value, units, calendar=calendar); years before 1 follow cftime's
 * defaults (no year 0 in standard and julian, astronomical numbering elsewhere). */
static const cf_case cf_cases[] = {
    /* standard */
    {"days since 1970-01-01", "standard", 0.0, "1970-01-01T00:00:00Z"},
    {"days since 1970-01-01", "standard", 1.0, "1970-01-02T00:00:00Z"},
    {"days since 1970-01-01", "standard", -1.0, "1969-12-31T00:00:00Z"},
    {"days since 1970-01-01", "standard", 59.0, "1970-03-01T00:00:00Z"},
    {"days since 1970-01-01", "standard", 19000.5, "2022-01-08T12:00:00Z"},
    {"days since 1970-01-01", "standard", -0.1, "1969-12-31T21:36:00Z"},
    {"days since 1970-01-01", "standard", 0.1, "1970-01-01T02:24:00Z"},
    {"days since 1970-01-01", "standard", 20000.25, "2024-10-04T06:00:00Z"},
    {"days since 1900-01-01", "standard", 58.0, "1900-02-28T00:00:00Z"},
    {"days since 1900-01-01", "standard", 59.0, "1900-03-01T00:00:00Z"},
    {"days since 1900-01-01", "standard", 60.0, "1900-03-02T00:00:00Z"},
    {"days since 1900-01-01", "standard", -1.0, "1899-12-31T00:00:00Z"},
    {"days since 2000-01-01", "standard", 59.0, "2000-02-29T00:00:00Z"},
    {"days since 2000-01-01", "standard", 60.0, "2000-03-01T00:00:00Z"},
    {"days since 2000-01-01", "standard", 366.0, "2001-01-01T00:00:00Z"},
    {"days since 2000-01-01", "standard", 36583.0, "2100-02-28T00:00:00Z"},
    {"days since 2000-01-01", "standard", 36584.0, "2100-03-01T00:00:00Z"},
    {"days since 1582-10-15", "standard", -1.0, "1582-10-04T00:00:00Z"},
    {"days since 1582-10-15", "standard", -0.5, "1582-10-04T12:00:00Z"},
    {"days since 1582-10-15", "standard", 0.0, "1582-10-15T00:00:00Z"},
    {"days since 1582-10-15", "standard", -10.0, "1582-09-25T00:00:00Z"},
    {"days since 1582-10-15", "standard", -11.0, "1582-09-24T00:00:00Z"},
    {"days since 1582-10-15", "standard", -365.0, "1581-10-05T00:00:00Z"},
    {"days since 1582-10-04", "standard", 1.0, "1582-10-15T00:00:00Z"},
    {"days since 1582-10-04", "standard", 2.0, "1582-10-16T00:00:00Z"},
    {"days since 1500-02-28", "standard", 1.0, "1500-02-29T00:00:00Z"},
    {"days since 1500-02-28", "standard", 2.0, "1500-03-01T00:00:00Z"},
    {"days since 1500-02-28", "standard", 40000.0, "1609-09-13T00:00:00Z"},
    {"days since 1700-02-28", "standard", 1.0, "1700-03-01T00:00:00Z"},
    {"days since 0001-01-01", "standard", 0.0, "0001-01-01T00:00:00Z"},
    {"days since 0001-01-01", "standard", -1.0, "-0001-12-31T00:00:00Z"},
    {"days since 0001-01-01", "standard", -366.0, "-0001-01-01T00:00:00Z"},
    {"days since 0001-01-01", "standard", 577737.0, "1582-10-15T00:00:00Z"},
    {"days since 0001-01-01", "standard", 738000.0, "2021-07-28T00:00:00Z"},
    {"days since -4712-01-01 12:00", "standard", 2451545.0, "2001-01-01T12:00:00Z"},
    {"hours since 1800-01-01", "standard", 1946016.0, "2022-01-01T00:00:00Z"},
    {"hours since 1800-01-01", "standard", 1946016.5, "2022-01-01T00:30:00Z"},
    {"hours since 1800-01-01", "standard", -24.0, "1799-12-31T00:00:00Z"},
    {"hours since 1900-01-01 00:00:0.0", "standard", 1000000.25, "2014-01-29T16:15:00Z"},
    {"hours since 1900-01-01 00:00:0.0", "standard", 1043280.0, "2019-01-07T00:00:00Z"},
    {"seconds since 1970-01-01", "standard", 1700000000.0, "2023-11-14T22:13:20Z"},
    {"seconds since 1970-01-01", "standard", -1.0, "1969-12-31T23:59:59Z"},
    {"seconds since 1970-01-01", "standard", 0.5, "1970-01-01T00:00:00.5Z"},
    {"seconds since 1970-01-01", "standard", 0.9999999999, "1970-01-01T00:00:01Z"},
    {"seconds since 1970-01-01", "standard", -86400.25, "1969-12-30T23:59:59.75Z"},
    {"seconds since 1970-01-01", "standard", 4102444800.0, "2100-01-01T00:00:00Z"},
    {"seconds since 1981-01-01T00:00:00Z", "standard", 1262304000.0, "2021-01-01T00:00:00Z"},
    {"minutes since 2000-01-01 00:00:00", "standard", 527040.0, "2001-01-01T00:00:00Z"},
    {"minutes since 2000-01-01 00:00:00", "standard", -1.0, "1999-12-31T23:59:00Z"},
    {"milliseconds since 1970-01-01", "standard", 1500.0, "1970-01-01T00:00:01.5Z"},
    {"milliseconds since 1970-01-01", "standard", -1.0, "1969-12-31T23:59:59.999Z"},
    {"seconds since 1970-01-01 00:00:00.5", "standard", 1.0, "1970-01-01T00:00:01.5Z"},
    {"seconds since 1970-01-01 00:00:00.5", "standard", -1.0, "1969-12-31T23:59:59.5Z"},
    {"days since 1970-01-01T00:00:00+05:45", "standard", 0.0, "1969-12-31T18:15:00Z"},
    {"hours since 1582-10-15 00:00:00 +01:00", "standard", 0.0, "1582-10-04T23:00:00Z"},
    {"hours since 1582-10-15 00:00:00 +01:00", "standard", 1.0, "1582-10-15T00:00:00Z"},
    {"days since 1970-1-1 00:00:00", "gregorian", 10957.0, "2000-01-01T00:00:00Z"},
    {"days since 1970-01-01 00:00:00 +01:00", "standard", 0.0, "1969-12-31T23:00:00Z"},
    {"days since 1970-01-01 00:00:00 +01:00", "standard", 1.5, "1970-01-02T11:00:00Z"},
    {"days since 1970-01-01 00:00:00 -06:30", "standard", 0.0, "1970-01-01T06:30:00Z"},
    {"hours since 1970-01-01 00:00:00 UTC", "standard", 438300.0, "2020-01-01T12:00:00Z"},
    {"secs since 1970-01-01", "standard", 60.0, "1970-01-01T00:01:00Z"},
    {"sec since 1970-01-01", "standard", 61.0, "1970-01-01T00:01:01Z"},
    {"s since 1970-01-01", "standard", 62.0, "1970-01-01T00:01:02Z"},
    {"mins since 1970-01-01", "standard", 90.0, "1970-01-01T01:30:00Z"},
    {"min since 1970-01-01", "standard", 91.0, "1970-01-01T01:31:00Z"},
    {"minute since 1970-01-01", "standard", 92.0, "1970-01-01T01:32:00Z"},
    {"hrs since 1970-01-01", "standard", 25.0, "1970-01-02T01:00:00Z"},
    {"hr since 1970-01-01", "standard", 26.0, "1970-01-02T02:00:00Z"},
    {"h since 1970-01-01", "standard", 27.0, "1970-01-02T03:00:00Z"},
    {"hour since 1970-01-01", "standard", 28.0, "1970-01-02T04:00:00Z"},
    {"day since 1970-01-01", "standard", 29.0, "1970-01-30T00:00:00Z"},
    {"d since 1970-01-01", "standard", 30.0, "1970-01-31T00:00:00Z"},
    {"second since 1970-01-01", "standard", 31.0, "1970-01-01T00:00:31Z"},
    /* proleptic_gregorian */
    {"days since 0001-01-01", "proleptic_gregorian", -1.0, "0000-12-31T00:00:00Z"},
    {"days since 0001-01-01", "proleptic_gregorian", -366.0, "0000-01-01T00:00:00Z"},
    {"days since 0001-01-01", "proleptic_gregorian", -367.0, "-0001-12-31T00:00:00Z"},
    {"days since 0001-01-01", "proleptic_gregorian", 577737.0, "1582-10-17T00:00:00Z"},
    {"days since 0001-01-01", "proleptic_gregorian", 738000.0, "2021-07-30T00:00:00Z"},
    {"days since 1582-10-01", "proleptic_gregorian", 9.0, "1582-10-10T00:00:00Z"},
    {"days since 1582-10-01", "proleptic_gregorian", 14.0, "1582-10-15T00:00:00Z"},
    {"days since 1900-02-28", "proleptic_gregorian", 1.0, "1900-03-01T00:00:00Z"},
    {"days since 2000-02-28", "proleptic_gregorian", 1.0, "2000-02-29T00:00:00Z"},
    {"days since 2000-02-28", "proleptic_gregorian", 2.0, "2000-03-01T00:00:00Z"},
    {"days since 2100-02-28", "proleptic_gregorian", 1.0, "2100-03-01T00:00:00Z"},
    {"hours since 1800-01-01", "proleptic_gregorian", 1946016.0, "2022-01-01T00:00:00Z"},
    {"hours since 1800-01-01", "proleptic_gregorian", -17531640.0, "-0200-01-01T00:00:00Z"},
    {"seconds since 1970-01-01", "proleptic_gregorian", -62135596800.0, "0001-01-01T00:00:00Z"},
    {"seconds since 1970-01-01", "proleptic_gregorian", 253402300799.0, "9999-12-31T23:59:59Z"},
    /* julian */
    {"days since 0001-01-01", "julian", -1.0, "-0001-12-31T00:00:00Z"},
    {"days since 0001-01-01", "julian", -366.0, "-0001-01-01T00:00:00Z"},
    {"days since 0001-01-01", "julian", -367.0, "-0002-12-31T00:00:00Z"},
    {"days since 0001-01-01", "julian", 1000000.0, "2738-11-08T00:00:00Z"},
    {"days since 1900-02-28", "julian", 1.0, "1900-02-29T00:00:00Z"},
    {"days since 1900-02-28", "julian", 2.0, "1900-03-01T00:00:00Z"},
    {"days since 2100-02-28", "julian", 1.0, "2100-02-29T00:00:00Z"},
    {"days since 1970-01-01", "julian", 0.0, "1970-01-01T00:00:00Z"},
    {"days since 1970-01-01", "julian", 18000.0, "2019-04-14T00:00:00Z"},
    {"days since 1970-01-01", "julian", -700000.0, "0053-07-04T00:00:00Z"},
    {"hours since 1582-10-04", "julian", 24.0, "1582-10-05T00:00:00Z"},
    {"hours since 1582-10-04", "julian", 240.0, "1582-10-14T00:00:00Z"},
    /* noleap */
    {"days since 2000-02-28", "noleap", 1.0, "2000-03-01T00:00:00Z"},
    {"days since 2000-02-28", "noleap", 365.0, "2001-02-28T00:00:00Z"},
    {"days since 2000-02-28", "noleap", -365.0, "1999-02-28T00:00:00Z"},
    {"days since 0001-01-01", "noleap", -1.0, "0000-12-31T00:00:00Z"},
    {"days since 0001-01-01", "noleap", -365.0, "0000-01-01T00:00:00Z"},
    {"days since 0001-01-01", "noleap", -366.0, "-0001-12-31T00:00:00Z"},
    {"days since 0001-01-01", "noleap", 730000.0, "2001-01-01T00:00:00Z"},
    {"hours since 1850-01-01", "noleap", 1533000.0, "2025-01-01T00:00:00Z"},
    {"hours since 1850-01-01", "noleap", -1.0, "1849-12-31T23:00:00Z"},
    {"days since 1970-01-01", "365_day", 18250.75, "2020-01-01T18:00:00Z"},
    {"minutes since 1900-02-28 12:00", "NoLeap", 720.0, "1900-03-01T00:00:00Z"},
    {"minutes since 1900-02-28 12:00", "NoLeap", 525600.0, "1901-02-28T12:00:00Z"},
    /* all_leap */
    {"days since 1900-02-28", "all_leap", 1.0, "1900-02-29T00:00:00Z"},
    {"days since 1900-02-28", "all_leap", 2.0, "1900-03-01T00:00:00Z"},
    {"days since 1900-02-28", "all_leap", 366.0, "1901-02-28T00:00:00Z"},
    {"days since 2001-01-01", "all_leap", 59.0, "2001-02-29T00:00:00Z"},
    {"days since 2001-01-01", "all_leap", -307.0, "2000-02-29T00:00:00Z"},
    {"days since 0001-01-01", "366_day", -1.0, "0000-12-31T00:00:00Z"},
    {"days since 0001-01-01", "366_day", 732000.0, "2001-01-01T00:00:00Z"},
    {"hours since 1850-01-01", "366_day", 1533000.0, "2024-07-10T00:00:00Z"},
    /* 360_day */
    {"days since 2000-01-01", "360_day", 29.0, "2000-01-30T00:00:00Z"},
    {"days since 2000-01-01", "360_day", 59.0, "2000-02-30T00:00:00Z"},
    {"days since 2000-01-01", "360_day", 60.0, "2000-03-01T00:00:00Z"},
    {"days since 2000-01-01", "360_day", 359.0, "2000-12-30T00:00:00Z"},
    {"days since 2000-01-01", "360_day", 360.0, "2001-01-01T00:00:00Z"},
    {"days since 2000-01-01", "360_day", -1.0, "1999-12-30T00:00:00Z"},
    {"days since 2000-01-01", "360_day", -360.0, "1999-01-01T00:00:00Z"},
    {"days since 2000-01-01", "360_day", 0.5, "2000-01-01T12:00:00Z"},
    {"days since 0001-01-01", "360_day", -1.0, "0000-12-30T00:00:00Z"},
    {"days since 0001-01-01", "360_day", -361.0, "-0001-12-30T00:00:00Z"},
    {"days since 0001-01-01", "360_day", 720000.0, "2001-01-01T00:00:00Z"},
    {"hours since 1850-01-01", "360_day", 1533000.0, "2027-06-06T00:00:00Z"},
    {"hours since 1850-01-01", "360_day", 1533000.5, "2027-06-06T00:30:00Z"},
    {"seconds since 2000-02-30", "360_day", 86400.0, "2000-03-01T00:00:00Z"},
    {"seconds since 2000-02-30", "360_day", -2592000.0, "2000-01-30T00:00:00Z"},
};
#define N_CF_CASES (sizeof cf_cases / sizeof cf_cases[0])

/* Splits a table date into fields without nd_datetime_parse, which knows only the Gregorian calendar. */
static nd_datetime fields_of(const char *iso) {
    nd_datetime dt = {0};
    CHECK(sscanf(iso, "%d-%d-%dT%d:%d:%lfZ", &dt.year, &dt.month, &dt.day, &dt.hour, &dt.minute, &dt.second) == 6);
    return dt;
}

static nd_time_units units_of(const cf_case *c) {
    nd_time_units u;
    if (nd_time_units_parse(c->units, c->calendar, &u) != 0) ND_FAIL_AT("units \"%s\" [%s] refused", c->units, c->calendar);
    return u;
}

/* A value is a whole number of microseconds when decoding it loses nothing. */
static bool whole_microseconds(const nd_time_units *u, double v) {
    double us = v * u->unit_seconds * 1e6;
    return fabs(us - round(us)) <= 1e-12 * fabs(us) + 1e-9;
}

ND_TEST(decode_matches_cftime) {
    for (size_t i = 0; i < N_CF_CASES; i++) {
        const cf_case *c = &cf_cases[i];
        nd_time_units u = units_of(c);
        nd_datetime dt;
        char got[64] = "";
        if (nd_time_decode(&u, c->value, &dt) != 0 || nd_datetime_format(&dt, got, sizeof got) < 0 ||
            strcmp(got, c->iso) != 0)
            ND_FAIL_AT("%s [%s] %.17g: got \"%s\", cftime says \"%s\"", c->units, c->calendar, c->value, got, c->iso);
        CHECK(nd_datetime_valid(&dt, u.cal));
    }
}

ND_TEST(encode_matches_cftime) {
    for (size_t i = 0; i < N_CF_CASES; i++) {
        const cf_case *c = &cf_cases[i];
        nd_time_units u = units_of(c);
        nd_datetime dt = fields_of(c->iso);
        double v = NAN;
        bool ok = nd_time_encode(&u, &dt, &v) == 0;
        /* cftime's date is rounded to the microsecond, so only such values come back exactly */
        if (!ok || (whole_microseconds(&u, c->value) ? v != c->value : fabs(v - c->value) * u.unit_seconds > 5e-7))
            ND_FAIL_AT("%s [%s] %s: encoded %.17g, cftime decoded it from %.17g", c->units, c->calendar, c->iso, v,
                       c->value);
    }
}

ND_TEST(encode_decode_round_trip) {
    for (size_t i = 0; i < N_CF_CASES; i++) {
        const cf_case *c = &cf_cases[i];
        nd_time_units u = units_of(c);
        if (!whole_microseconds(&u, c->value)) continue;
        nd_datetime dt;
        double v = NAN;
        CHECK_INT(nd_time_decode(&u, c->value, &dt), 0);
        CHECK_INT(nd_time_encode(&u, &dt, &v), 0);
        if (v != c->value) ND_FAIL_AT("%s [%s]: %.17g came back as %.17g", c->units, c->calendar, c->value, v);
    }
}

/* Floating accumulation would leave 59.999999 s or 00:00:00.000001 somewhere in these runs. */
ND_TEST(decode_is_exact_for_large_values) {
    nd_time_units hours, days;
    CHECK_INT(nd_time_units_parse("hours since 1800-01-01", "standard", &hours), 0);
    CHECK_INT(nd_time_units_parse("days since 0001-01-01", "proleptic_gregorian", &days), 0);
    for (double v = 1946016; v < 1946016 + 24 * 366 * 3; v += 1) {
        nd_datetime dt;
        CHECK_INT(nd_time_decode(&hours, v, &dt), 0);
        if (dt.minute != 0 || dt.second != 0.0) ND_FAIL_AT("hour %.17g decoded off the hour", v);
        double back;
        CHECK_INT(nd_time_encode(&hours, &dt, &back), 0);
        if (back != v) ND_FAIL_AT("hour %.17g encoded back as %.17g", v, back);
    }
    for (double v = 700000.25; v < 740000; v += 0.25) {
        nd_datetime dt;
        CHECK_INT(nd_time_decode(&days, v, &dt), 0);
        if (dt.minute != 0 || dt.second != 0.0 || dt.hour % 6 != 0) ND_FAIL_AT("day %.17g decoded off 6 h", v);
    }
}

ND_TEST(decode_rounds_to_microseconds) {
    nd_time_units u;
    nd_datetime dt;
    char buf[64];
    CHECK_INT(nd_time_units_parse("seconds since 2000-01-01", NULL, &u), 0);
    CHECK_INT(nd_time_decode(&u, 59.99999999, &dt), 0);
    CHECK_INT(dt.minute, 1);
    CHECK(dt.second == 0.0);
    CHECK_INT(nd_time_decode(&u, 1.0000004, &dt), 0);
    CHECK(nd_datetime_format(&dt, buf, sizeof buf) > 0);
    CHECK_STR(buf, "2000-01-01T00:00:01Z");
    CHECK_INT(nd_time_decode(&u, 1.0000006, &dt), 0);
    CHECK(nd_datetime_format(&dt, buf, sizeof buf) > 0);
    CHECK_STR(buf, "2000-01-01T00:00:01.000001Z");
}

ND_TEST(decode_refuses_bad_values) {
    nd_time_units u;
    nd_datetime dt;
    CHECK_INT(nd_time_units_parse("days since 1970-01-01", "standard", &u), 0);
    CHECK(nd_time_decode(&u, NAN, &dt) < 0);
    CHECK(nd_time_decode(&u, INFINITY, &dt) < 0);
    CHECK(nd_time_decode(&u, 1e300, &dt) < 0);
    CHECK(nd_time_decode(&u, -1e17, &dt) < 0);
    CHECK(nd_time_decode(NULL, 0, &dt) < 0);
    CHECK(nd_time_decode(&u, 0, NULL) < 0);
    nd_time_units broken = u;
    broken.unit_seconds = 0;
    CHECK(nd_time_decode(&broken, 1, &dt) < 0);
    nd_datetime feb30 = {2001, 2, 30, 0, 0, 0};
    double v;
    CHECK(nd_time_encode(&u, &feb30, &v) < 0);
}

typedef struct {
    const char *units, *calendar;
    double unit_seconds;
    const char *epoch; /* in UTC, as nd_datetime_format writes it */
} units_case;

static const units_case units_ok[] = {
    {"days since 1970-01-01", NULL, 86400, "1970-01-01T00:00:00Z"},
    {"Days Since 1970-1-1", "", 86400, "1970-01-01T00:00:00Z"},
    {"  hours   since   1800-01-01 00:00:0.0  ", "GREGORIAN", 3600, "1800-01-01T00:00:00Z"},
    {"seconds since 1981-01-01T00:00:00Z", "Proleptic_Gregorian", 1, "1981-01-01T00:00:00Z"},
    {"minutes since 1970-01-01 00:00:00 +01:00", "standard", 60, "1969-12-31T23:00:00Z"},
    {"minutes since 1970-01-01 00:00:00 -0130", "standard", 60, "1970-01-01T01:30:00Z"},
    {"minutes since 1970-01-01 06:00 -6", "standard", 60, "1970-01-01T12:00:00Z"},
    {"days since 1970-01-01 00:00:00 UTC", "julian", 86400, "1970-01-01T00:00:00Z"},
    {"days since 1970-01-01T12:00:00.25Z", "noleap", 86400, "1970-01-01T12:00:00.25Z"},
    {"weeks since 2000-01-01", "360_day", 604800, "2000-01-01T00:00:00Z"},
    {"milliseconds since 2000-02-30", "360_day", 0.001, "2000-02-30T00:00:00Z"},
    {"days since 2001-02-29", "all_leap", 86400, "2001-02-29T00:00:00Z"},
    {"days since 0000-01-01", "noleap", 86400, "0000-01-01T00:00:00Z"},
    {"days since -4712-01-01 12:00:00", "julian", 86400, "-4712-01-01T12:00:00Z"},
    {"hours since 1582-10-15 00:00 +01:00", "standard", 3600, "1582-10-04T23:00:00Z"},
    {"d since 1970-01-01", "366_day", 86400, "1970-01-01T00:00:00Z"},
};

ND_TEST(units_parse) {
    for (size_t i = 0; i < sizeof units_ok / sizeof units_ok[0]; i++) {
        const units_case *c = &units_ok[i];
        nd_time_units u;
        char epoch[64];
        if (nd_time_units_parse(c->units, c->calendar, &u) != 0) ND_FAIL_AT("\"%s\" refused", c->units);
        CHECK_NEAR(u.unit_seconds, c->unit_seconds, 1e-12);
        CHECK(nd_datetime_format(&u.epoch, epoch, sizeof epoch) > 0);
        CHECK_STR(epoch, c->epoch);
    }
}

static const struct {
    const char *units, *calendar;
} units_bad[] = {
    {"months since 1970-01-01", "360_day"}, /* CF: months and years are not calendar months and years */
    {"month since 1970-01-01", "standard"},
    {"years since 1970-01-01", "noleap"},
    {"year since 1970-01-01", "standard"},
    {"common_years since 1970-01-01", "noleap"},
    {"fortnights since 1970-01-01", "standard"},
    {"days after 1970-01-01", "standard"},
    {"days 1970-01-01", "standard"},
    {"days since", "standard"},
    {"days since ", "standard"},
    {"dayssince 1970-01-01", "standard"},
    {"days since1970-01-01", "standard"},
    {"since 1970-01-01", "standard"},
    {"days since 1970-01-01", "mayan"},
    {"days since 1970-13-01", "standard"},
    {"days since 1970-01-32", "standard"},
    {"days since 1970-01-01 25:00", "standard"},
    {"days since 1970-01-01 12:60", "standard"},
    {"days since 1970-01-01 00:00:60", "standard"},
    {"days since 1970-01-01 00:00:00 +25:00", "standard"},
    {"days since 1970-01-01 junk", "standard"},
    {"days since 1970-01-01 00:00:00 UTC junk", "standard"},
    {"days since 1970-01-01 00:00:", "standard"},
    {"days since 1970-01-01 00:00:00.", "standard"},
    {"days since 1970--01", "standard"},
    {"days since 1582-10-10", "standard"}, /* lost in the Gregorian reform */
    {"days since 0000-01-01", "standard"},  /* no year 0 in the real-world calendars */
    {"days since 0000-01-01", "julian"},
    {"days since 2001-02-29", "noleap"},
    {"days since 2000-02-29", "noleap"},
    {"days since 2000-02-30", "standard"},
    {"days since 2000-02-31", "360_day"},
    {"", "standard"},
};

ND_TEST(units_parse_errors) {
    nd_time_units u;
    for (size_t i = 0; i < sizeof units_bad / sizeof units_bad[0]; i++)
        if (nd_time_units_parse(units_bad[i].units, units_bad[i].calendar, &u) >= 0)
            ND_FAIL_AT("\"%s\" [%s] accepted", units_bad[i].units, units_bad[i].calendar);
    CHECK(nd_time_units_parse(NULL, "standard", &u) < 0);
    CHECK(nd_time_units_parse("days since 1970-01-01", "standard", NULL) < 0);
}

ND_TEST(weeks_are_seven_days) {
    nd_time_units w, d;
    nd_datetime a, b;
    CHECK_INT(nd_time_units_parse("weeks since 1999-12-31", "standard", &w), 0);
    CHECK_INT(nd_time_units_parse("days since 1999-12-31", "standard", &d), 0);
    CHECK_INT(nd_time_decode(&w, 9.5, &a), 0);
    CHECK_INT(nd_time_decode(&d, 66.5, &b), 0);
    CHECK_NEAR(nd_datetime_diff_days(&a, &b, ND_CAL_STANDARD), 0, 0);
}

ND_TEST(calendar_names) {
    static const struct {
        const char *name;
        nd_calendar cal;
    } names[] = {
        {"standard", ND_CAL_STANDARD},   {"Gregorian", ND_CAL_STANDARD},
        {"PROLEPTIC_GREGORIAN", ND_CAL_PROLEPTIC_GREGORIAN},
        {"julian", ND_CAL_JULIAN},       {"noleap", ND_CAL_NOLEAP},
        {"365_day", ND_CAL_NOLEAP},      {"all_leap", ND_CAL_ALL_LEAP},
        {"366_DAY", ND_CAL_ALL_LEAP},    {"360_day", ND_CAL_360_DAY},
        {"", ND_CAL_STANDARD},           {NULL, ND_CAL_STANDARD},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        nd_calendar cal = names[i].cal == ND_CAL_360_DAY ? ND_CAL_STANDARD : ND_CAL_360_DAY; /* not the answer */
        CHECK_INT(nd_cal_parse(names[i].name, &cal), 0);
        CHECK_INT(cal, names[i].cal);
    }
    nd_calendar cal;
    CHECK(nd_cal_parse("none", &cal) < 0);
    CHECK(nd_cal_parse("gregorian ", &cal) < 0);
    CHECK(nd_cal_parse("standard", NULL) < 0);
    for (nd_calendar c = ND_CAL_STANDARD; c <= ND_CAL_360_DAY; c++) {
        nd_calendar back;
        CHECK_INT(nd_cal_parse(nd_cal_name(c), &back), 0);
        CHECK_INT(back, c);
    }
    CHECK_STR(nd_cal_name(ND_CAL_NOLEAP), "noleap");
    CHECK_STR(nd_cal_name(ND_CAL_STANDARD), "standard");
    CHECK(nd_cal_name((nd_calendar)42) != NULL);
}

static const struct {
    nd_datetime dt;
    nd_calendar cal;
    bool valid;
} validity[] = {
    {{2001, 2, 30, 0, 0, 0}, ND_CAL_360_DAY, true},
    {{2001, 2, 30, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, false},
    {{2000, 2, 30, 0, 0, 0}, ND_CAL_ALL_LEAP, false},
    {{2000, 1, 31, 0, 0, 0}, ND_CAL_360_DAY, false},
    {{2000, 2, 29, 0, 0, 0}, ND_CAL_NOLEAP, false},
    {{2001, 2, 29, 0, 0, 0}, ND_CAL_ALL_LEAP, true},
    {{1900, 2, 29, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{1900, 2, 29, 0, 0, 0}, ND_CAL_JULIAN, true},
    {{1500, 2, 29, 0, 0, 0}, ND_CAL_STANDARD, true}, /* Julian rules before the reform */
    {{1500, 2, 29, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, false},
    {{2000, 2, 29, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, true},
    {{2100, 2, 29, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{1582, 10, 4, 0, 0, 0}, ND_CAL_STANDARD, true},
    {{1582, 10, 5, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{1582, 10, 10, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{1582, 10, 14, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{1582, 10, 15, 0, 0, 0}, ND_CAL_STANDARD, true},
    {{1582, 10, 10, 0, 0, 0}, ND_CAL_JULIAN, true},
    {{1582, 10, 10, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, true},
    {{0, 1, 1, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{0, 1, 1, 0, 0, 0}, ND_CAL_JULIAN, false},
    {{0, 2, 29, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, true},
    {{-1, 2, 29, 0, 0, 0}, ND_CAL_JULIAN, true}, /* 1 BC was a leap year */
    {{-1, 2, 29, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, false},
    {{2024, 13, 1, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{2024, 0, 1, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{2024, 1, 0, 0, 0, 0}, ND_CAL_STANDARD, false},
    {{2024, 1, 1, 24, 0, 0}, ND_CAL_STANDARD, false},
    {{2024, 1, 1, 23, 60, 0}, ND_CAL_STANDARD, false},
    {{2024, 1, 1, 23, 59, 60}, ND_CAL_STANDARD, false},
    {{2024, 1, 1, 23, 59, -0.5}, ND_CAL_STANDARD, false},
    {{2024, 1, 1, 23, 59, 59.999}, ND_CAL_STANDARD, true},
    {{2024, 1, 1, 0, 0, NAN}, ND_CAL_STANDARD, false},
    {{2024, 1, 1, 0, 0, 0}, (nd_calendar)42, false},
};

ND_TEST(datetime_valid) {
    for (size_t i = 0; i < sizeof validity / sizeof validity[0]; i++) {
        const nd_datetime *d = &validity[i].dt;
        if (nd_datetime_valid(d, validity[i].cal) != validity[i].valid)
            ND_FAIL_AT("%d-%02d-%02d %02d:%02d:%g in %s should be %s", d->year, d->month, d->day, d->hour, d->minute,
                       d->second, nd_cal_name(validity[i].cal), validity[i].valid ? "valid" : "invalid");
    }
    CHECK(!nd_datetime_valid(NULL, ND_CAL_STANDARD));
}

ND_TEST(diff_days) {
    static const struct {
        nd_datetime a, b;
        nd_calendar cal;
        double days;
    } diffs[] = {
        {{1582, 10, 4, 0, 0, 0}, {1582, 10, 15, 0, 0, 0}, ND_CAL_STANDARD, 1},
        {{1582, 10, 4, 0, 0, 0}, {1582, 10, 15, 0, 0, 0}, ND_CAL_JULIAN, 11},
        {{1582, 10, 4, 0, 0, 0}, {1582, 10, 15, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, 11},
        {{2000, 1, 1, 0, 0, 0}, {2000, 3, 1, 0, 0, 0}, ND_CAL_360_DAY, 60},
        {{2000, 1, 1, 0, 0, 0}, {2001, 1, 1, 0, 0, 0}, ND_CAL_NOLEAP, 365},
        {{2001, 1, 1, 0, 0, 0}, {2002, 1, 1, 0, 0, 0}, ND_CAL_ALL_LEAP, 366},
        {{1900, 1, 1, 0, 0, 0}, {1901, 1, 1, 0, 0, 0}, ND_CAL_JULIAN, 366},
        {{1900, 1, 1, 0, 0, 0}, {1901, 1, 1, 0, 0, 0}, ND_CAL_STANDARD, 365},
        {{-1, 12, 31, 0, 0, 0}, {1, 1, 1, 0, 0, 0}, ND_CAL_JULIAN, 1},
        {{0, 12, 31, 0, 0, 0}, {1, 1, 1, 0, 0, 0}, ND_CAL_PROLEPTIC_GREGORIAN, 1},
        {{2024, 1, 2, 18, 0, 0}, {2024, 1, 1, 6, 0, 0}, ND_CAL_STANDARD, -1.5},
        {{2024, 1, 1, 0, 0, 0}, {2024, 1, 1, 0, 0, 0.864}, ND_CAL_STANDARD, 1e-5},
    };
    for (size_t i = 0; i < sizeof diffs / sizeof diffs[0]; i++)
        CHECK_NEAR(nd_datetime_diff_days(&diffs[i].a, &diffs[i].b, diffs[i].cal), diffs[i].days, 1e-12);
    nd_datetime ok = {2024, 1, 1, 0, 0, 0}, bad = {2023, 2, 29, 0, 0, 0};
    CHECK(isnan(nd_datetime_diff_days(&ok, &bad, ND_CAL_STANDARD)));
}

static const struct {
    const char *in, *out;
} parse_ok[] = {
    {"2024", "2024-01-01T00:00:00Z"},
    {"2024-02", "2024-02-01T00:00:00Z"},
    {"2024-02-29", "2024-02-29T00:00:00Z"},
    {"2024-02-29T12:30", "2024-02-29T12:30:00Z"},
    {"2024-02-29 12:30", "2024-02-29T12:30:00Z"},
    {"2024-02-29t12:30:45", "2024-02-29T12:30:45Z"},
    {"2024-02-29T12:30:45.25", "2024-02-29T12:30:45.25Z"},
    {"2024-02-29T12:30:45.000001Z", "2024-02-29T12:30:45.000001Z"},
    {"2024-02-29T12:30:45.1234567Z", "2024-02-29T12:30:45.123457Z"},
    {"2024-02-29T12:30Z", "2024-02-29T12:30:00Z"},
    {"2024-02-29T12:30:00+02:00", "2024-02-29T10:30:00Z"},
    {"2024-02-29T12:30:00-05:30", "2024-02-29T18:00:00Z"},
    {"2024-03-01T01:00:00+0200", "2024-02-29T23:00:00Z"},
    {"2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00Z"},
    {"2024-12-31T23:59:59.9999999Z", "2025-01-01T00:00:00Z"},
    {"1582-10-10", "1582-10-10T00:00:00Z"}, /* proleptic Gregorian: the reform gap exists */
    {"0000-02-29", "0000-02-29T00:00:00Z"},
    {"-0001-03-01", "-0001-03-01T00:00:00Z"},
    {"+10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"},
};

static const char *parse_bad[] = {
    "", "abc", "2024x", "24", "20240", "2024-1", "2024-1-1", "2024-13", "2024-00", "2024-13-01",
    "2024-01-32", "2024-01-00", "2023-02-29", "2024-04-31", "2024-01-01T", "2024-01-01T12", "2024-01-01T1:00",
    "2024-01-01T24:00", "2024-01-01T25:00", "2024-01-01T12:60", "2024-01-01T12:00:60", "2024-01-01T12:00:5",
    "2024-01-01T12:00:00.", "2024-01-01T12:00:00junk", "2024-01-01T12:00:00Z ", " 2024-01-01", "2024-01-01 ",
    "2024-01-01T12:00:00+25:00", "2024-01-01T12:00:00+01:60", "2024-01-01T12:00:00+1", "2024-01-01Z",
    "2024-01T12:00", "2024-01-01TT12:00", "2024/01/01", "-24-01-01", "+2024-01-01T12:00:00ZZ",
};

ND_TEST(datetime_parse_and_format) {
    for (size_t i = 0; i < sizeof parse_ok / sizeof parse_ok[0]; i++) {
        nd_datetime dt;
        char buf[64];
        if (nd_datetime_parse(parse_ok[i].in, &dt) != 0) ND_FAIL_AT("\"%s\" refused", parse_ok[i].in);
        CHECK(nd_datetime_format(&dt, buf, sizeof buf) > 0);
        CHECK_STR(buf, parse_ok[i].out);
    }
}

ND_TEST(datetime_parse_errors) {
    nd_datetime dt;
    for (size_t i = 0; i < sizeof parse_bad / sizeof parse_bad[0]; i++)
        if (nd_datetime_parse(parse_bad[i], &dt) >= 0) ND_FAIL_AT("\"%s\" accepted", parse_bad[i]);
    CHECK(nd_datetime_parse(NULL, &dt) < 0);
    CHECK(nd_datetime_parse("2024", NULL) < 0);
}

ND_TEST(datetime_format) {
    static const struct {
        nd_datetime dt;
        const char *out;
    } cases[] = {
        {{2024, 1, 31, 12, 0, 0}, "2024-01-31T12:00:00Z"},
        {{2024, 1, 31, 12, 0, 0.5}, "2024-01-31T12:00:00.5Z"},
        {{2024, 1, 31, 12, 0, 7.000001}, "2024-01-31T12:00:07.000001Z"},
        {{2024, 1, 31, 12, 0, 7.00000001}, "2024-01-31T12:00:07Z"},
        {{2024, 1, 31, 12, 0, 59.25}, "2024-01-31T12:00:59.25Z"},
        {{2024, 1, 31, 12, 0, 59.9999999}, "2024-01-31T12:00:59.999999Z"}, /* no carry without a calendar */
        {{-1, 12, 31, 0, 0, 0}, "-0001-12-31T00:00:00Z"},
        {{-12345, 1, 1, 0, 0, 0}, "-12345-01-01T00:00:00Z"},
        {{0, 1, 1, 0, 0, 0}, "0000-01-01T00:00:00Z"},
        {{12345, 6, 7, 8, 9, 10}, "+12345-06-07T08:09:10Z"},
        {{2000, 2, 30, 0, 0, 0}, "2000-02-30T00:00:00Z"}, /* a 360_day date */
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(nd_datetime_format(&cases[i].dt, buf, sizeof buf), strlen(cases[i].out));
        CHECK_STR(buf, cases[i].out);
    }
    nd_datetime dt = {2024, 1, 31, 12, 0, 0};
    CHECK(nd_datetime_format(&dt, buf, 20) < 0); /* one byte short of the terminator */
    CHECK_INT(nd_datetime_format(&dt, buf, 21), 20);
    CHECK(nd_datetime_format(&dt, NULL, 10) < 0);
    CHECK(nd_datetime_format(NULL, buf, sizeof buf) < 0);
    nd_datetime odd = {-2147483647 - 1, 99, -5, 77, 88, NAN};
    CHECK(nd_datetime_format(&odd, buf, sizeof buf) > 0); /* nonsense in, no crash */
}
