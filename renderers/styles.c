/* The configured styles checked at start-up against what the renderers offer: a palette that does not exist or
 * a malformed composite is a configuration error, never a silent fallback while serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/render.h"

static bool range_ok(const char *s) {
    char *end;
    double a = strtod(s, &end);
    if (end == s || *end != ',') return false;
    const char *q = end + 1;
    double b = strtod(q, &end);
    return end != q && !*end && a < b;
}

int nd_styles_check(const nd_config *cfg, char *err, size_t errlen) {
    for (size_t i = 0; cfg && i < cfg->nstyles; i++) {
        const nd_style_conf *s = &cfg->styles[i];
        if (s->palette && !nd_palette_find(s->palette)) {
            size_t off = (size_t)snprintf(err, errlen, "style '%s': unknown palette '%s' (known:", s->name, s->palette);
            for (size_t k = 0; k < nd_palette_count() && off < errlen; k++)
                off += (size_t)snprintf(err + off, errlen - off, " %s", nd_palette_at(k)->name);
            if (off < errlen) snprintf(err + off, errlen - off, ")");
            return -1;
        }
        if (s->nrgb && s->nrgb != 3) {
            snprintf(err, errlen, "style '%s': rgb names %zu variables; a composite has 3 (red, green, blue)", s->name,
                     s->nrgb);
            return -1;
        }
        if (s->nranges && s->nranges != 3) {
            snprintf(err, errlen, "style '%s': ranges has %zu entries; one \"min,max\" per band (3)", s->name, s->nranges);
            return -1;
        }
        for (size_t k = 0; k < s->nranges; k++)
            if (!range_ok(s->ranges[k])) {
                snprintf(err, errlen, "style '%s': ranges entry '%s' must be \"min,max\" with min < max", s->name,
                         s->ranges[k]);
                return -1;
            }
    }
    return 0;
}
