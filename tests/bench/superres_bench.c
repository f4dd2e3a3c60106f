/* The super-resolution bench driver: the shipped network (a weights file) on a deterministic 4-band image
 * written for the peer too, tiled as the process runs it; prints the best of N runs.
 *   superres_bench WEIGHTS SIDE TILE cpu|cuda REPEAT IN.f32 OUT.f32
 * Output lines: SECONDS, MPIX_PER_S (output pixels), GFLOPS (network convolutions only). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "superres.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s WEIGHTS SIDE TILE cpu|cuda REPEAT IN.f32 OUT.f32\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) return perror(argv[1]), 1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    float *buf = malloc((size_t)len + 4);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) return fprintf(stderr, "short read\n"), 1;
    fclose(f);
    nd_sr_model m;
    char e[256];
    if (nd_sr_model_parse(buf, (size_t)len, &m, e, sizeof e)) return fprintf(stderr, "%s\n", e), 1;
    int side = atoi(argv[2]), tile = atoi(argv[3]), repeat = atoi(argv[5]), s = m.scale;
    nd_sr_device dev = strcmp(argv[4], "cuda") == 0 ? ND_SR_CUDA : ND_SR_CPU;
    if (dev == ND_SR_CUDA && !nd_sr_cuda_available()) return fprintf(stderr, "no CUDA device\n"), 3;
    size_t n = (size_t)side * side, on = 4 * n * (size_t)(s * s);
    /* Smooth fields with edges and noise: the content does not change the speed, only the result. */
    float *x = malloc(4 * n * sizeof *x), *y = malloc(on * sizeof *y);
    unsigned r = 12345;
    for (int c = 0; c < 4; c++)
        for (size_t i = 0; i < n; i++) {
            int row = (int)(i / side), col = (int)(i % side);
            r = r * 1103515245u + 12345u;
            x[c * n + i] = (float)(800 + 300 * c + 400 * sin(row / 23.0 + c) * cos(col / 31.0) +
                                   ((row / 40 + col / 40) % 2 ? 150 : 0) + (double)(r >> 16) / 65536.0 * 40);
        }
    f = fopen(argv[6], "wb");
    if (!f || fwrite(x, sizeof *x, 4 * n, f) != 4 * n) return fprintf(stderr, "cannot write %s\n", argv[6]), 1;
    fclose(f);
    double best = INFINITY;
    nd_sr_opts o = {.tile = tile, .device = dev};
    for (int k = 0; k < repeat; k++) {
        double t0 = now_s();
        if (nd_sr_run(&m, x, side, side, &o, y, e, sizeof e)) return fprintf(stderr, "%s\n", e), 1;
        best = fmin(best, now_s() - t0);
    }
    f = fopen(argv[7], "wb");
    if (!f || fwrite(y, sizeof *y, on, f) != on) return fprintf(stderr, "cannot write %s\n", argv[7]), 1;
    fclose(f);
    double flop = 0; /* per input pixel, for the whole image (tile halos not counted) */
    for (int i = 0; i < m.nconv; i++) flop += 2.0 * m.conv[i].out * m.conv[i].in * m.conv[i].k * m.conv[i].k;
    printf("SECONDS %.4f\nMPIX_PER_S %.4f\nGFLOPS %.2f\n", best, (double)n * s * s / best / 1e6,
           flop * (double)n / best / 1e9);
    free(x), free(y), free(buf);
    return 0;
}
