"""test_webui_browser - the reference web UI in a real browser: headless
Chromium (Debian's chromium, driven over the DevTools protocol by cdp.py)
against BusyBox httpd serving the real `tinymta cgi` on a free loopback
port, with a running daemon and capture SMTP servers. Logs in through the
login form, deletes a deferred message with its Delete button, changes
the relay host and port and presses Save (main.cf, the daemon's reload
and the next message going to the new relay), presses "Send test mail"
with unsaved values (ok; the RCPT refused: failed at rcpt; STARTTLS and
AUTH with an unsaved user and password), and keeps screenshots in
build/test-logs/webui-*.png. Prints two figures: Save pressed to the
reloaded page and to the first message through the new relay, and the
page weight (HTML and CSS bytes the browser loaded). Without chromium
the suite fails: CI installs it (tools/testdeps.sh)."""
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import BIN, ROOT as SRC, check, done  # noqa: E402
from test_daemon import Daemon, wait_for  # noqa: E402
from test_cgi import setup, start_httpd, stop_httpd  # noqa: E402
from capture import CaptureServer  # noqa: E402

SHOTS = os.path.join(SRC, "build", "test-logs")
TAG = "asan" if "asan" in BIN else "static"


def shot(b, name):
    path = os.path.join(SHOTS, f"webui-{TAG}-{name}.png")
    n = b.screenshot(path)
    check(n > 1000, f"screenshot {name}", path)


def mailq(env):
    r = env.run("mailq", "--json")
    return [json.loads(ln) for ln in r.stdout.decode().splitlines() if ln.strip()]


def log_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def page_msg(b):
    """(class, text) of the action's result line, or (None, None)."""
    r = b.evaluate("(() => { const e = document.getElementById('msg');"
                   " return e ? [e.className, e.textContent] : null; })()")
    return tuple(r) if r else (None, None)


def out_text(b):
    return b.text("#out") or ""


def field(b, name):
    return b.evaluate(f"document.querySelector('[name={name}]').value")


def fill(b, **values):
    """Type into the settings form (select elements: choose)."""
    for name, v in values.items():
        tag = b.evaluate(f"document.querySelector('[name={name}]').tagName")
        if tag == "SELECT":
            b.select(f"[name={name}]", v)
        else:
            b.type(f"[name={name}]", v)


def login(b, port):
    check(b.navigate(f"http://127.0.0.1:{port}/"), "index.html loads")
    # index.html sends the browser on to the CGI (meta refresh)
    check(b.wait_js("!!document.querySelector('input[name=user]')"),
          "the login form", b.evaluate("document.body.innerHTML"))
    shot(b, "login")
    b.type("input[name=user]", "admin")
    b.type("input[name=pass]", "wrong")
    check(b.click_and_wait("form button"), "login page after a wrong password")
    check("wrong user or password" in (b.evaluate("document.body.textContent") or ""),
          "a wrong password: refused on the page")
    b.type("input[name=user]", "admin")
    b.type("input[name=pass]", "s3cret")
    mark = len(b.events)
    check(b.click_and_wait("form button"), "the page after the login")
    check(b.wait_js("document.body.textContent.includes('Logged in as admin')"),
          "logged in as admin", b.evaluate("document.body.textContent")[:500])
    cookies = b.send("Network.getCookies").get("cookies", [])
    ck = [c for c in cookies if c["name"] == "tmsid"]
    check(ck and ck[0]["httpOnly"] and ck[0]["sameSite"] == "Strict",
          "the session cookie: HttpOnly, SameSite=Strict", cookies)
    return mark


def page_weight(b, since):
    """KiB of HTML and CSS bodies the browser loaded after event since."""
    keep = b.events
    b.events = keep[since:]
    try:
        rs = b.responses()
    finally:
        b.events = keep
    html_css = [r for r in rs if r[1] in ("text/html", "text/css")]
    return sum(r[2] for r in html_css) / 1024, html_css


