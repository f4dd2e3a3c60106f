/* KVP requests: the query-string parser and percent-decoding, then the OWS front-ends (WMS, WMTS, WCS, WPS
 * and the shared /ows endpoint) that read the parameters; the first byte picks the endpoint. */
#include "fuzz.h"
#include "nadir/http.h"

static void (*const services[])(nd_app *) = {nd_wms_register, nd_wmts_register, nd_wcs_register, nd_wps_register};
static const char *const paths[] = {"/wms", "/wmts", "/wcs", "/wps", "/ows"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    char *q = fuzz_cstr(data + 1, size - 1);

    nd_arena *a = nd_arena_new(0);
    nd_kvlist l = {0};
    if (nd_query_parse(a, q, &l) == 0)
        for (size_t i = 0; i < l.n; i++)
            if (nd_kvlist_get(&l, l.items[i].key) == NULL) abort(); /* every key parsed is found again */
    char *copy = nd_arena_strdup(a, q);
    nd_url_decode(copy, true);
    nd_arena_free(a);

    nd_app *app = fuzz_app(services, sizeof services / sizeof services[0]);
    size_t n = strlen(q);
    char *url = malloc(n + 16);
    snprintf(url, n + 16, "%s?%s", paths[data[0] % (sizeof paths / sizeof paths[0])], q);
    /* 503: WPS Execute with the job system off; nothing else may answer 5xx to parameters. */
    fuzz_dispatch(app, "GET", url, NULL, 503);
    free(url);
    free(q);
    return 0;
}
