/* Reading the super-resolution weights format (written by sr_model.py's save): a header and the
 * convolutions in order, float32 little-endian, used in place without copying. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "superres.h"

static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int nd_sr_model_parse(const void *buf, size_t len, nd_sr_model *m, char *err, size_t errlen) {
    const unsigned char *p = buf;
    memset(m, 0, sizeof *m);
    if (len < 28 || memcmp(p, "NDSR", 4) != 0) {
        snprintf(err, errlen, "not a super-resolution weights file");
        return -1;
    }
    if (((uintptr_t)p & 3) != 0) {
        snprintf(err, errlen, "the weights are not aligned to 4 bytes");
        return -1;
    }
    uint32_t version = u32(p + 4), scale = u32(p + 8), bands = u32(p + 12), nf = u32(p + 16), blocks = u32(p + 20),
             nconv = u32(p + 24);
    if (version != 1 || (scale != 2 && scale != 4) || bands != ND_SR_BANDS || nf < 1 || nf > 1024 ||
        nconv != 2 * blocks + 2 || nconv > ND_SR_MAX_CONV) {
        snprintf(err, errlen, "unsupported weights (version %u, scale %u, bands %u, %u convolutions)", version, scale,
                 bands, nconv);
        return -1;
    }
    size_t off = 28;
    for (uint32_t i = 0; i < nconv; i++) {
        if (off + 12 > len) goto short_file;
        nd_sr_conv *c = &m->conv[i];
        c->out = (int)u32(p + off), c->in = (int)u32(p + off + 4), c->k = (int)u32(p + off + 8);
        off += 12;
        int want_in = i == 0 ? (int)bands : (int)nf;
        int want_out = i + 1 == nconv ? (int)(bands * scale * scale) : (int)nf;
        if (c->in != want_in || c->out != want_out || c->k != 3) {
            snprintf(err, errlen, "convolution %u is %d -> %d (%dx%d), expected %d -> %d (3x3)", i, c->in, c->out,
                     c->k, c->k, want_in, want_out);
            return -1;
        }
        size_t nw = (size_t)c->out * (size_t)c->in * (size_t)(c->k * c->k);
        if (off + 4 * (nw + (size_t)c->out) > len) goto short_file;
        c->w = (const float *)(p + off); /* little-endian float32, like every host this runs on */
        off += 4 * nw;
        c->b = (const float *)(p + off);
        off += 4 * (size_t)c->out;
    }
    if (off != len) {
        snprintf(err, errlen, "%zu bytes after the last convolution", len - off);
        return -1;
    }
    m->scale = (int)scale, m->bands = (int)bands, m->features = (int)nf, m->blocks = (int)blocks, m->nconv = (int)nconv;
    return 0;
short_file:
    snprintf(err, errlen, "the weights file is truncated");
    return -1;
}

int nd_sr_halo(const nd_sr_model *m) {
    int halo = 0;
    for (int i = 0; i < m->nconv; i++) halo += m->conv[i].k / 2;
    return halo < 2 ? 2 : halo; /* bicubic reads two pixels on each side */
}
