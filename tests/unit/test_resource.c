/* The statements built from the admin resource tables: each must be the
 * text the handlers used to spell out by hand, so that a field added,
 * moved or renamed in a table shows here rather than as a wrong column. */
#include <stdio.h>
#include <string.h>

#include "admin/handlers.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "suites.h"

struct expect {
    const char *get, *update, *insert, *page, *count;
    unsigned update_params, insert_params, filter_params;
};

/* Checks every statement of rs (the lock and the delete follow from the
 * get and the table). */
static void check(struct resource *rs, const struct expect *x)
{
    char want[8192];

    CU_ASSERT_FATAL(rs_build(rs));
    CU_ASSERT_STRING_EQUAL(rs->sql.page, x->page);
    CU_ASSERT_STRING_EQUAL(rs->sql.count, x->count);
    CU_ASSERT_EQUAL(rs->sql.filter_params, x->filter_params);
    if (rs->list_only) {
        CU_ASSERT_PTR_NULL(rs->sql.get);
        return;
    }
    CU_ASSERT_STRING_EQUAL(rs->sql.get, x->get);
    snprintf(want, sizeof(want), "%s FOR UPDATE", x->get);
    CU_ASSERT_STRING_EQUAL(rs->sql.lock, want);
    CU_ASSERT_STRING_EQUAL(rs->sql.update, x->update);
    CU_ASSERT_STRING_EQUAL(rs->sql.insert, x->insert);
    snprintf(want, sizeof(want), "DELETE FROM %s WHERE id = ?", rs->table);
    CU_ASSERT_STRING_EQUAL(rs->sql.del, want);
    CU_ASSERT_EQUAL(rs->sql.update_params, x->update_params);
    CU_ASSERT_EQUAL(rs->sql.insert_params, x->insert_params);
}

#define UPSTREAM_COLS                                                                                                                         \
    "id, name, base_url, auth_header, auth_template, auth_query_param, strategy, timeout_ms,"                                                 \
    " connect_timeout_ms, max_retries, retry_backoff_ms, enabled, is_public, probe_method,"                                                   \
    " probe_path, probe_body, probe_content_type, recheck_banned_s, auto_disable_max_pct, max_concurrent, script, usage_format, usage_paths," \
    " stream_peek, queue_wait_ms, fallback_upstreams, affinity, affinity_path, proxies,"                                                      \
    " proxy_mode, endpoints, endpoint_fail_threshold, endpoint_window_s, endpoint_cooldown_s,"                                                \
    " header_rules, strip_forwarding_headers, model_allow, model_map, body_set,"                                                              \
    " quota_reset_hour, quota_reset_tz, alert_min_active_pct, alert_min_active, pace_by_headers, " SQL_TIME(                                  \
        "created_at") ", " SQL_TIME("updated_at")

static void test_upstreams(void)
{
    static const struct expect x = {
        .get = "SELECT " UPSTREAM_COLS " FROM upstreams WHERE id = ?",
        .update = "UPDATE upstreams SET name = ?, base_url = ?, auth_header = ?, auth_template = ?,"
                  " auth_query_param = ?, strategy = ?, timeout_ms = ?, connect_timeout_ms = ?,"
                  " max_retries = ?, retry_backoff_ms = ?, enabled = ?, is_public = ?,"
                  " probe_method = ?, probe_path = ?, probe_body = ?, probe_content_type = ?,"
                  " recheck_banned_s = ?, auto_disable_max_pct = ?,"
                  " max_concurrent = ?, script = ?, usage_format = ?, usage_paths = ?,"
                  " stream_peek = ?, queue_wait_ms = ?, fallback_upstreams = ?, affinity = ?,"
                  " affinity_path = ?, proxies = ?, proxy_mode = ?, endpoints = ?,"
                  " endpoint_fail_threshold = ?, endpoint_window_s = ?, endpoint_cooldown_s = ?,"
                  " header_rules = ?, strip_forwarding_headers = ?, model_allow = ?, model_map = ?,"
                  " body_set = ?, quota_reset_hour = ?, quota_reset_tz = ?,"
                  " alert_min_active_pct = ?, alert_min_active = ?, pace_by_headers = ?,"
                  " proxies_enc = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
        .insert =
            "INSERT INTO upstreams (name, base_url, auth_header, auth_template,"
            " auth_query_param, strategy, timeout_ms, connect_timeout_ms, max_retries,"
            " retry_backoff_ms, enabled, is_public, probe_method, probe_path, probe_body,"
            " probe_content_type, recheck_banned_s, auto_disable_max_pct, max_concurrent, script, usage_format, usage_paths,"
            " stream_peek, queue_wait_ms, fallback_upstreams, affinity, affinity_path,"
            " proxies, proxy_mode, endpoints, endpoint_fail_threshold, endpoint_window_s,"
            " endpoint_cooldown_s, header_rules, strip_forwarding_headers, model_allow, model_map,"
            " body_set, quota_reset_hour, quota_reset_tz, alert_min_active_pct, alert_min_active,"
            " pace_by_headers, proxies_enc, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(),"
            " UTC_TIMESTAMP())",
        .page = "SELECT " UPSTREAM_COLS " FROM upstreams ORDER BY id LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM upstreams",
        .update_params = 1,
        .insert_params = 1,
    };
    check(&admin_upstreams, &x);
}

