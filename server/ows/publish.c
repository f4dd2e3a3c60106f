/* Publishing job outputs as datasets: each file output of a successful job becomes, at once, a STAC
 * item of the `results` collection carrying its provenance (process, version, inputs, times, job id),
 * its asset served at /jobs/{id}/results/{output}. WMS/WCS/OPeNDAP publication needs datasets added
 * to the registry at run time, which the registry does not offer yet. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processing.h"
#include "stac.h"

#define RESULTS "results"

static char *base_url;

/* The collection is stored with the first output, so catalogues of servers that never ran a job
 * do not show an empty one. Only the executor thread publishes: no lock needed for the flag. */
static bool collection_ready;

static int ensure_collection(nd_cat *cat) {
    if (collection_ready) return 0;
    json_t *coll = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:{s:[[f,f,f,f]]}, s:{s:[[n,n]]}}, s:[], s:s}", "type",
                             "Collection", "stac_version", "1.0.0", "id", RESULTS, "title", "Processing results",
                             "description", "Outputs of the jobs run on this server, with their provenance.",
                             "license", "other", "extent", "spatial", "bbox", -180.0, -90.0, 180.0, 90.0, "temporal",
                             "interval", "links", "nadir:origin", "jobs");
    nd_error e = {0};
    int rc = nd_cat_put_collection(cat, coll, ND_PUT_UPSERT, "jobs", &e);
    json_decref(coll);
    if (rc < 0) {
        fprintf(stderr, "nadir: jobs: the results collection cannot be stored: %s\n", e.detail);
        return -1;
    }
    collection_ready = true;
    return 0;
}

static void publish(void *ctx, const nd_job_output *o) {
    nd_cat *cat = ctx;
    nd_error e = {0};
    if (ensure_collection(cat) < 0) return;
    nd_ingest_ctx ic = {.collection = RESULTS};
    json_t *item = nd_cat_item_from_file(o->path, &ic, &e);
    if (!item) return; /* not georeferenced (CSV, JSON): served by the job, not catalogued */
    char id[160];
    snprintf(id, sizeof id, "%s-%s", o->job_id, o->output_id);
    json_object_set_new(item, "id", json_string(id));
    json_object_set_new(item, "collection", json_string(RESULTS));
    json_t *props = json_object_get(item, "properties");
    const nd_process *p = nd_process_find(o->process);
    json_object_set_new(props, "nadir:job", json_string(o->job_id));
    json_object_set_new(props, "nadir:process", json_string(o->process));
    if (p) json_object_set_new(props, "nadir:process_version", json_string(p->version));
    json_object_set_new(props, "nadir:output", json_string(o->output_id));
    if (o->inputs) json_object_set(props, "nadir:inputs", (json_t *)o->inputs);
    char href[1024];
    snprintf(href, sizeof href, "%s/jobs/%s/results/%s", base_url ? base_url : "", o->job_id, o->output_id);
    json_object_set_new(item, "assets", json_pack("{s:{s:s, s:s?, s:[s], s:s}}", "data", "href", href, "type",
                                                  o->media_type, "roles", "data", "title", o->output_id));
    if (nd_cat_put_items(cat, RESULTS, &item, 1, ND_PUT_UPSERT, &e) < 0)
        fprintf(stderr, "nadir: jobs: output %s of job %s not catalogued: %s\n", o->output_id, o->job_id, e.detail);
    json_decref(item);
}

void nd_processing_unpublish(const char *job_id, const char *process) {
    nd_cat *cat = nd_stac_cat();
    const nd_process *p = nd_process_find(process);
    if (!cat || !p) return;
    for (size_t i = 0; i < p->noutputs; i++) {
        char id[160];
        snprintf(id, sizeof id, "%s-%s", job_id, p->outputs[i].id);
        nd_error e = {0};
        nd_cat_delete_item(cat, RESULTS, id, &e); /* NOT_FOUND for outputs never catalogued: fine */
    }
}

/* Called once at start-up, after the catalogue (nd_stac_register) and the job system exist. */
void nd_processing_publish_init(nd_app *app, nd_jobs *jobs) {
    nd_cat *cat = nd_stac_cat();
    if (!cat || !jobs) return;
    free(base_url);
    base_url = nd_xstrdup(app->config->server.base_url);
    collection_ready = false;
    nd_jobs_on_output(jobs, publish, cat);
}
