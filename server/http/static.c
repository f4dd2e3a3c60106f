/* Static files under a root folder (the built web viewer at /viewer/): safe paths, media types, caching. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nadir/app.h"

#define MAX_STATIC_BYTES (32L * 1024 * 1024)
#define MAX_STATIC_PATH 512

/* Media types by extension; files not listed are refused rather than guessed. */
static const struct {
    const char *ext, *type;
    bool text;
} media_types[] = {
    {"html", "text/html; charset=utf-8", true},  {"js", "text/javascript; charset=utf-8", true},
    {"mjs", "text/javascript; charset=utf-8", true}, {"css", "text/css; charset=utf-8", true},
    {"json", "application/json", true},          {"map", "application/json", true},
    {"svg", "image/svg+xml", true},              {"txt", "text/plain; charset=utf-8", true},
    {"png", "image/png", false},                 {"jpg", "image/jpeg", false},
    {"ico", "image/x-icon", false},              {"woff2", "font/woff2", false},
    {"wasm", "application/wasm", false},
};

static int media_type(const char *path, const char **type, bool *text) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) return -1;
    for (size_t i = 0; i < sizeof media_types / sizeof media_types[0]; i++)
        if (strcasecmp(dot + 1, media_types[i].ext) == 0) {
            *type = media_types[i].type;
            *text = media_types[i].text;
            return 0;
        }
    return -1;
}

/* A relative path is safe when every segment is a plain name: no "..", no ".", no hidden files, no
 * empty segments, no backslashes or control characters. Symlinks are checked after resolution. */
static bool safe_relpath(const char *p) {
    if (strlen(p) > MAX_STATIC_PATH) return false;
    for (const char *seg = p; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || seg[0] == '.') return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)seg[i] < 0x20 || seg[i] == '\\' || seg[i] == 0x7f) return false;
        seg += n;
        if (*seg == '/') seg++;
    }
    return true;
}

/* The viewer's folder: server.viewer_dir, else share/viewer beside the binary (a build tree), else
 * ../share/nadir/viewer from it (an installed tree). Resolved to a real path; false when none exists. */
static bool viewer_root(const nd_app *app, char out[PATH_MAX]) {
    if (app->config->server.viewer_dir) return realpath(app->config->server.viewer_dir, out) != NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return false;
    *slash = 0;
    static const char *const candidates[] = {"%s/share/viewer", "%s/../share/nadir/viewer"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char dir[PATH_MAX + 32];
        snprintf(dir, sizeof dir, candidates[i], exe);
        if (realpath(dir, out)) return true;
    }
    return false;
}

/* Opens path if it is a regular file, no larger than the limit, whose real path lies inside root: a symlink
 * may point anywhere. Returns the descriptor and its size, or -1. */
static int open_inside(const char *root, const char *path, off_t *size) {
    char real[PATH_MAX];
    size_t rootlen = strlen(root);
    if (!realpath(path, real) || strncmp(real, root, rootlen) != 0 || real[rootlen] != '/') return -1;
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_STATIC_BYTES) {
        close(fd);
        return -1;
    }
    *size = st.st_size;
    return fd;
}

static int read_all(int fd, off_t size, nd_buf *out) {
    nd_buf_reset(out);
    nd_buf_reserve(out, (size_t)size + 1);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, out->data + got, (size_t)size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    out->len = got;
    return got == (size_t)size ? 0 : -1;
}

/* Serves root/rel. A text file gzipped at build time (rel.gz beside it) goes as is to clients that take
 * gzip, so the bundle is not compressed again on every first visit. Hashed build assets (under assets/)
 * never change, so they are cached for a year; other files revalidate after a minute with the ETag the
 * server adds. */
static int serve_file(nd_req *rq, nd_resp *rs, const char *root, const char *rel) {
    if (!safe_relpath(rel)) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "No such file");
    const char *type;
    bool text;
    if (media_type(rel, &type, &text) < 0) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "No such file");
    char path[PATH_MAX + MAX_STATIC_PATH + 8];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    off_t size;
    int fd = open_inside(root, path, &size);
    if (fd < 0) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "No such file");
    bool gz = false;
    if (text && nd_http_accepts_gzip(nd_req_header(rq, "Accept-Encoding"))) {
        char gzpath[sizeof path + 3];
        snprintf(gzpath, sizeof gzpath, "%s.gz", path);
        off_t gzsize;
        int gzfd = open_inside(root, gzpath, &gzsize);
        if (gzfd >= 0) {
            close(fd);
            fd = gzfd;
            size = gzsize;
            gz = true;
        }
    }
    int rc = read_all(fd, size, &rs->body);
    close(fd);
    if (rc < 0) return nd_fail(&rq->err, ND_E_INTERNAL, "path", "Could not read the file");
    rs->status = 200;
    rs->content_type = type;
    rs->compressible = text && !gz;
    if (gz) {
        nd_resp_header(rq, rs, "Content-Encoding", "gzip");
        nd_resp_header(rq, rs, "Vary", "Accept-Encoding");
    }
    rs->cache_seconds = strncmp(rel, "assets/", 7) == 0 ? 31536000 : 60;
    nd_resp_header(rq, rs, "X-Content-Type-Options", "nosniff");
    return 0;
}

static int viewer_file(nd_req *rq, nd_resp *rs) {
    char root[PATH_MAX];
    if (!viewer_root(rq->app, root))
        return nd_fail(&rq->err, ND_E_NOT_FOUND, "viewer",
                       "The viewer is not built: `make build` builds it, or set server.viewer_dir");
    const char *rel = nd_req_param(rq, "path");
    if (!rel || !*rel || rel[strlen(rel) - 1] == '/')
        rel = nd_arena_printf(rq->arena, "%sindex.html", rel ? rel : "");
    return serve_file(rq, rs, root, rel);
}

/* "/viewer" answers with the folder's URL so that the page's relative asset paths resolve. */
static int viewer_redirect(nd_req *rq, nd_resp *rs) {
    const char *loc = *rq->query ? nd_arena_printf(rq->arena, "/viewer/?%s", rq->query) : "/viewer/";
    nd_resp_header(rq, rs, "Location", loc);
    rs->status = 301;
    rs->content_type = "text/plain; charset=utf-8";
    nd_buf_puts(&rs->body, "Moved to /viewer/\n");
    return 0;
}

static const nd_service viewer_service = {
    .id = "viewer",
    .title = "Viewer: browse, map, search and process in a web browser",
    .href = "/viewer/",
    .rel = "service-doc",
    .type = "text/html",
};

void nd_viewer_register(nd_app *app) {
    nd_router_add(app->router, &(nd_route){"GET", "/viewer", viewer_redirect, "viewer", NULL, NULL});
    nd_router_add(app->router, &(nd_route){"GET", "/viewer/{path*}", viewer_file, "viewer", NULL, NULL});
    nd_app_add_service(app, &viewer_service);
}
