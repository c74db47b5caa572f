"""test_cgi - the web UI's CGI (`tinymta cgi`) run directly with CGI
environment variables against a private configuration, as mail_owner when
the tests run as root (as BusyBox httpd -u runs it): login (admin users
only), the session cookie, the CSRF token, saving the settings through
postconf -e (main.cf checked, comments kept, hostile values stored as
typed and shown escaped), the refusals (no login, bad token, bad value:
the page shows the error and nothing is written), the queue (delete,
flush), the reload of a running daemon, and the commands still waiting
for other branches (tinymta relay-password, tinymta test-relay)."""
import html
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import Env, check, done, mail_owner  # noqa: E402
from test_daemon import Daemon, wait_for  # noqa: E402
from capture import CaptureServer  # noqa: E402

ROOT = os.geteuid() == 0
AS = mail_owner() if ROOT else None


def setup(env):
    """An admin, a plain user, and a configuration directory the CGI's
    user may write (postconf -e renames into it)."""
    r = env.run("tinymta", "passwd", "--admin", "admin", input="s3cret\ns3cret\n")
    check(r.returncode == 0, "passwd --admin", r.stderr)
    r = env.run("tinymta", "passwd", "joe", input="joepw\njoepw\n")
    check(r.returncode == 0, "passwd joe", r.stderr)
    if ROOT:
        import pwd
        pw = pwd.getpwnam(AS)
        for p in [env.conf] + [os.path.join(env.conf, n) for n in os.listdir(env.conf)]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def cgi(env, method="GET", body=None, cookie=None, query="", ctype=None):
    e = {"REQUEST_METHOD": method, "QUERY_STRING": query,
         "SCRIPT_NAME": "/cgi-bin/tinymta", "GATEWAY_INTERFACE": "CGI/1.1"}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else (
            urllib.parse.urlencode(body) if isinstance(body, dict) else body).encode()
        e["CONTENT_TYPE"] = ctype or "application/x-www-form-urlencoded"
        e["CONTENT_LENGTH"] = str(len(data))
    if cookie:
        e["HTTP_COOKIE"] = f"theme=dark; tmsid={cookie}"
    r = env.run("tinymta", "cgi", input=data or b"", env=e, user=AS, timeout=120)
    text = r.stdout.decode("utf-8", "replace")
    head, _, page = text.partition("\r\n\r\n")
    m = re.match(r"Status: (\d+)", head)
    return (int(m.group(1)) if m else 0), head, page, r


def login(env, user="admin", pw="s3cret"):
    st, head, page, _ = cgi(env, "POST", {"action": "login", "user": user,
                                          "pass": pw})
    m = re.search(r"Set-Cookie: tmsid=([^;\r\n]+);([^\r\n]*)", head)
    return st, head, page, (m.group(1) if m else None), (m.group(2) if m else "")


def token(page):
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    return m.group(1) if m else None


def form(tok, **kw):
    f = {"csrf": tok, "action": "save", "relay_host": "relay.example",
         "relay_port": "587", "tls_level": "encrypt", "relay_user": "",
         "relay_pass": "", "sender_address": "", "admin_address": "",
         "mail_listen": "loopback-only", "web_listen": "loopback"}
    f.update(kw)
    return {k: v for k, v in f.items() if v is not None}


def main_cf(env):
    with open(os.path.join(env.conf, "main.cf"), "rb") as f:
        return f.read()


def msg(page):
    m = re.search(r'<p id="msg" class="(\w+)">(.*?)</p>', page)
    return (m.group(1), html.unescape(m.group(2))) if m else (None, "")


