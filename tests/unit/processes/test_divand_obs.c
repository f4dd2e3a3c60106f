/* DIVAnd observation files: ODV spreadsheets (semantic header, station metadata carried down, quality
 * flags), CSV and NetCDF written and read back identical; malformed lines reported by number. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../processes/divand/divand_obs.h"
#include "../../../processes/divand/divand_truth.h"
#include "test.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = '\0';
    fclose(f);
    return b;
}

static void same_tables(const nd_dv_table *a, const nd_dv_table *b, double tol) {
    CHECK_INT(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        CHECK_NEAR(a->lon[i], b->lon[i], tol);
        CHECK_NEAR(a->lat[i], b->lat[i], tol);
        CHECK_NEAR(a->depth[i], b->depth[i], tol);
        CHECK_NEAR(a->time[i], b->time[i], 1.0 / 86400);
        CHECK_NEAR(a->value[i], b->value[i], tol);
    }
}

ND_TEST(divand_obs_roundtrip) {
    char err[256], path[1024];
    size_t len;
    CHECK(nd_divand_demo_write(nd_test_tmp_dir(), err, sizeof err) == 0);
    double day0;
    nd_dv_parse_time("2020-01-01", &day0);
    nd_dv_table truth = {0}, odv = {0}, csv = {0}, nc = {0};
    CHECK(nd_divand_demo_cruises(&truth, 20200101u, 120, day0, 366, 0.2, 0) == 0);
    CHECK(truth.n > 10000);
    snprintf(path, sizeof path, "%s/divand_obs.txt", nd_test_tmp_dir());
    char *text = slurp(path, &len);
    CHECK(text != NULL);
    CHECK_CONTAINS(text, "//<subject>SDN:LOCAL:Temperature</subject><object>SDN:P01::TEMPPR01</object>");
    CHECK(nd_dv_read_odv(text, len, "Temperature", 1000000, &odv, err, sizeof err) == 0);
    free(text);
    CHECK_STR(odv.parameter, "Temperature [degC]");
    CHECK_INT(odv.nbad, 0);
    same_tables(&truth, &odv, 1e-4);
    snprintf(path, sizeof path, "%s/divand_obs.csv", nd_test_tmp_dir());
    text = slurp(path, &len);
    CHECK(nd_dv_read_csv(text, len, NULL, 1000000, &csv, err, sizeof err) == 0);
    free(text);
    CHECK_STR(csv.parameter, "temperature");
    same_tables(&truth, &csv, 1e-4);
    snprintf(path, sizeof path, "%s/divand_obs.nc", nd_test_tmp_dir());
    CHECK(nd_dv_read_netcdf(path, NULL, 1000000, &nc, err, sizeof err) == 0);
    CHECK_STR(nc.parameter, "temperature");
    same_tables(&truth, &nc, 0); /* binary: exact */
    /* The row limit is a refusal, not a truncation. */
    nd_dv_table small = {0};
    CHECK(nd_dv_read_netcdf(path, NULL, 100, &small, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "more than 100");
    nd_dv_table_free(&small);
    nd_dv_table_free(&truth), nd_dv_table_free(&odv), nd_dv_table_free(&csv), nd_dv_table_free(&nc);
}

