"""smtpd processes that serve more than one connection (max_use,
max_idle; src/master_smtpd.c and src/smtpd_next.c): the next connection
goes to the idle process, which starts with a clean session and knows the
new client's address; max_use ends a process, max_idle ends an idle one,
a reload retires them (busy ones after their session), max_use = 1 gives
one process per connection, STARTTLS works in every session of a process,
an idle process counts for no client's connection limit, and stop ends
idle processes. Ports: free ones on 127.0.0.1."""
import contextlib
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port, line, read_line  # noqa: E402
from test_tls import gencert  # noqa: E402


class Session:
    """A line-oriented SMTP client on a raw socket."""

    def __init__(self, port, source=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=source)
        self.f = self.s.makefile("rb")
        self.banner = self.reply()

    def reply(self):
        lines = []
        while True:
            ln = self.f.readline()
            if not ln:
                return b"".join(lines)
            lines.append(ln)
            if ln[3:4] != b"-":
                return b"".join(lines)

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.f.close()
        self.s.close()


@contextlib.contextmanager
def daemon(extra=""):
    """A daemon with one smtpd service on a free port: (d, port)."""
    port = free_port()
    d = Lst(line(port), extra)
    d.start()
    try:
        yield d, port
    finally:
        d.finish()


def quit_session(port):
    """One whole session: greeting, QUIT, close."""
    s = Session(port)
    s.cmd("QUIT")
    s.close()


def one_idle(d):
    """The pid of the one idle smtpd, when there is exactly one."""
    idle = [p for p in d.sessions() if p not in d.busy()]
    return idle[0] if len(idle) == 1 and not d.busy() else None


def test_next_connection_same_process():
    with daemon() as (d, port):
        a = Session(port)
        check(a.banner.startswith(b"220 "), "first session: 220", repr(a.banner))
        first = d.busy()
        check(len(first) == 1, "one busy smtpd", str(first))
        check(a.cmd("EHLO one.example").startswith(b"250"), "EHLO")
        check(a.cmd(f"MAIL FROM:<left@one.example>").startswith(b"250"), "MAIL")
        a.close()  # mid-transaction, no QUIT
        check(wait_for(lambda: one_idle(d) is not None, 10),
              "the process waits for another connection", str(d.sessions()))
        pid = one_idle(d)
        check(first == [pid], "it is the first session's process")
        # a client from another loopback address: the new session must
        # know it (log, Received:)
        b = Session(port, ("127.0.0.2", 0))
        check(b.banner.startswith(b"220 "), "second session: 220", repr(b.banner))
        check(d.busy() == [pid], "served by the same process",
              f"{d.busy()} vs {pid}")
        check(b.cmd("EHLO two.example").startswith(b"250"), "EHLO again")
        r = b.cmd(f"RCPT TO:<{USER}@test.example>")
        check(r.startswith(b"503"), "no transaction left from the last client",
              repr(r))
        check(b.cmd("MAIL FROM:<two@two.example>").startswith(b"250"), "MAIL")
        check(b.cmd(f"RCPT TO:<{USER}@test.example>").startswith(b"250"), "RCPT")
        check(b.cmd("DATA").startswith(b"354"), "DATA")
        r = b.cmd("Subject: reuse two\r\n\r\nsecond client\r\n.")
        check(r.startswith(b"250 2.0.0"), "queued", repr(r))
        check(b.cmd("QUIT").startswith(b"221"), "QUIT")
        b.close()
        check(wait_for(lambda: "Subject: reuse two" in d.mbox(), 20),
              "delivered", d.maillog()[-1500:])
        box = d.mbox()
        rec = box[box.find("Received:", box.rfind("From two@")):]
        check("[127.0.0.2]" in rec[:300] and "two.example" in rec[:300],
              "Received: names the second client", rec[:300])
        check("connect from unknown[127.0.0.2]" in d.maillog(),
              "the log names the second client", d.maillog()[-800:])
        check("left@one.example" not in box, "nothing of the first client's")


def test_max_use():
    with daemon("max_use = 2\n") as (d, port):
        pids = []
        for i in range(3):
            s = Session(port)
            check(s.banner.startswith(b"220"), f"session {i + 1}: 220")
            pids.append(d.busy())
            s.cmd("QUIT")
            s.close()
            wait_for(lambda: not d.busy(), 10)
        check(len(pids[0]) == 1 and pids[0] == pids[1],
              "sessions 1 and 2: the same process", str(pids))
        check(pids[2] and pids[2] != pids[0],
              "session 3: a new process (max_use = 2)", str(pids))
        check(wait_for(lambda: pids[0][0] not in d.sessions(), 10),
              "the used-up process exited", str(d.sessions()))


