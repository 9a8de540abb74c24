/* The FLAC frame walk of mixai/io/flacscan.py, compiled when the package is built (the same
 * logic as its Python/numba version, which stays as the fallback): frame headers with their CRC-8,
 * frames with their CRC-16, frame numbers continuous from 0 (RFC 9639). Bytes only, no decoding.
 * Loaded with ctypes (mixai/io/native.py); no Python C API.
 */

#include <stdint.h>

enum { FLAC_OK = 0, FLAC_DAMAGED = 1, FLAC_TRUNCATED = 2 };

/* Length of the frame header at byte p (its block size and first sample through the pointers),
 * or -1 when there is none: no sync code, a reserved code, or a wrong CRC-8. */
static long header(const uint8_t *d, long n, long p, const int64_t *crc8, int64_t fixed_blocksize,
                   int64_t *blocksize, int64_t *start)
{
    if (p + 6 > n || d[p] != 0xFF || (d[p + 1] & 0xFE) != 0xF8)
        return -1;
    int variable = d[p + 1] & 1;
    int bs_code = d[p + 2] >> 4, sr_code = d[p + 2] & 0x0F;
    if (bs_code == 0 || sr_code == 15 || (d[p + 3] >> 4) > 10 || ((d[p + 3] >> 1) & 7) == 3 || (d[p + 3] & 1) != 0)
        return -1;
    long q = p + 4;
    unsigned first = d[q];
    int extra;
    int64_t value;
    if (first < 0x80) { extra = 0; value = first; }
    else if (first >= 0xC0 && first < 0xE0) { extra = 1; value = first & 0x1F; }
    else if (first >= 0xE0 && first < 0xF0) { extra = 2; value = first & 0x0F; }
    else if (first >= 0xF0 && first < 0xF8) { extra = 3; value = first & 0x07; }
    else if (first >= 0xF8 && first < 0xFC) { extra = 4; value = first & 0x03; }
    else if (first >= 0xFC && first < 0xFE) { extra = 5; value = first & 0x01; }
    else if (first == 0xFE && variable == 1) { extra = 6; value = 0; }
    else return -1;
    q += 1;
    if (q + extra > n)
        return -1;
    for (int i = 0; i < extra; i++, q++) {
        if ((d[q] & 0xC0) != 0x80)
            return -1;
        value = (value << 6) | (d[q] & 0x3F);
    }
    int64_t bs;
    if (bs_code == 1) bs = 192;
    else if (bs_code <= 5) bs = (int64_t)576 << (bs_code - 2);
    else if (bs_code == 6) { if (q + 1 > n) return -1; bs = (int64_t)d[q] + 1; q += 1; }
    else if (bs_code == 7) { if (q + 2 > n) return -1; bs = (((int64_t)d[q] << 8) | d[q + 1]) + 1; q += 2; }
    else bs = (int64_t)256 << (bs_code - 8);
    if (sr_code == 12) q += 1;
    else if (sr_code == 13 || sr_code == 14) q += 2;
    if (q + 1 > n)
        return -1;
    int64_t crc = 0;
    for (long i = p; i < q; i++)
        crc = crc8[crc ^ d[i]];
    if (crc != d[q])
        return -1;
    *blocksize = bs;
    *start = variable == 1 ? value : value * fixed_blocksize;
    return q + 1 - p;
}

/* result[0]: samples intact from the start; result[1]: FLAC_OK/DAMAGED/TRUNCATED; result[2]: the
 * byte offset where the walk stopped. */
void flac_walk(const uint8_t *d, long n, long start, const int64_t *crc8, const int64_t *crc16,
               int64_t fixed_blocksize, long max_frame_bytes, int64_t *result)
{
    long p = start;
    int64_t good = 0, bs, first, bs2, first2;
    while (p < n) {
        long length = header(d, n, p, crc8, fixed_blocksize, &bs, &first);
        if (length < 0 || first != good) {
            result[0] = good; result[1] = FLAC_DAMAGED; result[2] = p;
            return;
        }
        int64_t crc = 0;
        for (long i = p; i < p + length; i++)
            crc = ((crc << 8) & 0xFFFF) ^ crc16[((crc >> 8) ^ d[i]) & 0xFF];
        long q = p + length;
        long limit = n < p + max_frame_bytes ? n : p + max_frame_bytes;
        long end = -1;
        while (q < limit) {
            crc = ((crc << 8) & 0xFFFF) ^ crc16[((crc >> 8) ^ d[q]) & 0xFF];
            q += 1;
            if (crc == 0 && q >= p + length + 2) {
                if (q == n) { end = q; break; }
                if (d[q] == 0xFF && q + 1 < n && (d[q + 1] & 0xFE) == 0xF8
                        && header(d, n, q, crc8, fixed_blocksize, &bs2, &first2) > 0) {
                    end = q;
                    break;
                }
            }
        }
        if (end < 0) {
            result[0] = good; result[1] = limit == n ? FLAC_TRUNCATED : FLAC_DAMAGED; result[2] = p;
            return;
        }
        good += bs;
        p = end;
    }
    result[0] = good; result[1] = FLAC_OK; result[2] = p;
}
