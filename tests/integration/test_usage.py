"""Token usage (docs/USAGE.md): the model and the token counts read from
answers as they pass, for each usage_format, in JSON answers and event
streams, whole, cut, without usage and malformed; the request-log columns,
the logs filter, the stats sums against the rows, /metrics, and the
upstream fields' validation."""

import http.client
import json

from admin_helpers import A, assert_error, ok
from mock_upstream import Reply
from obs_helpers import scrape, wait_quiet
from proxy_helpers import patch_upstream, settle, setup, wait_log_row, wait_log_rows

USAGE_COLS = ["model", "prompt_tokens", "completion_tokens", "cached_tokens", "total_tokens",
              "usage_source"]


def usage_row(stack, r):
    """The usage columns of the request's log row (None for NULL)."""
    rid = wait_log_row(stack, r)["request_id"]
    line = stack.sql("SELECT %s FROM request_logs WHERE request_id = '%s'"
                     % (", ".join(USAGE_COLS), rid)).strip()
    out = {}
    for c, v in zip(USAGE_COLS, line.split("\t")):
        if v == "NULL":
            out[c] = None
        elif c.endswith("_tokens"):
            out[c] = int(v)
        else:
            out[c] = v
    return out


def counts(model, p, c, cached, total, source="reported"):
    return {"model": model, "prompt_tokens": p, "completion_tokens": c, "cached_tokens": cached,
            "total_tokens": total, "usage_source": source}


def sse(*events):
    return "".join("data: %s\n\n" % (e if isinstance(e, str) else json.dumps(e)) for e in events)


