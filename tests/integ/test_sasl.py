"""SMTP AUTH on the server side: `tinymta passwd` (the users file and its
CDB), AUTH PLAIN and LOGIN against the daemon with swaks, python's smtplib
and a raw socket, relay permission after AUTH, smtpd_sender_login_maps,
failed AUTH counted as errors and against smtpd_client_auth_rate_limit,
and no secret in the log. TLS is not needed: smtpd_tls_auth_only = no."""
import base64
import grp
import os
import signal
import select
import pwd
import smtplib
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import Env, check, done, mail_owner  # noqa: E402
from test_daemon import ROOT, USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port, line  # noqa: E402

PASS = "Sesame-Open-42"
BADPASS = "Wrong-Guess-17"
B64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731


class Chat:
    """A raw SMTP client: send a line, read one (multi-line) reply."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                try:
                    chunk = self.s.recv(4096)
                except (socket.timeout, OSError):
                    chunk = b""
                if not chunk:
                    return "\n".join(lines) if lines else ""
                self.buf += chunk
            ln, self.buf = self.buf.split(b"\n", 1)
            ln = ln.decode("latin-1").rstrip("\r")
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return "\n".join(lines)

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def closed(self):
        """True when the server closed the connection."""
        self.s.settimeout(10)
        try:
            return self.s.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.s.close()


def passwd(env, user, pw1, pw2=None, *flags):
    data = f"{pw1}\n{pw1 if pw2 is None else pw2}\n"
    return env.run("tinymta", "passwd", *flags, user, input=data)


def users_file(env):
    p = os.path.join(env.conf, "sasl_users")
    return open(p).read() if os.path.exists(p) else ""


def test_passwd():
    env = Env()
    r = passwd(env, "alice", PASS)
    check(r.returncode == 0, "passwd alice: exit 0", r.stderr)
    text = users_file(env)
    check(text.startswith("alice:$6$") and text.count("\n") == 1,
          "source line user:$6$...", text)
    salt = text.split("$")[2] if text.count("$") >= 3 else ""
    check(len(salt) == 16, "16 salt characters", salt)
    want = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, PASS],
                          capture_output=True, text=True).stdout.strip()
    check(text.strip() == "alice:" + want, "SHA-512 crypt as openssl makes it",
          text + " vs " + want)
    for name in ("sasl_users", "sasl_users.cdb"):
        st = os.stat(os.path.join(env.conf, name))
        check(stat.S_IMODE(st.st_mode) == 0o640, f"{name} mode 0640",
              oct(st.st_mode))
        if ROOT:
            gid = pwd.getpwnam(mail_owner()).pw_gid
            check(st.st_uid == 0 and st.st_gid == gid,
                  f"{name} owned by root, group of mail_owner",
                  f"{st.st_uid}:{st.st_gid} ({grp.getgrgid(st.st_gid).gr_name})")
    r = passwd(env, "bob", "one", "two")
    check(r.returncode == 65 and b"do not match" in r.stderr,
          "mismatch: exit 65, says so", r)
    check("bob:" not in users_file(env), "mismatch writes nothing")
    r = env.run("tinymta", "passwd", "bob", input="\n\n")
    check(r.returncode == 65, "empty password: 65", r)
    r = env.run("tinymta", "passwd", "bob", input="only-once\n")
    check(r.returncode == 65, "one line only: 65", r)
    r = env.run("tinymta", "passwd", "bob", input=("x" * 300 + "\n") * 2)
    check(r.returncode == 65, "password over 255 bytes: 65", r)
    r = passwd(env, "Bob", PASS, None, "--admin")
    check(r.returncode == 0, "passwd --admin Bob", r.stderr)
    check("\nbob:$6$" in users_file(env) and users_file(env).rstrip().endswith(":admin"),
          "admin marker, name folded to lower case", users_file(env))
    old = users_file(env)
    r = passwd(env, "alice", "another")
    check(r.returncode == 0 and users_file(env).count("alice:") == 1 and
          users_file(env) != old, "a new password replaces the line", users_file(env))
    r = env.run("tinymta", "passwd", "-d", "carol")
    check(r.returncode == 67, "-d of an unknown user: 67", r)
    r = env.run("tinymta", "passwd", "-d", "alice")
    check(r.returncode == 0 and "alice:" not in users_file(env), "-d alice", r)
    r = env.run("postmap", "-q", "alice", f"cdb:{env.conf}/sasl_users")
    check(r.returncode != 0 and r.stdout == b"", "alice gone from the CDB", r)
    r = env.run("postmap", "-q", "bob", f"cdb:{env.conf}/sasl_users")
    check(r.returncode == 0 and r.stdout.startswith(b"$6$"), "bob in the CDB", r)
    for args in ((), ("-x", "u"), ("-d",), ("a", "b"), ("-d", "--admin", "u"),
                 ("bad:name",)):
        r = env.run("tinymta", "passwd", *args, input="p\np\n")
        check(r.returncode == 64, f"usage {args}: 64", r)
    env.write("sasl_users", users_file(env) + "# a comment\nbroken line\n")
    r = passwd(env, "dave", PASS)
    check(r.returncode == 65 and b"line" in r.stderr,
          "a malformed source line is named (65)", r)
    env.cleanup()


def test_passwd_tty():
    """From a terminal: two prompts, nothing echoed."""
    import pty
    env = Env()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TINYMTA_CONFIG_DIR"] = env.conf
        os.execv(os.path.join(env.bin, "tinymta"), ["tinymta", "passwd", "erin"])
    out = b""

    def read_until(what, timeout=20):
        nonlocal out
        end = time.time() + timeout
        while what not in out and time.time() < end:
            if not select.select([fd], [], [], max(0.0, end - time.time()))[0]:
                break
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return what in out
    check(read_until(b"New password: "), "tty: first prompt", out)
    os.write(fd, b"tty-" + PASS.encode() + b"\n")
    check(read_until(b"Retype new password: "), "tty: second prompt", out)
    os.write(fd, b"tty-" + PASS.encode() + b"\n")
    read_until(b"updated")
    status = None
    for _ in range(300):  # 30 s at most, then kill: never hang the suite
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            status = st
            break
        time.sleep(0.1)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "tty: exit 0", out)
    check(PASS.encode() not in out, "tty: the password is not echoed", out)
    check("erin:$6$" in users_file(env), "tty: user written", users_file(env))
    env.cleanup()


def daemon(extra_main="", extra_o=""):
    port = free_port()
    plain_port = free_port()
    d = Lst(line(port, " -o smtpd_sasl_auth_enable=yes" + extra_o) +
            line(plain_port),
            "mynetworks = 192.0.2.0/24\nsmtpd_tls_auth_only = no\n" + extra_main)
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main.replace("@CONF@", d.env.conf))
    r = passwd(d.env, "alice", PASS)
    check(r.returncode == 0, "passwd alice", r.stderr)
    r = passwd(d.env, "bob", "bobs-" + PASS)
    check(r.returncode == 0, "passwd bob", r.stderr)
    d.start()
    return d, port, plain_port


def swaks(port, *args):
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                           "--from", "alice@test.example", "--to",
                           f"{USER}@test.example", "--timeout", "30"] + list(args),
                          capture_output=True, text=True, timeout=90)


def test_auth():
    d, port, plain_port = daemon()
    c = Chat(plain_port)
    r = c.cmd("EHLO client.example")
    check("AUTH" not in r, "no AUTH where smtpd_sasl_auth_enable = no", r)
    check(c.cmd("AUTH PLAIN " + B64(f"\0alice\0{PASS}")).startswith("503 5.5.1"),
          "AUTH where not enabled: 503")
    c.close()

    c = Chat(port)
    check(c.cmd("AUTH PLAIN " + B64(f"\0alice\0{PASS}")).startswith("503 5.5.1"),
          "AUTH before EHLO: 503")
    r = c.cmd("EHLO client.example")
    check("250-AUTH PLAIN LOGIN" in r or "250 AUTH PLAIN LOGIN" in r,
          "EHLO offers AUTH PLAIN LOGIN", r)
    r = c.cmd("MAIL FROM:<alice@test.example>")
    r2 = c.cmd("RCPT TO:<someone@remote.example>")
    check(r.startswith("250") and r2.startswith("554 5.7.1"),
          "relay before AUTH: 554 5.7.1", r2)
    r = c.cmd("AUTH PLAIN " + B64(f"\0alice\0{PASS}"))
    check(r.startswith("503 5.5.1"), "AUTH in a transaction: 503 5.5.1", r)
    c.cmd("RSET")
    check(c.cmd("AUTH CRAM-MD5").startswith("504 5.5.4"), "unknown mechanism: 504")
    check(c.cmd("AUTH PLAIN !!!!").startswith("501 5.5.2"), "bad base64: 501 5.5.2")
    r = c.cmd("AUTH PLAIN")
    check(r == "334 ", "PLAIN without initial response: 334", repr(r))
    check(c.cmd("*").startswith("501 5.7.0"), "* cancels: 501 5.7.0")
    r = c.cmd("AUTH LOGIN")
    check(r == "334 VXNlcm5hbWU6", "LOGIN asks Username:", r)
    check(c.cmd("*").startswith("501 5.7.0"), "* cancels LOGIN")
    r = c.cmd("AUTH PLAIN " + B64(f"bob\0alice\0{PASS}"))
    check(r.startswith("535 5.7.8"), "authzid other than authcid: 535", r)
    r = c.cmd("AUTH PLAIN " + B64(f"\0alice\0{BADPASS}"))
    check(r.startswith("535 5.7.8"), "wrong password: 535 5.7.8", r)
    r = c.cmd("AUTH PLAIN " + B64(f"\0nosuchuser\0{BADPASS}"))
    check(r.startswith("535 5.7.8"), "unknown user: 535 5.7.8", r)
    r = c.cmd("AUTH PLAIN")
    r = c.cmd(B64(f"alice\0alice\0{PASS}"))
    check(r.startswith("235 2.7.0"), "PLAIN in two steps, authzid = authcid: 235", r)
    r = c.cmd("AUTH LOGIN " + B64("alice"))
    check(r.startswith("503 5.5.1"), "second AUTH: 503 5.5.1", r)
    r = c.cmd("MAIL FROM:<alice@test.example>")
    r2 = c.cmd("RCPT TO:<someone@remote.example>")
    check(r2.startswith("250"), "relay after AUTH: accepted", r2)
    c.cmd("DATA")
    r = c.cmd("Subject: relayed\r\n\r\nbody\r\n.")
    check(r.startswith("250 2.0.0 Ok: queued"), "relayed mail queued", r)
    c.cmd("QUIT")
    c.close()

    c = Chat(port)
    c.cmd("EHLO client.example")
    check(c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6", "LOGIN: Username:")
    check(c.cmd(B64("alice")) == "334 UGFzc3dvcmQ6", "LOGIN: Password:")
    check(c.cmd(B64(PASS)).startswith("235 2.7.0"), "LOGIN in three steps: 235")
    c.close()
    c = Chat(port)
    c.cmd("EHLO client.example")
    check(c.cmd("AUTH LOGIN " + B64("bob")) == "334 UGFzc3dvcmQ6",
          "LOGIN with the user as initial response")
    check(c.cmd(B64("bobs-" + PASS)).startswith("235"), "LOGIN bob: 235")
    c.close()

    for mech in ("PLAIN", "LOGIN"):
        r = swaks(port, "--auth", mech, "--auth-user", "alice",
                  "--auth-password", PASS, "--header", f"Subject: swaks {mech}")
        check(r.returncode == 0 and "235 2.7.0" in r.stdout,
              f"swaks --auth {mech}", r.stdout[-800:])
    r = swaks(port, "--auth", "PLAIN", "--auth-user", "alice",
              "--auth-password", BADPASS)
    check(r.returncode != 0 and "535 5.7.8" in r.stdout, "swaks wrong password: 535",
          r.stdout[-500:])
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.example")
            code, _ = s.login("alice", PASS)
            check(code == 235, "smtplib login", code)
            s.sendmail("alice@test.example", ["far@remote.example"],
                       "Subject: smtplib\r\n\r\nrelayed\r\n")
    except Exception as e:  # noqa: BLE001
        check(False, "smtplib login and relay", repr(e))
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.example")
            s.login("alice", BADPASS)
        check(False, "smtplib wrong password refused")
    except smtplib.SMTPAuthenticationError as e:
        check(e.smtp_code == 535, "smtplib wrong password: 535", repr(e))
    check(wait_for(lambda: "Subject: swaks PLAIN" in d.mbox(), 20),
          "mail after AUTH delivered", d.maillog()[-800:])
    check("with ESMTPA id" in d.mbox(), "Received: says ESMTPA",
          d.mbox()[:600])
    log = d.maillog()
    check("sasl_method=PLAIN, sasl_username=alice" in log, "success logged",
          log[-1000:])
    check("SASL PLAIN authentication failed" in log, "failure logged")
    check("sasl_username=alice" in log and "client=" in log, "queue id line")
    for secret in (PASS, BADPASS, B64(PASS), B64(BADPASS),
                   B64(f"\0alice\0{PASS}"), B64(f"\0alice\0{BADPASS}"),
                   "bobs-" + PASS, B64("bobs-" + PASS)):
        check(secret not in log, f"secret not in the log: {secret[:8]}...")
    d.finish()


def test_sender_login_maps():
    d, port, _ = daemon("smtpd_sender_login_maps = cdb:@CONF@/senders\n")
    d.env.write("senders", "alice@test.example alice\n"
                "@shared.example alice, bob\nbob@test.example bob\n")
    r = d.env.run("postmap", f"cdb:{d.env.conf}/senders")
    check(r.returncode == 0, "postmap senders", r.stderr)
    c = Chat(port)
    c.cmd("EHLO client.example")
    r = c.cmd("MAIL FROM:<bob@test.example>")
    check(r.startswith("250"), "unauthenticated: sender not checked", r)
    c.cmd("RSET")
    check(c.cmd("AUTH PLAIN " + B64(f"\0alice\0{PASS}")).startswith("235"), "auth")
    r = c.cmd("MAIL FROM:<bob@test.example>")
    check(r == "553 5.7.1 <bob@test.example>: Sender address rejected: "
          "not owned by user alice", "someone else's address: 553 5.7.1", r)
    r = c.cmd("MAIL FROM:<nobody@elsewhere.example>")
    check(r.startswith("553 5.7.1"), "an address nobody owns: 553", r)
    r = c.cmd("MAIL FROM:<Alice@test.example>")
    check(r.startswith("250"), "own address: 250", r)
    c.cmd("RSET")
    r = c.cmd("MAIL FROM:<anyone@shared.example>")
    check(r.startswith("250"), "@domain entry listing alice: 250", r)
    c.cmd("RSET")
    r = c.cmd("MAIL FROM:<>")
    check(r.startswith("250"), "null sender: 250", r)
    c.close()
    check("reject: MAIL from" in d.maillog() and "not owned by user alice" in d.maillog(),
          "sender rejection logged", d.maillog()[-600:])
    d.finish()


def test_error_limit():
    d, port, _ = daemon(extra_o=" -o smtpd_hard_error_limit=3")
    c = Chat(port)
    c.cmd("EHLO client.example")
    replies = [c.cmd("AUTH PLAIN " + B64(f"\0alice\0{BADPASS}{i}")) for i in range(3)]
    check(all(r.startswith("535") for r in replies[:2]), "two 535", repr(replies))
    check(replies[2].startswith("535") and "421 4.7.0" in replies[2] + c.reply(),
          "third failure reaches smtpd_hard_error_limit: 421", repr(replies))
    check(c.closed(), "disconnected after the error limit")
    c.close()
    d.finish()


def test_rate_limit():
    d, port, _ = daemon("smtpd_client_auth_rate_limit = 2\n")
    c = Chat(port)
    c.cmd("EHLO client.example")
    r1 = c.cmd("AUTH PLAIN " + B64(f"\0alice\0{BADPASS}"))
    check(r1.startswith("535"), "first failure: 535", r1)
    t0 = time.time()
    r2 = c.cmd("AUTH PLAIN " + B64(f"\0alice\0{BADPASS}"))
    r2 += "\n" + c.reply()
    check(r2.startswith("535") and "421 4.7.0" in r2,
          "second failure reaches the limit: 535 then 421 4.7.0", r2)
    check(time.time() - t0 >= 0.9, "the refusal is slowed down",
          f"{time.time() - t0:.2f}s")
    check(c.closed(), "disconnected at the limit")
    c.close()
    c = Chat(port)
    c.cmd("EHLO client.example")
    r = c.cmd("AUTH PLAIN " + B64(f"\0alice\0{PASS}"))
    r += "\n" + c.reply() if not r.startswith("421") else ""
    check(r.startswith("421 4.7.0"), "a new connection within the minute: 421 "
          "even with the right password", r)
    c.close()
    check("too many failed AUTH attempts" in d.maillog(), "limit logged")
    d.finish()
    # clients in mynetworks are exempt (Postfix's anvil exceptions)
    d, port, _ = daemon("smtpd_client_auth_rate_limit = 1\nmynetworks = 127.0.0.0/8\n")
    c = Chat(port)
    c.cmd("EHLO client.example")
    rs = [c.cmd("AUTH PLAIN " + B64(f"\0alice\0{BADPASS}")) for _ in range(2)]
    r = c.cmd("AUTH PLAIN " + B64(f"\0alice\0{PASS}"))
    check(all(x.startswith("535") for x in rs) and r.startswith("235"),
          "mynetworks: no AUTH rate limit", repr(rs + [r]))
    c.close()
    d.finish()


def test_timing():
    """An unknown user costs a hash too (no enumeration by timing)."""
    d, port, _ = daemon()
    c = Chat(port)
    c.cmd("EHLO client.example")

    def cost(user):
        best = 1e9
        for _ in range(5):
            t = time.perf_counter()
            c.cmd("AUTH PLAIN " + B64(f"\0{user}\0{BADPASS}"))
            best = min(best, time.perf_counter() - t)
        return best
    known, unknown = cost("alice"), cost("nosuchuser")
    print(f"AUTH failure: known user {known * 1000:.2f} ms, unknown {unknown * 1000:.2f} ms")
    check(unknown > known * 0.5, "unknown user costs about a hash",
          f"{known:.4f} {unknown:.4f}")
    c.close()
    d.finish()


def main():
    ensure_user()
    for t in (test_passwd, test_passwd_tty, test_auth, test_sender_login_maps, test_error_limit,
              test_rate_limit, test_timing):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
