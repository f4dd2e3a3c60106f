/* The GPU entry points of a build without CUDA (CMake defines ND_HAVE_CUDA and compiles superres_cuda.cu
 * when it finds nvcc): no device, and a clear error if one is asked for anyway. */
#include <stdio.h>

#include "superres.h"

#if !ND_HAVE_CUDA
int nd_sr_cuda_available(void) { return 0; }

int nd_sr_forward_cuda(const nd_sr_model *m, const float *x, int h, int w, float *out, char *err, size_t errlen) {
    (void)m, (void)x, (void)h, (void)w, (void)out;
    snprintf(err, errlen, "this build has no CUDA support");
    return -1;
}
#endif
