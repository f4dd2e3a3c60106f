/* The server's state built at start-up and immutable afterwards: configuration, datasets, routes. */
#ifndef NADIR_APP_H
#define NADIR_APP_H

#include <stddef.h>
#include <time.h>

#include "nadir/auth.h"
#include "nadir/config.h"
#include "nadir/dataset.h"
#include "nadir/http.h"

/* A service shown on the landing page and in /conformance. */
typedef struct nd_service {
    const char *id;          /* "wms" */
    const char *title;       /* "Web Map Service 1.3.0" */
    const char *href;        /* path of its entry document, e.g. "/wms?SERVICE=WMS&REQUEST=GetCapabilities" */
    const char *rel;         /* link relation, e.g. "service" */
    const char *type;        /* media type of that document */
    const char *const *conformance; /* NULL-terminated conformance class URIs */
    const char *dataset_href;        /* link from each collection, "{id}" replaced: "/opendap/{id}" */
} nd_service;

typedef struct nd_app {
    nd_config *config;
    nd_registry *datasets;
    nd_router *router;
    const nd_service **services;
    size_t nservices;
    time_t started;
    struct nd_metrics *metrics;
    /* Services with state of their own (jobs...) append their lines to /metrics. */
    void (*metrics_sources[8])(const struct nd_app *app, nd_buf *out);
    size_t nmetrics_sources;
    struct nd_doc_cache *docs;
    struct nd_auth *auth;     /* NULL without an auth section: every caller may do everything */
    struct nd_limits *limits; /* NULL without a limits section */
    /* 1 with owner filled when dataset id is a job's output (only its owner and admins may read it), else 0;
     * set by the job system. */
    int (*dataset_owner)(const struct nd_app *app, const char *id, char owner[128]);
} nd_app;

nd_app *nd_app_new(nd_config *cfg, nd_registry *datasets);
void nd_app_free(nd_app *app);
void nd_app_add_service(nd_app *app, const nd_service *svc);
void nd_app_add_metrics(nd_app *app, void (*fn)(const nd_app *app, nd_buf *out));

/* Documents that depend only on the app (conformance, OpenAPI, landing page): built by `build` on first
 * use, then served from memory. key names the document and its variant ("landing.html"). */
int nd_app_cached_doc(const nd_app *app, const char *key, nd_req *rq, nd_resp *rs, nd_handler build);

/* Each service adds its routes and its entry; main.c calls them in order. */
void nd_ogcapi_register(nd_app *app);
void nd_ops_register(nd_app *app);
void nd_wms_register(nd_app *app);
void nd_wmts_register(nd_app *app);
void nd_wcs_register(nd_app *app);
void nd_dap_register(nd_app *app);
void nd_stac_register(nd_app *app);
void nd_wps_register(nd_app *app);
void nd_processes_register(nd_app *app);
void nd_viewer_register(nd_app *app);

#endif
