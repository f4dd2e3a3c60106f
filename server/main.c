/* The nadir command line: a table of sub-commands over the libraries. */
#include <gdal.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nadir/app.h"
#include "nadir/auth.h"
#include "nadir/catalog.h"
#include "nadir/demodata.h"
#include "nadir/process.h"
#include "nadir/render.h"
#include "nadir/jobs.h"
#include "nadir/land.h"
#include "nadir/wmts.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
} command;

static const command *current;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "nadir %s: ", current->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: nadir %s\n", current->usage);
    return 2;
}

static bool wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    return false;
}

/* Loads the configuration and opens every dataset, or explains why not. */
static int load(const char *path, nd_config **cfg, nd_registry **reg) {
    char err[1024];
    if (nd_config_load(path, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "nadir: %s\n", err);
        return 1;
    }
    if (nd_styles_check(*cfg, err, sizeof err) < 0) { /* an unknown palette fails here, not while serving */
        fprintf(stderr, "nadir: %s\n", err);
        nd_config_free(*cfg);
        return 1;
    }
    if (nd_registry_open(*cfg, reg, err, sizeof err) < 0) {
        fprintf(stderr, "nadir: %s\n", err);
        nd_config_free(*cfg);
        return 1;
    }
    if (nd_styles_check_layers(*cfg, *reg, err, sizeof err) < 0) { /* a style for a layer that is not there */
        fprintf(stderr, "nadir: %s\n", err);
        nd_registry_free(*reg);
        nd_config_free(*cfg);
        return 1;
    }
    return 0;
}

static int cmd_serve(int argc, char **argv) {
    const char *conf = NULL;
    int port = 0;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"port", required_argument, 0, 'p'}, {0}};
    for (int c; (c = getopt_long(argc, argv, "c:p:", opts, NULL)) != -1;) {
        char *end;
        if (c == 'c') conf = optarg;
        else if (c == 'p' && ((port = (int)strtol(optarg, &end, 10)), *end || port < 1 || port > 65535))
            return usage_error("--port must be 1..65535, got '%s'", optarg);
        else if (c == '?') return usage_error("unknown option%s", "");
    }
    if (!conf) return usage_error("missing -c FILE%s", "");
    nd_config *cfg;
    nd_registry *reg;
    if (load(conf, &cfg, &reg)) return 1;
    if (port) {
        /* A base URL that was only the default follows the port given on the command line. */
        char dflt[64];
        snprintf(dflt, sizeof dflt, "http://localhost:%d", cfg->server.port);
        if (strcmp(cfg->server.base_url, dflt) == 0) {
            free(cfg->server.base_url);
            snprintf(dflt, sizeof dflt, "http://localhost:%d", port);
            cfg->server.base_url = strdup(dflt);
        }
        cfg->server.port = port;
    }
    nd_app *app = nd_app_new(cfg, reg);
    char err[512];
    if (nd_auth_open(app, err, sizeof err) < 0) {
        fprintf(stderr, "nadir: %s\n", err);
        nd_app_free(app);
        nd_registry_free(reg);
        nd_config_free(cfg);
        return 1;
    }
    nd_ogcapi_register(app);
    nd_ops_register(app);
    nd_wms_register(app);
    nd_wmts_register(app);
    nd_wcs_register(app);
    nd_dap_register(app);
    nd_stac_register(app);
    nd_wps_register(app);
    nd_processes_register(app);
    nd_viewer_register(app);

    /* Signals go to sigwait in nd_server_run; the worker threads inherit the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = nd_server_run(app, err, sizeof err);
    if (rc < 0) fprintf(stderr, "nadir: %s\n", err);
    nd_app_free(app);
    nd_registry_free(reg);
    nd_config_free(cfg);
    return rc < 0 ? 1 : 0;
}

static int cmd_check_config(int argc, char **argv) {
    if (argc != 2) return usage_error("expected one FILE%s", "");
    nd_config *cfg;
    nd_registry *reg;
    if (load(argv[1], &cfg, &reg)) return 1;
    /* The auth section's keys and JWKS are checked as `serve` checks them. */
    nd_app *app = nd_app_new(cfg, reg);
    char err[512];
    int bad = nd_auth_open(app, err, sizeof err);
    nd_app_free(app);
    if (bad < 0) {
        fprintf(stderr, "nadir: %s\n", err);
        nd_registry_free(reg);
        nd_config_free(cfg);
        return 1;
    }
    printf("%s: ok, %zu datasets%s\n", argv[1], reg->n, cfg->auth.enabled ? ", auth on" : "");
    for (size_t i = 0; i < reg->n; i++) {
        const nd_dataset *ds = reg->items[i];
        printf("  %-16s %zu file(s), %zu variable(s), %zux%zu, EPSG:%d, lon %.4f..%.4f lat %.4f..%.4f%s%s\n", ds->id,
               ds->nfiles, ds->nvars, ds->width, ds->height, ds->epsg, ds->wgs84[0], ds->wgs84[2], ds->wgs84[1],
               ds->wgs84[3], ds->time ? ", time steps: " : "", ds->time ? "yes" : "");
    }
    nd_registry_free(reg);
    nd_config_free(cfg);
    return 0;
}