def test_max_use_one():
    with daemon("max_use = 1\n") as (d, port):
        s = Session(port)
        kid = d.busy()
        env = open(f"/proc/{kid[0]}/environ", "rb").read() if kid else b""
        check(b"TINYMTA_LINK=" not in env, "max_use = 1: no link to the master")
        s.cmd("QUIT")
        s.close()
        check(wait_for(lambda: not d.sessions(), 10),
              "max_use = 1: the process exits after its session")


def test_max_idle():
    with daemon("max_idle = 1s\n") as (d, port):
        quit_session(port)
        check(wait_for(lambda: one_idle(d) is not None, 10), "idle process")
        t0 = time.time()
        check(wait_for(lambda: not d.sessions(), 15),
              "max_idle = 1s: the idle process exits", str(d.sessions()))
        check(time.time() - t0 < 10, "within a few seconds",
              f"{time.time() - t0:.1f} s")
        s = Session(port)
        check(s.banner.startswith(b"220"), "a new process serves the next one")
        s.close()


def test_reload_retires():
    with daemon("smtpd_banner = $myhostname OLD\n") as (d, port):
        busy = Session(port)
        check(b"OLD" in busy.banner, "busy session has the old banner")
        held = d.busy()
        quit_session(port)
        check(wait_for(lambda: len(d.busy()) == 1 and len(d.sessions()) == 2,
                       10), "one busy, one idle process")
        idle = (set(d.sessions()) - set(held)).pop()
        main = open(os.path.join(d.env.conf, "main.cf")).read()
        d.env.write("main.cf", main.replace("OLD", "NEW"))
        r = d.env.run("tinymta", "reload")
        check(r.returncode == 0, "reload", r.stderr)
        s = Session(port)
        check(b"NEW" in s.banner, "after reload: the new banner", repr(s.banner))
        check(d.busy() and not set(d.busy()) & {idle}, "not the old process")
        s.close()
        check(wait_for(lambda: idle not in d.sessions(), 10),
              "the idle process of the old configuration exited")
        check(busy.cmd("NOOP").startswith(b"250"), "the busy session goes on")
        busy.cmd("QUIT")
        busy.close()
        check(wait_for(lambda: not set(held) & set(d.sessions()), 10),
              "and its process exits after it", f"{held} {d.sessions()}")


def test_starttls_each_session():
    port = free_port()
    d = Lst(line(port))
    cert, key = gencert(d)
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main + f"smtpd_tls_cert_file = {cert}\n"
                f"smtpd_tls_key_file = {key}\nsmtpd_tls_security_level = may\n")
    d.start()
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        pids = []
        for i in range(3):
            s = Session(port)
            s.cmd("EHLO tls.example")
            r = s.cmd("STARTTLS")
            check(r.startswith(b"220"), f"session {i + 1}: STARTTLS 220", repr(r))
            try:
                t = ctx.wrap_socket(s.s, server_hostname="test.example")
                t.sendall(b"EHLO tls.example\r\n")
                check(t.recv(4096).startswith(b"250"),
                      f"session {i + 1}: EHLO under TLS")
                t.sendall(b"QUIT\r\n")
                t.recv(512)
                t.close()
            except (OSError, ssl.SSLError) as e:
                check(False, f"session {i + 1}: TLS handshake", repr(e))
            pids.append(tuple(d.sessions()))
            wait_for(lambda: not d.busy(), 10)
        check(len(set(pids)) == 1 and len(pids[0]) == 1,
              "one process served all three TLS sessions", str(pids))
    finally:
        d.finish()


def test_idle_counts_for_no_limit():
    with daemon("smtpd_client_connection_count_limit = 1\n"
                "mynetworks = 192.0.2.0/24\n") as (d, port):
        quit_session(port)
        check(wait_for(lambda: one_idle(d) is not None, 10), "idle process")
        a = Session(port)
        check(a.banner.startswith(b"220"), "one connection: served by it")
        b = socket.create_connection(("127.0.0.1", port), timeout=5)
        r = read_line(b)
        check(r and r.startswith(b"421 4.7.0"), "a second one at once: 421",
              repr(r))
        b.close()
        a.close()


def test_stop_ends_idle():
    with daemon() as (d, port):
        held = [Session(port) for _ in range(3)]
        for x in held:
            x.close()
        check(wait_for(lambda: len(d.sessions()) >= 1 and not d.busy(), 10),
              "idle processes")
        kids = d.sessions()
        r = d.stop()
        check(r.returncode == 0, "stop", r.stderr)
        check(wait_for(lambda: not any(os.path.exists(f"/proc/{p}")
                                       for p in kids), 10),
              "stop ends the idle smtpd processes", str(kids))


def main():
    ensure_user()
    for t in (test_next_connection_same_process, test_max_use,
              test_max_use_one, test_max_idle, test_reload_retires,
              test_starttls_each_session, test_idle_counts_for_no_limit,
              test_stop_ends_idle):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
