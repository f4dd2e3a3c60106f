/* A disk cache of rendered tiles: content-addressed files written atomically, a size cap with
 * least-recently-used eviction, keys that change when the source files or the configuration change. */
#ifndef NADIR_TILECACHE_H
#define NADIR_TILECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "nadir/arena.h"

typedef struct nd_tilecache nd_tilecache;

typedef struct nd_tile_key {
    const char *layer, *style, *time, *elevation; /* NULL and "" are the same: the default */
    const char *tms;
    int z;
    long row, col;
    const char *format;
    uint64_t fingerprint;    /* nd_tilecache_fingerprint of the layer's sources and configuration */
} nd_tile_key;

/* Opens (creating) dir; max_bytes 0 disables the cap. NULL when dir cannot be made. */
nd_tilecache *nd_tilecache_open(const char *dir, uint64_t max_bytes);
void nd_tilecache_close(nd_tilecache *c);
/* A stable digest of the files' paths, sizes and modification times and of extra (the style config). */
uint64_t nd_tilecache_fingerprint(char *const *files, size_t nfiles, const char *extra);
/* The file name of k under the cache directory ("ab/abcdef...tile"), 32 hex digits of digest. */
void nd_tilecache_name(const nd_tile_key *k, char out[64]);
/* 1 and the bytes in out on a hit (marking the tile as used), 0 on a miss. */
int nd_tilecache_get(nd_tilecache *c, const nd_tile_key *k, nd_buf *out);
/* Stores a tile (temporary file then rename), evicting the least recently used past the cap; 0 or -1. */
int nd_tilecache_put(nd_tilecache *c, const nd_tile_key *k, const void *data, size_t len);
/* Bytes held, as tracked. */
uint64_t nd_tilecache_size(nd_tilecache *c);

#endif
