"""Housekeeping status (issue 22): every run of a cron job leaves a row in
housekeeping_runs (its times, whether it worked, what it said), a dry run
and a second copy leave none, each job keeps only its newest 50 rows, and
GET /api/admin/housekeeping gives each job's latest run, its period and
whether it is late (not seen for twice its period)."""

from admin_helpers import A, ok
from cron_helpers import HeldLock, LOCKS, run_job, sql_int, sql_rows

JOBS = {"apigw-recover": 60, "apigw-jobs": 60, "apigw-quota-reset": 3600,
        "apigw-log-cleanup": 86400}


def _runs(stack, job):
    return sql_int(stack, "SELECT COUNT(*) FROM housekeeping_runs WHERE job = '%s'" % job)


def _said(r):
    """What a successful run printed, as its row keeps it: the lines
    joined with "; " (other tests' objects may add lines)."""
    assert r.rc == 0 and r.err == "", r
    return "; ".join(r.out.splitlines())


def _status(stack):
    body = ok(stack.main.admin.get(A + "/housekeeping"))
    return {j["job"]: j for j in body["jobs"]}


def test_a_run_leaves_a_row_the_route_shows(stack):
    stack.sql("DELETE FROM housekeeping_runs")
    st = _status(stack)
    assert set(st) == set(JOBS), st
    for name, period in JOBS.items():
        assert st[name]["period_s"] == period, st[name]
        assert st[name]["last_run"] is None and st[name]["late"] is True, st[name]

    line = _said(run_job(stack, "apigw-recover"))
    rows = sql_rows(stack, "SELECT ok, summary, finished_at >= started_at,"
                           " TIMESTAMPDIFF(SECOND, finished_at, UTC_TIMESTAMP()) < 60"
                           " FROM housekeeping_runs WHERE job = 'apigw-recover'")
    assert rows == [["1", line, "1", "1"]], (rows, line)
    st = _status(stack)["apigw-recover"]
    assert st["late"] is False and st["age_s"] < 60, st
    assert st["last_run"]["ok"] is True and st["last_run"]["summary"] == line, st
    assert st["last_run"]["started_at"].endswith("Z"), st
    # The other jobs are still never seen.
    assert _status(stack)["apigw-log-cleanup"]["last_run"] is None


def test_a_dry_run_and_a_second_copy_leave_no_row(stack):
    stack.sql("DELETE FROM housekeeping_runs")
    _said(run_job(stack, "apigw-log-cleanup", "--dry-run"))
    assert _runs(stack, "apigw-log-cleanup") == 0
    with HeldLock(stack, LOCKS["apigw-log-cleanup"]):
        run_job(stack, "apigw-log-cleanup").quiet()
    assert _runs(stack, "apigw-log-cleanup") == 0
    _said(run_job(stack, "apigw-log-cleanup"))
    assert _runs(stack, "apigw-log-cleanup") == 1


def test_a_failed_run_is_recorded_with_its_error(stack):
    stack.sql("DELETE FROM housekeeping_runs")
    stack.sql("RENAME TABLE sessions TO sessions_hidden")
    try:
        r = run_job(stack, "apigw-log-cleanup")
    finally:
        stack.sql("RENAME TABLE sessions_hidden TO sessions")
    assert r.rc == 1 and "cannot delete sessions" in r.err, r
    last = _status(stack)["apigw-log-cleanup"]["last_run"]
    assert last["ok"] is False and "cannot delete sessions" in last["summary"], last


def test_a_job_not_seen_for_twice_its_period_is_late_and_old_rows_are_pruned(stack):
    stack.sql("DELETE FROM housekeeping_runs")
    # 60 old runs of apigw-quota-reset, the newest three hours ago (> 2 x 1 h).
    stack.sql("INSERT INTO housekeeping_runs (job, started_at, finished_at, ok, summary)"
              " SELECT 'apigw-quota-reset', UTC_TIMESTAMP() - INTERVAL (180 + seq) MINUTE,"
              " UTC_TIMESTAMP() - INTERVAL (180 + seq) MINUTE, 1, CONCAT('old ', seq)"
              " FROM seq_1_to_60 ORDER BY seq DESC")
    st = _status(stack)["apigw-quota-reset"]
    assert st["late"] is True and st["age_s"] >= 3 * 3600, st
    assert st["last_run"]["summary"] == "old 1", st
    said = _said(run_job(stack, "apigw-quota-reset"))
    st = _status(stack)["apigw-quota-reset"]
    summary = st["last_run"]["summary"]
    assert st["late"] is False and summary and said.startswith(summary), (st, said)
    assert _runs(stack, "apigw-quota-reset") == 50
    # The newest kept: the run just made and the 49 newest old ones.
    assert sql_int(stack, "SELECT COUNT(*) FROM housekeeping_runs WHERE summary = 'old 60'") == 0
    assert sql_int(stack, "SELECT COUNT(*) FROM housekeeping_runs WHERE summary = 'old 1'") == 1
