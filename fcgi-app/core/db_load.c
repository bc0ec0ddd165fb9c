/*
 * LOAD DATA LOCAL INFILE from memory (core/db.h: db_load).  The client
 * library asks a handler for the "file" the statement names; the handler
 * here hands it the caller's bytes instead, so no file is ever opened, and
 * between two loads it hands a server's request for a file nothing.
 */
#include "core/db.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db_int.h"

/* MySQL's "loading local data is disabled" (ER_CLIENT_LOCAL_FILES_DISABLED),
 * for a server of that family. */
#define ER_MYSQL_LOCAL_FILES_DISABLED 3948

void db_allow_local_infile(struct db *db)
{
    db->local_infile = true;
}

/* The handler's start: there is something to send only inside db_load. */
static int src_init(void **ptr, const char *filename, void *userdata)
{
    struct db_load_src *src = userdata;

    (void)filename; /* never opened: the data comes from memory */
    *ptr = src;
    return src->p == NULL ? 1 : 0;
}

/* Copies the next part of the data into buf; returns the bytes copied
 * (0 at the end). */
static int src_read(void *ptr, char *buf, unsigned int buf_len)
{
    struct db_load_src *src = ptr;
    size_t n = src->len - src->pos;

    if (src->p == NULL)
        return 0;
    if (n > buf_len)
        n = buf_len;
    memcpy(buf, src->p + src->pos, n);
    src->pos += n;
    return (int)n;
}

static void src_end(void *ptr)
{
    (void)ptr;
}

static int src_error(void *ptr, char *msg, unsigned int len)
{
    (void)ptr;
    snprintf(msg, len, "LOAD DATA LOCAL outside db_load: nothing is sent");
    return CR_UNKNOWN_ERROR;
}

/* The count after name in mysql_info's "Records: 3  Deleted: 0  Skipped:
 * 0  Warnings: 0"; 0 when it is missing. */
static unsigned long long info_count(const char *info, const char *name)
{
    const char *at = info != NULL ? strstr(info, name) : NULL;

    return at != NULL ? strtoull(at + strlen(name), NULL, 10) : 0;
}

static bool is_refusal(unsigned code)
{
    return code == ER_NOT_ALLOWED_COMMAND || code == ER_LOAD_INFILE_CAPABILITY_DISABLED ||
           code == ER_MYSQL_LOCAL_FILES_DISABLED;
}

enum db_rc db_load(struct db *db, const char *sql, const char *data, size_t len,
                   struct db_load_result *res)
{
    unsigned code;
    int rc, q;

    memset(res, 0, sizeof(*res));
    if (db->pool != NULL || !db->local_infile) {
        snprintf(db->err, sizeof(db->err), "LOAD DATA LOCAL is not enabled on this handle");
        res->refused = true;
        return DB_EFAIL;
    }
    if ((rc = db_gate(db)) != DB_OK || (rc = db_connect(db)) != DB_OK)
        return rc;
    mysql_set_local_infile_handler(db->conn, src_init, src_read, src_end, src_error, &db->load);
    db->load = (struct db_load_src){data, len, 0};
    q = mysql_real_query(db->conn, sql, (unsigned long)strlen(sql));
    db->load = (struct db_load_src){NULL, 0, 0};
    if (q != 0) {
        code = mysql_errno(db->conn);
        if (!is_refusal(code))
            return db_fail_last(db, sql);
        snprintf(db->err, sizeof(db->err), "%u: %s", code, mysql_error(db->conn));
        db->last_code = code;
        res->refused = true;
        return DB_EFAIL;
    }
    res->records = info_count(mysql_info(db->conn), "Records:");
    res->skipped = info_count(mysql_info(db->conn), "Skipped:");
    res->inserted = mysql_affected_rows(db->conn);
    res->warnings = mysql_warning_count(db->conn);
    db_answered();
    return DB_OK;
}
