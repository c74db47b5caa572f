"""pop3d end to end: the master.cf pop3 service on a free port, the login
phase as mail_owner and the mailbox phase as the user (hand-over through
the master), python's poplib (USER/PASS, STAT LIST UIDL TOP RETR DELE
RSET QUIT), AUTH PLAIN as raw commands, wrong passwords, plaintext login
refused by default (pop3d_tls_auth_only = yes without TLS; TLS itself in
test_pop3d_tls.py), mboxrd
unescaping and byte-stuffing, UIDLs stable across sessions and rewrites,
delivery while a session holds the mailbox, kill -9 during QUIT's
rewrite, Maildir, and fetchmail (Debian's package) fetching and
deleting."""
import base64
import os
import poplib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done, mail_owner  # noqa: E402
from test_daemon import ROOT, USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port  # noqa: E402

PASS = "pop-secret-42"
TIMEOUT = 60


def pop3_line(port, extra=""):
    return f"127.0.0.1:{port} inet n - n - - pop3d{extra}\n"


def daemon(main_extra="pop3d_tls_auth_only = no\n", maildir=False):
    port = free_port()
    extra = main_extra + ("home_mailbox = Maildir/\n" if maildir else "")
    d = Lst(pop3_line(port), extra)
    r = d.env.run("tinymta", "passwd", USER, input=f"{PASS}\n{PASS}\n")
    check(r.returncode == 0, "passwd for the POP3 user", r.stderr)
    d.start()
    return d, port


def client(port):
    return poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)


def login(port):
    p = client(port)
    p.user(USER)
    p.pass_(PASS)
    return p


