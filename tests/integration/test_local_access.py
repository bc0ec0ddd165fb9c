"""Local access to the application: the FastCGI socket is 0660 in the web
server's group, parameters that no HTTP parser would pass (CR, LF or NUL in
the method, a header name or value; a header name outside the token set)
are refused with 400 `invalid_request` before anything is routed or
proxied, and a second apigw-fcgi refuses a socket path that a live process
holds.  `make run`'s database user is covered by test_make_run.py."""

import grp
import os
import socket
import stat

import harness
from harness import wait_until
from proxy_helpers import setup
from test_fcgi_protocol import _env, fcgi_request

WEB_GROUP = "www-data"

# (parameters to add, the start of the expected message); every bad value
# carries "evil", which must never appear in the answer.
REFUSED = [
    ({"HTTP_X_CUSTOM": "a\r\nHost: evil.example"},
     "header x-custom: the value contains a carriage return (CR)"),
    ({"HTTP_X_CUSTOM": "a\nX-Evil: 1"}, "header x-custom: the value contains a line feed (LF)"),
    ({"HTTP_HOST": "evil\r\n\r\nGET /second HTTP/1.1"}, "header host: the value contains a"),
    ({"CONTENT_TYPE": "text/plain\r\nX-Evil: 1"}, "header content-type: the value contains"),
    ({"REQUEST_METHOD": "GET /evil HTTP/1.1\r\nX"}, "the method contains the byte 0x20"),
    ({"REQUEST_METHOD": "GET\r\nX-Evil: 1"}, "the method contains a carriage return (CR)"),
    ({"HTTP_X_EVIL\r\nHOST": "v"}, "a request header name contains a carriage return (CR)"),
    ({"HTTP_X:EVIL": "v"}, "a request header name contains the byte 0x3a"),
    ({"HTTP_X EVIL": "v"}, "a request header name contains the byte 0x20"),
    # libfcgi ends a name at its first NUL: the parameter then has no '='.
    ({"HTTP_X_EVIL\x00HOST": "v"}, "request parameter"),
]


def _refused(a, message):
    assert a.status == 400, (a.status, a.body)
    err = harness.Resp(a.status, [], a.body).json()["error"]
    assert err["code"] == "invalid_request", a.body
    assert err["message"].startswith(message), (err["message"], message)
    assert b"evil" not in a.body.lower(), a.body
    assert a.headers.get("x-gateway-request-id"), a.headers


def test_the_socket_is_0660_in_the_web_servers_group(stack):
    st = os.stat(stack.main.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    try:
        gid = grp.getgrnam(WEB_GROUP).gr_gid
    except KeyError:
        gid = os.getegid()
    assert st.st_gid == gid, (st.st_gid, gid)
    # nginx (root in the tests) still connects.
    assert stack.main.client.get("/healthz").status == 200


def test_cr_lf_nul_in_parameters_are_refused_before_the_upstream(stack):
    s = setup(stack, nkeys=1)
    before = len(stack.mock.requests)
    for extra, message in REFUSED:
        for method, parts in (("GET", []), ("POST", [b'{"a":1}'])):
            env = _env(s, method, "v1/x", dict(extra))
            if parts:
                env["CONTENT_LENGTH"] = str(len(parts[0]))
            _refused(fcgi_request(stack.main.socket, env, parts, 0.0), message)
    # Admin and health routes too: the check comes before any routing.
    env = _env(s, "GET", "", {"HTTP_X_CUSTOM": "a\r\nevil: 1"})
    env["REQUEST_URI"] = "/healthz"
    _refused(fcgi_request(stack.main.socket, env, [], 0.0), "header x-custom")
    assert len(stack.mock.requests) == before, [r.headers for r in stack.mock.requests[before:]]
    # The same connection keeps working for a clean request afterwards.
    a = fcgi_request(stack.main.socket, _env(s, "GET", "v1/ok", {"HTTP_X_CUSTOM": "fine"}), [],
                     0.0)
    assert a.status == 200, (a.status, a.body)
    seen = stack.mock.requests[-1]
    assert seen.header("X-Custom") == "fine"
    # A NUL in a value ends it inside libfcgi: what follows never arrives.
    a = fcgi_request(stack.main.socket,
                     _env(s, "GET", "v1/nul", {"HTTP_X_CUSTOM": "a\x00\r\nX-Evil: 1"}), [], 0.0)
    assert a.status == 200, (a.status, a.body)
    seen = stack.mock.requests[-1]
    assert seen.header("X-Custom") == "a" and seen.header("X-Evil") is None, seen.headers


def _run_app(gateway, timeout=30):
    return harness.run_binary("apigw-fcgi", ["-s", gateway.socket],
                              env={"APIGW_CONFIG": gateway.config_path}, timeout=timeout)


def test_a_second_instance_on_a_live_socket_is_refused(stack):
    main = stack.main
    inode = os.stat(main.socket).st_ino
    out = _run_app(main)
    err = out.stderr.decode()
    assert out.returncode != 0, (out.returncode, err)
    assert "in use by a running process" in err and main.socket in err, err
    assert len(err.strip().splitlines()) == 1, err
    # The first instance keeps its socket and keeps serving.
    assert os.stat(main.socket).st_ino == inode
    assert main.app.process.alive()
    assert main.client.get("/healthz").status == 200


def test_a_stale_socket_is_replaced_and_a_missing_group_is_said(stack):
    g = stack.gateway("local-stale", {"workers": 2, "fcgi_socket_group": "apigw-no-such-group"},
                      start=False)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(g.socket)
    stale.close()  # the file stays; nobody listens on it
    with open(g.socket + ".not-a-socket", "w") as f:
        f.write("x")
    try:
        proc = harness.st.Process("apigw-fcgi", [harness.st.binary("apigw-fcgi"), "-s", g.socket],
                                  g.app.log_path, env=dict(g.app.env)).start()
        g.app.process = proc
        wait_until(lambda: harness.st.socket_accepts(g.socket) or not proc.alive(), timeout=30,
                   what="the application on the stale socket's path")
        assert proc.alive(), proc.log_tail()
        st = os.stat(g.socket)
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == os.getegid(), st
        log = g.log()
        assert "there is no group named apigw-no-such-group" in log, log
        # Anything but a socket at the path is left alone.
        out = harness.run_binary("apigw-fcgi", ["-s", g.socket + ".not-a-socket"],
                                 env={"APIGW_CONFIG": g.config_path})
        assert out.returncode != 0
        assert b"exists and is not a socket" in out.stderr, out.stderr
        with open(g.socket + ".not-a-socket") as f:
            assert f.read() == "x"
    finally:
        g.app.stop()