#define MODEL_BLOCKS_COL                                                                           \
    "(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('model', b.model, 'kind', b.kind, 'until',"        \
    " DATE_FORMAT(b.until, '%Y-%m-%dT%H:%i:%sZ'), 'reason', b.reason) ORDER BY b.model), '[]')"    \
    " FROM key_model_blocks b WHERE b.key_id = api_keys.id AND (b.until IS NULL OR"                \
    " b.until > UTC_TIMESTAMP(6)))"
#define PACE_COL                                                                                   \
    "(SELECT JSON_OBJECT('remaining_requests', p.remaining_requests, 'remaining_tokens',"          \
    " p.remaining_tokens, 'resets_at', DATE_FORMAT(p.requests_reset_at, '%Y-%m-%dT%H:%i:%sZ'),"    \
    " 'tokens_reset_at', DATE_FORMAT(p.tokens_reset_at, '%Y-%m-%dT%H:%i:%sZ'), 'learned_at',"      \
    " DATE_FORMAT(p.learned_at, '%Y-%m-%dT%H:%i:%sZ')) FROM key_pace p WHERE p.key_id = api_keys.id)"
#define KEY_COLS                                                                                   \
    "id, upstream_id, name, key_masked, status, weight, priority, daily_quota, rpm_limit,"         \
    " limits, used_today, leased,"                                                                 \
    " daily_token_quota, tokens_today, total_requests, total_failures, " SQL_TIME(                 \
        "disabled_until") ", proxy, status_reason, " MODEL_BLOCKS_COL ", " PACE_COL                \
                          ", " SQL_TIME("last_used_at") ", " SQL_TIME("created_at") ", " SQL_TIME( \
                              "updated_at")
#define KEY_FILTER                                                                                 \
    " WHERE (? = 0 OR upstream_id = ?) AND (? IS NULL OR status = ?)"                              \
    " AND (? IS NULL OR name LIKE ? OR key_masked LIKE ?)"

static void test_keys(void)
{
    static const struct expect x = {
        .get = "SELECT " KEY_COLS " FROM api_keys WHERE id = ?",
        .update =
            "UPDATE api_keys SET upstream_id = ?, name = ?, status = ?, weight = ?,"
            " priority = ?, daily_quota = ?, rpm_limit = ?, limits = ?, daily_token_quota = ?,"
            " disabled_until = ?,"
            " proxy = ?, status_reason = ?, proxy_enc = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
        .insert =
            "INSERT INTO api_keys (upstream_id, name, status, weight, priority, daily_quota,"
            " rpm_limit, limits, daily_token_quota, disabled_until, proxy, key_enc, key_hash,"
            " key_masked, status_reason, proxy_enc, created_at, updated_at) VALUES (?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        .page = "SELECT " KEY_COLS " FROM api_keys" KEY_FILTER " ORDER BY id LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM api_keys" KEY_FILTER,
        .update_params = 2,
        .insert_params = 4,
        .filter_params = 7,
    };
    check(&admin_keys, &x);
}

static void test_key_events(void)
{
    static const struct expect x = {
        .page = "SELECT id, " SQL_TIME(
            "ts") ", from_status, to_status, reason, actor, rule_id,"
                  " request_id, excerpt, model FROM key_events WHERE key_id = ? ORDER BY id DESC"
                  " LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM key_events WHERE key_id = ?",
        .filter_params = 1,
    };
    check(&admin_key_events, &x);
}

#define TOKEN_COLS                                                                                      \
    "id, name, token_masked, upstreams, rpm_limit, daily_quota, limits, used_today, leased,"            \
    " daily_token_quota, tokens_today, " SQL_TIME("expires_at") ", enabled, max_concurrent, " SQL_TIME( \
        "last_used_at") ", " SQL_TIME("created_at") ", " SQL_TIME("updated_at")

