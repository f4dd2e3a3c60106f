/* The search both CQL2 targets run a parsed filter through: an empty catalogue in a temporary file. */
#ifndef NADIR_FUZZ_CQL2_H
#define NADIR_FUZZ_CQL2_H

#include <stdio.h>
#include <unistd.h>

#include "nadir/catalog.h"

static inline void fuzz_cql2_search(nd_arena *a, const nd_cql2 *f) {
    static nd_cat *cat;
    if (!cat) {
        char path[64], err[512];
        snprintf(path, sizeof path, "/tmp/nadir-fuzz-cql2-%d.db", (int)getpid());
        if (nd_cat_open(path, 1, &cat, err, sizeof err) < 0) {
            fprintf(stderr, "catalogue: %s\n", err);
            abort();
        }
        unlink(path); /* the open connection keeps it; nothing is left behind */
    }
    nd_search s = {.filter = f, .limit = 10, .count = true};
    nd_page page = {0};
    nd_error e = {0};
    if (nd_cat_search(cat, a, &s, &page, &e) == 0) {
        json_decref(page.items);
        return;
    }
    if (nd_error_http_status(e.code) >= 500) { /* SQL the translation built and SQLite refused */
        fprintf(stderr, "search: %s: %s\n", e.locator, e.detail);
        abort();
    }
}

#endif
