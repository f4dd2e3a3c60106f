/* The analytic side of DIVAnd: the Matérn kernel that the binomial smoothness norm produces in an
 * infinite domain, its normalisation and the length rescaling that makes every dimension comparable. */
#include <math.h>

#include "divand.h"

/* K_nu(x) = ∫_0^∞ exp(-x cosh t) cosh(nu t) dt: the integrand is smooth and decays doubly
 * exponentially, so the trapezoidal rule is spectrally accurate. */
double nd_divand_besselk(double nu, double x) {
    if (!(x > 0)) return INFINITY;
    const double h = 0.005;
    double s = 0.5 * exp(-x);
    for (int i = 1; i < 200000; i++) {
        double t = i * h;
        double term = exp(-x * cosh(t)) * cosh(nu * t);
        s += term;
        if (x * cosh(t) > 60 + nu * t) break;
    }
    return s * h;
}

/* m = ceil(1 + neff/2): the smallest order whose kernel has a continuous derivative. */
int nd_divand_order(int neff) { return (int)ceil(1.0 + neff / 2.0); }

static double nu_of(int neff) { return nd_divand_order(neff) - neff / 2.0; }

/* The normalised raw kernel 2/Γ(ν) (r/2)^ν K_ν(r), equal to 1 at r = 0. */
static double raw_kernel(double nu, double r) {
    r = fabs(r);
    if (r == 0) return 1;
    if (nu == 1.5) return (1 + r) * exp(-r); /* closed form, exact */
    return 2 / tgamma(nu) * pow(r / 2, nu) * nd_divand_besselk(nu, r);
}

double nd_divand_mu(int neff) {
    int m = nd_divand_order(neff);
    double nu = nu_of(neff);
    return pow(4 * M_PI, neff / 2.0) * tgamma(m) / tgamma(nu);
}

/* Bisection for raw_kernel(len_scale) = K1(1): monotone decreasing kernel. */
double nd_divand_len_scale(int neff) {
    double nu = nu_of(neff), target = 0.6019072301972346; /* K1(1) */
    if (nu == 1) return 1; /* the raw kernel is r K1(r) itself */
    double a = 0, b = 100;
    while (b - a > 1e-12) {
        double c = 0.5 * (a + b);
        if (raw_kernel(nu, c) > target) a = c;
        else b = c;
    }
    return 0.5 * (a + b);
}

double nd_divand_kernel(int neff, double r) { return raw_kernel(nu_of(neff), r * nd_divand_len_scale(neff)); }
