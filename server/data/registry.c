/* The dataset registry: the configured datasets opened at start-up, and the job outputs published while the
 * server runs, appended to slots that never move so that readers need no lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"
#include "nadir/dataset.h"

/* Job outputs a server publishes before it asks for a restart (each is a few KB of axes and names); a
 * fixed ceiling is what lets readers walk the slots without a lock. */
#define ND_PUBLISHED_MAX 4096

struct nd_registry_lock {
    pthread_mutex_t mutex;
};

void nd_registry_free(nd_registry *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) nd_dataset_free(r->items[i]);
    free(r->items);
    if (r->lock) pthread_mutex_destroy(&r->lock->mutex);
    free(r->lock);
    free(r);
}

int nd_registry_open(const nd_config *cfg, nd_registry **out, char *err, size_t errlen) {
    *out = NULL;
    nd_registry *r = calloc(1, sizeof *r);
    if (r) {
        r->cap = cfg->ndatasets + ND_PUBLISHED_MAX;
        r->items = calloc(r->cap, sizeof *r->items);
        r->lock = calloc(1, sizeof *r->lock);
    }
    if (!r || !r->items || !r->lock) {
        if (r) free(r->items), free(r->lock);
        free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&r->lock->mutex, NULL);
    for (size_t i = 0; i < cfg->ndatasets; i++) {
        const nd_dataset_conf *c = &cfg->datasets[i];
        char cause[1024];
        if (nd_dataset_open_in(c, cfg->dir, &r->items[i], cause, sizeof cause) < 0) {
            if (c->file)
                snprintf(err, errlen, "dataset '%s' (%s:%d): %s", c->id ? c->id : "?", c->file, c->line, cause);
            else
                snprintf(err, errlen, "dataset '%s': %s", c->id ? c->id : "?", cause);
            nd_registry_free(r);
            return -1;
        }
        r->n++;
    }
    *out = r;
    return 0;
}

bool nd_dataset_live(const nd_dataset *ds) { return ds && !__atomic_load_n(&ds->withdrawn, __ATOMIC_ACQUIRE); }

const nd_dataset *nd_registry_get(const nd_registry *r, const char *id) {
    size_t n = r ? __atomic_load_n(&r->n, __ATOMIC_ACQUIRE) : 0;
    for (size_t i = 0; id && i < n; i++) {
        const nd_dataset *ds = r->items[i];
        if (ds->id && strcmp(ds->id, id) == 0 && nd_dataset_live(ds)) return ds;
    }
    return NULL;
}

unsigned nd_registry_generation(const nd_registry *r) {
    return r ? __atomic_load_n(&r->generation, __ATOMIC_ACQUIRE) : 0;
}

int nd_registry_publish(nd_registry *r, const char *id, const char *title, const char *abstract, const char *path,
                        const nd_dataset **out, char *err, size_t errlen) {
    nd_dataset *ds;
    if (!r->lock) return snprintf(err, errlen, "this registry takes no publications"), -1;
    if (nd_dataset_open_file(id, title, abstract, path, &ds, err, errlen) < 0) return -1; /* outside the lock: slow */
    pthread_mutex_lock(&r->lock->mutex);
    int rc = -1;
    if (nd_registry_get(r, id)) {
        snprintf(err, errlen, "a dataset '%s' is published already", id);
    } else if (r->n == r->cap) {
        snprintf(err, errlen, "the registry is full (%zu datasets): restart the server to publish more", r->cap);
    } else {
        r->items[r->n] = ds;
        __atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&r->generation, 1, __ATOMIC_RELEASE);
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock->mutex);
    if (rc < 0) {
        nd_dataset_free(ds);
        return -1;
    }
    if (out) *out = ds;
    return 0;
}

void nd_registry_withdraw(nd_registry *r, const char *id) {
    if (!r || !r->lock) return; /* a registry made by hand (tests) publishes nothing */
    pthread_mutex_lock(&r->lock->mutex);
    nd_dataset *ds = (nd_dataset *)nd_registry_get(r, id);
    if (ds) {
        __atomic_store_n(&ds->withdrawn, true, __ATOMIC_RELEASE);
        __atomic_add_fetch(&r->generation, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&r->lock->mutex);
}
