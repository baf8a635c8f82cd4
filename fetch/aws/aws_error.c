/*
 * aws_error: AWS error answers turned into one lsf_err line a user can act on.
 *
 * Three body shapes reach logsift (shared/spec/aws-facts.md 3.6, 4.4, 8.4): S3's REST-XML
 * <Error><Code/><Message/></Error>, the Query protocol's <ErrorResponse><Error>..</Error>
 * (SNS, STS, CloudWatch), and JSON 1.1's {"__type", "message"} (CloudWatch Logs). Parsing
 * never fails: HEAD answers have no body, proxies answer with HTML, and the status alone must
 * still produce a useful message.
 *
 * The message names the call (service, operation, resource), the answer (HTTP status, AWS code,
 * AWS message, request id) and the next step; for access errors it names the IAM action that
 * is probably missing. The class (aws_error_code_class) is what callers react to: retry
 * transient ones, refresh credentials once on auth ones, skip the object on input ones.
 */
#include "aws.h"
#include "aws_int.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

static bool in_list(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(code, list[i]) == 0)
            return true;
    }
    return false;
}

#define IN(code, list) in_list(code, list, sizeof(list) / sizeof(list[0]))

static const char *const denied_codes[] = {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "AllAccessDisabled",
        "NotAuthorized",
        "AuthorizationErrorException",
};
static const char *const expired_codes[] = {
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
        "RequestExpired",
};
static const char *const unknown_key_codes[] = {
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "InvalidToken",
        "MissingAuthenticationToken",
        "AuthFailure",
        "InvalidIdentityToken",
        "IDPRejectedClaim",
};
static const char *const signature_codes[] = {
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
};
static const char *const skew_codes[] = {
        "RequestTimeTooSkewed",
        "RequestInTheFuture",
};
static const char *const missing_codes[] = {
        "NoSuchBucket",
        "NoSuchKey",
        "ResourceNotFoundException",
        "NotFound",
        "NoSuchVersion",
};
static const char *const other_auth_codes[] = {
        "AccountProblem",
        "OptInRequired",
        "RegionDisabledException",
        "InvalidClientTokenId",
};

/* Copy text into dst, control characters as spaces, cut to cap. */
static void copy_clean(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    dst[i] = '\0';
}

/* botocore parsers.py: "aws.logs#ThrottlingException:detail" -> "ThrottlingException". */
static void reduce_json_type(const char *type, char *dst, size_t cap)
{
    size_t len = strcspn(type, ":");
    const char *start = type;

    for (size_t i = 0; i < len; i++) {
        if (type[i] == '#')
            start = type + i + 1;
    }
    len -= (size_t)(start - type);
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, start, len);
    dst[len] = '\0';
    copy_clean(dst, cap, dst);
}

static void parse_json(const char *body, size_t len, struct aws_error_info *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    json_t *type;
    json_t *msg;

    if (!json_is_object(root))
        goto out;
    type = json_object_get(root, "__type");
    if (!json_is_string(type))
        type = json_object_get(root, "code"); /* some JSON services and proxies */
    if (json_is_string(type))
        reduce_json_type(json_string_value(type), out->code, sizeof(out->code));
    msg = json_object_get(root, "message");
    if (!json_is_string(msg))
        msg = json_object_get(root, "Message");
    if (json_is_string(msg))
        copy_clean(out->message, sizeof(out->message), json_string_value(msg));
out:
    json_decref(root);
}

static void parse_xml(const char *body, size_t len, struct aws_error_info *out)
{
    char code[sizeof(out->code)];
    char message[sizeof(out->message)];
    char request_id[sizeof(out->request_id)];
    char region[sizeof(out->region)];
    struct aws_xml_field f[] = {
            {"Code", code, sizeof(code), false},
            {"Message", message, sizeof(message), false},
            {"RequestId", request_id, sizeof(request_id), false},
            {"Region", region, sizeof(region), false},
    };

    if (!aws_xml_fields(body, len, f, 4))
        return;
    copy_clean(out->code, sizeof(out->code), code);
    copy_clean(out->message, sizeof(out->message), message);
    if (f[2].found && out->request_id[0] == '\0')
        copy_clean(out->request_id, sizeof(out->request_id), request_id);
    copy_clean(out->region, sizeof(out->region), region);
}

void aws_error_parse(enum aws_protocol proto, long http_status, const char *body, size_t len,
        const char *request_id, struct aws_error_info *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = http_status;
    copy_clean(out->request_id, sizeof(out->request_id), request_id);
    if (body == NULL || len == 0)
        return;
    if (proto == AWS_PROTO_JSON)
        parse_json(body, len, out);
    else
        parse_xml(body, len, out);
}

