"""What the cron jobs share (cron-jobs/job.c): --help, a bad option, a bad
configuration, the database unreachable, and the named lock that makes a
second copy leave quietly without doing anything (apigw-jobs locks each
validation job instead: test_validation_jobs covers it)."""

from admin_helpers import A, ok
from cron_helpers import (JOBS, LOCKS, HeldLock, clean_slate, key_row, one_line, run_job,
                          sql_int, write_conf)
from proxy_helpers import add_key, make_upstream

USAGE_HEAD = {
    "apigw-quota-reset": "usage: apigw-quota-reset [-c CONFIG] [--dry-run] [--force]",
    "apigw-recover": "usage: apigw-recover [-c CONFIG] [--dry-run]",
    "apigw-log-cleanup": "usage: apigw-log-cleanup [-c CONFIG] [--dry-run]",
    "apigw-jobs": "usage: apigw-jobs [-c CONFIG] [--dry-run] [--budget-s SECONDS]",
}


def test_help_exits_0_with_the_usage_on_stdout(stack):
    for name in JOBS:
        for opt in ("--help", "-h"):
            r = run_job(stack, name, opt)
            assert r.rc == 0, r
            assert r.err == "", r
            lines = r.out.splitlines()
            assert lines[0] == USAGE_HEAD[name], r
            assert any(l.strip().startswith("-c CONFIG") for l in lines), r
            assert any(l.strip().startswith("--dry-run") for l in lines), r
            assert any(l.strip().startswith("--force") for l in lines) == (
                name == "apigw-quota-reset"), r
    # --help wins even with a configuration that cannot be loaded.
    r = run_job(stack, "apigw-recover", "--help", config="/nonexistent/apigw.conf")
    assert r.rc == 0 and r.out.startswith(USAGE_HEAD["apigw-recover"]) and r.err == "", r


def test_a_bad_option_exits_2_with_one_line(stack):
    cases = [(name, ["--bogus"], "--bogus") for name in JOBS]
    cases += [("apigw-recover", ["--force"], "--force"),        # only quota-reset has it
              ("apigw-log-cleanup", ["--dry-run", "-x"], "-x"),
              ("apigw-jobs", ["--budget-s"], "--budget-s")]
    problems = []
    for name, args, named in cases:
        r = run_job(stack, name, *args)
        try:
            assert r.rc == 2, r
            assert r.out == "", r
            line = one_line(r.err, r)
            assert line.startswith(name + ": "), r
            assert named in line, r
        except AssertionError as e:
            problems.append(str(e))
    assert not problems, "\n".join(problems)


def test_a_bad_configuration_exits_2_with_one_line_naming_file_line_and_key(stack):
    cases = [
        ("apigw-quota-reset", "quota_reset_hour = 24", "quota_reset_hour: out of range"),
        ("apigw-quota-reset", "quota_reset_tz = Mars/Olympus_Mons",
         "quota_reset_tz: unknown time zone"),
        ("apigw-recover", "db_connect_timeout_s = soon", "db_connect_timeout_s: not an integer"),
        ("apigw-log-cleanup", "log_retention_days = 0", "log_retention_days: out of range"),
        ("apigw-log-cleanup", "log_retention_dayz = 10", "log_retention_dayz: unknown key"),
    ]
    for name, bad, expected in cases:
        path, n = write_conf(stack, extra_lines=[bad])
        for args in (["-c", path], []):      # -c, or APIGW_CONFIG
            r = run_job(stack, name, *args, config=path)
            assert r.rc == 2, r
            assert r.out == "", r
            line = one_line(r.err, r)
            assert line.startswith("%s:%d: %s" % (path, n, expected)), (line, path, n, expected)
    # A file that is not there is named too.
    for name in JOBS:
        r = run_job(stack, name, "-c", "/nonexistent/apigw.conf")
        assert r.rc == 2, r
        assert one_line(r.err, r).startswith("/nonexistent/apigw.conf:0: "), r


def test_the_database_unreachable_fails_with_one_clear_line(stack):
    missing = stack.dir + "/no-such-db.sock"
    path, _ = write_conf(stack, db_socket=missing)
    problems = []
    for name in JOBS:
        for args in ([], ["--dry-run"]):
            r = run_job(stack, name, *args, config=path)
            try:
                assert r.rc == 1, r
                assert r.out == "", r
                line = one_line(r.err, r)
                assert line.startswith(name + ": cannot reach the database: "), line
                assert missing in line, line
            except AssertionError as e:
                problems.append(str(e))
    assert not problems, "\n".join(problems)


def _workload(stack):
    """Something for every job to do: a disabled key past its rest (no
    probe), a key with used_today, an old request log row."""
    clean_slate(stack)
    up = make_upstream(stack)
    k_due = add_key(stack, up["id"])
    k_used = add_key(stack, up["id"])
    stack.sql("UPDATE api_keys SET status = 'disabled', disabled_until = UTC_TIMESTAMP() -"
              " INTERVAL 5 MINUTE WHERE id = %d;"
              " UPDATE api_keys SET used_today = 7 WHERE id = %d;"
              " DELETE FROM request_logs WHERE request_id = 'lock-old';"
              " INSERT INTO request_logs (request_id, ts, method, path, status, status_class,"
              " latency_ms) VALUES ('lock-old', UTC_TIMESTAMP() - INTERVAL 40 DAY, 'GET', '/x',"
              " 200, 2, 1)" % (k_due["id"], k_used["id"]))
    return k_due, k_used


def test_a_second_copy_exits_0_quietly_without_doing_anything(stack):
    k_due, k_used = _workload(stack)
    old_rows = "SELECT COUNT(*) FROM request_logs WHERE request_id = 'lock-old'"
    cases = [
        ("apigw-recover", [], lambda: key_row(stack, k_due["id"])["status"], "disabled",
         "active", "recovered 1 keys, 0 still failing"),
        ("apigw-quota-reset", ["--force"], lambda: key_row(stack, k_used["id"])["used_today"],
         7, 0, "reset used_today of 1 keys and 0 tokens, returned 0 exhausted keys to active"),
        ("apigw-log-cleanup", [], lambda: sql_int(stack, old_rows), 1, 0, "deleted 1 log rows"),
    ]
    for name, args, probe, before, after, summary in cases:
        with HeldLock(stack, LOCKS[name]):
            for extra in ([], ["--dry-run"]):
                r = run_job(stack, name, *(args + extra))
                r.quiet()
                assert probe() == before, (name, probe())
        # Once the lock is free, the job does its work.
        r = run_job(stack, name, *args)
        assert r.line().startswith(summary), r
        assert probe() == after, (name, probe())
    # The key history has the one recovery, not two.
    ev = ok(stack.main.admin.get(A + "/keys/%d/events" % k_due["id"]))
    assert ev["total"] == 1 and ev["items"][0]["actor"] == "cron", ev
