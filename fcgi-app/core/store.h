/*
 * What the admin handlers, the proxy and the cron jobs change in the stored
 * pool: key values made ready for storage (encrypt, hash, mask), key status
 * changes with their history, existence checks of upstreams and keys, and
 * the pool version that tells every process to reload.
 */
#ifndef APIGW_STORE_H
#define APIGW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/crypto.h"
#include "core/db.h"

struct config;

#define KEY_VALUE_MAX  512
#define KEY_SEALED_MAX (KEY_VALUE_MAX + CRYPTO_OVERHEAD)

enum key_status { KEY_ACTIVE, KEY_DISABLED, KEY_BANNED, KEY_EXHAUSTED, KEY__MAX };

/* The name of a status ("active"), and back (-1 for an unknown name). */
const char *key_status_name(enum key_status s);
int key_status_parse(const char *name);

/* Whether every byte of a key value is printable ASCII other than the
 * space (API keys are; anything else is a paste accident).  One rule for
 * creating a key and for importing many. */
bool key_chars_ok(const char *v, size_t n);

/* Whether a key value is acceptable: 1 to KEY_VALUE_MAX bytes that pass
 * key_chars_ok.  NULL when fine, else why not (never quoting the value). */
const char *key_value_check(const char *v, size_t n);

/* A key value made ready for storage. */
struct key_sealed {
    unsigned char sealed[KEY_SEALED_MAX];
    size_t sealed_len;
    unsigned char hash[SHA256_LEN];
    char masked[MASK_MAX];
};

/* Encrypts, hashes and masks a key value.  Returns 0 or -1. */
int key_seal(const unsigned char enc_key[32], const char *value, size_t n, struct key_sealed *out);

/* Existence checks: *found tells whether the row is there.  Return DB_OK,
 * or the database error (then *found is false). */
enum db_rc store_upstream_exists(struct db *db, long long id, bool *found);
enum db_rc store_key_exists(struct db *db, long long id, bool *found);

/* A time as a DATETIME parameter ("2026-11-29 03:39:57", UTC) in out (at
 * least 24 bytes); NULL for 0 (no time), else out. */
const char *store_sql_time(time_t t, char *out, size_t outlen);

/* Moves the pool version on: every process reloads its pool cache. */
enum db_rc store_bump_version(struct db *db);

/* A status change of one key and why. */
struct key_change {
    long long key_id;
    enum key_status to;
    time_t until;           /* disabled_until, 0 for none */
    const char *reason;     /* "manual", "cron", a rule's name, ... */
    const char *actor;      /* who: a user name, "admin-token", "cron", "rule" */
    long long rule_id;      /* 0 for none */
    const char *request_id; /* NULL for none */
    const char *excerpt;    /* NULL for none; never a key value */
    const char *only_from;  /* change only a key in this status (NULL: any) */
    bool only_due;          /* change only a key whose disabled_until has passed */
};

/* Applies a change in one transaction: the key's status, disabled_until
 * and status_reason, a key_events row when the status really changes, and
 * the pool version.  *changed (may be NULL) tells whether the status
 * changed.  Returns DB_OK, DB_EFAIL when the key does not exist, or the
 * database error. */
enum db_rc key_change_status(struct db *db, const struct key_change *c, bool *changed);

#endif
