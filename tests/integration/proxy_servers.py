"""Small egress proxies on the loopback for the tests of issue 19's egress
proxies: an HTTP proxy that takes CONNECT (and refuses anything else) and
a SOCKS5 proxy (RFC 1928, with RFC 1929 user/password when asked), each on
threads, counting the connections they carry so that a test can assert
that traffic went through them.  closed_port() gives a port nothing
listens on, for a proxy that refuses."""

import base64
import select
import socket
import struct
import threading


def closed_port():
    """A loopback port with no listener (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _relay(a, b, seen=None):
    """Copies bytes both ways until either side closes; seen(line) gets each
    whole line the client (a) sends (the tunnelled request is plain HTTP in
    the tests, so the proxy can tell which key went through it)."""
    socks = [a, b]
    pending = b""
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                if s is a and seen is not None:
                    pending += data
                    *lines, pending = pending.split(b"\r\n")
                    pending = pending[-8192:]
                    for line in lines:
                        seen(line)
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass


def _recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise OSError("closed")
        out += chunk
    return out


class _Server:
    """A threaded listener; handle(conn) is the protocol."""

    def __init__(self, user=None, password=None):
        self.user, self.password = user, password
        self.lock = threading.Lock()
        self.connections = 0      # connections carried to a target
        self.refused = 0          # handshakes refused (bad credentials)
        self.unreachable = 0      # CONNECTs answered 502: the target refused
        self.targets = []         # "host:port" of each carried connection
        self.requests = 0         # tunnelled HTTP requests (by their request line)
        self.keys = []            # the Authorization header of each, in order
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.handle(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _carry(self, conn, host, port):
        up = socket.create_connection((host, port), timeout=5)
        with self.lock:
            self.connections += 1
            self.targets.append("%s:%d" % (host, port))
        return up

    def _seen(self, line):
        with self.lock:
            if line.endswith(b" HTTP/1.1") and b" /" in line:
                self.requests += 1
            elif line.lower().startswith(b"authorization:"):
                self.keys.append(line.split(b":", 1)[1].strip().decode("latin-1"))

    def close(self):
        self.closing = True
        self.sock.close()


class HttpConnectProxy(_Server):
    scheme = "http"

    def url(self, with_credentials=True):
        cred = ""
        if self.user is not None and with_credentials:
            cred = "%s:%s@" % (self.user, self.password)
        return "http://%s127.0.0.1:%d" % (cred, self.port)

    def handle(self, conn):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk or len(head) > 65536:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if method != "CONNECT":
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if self.user is not None:
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (self.user, self.password)).encode()).decode()
            if headers.get("proxy-authorization") != want:
                with self.lock:
                    self.refused += 1
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n\r\n")
                return
        host, _, port = target.rpartition(":")
        try:
            up = self._carry(conn, host.strip("[]"), int(port))
        except OSError:
            # What squid and tinyproxy say when the target refuses.
            with self.lock:
                self.unreachable += 1
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _relay(conn, up, self._seen)


class Socks5Proxy(_Server):
    scheme = "socks5"

    def url(self, with_credentials=True, scheme="socks5"):
        cred = ""
        if self.user is not None and with_credentials:
            cred = "%s:%s@" % (self.user, self.password)
        return "%s://%s127.0.0.1:%d" % (scheme, cred, self.port)

    def handle(self, conn):
        ver, n = _recv_exact(conn, 2)
        methods = _recv_exact(conn, n)
        if ver != 5:
            return
        want = 2 if self.user is not None else 0
        if want not in methods:
            conn.sendall(b"\x05\xff")
            return
        conn.sendall(bytes([5, want]))
        if want == 2:
            _, ulen = _recv_exact(conn, 2)
            user = _recv_exact(conn, ulen).decode()
            plen = _recv_exact(conn, 1)[0]
            password = _recv_exact(conn, plen).decode()
            if (user, password) != (self.user, self.password):
                with self.lock:
                    self.refused += 1
                conn.sendall(b"\x01\x01")
                return
            conn.sendall(b"\x01\x00")
        ver, cmd, _, atyp = _recv_exact(conn, 4)
        if atyp == 1:
            host = socket.inet_ntoa(_recv_exact(conn, 4))
        elif atyp == 3:
            host = _recv_exact(conn, _recv_exact(conn, 1)[0]).decode()
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, _recv_exact(conn, 16))
        else:
            return
        port = struct.unpack("!H", _recv_exact(conn, 2))[0]
        if cmd != 1:
            conn.sendall(b"\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00")
            return
        try:
            up = self._carry(conn, host, port)
        except OSError:
            conn.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
            return
        conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
        _relay(conn, up, self._seen)
