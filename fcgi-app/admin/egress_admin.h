/*
 * The egress proxy fields of upstreams and keys in the admin API
 * (admin/egress_admin.c): their checks, and the write hooks that seal the
 * full URLs and keep the stored password of a masked value posted back.
 */
#ifndef APIGW_EGRESS_ADMIN_H
#define APIGW_EGRESS_ADMIN_H

#include <stddef.h>

#include "core/err.h"

struct req;
struct rs_write;

/* Field checks: proxy_mode, and one proxy URL (masked ones included). */
const char *egress_check_mode(const char *s);
const char *egress_check_url(const char *s);

/* Upstream create or update: resolves w->after's proxies, stores their
 * masked forms there and adds the sealed list as the next parameter. */
enum err egress_admin_upstream(struct req *r, struct rs_write *w, char *msg, size_t len);

/* Key create or update: the same for the key's proxy (NULL: none). */
enum err egress_admin_key(struct req *r, struct rs_write *w, char *msg, size_t len);

#endif
