/* The K-weighting and band-crest loops of mixai, compiled when the package is built.
 *
 * Two second-order sections in transposed direct form II, as scipy.signal.sosfilt computes them,
 * in float64 over float32 input. mixai.dsp.sosloop loads this library with ctypes (no Python C API,
 * so no Python headers are needed to build it) and falls back to numba where it was not built.
 * sos is (2, 6) row-major: b0 b1 b2 a0 a1 a2 per section, a0 == 1.
 */

#include <math.h>

/* Per-sample sum over channels of the squared output, for (channels, n) row-major float32 input;
 * zi is (2 sections, channels, 2) and carries the filter state between calls. */
void sos2_power(const double *sos, const float *x, long channels, long n, double *zi, double *out)
{
    const double b00 = sos[0], b01 = sos[1], b02 = sos[2], a01 = sos[4], a02 = sos[5];
    const double b10 = sos[6], b11 = sos[7], b12 = sos[8], a11 = sos[10], a12 = sos[11];
    long i, c;
    for (i = 0; i < n; i++)
        out[i] = 0.0;
    if (channels == 2) { /* both channels in one loop: two independent recurrences in flight */
        double p0 = zi[0], q0 = zi[1], p1 = zi[2], q1 = zi[3];
        double r0 = zi[4], t0 = zi[5], r1 = zi[6], t1 = zi[7];
        const float *x0 = x, *x1 = x + n;
        for (i = 0; i < n; i++) {
            double v0 = x0[i], v1 = x1[i];
            double y0 = b00 * v0 + p0, y1 = b00 * v1 + p1;
            p0 = b01 * v0 - a01 * y0 + q0;
            p1 = b01 * v1 - a01 * y1 + q1;
            q0 = b02 * v0 - a02 * y0;
            q1 = b02 * v1 - a02 * y1;
            double w0 = b10 * y0 + r0, w1 = b10 * y1 + r1;
            r0 = b11 * y0 - a11 * w0 + t0;
            r1 = b11 * y1 - a11 * w1 + t1;
            t0 = b12 * y0 - a12 * w0;
            t1 = b12 * y1 - a12 * w1;
            out[i] = w0 * w0 + w1 * w1;
        }
        zi[0] = p0; zi[1] = q0; zi[2] = p1; zi[3] = q1;
        zi[4] = r0; zi[5] = t0; zi[6] = r1; zi[7] = t1;
        return;
    }
    for (c = 0; c < channels; c++) {
        double *s0 = zi + 2 * c, *s1 = zi + 2 * (channels + c);
        double p = s0[0], q = s0[1], r = s1[0], t = s1[1];
        const float *xc = x + c * n;
        for (i = 0; i < n; i++) {
            double v = xc[i];
            double y = b00 * v + p;
            p = b01 * v - a01 * y + q;
            q = b02 * v - a02 * y;
            double w = b10 * y + r;
            r = b11 * y - a11 * w + t;
            t = b12 * y - a12 * w;
            out[i] += w * w;
        }
        s0[0] = p; s0[1] = q; s1[0] = r; s1[1] = t;
    }
}

/* Largest |y| and sum of y^2 of mono float32 x through the two sections from rest:
 * result[0] = peak, result[1] = energy. */
void sos2_peak_energy(const double *sos, const float *x, long n, double *result)
{
    const double b00 = sos[0], b01 = sos[1], b02 = sos[2], a01 = sos[4], a02 = sos[5];
    const double b10 = sos[6], b11 = sos[7], b12 = sos[8], a11 = sos[10], a12 = sos[11];
    double p = 0.0, q = 0.0, r = 0.0, t = 0.0, peak = 0.0, energy = 0.0;
    long i;
    for (i = 0; i < n; i++) {
        double v = x[i];
        double y = b00 * v + p;
        p = b01 * v - a01 * y + q;
        q = b02 * v - a02 * y;
        double w = b10 * y + r;
        r = b11 * y - a11 * w + t;
        t = b12 * y - a12 * w;
        energy += w * w;
        if (fabs(w) > peak)
            peak = fabs(w);
    }
    result[0] = peak;
    result[1] = energy;
}
