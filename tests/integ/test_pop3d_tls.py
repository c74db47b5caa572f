"""pop3d with TLS (RFC 2595 STLS, POP3S): a certificate from `tinymta
gencert` at the default path (pop3d_tls_cert_file = $smtpd_tls_cert_file),
python's poplib with stls() and POP3_SSL pinned to that certificate,
`openssl s_client -starttls pop3` fetching a message, plaintext login
refused before STLS and accepted after (pop3d_tls_auth_only = yes, the
default), the STLS injection ("STLS\\r\\nCAPA\\r\\n" in one write: CAPA
never answered inside TLS), pipelining after PASS through the relay, the
login process staying as the relay (mail_owner) while the mailbox phase
runs as the user, DELE through TLS applied at QUIT, a kill of the relay
ending the session cleanly, `tinymta stop` with a TLS session open,
pop3d_timeout through the relay, a
root-only key, fetchmail over POP3S and STLS, and the Pss of a TLS
session (both processes) printed as a figure."""
import os
import poplib
import pwd
import signal
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done, mail_owner  # noqa: E402
from test_daemon import ROOT, USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port  # noqa: E402
from test_pop3d import (PASS, TIMEOUT, count_from, deliver, kids,  # noqa: E402
                        mbox_path, pop3_line, uids)
from test_tls import ctx_pinned, gencert, pss_kib  # noqa: E402


def tls_daemon(main_extra="", start=True):
    """pop3 and pop3s services, the certificate at its default path."""
    port, sport = free_port(), free_port()
    d = Lst(pop3_line(port) +
            pop3_line(sport, " -o pop3d_tls_wrappermode=yes"), main_extra)
    cert, key = gencert(d)
    r = d.env.run("tinymta", "passwd", USER, input=f"{PASS}\n{PASS}\n")
    check(r.returncode == 0, "passwd for the POP3 user", r.stderr)
    if start:
        d.start()
    return d, port, sport, cert, key


def stls_login(port, cert):
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p.stls(context=ctx_pinned(cert))
    p.user(USER)
    p.pass_(PASS)
    return p


class TlsRaw:
    """Line-level POP3 over an ssl socket (pop3s or after STLS)."""

    def __init__(self, sock, cert):
        self.s = ctx_pinned(cert).wrap_socket(sock)
        self.f = self.s.makefile("rb")

    def line(self):
        return self.f.readline().decode("latin-1")

    def send(self, text):
        self.s.sendall(text.encode())

    def close(self):
        self.f.close()
        self.s.close()


def test_stls_poplib():
    d, port, sport, cert, key = tls_daemon()
    deliver(d, 3, body="over tls\n.dot\n")
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    capa = p.capa()
    check("STLS" in capa and "USER" not in capa and "SASL" not in capa,
          "CAPA before TLS: STLS, no plaintext login", str(capa))
    try:
        p.user(USER)
        check(False, "USER refused before STLS")
    except poplib.error_proto as e:
        check("plaintext login not allowed" in str(e),
              "USER before STLS: plaintext login not allowed", str(e))
    check(p.stls(context=ctx_pinned(cert)).startswith(b"+OK"), "STLS")
    check(p.sock.version() == "TLSv1.2", "TLS 1.2", p.sock.version())
    capa = p.capa()
    check("STLS" not in capa and "USER" in capa and "SASL" in capa,
          "CAPA after TLS: USER and SASL PLAIN, no STLS", str(capa))
    p.user(USER)
    check(p.pass_(PASS).startswith(b"+OK"), "PASS accepted over TLS")
    relay, box = kids(d, "pop3d"), kids(d, "pop3d-mailbox")
    owner = pwd.getpwnam(mail_owner()).pw_uid
    want = pwd.getpwnam(USER).pw_uid
    check(len(relay) == 1 and uids(relay[0]) == [owner] * 4,
          "the login process stays as the relay, as mail_owner",
          str([uids(k) for k in relay]))
    check(len(box) == 1 and uids(box[0]) == [want] * 4,
          "the mailbox phase runs as the user under TLS",
          str([uids(k) for k in box]))
    if relay and box:
        a, b = pss_kib(relay[0]), pss_kib(box[0])
        print(f"FIGURE pop3d TLS session Pss: relay {a} KiB + mailbox {b} "
              f"KiB = {(a or 0) + (b or 0)} KiB")
    check(p.stat()[0] == 3, "STAT 3 through the relay")
    lines = p.retr(2)[1]
    check(b"over tls" in lines and b".dot" in lines, "RETR through TLS",
          str(lines))
    uid1 = [x.split()[1] for x in p.uidl()[1]]
    p.dele(1)
    check(p.quit().startswith(b"+OK"), "QUIT through TLS")
    check(wait_for(lambda: count_from(d) == 2, 10),
          "DELE through TLS applied at QUIT", d.mbox()[:300])
    check(wait_for(lambda: not kids(d, "pop3d") and
                   not kids(d, "pop3d-mailbox"), 10),
          "both processes end after QUIT")
    check(not os.path.exists(mbox_path(d) + ".lock"), "lock released")
    p = stls_login(port, cert)
    uid2 = [x.split()[1] for x in p.uidl()[1]]
    check(uid2 == uid1[1:], "UIDLs stable over TLS", f"{uid1} {uid2}")
    p.quit()
    log = d.maillog()
    check("STLS: TLSv1.2 with cipher" in log, "the TLS session is logged",
          log[-1500:])
    d.finish()


