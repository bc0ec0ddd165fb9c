/*
 * The check of the request parameters a web server hands over (FastCGI
 * params or the CGI environment) before anything reads them: the method,
 * the header names and the header values must be what an HTTP/1.1 parser
 * would have let through, whoever talks to the application.
 *
 * nginx and Apache never pass CR, LF or NUL in these, nor a header name
 * outside the token set; a local process that speaks FastCGI straight to
 * the socket can, and would otherwise inject headers (Host included) or a
 * second request into what the proxy sends upstream.
 */
#ifndef APIGW_REQCHECK_H
#define APIGW_REQCHECK_H

#include <stddef.h>

/* Checks every parameter of env (a NULL-terminated array of "NAME=value"
 * strings; NULL is an empty one): REQUEST_METHOD must be a token, the name
 * after HTTP_ a token, and the values of HTTP_*, CONTENT_TYPE,
 * CONTENT_LENGTH and REQUEST_URI free of CR and LF.  An entry without '='
 * is a name that held a NUL (libfcgi ends names and values at a NUL).
 * Returns 0, or -1 with one sentence in why saying what is wrong; the bad
 * value is never copied into why, and a name only when it is a token.
 * Pure: reads env, writes only why. */
int reqcheck_params(char *const *env, char *why, size_t whylen);

#endif
