/*
 * verify_archive: is a stored object whole and unaltered, before anyone reads its events?
 *
 * Decompression goes through fetch/decode, the same decoder the scan uses, so the checks are
 * the scan's: every gzip member's CRC-32 and ISIZE (ISA-L), truncation, bytes after the last
 * member or frame. zstd frames carry a content checksum only when the writer asked for one
 * (`zstd` does by default, libraries often do not), so frames are counted and those without one
 * reported rather than passed as checked. The SHA-256 of the decompressed bytes is what
 * CloudTrail digests and logsift manifests record.
 *
 * S3 values (shared/spec/aws-facts.md 3.4): an ETag is an MD5 of the body only when it is 32 hex
 * characters; "<hex>-N" is a multipart ETag (MD5 of the part MD5s, part size unknown) and is
 * reported as not checkable. x-amz-checksum-* is base64 of the big-endian digest; COMPOSITE
 * values cannot be compared with a whole body. CRC-32 and CRC-32C come from ISA-L, SHA-1 and
 * SHA-256 from OpenSSL; CRC-64/NVME has no implementation in Debian 12's libraries, so it is
 * reported as not checked.
 */
#include "verify_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader: the frame's checksum flag */
#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "dec.h"

#define ARCHIVE_CHUNK ((size_t)256 << 10)

/* Count zstd frames and those without a content checksum, walking frame sizes. */
static void zstd_frames(const unsigned char *raw, size_t len, struct verify_archive *out)
{
    size_t pos = 0;

    while (pos < len) {
        ZSTD_frameHeader fh;
        size_t size;

        if (ZSTD_getFrameHeader(&fh, raw + pos, len - pos) != 0)
            return;
        size = ZSTD_findFrameCompressedSize(raw + pos, len - pos);
        if (ZSTD_isError(size) || size == 0)
            return;
        if (fh.frameType == ZSTD_frame) {
            out->n_frames++;
            if (!fh.checksumFlag)
                out->n_frames_unchecked++;
        }
        pos += size;
    }
}

enum lsf_code verify_archive_check(const char *name, const unsigned char *raw, size_t len,
        struct verify_archive *out, struct lsf_err *err)
{
    struct lsf_mem_reader mem = {.data = raw, .len = len};
    struct lsf_reader raw_rd;
    struct lsf_reader rd = {0};
    enum dec_kind kind = DEC_PLAIN;
    unsigned char *chunk = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned md_len = 0;
    enum lsf_code rc;

    memset(out, 0, sizeof(*out));
    out->stored_len = len;
    lsf_mem_reader_init(&mem, &raw_rd);
    rc = dec_open(raw_rd, name, &rd, &kind, err);
    if (rc != LSF_OK)
        return rc;
    out->kind = (int)kind;
    chunk = malloc(ARCHIVE_CHUNK);
    md = EVP_MD_CTX_new();
    if (chunk == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory hashing the object", name);
        goto out;
    }
    for (;;) {
        size_t n = 0;

        rc = lsf_reader_read(&rd, chunk, ARCHIVE_CHUNK, &n, err);
        if (rc != LSF_OK || n == 0)
            break;
        EVP_DigestUpdate(md, chunk, n);
        out->plain_len += n;
    }
    if (rc != LSF_OK)
        goto out;
    EVP_DigestFinal_ex(md, out->sha256, &md_len);
    aws_hex(out->sha256, 32, out->sha256_hex);
    if (kind == DEC_ZSTD)
        zstd_frames(raw, len, out);
out:
    lsf_reader_close(&rd);
    EVP_MD_CTX_free(md);
    free(chunk);
    return rc;
}

enum lsf_code verify_decompress(const char *name, const unsigned char *raw, size_t len,
        struct lsf_buf *out, struct lsf_err *err)
{
    struct lsf_mem_reader mem = {.data = raw, .len = len};
    struct lsf_reader raw_rd;
    struct lsf_reader rd = {0};
    enum lsf_code rc;

