"""`make run` runs the housekeeping jobs on their crontab schedule
(apigw-recover every minute, apigw-quota-reset hourly, apigw-log-cleanup
daily) and prints one line per run.  APIGW_JOBS_SCALE=0.05 makes the
minute 3 s here, so that the test need not wait for a whole minute."""

import os
import signal
import subprocess
import sys
import threading

import harness
from harness import wait_until

RUN = os.path.join(harness.st.ROOT, "scripts", "run.py")


def test_make_run_runs_apigw_recover_on_schedule(stack):
    var = os.path.join(stack.dir, "run-jobs-var")
    port = harness.st.free_port()
    env = dict(os.environ, APIGW_VAR=var, APIGW_PORT=str(port), APIGW_JOBS_SCALE="0.05")
    for k in ("APIGW_DB_HOST", "APIGW_DB_SOCKET", "APIGW_CONFIG"):
        env.pop(k, None)
    p = subprocess.Popen([sys.executable, RUN], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, cwd=harness.st.ROOT)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(
        line.decode(errors="replace") for line in iter(p.stdout.readline, b"")), daemon=True)
    reader.start()
    try:
        def recovered_twice():
            return sum("job apigw-recover (exit status 0" in line for line in lines) >= 2 or \
                p.poll() is not None

        wait_until(recovered_twice, timeout=180, what="make run to run apigw-recover twice")
        assert p.poll() is None, "".join(lines)
        runs = [line for line in lines if "job apigw-recover" in line]
        assert "recovered 0 keys, 0 still failing" in runs[0], runs
        with open(os.path.join(var, "log", "cron.log")) as f:
            assert "recovered 0 keys" in f.read()
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
    reader.join(timeout=5)
    assert p.returncode == 0, "".join(lines)
