/* The GPU path of the super-resolution network: the same im2col + matrix products as superres.c, the
 * products by cuBLAS (column-major, so C^T = B^T A^T) and the element-wise steps (im2col, bias, ReLU,
 * pixel shuffle plus bicubic) by small kernels. Built only when CMake finds nvcc. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>

extern "C" {
#include "superres.h"
}

static int available;
static cublasHandle_t handle;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void probe(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) {
        cudaGetLastError(); /* clear the sticky "no device" error */
        return;
    }
    available = cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS;
}

extern "C" int nd_sr_gpu_available(void) {
    pthread_once(&once, probe);
    return available;
}

__global__ void k_im2col3(const float *in, int c, int h, int w, float *col) {
    size_t n = (size_t)h * w, total = n * (size_t)c * 9;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t p = i % n, row = i / n;
        int ch = (int)(row / 9), k = (int)(row % 9), y = (int)(p / w), x = (int)(p % w);
        int sy = y + k / 3 - 1, sx = x + k % 3 - 1;
        col[i] = sy >= 0 && sy < h && sx >= 0 && sx < w ? in[((size_t)ch * h + sy) * w + sx] : 0.0f;
    }
}

__global__ void k_bias(float *d, const float *b, int out, size_t n, int accumulate) {
    size_t total = n * (size_t)out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        d[i] = (accumulate ? d[i] : 0.0f) + b[i / n];
}

__global__ void k_relu(float *d, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        d[i] = d[i] > 0.0f ? d[i] : 0.0f;
}

__device__ static void cubic_coeffs(float t, float c[4]) {
    const float A = -0.75f;
    float x = t + 1.0f;
    c[0] = __fadd_rn(__fmul_rn(__fadd_rn(__fmul_rn(__fmul_rn(A, __fadd_rn(x, -5.0f)), x), 8.0f * A), x), -4.0f * A);
    x = t;
    c[1] = __fadd_rn(__fmul_rn(__fmul_rn(__fadd_rn(__fmul_rn(A + 2.0f, x), -(A + 3.0f)), x), x), 1.0f);
    x = 1.0f - t;
    c[2] = __fadd_rn(__fmul_rn(__fmul_rn(__fadd_rn(__fmul_rn(A + 2.0f, x), -(A + 3.0f)), x), x), 1.0f);
    x = 2.0f - t;
    c[3] = __fadd_rn(__fmul_rn(__fadd_rn(__fmul_rn(__fmul_rn(A, __fadd_rn(x, -5.0f)), x), 8.0f * A), x), -4.0f * A);
}

/* out[c][y][x] = t[c*s*s + (y%s)*s + x%s][y/s][x/s] + bicubic(in[c])[y][x] */
__global__ void k_shuffle_bicubic(const float *t, const float *in, int nb, int h, int w, int s, float *out) {
    int H = h * s, W = w * s;
    size_t n = (size_t)h * w, total = (size_t)nb * H * W;
    float inv = 1.0f / (float)s;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int ox = (int)(i % W), oy = (int)((i / W) % H), c = (int)(i / ((size_t)H * W));
        float ry = inv * ((float)oy + 0.5f) - 0.5f, rx = inv * ((float)ox + 0.5f) - 0.5f;
        int iy = (int)floorf(ry), ix = (int)floorf(rx);
        float cy[4], cx[4], acc = 0.0f;
        cubic_coeffs(ry - (float)iy, cy);
        cubic_coeffs(rx - (float)ix, cx);
        const float *band = in + (size_t)c * n;
        for (int k = 0; k < 4; k++) {
            int yy = min(max(iy - 1 + k, 0), h - 1);
            const float *r = band + (size_t)yy * w;
            float row = 0.0f;
            for (int j = 0; j < 4; j++) row = __fadd_rn(row, __fmul_rn(r[min(max(ix - 1 + j, 0), w - 1)], cx[j]));
            acc = __fadd_rn(acc, __fmul_rn(row, cy[k]));
        }
        int ch = c * s * s + (oy % s) * s + ox % s;
        out[i] = t[(size_t)ch * n + (size_t)(oy / s) * w + ox / s] + acc;
    }
}

static unsigned grid_for(size_t n) {
    size_t g = (n + 255) / 256;
    return (unsigned)(g > 65535 ? 65535 : g);
}

