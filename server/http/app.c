/* The application state shared by every request: built once at start-up, read-only afterwards. */
#include <stdlib.h>
#include <time.h>

#include "nadir/app.h"
#include "nadir/metrics.h"

nd_app *nd_app_new(nd_config *cfg, nd_registry *datasets) {
    nd_app *app = nd_xcalloc(1, sizeof *app);
    app->config = cfg;
    app->datasets = datasets;
    app->router = nd_router_new();
    app->metrics = nd_metrics_new();
    app->started = time(NULL);
    return app;
}

/* The configuration and the datasets belong to the caller; the rest is the app's. */
void nd_app_free(nd_app *app) {
    if (!app) return;
    nd_router_free(app->router);
    nd_metrics_free(app->metrics);
    free(app->services);
    free(app);
}

void nd_app_add_service(nd_app *app, const nd_service *svc) {
    app->services = nd_xrealloc(app->services, (app->nservices + 1) * sizeof *app->services);
    app->services[app->nservices++] = svc;
}

void nd_app_add_metrics(nd_app *app, void (*fn)(const nd_app *app, nd_buf *out)) {
    if (app->nmetrics_sources < sizeof app->metrics_sources / sizeof app->metrics_sources[0])
        app->metrics_sources[app->nmetrics_sources++] = fn;
}