def test_login():
    env = Env("# the comment\nrelayhost = [old.example]:25\n")
    try:
        setup(env)
        st, head, page, _ = cgi(env)
        check(st == 200 and 'name="action" value="login"' in page
              and "in the clear" in page, "GET without a session: login form",
              head + page[:300])
        st, head, page, ck, attrs = login(env, pw="wrong")
        check(st == 403 and ck is None and "wrong user or password" in page,
              "wrong password: 403, no cookie", head)
        st, head, page, ck, attrs = login(env, "joe", "joepw")
        check(st == 403 and ck is None, "a user without the admin flag: 403", head)
        st, head, page, ck, attrs = login(env, "admin", "s3cret")
        check(st == 303 and ck and "HttpOnly" in attrs
              and "SameSite=Strict" in attrs and "Max-Age=3600" in attrs
              and "Location: /cgi-bin/tinymta" in head,
              "admin login: 303, cookie HttpOnly SameSite=Strict expiring", head)
        key = os.path.join(env.conf, "webui.key")
        check(os.path.exists(key) and (os.stat(key).st_mode & 0o777) == 0o600,
              "webui.key made, 0600")
        st, head, page, _ = cgi(env, cookie=ck)
        check(st == 200 and "Logged in as admin" in page and token(page)
              and 'name="relay_host" value="old.example"' in page
              and 'name="relay_port" value="25"' in page
              and 'id="running" class="error">not running' in page,
              "page: settings from main.cf, status, a form token", page[:2000])
        check("Content-Security-Policy" in head and "X-Frame-Options: DENY" in head,
              "page headers: CSP, no framing", head)
        forged = "admin.9999999999." + "0" * 64
        st, head, page, _ = cgi(env, cookie=forged)
        check(st == 200 and "Logged in" not in page, "a forged cookie: login form")
        tampered = ck.replace("admin", "admix", 1)
        st, head, page, _ = cgi(env, cookie=tampered)
        check("Logged in" not in page, "a tampered cookie: login form")
    finally:
        env.cleanup()


def test_save_and_refusals():
    env = Env("# the comment\nrelayhost = [old.example]:25\n")
    try:
        setup(env)
        _, _, _, ck, _ = login(env)
        _, _, page, _ = cgi(env, cookie=ck)
        tok = token(page)
        before = main_cf(env)
        # refusals: nothing written
        st, _, page, _ = cgi(env, "POST", form(tok), cookie=None)
        check(st == 403 and "log in first" in page and main_cf(env) == before,
              "save without a session: 403, nothing written", page[:300])
        st, _, page, _ = cgi(env, "POST", form("0" * 64), cookie=ck)
        check(st == 403 and "form token" in page and main_cf(env) == before,
              "save with a bad token: 403, nothing written", page[:300])
        st, _, page, _ = cgi(env, "POST", form(None), cookie=ck)
        check(st == 403 and main_cf(env) == before,
              "save without a token: 403, nothing written")
        _, _, _, ck2, _ = login(env)
        _, _, page2, _ = cgi(env, cookie=ck2)
        check(token(page2) != tok, "another session, another token")
        for kw, want in (({"relay_port": "99999"}, "relay port"),
                         ({"relay_host": "a b"}, "relay host"),
                         ({"relay_host": "x;id"}, "relay host"),
                         ({"tls_level": "bogus"}, "postconf -e refused"),
                         ({"mail_listen": "0.0.0.0"}, "listen")):
            st, _, page, _ = cgi(env, "POST", form(tok, **kw), cookie=ck)
            cls, text = msg(page)
            check(st == 200 and cls == "error" and want in text
                  and main_cf(env) == before,
                  f"bad value {kw}: the page shows the error, nothing written",
                  text)
        for bad in (b"sender_address=a%0Ab", b"sender_address=a%00b",
                    b"sender_address=a&sender_address=b"):
            body = urllib.parse.urlencode(form(tok)).encode() + b"&" + bad
            st, _, page, _ = cgi(env, "POST", body, cookie=ck)
            check(st == 400 and main_cf(env) == before,
                  f"{bad!r}: 400, nothing written", page[:200])
        st, _, page, _ = cgi(env, "POST", b"x" * 20000, cookie=ck)
        check(st == 400 and main_cf(env) == before, "a 20000-byte body: 400")
        st, _, page, _ = cgi(env, "POST", form(tok), cookie=ck,
                             ctype="multipart/form-data")
        check(st == 400 and main_cf(env) == before, "multipart: 400")

        # a good save, with hostile but acceptable values
        hostile = "a'b\"c;$(id)`x`<script>@example.com"
        st, _, page, _ = cgi(env, "POST", form(
            tok, sender_address=hostile, admin_address="me@example.com",
            web_listen="all"), cookie=ck)
        cls, text = msg(page)
        text_cf = main_cf(env).decode()
        check(st == 200 and cls == "ok" and "saved" in text
              and "not running" in text, "save: saved (daemon not running)", text)
        check(text_cf.startswith(before.decode().split("relayhost")[0])
              and "# the comment\n" in text_cf
              and "relayhost = [relay.example]:587\n" in text_cf
              and "[old.example]" not in text_cf
              and "smtp_tls_security_level = encrypt\n" in text_cf
              and "tinymta_admin_address = me@example.com\n" in text_cf
              and "tinymta_webui_listen = all\n" in text_cf
              and "inet_interfaces = loopback-only\n" in text_cf,
              "main.cf: values saved, comment and order kept", text_cf)
        r = env.run("postconf", "-x", "-h", "tinymta_sender_address")
        check(r.stdout.decode() == hostile + "\n",
              "hostile value stored as typed ($ not expanded)", r.stdout)
        check("<script>" not in page and "&lt;script&gt;" in page,
              "hostile value shown escaped", "")
        check(not os.path.exists("x") and sorted(os.listdir(env.conf)) ==
              ["main.cf", "sasl_users", "sasl_users.cdb", "sasl_users.lock",
               "webui.key"], "no temporary file left", str(os.listdir(env.conf)))
    finally:
        env.cleanup()