def uids(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    return []


def kids(d, role):
    out = []
    for p in subprocess.run(["pgrep", "-P", str(d.master_pid())],
                            capture_output=True, text=True).stdout.split():
        try:
            cmd = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        except FileNotFoundError:
            continue
        if len(cmd) > 1 and cmd[1] == role.encode():
            out.append(int(p))
    return out


def mbox_path(d):
    return os.path.join(d.mail, USER)


def count_from(d):
    return sum(1 for line in d.mbox().split("\n") if line.startswith("From "))


def deliver(d, n, body="hello\n", prefix="msg"):
    before = count_from(d)
    for i in range(n):
        d.send(USER, subject=f"{prefix} {i}", body=body)
    ok = wait_for(lambda: count_from(d) == before + n, 60)
    check(ok, f"{n} message(s) delivered", d.maillog()[-2000:])


class Raw:
    """A line-level POP3 client for what poplib does not do."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.f = self.s.makefile("rb")

    def line(self):
        return self.f.readline().decode("latin-1")

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while True:
            ln = self.line()
            if ln in (".\r\n", ""):
                return out
            out.append(ln)

    def close(self):
        self.f.close()
        self.s.close()


def test_poplib():
    d, port = daemon()
    body = ("first line\nFrom the start\n>From quoted\n>>From twice\n"
            ".leading dot\n..two dots\n. \nlast\n")
    deliver(d, 1, body=body, prefix="special")
    deliver(d, 2)
    raw = d.mbox()
    check(">From the start" in raw and ">>From quoted" in raw,
          "the mbox holds mboxrd-escaped lines", raw)

    p = client(port)
    check(p.getwelcome().startswith(b"+OK"), "greeting", repr(p.getwelcome()))
    logins = kids(d, "pop3d")
    owner = pwd.getpwnam(mail_owner()).pw_uid
    check(len(logins) == 1 and uids(logins[0]) == [owner] * 4,
          "the login phase runs as mail_owner",
          str([uids(k) for k in logins]))
    capa = p.capa()
    check("USER" in capa and "UIDL" in capa and "TOP" in capa and
          "STLS" not in capa and "SASL" in capa,
          "CAPA: USER UIDL TOP SASL, no STLS without a certificate", str(capa))
    p.user(USER)
    check(p.pass_(PASS).startswith(b"+OK"), "PASS accepted")
    boxes = kids(d, "pop3d-mailbox")
    want = pwd.getpwnam(USER).pw_uid
    check(len(boxes) == 1 and uids(boxes[0]) == [want] * 4,
          "the mailbox phase runs as the user", str([uids(k) for k in boxes]))
    n, size = p.stat()
    check(n == 3, "STAT: 3 messages", str((n, size)))
    lst = p.list()[1]
    sizes = [int(x.split()[1]) for x in lst]
    check(len(lst) == 3 and sum(sizes) == size, "LIST adds up to STAT",
          str(lst))
    uidl1 = [x.split()[1] for x in p.uidl()[1]]
    check(len(set(uidl1)) == 3, "three distinct UIDLs", str(uidl1))
    resp, lines, octets = p.retr(1)
    text = b"\n".join(lines).decode()
    check("\nFrom the start\n>From quoted\n>>From twice\n" in text,
          "RETR: one '>' removed from >+From lines", text)
    check("\n.leading dot\n..two dots\n. \nlast" in text,
          "RETR: dot-stuffing undone by the client (lines intact)", text)
    check(octets - len(b"".join(lines)) - 2 * len(lines) >= 0 and
          sizes[0] == sum(len(x) + 2 for x in lines),
          "LIST size = octets of the message as sent (CRLF, unescaped)",
          f"{sizes[0]} vs {sum(len(x) + 2 for x in lines)}")
    top = p.top(1, 2)[1]
    hdr_end = top.index(b"")
    check(top[hdr_end + 1:] == [b"first line", b"From the start"],
          "TOP 1 2: header, blank line, two body lines", str(top))
    check(any(x.startswith(b"Subject: special") for x in top[:hdr_end]),
          "TOP: the header section", str(top))
    check(p.dele(1).startswith(b"+OK"), "DELE 1")
    try:
        p.retr(1)
        check(False, "RETR of a deleted message is refused")
    except poplib.error_proto as e:
        check(str(e).find("-ERR") >= 0, "RETR of a deleted message: -ERR", str(e))
    p.rset()
    check(p.stat()[0] == 3, "RSET undeletes")
    p.dele(1)
    p.quit()
    check(wait_for(lambda: "special" not in d.mbox(), 10),
          "QUIT applied the deletion", d.mbox()[:500])
    check(count_from(d) == 2, "two messages left", d.mbox())
    check(not os.path.exists(mbox_path(d) + ".lock"), "lock file removed")
    st = os.stat(mbox_path(d))
    check(st.st_uid == pwd.getpwnam(USER).pw_uid and st.st_mode & 0o777 == 0o600,
          "rewritten mbox keeps owner and mode", oct(st.st_mode))

    p = login(port)
    uidl2 = [x.split()[1] for x in p.uidl()[1]]
    check(uidl2 == uidl1[1:], "UIDLs stable across sessions and the rewrite",
          f"{uidl1} {uidl2}")
    p.quit()
    deliver(d, 1, prefix="later")
    p = login(port)
    uidl3 = [x.split()[1] for x in p.uidl()[1]]
    check(uidl3[:2] == uidl2 and len(uidl3) == 3,
          "UIDLs stable after a new delivery", f"{uidl2} {uidl3}")
    # the connection drops without QUIT: nothing deleted
    p.dele(1)
    p.sock.shutdown(socket.SHUT_RDWR)
    p.sock.close()
    check(wait_for(lambda: not os.path.exists(mbox_path(d) + ".lock"), 20),
          "lock released after a dropped connection")
    check(count_from(d) == 3, "no QUIT: no deletion", d.mbox())
    d.finish()


def test_auth_and_errors():
    d, port = daemon()
    deliver(d, 1)
    r = Raw(port)
    r.line()
    b64 = base64.b64encode(f"\0{USER}\0{PASS}".encode()).decode()
    rep = r.cmd("AUTH PLAIN " + b64)
    check(rep.startswith("+OK"), "AUTH PLAIN with an initial response", rep)
    check(r.cmd("STAT").startswith("+OK 1 "), "STAT after AUTH PLAIN")
    check(r.cmd("USER x").startswith("-ERR"), "USER after login: -ERR")
    check(r.cmd("QUIT").startswith("+OK"), "QUIT")
    r.close()

    r = Raw(port)
    r.line()
    # pipelined: nothing sent after PASS is lost in the hand-over
    r.s.sendall(f"USER {USER}\r\nPASS {PASS}\r\nSTAT\r\nNOOP\r\n".encode())
    got = [r.line() for _ in range(4)]
    check(got[0].startswith("+OK") and got[1].startswith("+OK") and
          got[2].startswith("+OK 1 ") and got[3] == "+OK\r\n",
          "pipelined USER PASS STAT NOOP", str(got))
    r.cmd("QUIT")
    r.close()

    r = Raw(port)
    r.line()
    check(r.cmd("AUTH PLAIN") == "+ \r\n", "AUTH PLAIN: empty challenge")
    check(r.cmd(b64).startswith("+OK"), "AUTH PLAIN response on its own line")
    r.cmd("QUIT")
    r.close()

    r = Raw(port)
    r.line()
    check(r.cmd("AUTH") .startswith("+OK"), "AUTH lists mechanisms")
    check(r.multi() == ["PLAIN\r\n"], "AUTH: PLAIN")
    check(r.cmd("AUTH CRAM-MD5").startswith("-ERR"), "unknown mechanism")
    check(r.cmd("STAT").startswith("-ERR"), "STAT before login")
    check(r.cmd("PASS x").startswith("-ERR"), "PASS without USER")
    check(r.cmd("X" * 300).startswith("-ERR command line too long"),
          "line over 255 octets")
    check(r.cmd("NOOP").startswith("-ERR"), "NOOP before login: -ERR")
    check(r.cmd("USER").startswith("-ERR syntax"), "USER without argument")
    check(r.cmd("FOO bar").startswith("-ERR unknown"), "unknown command")
    t0 = time.time()
    r.cmd("USER " + USER)
    rep = r.cmd("PASS wrong")
    check(rep.startswith("-ERR [AUTH]"), "wrong password: -ERR [AUTH]", rep)
    check(time.time() - t0 >= 0.9, "a failure is slowed", str(time.time() - t0))
    r.cmd("USER nosuchuser")
    check(r.cmd("PASS " + PASS).startswith("-ERR [AUTH]"), "unknown user: -ERR [AUTH]")
    r.cmd("USER " + USER)
    rep = r.cmd("PASS wrong again")
    check(rep.startswith("-ERR [AUTH] Too many"), "third failure: too many", rep)
    check(r.line() == "", "disconnected after three failures")
    r.close()
    log = d.maillog()
    check("POP3 login failed" in log and PASS not in log,
          "failures logged, no password in the log")
    # a login without a system account
    r2 = d.env.run("tinymta", "passwd", "nosysuser", input="pw12345\npw12345\n")
    check(r2.returncode == 0, "passwd nosysuser", r2.stderr)
    r = Raw(port)
    r.line()
    r.cmd("USER nosysuser")
    rep = r.cmd("PASS pw12345")
    check(rep.startswith("-ERR [SYS/PERM]"), "a login without a system user", rep)
    r.close()
    d.finish()


def test_default_refuses_plaintext():
    d, port = daemon(main_extra="")
    r = Raw(port)
    check(r.line().startswith("+OK"), "greeting")
    r.cmd("CAPA")
    capa = r.multi()
    check("USER\r\n" not in capa and not any(c.startswith("SASL") for c in capa),
          "CAPA offers no plaintext login", str(capa))
    want = "-ERR [SYS/PERM] plaintext login not allowed without TLS\r\n"
    check(r.cmd("USER " + USER) == want, "USER refused without TLS")
    check(r.cmd("PASS " + PASS) == want, "PASS refused without TLS")
    b64 = base64.b64encode(f"\0{USER}\0{PASS}".encode()).decode()
    check(r.cmd("AUTH PLAIN " + b64) == want, "AUTH refused without TLS")
    check(r.cmd("STLS").startswith("-ERR"), "STLS: not available without a certificate")
    r.close()
    d.finish()


def test_pop3s_without_tls():
    port, sport = free_port(), free_port()
    d = Lst(pop3_line(port) + pop3_line(sport, " -o pop3d_tls_wrappermode=yes"),
            "pop3d_tls_auth_only = no\n")
    d.start()
    s = socket.create_connection(("127.0.0.1", sport), timeout=TIMEOUT)
    check(s.recv(100) == b"", "pop3s without a certificate: closed without a word")
    s.close()
    check(wait_for(lambda: "pop3d_tls_wrappermode = yes, but no usable certificate"
                   in d.maillog(), 10), "pop3s without a certificate: logged", d.maillog()[-1000:])
    r = Raw(port)
    check(r.line().startswith("+OK"), "the plain pop3 service still answers")
    r.close()
    d.finish()


def test_timeout():
    d, port = daemon(main_extra="pop3d_tls_auth_only = no\npop3d_timeout = 2s\n")
    deliver(d, 1)
    r = Raw(port)
    r.line()
    t0 = time.time()
    r.s.sendall(b"US")  # a trickle does not extend the timeout
    time.sleep(1)
    r.s.sendall(b"E")
    rep = r.line()
    check(rep.startswith("-ERR Timeout") and time.time() - t0 < 10,
          "login phase: pop3d_timeout", rep)
    check(r.line() == "", "closed after the timeout")
    r.close()
    p = login(port)
    p.dele(1)
    t0 = time.time()
    try:
        rep = p._getresp()
    except poplib.error_proto as e:
        rep = str(e)
    check("Timeout" in str(rep) and time.time() - t0 < 10,
          "mailbox phase: pop3d_timeout", str(rep))
    check(wait_for(lambda: not os.path.exists(mbox_path(d) + ".lock"), 10),
          "timeout: lock released")
    check(count_from(d) == 1, "timeout: no deletion applied")
    d.finish()


def test_concurrent_delivery():
    d, port = daemon()
    deliver(d, 2)
    p = login(port)
    check(p.stat()[0] == 2, "session holds a mailbox of 2")
    check(os.path.exists(mbox_path(d) + ".lock"), "the session holds the dotlock")
    d.send(USER, subject="while locked")
    time.sleep(3)
    check(count_from(d) == 2, "delivery waits while the session holds the lock")
    p.dele(1)
    p.quit()
    ok = wait_for(lambda: "while locked" in d.mbox(), 90)
    check(ok, "the waiting message lands after QUIT", d.maillog()[-3000:])
    check(count_from(d) == 2, "one deleted, one added: 2", d.mbox())
    p = login(port)
    check(p.stat()[0] == 2, "a new session sees 2")
    p.dele(1)
    t0 = time.time()
    r = d.stop()
    check(r.returncode == 0, "tinymta stop with a POP3 session open")
    check(time.time() - t0 < 8, "the session stops at once on SIGTERM",
          str(time.time() - t0))
    check(not os.path.exists(mbox_path(d) + ".lock"),
          "stop: the session released its lock")
    check(count_from(d) == 2, "stop: no deletion applied")
    d.env.cleanup()


def write_mbox(d, n):
    """A big mbox written directly in mboxrd form, owned by the user."""
    pw = pwd.getpwnam(USER)
    parts = []
    for i in range(n):
        parts.append(f"From sender{i}@example.org Sun Nov 29 16:45:08 2026\n"
                     f"Return-Path: <sender{i}@example.org>\n"
                     f"Subject: bulk {i}\n\n" + ("x" * 70 + "\n") * 60 +
                     ">From escaped\n\n")
    data = "".join(parts).encode()
    path = mbox_path(d)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    if ROOT:
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return data


def test_kill9_during_quit():
    d, port = daemon()
    old = write_mbox(d, 4000)  # about 17 MB
    outcomes = []
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
        p = login(port)
        n = p.stat()[0]
        for i in range(1, n + 1, 2):
            p._putcmd(f"DELE {i}")
        for i in range(1, n + 1, 2):
            p._getresp()
        box = kids(d, "pop3d-mailbox")
        p._putcmd("QUIT")
        time.sleep(delay)
        for k in box:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it finished first
        p.sock.close()
        wait_for(lambda: not kids(d, "pop3d-mailbox"), 20)
        now = open(mbox_path(d), "rb").read()
        offs = [0] + [i + 1 for i in range(len(old)) if old.startswith(b"\nFrom ", i)]
        recs = [old[a:b] for a, b in zip(offs, offs[1:] + [len(old)])]
        newc = b"".join(r for j, r in enumerate(recs) if j % 2 == 1)
        check(now == old or now == newc,
              f"kill -9 after {delay}s: old or new mailbox, never half",
              f"{len(now)} vs old {len(old)} new {len(newc)}")
        tmp = os.path.join(d.mail, f".{USER}.pop3.tmp")
        outcomes.append(("old" if now == old else "new") +
                        ("+tmp" if os.path.exists(tmp) else ""))
        # the killed session's dotlock stays until stale (500 s): remove
        lock = mbox_path(d) + ".lock"
        if os.path.exists(lock):
            os.unlink(lock)
        if now != old:
            old = now
    print("kill -9 outcomes (+tmp: killed inside the rewrite):", outcomes)
    p = login(port)
    n = p.stat()[0]
    check(n > 0, "the mailbox still opens after the kills", str(n))
    check(not os.path.exists(os.path.join(d.mail, f".{USER}.pop3.tmp")),
          "a leftover temporary file is removed by the next session")
    p.quit()
    d.finish()


def test_maildir():
    home = pwd.getpwnam(USER).pw_dir
    md = os.path.join(home, "Maildir")
    shutil.rmtree(md, ignore_errors=True)
    d, port = daemon(maildir=True)
    for i in range(3):
        d.send(USER, subject=f"md {i}", body=".dot line\nFrom not escaped\n")

    def count():
        try:
            return len(os.listdir(os.path.join(md, "new")))
        except FileNotFoundError:
            return 0
    check(wait_for(lambda: count() == 3, 60), "3 messages in Maildir/new")
    p = login(port)
    check(p.stat()[0] == 3, "Maildir STAT 3")
    u = [x.split()[1].decode() for x in p.uidl()[1]]
    names = sorted(n.split(":")[0] for n in os.listdir(os.path.join(md, "new")))
    check(u == names, "Maildir UIDL = unique file names, oldest first", f"{u} {names}")
    lines = p.retr(2)[1]
    check(b".dot line" in lines and b"From not escaped" in lines,
          "Maildir RETR: content intact", str(lines))
    p.dele(2)
    p.quit()
    check(count() == 2, "Maildir DELE unlinked at QUIT")
    p = login(port)
    u2 = [x.split()[1].decode() for x in p.uidl()[1]]
    check(u2 == [u[0], u[2]], "Maildir UIDLs stable", f"{u} {u2}")
    p.quit()
    d.finish()
    shutil.rmtree(md, ignore_errors=True)


def test_fetchmail():
    if not shutil.which("fetchmail"):
        check(False, "fetchmail installed (tools/testdeps.sh)")
        return
    d, port = daemon()
    deliver(d, 3, body="fetch me\nFrom inside\n")
    out = os.path.join(d.env.dir, "fetched")
    rc = os.path.join(d.env.dir, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(f'set no bouncemail\npoll 127.0.0.1 service {port} protocol pop3 '
                f'auth password user "{USER}" password "{PASS}" '
                f'sslproto "" mda "/bin/sh -c \'cat >> {out}\'"\n')
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=d.env.dir, FETCHMAILHOME=d.env.dir)
    r = subprocess.run(["fetchmail", "-f", rc, "-N", "--nosyslog", "-v",
                        "--pidfile", os.path.join(d.env.dir, "fm.pid")],
                       capture_output=True, text=True, env=env, timeout=120)
    check(r.returncode == 0, "fetchmail exits 0", r.stdout[-3000:] + r.stderr[-2000:])
    got = open(out).read() if os.path.exists(out) else ""
    check(got.count("fetch me") == 3 and "\nFrom inside\n" in got,
          "fetchmail got 3 messages, unescaped", got[:2000])
    check(wait_for(lambda: count_from(d) == 0, 10), "fetchmail deleted them",
          d.mbox()[:500])
    d.finish()


def main():
    ensure_user()
    for t in (test_poplib, test_auth_and_errors, test_default_refuses_plaintext,
              test_pop3s_without_tls, test_timeout, test_concurrent_delivery, test_kill9_during_quit, test_maildir,
              test_fetchmail):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
