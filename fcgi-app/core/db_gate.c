#include "core/db_int.h"

#include <stdatomic.h>
#include <stdio.h>

#include "core/breaker.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"

/* The breaker every handle of the process shares (core/breaker.h). */
static struct breaker db_breaker = BREAKER_INIT;

unsigned db_connect_timeout_s(const struct db *db)
{
    return db->connect_s != 0 ? db->connect_s : (unsigned)db->cfg->db_connect_timeout_s;
}

unsigned db_rw_timeout_s(const struct db *db)
{
    return db->rw_s != 0 ? db->rw_s : (unsigned)db->cfg->db_rw_timeout_s;
}

/* Starts a call: DB_EDOWN at once while the breaker is open, else DB_OK
 * (the caller may be the one probe that tests whether the server is back). */
int db_gate(struct db *db)
{
    /* A probe that reports nothing for this long is taken for lost. */
    int64_t probe_limit = 2000 * (int64_t)(db_connect_timeout_s(db) + 2 * db_rw_timeout_s(db));
    enum breaker_verdict v;

    db->call_ms = clock_mono_ms();
    db->stalled = false;
    v = breaker_ask(&db_breaker, db->call_ms, probe_limit);
    db->probe = v == BREAKER_PROBE;
    if (v != BREAKER_REJECT)
        return DB_OK;
    snprintf(db->err, sizeof(db->err), "the database did not answer a moment ago (failing fast)");
    return DB_EDOWN;
}

/* Whether the current call lasted about timeout_s (the server was silent). */
bool db_took(const struct db *db, unsigned timeout_s)
{
    return clock_mono_ms() - db->call_ms >= (int64_t)timeout_s * 900;
}

/* The server answered: closes the breaker if it was open. */
void db_answered(void)
{
    if (breaker_success(&db_breaker))
        log_info("database: reachable again");
}

/* The server could not be reached (db->err says how): opens the breaker.
 * A handle with shorter timeouts than the gateway's (the health check)
 * does not take a slow server for a stalled one, unless it is the probe. */
void db_unreachable(const struct db *db, enum breaker_cause cause)
{
    long long ms = db->cfg->db_breaker_ms;
    bool shorter = (db->connect_s != 0 && db->connect_s < db->cfg->db_connect_timeout_s) ||
                   (db->rw_s != 0 && db->rw_s < db->cfg->db_rw_timeout_s);

    if (cause == BREAKER_CAUSE_TIMEOUT && shorter && !db->probe)
        return;
    if (breaker_failure(&db_breaker, clock_mono_ms(), ms, cause))
        log_warn("database: %s; every call fails at once for %lld ms, then one tests it", db->err,
                 ms);
}

bool db_gate_is_open(void)
{
    return breaker_is_open(&db_breaker, NULL);
}

bool db_gate_open_by_timeout(void)
{
    enum breaker_cause cause = BREAKER_CAUSE_NONE;

    return breaker_is_open(&db_breaker, &cause) && cause == BREAKER_CAUSE_TIMEOUT;
}

void db_breaker_stats(struct db_breaker_stats *s)
{
    s->open = breaker_is_open(&db_breaker, NULL);
    s->fast_failures = atomic_load(&db_breaker.fast_failures);
    s->opened = atomic_load(&db_breaker.opened);
}