def test_pop3s_and_pipelining():
    d, port, sport, cert, key = tls_daemon()
    deliver(d, 2)
    p = poplib.POP3_SSL("127.0.0.1", sport, timeout=TIMEOUT,
                        context=ctx_pinned(cert))
    check(p.getwelcome().startswith(b"+OK"), "POP3S greeting inside TLS")
    capa = p.capa()
    check("USER" in capa and "STLS" not in capa, "POP3S CAPA: USER, no STLS",
          str(capa))
    p.user(USER)
    p.pass_(PASS)
    check(p.stat()[0] == 2, "POP3S STAT")
    p.quit()
    # pipelined in one TLS record: USER PASS STAT NOOP LIST
    r = TlsRaw(socket.create_connection(("127.0.0.1", sport), timeout=TIMEOUT),
               cert)
    check(r.line().startswith("+OK"), "greeting")
    r.send(f"USER {USER}\r\nPASS {PASS}\r\nSTAT\r\nNOOP\r\nLIST\r\n")
    got = [r.line() for _ in range(5)]
    check(got[0].startswith("+OK") and got[1].startswith("+OK") and
          got[2].startswith("+OK 2 ") and got[3] == "+OK\r\n" and
          got[4].startswith("+OK"), "pipelined through the hand-over under TLS",
          str(got))
    rest = [r.line() for _ in range(3)]
    check(rest[2] == ".\r\n", "LIST ends", str(rest))
    # a large write from the client: many commands in one go
    r.send("NOOP\r\n" * 3000)
    ok = all(r.line() == "+OK\r\n" for _ in range(3000))
    check(ok, "3000 pipelined NOOPs through the relay")
    r.send("QUIT\r\n")
    check(r.line().startswith("+OK"), "QUIT")
    r.close()
    d.finish()


def test_injection():
    d, port, sport, cert, key = tls_daemon()
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    f = s.makefile("rb")
    check(f.readline().startswith(b"+OK"), "greeting")
    s.sendall(b"STLS\r\nCAPA\r\n")
    rep = f.readline()
    check(rep == b"+OK Begin TLS negotiation\r\n", "STLS answered", repr(rep))
    f.close()
    try:
        r = TlsRaw(s, cert)
        r.send("QUIT\r\n")
        first = r.line()
        check(first.startswith("+OK Bye"),
              "the CAPA sent with STLS is not answered inside TLS", first)
        r.close()
    except (ssl.SSLError, OSError) as e:
        # a handshake that fails on the injected bytes is safe too, but
        # with one write the server drops them before it replies
        check(False, "handshake after the injection", repr(e))
    check(wait_for(lambda: "discarding 6 bytes of plaintext pipelined after "
                   "STLS" in d.maillog(), 10), "the dropped bytes are logged",
          d.maillog()[-1000:])
    # STLS also forgets a USER given before it
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p._putcmd("USER " + USER)  # refused anyway (auth_only), still forgotten
    try:
        p._getresp()
    except poplib.error_proto:
        pass
    p.stls(context=ctx_pinned(cert))
    try:
        p.pass_(PASS)
        check(False, "PASS right after STLS needs a new USER")
    except poplib.error_proto as e:
        check("USER first" in str(e), "PASS after STLS: USER first", str(e))
    p.quit()
    d.finish()


