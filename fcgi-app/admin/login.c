/* POST /api/admin/login, POST /api/admin/logout, GET /api/admin/me. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/throttle.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "http.h"
#include "admin/resource.h"
#include "core/nelem.h"

#define SESSION_PREFIX "ses_"

/* The first delay after a key's free failures; it doubles with each
 * further failure up to login_delay_max_s. */
#define LOGIN_DELAY_BASE_MS 1000

static const struct vfield login_fields[] = {
    {.name = "username", .type = VT_STRING, .flags = VF_REQUIRED, .min = 1, .max = 64},
    {.name = "password", .type = VT_STRING, .flags = VF_REQUIRED, .min = 1, .max = 256},
};

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_hash;

static void make_dummy_hash(void)
{
    dummy_hash = crypto_password_hash("not-a-password");
}

/* Checks the password; an unknown user costs the same hash, so that timing
 * does not tell which usernames exist. */
static bool password_ok(const char *password, const char *stored)
{
    pthread_once(&dummy_once, make_dummy_hash);
    if (stored == NULL) {
        if (dummy_hash != NULL)
            crypto_password_check(password, dummy_hash);
        return false;
    }
    return crypto_password_check(password, stored);
}

static int start_session(struct req *r, long long user_id, char *token, time_t *expires)
{
    unsigned char hash[SHA256_LEN];
    char until[24];
    struct tm tm;

    memcpy(token, SESSION_PREFIX, sizeof(SESSION_PREFIX) - 1);
    if (crypto_random_hex(token + sizeof(SESSION_PREFIX) - 1, 24) != 0)
        return DB_EFAIL;
    crypto_sha256(token, strlen(token), hash);
    *expires = time(NULL) + (time_t)r->cfg->session_ttl_s;
    gmtime_r(expires, &tm);
    strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", &tm);
    /* Expired sessions are removed a few at a time as new ones start. */
    db_exec(r->w->db, "DELETE FROM sessions WHERE expires_at < UTC_TIMESTAMP() LIMIT 100",
            DB_NOARGS, NULL, NULL);
    db_exec(r->w->db, "UPDATE users SET last_login_at = UTC_TIMESTAMP() WHERE id = ?",
            DB_ARGS(DB_INT(user_id)), NULL, NULL);
    return db_exec(r->w->db,
                   "INSERT INTO sessions (token_hash, user_id, expires_at, created_at)"
                   " VALUES (?, ?, ?, UTC_TIMESTAMP())",
                   DB_ARGS(DB_BLOB(hash, sizeof(hash)), DB_INT(user_id), DB_STR(until)), NULL,
                   NULL);
}

/* Checks the password in one of the process's hashing slots.  Returns
 * THROTTLE_UNDECIDED, having answered 503, when no slot came free in time. */
static enum throttle_outcome check_in_slot(struct req *r, struct throttle *t, const char *password,
                                           const char *stored)
{
    bool ok;

    if (!crypto_hash_slot_take(r->cfg->login_hash_concurrency, r->cfg->login_hash_wait_ms)) {
        if (t != NULL)
            throttle_note_busy(t);
        resp_header(r, "Retry-After", "1");
        reply_error(r, ERR_OVERLOADED, "too many logins at once; try again in a moment");
        return THROTTLE_UNDECIDED;
    }
    ok = password_ok(password, stored);
    crypto_hash_slot_give();
    if (!ok)
        reply_error(r, ERR_UNAUTHORIZED, "wrong username or password");
    return ok ? THROTTLE_SUCCEEDED : THROTTLE_FAILED;
}

/* Looks the user up, checks the password and starts a session; answers
 * in every case and says how the login ended. */
static enum throttle_outcome try_login(struct req *r, struct throttle *t, struct json_object *o)
{
    char token[64], stamp[32];
    enum throttle_outcome outcome;
    struct json_object *out;
    struct db_res res;
    time_t expires;
    int rc;

