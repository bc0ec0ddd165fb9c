"""A scripted mock of an upstream API, for the integration tests.

Runs in the test process (MockUpstream) or on its own (python3
mock_upstream.py --port N).  Every request is recorded; what is answered is
decided by a script: a function of the request that returns a Reply, set by
each test.  Replies can stream chunks with pauses, stall, or drop the
connection, so that streaming, timeouts and transport errors can be tested.
"""

import base64
import http.server
import json
import re
import urllib.parse
import socketserver
import sys
import threading
import time


class Reply:
    def __init__(self, status=200, body=b"", headers=None, chunks=None, delay=0.0,
                 close=False, content_length=True, raw_head=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = dict(headers or {})
        self.chunks = chunks      # list of (delay_seconds, bytes): streamed with chunked TE
        self.delay = delay        # seconds to wait before answering at all
        self.close = close        # drop the connection without answering
        self.content_length = content_length
        # The status line and header lines exactly as given (bytes, each line
        # with its own line end, malformed ones too); the blank line and the
        # body (with a Content-Length) follow.
        self.raw_head = raw_head


def json_reply(obj, status=200, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return Reply(status, json.dumps(obj), h)


class Seen:
    """One request as the mock received it."""

    def __init__(self, method, path, headers, body, t):
        self.method = method
        self.path = path
        self.headers = headers  # list of (name, value) in arrival order
        self.body = body
        self.time = t

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_names(self):
        return [k.lower() for k, _ in self.headers]


# Heads that a web server in front would refuse, by name: the answers of
# GET /bad-header/NAME in the default script.
BAD_HEADS = {
    "bare-cr": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Bad: a\rb\r\n",
    "bad-name": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX Bad: 1\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Folded: a\r\n b\r\n",
}


def received_key(req):
    """The pool key the request carried: the ?key= query parameter, else
    the Authorization header's value after "Bearer "."""
    query = urllib.parse.parse_qs(req.path.partition("?")[2])
    if "key" in query:
        return query["key"][0]
    a = req.header("Authorization") or ""
    return a[len("Bearer "):] if a.startswith("Bearer ") else a


def json_escaped_slash(value):
    """value as JSON encoders that escape '/' write it (PHP's json_encode)."""
    return json.dumps(value)[1:-1].replace("/", "\\/")


def echo_key_reply(req, what):
    """The answers of GET .../echo-key/WHAT: the key the request carried,
    echoed back in the place WHAT names, or None for an unknown WHAT.
    header: a 200 with the key in X-Echo-Key and, base64, in X-Echo-B64;
    redirect: a 302 whose Location keeps the request's query; error: a 401
    whose JSON body names the key; error-json: the same with the key
    written with '/' escaped; error-big: a 401 that names the key in its
    first line, then 100,000 bytes (more than rule_body_limit); error-forms: a 400 with the key in every
    form (as is, JSON-escaped, percent-encoded, base64)."""
    key = received_key(req)
    query = req.path.partition("?")[2]
    if what == "header":
        b64 = base64.b64encode(key.encode()).decode()
        return json_reply({"ok": True}, headers={"X-Echo-Key": "got " + key, "X-Echo-B64": b64})
    if what == "redirect":
        return Reply(302, b"", {"Location": "http://127.0.0.1/next?" + query})
    if what == "error":
        return json_reply({"error": {"message": "Incorrect API key provided: " + key}}, 401)
    if what == "error-json":
        body = '{"error":{"message":"Incorrect API key provided: %s"}}' % json_escaped_slash(key)
        return Reply(401, body, {"Content-Type": "application/json"})
    if what == "error-big":
        return Reply(401, "bad key %s\n%s\nend" % (key, "x" * 100000), {"Content-Type": "text/plain"})
    if what == "error-forms":
        forms = [key, json_escaped_slash(key), urllib.parse.quote(key, safe=""),
                 re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(key, safe="")), base64.b64encode(key.encode()).decode()]
        return Reply(400, "\n".join(forms), {"Content-Type": "text/plain"})
    return None


def default_script(req):
    echo = req.path.split("?")[0].rsplit("/echo-key/", 1)
    if len(echo) == 2:
        reply = echo_key_reply(req, echo[1])
        if reply is not None:
            return reply
    name = req.path.split("?")[0].rsplit("/bad-header/", 1)
    if len(name) == 2 and name[1] in BAD_HEADS:
        return Reply(body=b'{"ok":true}', raw_head=BAD_HEADS[name[1]])
    return json_reply({"ok": True, "path": req.path, "method": req.method})


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        mock = self.server.mock
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        seen = Seen(self.command, self.path, list(self.headers.items()), body, time.time())
        with mock.lock:
            mock.requests.append(seen)
        reply = mock.script(seen)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.close:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if reply.raw_head is not None:
            self.wfile.write(reply.raw_head + b"Content-Length: %d\r\n\r\n" % len(reply.body)
                             + reply.body)
            self.wfile.flush()
            return
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for pause, data in reply.chunks:
                if pause:
                    time.sleep(pause)
                data = data.encode() if isinstance(data, str) else data
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                except OSError:
                    return
                with mock.lock:
                    mock.sent_chunks.append((time.time(), data))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        if reply.content_length:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        if not reply.content_length:
            self.close_connection = True

    def _read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A gateway worker that drops an idle kept-alive connection resets it;
        # that is normal for a client, so only real faults print a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class MockUpstream:
    def __init__(self, port=0):
        self.httpd = _Server(("127.0.0.1", port), _Handler)
        self.httpd.mock = self
        self.port = self.httpd.server_address[1]
        self.lock = threading.Lock()
        self.requests = []
        self.sent_chunks = []
        self.script = default_script
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        return self

    def reset(self, script=None):
        with self.lock:
            self.requests = []
            self.sent_chunks = []
        self.script = script or default_script

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
    m = MockUpstream(port).start()
    print(m.port, flush=True)
    m.thread.join()