    lsf_mem_reader_init(&mem, &raw_rd);
    rc = dec_open(raw_rd, name, &rd, NULL, err);
    while (rc == LSF_OK) {
        size_t n = 0;

        rc = lsf_buf_reserve(out, ARCHIVE_CHUNK, err);
        if (rc != LSF_OK)
            break;
        rc = lsf_reader_read(&rd, out->data + out->len, ARCHIVE_CHUNK, &n, err);
        out->len += n;
        if (n == 0)
            break;
    }
    lsf_reader_close(&rd);
    return rc;
}

static bool is_hex32(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (size_t i = 0; i < 32; i++)
        if (strchr("0123456789abcdefABCDEF", s[i]) == NULL)
            return false;
    return true;
}

/* base64 of the big-endian bytes, as S3 sends checksums. */
static void b64(const unsigned char *bytes, size_t len, char *out, size_t cap)
{
    unsigned char tmp[128];

    if (cap < 4 * ((len + 2) / 3) + 1 || len > 90) {
        out[0] = '\0';
        return;
    }
    EVP_EncodeBlock(tmp, bytes, (int)len);
    snprintf(out, cap, "%s", (const char *)tmp);
}

static void be32(uint32_t v, unsigned char b[4])
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

enum lsf_code verify_object_checksums(const char *name, const struct verify_object *obj,
        char *note, size_t note_len, struct lsf_err *err)
{
    const unsigned char *body = obj->body.data ? obj->body.data : (const unsigned char *)"";
    size_t len = obj->body.len;
    const char *alg = obj->checksum_algorithm;

    note[0] = '\0';
    if (obj->etag[0] != '\0') {
        if (is_hex32(obj->etag)) {
            char md5[33];

            verify_md5_hex(body, len, md5);
            /* A 32-hex ETag of an SSE-KMS/SSE-C object is not an MD5 either (3.4); a mismatch
             * is still reported, with that caveat in the message. */
            if (strcasecmp(md5, obj->etag) != 0)
                return lsf_fail(err, LSF_E_INTEGRITY,
                        "%s: ETag \"%s\" but the body's MD5 is %s (the stored bytes changed, or "
                        "the object is SSE-KMS/SSE-C encrypted, whose ETag is not an MD5); "
                        "re-copy the object or check its encryption",
                        name, obj->etag, md5);
        } else if (strchr(obj->etag, '-') != NULL) {
            snprintf(note, note_len, "multipart ETag %s not checked (the part size is unknown)",
                    obj->etag);
        }
    }
    if (alg[0] != '\0' && obj->checksum[0] != '\0') {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char got[128];

        if (strcmp(obj->checksum_type, "COMPOSITE") == 0 || strchr(obj->checksum, '-')) {
            snprintf(note, note_len, "composite x-amz-checksum-%s not checked (per-part value)",
                    alg);
            return LSF_OK;
        }
        if (strcmp(alg, "crc32") == 0) {
            be32(crc32_gzip_refl(0, body, len), md);
            md_len = 4;
        } else if (strcmp(alg, "crc32c") == 0) {
            /* ISA-L's iSCSI CRC is CRC-32C without the final inversion */
            be32(~crc32_iscsi((unsigned char *)(uintptr_t)body, (int)len, 0xffffffffu), md);
            md_len = 4;
        } else if (strcmp(alg, "sha1") == 0) {
            EVP_Digest(body, len, md, &md_len, EVP_sha1(), NULL);
        } else if (strcmp(alg, "sha256") == 0) {
            EVP_Digest(body, len, md, &md_len, EVP_sha256(), NULL);
        } else {
            snprintf(note, note_len, "x-amz-checksum-%s not checked (no implementation here)",
                    alg);
            return LSF_OK;
        }
        b64(md, md_len, got, sizeof(got));
        if (strcmp(got, obj->checksum) != 0)
            return lsf_fail(err, LSF_E_INTEGRITY,
                    "%s: x-amz-checksum-%s is %s but the body's is %s (the stored bytes "
                    "changed); re-copy the object",
                    name, alg, obj->checksum, got);
    }
    return LSF_OK;
}
