/*
 * fuzz_verify_digest: any bytes as a CloudTrail digest body (verify_digest_parse, then the 7.4
 * data-to-sign) and as an S3 key (the digest and log key-name parsers), and any bytes as an
 * archive (verify_archive_check: gzip/zstd/plain, hashed whole). Hostile digests come from the
 * bucket being verified, so none of this may crash, leak or read out of bounds, whatever the
 * JSON, the key or the compressed stream.
 */
/* fuzz-libs: lsf_verify lsf_base */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct verify_digest d;
    struct verify_digest_name name;
    struct verify_archive ar;
    struct lsf_buf tbs;
    struct lsf_err err;
    char *key = malloc(size + 1);
    size_t dir_len;
    int64_t t;

    lsf_err_clear(&err);
    if (verify_digest_parse(data, size, &d, &err) == LSF_OK) {
        lsf_buf_init(&tbs, (size_t)16 << 20);
        if (verify_digest_data_to_sign(&d, &tbs, &err) == LSF_OK && tbs.len < 4)
            abort(); /* four lines at least: three newlines and "null" or a signature */
        lsf_buf_cleanup(&tbs);
    }
    verify_digest_cleanup(&d);
    if (key != NULL) {
        memcpy(key, data, size);
        key[size] = '\0';
        if (verify_digest_name_parse(key, &name) && strlen(name.stamp) != 16)
            abort();
        (void)verify_log_name_parse(key, &dir_len, &t);
        (void)verify_time_parse(key, &t);
        free(key);
    }
    lsf_err_clear(&err);
    if (verify_archive_check("fuzz-input", data, size, &ar, &err) == LSF_OK &&
            strlen(ar.sha256_hex) != 64)
        abort();
    return 0;
}