static int cmd_demo_data(int argc, char **argv) {
    const char *samples = NULL;
    static const struct option opts[] = {{"samples", required_argument, 0, 's'}, {0}};
    for (int c; (c = getopt_long(argc, argv, "s:", opts, NULL)) != -1;) {
        if (c == 's') samples = optarg;
        else return usage_error("unknown option%s", "");
    }
    if (optind != argc - 1) return usage_error("expected one DIR%s", "");
    char err[1024];
    if (nd_demo_data_write(argv[optind], samples, err, sizeof err) < 0 ||
        nd_processes_demo_write(argv[optind], err, sizeof err) < 0) {
        fprintf(stderr, "nadir demo-data: %s\n", err);
        return 1;
    }
    printf("demo data written to %s (configuration: %s/nadir.yaml)\n", argv[optind], argv[optind]);
    return 0;
}

static int cmd_run_job(int argc, char **argv) {
    if (argc != 2) return usage_error("expected one DIR%s", "");
    return nd_job_run(argv[1]) == 0 ? 0 : 1;
}

static int cmd_ingest(int argc, char **argv) {
    const char *conf = NULL, *db = NULL, *collection = "ingested";
    bool quiet = false;
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"database", required_argument, 0, 'd'},
                                         {"collection", required_argument, 0, 'C'}, {"quiet", no_argument, 0, 'q'}, {0}};
    for (int c; (c = getopt_long(argc, argv, "c:d:q", opts, NULL)) != -1;) {
        if (c == 'c') conf = optarg;
        else if (c == 'd') db = optarg;
        else if (c == 'C') collection = optarg;
        else if (c == 'q') quiet = true;
        else return usage_error("unknown option%s", "");
    }
    if (optind >= argc) return usage_error("expected at least one PATH%s", "");
    if (!conf && !db) return usage_error("expected -c FILE or --database DB%s", "");
    nd_config *cfg = NULL;
    char err[1024], path[4096];
    if (conf && nd_config_load(conf, &cfg, err, sizeof err) < 0) return fprintf(stderr, "nadir: %s\n", err), 1;
    if (!db && cfg->catalog.database) db = cfg->catalog.database;
    if (!db) {
        mkdir(cfg->server.data_dir, 0755);
        snprintf(path, sizeof path, "%s/catalog.db", cfg->server.data_dir);
        db = path;
    }
    nd_cat *cat;
    int rc = 1;
    if (nd_cat_open(db, 1, &cat, err, sizeof err) < 0) {
        fprintf(stderr, "nadir: %s\n", err);
    } else {
        size_t added, skipped;
        int failed = nd_cat_ingest_paths(cat, collection, argv + optind, (size_t)(argc - optind), !quiet, &added, &skipped);
        printf("%zu item(s) added or updated, %zu unchanged, %d failed, in collection %s\n", added, skipped, failed,
               collection);
        nd_cat_close(cat);
        rc = failed ? 1 : 0;
    }
    nd_config_free(cfg);
    return rc;
}

static int cmd_version(int argc, char **argv) {
    printf("nadir %s (GDAL %s, libmicrohttpd, netCDF)\n", ND_VERSION, GDALVersionInfo("RELEASE_NAME"));
    return 0;
}

static const command commands[] = {
    {"serve", cmd_serve, "serve -c FILE [--port N]",
     "Serves the datasets of the configuration FILE until SIGTERM/SIGINT, which let in-flight requests finish."},
    {"check-config", cmd_check_config, "check-config FILE",
     "Loads FILE and opens every dataset it names; prints what would be served, or the first error."},
    {"demo-data", cmd_demo_data, "demo-data [--samples DIR] DIR",
     "Writes deterministic demo data and DIR/nadir.yaml; --samples adds real sample data found under DIR\n"
     "(Debian's r-cran-stars extracted with dpkg -x)."},
    {"run-job", cmd_run_job, "run-job DIR",
     "Runs the job in DIR (started by the server's executor): reads DIR/inputs.json, writes the outputs,\n"
     "DIR/outputs.json and DIR/status.json. Exits 0 when the job succeeded."},
    {"ingest", cmd_ingest, "ingest (-c FILE | --database DB) [--collection ID] [--quiet] PATH...",
     "Scans files and directories (GDAL and NetCDF) into STAC items of the catalogue: footprint, time, projection,\n"
     "bands, checksum; unchanged files are skipped, unreadable ones reported and skipped."},
    {"train", nd_sm_train_main, "train soil-moisture [--seed N] [--out FILE]",
     "Trains the soil-moisture network on simulated data; writes processes/soilmoisture/weights.c."},
    {"seed", nd_wmts_seed_main, "seed -c FILE LAYER --zoom A-B [--bbox W,S,E,N] [--time T] [--style S] [--tms ID]",
     "Renders a layer's tiles of a zoom range (default the layer's extent, WebMercatorQuad) into the tile cache."},
    {"version", cmd_version, "version", "Prints the version."},
};

static void usage(FILE *f) {
    fprintf(f, "usage: nadir COMMAND [ARGS]   (nadir COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-40s\n", commands[i].usage);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) argv[1] = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        current = &commands[i];
        if (wants_help(argc - 1, argv + 1)) {
            printf("usage: nadir %s\n\n%s\n", current->usage, current->help);
            return 0;
        }
        GDALAllRegister();
        int rc = current->run(argc - 1, argv + 1);
        GDALDestroyDriverManager();
        return rc;
    }
    fprintf(stderr, "nadir: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