static void test_tokens(void)
{
    static const struct expect x = {
        .get = "SELECT " TOKEN_COLS " FROM client_tokens WHERE id = ?",
        .update =
            "UPDATE client_tokens SET name = ?, upstreams = ?, rpm_limit = ?,"
            " daily_quota = ?, limits = ?, daily_token_quota = ?, expires_at = ?, enabled = ?,"
            " max_concurrent = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
        .insert = "INSERT INTO client_tokens (name, upstreams, rpm_limit, daily_quota, limits,"
                  " daily_token_quota, expires_at, enabled, max_concurrent, token_hash,"
                  " token_masked, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                  " UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        .page = "SELECT " TOKEN_COLS " FROM client_tokens ORDER BY id LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM client_tokens",
        .insert_params = 2,
    };
    check(&admin_tokens, &x);
}

#define USER_COLS                                                                                  \
    "id, username, role, enabled, " SQL_TIME("last_login_at") ", " SQL_TIME(                       \
        "created_at") ", " SQL_TIME("updated_at")

static void test_users(void)
{
    static const struct expect x = {
        .get = "SELECT " USER_COLS " FROM users WHERE id = ?",
        .update = "UPDATE users SET username = ?, role = ?, enabled = ?,"
                  " password_hash = COALESCE(?, password_hash), updated_at = UTC_TIMESTAMP()"
                  " WHERE id = ?",
        .insert = "INSERT INTO users (username, role, enabled, password_hash, created_at,"
                  " updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        .page = "SELECT " USER_COLS " FROM users ORDER BY id LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM users",
        .update_params = 1,
        .insert_params = 1,
    };
    check(&admin_users, &x);
}

#define RULE_COLS                                                                                  \
    "id, name, upstream_id, enabled, priority, cond_json, actions_json, threshold, window_s,"      \
    " cooldown_s, stop, " SQL_TIME("created_at") ", " SQL_TIME("updated_at")

static void test_rules(void)
{
    static const struct expect x = {
        .get = "SELECT " RULE_COLS " FROM rules WHERE id = ?",
        .update = "UPDATE rules SET name = ?, upstream_id = ?, enabled = ?, priority = ?,"
                  " cond_json = ?, actions_json = ?, threshold = ?, window_s = ?, cooldown_s = ?,"
                  " stop = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
        .insert =
            "INSERT INTO rules (name, upstream_id, enabled, priority, cond_json, actions_json,"
            " threshold, window_s, cooldown_s, stop, created_at, updated_at) VALUES (?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        .page = "SELECT " RULE_COLS " FROM rules WHERE (? = 0 OR upstream_id = ?)"
                " ORDER BY priority, id LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM rules WHERE (? = 0 OR upstream_id = ?)",
        .filter_params = 2,
    };
    check(&admin_rules, &x);
}

#define ALERT_FILTER                                                                               \
    " WHERE (? = 0 OR upstream_id = ?) AND (? = 0 OR rule_id = ?) AND (? = 0 OR key_id = ?)"       \
    " AND (? = '' OR kind = ?)"

static void test_alerts(void)
{
    static const struct expect x = {
        .page = "SELECT id, " SQL_TIME(
            "ts") ", kind, rule_id, key_id, upstream_id, message, request_id,"
                  " webhook, delivered, delivery_error FROM alerts" ALERT_FILTER
                  " ORDER BY id DESC LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM alerts" ALERT_FILTER,
        .filter_params = 8,
    };
    check(&admin_alerts, &x);
}

static void test_prices(void)
{
    static const struct expect x = {
        .get = "SELECT id, model, prompt, completion, cached, currency, " SQL_TIME(
            "created_at") ", " SQL_TIME("updated_at") " FROM prices WHERE id = ?",
        .update = "UPDATE prices SET model = ?, prompt = ?, completion = ?, cached = ?,"
                  " currency = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
        .insert = "INSERT INTO prices (model, prompt, completion, cached, currency, created_at,"
                  " updated_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        .page = "SELECT id, model, prompt, completion, cached, currency, " SQL_TIME(
            "created_at") ", " SQL_TIME("updated_at") " FROM prices ORDER BY model LIMIT ? OFFSET ?",
        .count = "SELECT COUNT(*) FROM prices",
    };
    check(&admin_prices, &x);
}

/* A second build changes nothing: the texts name prepared statements. */
static void test_built_once(void)
{
    const char *get;

    CU_ASSERT_FATAL(rs_build(&admin_users));
    get = admin_users.sql.get;
    CU_ASSERT(rs_build(&admin_users));
    CU_ASSERT_PTR_EQUAL(admin_users.sql.get, get);
}

void suite_resource(void)
{
    ADD_SUITE("resource", TEST(test_upstreams), TEST(test_keys), TEST(test_key_events),
              TEST(test_tokens), TEST(test_users), TEST(test_rules), TEST(test_alerts),
              TEST(test_prices), TEST(test_built_once));
}