/* dst (+)= conv(src) on the device; wd/bd the convolution's weights already there. */
static int conv3(const nd_sr_conv *cv, const float *wd, const float *bd, const float *src, int h, int w, float *col,
                 float *dst, int accumulate) {
    size_t n = (size_t)h * w;
    k_bias<<<grid_for(n * cv->out), 256>>>(dst, bd, cv->out, n, accumulate);
    k_im2col3<<<grid_for(n * cv->in * 9), 256>>>(src, cv->in, h, w, col);
    const float one = 1.0f;
    int k = cv->in * 9;
    return cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, (int)n, cv->out, k, &one, col, (int)n, wd, k, &one, dst,
                       (int)n) == CUBLAS_STATUS_SUCCESS ? 0 : -1;
}

extern "C" int nd_sr_gpu_forward(const nd_sr_model *m, const float *x, int h, int w, float *out, char *err,
                                 size_t errlen) {
    if (!nd_sr_gpu_available()) {
        snprintf(err, errlen, "no usable CUDA device");
        return -1;
    }
    int s = m->scale, nf = m->features, nb = m->bands, ntail = nb * s * s;
    size_t n = (size_t)h * w, nw = 0;
    for (int i = 0; i < m->nconv; i++) nw += (size_t)m->conv[i].out * (m->conv[i].in * 9 + 1);
    int maxc = nf > ntail ? nf : ntail;
    float *dx = NULL, *da = NULL, *dt = NULL, *dcol = NULL, *dout = NULL, *dw = NULL;
    cudaError_t e = cudaMalloc(&dx, (size_t)nb * n * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&da, (size_t)nf * n * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&dt, (size_t)maxc * n * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&dcol, (size_t)9 * (nf > nb ? nf : nb) * n * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&dout, (size_t)nb * n * s * s * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&dw, nw * sizeof(float));
    const float *wd[ND_SR_MAX_CONV], *bd[ND_SR_MAX_CONV];
    size_t off = 0;
    for (int i = 0; i < m->nconv && e == cudaSuccess; i++) {
        const nd_sr_conv *c = &m->conv[i];
        size_t k = (size_t)c->out * c->in * 9;
        wd[i] = dw + off;
        e = cudaMemcpy(dw + off, c->w, k * sizeof(float), cudaMemcpyHostToDevice);
        off += k;
        bd[i] = dw + off;
        if (e == cudaSuccess) e = cudaMemcpy(dw + off, c->b, (size_t)c->out * sizeof(float), cudaMemcpyHostToDevice);
        off += (size_t)c->out;
    }
    if (e == cudaSuccess) e = cudaMemcpy(dx, x, (size_t)nb * n * sizeof(float), cudaMemcpyHostToDevice);
    int rc = e == cudaSuccess ? 0 : -1;
    if (rc == 0) {
        rc |= conv3(&m->conv[0], wd[0], bd[0], dx, h, w, dcol, da, 0);
        k_relu<<<grid_for(n * nf), 256>>>(da, n * nf);
        for (int b = 0; b < m->blocks && rc == 0; b++) {
            rc |= conv3(&m->conv[1 + 2 * b], wd[1 + 2 * b], bd[1 + 2 * b], da, h, w, dcol, dt, 0);
            k_relu<<<grid_for(n * nf), 256>>>(dt, n * nf);
            rc |= conv3(&m->conv[2 + 2 * b], wd[2 + 2 * b], bd[2 + 2 * b], dt, h, w, dcol, da, 1);
        }
        int last = m->nconv - 1;
        rc |= conv3(&m->conv[last], wd[last], bd[last], da, h, w, dcol, dt, 0);
        k_shuffle_bicubic<<<grid_for(n * nb * s * s), 256>>>(dt, dx, nb, h, w, s, dout);
        e = cudaGetLastError();
        if (e == cudaSuccess) e = cudaMemcpy(out, dout, (size_t)nb * n * s * s * sizeof(float), cudaMemcpyDeviceToHost);
        if (e != cudaSuccess) rc = -1;
    }
    if (rc) snprintf(err, errlen, "CUDA: %s", e != cudaSuccess ? cudaGetErrorString(e) : "cuBLAS sgemm failed");
    cudaFree(dx), cudaFree(da), cudaFree(dt), cudaFree(dcol), cudaFree(dout), cudaFree(dw);
    return rc;
}
