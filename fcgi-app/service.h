/*
 * The service around the route table: what the process starts once, what
 * every request goes through, and what a worker releases when it stops.
 */
#ifndef APIGW_SERVICE_H
#define APIGW_SERVICE_H

struct app;
struct worker;
struct http_io;

/* Starts what the process shares (caches, the logger thread), with the
 * configuration in force now: a reference to it is held until
 * service_shutdown. */
void service_init(struct app *app);

/* Serves one request from its parameters and I/O, with a reference to the
 * configuration in force when it starts, held until it ends. */
void service_request(struct worker *w, const struct http_io *io, char **env);

/* Releases a worker's own resources (its CURL handle). */
void service_worker_end(struct worker *w);

/* Stops what service_init started, flushing queued log rows, and drops
 * its reference to the configuration. */
void service_shutdown(struct app *app);

#endif
