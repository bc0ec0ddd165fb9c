"""The FastCGI side, spoken directly to the application's socket the way
web servers other than nginx speak it: Apache's mod_proxy_fcgi sends the
record that ends the body in a write of its own, and passes chunked uploads
without a CONTENT_LENGTH."""

import socket
import struct
import time

from mock_upstream import Reply
from proxy_helpers import setup, wait_log_rows

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
REQUEST_ID = 1


def _record(rtype, content):
    return struct.pack(">BBHHBx", 1, rtype, REQUEST_ID, len(content), 0) + content


def _length(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def _params(env):
    body = b"".join(_length(len(k)) + _length(len(v)) + k + v
                    for k, v in ((k.encode(), v.encode()) for k, v in env.items()))
    return _record(FCGI_PARAMS, body) + _record(FCGI_PARAMS, b"")


class Answer:
    def __init__(self, raw):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        self.headers = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.status = int(self.headers.get("status", "200").split()[0])


def fcgi_request(path, env, body_parts, pause_s, timeout=10):
    """Sends the parameters, then each part of the body and the empty record
    that ends it, each in a write of its own `pause_s` apart."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(_record(FCGI_BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) + _params(env))
    for part in list(body_parts) + [b""]:
        time.sleep(pause_s)
        s.sendall(_record(FCGI_STDIN, part))
    out, data = b"", b""
    while True:
        while len(data) < 8:
            more = s.recv(65536)
            assert more, "the application closed the connection before FCGI_END_REQUEST"
            data += more
        _, rtype, _, clen, plen = struct.unpack(">BBHHBx", data[:8])
        while len(data) < 8 + clen + plen:
            more = s.recv(65536)
            assert more, "the application closed the connection mid-record"
            data += more
        content, data = data[8:8 + clen], data[8 + clen + plen:]
        if rtype == FCGI_STDOUT:
            out += content
        elif rtype == FCGI_END_REQUEST:
            s.close()
            return Answer(out)


def _env(s, method, rest, extra):
    env = {"REQUEST_METHOD": method, "REQUEST_URI": s.path(rest), "SCRIPT_NAME": "",
           "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
           "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + s.token}
    env.update(extra)
    return env


def _body_script(req):
    # The answer takes a while, so that a late record arrives during it.
    return Reply(200, b"got %d bytes" % len(req.body or b""), {"Content-Type": "text/plain"},
                 delay=0.2)


def test_the_end_of_the_body_sent_late_is_not_taken_for_a_client_leaving(stack):
    s = setup(stack, nkeys=1)
    stack.mock.script = _body_script
    ids = []
    for pause in (0.0, 0.05, 0.3):
        for method, parts in (("GET", []), ("POST", [b'{"a":1}'])):
            extra = {"CONTENT_LENGTH": str(sum(len(p) for p in parts))} if parts else {}
            a = fcgi_request(stack.main.socket, _env(s, method, "v1/x", extra), parts, pause)
            assert a.status == 200, (pause, method, a.status, a.body)
            assert a.body == b"got %d bytes" % sum(len(p) for p in parts), a.body
            ids.append(a.headers["x-gateway-request-id"])
    rows = wait_log_rows(stack, ids)
    assert sorted(r["status"] for r in rows.values()) == [200] * len(ids), rows


def test_a_body_without_content_length_is_read_to_its_end(stack):
    s = setup(stack, nkeys=1)
    stack.mock.script = _body_script
    parts = [b"x" * 10000, b"y" * 30000, b"z" * 5]
    a = fcgi_request(stack.main.socket,
                     _env(s, "POST", "v1/upload", {"HTTP_TRANSFER_ENCODING": "chunked"}),
                     parts, 0.05)
    assert a.status == 200 and a.body == b"got 40005 bytes", (a.status, a.body)
    got = stack.mock.requests[-1].body
    assert got == b"".join(parts), len(got)


def test_a_body_without_content_length_over_the_limit_is_refused(stack):
    s = setup(stack, nkeys=1)
    g = stack.gateway("fcgi-small-body", {"max_body_bytes": 1000})
    try:
        before = len(stack.mock.requests)
        a = fcgi_request(g.socket, _env(s, "POST", "v1/upload", {}), [b"a" * 600, b"b" * 600],
                         0.02)
        assert a.status == 413, (a.status, a.body)
        assert b'"body_too_large"' in a.body, a.body
        assert len(stack.mock.requests) == before
    finally:
        g.stop()