def test_auth_only_no():
    """pop3d_tls_auth_only = no: plaintext login before STLS works too."""
    d, port, sport, cert, key = tls_daemon("pop3d_tls_auth_only = no\n")
    deliver(d, 1)
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    capa = p.capa()
    check("STLS" in capa and "USER" in capa, "CAPA: STLS and USER", str(capa))
    p.user(USER)
    p.pass_(PASS)
    check(p.stat()[0] == 1, "plaintext session")
    check(not kids(d, "pop3d"), "no relay for a plaintext session")
    box = kids(d, "pop3d-mailbox")
    if box:
        print(f"FIGURE pop3d plaintext session Pss: mailbox "
              f"{pss_kib(box[0])} KiB")
    p.quit()
    d.finish()


def openssl_fetch(port, cert, script):
    return subprocess.run(
        ["openssl", "s_client", "-starttls", "pop3", "-connect",
         f"127.0.0.1:{port}", "-CAfile", cert, "-verify_return_error",
         "-quiet", "-ign_eof"],
        input=script.encode(), capture_output=True, timeout=60)


def test_openssl_s_client():
    d, port, sport, cert, key = tls_daemon()
    deliver(d, 1, body="fetched by openssl\n")
    r = openssl_fetch(port, cert,
                      f"USER {USER}\r\nPASS {PASS}\r\nRETR 1\r\nDELE 1\r\n"
                      "QUIT\r\n")
    out = r.stdout.decode("latin-1")
    check(r.returncode == 0, "openssl s_client -starttls pop3 exits 0",
          r.stderr.decode()[-1500:])
    check("fetched by openssl" in out and "+OK Logged in" in out,
          "RETR through openssl s_client", out[-1500:])
    check(out.rstrip().splitlines()[-1].startswith("+OK"),
          "QUIT answered through openssl s_client", out[-500:])
    check(wait_for(lambda: count_from(d) == 0, 10),
          "DELE through openssl applied at QUIT", d.mbox()[:300])
    d.finish()


def test_kill_relay():
    d, port, sport, cert, key = tls_daemon()
    deliver(d, 2)
    before = d.mbox()
    p = stls_login(port, cert)
    check(p.stat()[0] == 2, "session open")
    p.dele(1)
    relay = kids(d, "pop3d")
    check(len(relay) == 1 and os.path.exists(mbox_path(d) + ".lock"),
          "a relay, and the mailbox locked")
    for k in relay:
        os.kill(k, signal.SIGKILL)
    check(wait_for(lambda: not kids(d, "pop3d-mailbox"), 20),
          "the mailbox phase ends when its relay is killed")
    check(wait_for(lambda: not os.path.exists(mbox_path(d) + ".lock"), 10),
          "the mailbox is unlocked")
    check(d.mbox() == before, "nothing lost, no deletion applied")
    try:
        p.noop()
        check(False, "the client sees the connection end")
    except (poplib.error_proto, OSError, EOFError) as e:
        check(True, "the client sees the connection end", repr(e))
    p.close()
    # and the service still works
    p = stls_login(port, cert)
    check(p.stat()[0] == 2, "a new TLS session after the kill")
    # tinymta stop with a TLS session open: both end, no deletion
    p.dele(1)
    t0 = time.time()
    r = d.stop()
    check(r.returncode == 0 and time.time() - t0 < 10,
          "tinymta stop with a TLS session open", str(time.time() - t0))
    try:
        last = p.file.readline()
    except OSError as e:
        last = repr(e)
    check(last.startswith(b"-ERR [SYS/TEMP] Server shutting down"),
          "stop: the mailbox phase's last words reach the client", last)
    check(not os.path.exists(mbox_path(d) + ".lock") and d.mbox() == before,
          "stop: unlocked, no deletion applied")
    d.env.cleanup()


