#include "proxy/rules.h"

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "core/mask.h"
#include "core/model_block.h"
#include "core/utf8.h"
#include "core/alert.h"
#include "core/db.h"
#include "core/log.h"
#include "core/store.h"
#include "core/pool.h"
#include "core/resettime.h"
#include "core/resetzone.h"
#include "core/rule/rule.h"
#include "core/rule/rulestate.h"
#include "core/valid.h"
#include "http.h"
#include "proxy/model_rest.h"
#include "proxy/proxy.h"

#define EXCERPT_MAX 512
#define NAMES_MAX   16
/* The window of the upstream-wide guard for a script's key actions. */
#define SCRIPT_GUARD_WINDOW_S 60

static bool belongs(const struct rule *r, enum rule_phase phase)
{
    switch (phase) {
    case PHASE_HEADERS:
        return !r->needs_body;
    case PHASE_AFTER:
    case PHASE_PEEK:
        return r->needs_body;
    case PHASE_HELD:
    case PHASE_TRANSPORT:
        return true;
    }
    return false;
}

/* How long the answer asks the key to rest: Retry-After first, then
 * retry-after-ms, then the largest x-ratelimit-reset*; -1 when none. */
static long long answer_wait(const struct rule_input *in)
{
    long long best = -1, w;
    time_t now = time(NULL);
    size_t i;
    int pass;

    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < in->nheaders; i++) {
            const struct rule_header *h = &in->headers[i];
            char name[64], value[128];
            if (h->name_len >= sizeof(name) || h->value_len >= sizeof(value))
                continue;
            memcpy(name, h->name, h->name_len);
            name[h->name_len] = '\0';
            memcpy(value, h->value, h->value_len);
            value[h->value_len] = '\0';
            if ((pass == 0 && strcasecmp(name, "retry-after") != 0) ||
                (pass == 1 && strcasecmp(name, "retry-after-ms") != 0) ||
                (pass == 2 && strncasecmp(name, "x-ratelimit-reset", 17) != 0))
                continue;
            w = wait_from_header(name, value, now);
            if (w > best)
                best = w;
        }
        if (best >= 0)
            return best;
    }
    return -1;
}

static void raise_alert(struct proxy *px, const struct rule *r, const struct pool_key *k,
                        const char *message, const char *webhook)
{
    struct alert al = {r != NULL ? r->id : 0,
                       k != NULL ? k->id : 0,
                       px->up->id,
                       r != NULL ? r->name : NULL,
                       px->up->name,
                       k != NULL ? k->masked : NULL,
                       px->r->id,
                       message,
                       webhook,
                       NULL};

    if (alert_raise(px->r->w->app->alerter, px->r->w->db, &al) == 0)
        log_warn("rules: alert of rule %s could not be recorded", r != NULL ? r->name : "-");
}

/* Who takes a key action: a rule, or the upstream's script. */
struct actor {
    const struct rule *rule; /* NULL for the script */
    const char *name;        /* the rule's name, or "script" */
    const char *actor;       /* "rule" or "script", for the key's event */
    const char *reason;      /* what the key's event records */
    long long window_s;      /* the guard's window */
};

/* A disable_key with scope model: the key rests for the request's model
 * alone, as long as the key-wide change c says.  False when the request
 * names no model: then the whole key rests. */
static bool rest_for_model(struct proxy *px, struct pool_key *k, const struct key_change *c)
{
    struct model_block b;

    memset(&b, 0, sizeof(b));
    b.exhausted = c->to == KEY_EXHAUSTED;
    b.until = c->until;
    b.reason = c->reason;
    b.actor = c->actor;
    b.rule_id = c->rule_id;
    b.request_id = c->request_id;
    b.excerpt = c->excerpt;
    return proxy_model_rest(px, k, &b);
}

/* disable_key / ban_key, within the upstream-wide guard (which a rest for
 * one model passes through too: docs/API.md "Model-scoped key state"). */
static void key_action(struct proxy *px, struct pool_key *k, const struct actor *who,
                       const struct rule_action *a, const struct rule_input *in,
                       const char *excerpt)
{
    struct db *db = px->r->w->db;
    struct key_change c;
    bool allowed = false, alert = false;
    long long wait;
    char msg[256];

    /* The endpoint could not be reached: the key was never tried. */
    if (px->ep_fault)
        return;
    if (rulestate_guard(db, px->up->id, px->up->keys_total, px->up->auto_disable_max_pct,
                        who->window_s, &allowed, &alert) != DB_OK)
        return;
    if (!allowed) {
        if (alert) {
            snprintf(msg, sizeof(msg),
                     "upstream-wide failure suspected on %s: %s %s would take more than %lld%% "
                     "of its keys out within %lld s; automatic actions paused",
                     px->up->name, who->actor, who->name, px->up->auto_disable_max_pct,
                     who->window_s);
            raise_alert(px, who->rule, k, msg, NULL);
        }
        return;
    }
    memset(&c, 0, sizeof(c));
    c.key_id = k->id;
    c.reason = who->reason;
    c.actor = who->actor;
    c.rule_id = who->rule != NULL ? who->rule->id : 0;
    c.request_id = px->r->id;
    c.excerpt = excerpt;
    /* A rule acts on the key it just used; one that is no longer active
     * (banned by hand, exhausted, or taken out by another process's rule)
     * keeps its status. */
    c.only_from = "active";
    if (a->type == ACTION_BAN) {
        c.to = KEY_BANNED;
    } else if (a->until == UNTIL_QUOTA_RESET) {
        c.to = KEY_EXHAUSTED;
        /* The next reset of the key's upstream, on its own clock. */
        c.until = upstream_next_reset(
            k->upstream_id == px->up->id ? px->up : pool_upstream_by_id(px->pool, k->upstream_id),
            time(NULL));
    } else if (a->until == UNTIL_RETRY_AFTER) {
        /* As long as the answer says (at least a second: "0" must not mean
         * "until enabled by hand"), else duration_s, else a minute. */
        c.to = KEY_DISABLED;
        wait = answer_wait(in);
        if (wait < 0)
            wait = a->duration_s > 0 ? a->duration_s : 60;
        c.until = time(NULL) + (time_t)(wait > 0 ? wait : 1);
    } else {
        c.to = KEY_DISABLED;
        c.until = a->duration_s > 0 ? time(NULL) + (time_t)a->duration_s : 0;
    }
    if (a->type == ACTION_DISABLE && a->scope == SCOPE_MODEL && rest_for_model(px, k, &c))
        return;
    if (key_change_status(db, &c, NULL) != DB_OK)
        log_warn("rules: %s %s could not change key %lld", who->actor, who->name, k->id);
    /* This process stops using the key at once; the others when the pool
     * version they see moves. */
    atomic_store(&k->skip_until_ms, INT64_MAX / 2);
}

