/* The super-resolution kernel: a compact residual CNN (EDSR blocks, ESPCN sub-pixel tail, added to the
 * bicubic enlargement) run tile by tile with overlap on the CPU (im2col + OpenBLAS sgemm) or the GPU
 * (cuBLAS + small kernels). Arrays in, arrays out: it knows neither HTTP nor GDAL. */
#ifndef ND_SUPERRES_H
#define ND_SUPERRES_H

#include <stddef.h>

#ifndef ND_HAVE_CUDA /* 1 when CMake compiled superres_cuda.cu */
#define ND_HAVE_CUDA 0
#endif

#define ND_SR_BANDS 4    /* red, green, blue, NIR */
#define ND_SR_MAX_CONV 64

/* One 3x3 (or k x k) convolution: weight[out][in][k][k], bias[out]. */
typedef struct nd_sr_conv {
    int out, in, k;
    const float *w, *b;
} nd_sr_conv;

/* conv[0] head (ReLU after), then per block conv[1+2i] (ReLU) and conv[2+2i] (added to its input),
 * last the tail to bands*scale^2 channels before the pixel shuffle. The arrays point into the weights
 * buffer given to nd_sr_model_parse, which must outlive the model. */
typedef struct nd_sr_model {
    int scale, bands, features, blocks, nconv;
    nd_sr_conv conv[ND_SR_MAX_CONV];
} nd_sr_model;

/* Parses a weights file image (format in sr_model.py); 0, or -1 with a reason in err. */
int nd_sr_model_parse(const void *buf, size_t len, nd_sr_model *m, char *err, size_t errlen);
/* The network shipped for this scale (2 or 4), built into the program; NULL for other scales. */
const nd_sr_model *nd_sr_model_builtin(int scale);
/* Pixels of context a tile needs on each side so that its core equals the whole-image result. */
int nd_sr_halo(const nd_sr_model *m);

typedef enum { ND_SR_CPU, ND_SR_CUDA } nd_sr_device;

typedef struct nd_sr_opts {
    int tile;                 /* core tile size in input pixels; 0: the whole image at once */
    nd_sr_device device;
    /* Called after each tile; nonzero stops the run. */
    int (*progress)(void *ctx, int done, int total);
    void *ctx;
} nd_sr_opts;

/* in: bands x h x w (band-sequential, NaN = no data) -> out: bands x (h*s) x (w*s). Each band is
 * standardised by its mean and standard deviation over the whole input, so tiles see what the whole
 * image sees; no-data inputs take the band mean and give NaN over their s x s block. Returns 0, -1 out
 * of memory or a device failure (err says), -2 stopped by progress. */
int nd_sr_run(const nd_sr_model *m, const float *in, int h, int w, const nd_sr_opts *o, float *out, char *err,
              size_t errlen);

/* The network alone on one standardised tile (bands x h x w, zero padding at its edges) on the CPU:
 * out is bands x (h*s) x (w*s). Exposed for tests. 0 or -1 (out of memory). */
int nd_sr_forward_cpu(const nd_sr_model *m, const float *x, int h, int w, float *out);

/* Whether a CUDA device can run the GPU path (false in a build without CUDA); computed once. */
int nd_sr_cuda_available(void);
/* The GPU counterpart of nd_sr_forward_cpu; 0, or -1 with err set. */
int nd_sr_forward_cuda(const nd_sr_model *m, const float *x, int h, int w, float *out, char *err, size_t errlen);

/* Image quality against a reference over h x w, leaving out `border` pixels on each side: PSNR (dB,
 * with the given peak) and SSIM (Wang et al. 2004: 11 x 11 Gaussian window, sigma 1.5). */
double nd_sr_psnr(const float *ref, const float *x, int h, int w, int border, double peak);
double nd_sr_ssim(const float *ref, const float *x, int h, int w, int border, double peak);
/* Bicubic enlargement of one band by an integer factor (Keys a = -0.75, pixel centres aligned, border
 * replicated: PyTorch's interpolate(mode="bicubic", align_corners=False)). */
void nd_sr_bicubic(const float *in, int h, int w, int s, float *out);

#endif
