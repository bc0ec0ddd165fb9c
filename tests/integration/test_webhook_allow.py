"""webhook_allow: with the list set, a rule whose webhook is outside it is
refused when saved, a configured webhook_url outside it stops the
configuration from loading, and a webhook that answers with a redirect is
not followed (the alert's delivery_error says so)."""

import os

from admin_helpers import A, assert_error, uniq
from harness import run_binary, wait_until
from mock_upstream import Reply
from proxy_helpers import setup
from rules_helpers import (alerts, create_rule, extra_gateway, hook_requests, rule_body, settle,
                           status_is)

GOOD_KEY = "encryption_key = " + "ab" * 32 + "\n"


def _allowed_gateway(stack):
    return extra_gateway(stack, "webhook-allow",
                         overrides={"webhook_allow": "hooks.example.com, %s/allowed/"
                                    % stack.mock.url})


def _failed_alert(stack, g, s, rule, script):
    """Sends one request through g that raises rule's alert (the mock
    answers 418) and returns the alert rows once the delivery failed."""
    stack.mock.script = script
    settle()
    r = g.client.get(s.path("v1/brew"), token=s.token)
    assert r.status == 418, r
    wait_until(lambda: alerts(stack, "rule_id = %d AND delivered IS NOT NULL" % rule["id"]),
               timeout=20, what="the alert's delivery outcome")
    a = alerts(stack, "rule_id = %d" % rule["id"])
    assert len(a) == 1 and a[0]["delivered"] == 0, a
    return a


def test_rule_webhook_outside_the_list_is_refused_at_save(stack):
    g = _allowed_gateway(stack)
    for hook in (stack.mock.url + "/elsewhere", "https://evil.example.net/allowed/",
                 stack.mock.url + "/allowedx", "https://hooks.example.com.evil.net/x"):
        r = g.admin.post(A + "/rules", json=rule_body(
            condition=status_is(418), actions=[{"type": "log", "message": "m"},
                                               {"type": "alert", "webhook": hook}]))
        assert_error(r, 400, "invalid_field", "actions[1].webhook")
        assert "webhook_allow" in r.json()["error"]["message"], r.json()
    ok_rules = [create_rule(stack, client=g.admin, name=uniq("hook-in"),
                            condition=status_is(418),
                            actions=[{"type": "alert", "webhook": hook}])
                for hook in (stack.mock.url + "/allowed/x", "https://HOOKS.example.com/any")]
    # An update is checked the same way.
    r = g.admin.patch(A + "/rules/%d" % ok_rules[0]["id"],
                      json={"actions": [{"type": "alert", "webhook": stack.mock.url + "/no"}]})
    assert_error(r, 400, "invalid_field", "actions[0].webhook")
    for rule in ok_rules:
        assert g.admin.delete(A + "/rules/%d" % rule["id"]).status == 204


def test_redirect_from_an_allowed_webhook_is_not_followed(stack):
    g = _allowed_gateway(stack)
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    hook, target = "/allowed/redirect-%d" % s.up["id"], "/allowed/target-%d" % s.up["id"]
    rule = create_rule(stack, client=g.admin, name=uniq("hook-redirect"),
                       upstream_id=s.up["id"], condition=status_is(418),
                       actions=[{"type": "alert", "message": "moved",
                                 "webhook": stack.mock.url + hook}])

    def script(req):
        path = req.path.split("?")[0]
        if path == hook:
            return Reply(302, "", headers={"Location": stack.mock.url + target})
        if path == target:
            return Reply(200, "followed")
        return Reply(418, "tea")

    a = _failed_alert(stack, g, s, rule, script)
    err = a[0]["delivery_error"] or ""
    assert "302" in err and "redirect" in err and "not followed" in err, a
    assert hook_requests(stack, hook), "the webhook was never posted to"
    assert hook_requests(stack, target) == [], "the redirect was followed"
    assert key["value"] not in err
    assert g.admin.delete(A + "/rules/%d" % rule["id"]).status == 204


def _check_config(stack, text):
    path = os.path.join(stack.dir, "webhook-allow-check.conf")
    with open(path, "w") as f:
        f.write(text)
    return run_binary("apigw-fcgi", ["-c", path, "--check-config"]), path


def test_configured_webhook_url_outside_the_list_is_refused_at_load(stack):
    out, path = _check_config(stack, "webhook_allow = hooks.example.com\n"
                              "webhook_url = https://elsewhere.example.net/hook\n" + GOOD_KEY)
    assert out.returncode == 2, out
    err = out.stderr.decode().strip()
    assert err.startswith("%s:2: webhook_url: is outside webhook_allow" % path), err
    out, path = _check_config(stack, "webhook_allow = hooks.example.com,,x.org\n" + GOOD_KEY)
    assert out.returncode == 2, out
    err = out.stderr.decode().strip()
    assert err.startswith("%s:1: webhook_allow: entry 2 is empty" % path), err
    out, _ = _check_config(stack, "webhook_allow = hooks.example.com\n"
                           "webhook_url = https://hooks.example.com/alerts\n" + GOOD_KEY)
    assert out.returncode == 0, out


def test_rule_saved_elsewhere_outside_the_list_is_not_sent(stack):
    # A rule saved through a gateway without the list (or before it was
    # set) is checked again when its alert is delivered.
    g = _allowed_gateway(stack)
    s = setup(stack, nkeys=1, max_retries=0)
    hook = "/outside-%d" % s.up["id"]
    rule = create_rule(stack, name=uniq("hook-outside"), upstream_id=s.up["id"],
                       condition=status_is(418),
                       actions=[{"type": "alert", "webhook": stack.mock.url + hook}])
    a = _failed_alert(stack, g, s, rule,
                      lambda req: Reply(200, "hook") if req.path.startswith(hook)
                      else Reply(418, "tea"))
    assert "outside webhook_allow" in (a[0]["delivery_error"] or ""), a
    assert hook_requests(stack, hook) == [], "an alert went outside webhook_allow"
    assert stack.main.admin.delete(A + "/rules/%d" % rule["id"]).status == 204