ND_TEST(divand_obs_odv_details) {
    const char *text =
        "//SDN_parameter_mapping\n"
        "//<subject>SDN:LOCAL:TEMP</subject><object>SDN:P01::TEMPPR01</object><units>SDN:P06::UPAA</units>\n"
        "Cruise\tStation\tType\tyyyy-mm-ddThh:mm:ss.sss\tLongitude [degrees_east]\tLatitude [degrees_north]\t"
        "LOCAL_CDI_ID\tEDMO_code\tBot. Depth [m]\tDepth [m]\tQV:SEADATANET\tTEMP [degC]\tQV:SEADATANET\t"
        "PSAL [psu]\tQV:SEADATANET\n"
        "c1\t1\tB\t2020-07-01T12:00:00.000\t5.5\t56.25\tx\t1\t80\t0\t1\t14.5\t1\t35.1\t1\n"
        "\t\t\t\t\t\t\t\t\t10\t1\t14.0\t1\t35.2\t1\n"          /* line 5: carries the station */
        "\t\t\t\t\t\t\t\t\t20\t1\t13.0\t4\t35.3\t1\n"          /* line 6: bad flag */
        "\t\t\t\t\t\t\t\t\t30\t1\tabc\t1\t35.3\t1\n"           /* line 7: malformed value */
        "c1\t2\tB\t2020-13-01T12:00\t5.7\t56.3\tx\t1\t80\t0\t1\t15\t1\t35\t1\n" /* line 8: bad month */
        "c1\t3\tB\t2020-07-02T00:00\t358.5\t56.4\tx\t1\t80\t0\t1\t16\t2\t35\t1\n" /* line 9: 358.5 -> -1.5 */
        "c1\t4\tB\t2020-07-02T01:00\tnorth\t56.4\tx\t1\t80\t0\t1\t16\t2\t35\t1\n"; /* line 10 */
    nd_dv_table t = {0};
    char err[256];
    CHECK(nd_dv_read_odv(text, strlen(text), "TEMP", 100, &t, err, sizeof err) == 0);
    CHECK_INT(t.n, 3);
    CHECK_NEAR(t.lon[1], 5.5, 0);
    CHECK_NEAR(t.depth[1], 10, 0);
    CHECK_NEAR(t.value[1], 14.0, 0);
    double d;
    nd_dv_parse_time("2020-07-01T12:00:00", &d);
    CHECK_NEAR(t.time[1], d, 1e-9);
    CHECK_NEAR(d, 18444.5, 1e-9); /* days since 1970 */
    CHECK_NEAR(t.lon[2], -1.5, 1e-12);
    CHECK_INT(t.nflagged, 1);
    CHECK_INT(t.nbad, 3);
    CHECK_CONTAINS(t.report, "line 7: value 'abc' is not a number");
    CHECK_CONTAINS(t.report, "line 8: time is not ISO 8601");
    CHECK_CONTAINS(t.report, "line 10: longitude is not a number");
    nd_dv_table_free(&t);
    /* Salinity by its label; an unknown parameter and a file with no header are refused. */
    CHECK(nd_dv_read_odv(text, strlen(text), "PSAL", 100, &t, err, sizeof err) == 0);
    CHECK_STR(t.parameter, "PSAL [psu]");
    CHECK_NEAR(t.value[0], 35.1, 0);
    nd_dv_table_free(&t);
    CHECK(nd_dv_read_odv(text, strlen(text), "DOXY", 100, &t, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "DOXY");
    nd_dv_table_free(&t);
    CHECK(nd_dv_read_odv("//only comments\n", 16, NULL, 100, &t, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "no header");
    nd_dv_table_free(&t);
}

ND_TEST(divand_obs_csv_details) {
    const char *text = "# comment\n"
                       "lon,lat,depth,time,value,flag\n"
                       "1.5,50,0,2020-01-01,3.5,1\n"
                       "1.5,50,0,2020-01-01\n"              /* line 4: short */
                       "x,50,0,2020-01-01,3,1\n"            /* line 5 */
                       "2.5,95,0,2020-01-01,3,1\n"          /* line 6: out of range */
                       "2.5,51,5,2020-01-01T06:30Z,4.25,4\n" /* flagged */
                       "3.5,52,7,18262.25,5,\n";             /* numeric time */
    nd_dv_table t = {0};
    char err[256];
    CHECK(nd_dv_read_csv(text, strlen(text), NULL, 100, &t, err, sizeof err) == 0);
    CHECK_INT(t.n, 2);
    CHECK_INT(t.nbad, 3);
    CHECK_INT(t.nflagged, 1);
    CHECK_CONTAINS(t.report, "line 4:");
    CHECK_CONTAINS(t.report, "line 5: longitude is not a number");
    CHECK_CONTAINS(t.report, "line 6: position out of range");
    CHECK_NEAR(t.time[1], 18262.25, 0);
    CHECK_NEAR(t.time[0], 18262, 0);
    nd_dv_table_free(&t);
    CHECK(nd_dv_read_csv("a,b\n1,2\n", 8, NULL, 100, &t, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "longitude");
    nd_dv_table_free(&t);
}
