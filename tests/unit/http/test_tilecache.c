/* The disk tile cache: key digests, atomic writes, least-recently-used eviction, invalidation. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nadir/tilecache.h"
#include "test.h"

static nd_tile_key key(long col) {
    return (nd_tile_key){"sst/sst", NULL, "2025-01-01", NULL, "WebMercatorQuad", 3, 2, col, "image/png", 42};
}

static char *dir_for(const char *name) {
    static char d[512];
    snprintf(d, sizeof d, "%s/tilecache-%s-%d", nd_test_tmp_dir(), name, (int)getpid());
    return d;
}

ND_TEST(tilecache_keys) {
    char a[64], b[64];
    nd_tile_key k = key(1), k2 = k;
    nd_tilecache_name(&k, a);
    nd_tilecache_name(&k2, b);
    CHECK_STR(a, b);
    CHECK_INT(strlen(a), 3 + 32 + 5);
    CHECK(a[2] == '/' && strncmp(a, a + 3, 2) == 0);
    /* every field of the key changes the name */
    const char *fields[] = {"layer", "style", "time", "elevation", "tms", "format"};
    for (size_t f = 0; f < 6; f++) {
        k2 = k;
        const char **p[] = {&k2.layer, &k2.style, &k2.time, &k2.elevation, &k2.tms, &k2.format};
        *p[f] = "other";
        nd_tilecache_name(&k2, b);
        if (!strcmp(a, b)) ND_FAIL_AT("field %s not in the key", fields[f]);
    }
    k2 = k, k2.z = 4;
    nd_tilecache_name(&k2, b);
    CHECK(strcmp(a, b) != 0);
    k2 = k, k2.row = 3;
    nd_tilecache_name(&k2, b);
    CHECK(strcmp(a, b) != 0);
    k2 = k, k2.col = 2;
    nd_tilecache_name(&k2, b);
    CHECK(strcmp(a, b) != 0);
    k2 = k, k2.fingerprint = 43;
    nd_tilecache_name(&k2, b);
    CHECK(strcmp(a, b) != 0);
    /* NULL and "" are both the default */
    k2 = k, k2.style = "";
    nd_tilecache_name(&k2, b);
    CHECK_STR(a, b);
}

ND_TEST(tilecache_put_get_atomic) {
    const char *d = dir_for("rw");
    nd_tilecache *c = nd_tilecache_open(d, 0);
    CHECK(c != NULL);
    nd_tile_key k = key(1);
    nd_buf out = {0};
    CHECK_INT(nd_tilecache_get(c, &k, &out), 0);
    CHECK_INT(out.len, 0);
    CHECK_INT(nd_tilecache_put(c, &k, "PNGDATA", 7), 0);
    CHECK_INT(nd_tilecache_get(c, &k, &out), 1);
    CHECK_INT(out.len, 7);
    CHECK(memcmp(out.data, "PNGDATA", 7) == 0);
    CHECK_INT(nd_tilecache_size(c), 7);
    /* replacing keeps one file and the size right; no temporary file stays */
    CHECK_INT(nd_tilecache_put(c, &k, "PNG", 3), 0);
    CHECK_INT(nd_tilecache_size(c), 3);
    char name[64], sub[1024];
    nd_tilecache_name(&k, name);
    snprintf(sub, sizeof sub, "%s/%.2s", d, name);
    DIR *dir = opendir(sub);
    CHECK(dir != NULL);
    int files = 0;
    for (struct dirent *e; (e = readdir(dir));)
        if (e->d_name[0] != '.' || strncmp(e->d_name, ".tmp", 4) == 0) files++;
    closedir(dir);
    CHECK_INT(files, 1);
    struct stat st;
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", d, name);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    nd_buf_free(&out);
    nd_tilecache_close(c);
    /* a new process finds the tiles and their size */
    c = nd_tilecache_open(d, 0);
    CHECK_INT(nd_tilecache_size(c), 3);
    nd_tilecache_close(c);
}

/* Sets a tile's last use to `age` seconds ago. */
static void age_tile(const char *dir, const nd_tile_key *k, int age) {
    char name[64], path[1100];
    nd_tilecache_name(k, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {time(NULL) - age, 0}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

ND_TEST(tilecache_lru_eviction) {
    const char *d = dir_for("lru");
    nd_tilecache *c = nd_tilecache_open(d, 1000);
    char data[300];
    memset(data, 'x', sizeof data);
    nd_tile_key k0 = key(0), k1 = key(1), k2 = key(2), k3 = key(3);
    CHECK_INT(nd_tilecache_put(c, &k0, data, 300), 0);
    CHECK_INT(nd_tilecache_put(c, &k1, data, 300), 0);
    CHECK_INT(nd_tilecache_put(c, &k2, data, 300), 0);
    age_tile(d, &k0, 300);
    age_tile(d, &k1, 200);
    age_tile(d, &k2, 100);
    nd_buf out = {0};
    CHECK_INT(nd_tilecache_get(c, &k0, &out), 1); /* k0 used again (its time becomes now): k1 is the oldest */
    CHECK_INT(nd_tilecache_put(c, &k3, data, 300), 0); /* 1200 > 1000: evict down to 900 */
    CHECK(nd_tilecache_size(c) <= 900);
    nd_buf_reset(&out);
    CHECK_INT(nd_tilecache_get(c, &k1, &out), 0);
    CHECK_INT(nd_tilecache_get(c, &k0, &out), 1);
    nd_buf_reset(&out);
    CHECK_INT(nd_tilecache_get(c, &k3, &out), 1);
    nd_buf_reset(&out);
    CHECK_INT(nd_tilecache_get(c, &k2, &out), 1);
    nd_buf_free(&out);
    nd_tilecache_close(c);
}

ND_TEST(tilecache_fingerprint_invalidates) {
    char path[512];
    snprintf(path, sizeof path, "%s/tilecache-src-%d.nc", nd_test_tmp_dir(), (int)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("abc", f);
    fclose(f);
    char *files[] = {path};
    uint64_t a = nd_tilecache_fingerprint(files, 1, "viridis");
    CHECK(a == nd_tilecache_fingerprint(files, 1, "viridis"));
    CHECK(a != nd_tilecache_fingerprint(files, 1, "thermal")); /* the style configuration */
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1700000000, 0}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
    uint64_t b = nd_tilecache_fingerprint(files, 1, "viridis");
    CHECK(a != b); /* the modification time */
    f = fopen(path, "a");
    fputs("d", f);
    fclose(f);
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
    CHECK(b != nd_tilecache_fingerprint(files, 1, "viridis")); /* the size */
    unlink(path);
    /* a cache key with another fingerprint misses */
    const char *d = dir_for("fp");
    nd_tilecache *c = nd_tilecache_open(d, 0);
    nd_tile_key k = key(5);
    k.fingerprint = a;
    CHECK_INT(nd_tilecache_put(c, &k, "T", 1), 0);
    k.fingerprint = b;
    nd_buf out = {0};
    CHECK_INT(nd_tilecache_get(c, &k, &out), 0);
    nd_buf_free(&out);
    nd_tilecache_close(c);
}
