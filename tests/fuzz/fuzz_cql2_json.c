/* CQL2-JSON filters: jansson, then the tree builder, then SQL against a real (empty) catalogue. */
#include <jansson.h>

#include "fuzz.h"
#include "fuzz_cql2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!j) return 0;
    nd_arena *a = nd_arena_new(0);
    nd_cql2 *f = NULL;
    nd_error e = {0};
    if (nd_cql2_parse_json(a, j, &f, &e) == 0) fuzz_cql2_search(a, f);
    else if (nd_error_http_status(e.code) >= 500) abort();
    nd_arena_free(a);
    json_decref(j);
    return 0;
}