    rc = db_query(r->w->db,
                  "SELECT id, password_hash, role FROM users WHERE username = ? AND enabled = 1",
                  DB_ARGS(DB_STR(rs_jstr(o, "username"))), &res);
    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        return THROTTLE_UNDECIDED;
    }
    outcome = check_in_slot(r, t, rs_jstr(o, "password"), db_val(&res, 0, 1));
    if (outcome != THROTTLE_SUCCEEDED) {
        /* Answered already. */
    } else if ((rc = start_session(r, db_int(&res, 0, 0), token, &expires)) != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
    } else {
        out = json_object_new_object();
        json_object_object_add(out, "token", json_object_new_string(token));
        json_object_object_add(out, "role", json_object_new_string(db_val(&res, 0, 2)));
        json_object_object_add(
            out, "expires_at",
            json_object_new_string(clock_rfc3339(expires, stamp, sizeof(stamp))));
        reply_json(r, 200, out);
        memset(token, 0, sizeof(token));
    }
    db_res_free(&res);
    return outcome;
}

/* The throttle's limits from the configuration in force. */
static void login_limits(const struct config *cfg, struct throttle_limits *lim)
{
    lim->pair_free = (unsigned)cfg->login_free_failures;
    lim->addr_free = (unsigned)cfg->login_address_free_failures;
    lim->base_ms = LOGIN_DELAY_BASE_MS;
    lim->max_ms = cfg->login_delay_max_s * 1000;
    lim->window_ms = cfg->login_throttle_window_s * 1000;
}

/* Failed logins slow down per (username, address) and per address
 * (core/throttle.h); a throttled login costs neither a query nor a hash,
 * whether or not the user exists. */
void h_login(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, login_fields, NELEM(login_fields), true);
    struct throttle *t = throttle_process((size_t)r->cfg->login_throttle_entries);
    const char *addr = req_param(r, "REMOTE_ADDR");
    struct throttle_limits lim;
    enum throttle_outcome outcome;
    char retry[24];
    int64_t wait = 0;

    (void)a;
    if (o == NULL)
        return;
    login_limits(r->cfg, &lim);
    if (t != NULL)
        wait = throttle_begin(t, &lim, rs_jstr(o, "username"), addr, clock_mono_ms());
    if (wait > 0) {
        snprintf(retry, sizeof(retry), "%lld", (long long)((wait + 999) / 1000));
        resp_header(r, "Retry-After", retry);
        reply_error(r, ERR_RATE_LIMITED, "too many failed logins; try again in %s s", retry);
    } else {
        outcome = try_login(r, t, o);
        if (t != NULL)
            throttle_end(t, &lim, rs_jstr(o, "username"), addr, outcome);
    }
    json_object_put(o);
}

void h_logout(struct req *r, const struct route_args *a)
{
    unsigned char hash[SHA256_LEN];
    char token[512];
    size_t n = auth_bearer(r, token, sizeof(token));
    int rc;

    (void)a;
    if (r->user_id != 0 && n > 0) {
        crypto_sha256(token, n, hash);
        rc = db_exec(r->w->db, "DELETE FROM sessions WHERE token_hash = ?",
                     DB_ARGS(DB_BLOB(hash, sizeof(hash))), NULL, NULL);
        if (rc != DB_OK) {
            rs_reply_db_error(r, err_from_db(rc), "");
            return;
        }
    }
    reply_empty(r, 204);
}

void h_me(struct req *r, const struct route_args *a)
{
    struct json_object *o = json_object_new_object();

    (void)a;
    json_object_object_add(o, "role", json_object_new_string(role_name((enum role)r->role)));
    json_object_object_add(o, "username",
                           r->user_id != 0 ? json_object_new_string(r->actor + 5) : NULL);
    reply_json(r, 200, o);
}

/* The answers of login and me, for the OpenAPI document (they are built
 * by hand above; these say what they hold). */
static const struct vfield login_answer[] = {
    {.name = "token", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "role", .type = VT_STRING, .flags = VF_READONLY, .oneof = "viewer|operator|admin"},
    {.name = "expires_at", .type = VT_TIME, .flags = VF_READONLY},
};
static const struct vfield me_answer[] = {
    {.name = "role", .type = VT_STRING, .flags = VF_READONLY, .oneof = "viewer|operator|admin"},
    /* null for the bootstrap admin token */
    {.name = "username", .type = VT_STRING, .flags = VF_READONLY | VF_NULLABLE},
};

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_login = {login_fields, NELEM(login_fields)};
const struct vtable vt_login_answer = {login_answer, NELEM(login_answer)};
const struct vtable vt_me = {me_answer, NELEM(me_answer)};
