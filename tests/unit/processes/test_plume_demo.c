/* The plume-detection demo data: the maps file nadir demo-data will write, with its truth. */
#include <netcdf.h>
#include <stdio.h>
#include <string.h>

#include "../../../processes/plume/plume_process.h"
#include "test.h"

ND_TEST(plume_demo_written) {
    char err[256], path[512];
    CHECK(nd_plume_demo_write(nd_test_tmp_dir(), err, sizeof err) == 0);
    snprintf(path, sizeof path, "%s/plume/no2_demo.nc", nd_test_tmp_dir());
    int nc, v, nd, dims[3];
    size_t len[3];
    CHECK(nc_open(path, NC_NOWRITE, &nc) == NC_NOERR);
    const char *names[4] = {"no2", "qa_value", "u", "v"};
    for (int k = 0; k < 4; k++) {
        CHECK(nc_inq_varid(nc, names[k], &v) == NC_NOERR);
        CHECK(nc_inq_varndims(nc, v, &nd) == NC_NOERR && nd == 3);
        nc_inq_vardimid(nc, v, dims);
        for (int i = 0; i < 3; i++) nc_inq_dimlen(nc, dims[i], &len[i]);
        CHECK_INT(len[0], 5);
        CHECK_INT(len[1], 260);
        CHECK_INT(len[2], 300);
    }
    /* day 0 wind: 4 m/s towards 30 degrees below east in the grid, i.e. v northward = -2 */
    float u0, v0;
    size_t at[3] = {0, 10, 10};
    nc_inq_varid(nc, "u", &v);
    nc_get_var1_float(nc, v, at, &u0);
    nc_inq_varid(nc, "v", &v);
    nc_get_var1_float(nc, v, at, &v0);
    CHECK_NEAR(u0, 4 * cos(M_PI / 6), 1e-5);
    CHECK_NEAR(v0, -2, 1e-5);
    nc_close(nc);
    snprintf(path, sizeof path, "%s/plume/sources_truth.csv", nd_test_tmp_dir());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof line, f)) lines++;
    fclose(f);
    CHECK_INT(lines, 7);
}
