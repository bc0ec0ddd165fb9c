#include "core/valjob.h"

#include <string.h>

#include "core/db.h"

const char *valjob_check_on_invalid(const char *s)
{
    static const char *const ok[] = {"none", "disable", "ban", "delete"};
    size_t i;

    for (i = 0; s != NULL && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(s, ok[i]) == 0)
            return NULL;
    return "must be none, disable, ban or delete";
}

/* One pending result per key the spec names. */
static int insert_results(struct db *db, const struct valjob_spec *s, long long id,
                          unsigned long long *n)
{
    if (s->ids != NULL)
        return db_exec(db,
                       "INSERT IGNORE INTO job_results (job_id, key_id, key_masked)"
                       " SELECT ?, k.id, k.key_masked FROM JSON_TABLE(?, '$[*]' COLUMNS"
                       " (id BIGINT UNSIGNED PATH '$')) j JOIN api_keys k ON k.id = j.id"
                       " AND k.upstream_id = ?",
                       DB_ARGS(DB_INT(id), DB_STR(s->ids), DB_INT(s->upstream_id)), n, NULL);
    if (s->hashes != NULL)
        return db_exec(
            db,
            "INSERT IGNORE INTO job_results (job_id, key_id, key_masked)"
            " SELECT ?, k.id, k.key_masked FROM JSON_TABLE(?, '$[*]' COLUMNS"
            " (h CHAR(64) PATH '$')) j JOIN api_keys k ON k.upstream_id = ?"
            " AND k.key_hash = UNHEX(j.h) AND k.id > ?",
            DB_ARGS(DB_INT(id), DB_STR(s->hashes), DB_INT(s->upstream_id), DB_INT(s->min_id)), n,
            NULL);
    return db_exec(
        db,
        "INSERT INTO job_results (job_id, key_id, key_masked)"
        " SELECT ?, id, key_masked FROM api_keys WHERE upstream_id = ?"
        " AND (? IS NULL OR status = ?)",
        DB_ARGS(DB_INT(id), DB_INT(s->upstream_id), DB_STR(s->status), DB_STR(s->status)), n, NULL);
}

int valjob_create(struct db *db, const struct valjob_spec *s, long long *job_id, long long *total)
{
    unsigned long long id = 0, n = 0;
    int rc = db_exec(db,
                     "INSERT INTO jobs (kind, upstream_id, state, on_invalid, concurrency, rps,"
                     " actor, created_at, updated_at) VALUES ('validate', ?, 'queued', ?, ?, ?,"
                     " ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                     DB_ARGS(DB_INT(s->upstream_id), DB_STR(s->on_invalid), DB_INT(s->concurrency),
                             s->rps > 0 ? DB_INT(s->rps) : DB_NULL, DB_STR(s->actor)),
                     NULL, &id);

    if (rc == DB_OK)
        rc = insert_results(db, s, (long long)id, &n);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE jobs SET total = ?, state = IF(? = 0, 'done', state),"
                     " finished_at = IF(? = 0, UTC_TIMESTAMP(), NULL) WHERE id = ?",
                     DB_ARGS(DB_INT((long long)n), DB_INT((long long)n), DB_INT((long long)n),
                             DB_INT((long long)id)),
                     NULL, NULL);
    *job_id = (long long)id;
    *total = (long long)n;
    return rc;
}

int valjob_cancel(struct db *db, long long job_id, bool *changed)
{
    unsigned long long n = 0;
    int rc =
        db_exec(db,
                "UPDATE jobs SET state = 'cancelled', finished_at = UTC_TIMESTAMP(),"
                " updated_at = UTC_TIMESTAMP() WHERE id = ? AND state IN ('queued', 'running')",
                DB_ARGS(DB_INT(job_id)), &n, NULL);

    *changed = n > 0;
    return rc;
}
