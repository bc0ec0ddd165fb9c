"""The request log's rows go in by LOAD DATA LOCAL INFILE streamed from
memory (core/reqlog_load.c), with the same values the prepared INSERT
stored: text with tabs, newlines, backslashes, `\\N`, non-ASCII and values
at their caps comes back byte-identical through GET /api/admin/logs, NULLs
stay NULL, and a duplicate (ts, request_id) is ignored.  Where the server
refuses LOAD DATA LOCAL (local_infile=OFF) the writer falls back to the
prepared INSERT for good, says so once, and no row is lost.  Com_load, the
server's count of LOAD DATA statements, shows which path was taken."""

import json
import os
import secrets

from harness import wait_until
from obs_helpers import logs, rfc3339
from proxy_helpers import setup, wait_log_rows

BASE_MS = 1577836800000  # 2020-01-01T00:00:00Z: far from the other tests' rows
ODD = "tab\there nl\nthere cr\rback\\slash \\N \\t é ✓ 😀 \x01 end"


def _com_load(stack):
    out = stack.sql("SHOW GLOBAL STATUS LIKE 'Com_load'").split()
    return int(out[1])


def _entry(i, **fields):
    e = {"request_id": "ld%02d%s" % (i, secrets.token_hex(8)), "ts_ms": BASE_MS + 1000 * i + 7,
         "method": "GET", "upstream_id": 0, "upstream": "", "path": "/proxy/x/%d" % i,
         "key_id": 0, "token_id": 0, "status": 200, "latency_ms": 3, "attempts": 1,
         "req_bytes": 0, "resp_bytes": 5, "error": None, "rules": None, "messages": None}
    e.update(fields)
    return e


def _entries():
    long_path = "/proxy/x/" + ("é\t\\" * 600)
    long_path = long_path.encode()[:2048].decode()      # exactly the cap: 2048 bytes
    assert len(long_path.encode()) == 2048
    long_error = ("ü\n\\" * 200).encode()[:512].decode()
    assert len(long_error.encode()) == 512
    rules = json.dumps(["r\t1", "r\\2", "é"], ensure_ascii=False)
    msgs = json.dumps(["m\n1", ODD], ensure_ascii=False)
    return [
        _entry(0, path="/proxy/x/" + ODD, error=ODD, rules=rules, messages=msgs,
               upstream_id=4, upstream="up\\é", key_id=7, token_id=9, status=502,
               attempts=3, req_bytes=10, resp_bytes=0),
        _entry(1, path=long_path, error=long_error),
        _entry(2, error=""),                              # empty, not NULL
        _entry(3, path="\\N", error="\\N", upstream="\\N"),  # the text, not NULL
        _entry(4, path="/proxy/x/\x7f\x1a", status=499, latency_ms=0, attempts=0),
    ]


def _write_spool(g, entries):
    spool = os.path.join(g.dir, "spool")
    os.makedirs(spool, exist_ok=True)
    with open(os.path.join(spool, "reqlog.spool"), "w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")


def _items(stack, entries):
    q = "from=%s&to=%s&limit=100" % (rfc3339(BASE_MS), rfc3339(BASE_MS + 100000))
    by_id = {it["request_id"]: it for it in logs(stack, q)["items"]}
    return {e["request_id"]: by_id.get(e["request_id"]) for e in entries}


def _check_item(e, it):
    assert it is not None, e["request_id"]
    assert it["ts"] == rfc3339(e["ts_ms"], frac=True), (it["ts"], e["ts_ms"])
    for k in ("method", "path", "status", "latency_ms", "attempts", "req_bytes", "resp_bytes",
              "error"):
        assert it[k] == e[k], (k, it[k], e[k])
    for k in ("upstream_id", "key_id", "token_id"):
        assert it[k] == (e[k] or None), (k, it[k], e[k])
    assert it["upstream"] == (e["upstream"] or None), (it["upstream"], e["upstream"])
    assert it["rules"] == json.loads(e["rules"] or "[]"), it["rules"]
    assert it["messages"] == json.loads(e["messages"] or "[]"), it["messages"]


def test_odd_text_comes_back_byte_identical(stack):
    entries = _entries()
    g = stack.gateway("loadgw", overrides={"log_batch_rows": 50}, start=False)
    # The same row twice: the unique key (ts, request_id) keeps one.
    _write_spool(g, entries + [entries[0]])
    before = _com_load(stack)
    g.start()
    got = wait_until(lambda: (lambda m: m if all(m.values()) else None)(_items(stack, entries)),
                     timeout=20, what="the spooled rows")
    for e in entries:
        _check_item(e, got[e["request_id"]])
    n = stack.sql("SELECT COUNT(*) FROM request_logs WHERE request_id = '%s'"
                  % entries[0]["request_id"]).split()
    assert n == ["1"], n
    assert _com_load(stack) > before
    # Nothing was cut or converted: LOAD DATA took the batch as it was.
    assert "LOAD DATA read" not in g.log()
    assert "refuses LOAD DATA" not in g.log()


def _send(g, s, n, tag):
    ids = []
    for i in range(n):
        r = g.client.get(s.path("v1/%s/%d" % (tag, i)), token=s.token)
        assert r.status == 200, r
        ids.append(r.header("X-Gateway-Request-Id"))
    return ids


def test_refused_load_falls_back_to_insert(stack):
    s = setup(stack)
    on = stack.gateway("loadon", overrides={"log_batch_rows": 5})
    before = _com_load(stack)
    wait_log_rows(stack, _send(on, s, 12, "on"))
    assert _com_load(stack) > before, "LOAD DATA was not used where the server allows it"

    stack.sql("SET GLOBAL local_infile = 0")
    try:
        off = stack.gateway("loadoff", overrides={"log_batch_rows": 5})
        ids = []
        for rnd in range(3):
            batch = _send(off, s, 7, "off%d" % rnd)
            wait_log_rows(stack, batch)
            ids += batch
        rows = wait_log_rows(stack, ids)
        assert len(rows) == len(ids)
        warned = [x for x in off.log().splitlines() if "refuses LOAD DATA LOCAL" in x]
        assert len(warned) == 1, warned
        assert "LOAD DATA read" not in off.log(), off.log()[-3000:]
    finally:
        stack.sql("SET GLOBAL local_infile = 1")


def test_value_the_server_would_convert_is_stored_as_by_insert(stack):
    # The error's cap (512 bytes) cuts the last "é" in half: the server
    # warns about the invalid UTF-8.  LOAD DATA's batch is rolled back and
    # written by the prepared INSERT, which stores what it always stored.
    e = _entry(20, error="a" + "é" * 300)
    g = stack.gateway("loadcut", overrides={"log_batch_rows": 50}, start=False)
    _write_spool(g, [e])
    g.start()
    got = wait_until(lambda: _items(stack, [e])[e["request_id"]], timeout=20, what="the row")
    assert got["error"] == "a" + "é" * 255 + "?", got["error"]
    assert got["path"] == e["path"]
    wait_until(lambda: "LOAD DATA read 1 of 1 rows" in g.log(), timeout=5, what="the log line")
