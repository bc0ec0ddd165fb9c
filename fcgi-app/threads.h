/*
 * The FastCGI worker threads: as many as requests in flight, started on
 * demand up to max_threads, with small stacks.
 *
 * A few threads (`workers`) wait in accept() on the listening socket.
 * When a thread takes a request and no other is left waiting, it starts
 * another; a thread that finishes a request while `workers` others are
 * already waiting ends.  A thread whose web server keeps the FastCGI
 * connection open waits on that connection for its next request.  Every
 * thread borrows database connections from the process's pool
 * (app->db_pool) only while it uses one.
 */
#ifndef APIGW_THREADS_H
#define APIGW_THREADS_H

#include <stdbool.h>
#include <stdint.h>

struct app;
struct config;

/* The stack of every worker thread. */
#define THREADS_STACK_BYTES (256u << 10)

/* Makes the database pool from cfg (which must outlive the threads) and
 * starts cfg->workers threads on app->listen_fd.  Returns how many
 * started (0: none could, or the pool could not be made). */
long long threads_start(struct app *app, const struct config *cfg);

/* For the drain (app->stopping is already set): closes every kept-alive
 * FastCGI connection on which a thread waits for its next request, so
 * that it ends; requests in flight go on. */
void threads_wake_idle(struct app *app);

/* Waits until every thread has ended or until deadline_ms (monotonic).
 * Returns true when none is left, and then frees the database pool. */
bool threads_wait_all(struct app *app, int64_t deadline_ms);

#endif
