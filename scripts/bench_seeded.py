"""The stack of the query benches (bench_queries.py, bench_backtest.py): a
private MariaDB filled with request-log rows by the bench's own fill(db,
rows), the application and nginx in front of it; and their stop."""

import os
import shutil
import time

import apigw_stack as st

ADMIN = "bench-admin-token-0123456789abcdef"

# The three upstreams the benches' rows belong to (ids 1 to 3), as SQL.
UPSTREAMS_SQL = """INSERT INTO upstreams (id, name, base_url, created_at, updated_at) VALUES
          (1, 'alpha', 'http://127.0.0.1:9/a', UTC_TIMESTAMP(), UTC_TIMESTAMP()),
          (2, 'beta', 'http://127.0.0.1:9/b', UTC_TIMESTAMP(), UTC_TIMESTAMP()),
          (3, 'gamma', 'http://127.0.0.1:9/c', UTC_TIMESTAMP(), UTC_TIMESTAMP());"""


def start(tmp, procs, fill, rows, what, workers):
    """Starts the stack under tmp (every process appended to procs, for
    stop) with rows filled; returns nginx's port."""
    db = st.MariaDB(os.path.join(tmp, "db"), os.path.join(tmp, "db.sock"), tmp,
                    durable=True, flush_log_at_trx_commit=2)
    db.start()
    procs.append(db)
    conf = os.path.join(tmp, "apigw.conf")
    st.write_config(conf, {"db_socket": db.socket, "db_name": "apigw_bench",
                           "admin_token": ADMIN, "encryption_key": st.new_secret_hex(32),
                           "workers": workers, "spool_dir": os.path.join(tmp, "spool"),
                           "log_level": "warn"})
    st.migrate(conf)
    t0 = time.time()
    fill(db, rows)
    print("filled %d %s in %.0f s" % (rows, what, time.time() - t0), flush=True)
    app = st.App(conf, os.path.join(tmp, "app.sock"), os.path.join(tmp, "app.log")).start()
    procs.append(app)
    port = st.free_port()
    procs.append(st.Nginx(os.path.join(tmp, "nginx"), port, app.socket,
                          app_workers=workers).start())
    return port


def stop(procs, tmp):
    """Stops the processes of procs, newest first, and removes tmp (also
    for bench.py's own stack)."""
    for p in reversed(procs):
        try:
            p.stop()
        except Exception:  # noqa: BLE001
            pass
    shutil.rmtree(tmp, ignore_errors=True)
