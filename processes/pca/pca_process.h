/* The pca-screening process and the output writers its adapter shares. */
#ifndef NADIR_PROCESSES_PCA_PROCESS_H
#define NADIR_PROCESSES_PCA_PROCESS_H

#include <jansson.h>

#include "nadir/process.h"
#include "pca.h"
#include "pca_io.h"

extern const nd_process nd_process_pca_screening;

typedef struct nd_pca_screen_stats {
    size_t valid, flagged;
    double lat0, lat1, lon0, lon1; /* extent of the valid spectra */
} nd_pca_screen_stats;

/* Scores every spectrum of f block by block and writes env->dir/scores.nc and selected.nc. */
int nd_pca_screen_write(nd_kernel_env *env, const nd_pca_l1b *f, const nd_pca_basis *b, double threshold,
                        nd_pca_screen_stats *st, nd_error *err);
/* A STAC item (GeoJSON Feature) of the result with counts and threshold. */
json_t *nd_pca_stac_item(nd_kernel_env *env, const nd_pca_l1b *f, const nd_pca_screen_stats *st, const json_t *summary);
/* Screens one spectra file with the validated inputs of pca-screening (the process's run, less the
 * dataset lookup). */
int nd_pca_screen_file(nd_kernel_env *env, const char *path, const json_t *in, json_t *out, nd_error *err);

/* The reference basis and score threshold for the spectra files paths[0..n) (names: their items, for messages):
 * the basis of the earlier job 'basis', or trained on a sample spread evenly over the files; written to
 * env->dir/basis.nc. */
int nd_pca_reference(nd_kernel_env *env, char *const *paths, char *const *names, size_t n, const json_t *in,
                     nd_pca_basis *b, double *threshold, nd_error *err);
/* The outputs of a screening written to env->dir: summary and STAC item values, the three files. */
void nd_pca_set_outputs(nd_kernel_env *env, const nd_pca_l1b *f, const nd_pca_screen_stats *st, json_t *summary,
                        json_t *out);
/* Every item of the collection (within in's datetime): the basis once, then one forked worker per file on a pool
 * of in's workers (or jobs.threads), gathered into env->dir/scores.nc and selected.nc (concatenated along
 * scanline, with file_index) and a summary with per-file counts. */
int nd_pca_screen_many(nd_kernel_env *env, const char *collection, const json_t *in, json_t *out, nd_error *err);
/* Concatenates dirs[i]/scores.nc and selected.nc (the same ground_pixel count) into env->dir. */
int nd_pca_gather(nd_kernel_env *env, char *const *dirs, size_t n, nd_error *err);

#endif
