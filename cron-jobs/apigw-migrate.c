/*
 * apigw-migrate: creates the database if needed and applies the numbered
 * migrations of sql/ (001_init.sql, ...) that schema_migrations does not
 * list yet, in order, under a cross-host lock.  Safe to run at any time.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/db.h"
#include "job.h"

#ifndef APIGW_DATADIR
#define APIGW_DATADIR "/usr/local/share/apigw"
#endif

#define MAX_MIGRATIONS 256

static const struct job_info info = {
    "apigw-migrate",
    "creates the database and applies the schema migrations of sql/",
    "--sql-dir DIR",
    false,
    true,
    true};

struct migration {
    int version;
    char file[256];
};

static int cmp_migration(const void *a, const void *b)
{
    return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

static bool is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *sql_dir(const struct job *j)
{
    const char *env = getenv("APIGW_SQL_DIR");

    if (j->extra != NULL)
        return j->extra;
    if (env != NULL && *env != '\0')
        return env;
    if (is_dir("sql"))
        return "sql";
    return APIGW_DATADIR "/sql";
}

/* Lists NNN_name.sql files, sorted by number. */
static int list_migrations(struct job *j, const char *dir, struct migration *m)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    if (d == NULL)
        job_fail(j, "cannot open the migrations folder %s", dir);
    while ((de = readdir(d)) != NULL && n < MAX_MIGRATIONS) {
        const char *s = de->d_name;
        size_t len = strlen(s);
        if (len < 9 || len >= sizeof(m[n].file) || !isdigit((unsigned char)s[0]) ||
            !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) || s[3] != '_' ||
            strcmp(s + len - 4, ".sql") != 0)
            continue;
        m[n].version = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
        memcpy(m[n].file, s, len + 1);
        n++;
    }
    closedir(d);
    qsort(m, (size_t)n, sizeof(*m), cmp_migration);
    return n;
}

static char *read_file(struct job *j, const char *path)
{
    struct buf b;
    char chunk[8192];
    size_t n;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        job_fail(j, "cannot read %s", path);
    buf_init(&b, 16u << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&b, chunk, n) != 0)
            job_fail(j, "%s is larger than 16 MiB", path);
    fclose(f);
    return buf_steal(&b);
}

/* The database name goes into DDL, where no parameter can stand: allow only
 * a plain identifier. */
static void create_database(struct job *j, const char *name)
{
    char sql[160];
    size_t i;

    for (i = 0; name[i] != '\0'; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_')
            job_fail(j, "db_name must be letters, digits and _ only");
    if (j->dry_run)
        return;
    snprintf(sql, sizeof(sql),
             "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
             name);
    if (db_exec_script(j->db, sql) != DB_OK)
        job_fail(j, "cannot create database %s: %s", name, db_error(j->db));
}

static bool applied(struct db_res *res, int version)
{
    unsigned i;

    for (i = 0; i < res->nrows; i++)
        if (db_int(res, i, 0) == version)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct migration m[MAX_MIGRATIONS];
    struct db_res done;
    struct job j;
    char *db_name, path[1024];
    const char *dir;
    int n, i, count = 0, last = 0;

    /* job_start connects without a database: it may not exist yet. */
    job_start(&j, &info, argc, argv);
    create_database(&j, j.db_name);
    db_free(j.db);
    free(j.cfg.db_name);
    db_name = j.cfg.db_name = j.db_name;
    j.db_name = NULL;
    j.db = db_new(&j.cfg, true);
    if (j.dry_run && db_connect(j.db) != DB_OK) {
        printf("database %s does not exist yet: every migration would be applied\n", db_name);
        job_end(&j);
        return 0;
    }
    if (db_connect(j.db) != DB_OK)
        job_fail(&j, "cannot open database %s: %s", db_name, db_error(j.db));
    if (db_query(j.db, "SELECT GET_LOCK('apigw_migrate', 120)", DB_NOARGS, &done) != DB_OK ||
        db_int(&done, 0, 0) != 1)
        job_fail(&j, "another apigw-migrate held the lock for 120 s");
    db_res_free(&done);
    if (db_exec_script(j.db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                             " version INT NOT NULL PRIMARY KEY,"
                             " name VARCHAR(255) NOT NULL,"
                             " applied_at DATETIME NOT NULL"
                             ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") != DB_OK)
        job_fail(&j, "cannot create schema_migrations: %s", db_error(j.db));
    if (db_query(j.db, "SELECT version FROM schema_migrations", DB_NOARGS, &done) != DB_OK)
        job_fail(&j, "cannot read schema_migrations: %s", db_error(j.db));
    dir = sql_dir(&j);
    n = list_migrations(&j, dir, m);
    for (i = 0; i < n; i++) {
        char *sql;
        last = m[i].version;
        if (applied(&done, m[i].version))
            continue;
        count++;
        if (j.dry_run) {
            printf("would apply %s\n", m[i].file);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, m[i].file);
        sql = read_file(&j, path);
        if (db_exec_script(j.db, sql) != DB_OK)
            job_fail(&j, "%s failed: %s", m[i].file, db_error(j.db));
        free(sql);
        if (db_exec(j.db,
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                    " VALUES (?, ?, UTC_TIMESTAMP())",
                    DB_ARGS(DB_INT(m[i].version), DB_STR(m[i].file)), NULL, NULL) != DB_OK)
            job_fail(&j, "cannot record %s: %s", m[i].file, db_error(j.db));
    }
    db_res_free(&done);
    if (count == 0)
        printf("schema is up to date (version %03d)\n", last);
    else
        printf("%s %d migration%s (schema at version %03d)\n",
               j.dry_run ? "would apply" : "applied", count, count == 1 ? "" : "s", last);
    job_end(&j);
    return 0;
}