static void add_name(struct proxy *px, const char *name)
{
    if (px->fired == NULL)
        px->fired = json_object_new_array();
    if (json_object_array_length(px->fired) < NAMES_MAX)
        json_object_array_add(px->fired, json_object_new_string(name));
}

static void add_message(struct proxy *px, const char *msg)
{
    if (px->messages == NULL)
        px->messages = json_object_new_array();
    if (json_object_array_length(px->messages) < NAMES_MAX)
        json_object_array_add(px->messages, json_object_new_string(msg));
}

/* Applies the actions of a rule that fired; true when one is retry. */
static bool apply(struct proxy *px, struct pool_key *k, const struct rule *r, struct rule_input *in,
                  enum rule_phase phase, const char *excerpt)
{
    struct actor who = {r, r->name, "rule", r->name, r->window_s};
    bool retry = false;
    size_t i;

    add_name(px, r->name);
    for (i = 0; i < r->nactions; i++) {
        const struct rule_action *a = &r->actions[i];
        switch (a->type) {
        case ACTION_RETRY:
            retry = phase != PHASE_AFTER;
            break;
        case ACTION_DISABLE:
        case ACTION_BAN:
            key_action(px, k, &who, a, in, excerpt);
            break;
        case ACTION_ALERT:
            raise_alert(px, r, k, a->message ? a->message : r->name, a->webhook);
            break;
        case ACTION_LOG:
            add_message(px, a->message ? a->message : r->name);
            break;
        }
    }
    return retry;
}

/* What a key's history keeps of the answer: excerpt when given, else the
 * body's first EXCERPT_MAX bytes masked into own (EXCERPT_MAX + 64 bytes). */
static const char *excerpt_of(const struct pool_key *k, const struct rule_input *in,
                              const char *excerpt, char *own)
{
    struct mask_secret secret;

    if (excerpt != NULL)
        return excerpt;
    if (in->body == NULL || in->body_len == 0)
        return "";
    /* The excerpt is the first EXCERPT_MAX bytes; the answer is read past
     * the cut, so that a key straddling it is masked too, in any of the
     * forms an upstream writes it in (mask.h). */
    mask_secret_init(&secret, k->value, k->value_len, k->masked);
    mask_text(own, EXCERPT_MAX + 1, in->body, in->body_len, &secret, true);
    mask_secret_free(&secret);
    return own;
}

void proxy_rules_script_action(struct proxy *px, struct pool_key *k, const struct rule_action *a,
                               const struct rule_input *in, const char *reason, const char *excerpt)
{
    struct actor who = {NULL, "onResponse", "script", reason, SCRIPT_GUARD_WINDOW_S};
    char own_excerpt[EXCERPT_MAX + 64];

    key_action(px, k, &who, a, in, excerpt_of(k, in, excerpt, own_excerpt));
}

void proxy_rules_message(struct proxy *px, const char *msg)
{
    add_message(px, msg);
}

bool proxy_rules_run(struct proxy *px, struct pool_key *k, struct rule_input *in,
                     enum rule_phase phase, const char *excerpt)
{
    char own_excerpt[EXCERPT_MAX + 64];
    const struct pool *p = px->pool;
    bool retry = false;
    size_t i;

    for (i = 0; i < p->nrules; i++) {
        const struct rule *r = p->rules[i];
        bool fire = true;
        if (!r->enabled || (r->upstream_id != 0 && r->upstream_id != px->up->id) ||
            !belongs(r, phase) || !rule_matches(r, in))
            continue;
        if ((r->threshold > 1 || r->cooldown_s > 0) &&
            rulestate_hit(px->r->w->db, r->id, k->id, r->threshold, r->window_s, r->cooldown_s,
                          &fire) != DB_OK)
            fire = false;
        if (!fire)
            continue;
        /* Made only when a rule fires: most answers fire none. */
        excerpt = excerpt_of(k, in, excerpt, own_excerpt);
        retry |= apply(px, k, r, in, phase, excerpt);
        if (r->stop)
            break;
    }
    rule_input_done(in);
    return retry;
}

void proxy_rules_log(struct proxy *px)
{
    if (px->log == NULL)
        return;
    if (px->fired != NULL) {
        free(px->log->rules);
        px->log->rules = strdup(json_object_to_json_string_ext(
            px->fired, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    if (px->messages != NULL) {
        free(px->log->messages);
        /* Stored as a reader of the column sees it: "/" unescaped. */
        px->log->messages = strdup(json_object_to_json_string_ext(
            px->messages, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(px->fired);
    json_object_put(px->messages);
    px->fired = px->messages = NULL;
}