def test_queue():
    env = Env()
    try:
        setup(env)
        r = env.run("sendmail", "-f", "a@example.com", "b@example.com",
                    input="Subject: q\n\nx\n")
        check(r.returncode == 0, "a message queued", r.stderr)
        qid = re.search(rb'"queue_id": "(\w+)"',
                        env.run("mailq", "--json").stdout).group(1).decode()
        _, _, _, ck, _ = login(env)
        _, _, page, _ = cgi(env, cookie=ck)
        tok = token(page)
        check(f"<td>{qid}</td>" in page and "1 message queued" in page,
              "the queue on the page", page[:3000])
        st, _, page, _ = cgi(env, "POST", {"csrf": tok, "action": "delete",
                                           "id": "../../etc", "queue": "hold"},
                             cookie=ck)
        check(msg(page) == ("error", "delete: not a queue ID"),
              "delete: a bad ID refused", str(msg(page)))
        st, _, page, _ = cgi(env, "POST", {"csrf": tok, "action": "delete",
                                           "id": qid, "queue": "drop"},
                             cookie=ck)
        check(msg(page) == ("error", "delete: not a queue ID"),
              "delete: a bad queue name refused", str(msg(page)))
        st, _, page, _ = cgi(env, "POST", {"csrf": "1" * 64, "action": "delete",
                                           "id": qid, "queue": "maildrop"},
                             cookie=ck)
        check(f'name="queue" value="maildrop"' in cgi(env, cookie=ck)[2],
              "the delete button names the queue")
        check(st == 403 and env.run("mailq", "--json").stdout != b"",
              "delete with a bad token: kept")
        st, _, page, _ = cgi(env, "POST", {"csrf": tok, "action": "delete",
                                           "id": qid, "queue": "maildrop"},
                             cookie=ck)
        st, _, page2, _ = cgi(env, "POST", {"csrf": tok, "action": "delete",
                                            "id": qid, "queue": "maildrop"},
                              cookie=ck)
        check(msg(page2)[0] == "error", "deleting it again: not deleted",
              str(msg(page2)))
        check(msg(page)[0] == "ok" and "0 messages queued" in page
              and env.run("mailq", "--json").stdout == b"",
              "delete: gone", str(msg(page)) + page[:500])
        st, _, page, _ = cgi(env, "POST", {"csrf": tok, "action": "flush"},
                             cookie=ck)
        check(msg(page)[0] == "error" and "flush" in msg(page)[1],
              "flush without a daemon: the error shown", str(msg(page)))
    finally:
        env.cleanup()


