"""GET /api/openapi.json: the OpenAPI 3.1 document generated from the route
and field tables.  It validates (tests/openapi/validate.mjs, the npm
package @seriousme/openapi-schema-validator), every route of route.c is in
it, the field tables' types, enums, ranges and required flags come through,
and a body with several bad fields is answered with all of them."""

import json
import os
import re
import subprocess
import tempfile

import harness
from admin_helpers import A, assert_error, ok, session_client, uniq

ROOT = harness.st.ROOT
DOC_PATH = "/api/openapi.json"
ANY = ("get", "head", "post", "put", "patch", "delete", "options")


def fetch(stack):
    return ok(stack.main.admin.get(DOC_PATH))


def every_route():
    """(method, OpenAPI path) of every route in route.c."""
    text = open(os.path.join(ROOT, "fcgi-app", "route.c")).read()
    found = re.findall(r'\{"([A-Z*]+)",\s*(A\s*)?"([^"]*)",\s*ROLE_[A-Z]+,', text)
    assert len(found) > 50, found
    out = []
    for method, admin, pattern in found:
        path = (A if admin else "") + pattern
        if path.endswith("*"):
            path = path[:-1] + "{path}"
        for m in (ANY if method == "*" else (method.lower(),)):
            out.append((m, path))
    return out


def test_document_validates(stack):
    doc = fetch(stack)
    assert doc["openapi"] == "3.1.0"
    install = subprocess.run(["sh", os.path.join(ROOT, "tests", "openapi", "install.sh")],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
    try:
        r = subprocess.run(["node", os.path.join(ROOT, "tests", "openapi", "validate.mjs"),
                            f.name], capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)
    assert r.returncode == 0 and r.stdout.strip() == "valid", r.stdout + r.stderr


def test_every_path_template_has_its_parameter(stack):
    """OpenAPI requires a path parameter for each {name} of a path (the
    schema validator does not check it; code generators do)."""
    problems = []
    for path, item in fetch(stack)["paths"].items():
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            for name in re.findall(r"\{(\w+)\}", path):
                if name not in declared:
                    problems.append((method, path, name))
    assert not problems, problems


def test_every_route_appears(stack):
    paths = fetch(stack)["paths"]
    missing = [(m, p) for m, p in every_route() if m not in paths.get(p, {})]
    assert not missing, missing
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids)), "operation ids repeat"
    op = paths[A + "/tokens"]["get"]
    assert op["x-apigw-role"] == "admin" and op["security"] == [{"bearer": []}]
    assert paths[A + "/login"]["post"]["security"] == []


def test_fields_enum_range_required(stack):
    paths = fetch(stack)["paths"]
    create = paths[A + "/upstreams"]["post"]["requestBody"]["content"]["application/json"]
    s = create["schema"]
    assert s["required"] == ["name"]
    assert s["additionalProperties"] is False
    assert s["properties"]["strategy"]["enum"] == ["round_robin", "random", "weighted"]
    assert s["properties"]["strategy"]["default"] == "round_robin"
    assert (s["properties"]["timeout_ms"]["minimum"],
            s["properties"]["timeout_ms"]["maximum"]) == (1, 3600000)
    assert s["properties"]["name"]["maxLength"] == 64
    assert "id" not in s["properties"]  # read-only: never in a body
    patch = paths[A + "/upstreams/{id}"]["patch"]["requestBody"]["content"]
    assert "required" not in patch["application/json"]["schema"]
    # Answers: a list of rows, read-only fields marked; write-only never shown.
    users = paths[A + "/users"]["get"]["responses"]["200"]["content"]["application/json"]
    row = users["schema"]["properties"]["items"]["items"]
    assert row["properties"]["id"]["readOnly"] is True
    assert "password" not in row["properties"]
    assert row["properties"]["role"]["enum"] == ["viewer", "operator", "admin"]
    params = {p["name"]: p for p in paths[A + "/keys"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 1000
    assert params["upstream_id"]["schema"]["minimum"] == 1
    err = fetch(stack)["components"]["schemas"]["Error"]
    assert "fields" in err["properties"]["error"]["properties"]


def test_viewer_reads_it_anonymous_does_not(stack):
    r = stack.main.client.get(DOC_PATH)
    assert_error(r, 401, "unauthorized")
    viewer = session_client(stack, "viewer")
    assert ok(viewer.get(DOC_PATH))["info"]["title"] == "API Gateway Pro"


def test_every_bad_field_at_once(stack):
    r = stack.main.admin.post(A + "/upstreams", json={
        "base_url": stack.mock.url, "timeout_ms": 0, "strategy": "fastest", "bogus": 1})
    msg = assert_error(r, 400, "invalid_field")
    faults = r.json()["error"]["fields"]
    named = [f["field"] for f in faults]
    assert sorted(named) == ["bogus", "name", "strategy", "timeout_ms"], faults
    # The message is the first fault, as before the list existed.
    first = faults[0]
    assert msg == "%s: %s" % (first["field"], first["message"]), (msg, first)
    # A valid body still passes.
    ok(stack.main.admin.post(A + "/upstreams", json={"name": uniq("oa"),
                                                     "base_url": stack.mock.url}), 201)
