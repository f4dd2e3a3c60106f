/* Publishing job outputs as datasets: each georeferenced file output of a successful job becomes, before the
 * job is reported successful, a dataset of the registry (so a WMS/WMTS layer, a WCS coverage and an OPeNDAP
 * dataset) and a STAC item of the `results` collection carrying its provenance (process, version, inputs,
 * times, job id) and those access points. Dismissed and expired jobs withdraw what they published. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/wms.h"
#include "nadir/wmts.h"
#include "processing.h"
#include "stac.h"

#define RESULTS "results"

typedef struct publisher {
    nd_app *app;
    nd_cat *cat;              /* NULL without a catalogue: datasets only */
    bool collection_ready;    /* stored with the first output, so a server that never ran a job shows none */
} publisher;

/* One per process: the job system is started once (nd_processing_start) and publishes from its thread. */
static publisher the_publisher;

static int ensure_collection(publisher *p) {
    if (p->collection_ready) return 0;
    json_t *coll = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:{s:[[f,f,f,f]]}, s:{s:[[n,n]]}}, s:[], s:s}", "type",
                             "Collection", "stac_version", "1.0.0", "id", RESULTS, "title", "Processing results",
                             "description", "Outputs of the jobs run on this server, with their provenance.",
                             "license", "other", "extent", "spatial", "bbox", -180.0, -90.0, 180.0, 90.0, "temporal",
                             "interval", "links", "nadir:origin", "jobs");
    nd_error e = {0};
    int rc = nd_cat_put_collection(p->cat, coll, ND_PUT_UPSERT, "jobs", &e);
    json_decref(coll);
    if (rc < 0) {
        fprintf(stderr, "nadir: jobs: the results collection cannot be stored: %s\n", e.detail);
        return -1;
    }
    p->collection_ready = true;
    return 0;
}

/* The id of an output's dataset and STAC item: the job id is a UUID and output ids are [A-Za-z0-9_], so the
 * result is a valid dataset id, WMS layer prefix and OPeNDAP path. */
static void output_id(const char *job_id, const char *output, char *id, size_t n) {
    snprintf(id, n, "%s-%s", job_id, output);
}

/* The dataset of an output (NULL when it is not a grid GDAL or netCDF-C reads: CSV, JSON, text). */
static const nd_dataset *publish_dataset(publisher *p, const nd_job_output *o, const char *id) {
    const nd_process *proc = nd_process_find(o->process);
    char title[512], abstract[512];
    snprintf(title, sizeof title, "%s: %s of job %s", proc && proc->title ? proc->title : o->process, o->output_id,
             o->job_id);
    snprintf(abstract, sizeof abstract, "Output %s of process %s%s%s, job %s.", o->output_id, o->process,
             proc ? " version " : "", proc ? proc->version : "", o->job_id);
    const nd_dataset *ds = NULL;
    char err[1024];
    if (!p->app->datasets || nd_registry_publish(p->app->datasets, id, title, abstract, o->path, &ds, err, sizeof err) < 0)
        return NULL;
    nd_wms_publish(ds);
    nd_wmts_publish();
    return ds;
}

static void publish_item(publisher *p, const nd_job_output *o, const char *id, const nd_dataset *ds) {
    nd_error e = {0};
    if (ensure_collection(p) < 0) return;
    nd_ingest_ctx ic = {.collection = RESULTS, .dataset = ds};
    json_t *item = nd_cat_item_from_file(o->path, &ic, &e);
    if (!item) return; /* not georeferenced: served by the job, not catalogued */
    json_object_set_new(item, "id", json_string(id));
    json_object_set_new(item, "collection", json_string(RESULTS));
    json_t *props = json_object_get(item, "properties");
    const nd_process *proc = nd_process_find(o->process);
    json_object_set_new(props, "nadir:job", json_string(o->job_id));
    json_object_set_new(props, "nadir:process", json_string(o->process));
    if (proc) json_object_set_new(props, "nadir:process_version", json_string(proc->version));
    json_object_set_new(props, "nadir:output", json_string(o->output_id));
    if (o->inputs) json_object_set(props, "nadir:inputs", (json_t *)o->inputs);
    /* The file itself through the job's results (stored as a path, made absolute when served), beside the
     * WMS/WCS/OPeNDAP access points nd_cat_item_from_file gave a served dataset. */
    json_t *assets = json_object_get(item, "assets");
    if (!assets) json_object_set_new(item, "assets", assets = json_object());
    char href[512];
    snprintf(href, sizeof href, "/jobs/%s/results/%s", o->job_id, o->output_id);
    json_object_set_new(assets, "data", json_pack("{s:s, s:s?, s:[s], s:s}", "href", href, "type", o->media_type,
                                                  "roles", "data", "title", o->output_id));
    if (nd_cat_put_items(p->cat, RESULTS, &item, 1, ND_PUT_UPSERT, &e) < 0)
        fprintf(stderr, "nadir: jobs: output %s of job %s not catalogued: %s\n", o->output_id, o->job_id, e.detail);
    json_decref(item);
}

static void publish(void *ctx, const nd_job_output *o) {
    publisher *p = ctx;
    char id[160];
    output_id(o->job_id, o->output_id, id, sizeof id);
    const nd_dataset *ds = publish_dataset(p, o, id);
    if (p->cat) publish_item(p, o, id, ds);
}

static void withdraw(void *ctx, const char *job_id, const char *process) {
    publisher *p = ctx;
    const nd_process *proc = nd_process_find(process);
    for (size_t i = 0; proc && i < proc->noutputs; i++) {
        char id[160];
        output_id(job_id, proc->outputs[i].id, id, sizeof id);
        nd_registry_withdraw(p->app->datasets, id);
        nd_error e = {0};
        if (p->cat) nd_cat_delete_item(p->cat, RESULTS, id, &e); /* NOT_FOUND for outputs never catalogued: fine */
    }
}

/* Called once at start-up, after the catalogue (nd_stac_register) and the job system exist. */
void nd_processing_publish_init(nd_app *app, nd_jobs *jobs) {
    if (!jobs) return;
    the_publisher = (publisher){.app = app, .cat = nd_stac_cat()};
    nd_jobs_add_publisher(jobs, &(nd_job_publisher){publish, withdraw, &the_publisher});
}
