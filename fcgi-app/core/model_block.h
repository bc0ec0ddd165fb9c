/*
 * Keys rested for one model (docs/API.md "Model-scoped key state"): the
 * stored side.  A rule's or a script's action with scope "model" writes a
 * row of key_model_blocks instead of changing the key's status; the pool
 * snapshot loads the rows (core/pool_blocks.c), the admin API shows and
 * clears them, apigw-recover and apigw-quota-reset delete the spent ones.
 */
#ifndef APIGW_MODEL_BLOCK_H
#define APIGW_MODEL_BLOCK_H

#include <stdbool.h>
#include <time.h>

#include "core/db.h"

/* The longest model name a block keeps, in bytes (the column's size). */
#define MODEL_BLOCK_MODEL_MAX 200

/* One rest of a key for a model and why. */
struct model_block {
    long long key_id;
    const char *model;      /* as sent upstream; cut to MODEL_BLOCK_MODEL_MAX */
    bool exhausted;         /* kind exhausted (until the quota reset), else disabled */
    time_t until;           /* 0: until the key is enabled */
    const char *reason;     /* a rule's name, or the script's reason */
    const char *actor;      /* "rule" or "script" */
    long long rule_id;      /* 0 for none */
    const char *request_id; /* NULL for none */
    const char *excerpt;    /* NULL for none; never a key value */
};

/* Rests the key for the model in one transaction: the block (replacing
 * the key's earlier one for that model), a key_events row naming the
 * model, and the pool version.  A key that is no longer active (banned,
 * disabled or exhausted meanwhile) is left alone: *put (may be NULL) tells
 * whether the block was written.  Returns DB_OK or the database error. */
enum db_rc model_block_put(struct db *db, const struct model_block *b, bool *put);

#endif
