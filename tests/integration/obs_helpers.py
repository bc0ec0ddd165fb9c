"""Helpers shared by the test_observability_*.py files: the request log as
the database holds it (the truth the admin API's logs, stats and /metrics
are checked against), nearest-rank percentiles, a cursor pager for
GET /api/admin/logs, and a strict parser of the Prometheus text format
(version 0.0.4)."""

import calendar
import math
import re
import time

import harness
from admin_helpers import A, ok

# ---------------------------------------------------------------- time

TS_MS = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.(\d{1,9}))?Z")


def ts_ms(s):
    """An RFC 3339 UTC time (with or without a fraction) as Unix milliseconds."""
    m = TS_MS.fullmatch(s or "")
    assert m, "not an RFC 3339 UTC time: %r" % (s,)
    sec = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    frac = (m.group(3) or "0").ljust(3, "0")[:3]
    return sec * 1000 + int(frac)


def rfc3339(ms, frac=False):
    """Unix milliseconds as RFC 3339 UTC text; with frac, milliseconds too."""
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return base + (".%03dZ" % (ms % 1000) if frac else "Z")


# ---------------------------------------------------------------- request_logs

RAW_COLS = ["id", "request_id", "ts_ms", "method", "upstream_id", "path", "key_id", "token_id",
            "status", "latency_ms", "attempts"]
_RAW_INT = {"id", "ts_ms", "upstream_id", "key_id", "token_id", "status", "latency_ms",
            "attempts"}


def sql_rows(stack, query, cols, ints=()):
    """Rows of a SELECT (run in UTC) as dicts; NULL is None."""
    out = []
    for line in stack.sql("SET time_zone = '+00:00'; " + query).splitlines():
        if not line.strip():
            continue
        vals = line.split("\t")
        assert len(vals) == len(cols), (query, line)
        row = {}
        for c, v in zip(cols, vals):
            if v == "NULL":
                row[c] = None
            elif c in ints:
                row[c] = int(float(v))
            else:
                row[c] = _unescape_batch(v)
        out.append(row)
    return out


def _unescape_batch(v):
    """The mariadb client's batch output escapes \\, tab, newline and NUL."""
    if "\\" not in v:
        return v
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append({"t": "\t", "n": "\n", "0": "\0", "\\": "\\"}.get(v[i + 1], v[i + 1]))
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def raw_logs(stack, where="1 = 1"):
    """request_logs rows, newest first (ts, then id), with ts in Unix ms and
    0 for a NULL upstream, key or token."""
    q = ("SELECT id, request_id, ROUND(UNIX_TIMESTAMP(ts) * 1000), method,"
         " IFNULL(upstream_id, 0), path, IFNULL(key_id, 0), IFNULL(token_id, 0), status,"
         " latency_ms, attempts FROM request_logs WHERE %s ORDER BY ts DESC, id DESC" % where)
    return sql_rows(stack, q, RAW_COLS, _RAW_INT)


def rid(r):
    x = r.header("X-Gateway-Request-Id")
    assert x, r.headers
    return x


def wait_rows(stack, request_ids, timeout=10):
    """Waits until every request id has its request_logs row; returns
    request_id -> raw row."""
    ids = set(request_ids)
    got = {}

    def check():
        missing = ids - set(got)
        if not missing:
            return True
        for i in range(0, len(missing), 400):
            part = sorted(missing)[i:i + 400]
            for row in raw_logs(stack, "request_id IN (%s)" % ", ".join("'%s'" % x
                                                                        for x in part)):
                got[row["request_id"]] = row
        return len(got) == len(ids)

    try:
        harness.wait_until(check, timeout=timeout, interval=0.05,
                           what="%d request_logs rows" % len(ids))
    except AssertionError:
        raise AssertionError("%d of %d request_logs rows missing, e.g. %r"
                             % (len(ids - set(got)), len(ids), sorted(ids - set(got))[:5]))
    return got


def wait_quiet(stack, timeout=10):
    """Waits until the number of request_logs rows stops moving (every
    queued row written)."""
    last = [None, 0]

    def check():
        n = int(stack.sql("SELECT COUNT(*) FROM request_logs").strip())
        if n == last[0]:
            last[1] += 1
        else:
            last[0], last[1] = n, 0
        return last[1] >= 4

    harness.wait_until(check, timeout=timeout, interval=0.1, what="the request log to settle")
    return last[0]


# ---------------------------------------------------------------- percentiles

