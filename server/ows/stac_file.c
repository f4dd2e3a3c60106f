/* GET /stac/collections/{collectionId}/items/{itemId}/file: the data file an item was ingested from, streamed.
 * Items point their data asset here so that no response names a path on the server; only files the catalogue
 * recorded at ingest are served, never a path taken from the request. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stac.h"

typedef struct file_stream {
    int fd;
} file_stream;

static long file_read(void *ctx, uint64_t pos, char *buf, size_t max) {
    ssize_t n = pread(((file_stream *)ctx)->fd, buf, max, (off_t)pos);
    return n < 0 ? -1 : (long)n;
}

static void file_free(void *ctx) {
    close(((file_stream *)ctx)->fd);
    free(ctx);
}

int nd_stac_item_file(nd_req *rq, nd_resp *rs) {
    const char *cid = nd_req_param(rq, "collectionId"), *iid = nd_req_param(rq, "itemId");
    json_t *it = nd_cat_get_item(nd_stac_cat(), cid, iid);
    if (!it) return nd_fail(&rq->err, ND_E_NOT_FOUND, "itemId", "No item with this id in the collection");
    if (nd_auth_check(rq, ND_AUTH_DATASET, cid, ND_OP_READ)) return json_decref(it), -1;
    char *path = nd_cat_file_path(nd_stac_cat(), cid, iid);
    struct stat st;
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        json_decref(it);
        return nd_fail(&rq->err, ND_E_NOT_FOUND, "itemId", "This item has no data file on this server");
    }
    const char *type = json_string_value(json_object_get(json_object_get(json_object_get(it, "assets"), "data"), "type"));
    rs->content_type = nd_arena_strdup(rq->arena, type ? type : "application/octet-stream");
    json_decref(it);
    file_stream *fs = nd_xmalloc(sizeof *fs);
    fs->fd = fd;
    rs->status = 200;
    rs->stream = (nd_stream){.read = file_read, .free = file_free, .ctx = fs, .size = (uint64_t)st.st_size};
    rs->cache_seconds = 0;
    return 0;
}