def test_queue_delete(b, d, port):
    env = d.env
    d.send("someone@remote.example", subject="to delete")
    ok = wait_for(lambda: [m for m in mailq(env)
                           if m.get("queue_name") == "deferred"], 60)
    check(ok, "a message deferred (the relay port is closed)", mailq(env))
    q = mailq(env)
    qid = q[0]["queue_id"] if q else "NONE"
    check(b.navigate(f"http://127.0.0.1:{port}/cgi-bin/tinymta"), "page reloaded")
    check(b.wait_js(f"document.getElementById('queue').textContent.includes('{qid}')"),
          "the deferred message on the page", qid)
    check("1 message queued" in b.evaluate("document.body.textContent"),
          "1 message queued")
    shot(b, "queue")
    sel = f'form:has(input[name="id"][value="{qid}"]) button'
    check(b.click_and_wait(sel), "Delete pressed: the page comes back")
    cls, text = page_msg(b)
    check(cls == "ok" and text == f"message {qid} deleted",
          "the page says deleted", (cls, text, out_text(b)))
    check(not any(m.get("queue_id") == qid for m in mailq(env)),
          "gone from mailq --json", mailq(env))
    check("0 messages queued" in b.evaluate("document.body.textContent"),
          "0 messages queued on the page")
    shot(b, "deleted")


def test_save(b, d, log):
    env = d.env
    srv = CaptureServer()
    try:
        reloads = log_text(log).count("reload -- version")
        before = open(os.path.join(env.conf, "main.cf")).read()
        fill(b, relay_host="127.0.0.1", relay_port=str(srv.port),
             tls_level="none", sender_address="box@example.org")
        t0 = time.monotonic()
        loaded = b.click_and_wait("button[value=save]")
        t1 = time.monotonic()
        cls, text = page_msg(b)
        check(loaded and cls == "ok" and text == "saved and reloaded",
              "Save: saved and reloaded", (cls, text, out_text(b)))
        shot(b, "saved")
        r = env.run("postconf", "-h", "relayhost", "smtp_tls_security_level",
                    "tinymta_sender_address")
        check(r.stdout.decode() == f"[127.0.0.1]:{srv.port}\nnone\nbox@example.org\n",
              "main.cf: the new relayhost, TLS level and sender", r.stdout)
        after = open(os.path.join(env.conf, "main.cf")).read()
        check(after != before and after.startswith(before.split("relayhost")[0]),
              "main.cf rewritten in place (its head kept)")
        check(field(b, "relay_host") == "127.0.0.1" and
              field(b, "relay_port") == str(srv.port),
              "the page shows the saved relay",
              (field(b, "relay_host"), field(b, "relay_port")))
        check(wait_for(lambda: log_text(log).count("reload -- version") > reloads, 30),
              "the daemon logged the reload", log_text(log)[-1500:])
        # the running daemon uses the new relay at once
        d.send("someone@remote.example", subject="via the new relay")
        got = srv.wait_messages(1, timeout=60)
        t2 = time.monotonic()
        check(got and srv.messages and "via the new relay" in
              srv.messages[0].data.decode(errors="replace"),
              "the next message goes to the new relay host",
              (srv.messages, log_text(log)[-1500:]))
        check(srv.messages and srv.messages[0].mail_from.startswith("<box@example.org>"),
              "with the new sender address",
              srv.messages[0].mail_from if srv.messages else None)
        print(f"figure: Save pressed to the reloaded page: {(t1 - t0) * 1000:.0f} ms; "
              f"to the first message through the new relay: {(t2 - t0) * 1000:.0f} ms")
        return srv.port
    finally:
        srv.stop()


def test_send_test_mail(b, env, saved_port):
    cf = open(os.path.join(env.conf, "main.cf")).read()
    srv = CaptureServer()
    try:
        # unsaved: another port, another sender, an admin (the recipient)
        fill(b, relay_port=str(srv.port), sender_address="unsaved@example.org",
             admin_address="me@example.org")
        check(b.click_and_wait("button[value=test]"), "Send test mail: a page")
        cls, text = page_msg(b)
        out = out_text(b)
        check(cls == "ok" and text == "test mail: ok (exit 0)",
              "test mail: the verdict ok", (cls, text, out))
        check('"ok": true' in out and "C: RSET" in out, "the transcript shown", out)
        cmds = srv.commands
        check("MAIL FROM:<unsaved@example.org>" in cmds and
              "RCPT TO:<me@example.org>" in cmds and "RSET" in cmds,
              "the capture server saw the session with the unsaved values", cmds)
        check(open(os.path.join(env.conf, "main.cf")).read() == cf,
              "Send test mail saves nothing")
        check(field(b, "relay_port") == str(saved_port),
              "the form shows the saved values again", field(b, "relay_port"))
        shot(b, "test-ok")
    finally:
        srv.stop()
    srv = CaptureServer(script={"rcpt": "550 5.7.1 relay denied"})
    try:
        fill(b, relay_port=str(srv.port))
        check(b.click_and_wait("button[value=test]"), "Send test mail: a page")
        cls, text = page_msg(b)
        out = out_text(b)
        check(cls == "error" and text == "test mail: failed at rcpt (exit 69)",
              "test mail refused: failed at rcpt", (cls, text, out))
        check('"failed_step": "rcpt"' in out and "550 5.7.1 relay denied" in out,
              "the server's reply shown", out)
        check(any(c.startswith("RCPT TO:") for c in srv.commands),
              "the capture server saw the RCPT", srv.commands)
        shot(b, "test-failed")
    finally:
        srv.stop()


