/*
 * Opening a connection of the database layer (core/db.h): to db_host or
 * db_socket, or to the first server of db_hosts that answers and, for a
 * Galera node, is ready for queries.  Only the files of the layer use it.
 */
#ifndef APIGW_DB_CONNECT_H
#define APIGW_DB_CONNECT_H

#include <stdbool.h>

struct db;

/* Connects db (which has no connection).  Returns DB_OK, or DB_EDOWN with
 * db->err set and the breaker told. */
int db_open(struct db *db);

/* Whether db's idle connection goes to a server other than db_hosts'
 * first and is old enough to be closed, so that the next call connects to
 * the first again if it answers. */
bool db_should_fail_back(const struct db *db);

#endif
