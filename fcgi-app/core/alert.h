/*
 * Alerts: a row in `alerts`, and a JSON POST to the rule's webhook and the
 * configured webhook_url.  Delivery happens on the alerter's own thread,
 * off the request path: up to three tries per URL with back-off, then the
 * outcome (delivered, delivery_error) is written to the row.
 */
#ifndef APIGW_ALERT_H
#define APIGW_ALERT_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct db;
struct alerter;

struct alert {
    long long rule_id, key_id, upstream_id; /* 0 for none */
    const char *rule;                       /* the rule's name, or NULL */
    const char *upstream;                   /* the upstream's name, or NULL */
    const char *key_masked;                 /* never the key itself */
    const char *request_id;
    const char *message;
    const char *webhook; /* the rule's own webhook, or NULL */
    const char *kind;    /* NULL for "rule"; the others: docs/API.md "Alerts" */
};

/* Starts the delivery thread; cfg must outlive it.  NULL on failure. */
struct alerter *alerter_start(const struct config *cfg);

/* Delivers what is queued (each URL gets one last try) and stops. */
void alerter_stop(struct alerter *a);

/* Writes the alert's row with db and queues its deliveries (a may be NULL:
 * the row is written, nothing is sent).  Returns the alert's id, or 0 when
 * the row could not be written. */
long long alert_raise(struct alerter *a, struct db *db, const struct alert *al);

/* Checks the syntax of a webhook_allow list: entries separated by commas
 * (blanks around them ignored), each a host (`hooks.example.com`, or
 * `host:port` for that port only) or an http(s) URL prefix
 * (`https://hooks.example.com/alerts/`).  Returns 0, or -1 with what is
 * wrong (naming the entry) in why. */
int alert_allow_check(const char *list, char *why, size_t whylen);

/* Whether url may receive alerts under list: true when list is empty or
 * NULL; otherwise url must be http(s) and match an entry: a host entry by
 * host (and port when it names one), a prefix entry by scheme, host and
 * port, and by path, which must start with the entry's path and continue
 * there with `/` or end.  Schemes and hosts compare case-insensitively. */
bool alert_url_allowed(const char *list, const char *url);

/* Deliveries waiting (for /metrics). */
long long alerter_pending(struct alerter *a);

#endif
