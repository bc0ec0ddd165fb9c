"""The Apache examples of conf-examples/ run as written behind a real
Apache (Debian's apache2 in its own ServerRoot and port): mod_proxy_fcgi in
front of the application on its unix socket (apache/apigw-proxy-fcgi.conf),
mod_fcgid starting the application itself (apache/apigw-fcgid.conf), and
plain CGI through the shared-hosting .htaccess (shared-hosting/htaccess).
Through each: the smoke suite of the proxy and the admin API, with the
Authorization header, SSE streaming, chunked request bodies and the JSON
413; concurrent streams (for mod_proxy_fcgi more than the application has
threads); in CGI mode also an exact daily quota under concurrency and a
rule banning a key."""

import os
import shutil

import deploy_checks as dc
import deploy_helpers as dh
from deploy_helpers import Apache, Site

APACHE_DIR = os.path.join(dh.EXAMPLES, "apache")
HTACCESS = os.path.join(dh.EXAMPLES, "shared-hosting", "htaccess")
APP_WORKERS = 8


def _site_dir(prefix, example):
    """The example and apigw-common.inc copied side by side, as the
    examples' own instructions put them in sites-available."""
    site_dir = os.path.join(prefix, "sites-available")
    os.makedirs(site_dir, exist_ok=True)
    for f in (example, "apigw-common.inc"):
        shutil.copy(os.path.join(APACHE_DIR, f), site_dir)
    return site_dir


def _apache_for(stack, prefix, example, defines):
    site_dir = _site_dir(prefix, example)
    web = dh.copy_web(os.path.join(prefix, "web"))
    ap = Apache(prefix, dh.a2enmod_modules(os.path.join(APACHE_DIR, example)),
                include=os.path.join(site_dir, example))
    ap.defines.update({"APIGW_WEB": web, "APIGW_PORT": ap.port, "APIGW_SITE_DIR": site_dir})
    ap.defines.update(defines)
    return ap


# ---------------------------------------------------------------- the three sites

def _make_proxy_fcgi(stack, prefix):
    # Fewer application threads than Apache has: as in production
    # (workers 64, Apache's MaxRequestWorkers 150).
    g = stack.gateway(os.path.basename(prefix) + "-app", overrides={"workers": APP_WORKERS},
                      start=False)
    dh.open_dirs(g.dir)
    g.app.start()
    ap = _apache_for(stack, prefix, "apigw-proxy-fcgi.conf", {"APIGW_SOCKET": g.socket})
    ap.start()

    def stop():
        return ap.stop(), g.stop()

    return Site("Apache + mod_proxy_fcgi", ap.port, server=ap), stop


def _make_fcgid(stack, prefix):
    lib = os.path.join(prefix, "lib")
    os.makedirs(lib)
    dh.open_dirs(lib)
    fcgi = dh.install_binary(os.path.join(lib, "apigw.fcgi"))
    cfg = dh.app_config(stack, os.path.join(prefix, "etc"))
    ap = _apache_for(stack, prefix, "apigw-fcgid.conf",
                     {"APIGW_FCGI": fcgi, "APIGW_CONFIG": cfg})
    ap.start()
    return Site("Apache + mod_fcgid", ap.port, server=ap), ap.stop


def _make_cgi(stack, prefix):
    docroot = os.path.join(prefix, "public_html")
    dh.copy_web(docroot)
    dh.install_binary(os.path.join(docroot, "apigw.cgi"))
    cfg = dh.app_config(stack, os.path.join(prefix, "apigw"))
    with open(HTACCESS) as f:
        text = f.read()
    old = "SetEnv APIGW_CONFIG /home/youraccount/apigw/apigw.conf"
    assert old in text, "the htaccess example no longer has %r" % old
    with open(os.path.join(docroot, ".htaccess"), "w") as f:
        f.write(text.replace(old, "SetEnv APIGW_CONFIG " + cfg))
    os.chmod(os.path.join(docroot, ".htaccess"), 0o644)
    # The host's part: the account's folder served, its .htaccess allowed
    # what the example says it needs.
    extra = "\n".join([
        'DocumentRoot "%s"' % docroot,
        'DirectoryIndex index.html',
        '<Directory "%s">' % docroot,
        "    AllowOverride %s" % _htaccess_overrides(),
        "    Require all granted",
        "</Directory>",
    ])
    ap = Apache(prefix, ["rewrite", "cgid", "headers"], extra=extra)
    ap.start()
    return Site("Apache CGI (.htaccess)", ap.port, server=ap), ap.stop


