/*
 * Exact limits shared by every process and host: each reservation is one
 * atomic UPDATE whose WHERE clause checks the key's status, its daily quota
 * and its rpm window, and whose matched-row count (CLIENT_FOUND_ROWS)
 * decides.  rpm windows are calendar minutes of the database's clock.
 */
#ifndef APIGW_QUOTA_H
#define APIGW_QUOTA_H

#include <stdbool.h>

struct db;

/* Reserves one request on a key: counts it in used_today, total_requests
 * and the rpm window, when the key is active and under both limits.
 * *granted tells whether it was.  Returns DB_OK or a DB_E* error. */
int quota_reserve_key(struct db *db, long long key_id, bool *granted);

/* Reserves one request on a client token under its rpm_limit and
 * daily_quota.  *granted tells whether it was. */
int quota_reserve_token(struct db *db, long long token_id, bool *granted);

/* After a refused token reservation: whether the daily quota (true) or
 * the rpm window (false) refused it, and the seconds until the next
 * minute. */
int quota_token_refusal(struct db *db, long long token_id, bool *daily, long long *retry_after_s);

#endif
