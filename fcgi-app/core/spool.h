/*
 * The request log's spool: rows the database could not take, kept as files
 * in spool_dir until they can be replayed.  Rows are appended to
 * reqlog.spool, one JSON object per line with every column; a replay first
 * renames that file to reqlog.replay.<pid>.<ms> (atomic), then inserts every
 * reqlog.replay.* file of the folder and removes each that went in.  File
 * locks let several processes (old and new binaries alike) share the folder:
 * appends take an exclusive lock, and each replay file has one replayer.
 */
#ifndef APIGW_SPOOL_H
#define APIGW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct reqlog_entry;

/* Creates the folder dir when it is missing (a failure is logged: appends
 * will then fail and say so). */
void spool_init(const char *dir);

/* Appends the n entries of list (linked by next) to the spool of dir, and
 * with sync waits until they are on disk.  The caller keeps the entries.
 * Returns 0, or -1 with errno set when the rows could not all be written
 * (not logged: the caller says so, as often as it sees fit); a line
 * written in part is cut off again. */
int spool_append(const char *dir, const struct reqlog_entry *list, size_t n, bool sync);

/* Whether rows wait in dir: a spool or a replay file is there (a regular
 * file: a spool that links to a device holds no rows). */
bool spool_pending(const char *dir);

/* Bytes of the spool and replay files in dir, whichever process wrote
 * them; 0 when the folder cannot be read. */
long long spool_bytes(const char *dir);

/* What spool_count_rows read of each file last time. */
#define SPOOL_TALLY_FILES 16
struct spool_tally_file {
    unsigned long long dev, ino;
    long long bytes, rows; /* read so far, and the lines in them */
};
struct spool_tally {
    struct spool_tally_file f[SPOOL_TALLY_FILES];
    size_t n;
};

/* Rows waiting in the spool and replay files of dir, whichever process
 * wrote them: their lines.  The files only grow until a replay removes
 * them, so with the tally t of the previous call (zeroed the first time)
 * only what was appended since is read.  The caller owns t and calls one
 * at a time with it.  Returns 0 when the folder cannot be read. */
long long spool_count_rows(const char *dir, struct spool_tally *t);

/* Writes a batch of n replayed entries (linked by next) to the database
 * and frees them, whatever the result.  Returns 0 when they went in. */
typedef int spool_write_fn(void *arg, struct reqlog_entry *list, size_t n);

/* Moves the spool of dir aside and replays every replay file there in
 * batches of at most batch_rows entries, each handed to write_batch with
 * arg.  A file that another process is replaying is skipped.  Returns 0
 * when every file went in (they are removed), or -1 when the folder cannot
 * be read or a write failed (its file and the later ones stay for the next
 * replay). */
int spool_replay(const char *dir, size_t batch_rows, spool_write_fn *write_batch, void *arg);

#endif
