/* The soil-moisture forward model (Topp permittivity, Dubois bare soil, water cloud vegetation), the
 * inversion of one observation and the per-parcel averaging in linear units. */
#include <math.h>
#include <string.h>

#include "soilmoisture.h"

/* xoshiro256** seeded by splitmix64: portable, so the trainer gives the same weights everywhere. */
static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void nd_rng_seed(nd_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nd_rng_next(nd_rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return out;
}

double nd_rng_uniform(nd_rng *r) { return (double)(nd_rng_next(r) >> 11) * 0x1.0p-53; }

double nd_rng_normal(nd_rng *r) {
    double u = nd_rng_uniform(r), v = nd_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

double nd_sm_topp(double mv) { return 3.03 + 9.3 * mv + 146.0 * mv * mv - 76.7 * mv * mv * mv; }

double nd_sm_dubois_vv(double mv, double theta_deg, double hrms_cm, double lambda_cm) {
    double th = theta_deg * M_PI / 180.0, c = cos(th), s = sin(th), k = 2.0 * M_PI / lambda_cm;
    double eps = nd_sm_topp(mv);
    return pow(10.0, -2.35) * (c * c * c) / (s * s * s) * pow(10.0, 0.046 * eps * tan(th)) *
           pow(k * hrms_cm * s, 1.1) * pow(lambda_cm, 0.7);
}

double nd_sm_forward_vv(double mv, double theta_deg, double ndvi) {
    double c = cos(theta_deg * M_PI / 180.0);
    double tau2 = exp(-2.0 * ND_SM_WCM_B * ndvi / c);
    double veg = ND_SM_WCM_A * ndvi * c * (1.0 - tau2);
    return veg + tau2 * nd_sm_dubois_vv(mv, theta_deg, ND_SM_HRMS_CM, ND_SM_LAMBDA_CM);
}

double nd_sm_invert(const nd_mlp *m, double sigma_db, double theta_deg, double ndvi, nd_sm_condition cond) {
    double x[3] = {sigma_db, theta_deg, ndvi}, y;
    nd_mlp_forward(m, x, &y);
    double lo = cond == ND_SM_COND_WET ? 20.0 : 5.0, hi = cond == ND_SM_COND_DRY ? 25.0 : 40.0;
    return y < lo ? lo : y > hi ? hi : y;
}

const char *nd_sm_skip_reason(int skipped) {
    switch (skipped) {
    case ND_SM_SKIP_SMALL: return "too small";
    case ND_SM_SKIP_CLASS: return "excluded class";
    case ND_SM_SKIP_NODATA: return "no valid pixel";
    case ND_SM_SKIP_NDVI: return "NDVI outside [-1, 1]";
    case ND_SM_SKIP_GEOMETRY: return "invalid geometry";
    case ND_SM_SKIP_OUTSIDE: return "outside the territory";
    default: return "";
    }
}

void nd_sm_accumulate(nd_sm_parcel *parcels, size_t nparcels, const int *ids, const float *sigma_db,
                      const float *theta, const float *ndvi, size_t npix) {
    for (size_t i = 0; i < npix; i++) {
        int id = ids[i];
        if (id <= 0 || (size_t)id > nparcels) continue;
        nd_sm_parcel *p = &parcels[id - 1];
        if (isnan(sigma_db[i]) || isnan(theta[i]) || isnan(ndvi[i])) continue;
        if (ndvi[i] < -1.0f || ndvi[i] > 1.0f) p->skipped = ND_SM_SKIP_NDVI;
        p->npix++;
        p->sigma_db += pow(10.0, sigma_db[i] / 10.0); /* linear: speckle averages in power, not in dB */
        p->theta += theta[i];
        p->ndvi += ndvi[i];
    }
}

void nd_sm_reset(nd_sm_parcel *parcels, size_t nparcels) {
    for (size_t k = 0; k < nparcels; k++) {
        parcels[k].npix = 0;
        parcels[k].sigma_db = parcels[k].theta = parcels[k].ndvi = 0;
        parcels[k].mv = NAN;
        parcels[k].skipped = 0;
    }
}

size_t nd_sm_finish(const nd_mlp *m, nd_sm_parcel *parcels, size_t nparcels, const unsigned char *excluded,
                    size_t min_pixels, nd_sm_condition cond) {
    size_t done = 0;
    for (size_t k = 0; k < nparcels; k++) {
        nd_sm_parcel *p = &parcels[k];
        if (p->npix) {
            p->sigma_db = 10.0 * log10(p->sigma_db / (double)p->npix);
            p->theta /= (double)p->npix;
            p->ndvi /= (double)p->npix;
        } else {
            p->sigma_db = p->theta = p->ndvi = NAN;
        }
        if (p->skipped) continue;
        if (excluded && excluded[k]) p->skipped = ND_SM_SKIP_CLASS;
        else if (p->npix == 0) p->skipped = ND_SM_SKIP_NODATA;
        else if (p->npix < min_pixels) p->skipped = ND_SM_SKIP_SMALL;
        else {
            p->mv = nd_sm_invert(m, p->sigma_db, p->theta, p->ndvi, cond);
            done++;
        }
    }
    return done;
}

size_t nd_sm_parcels(const nd_mlp *m, const int *ids, const float *sigma_db, const float *theta, const float *ndvi,
                     size_t npix, nd_sm_parcel *parcels, size_t nparcels, const unsigned char *excluded,
                     size_t min_pixels, nd_sm_condition cond) {
    nd_sm_reset(parcels, nparcels);
    nd_sm_accumulate(parcels, nparcels, ids, sigma_db, theta, ndvi, npix);
    return nd_sm_finish(m, parcels, nparcels, excluded, min_pixels, cond);
}
