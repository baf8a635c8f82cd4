/*
 * fuzz_decode: any bytes through dec_open and the reader it returns, to the end or the first
 * error. Whatever the input (a cut gzip member, a bad CRC, a zstd frame with a lying header,
 * garbage after the end), decoding must neither crash nor leak, and must stop.
 *
 * Each input is decoded twice: in one go, and with raw reads of 1..16 bytes and odd output
 * sizes, because split headers and trailers are where streaming decoders go wrong. Output is
 * capped so a decompression bomb costs time, not memory.
 */
/* fuzz-libs: lsf_decode lsf_base */
#include <stdint.h>
#include <stdlib.h>

#include "dec.h"

#define FUZZ_MAX_OUT (64u << 20)
#define FUZZ_OUT_LEN 65536

static void decode_all(const uint8_t *data, size_t size, size_t raw_step, size_t out_step)
{
    static unsigned char out[FUZZ_OUT_LEN];
    struct lsf_mem_reader mem = {data, size, 0, raw_step};
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;
    enum dec_kind kind;
    size_t total = 0;
    size_t n;

    lsf_err_clear(&err);
    lsf_mem_reader_init(&mem, &raw);
    if (dec_open(raw, "fuzz-input", &rd, &kind, &err) != LSF_OK)
        return;
    while (lsf_reader_read(&rd, out, out_step, &n, &err) == LSF_OK && n > 0) {
        if (n > out_step)
            abort(); /* a reader must never overrun the caller's buffer */
        total += n;
        if (total > FUZZ_MAX_OUT)
            break;
    }
    lsf_reader_close(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t raw_step = size > 0 ? (size_t)(data[size - 1] & 15) + 1 : 1;

    decode_all(data, size, 0, FUZZ_OUT_LEN);
    decode_all(data, size, raw_step, 4093);
    return 0;
}
