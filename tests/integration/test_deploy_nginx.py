"""conf-examples/nginx/apigw.conf, the production nginx site, run as written
(its paths, ports, certificate and host name substituted) in front of the
application: plain HTTP redirects to HTTPS, and over HTTPS the smoke suite
of the proxy and the admin API, SSE streaming, and nginx's own refusals in
the contract's JSON."""

import http.client
import os

import deploy_checks as dc
import deploy_helpers as dh
from admin_helpers import assert_error
from deploy_helpers import NginxSite, Site


def _make(stack, prefix):
    g = stack.gateway(os.path.basename(prefix) + "-app", start=False)
    g.app.start()
    cert, key = dh.self_signed_cert(os.path.join(prefix, "tls"))
    ng = NginxSite(os.path.join(prefix, "nginx"), g.socket, cert, key)
    ng.start()

    def stop():
        return ng.stop(), g.stop()

    site = Site("nginx (conf-examples/nginx/apigw.conf)", ng.https_port, https=True, server=ng)
    site.nginx = ng
    return site, stop


def site_of(stack):
    return dh.shared_site(stack, "nginx", "nginx-site", _make)


def test_plain_http_redirects_to_https(stack):
    site = site_of(stack)
    for path in ("/", "/proxy/some-upstream/v1/models?limit=2", "/api/admin/upstreams"):
        conn = http.client.HTTPConnection("127.0.0.1", site.nginx.http_port, timeout=10)
        try:
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", "localhost")
            conn.endheaders()
            r = conn.getresponse()
            r.read()
        finally:
            conn.close()
        assert r.status == 301, (path, r.status)
        assert r.getheader("Location") == "https://localhost" + path, r.getheaders()


def test_https_healthz_admin_from_localhost_and_metrics(stack):
    site = site_of(stack)
    dc.check_healthz(stack, site)
    dc.check_admin_authorization(stack, site)
    dc.check_metrics(stack, site)


def test_https_proxied_get_and_post(stack):
    dc.check_proxy_get_and_post(stack, site_of(stack))


def test_https_chunked_request_body(stack):
    dc.check_chunked_post(stack, site_of(stack))


def test_https_sse_streams(stack):
    dc.check_sse_streams(stack, site_of(stack))


def test_https_invalid_paths_and_nginx_own_400(stack):
    site = site_of(stack)
    dc.check_invalid_path(stack, site)
    fx = dc.fixture(stack, site)
    stack.mock.reset()
    # nginx refuses %00 itself: its 400 is the contract's JSON.
    for rest in ("v1/a%00b", "%00/x"):
        r = site.client.get(fx.path(rest), token=fx.token)
        assert_error(r, 400, "invalid_path")
        assert r.header("X-Gateway-Request-Id"), r.headers
    # `..` that nginx would resolve to a static file still reaches the
    # application, which refuses it.
    r = site.client.get(fx.path("../../index.html"), token=fx.token)
    assert_error(r, 400, "invalid_path")
    assert stack.mock.requests == []


def test_https_oversized_body_is_json_413(stack):
    site = site_of(stack)
    dc.check_oversized_body(stack, site)


def test_https_concurrent_streams(stack):
    dc.check_concurrent_streams(stack, site_of(stack), n=16)


def test_site_and_application_stop_cleanly(stack):
    """nginx stops gracefully (SIGQUIT) and the application drains and
    exits 0 (SIGTERM), as `systemctl stop` would do."""
    site_of(stack)
    stopped = dh.stop_sites(stack)
    assert stopped == {"nginx-site": (0, 0)}, stopped
