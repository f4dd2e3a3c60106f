/* DAP2 and DAP4 constraint expressions; the first byte picks the dialect. A parsed projection keeps its
 * documented bounds: strides > 0, stop >= start, indices under ND_DAP_MAX_INDEX, rank under the limit. */
#include "fuzz.h"
#include "nadir/dap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    char *ce = fuzz_cstr(data + 1, size - 1);
    nd_arena *a = nd_arena_new(0);
    nd_dap_ce out = {0};
    nd_error e = {0};
    int rc = (data[0] & 1) ? nd_dap4_ce_parse(a, ce, &out, &e) : nd_dap2_ce_parse(a, ce, &out, &e);
    if (rc == 0) {
        if (out.nproj > ND_DAP_MAX_PROJ) abort();
        for (size_t i = 0; i < out.nproj; i++) {
            const nd_dap_proj *p = &out.proj[i];
            if (!p->name || p->nslices > ND_DAP_MAX_RANK) abort();
            for (size_t k = 0; k < p->nslices; k++) {
                const nd_dap_slice *s = &p->slices[k];
                if (s->stride == 0 || (!s->open_end && s->stop < s->start) || s->start > ND_DAP_MAX_INDEX ||
                    (!s->open_end && s->stop > ND_DAP_MAX_INDEX))
                    abort();
            }
        }
    } else if (nd_error_http_status(e.code) >= 500 && e.code != ND_E_NOT_IMPLEMENTED) { /* 501: functions */
        abort();
    }
    nd_arena_free(a);
    free(ce);
    return 0;
}
