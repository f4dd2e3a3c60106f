/* CQL2-text filters: parsed, translated to SQL against a real (empty) catalogue and run. A filter that
 * parses must translate into SQL that SQLite accepts, or be refused with a 4xx: a 5xx is a finding. */
#include "fuzz.h"
#include "fuzz_cql2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    nd_arena *a = nd_arena_new(0);
    nd_cql2 *f = NULL;
    nd_error e = {0};
    if (nd_cql2_parse_text(a, text, &f, &e) == 0) fuzz_cql2_search(a, f);
    else if (nd_error_http_status(e.code) >= 500) abort();
    nd_arena_free(a);
    free(text);
    return 0;
}