def test_reload():
    d = Daemon()
    env = d.env
    try:
        setup(env)
        d.start()
        _, _, _, ck, _ = login(env)
        _, _, page, _ = cgi(env, cookie=ck)
        check('id="running" class="ok">running' in page
              and "&quot;destinations&quot;: [" in page,
              "status: running, destinations listed", page[:1500])
        print(f"figure: page weight {len(page.encode()) / 1024:.1f} KiB (empty queue)")
        t0 = time.time()
        st, _, page, _ = cgi(env, "POST", form(token(page),
                                               relay_host="new.example"),
                             cookie=ck)
        print(f"figure: Save to reloaded (postconf -e, check, reload, the "
              f"new page): {(time.time() - t0) * 1000:.0f} ms")
        check(msg(page) == ("ok", "saved and reloaded"), "save reloads the daemon",
              str(msg(page)) + page[:600])
        r = env.run("postconf", "-h", "relayhost")
        check(r.stdout == b"[new.example]:587\n", "relayhost saved", r.stdout)
        st, _, page, _ = cgi(env, "POST", {"csrf": token(page), "action": "flush"},
                             cookie=ck)
        check(msg(page) == ("ok", "queue flushed"), "flush", str(msg(page)))
    finally:
        env.run("tinymta", "stop")
        wait_for(lambda: env.run("tinymta", "status").returncode == 3, 30)
        env.cleanup()


def has_command(env, name):
    r = env.run("tinymta", name)
    return b"unknown command" not in r.stderr


