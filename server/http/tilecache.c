/* Disk tile cache: one file per tile under a two-level fan-out, written to a temporary name and renamed
 * so readers never see half a tile; the modification time records the last use for LRU eviction. */
#include "nadir/tilecache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TILE_BYTES (64u << 20) /* no rendered tile comes near this; refuses to read a corrupt one */

struct nd_tilecache {
    char *dir;
    uint64_t max_bytes, bytes;
    pthread_mutex_t lock;
};

/* FNV-1a 64, seeded: two seeds make the 128-bit file name. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) {
    s = s ? s : "";
    return fnv(h, s, strlen(s) + 1); /* the terminator separates fields */
}

uint64_t nd_tilecache_fingerprint(char *const *files, size_t nfiles, const char *extra) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < nfiles; i++) {
        struct stat st;
        h = fnv_str(h, files[i]);
        if (stat(files[i], &st) == 0) {
            int64_t v[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
            h = fnv(h, v, sizeof v);
        }
    }
    return fnv_str(h, extra);
}

static uint64_t key_hash(const nd_tile_key *k, uint64_t seed) {
    uint64_t h = seed;
    h = fnv_str(h, k->layer);
    h = fnv_str(h, k->style);
    h = fnv_str(h, k->time);
    h = fnv_str(h, k->elevation);
    h = fnv_str(h, k->tms);
    h = fnv_str(h, k->format);
    int64_t v[4] = {k->z, k->row, k->col, (int64_t)k->fingerprint};
    return fnv(h, v, sizeof v);
}

void nd_tilecache_name(const nd_tile_key *k, char out[64]) {
    uint64_t a = key_hash(k, 14695981039346656037ULL), b = key_hash(k, 0x9e3779b97f4a7c15ULL);
    snprintf(out, 64, "%02x/%016llx%016llx.tile", (unsigned)(a >> 56), (unsigned long long)a, (unsigned long long)b);
}

/* Sum of the tile files, for the cap after a restart. Temporary files are what writes cut short by a crash
 * left (the cap never counts them, eviction never sees them): removed. One being written by another server
 * sharing the directory only costs that server its rename, so one cached tile. */
static uint64_t scan_size(const char *dir) {
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 2) continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        if (!s) continue;
        struct dirent *f;
        while ((f = readdir(s))) {
            struct stat st;
            char p[4096 + 64];
            snprintf(p, sizeof p, "%s/%s", sub, f->d_name);
            if (strncmp(f->d_name, ".tmp.", 5) == 0) unlink(p);
            else if (strstr(f->d_name, ".tile") && stat(p, &st) == 0 && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
        }
        closedir(s);
    }
    closedir(d);
    return total;
}

/* mkdir -p: the data directory itself may not exist yet at start-up. */
static int make_dirs(const char *dir) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

nd_tilecache *nd_tilecache_open(const char *dir, uint64_t max_bytes) {
    if (make_dirs(dir) < 0) return NULL;
    nd_tilecache *c = nd_xcalloc(1, sizeof *c);
    c->dir = nd_xstrdup(dir);
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    c->bytes = scan_size(dir);
    return c;
}

void nd_tilecache_close(nd_tilecache *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c);
}

uint64_t nd_tilecache_size(nd_tilecache *c) {
    pthread_mutex_lock(&c->lock);
    uint64_t b = c->bytes;
    pthread_mutex_unlock(&c->lock);
    return b;
}

int nd_tilecache_get(nd_tilecache *c, const nd_tile_key *k, nd_buf *out) {
    char name[64], path[4096];
    nd_tilecache_name(k, name);
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > MAX_TILE_BYTES) {
        close(fd);
        return 0;
    }
    size_t n = (size_t)st.st_size, got = 0;
    nd_buf_reserve(out, n);
    while (got < n) {
        ssize_t r = read(fd, out->data + out->len + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    /* last use = now: eviction removes the oldest modification times first; a tile used within the last
     * minute keeps its time, saving a metadata write on every hit of a busy tile */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st.st_mtim.tv_sec > 60) futimens(fd, NULL);
    close(fd);
    if (got != n) return 0;
    out->len += n;
    return 1;
}

typedef struct entry {
    char path[96];
    struct timespec used;
    uint64_t size;
} entry;

static int by_use(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec) return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    if (x->used.tv_nsec != y->used.tv_nsec) return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
    return 0;
}

/* Removes the least recently used tiles until the cache holds 90% of the cap; called with the lock. */
static void evict(nd_tilecache *c) {
    entry *es = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    DIR *d = opendir(c->dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 2) continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", c->dir, e->d_name);
        DIR *s = opendir(sub);
        if (!s) continue;
        struct dirent *f;
        while ((f = readdir(s))) {
            if (!strstr(f->d_name, ".tile") || strlen(f->d_name) > 60) continue;
            char p[4096 + 64];
            snprintf(p, sizeof p, "%s/%s", sub, f->d_name);
            struct stat st;
            if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            if (n == cap) es = nd_xrealloc(es, (cap = cap ? 2 * cap : 256) * sizeof *es);
            snprintf(es[n].path, sizeof es[n].path, "%s/%s", e->d_name, f->d_name);
            es[n].used = st.st_mtim;
            es[n].size = (uint64_t)st.st_size;
            total += es[n].size;
            n++;
        }
        closedir(s);
    }
    closedir(d);
    qsort(es, n, sizeof *es, by_use);
    uint64_t target = c->max_bytes / 10 * 9;
    for (size_t i = 0; i < n && total > target; i++) {
        char p[4096 + 128];
        snprintf(p, sizeof p, "%s/%s", c->dir, es[i].path);
        if (unlink(p) == 0) total -= es[i].size;
    }
    c->bytes = total;
    free(es);
}

int nd_tilecache_put(nd_tilecache *c, const nd_tile_key *k, const void *data, size_t len) {
    char name[64], sub[4096], tmp[4096 + 32], path[4096 + 64];
    nd_tilecache_name(k, name);
    snprintf(sub, sizeof sub, "%s/%.2s", c->dir, name);
    if (mkdir(sub, 0755) != 0 && errno != EEXIST) return -1;
    snprintf(tmp, sizeof tmp, "%s/.tmp.XXXXXX", sub);
    int fd = mkstemp(tmp);
    if (fd < 0) return -1;
    size_t put = 0;
    while (put < len) {
        ssize_t w = write(fd, (const char *)data + put, len - put);
        if (w <= 0) break;
        put += (size_t)w;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; static servers (nginx) may serve the cache directory */
    if (close(fd) != 0 || put != len) {
        unlink(tmp);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    struct stat old;
    uint64_t replaced = stat(path, &old) == 0 ? (uint64_t)old.st_size : 0;
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    c->bytes += len - replaced;
    if (c->max_bytes && c->bytes > c->max_bytes) evict(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}