enum lsf_code aws_error_code_class(long http_status, const char *code)
{
    struct aws_outcome outcome = {http_status, code, false, false};

    if (aws_retry_classify(&outcome) != AWS_RETRY_NONE)
        return LSF_E_TRANSIENT;
    if (code != NULL &&
            (IN(code, denied_codes) || IN(code, expired_codes) || IN(code, unknown_key_codes) ||
                    IN(code, signature_codes) || IN(code, skew_codes) ||
                    IN(code, other_auth_codes)))
        return LSF_E_AUTH;
    if (http_status == 401 || http_status == 403)
        return LSF_E_AUTH;
    return LSF_E_INPUT;
}

void aws_error_permission(const char *service, const char *operation, char *buf, size_t len)
{
    static const struct {
        const char *op;
        const char *action;
    } s3_actions[] = {
            {"ListObjectsV2", "s3:ListBucket"},
            {"ListObjects", "s3:ListBucket"},
            {"HeadBucket", "s3:ListBucket"},
            {"GetObject", "s3:GetObject"},
            {"HeadObject", "s3:GetObject"},
            {"GetBucketLocation", "s3:GetBucketLocation"},
            {"GetObjectAttributes", "s3:GetObjectAttributes"},
    };

    if (strcmp(service, "s3") == 0) {
        for (size_t i = 0; i < sizeof(s3_actions) / sizeof(s3_actions[0]); i++) {
            if (strcmp(operation, s3_actions[i].op) == 0) {
                snprintf(buf, len, "%s", s3_actions[i].action);
                return;
            }
        }
    }
    /* IAM prefixes equal signing names except CloudWatch's ("monitoring"). */
    snprintf(buf, len, "%s:%s", strcmp(service, "monitoring") == 0 ? "cloudwatch" : service,
            operation);
}

/* The next step for the user, by error code or status; "" when nothing useful can be said. */
static void next_step(const struct aws_error_info *info, const char *service, const char *operation,
        char *buf, size_t len)
{
    const char *code = info->code;
    char action[128];

    buf[0] = '\0';
    if (IN(code, denied_codes) || (code[0] == '\0' && info->http_status == 403)) {
        aws_error_permission(service, operation, action, sizeof(action));
        snprintf(buf, len,
                "; the credentials probably lack %s on it: grant it (check resource and KMS "
                "policies too) or use another profile",
                action);
    } else if (IN(code, expired_codes)) {
        snprintf(buf, len, "; the credentials expired: renew them (logsift refreshes once)");
    } else if (IN(code, unknown_key_codes)) {
        snprintf(buf, len,
                "; AWS does not accept these credentials: check the profile or "
                "environment variables in use");
    } else if (IN(code, signature_codes)) {
        snprintf(buf, len,
                "; the secret key does not match the access key, or a proxy altered "
                "the request");
    } else if (IN(code, skew_codes)) {
        snprintf(buf, len, "; this host's clock is off: sync it (chrony, systemd-timesyncd)");
    } else if (info->region[0] != '\0') {
        snprintf(buf, len, "; the resource is in region %s: pass --region %s", info->region,
                info->region);
    } else if (IN(code, missing_codes) || (code[0] == '\0' && info->http_status == 404)) {
        snprintf(buf, len, "; check the name and the region");
    } else if (aws_error_code_class(info->http_status, code) == LSF_E_TRANSIENT) {
        snprintf(buf, len,
                "; AWS is throttling or failing: retried with backoff; lower %s or rerun "
                "later", strcmp(service, "logs") == 0 ? "--cwl-tps" : "--concurrency");
    }
}

enum lsf_code aws_error_fail(struct lsf_err *err, const struct aws_error_info *info,
        const char *service, const char *operation, const char *resource)
{
    enum lsf_code code = aws_error_code_class(info->http_status, info->code);
    char step[256];
    char rid[160] = "";

    next_step(info, service, operation, step, sizeof(step));
    if (info->request_id[0] != '\0')
        snprintf(rid, sizeof(rid), " (request id %s)", info->request_id);
    return lsf_fail(err, code, "%s %s %.300s: HTTP %ld %s%s%.200s%s%s", service, operation,
            resource, info->http_status, info->code[0] ? info->code : "(no error body)",
            info->message[0] ? ": " : "", info->message, rid, step);
}