def test_waiting():
    """relay-password (branch smtptls) and "Send test mail" (tinymta
    test-relay): the form calls them; relay-password's checks run once
    it exists."""
    env = Env()
    try:
        setup(env)
        _, _, _, ck, _ = login(env)
        _, _, page, _ = cgi(env, cookie=ck)
        tok = token(page)
        st, _, page, _ = cgi(env, "POST", form(tok, relay_user="u",
                                               relay_pass="p'w;$(x)"), cookie=ck)
        cls, text = msg(page)
        if has_command(env, "relay-password"):
            src = os.path.join(env.conf, "sasl_passwd")
            ok = os.path.exists(src) and "u:p'w;$(x)" in open(src).read()
            check(cls == "ok" and ok, "relay-password saved the password", text)
        else:
            check(cls == "error" and "relay-password failed" in text
                  and "smtp_sasl_auth_enable = yes" in main_cf(env).decode(),
                  "relay-password not built yet: the page says it failed", text)
            print("WAITING: tinymta relay-password (branch smtptls)")
        # "Send test mail": tinymta test-relay --json with the form's
        # relay and TLS level (unsaved), against a capture server
        srv = CaptureServer()
        try:
            st, _, page, _ = cgi(env, "POST", form(
                tok, action="test", relay_host="127.0.0.1",
                relay_port=str(srv.port), tls_level="none"), cookie=ck)
            cls, text = msg(page)
            out = html.unescape(page)
            check(cls == "ok" and "test mail: ok (exit 0)" in text and
                  'id="out"' in page and '"ok": true' in out and
                  "C: RSET" in out and any("RSET" in c for c in srv.commands),
                  "test mail: ok, the transcript shown", (text, out[-800:]))
        finally:
            srv.stop()
        srv = CaptureServer(script={"rcpt": "550 5.7.1 relay denied"})
        try:
            st, _, page, _ = cgi(env, "POST", form(
                tok, action="test", relay_host="127.0.0.1",
                relay_port=str(srv.port), tls_level="none"), cookie=ck)
            cls, text = msg(page)
            out = html.unescape(page)
            check(cls == "error" and "test mail: failed at rcpt (exit 69)" in text
                  and '"failed_step": "rcpt"' in out and
                  "550 5.7.1 relay denied" in out,
                  "test mail: the failed step and the reply shown",
                  (text, out[-800:]))
        finally:
            srv.stop()
    finally:
        env.cleanup()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def fetch(port, method, path, body=None, cookie=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {}
    if body is not None:
        body = urllib.parse.urlencode(body)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        h["Cookie"] = f"tmsid={cookie}"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, r.headers, data


def start_httpd(env):
    """BusyBox httpd (as the image runs it: -u mail_owner) serving a copy
    of rootfs/www with the CGI script pointing at this binary, on a free
    loopback port. Returns (process, port); (None, 0) when busybox has
    no httpd (a failed check)."""
    bb = shutil.which("busybox")
    if not bb or b"httpd" not in subprocess.run([bb, "--list"],
                                                capture_output=True).stdout:
        check(False, "busybox with httpd installed (busybox-static)")
        return None, 0
    www = os.path.join(env.dir, "www")
    shutil.copytree(os.path.join(os.path.dirname(__file__), "..", "..",
                                 "rootfs", "www"), www)
    script = os.path.join(www, "cgi-bin", "tinymta")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\nexec {env.bin}/tinymta cgi\n")
    os.chmod(script, 0o755)
    port = free_port()
    args = [bb, "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", www]
    if ROOT:
        args += ["-u", f"{AS}:{AS}"]
    proc = subprocess.Popen(args, env=dict(os.environ,
                                           TINYMTA_CONFIG_DIR=env.conf))
    check(wait_for(lambda: listening(port), 30), "httpd listens")
    return proc, port


def stop_httpd(proc):
    if proc:
        proc.terminate()
        proc.wait(timeout=30)


def test_httpd():
    """BusyBox httpd (as the image runs it: -u mail_owner) serves the
    static page and the CGI on a free loopback port."""
    env = Env()
    proc = None
    try:
        setup(env)
        proc, port = start_httpd(env)
        if not proc:
            return
        st, hd, page = fetch(port, "GET", "/")
        check(st == 200 and "/cgi-bin/tinymta" in page, "static page", page)
        st, hd, page = fetch(port, "GET", "/cgi-bin/tinymta")
        check(st == 200 and 'value="login"' in page, "CGI: login form", page[:300])
        st, hd, page = fetch(port, "POST", "/cgi-bin/tinymta",
                            {"action": "login", "user": "admin", "pass": "s3cret"})
        m = re.match(r"tmsid=([^;]+)", hd.get("Set-Cookie", ""))
        check(st == 303 and m and hd.get("Location") == "/cgi-bin/tinymta",
              "login through httpd: 303 and the cookie", str(hd))
        ck = m.group(1) if m else ""
        st, hd, page = fetch(port, "GET", "/cgi-bin/tinymta", cookie=ck)
        check(st == 200 and "Logged in as admin" in page, "page with the session",
              page[:300])
        st, hd, page = fetch(port, "POST", "/cgi-bin/tinymta",
                            form(token(page), relay_host="via-httpd.example"),
                            cookie=ck)
        check(st == 200 and msg(page)[0] == "ok"
              and b"relayhost = [via-httpd.example]:587\n" in main_cf(env),
              "save through httpd", str(msg(page)))
        if ROOT:
            import pwd
            uid = pwd.getpwnam(AS).pw_uid
            key = os.stat(os.path.join(env.conf, "webui.key"))
            with open(f"/proc/{proc.pid}/status") as f:
                uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
            check(key.st_uid == uid and all(int(u) == uid for u in uids),
                  "httpd and its CGI run as mail_owner, not root",
                  f"{uids} key uid {key.st_uid}")
    finally:
        stop_httpd(proc)
        env.cleanup()


if __name__ == "__main__":
    test_login()
    test_save_and_refusals()
    test_queue()
    test_reload()
    test_waiting()
    test_httpd()
    done()
