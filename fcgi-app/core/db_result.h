/*
 * Reading a prepared statement's result into a struct db_res: every row
 * fetched at once into one arena (capped), values as NUL-terminated text
 * with their lengths.  Internal to core/db.c, which runs the statements.
 */
#ifndef APIGW_DB_RESULT_H
#define APIGW_DB_RESULT_H

#include <mysql.h>
#include <stddef.h>

#include "core/db.h"

/* What db_result_fetch returns when memory (or the arena's cap) ran out
 * rather than the server failing: no server error has this number. */
#define DB_RESULT_NOMEM 1u

/* Fetches every row of st (whose result metadata is meta) into res, which
 * the caller frees with db_res_free.  Returns 0, DB_RESULT_NOMEM, or the
 * server's error number with its message in msg. */
unsigned db_result_fetch(MYSQL_STMT *st, MYSQL_RES *meta, struct db_res *res, char *msg,
                         size_t msglen);

#endif