def _htaccess_overrides():
    """The AllowOverride classes the htaccess example says it needs."""
    with open(HTACCESS) as f:
        for line in f:
            if "AllowOverride" in line:
                words = line.split("AllowOverride", 1)[1].replace("(", " ").split()
                return " ".join(w for w in words if w[:1].isupper() and w.isalpha())
    raise AssertionError("the htaccess example does not say which AllowOverride it needs")


def proxy_fcgi(stack):
    return dh.shared_site(stack, "apache", "proxy_fcgi", _make_proxy_fcgi)


def fcgid(stack):
    return dh.shared_site(stack, "apache", "fcgid", _make_fcgid)


def cgi(stack):
    return dh.shared_site(stack, "apache", "cgi", _make_cgi)


# ---------------------------------------------------------------- mod_proxy_fcgi

def test_proxy_fcgi_healthz_metrics_and_admin_authorization(stack):
    site = proxy_fcgi(stack)
    dc.check_healthz(stack, site)
    dc.check_metrics(stack, site)
    dc.check_admin_authorization(stack, site)


def test_proxy_fcgi_proxied_get_and_post(stack):
    dc.check_proxy_get_and_post(stack, proxy_fcgi(stack))


def test_proxy_fcgi_chunked_request_body(stack):
    dc.check_chunked_post(stack, proxy_fcgi(stack))


def test_proxy_fcgi_sse_streams(stack):
    dc.check_sse_streams(stack, proxy_fcgi(stack))


def test_proxy_fcgi_invalid_path_and_oversized_body(stack):
    site = proxy_fcgi(stack)
    dc.check_invalid_path(stack, site)
    dc.check_oversized_body(stack, site)


def test_proxy_fcgi_repeated_requests_all_succeed(stack):
    dc.check_repeated_requests(stack, proxy_fcgi(stack))


def test_proxy_fcgi_more_streams_than_application_threads(stack):
    dc.check_concurrent_streams(stack, proxy_fcgi(stack), n=2 * APP_WORKERS)


# ---------------------------------------------------------------- mod_fcgid

def test_fcgid_healthz_metrics_and_admin_authorization(stack):
    site = fcgid(stack)
    dc.check_healthz(stack, site)
    dc.check_metrics(stack, site)
    dc.check_admin_authorization(stack, site)


def test_fcgid_proxied_get_and_post(stack):
    dc.check_proxy_get_and_post(stack, fcgid(stack))


def test_fcgid_chunked_request_body(stack):
    dc.check_chunked_post(stack, fcgid(stack))


def test_fcgid_sse_streams(stack):
    dc.check_sse_streams(stack, fcgid(stack))


def test_fcgid_invalid_path_and_oversized_body(stack):
    site = fcgid(stack)
    dc.check_invalid_path(stack, site)
    dc.check_oversized_body(stack, site)


def test_fcgid_concurrent_streams(stack):
    dc.check_concurrent_streams(stack, fcgid(stack), n=12)


# ---------------------------------------------------------------- CGI (.htaccess)

def test_cgi_healthz_metrics_and_admin_authorization(stack):
    site = cgi(stack)
    dc.check_healthz(stack, site)
    dc.check_metrics(stack, site)
    dc.check_admin_authorization(stack, site)


def test_cgi_proxied_get_and_post(stack):
    dc.check_proxy_get_and_post(stack, cgi(stack))


def test_cgi_chunked_request_body(stack):
    dc.check_chunked_post(stack, cgi(stack))


def test_cgi_sse_streams(stack):
    dc.check_sse_streams(stack, cgi(stack))


def test_cgi_invalid_path_and_oversized_body(stack):
    site = cgi(stack)
    dc.check_invalid_path(stack, site)
    # The .htaccess sets no limit of its own: the application refuses the
    # body (a body only declared would wait for the client).
    dc.check_oversized_body(stack, site, declared_only=False)


def test_cgi_daily_quota_exact_under_20_concurrent_requests(stack):
    dc.check_quota_exact(stack, cgi(stack))


def test_cgi_rule_bans_key_and_retries(stack):
    dc.check_rule_bans_and_retries(stack, cgi(stack))
