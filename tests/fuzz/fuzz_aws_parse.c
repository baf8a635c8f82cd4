/*
 * fuzz_aws_parse: any bytes through every fetch/aws parser that reads what a server, a file or
 * a user wrote: AWS error bodies in all three protocols, the shared-file INI dialect, the STS
 * credentials XML, credential JSON documents, timestamps, and the SigV4 canonicalisation of a
 * request whose method, path, query and headers come from the input's lines. None may crash,
 * leak, read out of bounds or loop; the results must stay NUL-terminated within their buffers.
 */
/* fuzz-libs: lsf_aws lsf_base */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "aws_int.h"

#define MAX_LINES 24

static void parse_errors(const char *text, size_t size)
{
    struct aws_error_info info;

    for (int proto = AWS_PROTO_REST_XML; proto <= AWS_PROTO_JSON; proto++) {
        aws_error_parse((enum aws_protocol)proto, 400, text, size, "rid", &info);
        if (strlen(info.code) >= sizeof(info.code) || strlen(info.message) >= sizeof(info.message))
            abort();
        (void)aws_error_code_class(info.http_status, info.code);
    }
}

static void parse_files(const char *text, size_t size)
{
    struct aws_ini *ini = NULL;
    struct lsf_err err;
    struct aws_creds creds;
    char a[64];
    char b[8];
    struct aws_xml_field f[] = {
            {"AccessKeyId", a, sizeof(a), false}, {"Code", b, sizeof(b), false}};
    int64_t t;

    lsf_err_clear(&err);
    if (aws_ini_parse(text, size, "fuzz", &ini, &err) == LSF_OK) {
        (void)aws_ini_get(ini, "default", "region");
        (void)aws_ini_get(ini, "profile x", "s3.addressing_style");
    }
    aws_ini_free(ini);
    (void)aws_xml_fields(text, size, f, 2);
    if (strlen(a) >= sizeof(a) || strlen(b) >= sizeof(b))
        abort();
    lsf_err_clear(&err);
    if (aws_creds_from_json(text, size, "Token", false, "fuzz", LSF_E_USAGE, &creds, &err) ==
                    LSF_OK &&
            strlen(creds.secret_access_key) >= sizeof(creds.secret_access_key))
        abort();
    (void)aws_time_parse(text, &t);
}

/* Lines: method, host, path, then "name=value" query params until an empty line, then
 * "Name: value" headers. */
static void canonicalise(char *text)
{
    char *lines[MAX_LINES];
    size_t n = 0;
    struct aws_kv query[MAX_LINES];
    struct aws_kv headers[MAX_LINES];
    size_t n_query = 0;
    size_t n_headers = 0;
    bool in_headers = false;
    struct aws_creds creds;
    struct lsf_buf out;
    struct lsf_err err;

    for (char *p = text; p != NULL && n < MAX_LINES;) {
        lines[n++] = p;
        p = strchr(p, '\n');
        if (p != NULL)
            *p++ = '\0';
    }
    if (n < 3)
        return;
    for (size_t i = 3; i < n; i++) {
        char *sep = strchr(lines[i], in_headers ? ':' : '=');
        if (lines[i][0] == '\0') {
            in_headers = true;
            continue;
        }
        if (sep != NULL)
            *sep++ = '\0';
        if (in_headers)
            headers[n_headers++] = (struct aws_kv){lines[i], sep ? sep : ""};
        else
            query[n_query++] = (struct aws_kv){lines[i], sep ? sep : ""};
    }
    memset(&creds, 0, sizeof(creds));
    strcpy(creds.access_key_id, "AKIDEXAMPLE");
    strcpy(creds.secret_access_key, "secret");
    strcpy(creds.session_token, "token");
    struct aws_request req = {lines[0], lines[1], lines[2], query, n_query, headers, n_headers,
            text, strlen(text), NULL};
    for (int s3 = 0; s3 < 2; s3++) {
        struct aws_signing sig = {&creds, "us-east-1", s3 ? "s3" : "logs", 1705320000};
        struct aws_signature signature;
        lsf_buf_init(&out, 1 << 20);
        lsf_err_clear(&err);
        if (aws_sigv4_canonical_request(&req, &sig, &out, &err) == LSF_OK &&
                strlen((const char *)out.data) != out.len)
            abort(); /* one NUL, at the end */
        lsf_buf_cleanup(&out);
        lsf_err_clear(&err);
        if (aws_sigv4_sign(&req, &sig, &signature, &err) == LSF_OK &&
                strlen(signature.authorization) >= sizeof(signature.authorization))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    parse_errors(text, size);
    parse_files(text, size);
    canonicalise(text);
    free(text);
    return 0;
}