def test_timeout():
    d, port, sport, cert, key = tls_daemon("pop3d_timeout = 2s\n")
    deliver(d, 1)
    p = stls_login(port, cert)
    p.dele(1)
    t0 = time.time()
    try:
        rep = p._getresp()
    except poplib.error_proto as e:
        rep = str(e)
    check("Timeout" in str(rep) and time.time() - t0 < 15,
          "pop3d_timeout under TLS: -ERR Timeout through the relay", str(rep))
    check(wait_for(lambda: not kids(d, "pop3d") and
                   not kids(d, "pop3d-mailbox"), 15),
          "timeout: relay and mailbox end")
    check(count_from(d) == 1 and
          not os.path.exists(mbox_path(d) + ".lock"),
          "timeout: unlocked, no deletion applied")
    p.close()
    d.finish()


def test_no_certificate():
    port, sport = free_port(), free_port()
    d = Lst(pop3_line(port) +
            pop3_line(sport, " -o pop3d_tls_wrappermode=yes"), "")
    d.start()
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    check("STLS" not in p.capa(), "no certificate: no STLS")
    try:
        p._shortcmd("STLS")
        check(False, "STLS refused without a certificate")
    except poplib.error_proto as e:
        check("STLS not available" in str(e), "STLS: -ERR", str(e))
    p.close()
    s = socket.create_connection(("127.0.0.1", sport), timeout=TIMEOUT)
    check(s.recv(100) == b"", "pop3s without a certificate: closed")
    s.close()
    check(wait_for(lambda: "pop3d_tls_wrappermode = yes, but no usable "
                   "certificate" in d.maillog(), 10), "logged",
          d.maillog()[-1000:])
    d.finish()


def test_root_only_key():
    if not ROOT or mail_owner() == "root":
        print("SKIP root-only key: needs root and an unprivileged mail_owner")
        return
    d, port, sport, cert, key = tls_daemon(start=False)
    os.chown(key, 0, 0)
    os.chmod(key, 0o600)
    os.chmod(d.env.conf, 0o755)
    d.start()
    deliver(d, 1)
    p = stls_login(port, cert)
    check(p.stat()[0] == 1, "STLS with a key only root can read")
    p.quit()
    d.finish()


def fetchmail(d, port, cert, opts, out):
    rc = os.path.join(d.env.dir, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(f'set no bouncemail\npoll 127.0.0.1 service {port} protocol pop3 '
                f'auth password user "{USER}" password "{PASS}" {opts} '
                f'sslcertck sslcertfile "{cert}" sslcommonname "test.example" '
                f'mda "/bin/sh -c \'cat >> {out}\'"\n')
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=d.env.dir, FETCHMAILHOME=d.env.dir)
    return subprocess.run(["fetchmail", "-f", rc, "-N", "--nosyslog", "-v",
                           "--pidfile", os.path.join(d.env.dir, "fm.pid")],
                          capture_output=True, text=True, env=env, timeout=120)


def test_fetchmail():
    if not shutil.which("fetchmail"):
        check(False, "fetchmail installed (tools/testdeps.sh)")
        return
    d, port, sport, cert, key = tls_daemon()
    for name, p, opts in (("POP3S", sport, "ssl"),
                          ("STLS", port, 'sslproto "tls1.2+"')):
        deliver(d, 2, body=f"fetch over {name}\n", prefix=name)
        out = os.path.join(d.env.dir, f"fetched-{name}")
        r = fetchmail(d, p, cert, opts, out)
        check(r.returncode == 0, f"fetchmail over {name} exits 0",
              r.stdout[-3000:] + r.stderr[-2000:])
        got = open(out).read() if os.path.exists(out) else ""
        check(got.count(f"fetch over {name}") == 2,
              f"fetchmail over {name} got 2 messages", got[:1000])
        check(wait_for(lambda: count_from(d) == 0, 10),
              f"fetchmail over {name} deleted them", d.mbox()[:300])
    d.finish()


def main():
    ensure_user()
    for t in (test_stls_poplib, test_pop3s_and_pipelining, test_injection,
              test_auth_only_no, test_openssl_s_client, test_kill_relay,
              test_timeout, test_no_certificate, test_root_only_key, test_fetchmail):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
