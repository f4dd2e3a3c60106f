/* The configured styles checked at start-up against what the renderers offer and the datasets hold: a palette
 * that does not exist, a malformed composite or a layer or band that is not there is a configuration error,
 * never a silent fallback while serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/render.h"
#include "nadir/vector.h"

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

/* "dataset/name" names a layer of ds: a variable, the composite "rgb" of a multiband raster, or a vector layer. */
static bool layer_exists(const nd_dataset *ds, const char *name) {
    if (nd_dataset_var(ds, name) || nd_vector_layer_find(ds, name, NULL)) return true;
    return !strcmp(name, "rgb") && ds->kind == ND_DS_RASTER && ds->nvars >= 3;
}

int nd_styles_check_layers(const nd_config *cfg, const nd_registry *reg, char *err, size_t errlen) {
    for (size_t i = 0; cfg && i < cfg->nstyles; i++) {
        const nd_style_conf *s = &cfg->styles[i];
        for (size_t k = 0; k < s->nlayers; k++) {
            const char *slash = strchr(s->layers[k], '/');
            char id[256];
            snprintf(id, sizeof id, "%.*s", slash ? (int)(slash - s->layers[k]) : 0, s->layers[k]);
            const nd_dataset *ds = slash ? nd_registry_get(reg, id) : NULL;
            if (!ds) continue; /* not a configured dataset: perhaps a job's output, published later */
            if (!layer_exists(ds, slash + 1)) {
                snprintf(err, errlen, "style '%s': dataset '%s' has no layer '%s'", s->name, id, slash + 1);
                return -1;
            }
            for (size_t b = 0; b < s->nrgb; b++) {
                char *end;
                long band = strtol(s->rgb[b], &end, 10);
                bool numbered = *s->rgb[b] && !*end && band >= 1 && (size_t)band <= ds->nvars;
                if (!nd_dataset_var(ds, s->rgb[b]) && !numbered) {
                    snprintf(err, errlen, "style '%s': rgb names '%s', not a variable or band of dataset '%s'", s->name,
                             s->rgb[b], id);
                    return -1;
                }
            }
        }
    }
    return 0;
}