def test_send_test_mail_auth(b, env):
    """STARTTLS and AUTH with a user and password typed but not saved:
    the password goes to test-relay on stdin (--user), never saved."""
    try:
        import test_smtp_tls as tt
        import aiosmtpd  # noqa: F401
    except ImportError as e:
        check(False, "python3-aiosmtpd for the AUTH case", repr(e))
        return
    certs = tempfile.mkdtemp(prefix="tinymta-certs-")
    tt.CERTS = certs
    h = None
    try:
        tt.make_certs(certs)
        h = tt.Host("good")
        fill(b, relay_port=str(h.port), tls_level="encrypt",
             relay_user=tt.USER, relay_pass=tt.PASSWORD)
        check(b.click_and_wait("button[value=test]"), "Send test mail: a page")
        cls, text = page_msg(b)
        out = out_text(b)
        check(cls == "ok" and text == "test mail: ok (exit 0)" and
              "C: STARTTLS" in out and "C: AUTH PLAIN <redacted>" in out,
              "test mail with TLS and the unsaved login: ok", (cls, text, out))
        check(any(a[3] and a[1] == tt.USER.encode() for a in h.auths),
              "the server saw the login", h.auths)
        page = b.evaluate("document.documentElement.outerHTML")
        check(tt.PASSWORD not in page, "the password is not on the page")
        check(not os.path.exists(os.path.join(env.conf, "sasl_passwd")) and
              tt.PASSWORD not in open(os.path.join(env.conf, "main.cf")).read(),
              "the password was not saved")
        shot(b, "test-auth")
    finally:
        if h:
            h.stop()
        shutil.rmtree(certs, ignore_errors=True)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    try:
        from cdp import Browser, CDPError, chromium_path
    except ImportError as e:
        check(False, "python3-websocket installed (tools/testdeps.sh)", repr(e))
        return
    if not chromium_path():
        check(False, "chromium installed (tools/testdeps.sh)")
        return
    d = Daemon()
    env = d.env
    log = os.path.join(env.dir, "maillog")
    proc = b = None
    try:
        # no retry of the deferred message while the test looks at it
        r = env.run("postconf", "-e", f"maillog_file={log}",
                    "minimal_backoff_time=300s", "maximal_backoff_time=600s",
                    "queue_run_delay=300s")
        check(r.returncode == 0, "postconf -e", r.stderr)
        setup(env)
        d.start()
        check(wait_for(lambda: d.status()[0] == 0, 30), "daemon running")
        proc, port = start_httpd(env)
        if not proc:
            return
        t = time.monotonic()
        b = Browser()
        print(f"chromium up in {(time.monotonic() - t) * 1000:.0f} ms")
        mark = login(b, port)
        kib, parts = page_weight(b, mark)
        check(parts and parts[0][1] == "text/html", "the page's HTML seen", parts)
        print(f"figure: page weight {kib:.1f} KiB (HTML+CSS: "
              + ", ".join(f"{re.sub(r'^https?://[^/]+', '', u)} {m} {n} B"
                          for u, m, n in parts) + ")")
        shot(b, "page")
        test_queue_delete(b, d, port)
        saved_port = test_save(b, d, log)
        test_send_test_mail(b, env, saved_port)
        test_send_test_mail_auth(b, env)
    except CDPError as e:
        check(False, "the browser", repr(e))
        if b:
            print(b.chromium_log()[-3000:])
    finally:
        if b:
            b.close()
        stop_httpd(proc)
        env.run("tinymta", "stop")
        wait_for(lambda: env.run("tinymta", "status").returncode == 3, 30)
        env.cleanup()


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"took {time.monotonic() - t0:.1f} s")
    done()
