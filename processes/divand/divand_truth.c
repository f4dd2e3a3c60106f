/* The synthetic ocean: a coarse land mask of the North-East Atlantic and the Baltic, a smooth 4-D
 * temperature with seasonal cycle and thermocline, and cruises that sample it with noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "divand_truth.h"

static int in_ellipse(double lon, double lat, double lon0, double lat0, double a, double b) {
    double x = (lon - lon0) / a, y = (lat - lat0) / b;
    return x * x + y * y < 1;
}

int nd_divand_demo_land(double lon, double lat) {
    if (lon > -1.5 && lat < 48) return 1;                                  /* France, Iberia */
    if (lon > -4.8 && lat > 47.5 && lat < 48.8) return 1;                  /* Brittany */
    if (lon > 2 && lat < 51) return 1;                                     /* northern France */
    if (lon > 4.5 && lat < 53.3) return 1;                                 /* the Low Countries */
    if (lon > 8.5 && lon < 10.5 && lat < 57.5) return 1;                   /* Germany and Jutland */
    if (lon > 10.5 && lat < 54.2) return 1;                                /* Germany, Poland */
    if (lon > 21 && lat < 57.3) return 1;                                  /* Lithuania, Latvia */
    if (lon > 23.5 && lat < 59.4) return 1;                                /* Estonia, Russia */
    if (lon > 5 && lon < 12.3 && lat > 58) return 1;                       /* Norway */
    if (lon > 12.8 && lon < 16.3 && lat > 55.4 && lat < 63) return 1;      /* southern Sweden */
    if (lon > 12.3 && lon < 17.8 && lat > 58.5) return 1;                  /* Sweden */
    if (lon > 11 && lon < 21 && lat > 63.3) return 1;                      /* northern Sweden */
    if (lon > 21.6 && lat > 60.2) return 1;                                /* Finland */
    if (in_ellipse(lon, lat, -2.3, 54.5, 3.0, 4.6)) return 1;              /* Great Britain */
    if (in_ellipse(lon, lat, -7.9, 53.4, 2.1, 1.9)) return 1;              /* Ireland */
    if (in_ellipse(lon, lat, -18.8, 65.0, 4.6, 1.5)) return 1;             /* Iceland */
    return 0;
}

double nd_divand_demo_bottom(double lon, double lat) {
    if (nd_divand_demo_land(lon, lat)) return 0;
    if (lon > 9 && lat > 53.5) return 60 + 40 * sin(lon * 0.7) * cos(lat * 0.9) + 40; /* Baltic: 60-140 m */
    if (lon > -4 && lat > 50.5 && lat < 61.5) return 100 + 50 * sin(lat);              /* North Sea shelf */
    double d = 200 + 3800 * fmin(1, fmax(0, (-lon - 8) / 8));                           /* shelf break */
    return d;
}

double nd_divand_demo_truth(double lon, double lat, double depth, double days) {
    double doy = fmod(days, 365.25);
    double base = 15.5 - 0.4 * (lat - 45) + 1.5 * sin(lon * M_PI / 12) * cos(lat * M_PI / 9);
    double baltic = -1.5 / (1 + exp(-(lon - 12) / 1.2));
    double season = 4 * cos(2 * M_PI * (doy - 220) / 365.25) * exp(-depth / 40);
    double thermo = -3 * (1 - exp(-depth / 150));
    return base + baltic + season + thermo;
}

static double urand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((*s >> 8) & 0xffffff) / (double)0x1000000;
}

static double nrand(unsigned *s) {
    double u = urand(s), v = urand(s);
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static const double levels[] = {0, 10, 20, 30, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500};

int nd_divand_demo_cruises(nd_dv_table *t, unsigned seed, int ncruises, double day0, double ndays, double noise,
                           int surface_only) {
    unsigned s = seed ? seed : 1;
    for (int c = 0; c < ncruises; c++) {
        double lon0, lat0, lon1, lat1;
        do lon0 = ND_DV_DEMO_WEST + 50 * urand(&s), lat0 = 45 + 21 * urand(&s);
        while (nd_divand_demo_land(lon0, lat0));
        do lon1 = lon0 + 16 * (urand(&s) - 0.5), lat1 = lat0 + 10 * (urand(&s) - 0.5);
        while (lon1 < ND_DV_DEMO_WEST || lon1 > ND_DV_DEMO_EAST || lat1 < 45 || lat1 > 66);
        double dist = hypot((lon1 - lon0) * cos(lat0 * M_PI / 180), lat1 - lat0);
        int nst = (int)(dist / 0.35) + 2;
        double day = day0 + floor(ndays * urand(&s)) + 0.25;
        for (int k = 0; k < nst; k++) {
            double f = (double)k / (nst - 1);
            double lon = lon0 + f * (lon1 - lon0), lat = lat0 + f * (lat1 - lat0);
            double tday = day + k / 12.0;
            if (nd_divand_demo_land(lon, lat)) continue; /* the ship goes round: no station on land */
            double bottom = nd_divand_demo_bottom(lon, lat);
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
                if (levels[l] > bottom || (surface_only && l > 0)) break;
                double v = nd_divand_demo_truth(lon, lat, levels[l], tday) + noise * nrand(&s);
                if (nd_dv_table_add(t, round(lon * 1e5) / 1e5, round(lat * 1e5) / 1e5, levels[l],
                                    round(tday * 86400) / 86400, round(v * 1e4) / 1e4) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

int nd_divand_demo_write(const char *dir, char *err, size_t errlen) {
    nd_dv_table t = {0};
    double day0;
    nd_dv_parse_time("2020-01-01", &day0);
    if (nd_divand_demo_cruises(&t, 20200101u, 120, day0, 366, 0.2, 0) < 0) {
        nd_dv_table_free(&t);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s/divand_obs.txt", dir);
    if (rc == 0) rc = nd_dv_write_odv(path, &t, "Temperature", "degC", "TEMPPR01", err, errlen);
    snprintf(path, sizeof path, "%s/divand_obs.csv", dir);
    if (rc == 0) rc = nd_dv_write_csv(path, &t, "temperature", err, errlen);
    snprintf(path, sizeof path, "%s/divand_obs.nc", dir);
    if (rc == 0) rc = nd_dv_write_netcdf(path, &t, "temperature", "degC", err, errlen);
    nd_dv_table_free(&t);
    return rc;
}
