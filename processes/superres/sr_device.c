/* The GPU entry points: the CUDA code lives in a module (libnadir_cuda.so, built when CMake finds nvcc) that is
 * loaded the first time a job asks about the GPU, so that the program itself never maps cuBLAS. Without the
 * module, or when it cannot load, there is no device, and a clear error if one is asked for anyway. */
#include <stdio.h>

#include "superres.h"

#if ND_HAVE_CUDA
#include <dlfcn.h>
#include <pthread.h>

static int (*gpu_available)(void);
static int (*gpu_forward)(const nd_sr_model *, const float *, int, int, float *, char *, size_t);
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *h = dlopen(ND_CUDA_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h) {
        *(void **)&gpu_available = dlsym(h, "nd_sr_gpu_available");
        *(void **)&gpu_forward = dlsym(h, "nd_sr_gpu_forward");
    }
    if (!gpu_available || !gpu_forward) {
        snprintf(load_error, sizeof load_error, "the CUDA module could not be loaded (%s)", h ? "symbols missing" : dlerror());
        gpu_available = NULL, gpu_forward = NULL;
    }
}

int nd_sr_cuda_available(void) {
    pthread_once(&load_once, load);
    return gpu_available ? gpu_available() : 0;
}

int nd_sr_forward_cuda(const nd_sr_model *m, const float *x, int h, int w, float *out, char *err, size_t errlen) {
    pthread_once(&load_once, load);
    if (!gpu_forward) return snprintf(err, errlen, "%s", load_error), -1;
    return gpu_forward(m, x, h, w, out, err, errlen);
}
#else
int nd_sr_cuda_available(void) { return 0; }

int nd_sr_forward_cuda(const nd_sr_model *m, const float *x, int h, int w, float *out, char *err, size_t errlen) {
    (void)m, (void)x, (void)h, (void)w, (void)out;
    snprintf(err, errlen, "this build has no CUDA support");
    return -1;
}
#endif
