/* The 4x oversampled true-peak filter of mixai, compiled when the package is built.
 *
 * For float32 input x (channels rows, `stride` floats apart, each at least n + rows - 1 long) and the
 * (rows, count) row-major float32 between-sample phases B of an interpolator, raise every out[t] to
 *     max over channels c of  max(|x[c, t + delay]|, max over phases j of |sum_k x[c, t + k] B[k, j]|)
 * (no on-sample term when delay < 0). The caller starts out at zero and calls once per group of
 * phases that share their nonzero taps, so a short filter never runs over a long one's zeros.
 *
 * mixai.dsp.truepeak otherwise computes this with numpy's FFT (overlap-save). Here it is done
 * directly, eight outputs at a time, every phase's sum in a register while the taps go by (GCC's
 * vector extension); target_clones adds an AVX2/FMA version chosen at load time where the CPU has
 * it. mixai.dsp.polyphase loads this library with ctypes.
 */

#include <math.h>
#include <string.h>

#define MAX_PHASES 8
#define LANES 8 /* outputs computed together: one vector of eight floats */

typedef float lanes __attribute__((vector_size(LANES * sizeof(float))));
typedef int mask __attribute__((vector_size(LANES * sizeof(int))));

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

#define INLINE static inline __attribute__((always_inline))

INLINE lanes load(const float *p)
{
    lanes v;
    memcpy(&v, p, sizeof v); /* unaligned */
    return v;
}

INLINE lanes absolute(lanes v)
{
    return (lanes)((mask)v & (mask){0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff,
                                    0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff});
}

INLINE lanes maximum(lanes a, lanes b)
{
    mask greater = a > b;
    return (lanes)(((mask)a & greater) | ((mask)b & ~greater));
}

/* LANES outputs from t on: every phase's accumulator stays in a register while the taps go by. */
#define KERNEL(COUNT)                                                               \
    do {                                                                            \
        lanes acc[COUNT];                                                           \
        for (j = 0; j < COUNT; j++)                                                 \
            acc[j] = (lanes){0};                                                    \
        for (k = 0; k < rows; k++) {                                                \
            lanes v = load(base + k);                                               \
            for (j = 0; j < COUNT; j++)                                             \
                acc[j] += v * phases[COUNT * k + j];                                \
        }                                                                           \
        peak = delay >= 0 ? absolute(load(base + delay)) : (lanes){0};              \
        for (j = 0; j < COUNT; j++)                                                 \
            peak = maximum(peak, absolute(acc[j]));                                 \
    } while (0)

CLONES
int polyphase_peaks(const float *x, long channels, long stride, long n, const float *phases, long rows,
                    long count, long delay, float *out)
{
    long whole = n - n % LANES;
    long t, j, k, c;
    if (count < 1 || count > MAX_PHASES || delay >= rows)
        return -1;
    for (c = 0; c < channels; c++) {
        const float *xc = x + c * stride;
        for (t = 0; t < whole; t += LANES) {
            const float *base = xc + t;
            lanes peak;
            if (count == 3)
                KERNEL(3); /* an interpolator's three between-sample phases */
            else
                KERNEL(count);
            lanes old = load(out + t);
            peak = maximum(peak, old);
            memcpy(out + t, &peak, sizeof peak);
        }
        for (t = whole; t < n; t++) { /* the last few outputs, one at a time */
            const float *base = xc + t;
            float p = delay >= 0 ? fabsf(base[delay]) : 0.0f;
            for (j = 0; j < count; j++) {
                float a = 0.0f;
                for (k = 0; k < rows; k++)
                    a += base[k] * phases[count * k + j];
                p = fabsf(a) > p ? fabsf(a) : p;
            }
            out[t] = p > out[t] ? p : out[t];
        }
    }
    return 0;
}
