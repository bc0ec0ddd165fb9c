#include "core/err.h"

struct err_info {
    int status;
    const char *code;
};

static const struct err_info table[ERR__MAX] = {
    [ERR_OK] = {200, "ok"},
    [ERR_INVALID_JSON] = {400, "invalid_json"},
    [ERR_INVALID_FIELD] = {400, "invalid_field"},
    [ERR_INVALID_PATH] = {400, "invalid_path"},
    [ERR_UNAUTHORIZED] = {401, "unauthorized"},
    [ERR_FORBIDDEN] = {403, "forbidden"},
    [ERR_NOT_FOUND] = {404, "not_found"},
    [ERR_UNKNOWN_UPSTREAM] = {404, "unknown_upstream"},
    [ERR_METHOD_NOT_ALLOWED] = {405, "method_not_allowed"},
    [ERR_CONFLICT] = {409, "conflict"},
    [ERR_BODY_TOO_LARGE] = {413, "body_too_large"},
    [ERR_RATE_LIMITED] = {429, "rate_limited"},
    [ERR_QUOTA_EXCEEDED] = {429, "quota_exceeded"},
    [ERR_INTERNAL] = {500, "internal_error"},
    [ERR_UPSTREAM_ERROR] = {502, "upstream_error"},
    [ERR_NO_AVAILABLE_KEY] = {503, "no_available_key"},
    [ERR_UPSTREAM_DISABLED] = {503, "upstream_disabled"},
    [ERR_DB_UNAVAILABLE] = {503, "db_unavailable"},
    [ERR_DB_BUSY] = {503, "db_unavailable"},
    [ERR_UPSTREAM_TIMEOUT] = {504, "upstream_timeout"},
    [ERR_CONCURRENCY_LIMITED] = {429, "concurrency_limited"},
    [ERR_OVERLOADED] = {503, "overloaded"},
    [ERR_INVALID_REQUEST] = {400, "invalid_request"},
    [ERR_BAD_GATEWAY] = {502, "bad_gateway"},
    [ERR_SCRIPT_ERROR] = {502, "script_error"},
    [ERR_MODEL_NOT_ALLOWED] = {403, "model_not_allowed"},
};

int err_status(enum err e)
{
    if ((unsigned)e >= ERR__MAX)
        return 500;
    return table[e].status;
}

const char *err_code(enum err e)
{
    if ((unsigned)e >= ERR__MAX)
        return "internal_error";
    return table[e].code;
}

enum err err_from_db(enum db_rc rc)
{
    switch (rc) {
    case DB_OK:
        return ERR_OK;
    case DB_EDOWN:
        return ERR_DB_UNAVAILABLE;
    case DB_ERETRY:
        return ERR_DB_BUSY;
    case DB_EDUP:
        return ERR_CONFLICT;
    case DB_EFAIL:
        break;
    }
    return ERR_INTERNAL;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300   ? "OK"
               : status < 400 ? "Redirect"
               : status < 500 ? "Error"
                              : "Server Error";
    }
}