def nearest_rank(values, p):
    """The nearest-rank percentile: the ceil(p/100 * n)-th smallest value."""
    v = sorted(values)
    assert v, "no values"
    rank = max(1, -(-p * len(v) // 100))
    return v[rank - 1]


def assert_percentile(got, values, p, what=""):
    """Exact for a true value under 100 ms, within 2% above."""
    want = nearest_rank(values, p)
    if want < 100:
        assert got == want, "%s p%s: expected exactly %r, got %r (values %r)" % (
            what, p, want, got, sorted(values))
    else:
        assert abs(got - want) <= 0.02 * want, "%s p%s: expected %r within 2%%, got %r" % (
            what, p, want, got)


# ---------------------------------------------------------------- logs API

def logs(stack, query="", client=None):
    """GET /api/admin/logs?query: the body (200 expected)."""
    path = A + "/logs" + ("?" + query if query else "")
    return ok((client or stack.main.admin).get(path))


def page_all(stack, query, limit, max_pages=1000):
    """Follows next_cursor from the first page; returns the pages (lists of
    items).  Checks the cursor is an opaque string until the last page."""
    pages = []
    cursor = None
    for _ in range(max_pages):
        q = "%slimit=%d" % (query + "&" if query else "", limit)
        if cursor is not None:
            q += "&cursor=" + cursor
        body = logs(stack, q)
        assert set(body) == {"items", "next_cursor"}, body.keys()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor and len(body["items"]) == limit, body
    raise AssertionError("more than %d pages" % max_pages)


def order_key(item):
    return (ts_ms(item["ts"]), item["id"])


def assert_newest_first(items, what="items"):
    keys = [order_key(i) for i in items]
    assert keys == sorted(keys, reverse=True), "%s not newest first: %r" % (
        what, [(i["id"], i["ts"]) for i in items])
    assert len(set(keys)) == len(keys), "%s repeat a row: %r" % (what, keys)


# ---------------------------------------------------------------- Prometheus

_METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_METRIC_RE = re.compile(_METRIC)
_LABEL_RE = re.compile(_LABEL)
_FLOAT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN")
_TYPES = ("counter", "gauge", "histogram")


class Metrics:
    """A parsed scrape: samples [(name, labels, value)], types {family: type},
    helps {family: text}."""

    def __init__(self, samples, types, helps):
        self.samples = samples
        self.types = types
        self.helps = helps

    def series(self, name, **labels):
        """Samples of name whose labels include the given ones: [(labels, value)]."""
        return [(lb, v) for n, lb, v in self.samples
                if n == name and all(lb.get(k) == str(x) for k, x in labels.items())]

    def value(self, name, **labels):
        """The one sample of name with exactly those labels (None when absent)."""
        want = {k: str(v) for k, v in labels.items()}
        found = [v for n, lb, v in self.samples if n == name and lb == want]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else None

    def as_dict(self):
        return {(n, tuple(sorted(lb.items()))): v for n, lb, v in self.samples}


def _parse_float(s, line):
    assert _FLOAT_RE.fullmatch(s), "not a sample value: %r in %r" % (s, line)
    return float(s)


def _unescape_help(s, line):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            assert i + 1 < len(s) and s[i + 1] in "\\n", "bad escape in HELP: %r" % line
            out.append("\\" if s[i + 1] == "\\" else "\n")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_labels(s, i, line):
    """Parses from just after '{'; returns (labels, index after '}')."""
    labels = {}
    while True:
        if s[i:i + 1] == "}":
            return labels, i + 1
        m = _LABEL_RE.match(s, i)
        assert m, "bad label name at %d: %r" % (i, line)
        name = m.group(0)
        i = m.end()
        assert s[i:i + 2] == '="', "expected =\" after label %s: %r" % (name, line)
        i += 2
        val = []
        while True:
            assert i < len(s), "unterminated label value: %r" % line
            c = s[i]
            if c == "\\":
                assert i + 1 < len(s) and s[i + 1] in '\\"n', "bad escape in label value: %r" % line
                val.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                val.append(c)
                i += 1
        assert name not in labels, "label %s twice: %r" % (name, line)
        assert not name.startswith("__"), "reserved label name: %r" % line
        labels[name] = "".join(val)
        if s[i:i + 1] == ",":
            i += 1
            continue
        assert s[i:i + 1] == "}", "expected , or } at %d: %r" % (i, line)
        return labels, i + 1


def _family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return name


def parse_prometheus(text):
    """Parses the text format strictly; raises AssertionError on anything
    that is not "# HELP", "# TYPE" or a well-formed sample, on a sample
    without exactly one TYPE line before it, on a family's samples not kept
    together, on duplicate series, and on a histogram whose buckets are not
    cumulative up to le="+Inf" equal to _count."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    types, helps, samples = {}, {}, []
    seen_series = set()
    done_families = set()        # families whose block of samples has ended
    current = None               # family of the last sample or comment
    for line in text[:-1].split("\n"):
        assert line, "empty line in the exposition"
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % _METRIC, line)
            assert m, "a comment that is neither HELP nor TYPE: %r" % line
            kind, name, rest = m.groups()
            assert name not in done_families, "%s comes back after other metrics: %r" % (
                name, line)
            if current is not None and current != name:
                done_families.add(current)
            current = name
            if kind == "HELP":
                assert name not in helps, "two HELP lines for %s" % name
                helps[name] = _unescape_help(rest, line)
            else:
                assert rest in _TYPES, "unknown type %r: %r" % (rest, line)
                assert name not in types, "two TYPE lines for %s" % name
                assert not any(_family_of(n, {name: rest}) == name or n == name
                               for n, _, _ in samples), "TYPE after samples of %s" % name
                types[name] = rest
            continue
        m = _METRIC_RE.match(line)
        assert m, "bad metric name: %r" % line
        name = m.group(0)
        i = m.end()
        labels = {}
        if line[i:i + 1] == "{":
            labels, i = _parse_labels(line, i + 1, line)
        assert line[i:i + 1] == " " and line[i + 1:i + 2] not in ("", " "), \
            "expected one space before the value: %r" % line
        parts = line[i + 1:].split(" ")
        assert len(parts) in (1, 2), "bad sample: %r" % line
        value = _parse_float(parts[0], line)
        if len(parts) == 2:
            assert re.fullmatch(r"-?\d+", parts[1]), "bad timestamp: %r" % line
        family = _family_of(name, types)
        assert family in types, "sample without a TYPE line before it: %r" % line
        assert family not in done_families, "samples of %s are not together: %r" % (family, line)
        if current is not None and current != family:
            done_families.add(current)
        current = family
        t = types[family]
        if t == "histogram":
            assert name != family, "a histogram sample must be _bucket, _sum or _count: %r" % line
            if name.endswith("_bucket"):
                assert "le" in labels, "a bucket without le: %r" % line
                le = labels["le"]
                assert le == "+Inf" or _FLOAT_RE.fullmatch(le), "bad le: %r" % line
            else:
                assert "le" not in labels, line
        else:
            assert name == family, "sample %s under TYPE %s: %r" % (name, family, line)
        if t == "counter" or t == "histogram":
            assert value >= 0 and not math.isnan(value), "a negative counter: %r" % line
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen_series, "duplicate series: %r" % line
        seen_series.add(key)
        samples.append((name, labels, value))
    m = Metrics(samples, types, helps)
    _check_histograms(m)
    return m


def _check_histograms(m):
    for fam, t in m.types.items():
        if t != "histogram":
            continue
        groups = {}
        for n, lb, v in m.samples:
            if n == fam + "_bucket":
                rest = tuple(sorted((k, x) for k, x in lb.items() if k != "le"))
                groups.setdefault(rest, []).append((lb["le"], v))
        counts = {tuple(sorted(lb.items())): v for n, lb, v in m.samples if n == fam + "_count"}
        sums = {tuple(sorted(lb.items())): v for n, lb, v in m.samples if n == fam + "_sum"}
        assert set(counts) == set(groups) == set(sums), (fam, set(counts), set(groups),
                                                        set(sums))
        for rest, buckets in groups.items():
            les = [float("inf") if le == "+Inf" else float(le) for le, _ in buckets]
            assert les == sorted(les) and len(set(les)) == len(les), (fam, rest, les)
            assert buckets[-1][0] == "+Inf", "%s %r: the last bucket is not +Inf" % (fam, rest)
            vals = [v for _, v in buckets]
            assert vals == sorted(vals), "%s %r: buckets not cumulative: %r" % (fam, rest,
                                                                                  buckets)
            assert vals[-1] == counts[rest], "%s %r: +Inf %r != _count %r" % (
                fam, rest, vals[-1], counts[rest])


def scrape(stack, gateway=None):
    """GET /metrics (no credentials), checked and parsed."""
    g = gateway or stack.main
    r = g.client.get("/metrics")
    assert r.status == 200, r
    ctype = (r.header("Content-Type") or "").replace(" ", "").lower()
    assert ctype.startswith("text/plain;") and "version=0.0.4" in ctype, ctype
    return parse_prometheus(r.text)
