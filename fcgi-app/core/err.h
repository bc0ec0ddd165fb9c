/*
 * The one error enum of the gateway.  Every failure that reaches a client
 * is one of these; err_status() and err_code() turn it into the HTTP status
 * and the snake_case code of the contract's error body.
 */
#ifndef APIGW_ERR_H
#define APIGW_ERR_H

enum err {
    ERR_OK = 0,
    ERR_INVALID_JSON,
    ERR_INVALID_FIELD,
    ERR_INVALID_PATH,
    ERR_UNAUTHORIZED,
    ERR_FORBIDDEN,
    ERR_NOT_FOUND,
    ERR_UNKNOWN_UPSTREAM,
    ERR_METHOD_NOT_ALLOWED,
    ERR_CONFLICT,
    ERR_BODY_TOO_LARGE,
    ERR_RATE_LIMITED,
    ERR_QUOTA_EXCEEDED,
    ERR_INTERNAL,
    ERR_UPSTREAM_ERROR,
    ERR_NO_AVAILABLE_KEY,
    ERR_UPSTREAM_DISABLED,
    ERR_DB_UNAVAILABLE,
    ERR_UPSTREAM_TIMEOUT,
    ERR__MAX
};

/* The HTTP status for an error (500 for anything out of range). */
int err_status(enum err e);

/* The contract's snake_case code for an error. */
const char *err_code(enum err e);

/* The reason phrase for an HTTP status, e.g. "Not Found". */
const char *http_reason(int status);

#endif
