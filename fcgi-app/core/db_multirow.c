#include "core/db.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"

/* Builds (once) the statement text for 2^level rows. */
static const char *multirow_sql(struct db_multirow *m, unsigned level)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    const char *sql = atomic_load(&m->sql[level]);
    struct buf b;
    unsigned i;

    if (sql != NULL)
        return sql;
    pthread_mutex_lock(&lock);
    sql = atomic_load(&m->sql[level]);
    if (sql == NULL) {
        buf_init(&b, 1u << 20);
        buf_puts(&b, m->head);
        for (i = 0; i < (1u << level); i++) {
            if (i > 0)
                buf_puts(&b, ", ");
            buf_puts(&b, m->row);
        }
        if (m->tail != NULL) {
            buf_puts(&b, " ");
            buf_puts(&b, m->tail);
        }
        sql = buf_steal(&b); /* kept for the life of the process: it names a statement */
        atomic_store(&m->sql[level], sql);
    }
    pthread_mutex_unlock(&lock);
    return sql;
}

enum db_rc db_insert_rows(struct db *db, struct db_multirow *m, const struct db_param *p,
                          unsigned ncols, unsigned nrows, unsigned long long *affected)
{
    unsigned long long total = 0, got;
    int rc;

    while (nrows > 0) {
        unsigned level = DB_MULTIROW_LEVELS - 1;
        while ((1u << level) > nrows)
            level--;
        got = 0;
        rc = db_exec(db, multirow_sql(m, level), p, ncols << level, &got, NULL);
        if (rc != DB_OK)
            return rc;
        total += got;
        p += (size_t)ncols << level;
        nrows -= 1u << level;
    }
    if (affected != NULL)
        *affected = total;
    return DB_OK;
}
