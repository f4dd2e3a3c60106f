/* GeoJSON geometries (and WKT when the first byte is odd) into WKB with boxes, then back to GeoJSON, whose
 * parse must succeed again: what we write we read. */
#include <jansson.h>

#include "fuzz.h"
#include "nadir/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    nd_arena *a = nd_arena_new(0);
    nd_geom g = {0};
    char why[256];
    int rc = -1;
    if (data[0] & 1) {
        char *wkt = fuzz_cstr(data + 1, size - 1);
        rc = nd_geom_from_wkt(a, wkt, &g, why, sizeof why);
        free(wkt);
    } else {
        json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
        if (j) rc = nd_geom_from_geojson(a, j, &g, why, sizeof why);
        json_decref(j);
    }
    if (rc == 0) {
        if (g.nbox < 1 || g.nbox > 2 || !g.wkb) abort();
        json_t *back = nd_geom_to_geojson(&g);
        nd_geom g2 = {0};
        if (!back || nd_geom_from_geojson(a, back, &g2, why, sizeof why) != 0) {
            char *t = back ? json_dumps(back, JSON_COMPACT) : NULL;
            fprintf(stderr, "written %.400s\nnot read back: %s\n", t ? t : "(none)", why);
            abort();
        }
        json_decref(back);
    }
    nd_arena_free(a);
    return 0;
}