def stream_reply(text, pieces=3):
    step = max(1, len(text) // pieces)
    chunks = [(0, text[i:i + step]) for i in range(0, len(text), step)]
    return Reply(200, headers={"Content-Type": "text/event-stream"}, chunks=chunks)


def json_answer(obj):
    return Reply(200, json.dumps(obj), {"Content-Type": "application/json"})


OPENAI_JSON = {"id": "c1", "model": "gpt-4o-2024-08-06",
               "choices": [{"message": {"role": "assistant", "content": "hi"}}],
               "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                         "prompt_tokens_details": {"cached_tokens": 3}}}


def post(stack, s, rest, body):
    return stack.main.client.post(s.path(rest), json=body, token=s.token)


# ---------------------------------------------------------------- openai

def test_openai_json_answer(stack):
    s = setup(stack, usage_format="openai")
    stack.mock.script = lambda req: json_answer(OPENAI_JSON)
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-4o", "messages": []})
    assert r.status == 200, r
    # The model the answer names wins over the request's.
    assert usage_row(stack, r) == counts("gpt-4o-2024-08-06", 11, 7, 3, 18)


def test_openai_stream_with_usage_chunk(stack):
    s = setup(stack, usage_format="openai")
    text = sse({"model": "gpt-4o-mini", "choices": [{"delta": {"content": "a"}}], "usage": None},
               {"model": "gpt-4o-mini", "choices": [{"delta": {"content": "b"}}], "usage": None},
               {"model": "gpt-4o-mini", "choices": [],
                "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}},
               "[DONE]")
    stack.mock.script = lambda req: stream_reply(text, pieces=7)
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-4o-mini", "stream": True})
    assert r.status == 200 and r.body == text.encode(), r
    assert usage_row(stack, r) == counts("gpt-4o-mini", 20, 2, None, 22)


def test_stream_cut_off_is_cut(stack):
    s = setup(stack, usage_format="openai", max_retries=0)
    part = sse({"model": "m-cut", "choices": [{"delta": {"content": "a"}}]})
    # A Content-Length the body never reaches: the answer ends early.
    stack.mock.script = lambda req: Reply(
        200, part, {"Content-Type": "text/event-stream", "Content-Length": "5000"},
        content_length=False)
    # The client sees the answer end early too; its head names the request.
    conn = stack.main.client.connection()
    body = json.dumps({"model": "m-req"})
    conn.request("POST", s.path("v1/chat/completions"), body=body,
                 headers={"Authorization": "Bearer " + s.token,
                          "Content-Type": "application/json"})
    resp = conn.getresponse()
    rid = resp.getheader("X-Gateway-Request-Id")
    try:
        resp.read()
        raise AssertionError("the answer should have been cut short")
    except http.client.IncompleteRead:
        pass
    conn.close()
    wait_log_rows(stack, [rid])
    line = stack.sql("SELECT %s FROM request_logs WHERE request_id = '%s'"
                     % (", ".join(USAGE_COLS), rid)).strip().split("\t")
    row = dict(zip(USAGE_COLS, [None if v == "NULL" else v for v in line]))
    assert row["usage_source"] == "cut", row
    assert row["model"] == "m-cut" and row["prompt_tokens"] is None, row


def test_json_without_usage_and_malformed(stack):
    s = setup(stack, usage_format="openai")
    stack.mock.script = lambda req: json_answer({"id": "x", "choices": []})
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-a"})
    assert usage_row(stack, r) == counts("gpt-a", None, None, None, None, "absent")
    stack.mock.script = lambda req: Reply(200, '{"usage": {"prompt_tokens": 5,',
                                          {"Content-Type": "application/json"})
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-b"})
    row = usage_row(stack, r)
    assert row["usage_source"] == "parse_error" and row["model"] == "gpt-b", row


def test_format_none_reads_nothing(stack):
    s = setup(stack)
    stack.mock.script = lambda req: json_answer(OPENAI_JSON)
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-4o"})
    assert usage_row(stack, r) == counts(None, None, None, None, None, None)


def test_answer_not_json_is_absent(stack):
    s = setup(stack, usage_format="openai")
    stack.mock.script = lambda req: Reply(200, "plain", {"Content-Type": "text/plain"})
    r = post(stack, s, "v1/x", {"model": "gpt-p"})
    assert usage_row(stack, r) == counts("gpt-p", None, None, None, None, "absent")


# ---------------------------------------------------------------- anthropic, gemini, custom

def test_anthropic_stream(stack):
    s = setup(stack, usage_format="anthropic")
    text = ("event: message_start\n" + sse({"type": "message_start", "message": {
        "model": "claude-3-5-sonnet", "usage": {"input_tokens": 25, "output_tokens": 1,
                                                "cache_creation_input_tokens": 4,
                                                "cache_read_input_tokens": 10}}})
            + "event: ping\n" + sse({"type": "ping"})
            + "event: message_delta\n" + sse({"type": "message_delta",
                                              "usage": {"output_tokens": 15}})
            + "event: message_stop\n" + sse({"type": "message_stop"}))
    stack.mock.script = lambda req: stream_reply(text, pieces=5)
    r = post(stack, s, "v1/messages", {"model": "claude-3-5-sonnet-latest", "stream": True})
    assert r.status == 200 and r.body == text.encode()
    # prompt = input + cache creation + cache read; total = prompt + completion.
    assert usage_row(stack, r) == counts("claude-3-5-sonnet", 39, 15, 10, 54)


def test_anthropic_json(stack):
    s = setup(stack, usage_format="anthropic")
    stack.mock.script = lambda req: json_answer({
        "model": "claude-x", "content": [], "usage": {"input_tokens": 8, "output_tokens": 4}})
    r = post(stack, s, "v1/messages", {"model": "claude-x"})
    assert usage_row(stack, r) == counts("claude-x", 8, 4, None, 12)


def test_gemini_model_from_path_and_array_stream(stack):
    s = setup(stack, usage_format="gemini")
    meta = {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14}
    stack.mock.script = lambda req: json_answer({"candidates": [], "usageMetadata": meta})
    r = post(stack, s, "v1beta/models/gemini-1.5-pro:generateContent", {"contents": []})
    assert usage_row(stack, r) == counts("gemini-1.5-pro", 9, 5, None, 14)
    # streamGenerateContent without alt=sse: one JSON array; the last usageMetadata wins.
    arr = [{"candidates": [], "usageMetadata": {"promptTokenCount": 9}},
           {"candidates": [], "usageMetadata": dict(meta, candidatesTokenCount=30,
                                                    totalTokenCount=39),
            "modelVersion": "gemini-1.5-pro-002"}]
    stack.mock.script = lambda req: json_answer(arr)
    r = post(stack, s, "v1beta/models/gemini-1.5-pro:streamGenerateContent", {"contents": []})
    assert usage_row(stack, r) == counts("gemini-1.5-pro-002", 9, 30, None, 39)


def test_custom_paths(stack):
    paths = {"prompt": "$.meta.in", "completion": "$.meta.out", "model": "$.engine"}
    s = setup(stack, usage_format="custom", usage_paths=paths)
    assert s.up["usage_paths"] == paths, s.up
    stack.mock.script = lambda req: json_answer({"engine": "e-1", "meta": {"in": 3, "out": 4}})
    r = post(stack, s, "run", {"x": 1})
    assert usage_row(stack, r) == counts("e-1", 3, 4, None, 7)


def test_usage_fields_are_checked(stack):
    s = setup(stack, settle=False)
    path = A + "/upstreams/%d" % s.up["id"]
    assert_error(stack.main.admin.patch(path, json={"usage_format": "bogus"}), 400,
                 "invalid_field", "usage_format")
    assert_error(stack.main.admin.patch(path, json={"usage_format": "custom"}), 400,
                 "invalid_field", "usage_paths")
    assert_error(stack.main.admin.patch(path, json={"usage_format": "custom",
                                                    "usage_paths": {"prompt": "nope"}}),
                 400, "invalid_field", "usage_paths.prompt")
    assert_error(stack.main.admin.patch(path, json={"usage_paths": {"other": "$.a"}}), 400,
                 "invalid_field", "usage_paths")
    up = patch_upstream(stack, s.up["id"], usage_format="gemini")
    assert up["usage_format"] == "gemini" and up["usage_paths"] is None, up


# ---------------------------------------------------------------- where it shows

def test_logs_filter_and_fields(stack):
    s = setup(stack, usage_format="openai")
    model = "gpt-filter-%d" % s.up["id"]
    stack.mock.script = lambda req: json_answer(dict(OPENAI_JSON, model=model))
    rs = [post(stack, s, "v1/chat/completions", {"model": "x"}) for _ in range(3)]
    rids = {wait_log_row(stack, r)["request_id"] for r in rs}
    body = ok(stack.main.admin.get(A + "/logs?model=" + model))
    assert {i["request_id"] for i in body["items"]} == rids, body
    item = body["items"][0]
    assert (item["model"], item["prompt_tokens"], item["completion_tokens"],
            item["cached_tokens"], item["total_tokens"], item["usage_source"]) == (
        model, 11, 7, 3, 18, "reported"), item


def test_stats_and_metrics_sums(stack):
    s = setup(stack, nkeys=2, usage_format="openai")
    model = "gpt-metrics-a"  # listed in the test stack's metrics_models
    before = scrape(stack)

    def answer(req):
        body = json.loads(req.body)
        n = body["n"]
        return json_answer({"model": model, "usage": {
            "prompt_tokens": 10 * n, "completion_tokens": n, "total_tokens": 11 * n,
            "prompt_tokens_details": {"cached_tokens": n}}})
    stack.mock.script = answer
    for n in range(1, 7):
        r = post(stack, s, "v1/chat/completions", {"model": model, "n": n})
        assert r.status == 200, r
        usage_row(stack, r)
    wait_quiet(stack)
    want = {"prompt_tokens": 210, "completion_tokens": 21, "cached_tokens": 21,
            "total_tokens": 231}
    st = ok(stack.main.admin.get(A + "/stats?upstream_id=%d" % s.up["id"]))
    assert {k: st["totals"][k] for k in want} == want, st["totals"]
    up = [u for u in st["by_upstream"] if u["upstream_id"] == s.up["id"]][0]
    assert {k: up[k] for k in want} == want, up
    by_key = [k for k in st["by_key"] if k["upstream_id"] == s.up["id"]]
    assert sum(k["total_tokens"] for k in by_key) == 231 and len(by_key) == 2, by_key
    assert sum(p["total_tokens"] for p in st["series"]) == 231
    by_model = [m for m in st["by_model"] if m["model"] == model]
    assert len(by_model) == 1 and by_model[0]["requests"] == 6, st["by_model"]
    assert {k: by_model[0][k] for k in want} == want, by_model
    by_token = [t for t in st["by_token"] if t["token_id"] == s.token_obj["id"]]
    assert len(by_token) == 1 and by_token[0]["requests"] == 6, st["by_token"]
    assert by_token[0]["name"] == s.token_obj["name"]
    assert {k: by_token[0][k] for k in want} == want, by_token
    after = scrape(stack)
    labels = {"upstream": s.name}
    for kind, n in (("prompt", 210), ("completion", 21), ("cached", 21)):
        got = after.series("apigw_tokens_total", kind=kind, **labels)
        old = before.series("apigw_tokens_total", kind=kind, **labels)
        assert len(got) == 1 and got[0][1] - (old[0][1] if old else 0) == n, (kind, got, old)
    got = after.series("apigw_model_requests_total", model=model, **labels)
    assert len(got) == 1 and got[0][1] == 6, got
    # A model not listed in metrics_models never becomes a label.
    stack.mock.script = lambda req: json_answer(dict(OPENAI_JSON, model="unlisted-model"))
    usage_row(stack, post(stack, s, "v1/chat/completions", {"model": "x"}))
    wait_quiet(stack)
    assert not scrape(stack).series("apigw_model_requests_total", model="unlisted-model")


def test_usage_format_change_applies_without_restart(stack):
    s = setup(stack)
    stack.mock.script = lambda req: json_answer(OPENAI_JSON)
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-4o"})
    assert usage_row(stack, r)["usage_source"] is None
    patch_upstream(stack, s.up["id"], usage_format="openai")
    settle()
    r = post(stack, s, "v1/chat/completions", {"model": "gpt-4o"})
    assert usage_row(stack, r) == counts("gpt-4o-2024-08-06", 11, 7, 3, 18)


# ---------------------------------------------------------------- prices

def test_prices_cost_is_recorded_with_the_row(stack):
    s = setup(stack, usage_format="openai")
    base = "price-m%d" % s.up["id"]
    exact = ok(stack.main.admin.post(A + "/prices", json={
        "model": base + "-large", "prompt": 2.5, "completion": 10, "cached": 1.25}), 201)
    assert exact["currency"] == "USD" and exact["cached"] == 1.25, exact
    ok(stack.main.admin.post(A + "/prices", json={
        "model": base + "*", "prompt": 5, "completion": 15, "currency": "EUR"}), 201)
    settle()

    def answer(model):
        return lambda req: json_answer(dict(OPENAI_JSON, model=model))
    # 11 prompt tokens of which 3 cached, 7 completion.
    stack.mock.script = answer(base + "-large")
    r1 = post(stack, s, "v1/chat/completions", {"model": "x"})
    stack.mock.script = answer(base + "-mini")
    r2 = post(stack, s, "v1/chat/completions", {"model": "x"})
    stack.mock.script = answer("unpriced-%d" % s.up["id"])
    r3 = post(stack, s, "v1/chat/completions", {"model": "x"})
    rows = {}
    for r in (r1, r2, r3):
        rid = wait_log_row(stack, r)["request_id"]
        items = ok(stack.main.admin.get(A + "/logs?upstream_id=%d" % s.up["id"]))["items"]
        rows[rid] = [i for i in items if i["request_id"] == rid][0]
    large, mini, unpriced = (rows[wait_log_row(stack, r)["request_id"]] for r in (r1, r2, r3))
    # Exact name: 8 x 2.5 + 3 x 1.25 + 7 x 10 per million.
    assert large["currency"] == "USD" and abs(large["cost"] - 93.75e-6) < 1e-12, large
    # The prefix pattern; cached at the prompt price when none is set.
    assert mini["currency"] == "EUR" and abs(mini["cost"] - 160e-6) < 1e-12, mini
    assert unpriced["cost"] is None and unpriced["currency"] is None, unpriced
    # A new price applies from now on and never rewrites what was recorded.
    ok(stack.main.admin.patch(A + "/prices/%d" % exact["id"], json={"prompt": 100}))
    settle()
    stack.mock.script = answer(base + "-large")
    r4 = post(stack, s, "v1/chat/completions", {"model": "x"})
    wait_log_row(stack, r4)
    items = ok(stack.main.admin.get(A + "/logs?model=" + base + "-large"))["items"]
    costs = sorted(round(i["cost"] * 1e9) for i in items)
    assert costs == [93750, round((8 * 100 + 3 * 1.25 + 7 * 10) * 1e3)], costs
    wait_quiet(stack)
    st = ok(stack.main.admin.get(A + "/stats?upstream_id=%d" % s.up["id"]))
    by_model = {m["model"]: m for m in st["by_model"]}
    assert abs(by_model[base + "-mini"]["cost"]["EUR"] - 160e-6) < 1e-12, by_model
    assert by_model["unpriced-%d" % s.up["id"]]["cost"] == {}, by_model
    want_usd = (93750 + costs[1]) / 1e9
    assert abs(st["totals"]["cost"]["USD"] - want_usd) < 1e-12, st["totals"]
    tok = [t for t in st["by_token"] if t["token_id"] == s.token_obj["id"]][0]
    assert abs(tok["cost"]["USD"] - want_usd) < 1e-12 and abs(tok["cost"]["EUR"] - 160e-6) < 1e-12


def test_price_fields_are_checked(stack):
    p = A + "/prices"
    assert_error(stack.main.admin.post(p, json={"model": "a*b", "prompt": 1, "completion": 1}),
                 400, "invalid_field", "model")
    assert_error(stack.main.admin.post(p, json={"model": "m-usd", "prompt": 1, "completion": 1,
                                                "currency": "usd"}), 400, "invalid_field",
                 "currency")
    assert_error(stack.main.admin.post(p, json={"model": "m-neg", "prompt": -1, "completion": 1}),
                 400, "invalid_field", "prompt")
    assert_error(stack.main.admin.post(p, json={"model": "m-str", "prompt": "1", "completion": 1}),
                 400, "invalid_field", "prompt")
    assert_error(stack.main.admin.post(p, json={"model": "m-miss", "prompt": 1}), 400,
                 "invalid_field", "completion")
    ok(stack.main.admin.post(p, json={"model": "m-dup", "prompt": 1, "completion": 2}), 201)
    assert_error(stack.main.admin.post(p, json={"model": "m-dup", "prompt": 1, "completion": 2}),
                 409, "conflict", "m-dup")
