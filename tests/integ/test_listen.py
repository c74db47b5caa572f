"""The master's network listeners: master.cf inet services bound by the
master (root), one smtpd per connection as mail_owner, maxproc holding
extra connections in the backlog (a session ends when its process exits
or goes idle for the next connection: max_use, test_smtpd_reuse.py), per-client count and rate limits (421
from the master), reload (new port opened, old closed, a broken master.cf
refused with 78), stop, IPv6, 1000 connections at once, and SMTP end to
end into a mailbox. Ports: free ones on 127.0.0.1 / ::1, chosen by the
kernel. Tests that need the smtpd session skip until `tinymta smtpd`
exists."""
import json
import os
import pwd
import re
import resource
import selectors
import signal
import stat
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import BIN, check, done, mail_owner  # noqa: E402
from test_daemon import Daemon, ROOT, USER, ensure_user, wait_for  # noqa: E402

SKIPPED = []


def have_smtpd():
    r = subprocess.run([BIN, "smtpd", "-h"], capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    return b"unknown command" not in r.stderr


def need_smtpd(name):
    if have_smtpd():
        return True
    SKIPPED.append(name)
    return False


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def have_ipv6():
    try:
        free_port(socket.AF_INET6, "::1")
        return True
    except OSError:
        return False


def connect(port, host="127.0.0.1", timeout=3.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def listening(port, host="127.0.0.1"):
    try:
        connect(port, host, 2.0).close()
        return True
    except OSError:
        return False


def read_line(s, timeout=5.0):
    """The first reply line, b"" at EOF, None on timeout."""
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = s.recv(512)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        return None
    except OSError:
        return b""
    return buf


class Lst(Daemon):
    """A daemon with a master.cf and a mail log."""

    def __init__(self, master_cf, extra=""):
        super().__init__(extra)
        self.log = os.path.join(self.env.dir, "maillog")
        main = open(os.path.join(self.env.conf, "main.cf")).read()
        self.env.write("main.cf", main + f"maillog_file = {self.log}\n")
        self.env.write("master.cf", master_cf)

    def maillog(self):
        try:
            return open(self.log, errors="replace").read()
        except FileNotFoundError:
            return ""

    def master_pid(self):
        rc, out = self.status()
        return json.loads(out)["pid"] if rc == 0 else 0

    def sessions(self):
        """pids of the master's smtpd children."""
        out = []
        for p in subprocess.run(["pgrep", "-P", str(self.master_pid())],
                                capture_output=True, text=True).stdout.split():
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
            except FileNotFoundError:
                continue
            if len(cmd) > 1 and cmd[1] == b"smtpd":
                out.append(int(p))
        return out

    def busy(self):
        """pids of smtpd children serving a client: an idle reusable
        smtpd (max_use) has /dev/null on descriptor 0."""
        out = []
        for p in self.sessions():
            try:
                if os.readlink(f"/proc/{p}/fd/0") != "/dev/null":
                    out.append(p)
            except OSError:
                pass
        return out

    def finish(self):
        self.stop()
        self.env.cleanup()


def socket_inodes(port):
    """Inodes of the LISTEN sockets on port, from /proc/net/tcp{,6}."""
    found = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for ln in lines:
            parts = ln.split()
            if int(parts[1].split(":")[1], 16) == port and parts[3] == "0A":
                found.add(parts[9])
    return found


def fd_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:["):
            out.add(t[8:-1])
    return out


def uids(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("Uid:"):
                return [int(u) for u in ln.split()[1:]]
    return []


def line(port, extra=""):
    return f"127.0.0.1:{port} inet n - n - - smtpd{extra}\n"


def test_bound_by_master():
    port = free_port()
    d = Lst(line(port, " -o smtpd_timeout=77s") +
            f"127.0.0.1:{free_port()} inet n - n - - pop3d\n")
    d.start()
    pid = d.master_pid()
    inodes = socket_inodes(port)
    check(len(inodes) == 1, "one listening socket on the port", str(inodes))
    check(inodes and inodes <= fd_inodes(pid), "the master holds the listener")
    if ROOT:
        check(uids(pid) == [0, 0, 0, 0], "the master runs as root", str(uids(pid)))
    rc, out = d.status()
    st = json.loads(out) if rc == 0 else {}
    check(st.get("listeners") == 2, "status: 2 listeners (smtpd, pop3d)", out)
    if need_smtpd("session runs as mail_owner"):
        s = connect(port)
        banner = read_line(s)
        check(banner and banner.startswith(b"220 "), "220 banner", repr(banner))
        kids = d.sessions()
        owner = pwd.getpwnam("tinymta" if ROOT else USER).pw_uid
        check(len(kids) == 1, "one smtpd child while connected", str(kids))
        check(all(uids(k) == [owner] * 4 for k in kids),
              "smtpd runs as mail_owner", str([uids(k) for k in kids]))
        for k in kids[:1]:
            env = dict(e.split(b"=", 1) for e in
                       open(f"/proc/{k}/environ", "rb").read().split(b"\0") if b"=" in e)
            cmd = open(f"/proc/{k}/cmdline", "rb").read().split(b"\0")
            me = s.getsockname()
            check(env.get(b"TINYMTA_CLIENT_ADDR") == b"127.0.0.1" and
                  env.get(b"TINYMTA_CLIENT_PORT") == str(me[1]).encode() and
                  env.get(b"TINYMTA_SERVER_ADDR") == b"127.0.0.1" and
                  env.get(b"TINYMTA_SERVER_PORT") == str(port).encode() and
                  env.get(b"TINYMTA_SERVICE") == f"127.0.0.1:{port}".encode(),
                  "TINYMTA_* environment of the session", repr(env))
            check(cmd[1:4] == [b"smtpd", b"-o", b"smtpd_timeout=77s"],
                  "smtpd gets the service's -o options", repr(cmd))
        s.close()
        check(wait_for(lambda: not d.busy(), 10), "session gone after close")
    d.finish()


def test_start_port_in_use():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    d = Lst(line(port))
    r = d.env.run("tinymta", "start")
    check(r.returncode == 71, "start with the port in use exits 71",
          repr(r.returncode) + r.stderr.decode())
    check(f"cannot listen on 127.0.0.1 port {port}" in d.maillog(),
          "the log names the address", d.maillog()[-500:])
    check(d.status()[0] == 3, "not running after the failed start")
    blocker.close()
    d.start()
    check(listening(port), "starts once the port is free")
    d.finish()


def test_rate_limit():
    port = free_port()
    d = Lst(line(port), "smtpd_client_connection_rate_limit = 2\n"
            "mynetworks = 192.0.2.0/24\n")
    d.start()
    replies = []
    for _ in range(3):
        s = connect(port)
        replies.append(read_line(s))
        s.close()
    want = b"421 4.7.0 test.example Error: too many connections from 127.0.0.1\r\n"
    check(replies[2] == want, "third connection in a minute: 421 from the master",
          repr(replies))
    check(all(r != want for r in replies[:2]), "first two not refused", repr(replies))
    check(wait_for(lambda: "Connection rate limit exceeded: 3 from unknown[127.0.0.1]"
                   " for service 127.0.0.1:" in d.maillog(), 5),
          "rate limit logged", d.maillog()[-800:])
    d.finish()
    # mynetworks (loopback by default) is exempt
    port = free_port()
    d = Lst(line(port), "smtpd_client_connection_rate_limit = 1\n")
    d.start()
    replies = []
    for _ in range(3):
        s = connect(port)
        replies.append(read_line(s, 2))
        s.close()
    check(not any(r and r.startswith(b"421") for r in replies),
          "clients in mynetworks are exempt", repr(replies))
    d.finish()
    # the master expands mynetworks as smtpd does (cidr_list.c): a
    # /file/name with a host name exempts; a "!" entry before it does not
    for nets, limited in (("# trusted\nlocalhost\n", False),
                          ("!127.0.0.1, 127.0.0.0/8\n", True)):
        port = free_port()
        d = Lst(line(port), "smtpd_client_connection_rate_limit = 1\n")
        path = d.env.write("nets", nets)
        main = open(os.path.join(d.env.conf, "main.cf")).read()
        d.env.write("main.cf", main + f"mynetworks = {path}\n")
        d.start()
        replies = []
        for _ in range(3):
            s = connect(port)
            replies.append(read_line(s, 2))
            s.close()
        refused = any(r and r.startswith(b"421") for r in replies)
        check(refused == limited, f"mynetworks file {nets!r}: limited "
              f"{limited}", repr(replies))
        d.finish()
    # a per-service -o override
    port = free_port()
    d = Lst(line(port, " -o smtpd_client_connection_rate_limit=1"),
            "mynetworks = 192.0.2.0/24\n")
    d.start()
    replies = []
    for _ in range(2):
        s = connect(port)
        replies.append(read_line(s, 2))
        s.close()
    check(replies[1] and replies[1].startswith(b"421 4.7.0"),
          "-o smtpd_client_connection_rate_limit=1 applies", repr(replies))
    d.finish()


def test_count_limit():
    if not need_smtpd("connection count limit"):
        return
    port = free_port()
    d = Lst(line(port), "smtpd_client_connection_count_limit = 2\n"
            "mynetworks = 192.0.2.0/24\n")
    d.start()
    held = [connect(port) for _ in range(2)]
    banners = [read_line(s) for s in held]
    check(all(b and b.startswith(b"220") for b in banners), "two sessions", repr(banners))
    s = connect(port)
    r = read_line(s)
    check(r == b"421 4.7.0 test.example Error: too many connections from 127.0.0.1\r\n",
          "third concurrent connection: 421", repr(r))
    check(read_line(s, 2) == b"", "the master closes after 421")
    s.close()
    check(len(d.sessions()) == 2, "no child for the refused connection")
    held[0].close()
    check(wait_for(lambda: len(d.busy()) == 1, 10), "a session ended")
    s = connect(port)
    r = read_line(s)
    check(r and r.startswith(b"220"), "below the limit again: served", repr(r))
    s.close()
    for h in held[1:]:
        h.close()
    check("Connection concurrency limit exceeded: 3 from unknown[127.0.0.1]"
          in d.maillog(), "concurrency limit logged")
    d.finish()


def test_maxproc_backlog():
    if not need_smtpd("maxproc backlog"):
        return
    port = free_port()
    d = Lst(f"127.0.0.1:{port} inet n - n - 2 smtpd\n")
    d.start()
    held = [connect(port) for _ in range(2)]
    check(all((read_line(s) or b"").startswith(b"220") for s in held),
          "two sessions at maxproc 2")
    extra = connect(port)
    check(read_line(extra, 1.5) is None, "a third waits in the backlog (no reply)")
    check(len(d.sessions()) == 2, "still two smtpd processes", str(d.sessions()))
    held[0].close()
    r = read_line(extra, 10)
    check(r and r.startswith(b"220"), "served once a session closes", repr(r))
    for s in held[1:] + [extra]:
        s.close()
    check(d.status()[0] == 0, "master alive")
    d.finish()


def test_reload():
    a, b = free_port(), free_port()
    d = Lst(line(a))
    d.start()
    check(listening(a), "listening on the first port")
    before = socket_inodes(a)
    r = d.env.run("tinymta", "reload")
    check(r.returncode == 0 and socket_inodes(a) == before,
          "reload without change keeps the same socket", r.stderr)
    d.env.write("master.cf", line(b))
    r = d.env.run("tinymta", "reload")
    check(r.returncode == 0, "reload with a new port", r.stderr)
    check(listening(b), "new port open after reload")
    check(not listening(a), "old port closed after reload")
    d.env.write("master.cf", line(b) + "bogus inet n - n - - smtpd\n")
    r = d.env.run("tinymta", "reload")
    check(r.returncode == 78, "broken master.cf: reload exits 78",
          repr(r.returncode) + r.stderr.decode())
    check(b"master.cf, line 2" in r.stderr, "the reply names the line", r.stderr)
    check(listening(b), "old listener still works after a refused reload")
    check(d.status()[0] == 0, "still running")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    c = blocker.getsockname()[1]
    d.env.write("master.cf", line(b) + line(c))
    r = d.env.run("tinymta", "reload")
    check(r.returncode == 71, "port in use on reload: 71", r.stderr)
    check(b"fatal: cannot listen on 127.0.0.1 port" in r.stderr,
          "the reply says why", r.stderr)
    check(listening(b), "old listeners kept after a failed reload")
    blocker.close()
    pids = d.pids()
    held = None
    if have_smtpd():
        held = connect(b)
        check((read_line(held) or b"").startswith(b"220"), "a session open at stop")
        pids = d.pids()
    t0 = time.time()
    r = d.stop()
    check(r.returncode == 0 and not listening(b), "stop closes the port")
    # An idle smtpd answers SIGTERM with 421 and leaves at once; the
    # master's SIGKILL after 10 s is only the backstop.
    check(time.time() - t0 < 5, "stop with a session open ends at once",
          f"{time.time() - t0:.1f} s")
    if held:
        r = read_line(held, 3)
        check(r is not None and (r == b"" or r.startswith(b"421")),
              "the session ends at stop (421 or EOF)", repr(r))
        held.close()
    check(wait_for(lambda: all(not os.path.exists(f"/proc/{p}") for p in pids), 10),
          "no process left after stop")
    d.env.cleanup()


def test_ipv6_and_interfaces():
    if not have_ipv6():
        SKIPPED.append("IPv6 (no ::1 here)")
        return
    port = free_port(socket.AF_INET6, "::1")
    d = Lst(f"[::1]:{port} inet n - n - - smtpd\n")
    d.start()
    check(listening(port, "::1"), "[::1]:port listener")
    check(not listening(port), "not on 127.0.0.1")
    d.finish()
    port = free_port()
    d = Lst(f"{port} inet n - n - - smtpd\n")
    d.start()
    check(listening(port) and listening(port, "::1"),
          "port only: 127.0.0.1 and ::1 (inet_interfaces = loopback-only)")
    d.finish()
    port = free_port()
    d = Lst(f"{port} inet n - n - - smtpd\n", "inet_protocols = ipv4\n")
    d.start()
    check(listening(port) and not listening(port, "::1"),
          "inet_protocols = ipv4: no IPv6 listener")
    d.finish()


def flood(port, n, seconds):
    """Open n connections at once; answer each 220 with QUIT and read to
    EOF. Returns counts of 220s, 421s and others (resets, silence)."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, {"buf": b"", "quit": False})
    got = {"220": 0, "421": 0}
    end = time.time() + seconds
    left = n
    while left and time.time() < end:
        for key, _ in sel.select(timeout=1):
            s, st = key.fileobj, key.data
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            st["buf"] += data
            if data and st["buf"].startswith(b"220") and b"\n" in st["buf"] \
                    and not st["quit"]:
                st["quit"] = True
                try:
                    s.send(b"QUIT\r\n")
                except OSError:
                    pass
            if data:
                continue
            code = st["buf"][:3].decode("latin-1")
            if code in got:
                got[code] += 1
            sel.unregister(s)
            s.close()
            left -= 1
    for s in socks:
        s.close()
    return got["220"], got["421"], n - got["220"] - got["421"]


def test_flood():
    if not need_smtpd("1000 connections at once"):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    port = free_port()
    d = Lst(line(port))
    d.start()
    t0 = time.time()
    served, refused, other = flood(port, 1000, 90)
    check(served + refused == 1000,
          "1000 connections: each served (220) or refused (421)",
          f"served {served}, refused {refused}, other {other}, "
          f"{time.time() - t0:.1f} s")
    check(d.status()[0] == 0, "master alive after the flood")
    s = connect(port)
    r = read_line(s)
    check(r and r.startswith(b"220"), "and accepting", repr(r))
    s.close()
    check(wait_for(lambda: not d.busy(), 30), "every session ended")
    d.finish()


def qmgr_pid(d):
    for p in subprocess.run(["pgrep", "-P", str(d.master_pid())],
                            capture_output=True, text=True).stdout.split():
        try:
            if open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[1:2] == [b"qmgr"]:
                return int(p)
        except (FileNotFoundError, IndexError):
            pass
    return 0


def pipelined_messages(port, n, subject):
    """n messages in one session, each transaction pipelined; the number
    of 250 replies to DATA's end."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    ok = 0
    try:
        f.readline()
        s.sendall(b"EHLO client.example\r\n")
        while f.readline()[3:4] == b"-":
            pass
        for i in range(n):
            s.sendall(f"MAIL FROM:<a@client.example>\r\nRCPT TO:<{USER}@test.example>\r\n"
                      f"DATA\r\n".encode())
            replies = [f.readline() for _ in range(3)]
            if not replies[2].startswith(b"354"):
                break
            s.sendall(f"Subject: {subject} {i}\r\n\r\nbody\r\n.\r\n".encode())
            ok += f.readline().startswith(b"250 ")
        s.sendall(b"QUIT\r\n")
    except OSError:  # a timeout: the count so far
        pass
    s.close()
    return ok


def test_qmgr_not_reading():
    """A queue manager that reads nothing (stopped on a console, or stuck
    on a slow disk) must not stop the master: every new message wakes it
    through the master, and a master blocked on that full link would
    neither accept nor reap (it did, after a few hundred messages)."""
    if not need_smtpd("qmgr stopped"):
        return
    port = free_port()
    d = Lst(line(port))
    d.start()
    q = qmgr_pid(d)
    check(q > 0, "qmgr found")
    if not q:
        d.finish()
        return
    os.kill(q, signal.SIGSTOP)
    try:
        t0 = time.time()
        got = sum(pipelined_messages(port, 300, "qmgr-stopped") for _ in range(3))
        check(got == 900, "900 messages accepted while qmgr reads nothing",
              f"{got} in {time.time() - t0:.1f} s")
        s = connect(port)
        r = read_line(s)
        check(r and r.startswith(b"220"), "the master still accepts", repr(r))
        s.close()
    finally:
        os.kill(q, signal.SIGCONT)
    check(wait_for(lambda: d.mbox().count("Subject: qmgr-stopped") == 900, 60),
          "all 900 delivered once qmgr runs again",
          f"{d.mbox().count('Subject: qmgr-stopped')} delivered")
    # what waited for one mailbox goes in batches of up to 32 (LOCAL_ITEMS)
    agents = set(re.findall(r"tinymta/local\[(\d+)\]: \S+: to=", d.maillog()))
    check(0 < len(agents) <= 900 // 32 + 6, "in batches: at most 34 local agents",
          f"{len(agents)} agents")
    d.finish()


def test_smtpd_wakes_qmgr():
    """smtpd wakes qmgr itself (a datagram to public/qmgr, mode 0600):
    with queue_run_delay = 300s, mail that arrives after qmgr's first scan
    is delivered at once, not at the next scan."""
    if not need_smtpd("smtpd wakes qmgr"):
        return
    port = free_port()
    d = Lst(line(port))
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main + "queue_run_delay = 300s\n")
    d.start()
    sock = os.path.join(d.env.spool, "public", "qmgr")
    check(wait_for(lambda: os.path.exists(sock), 10), "qmgr binds public/qmgr")
    time.sleep(1.5)  # past qmgr's first scan of incoming/
    st = os.stat(sock)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
          and st.st_uid == pwd.getpwnam(mail_owner()).pw_uid,
          "public/qmgr: a socket, mode 0600, owned by mail_owner", oct(st.st_mode))
    for i in range(3):
        t0 = time.time()
        got = pipelined_messages(port, 1, f"woken-{i}")
        check(got == 1 and wait_for(lambda: f"Subject: woken-{i} 0" in d.mbox(), 5),
              f"message {i} delivered at once", f"{time.time() - t0:.1f} s")
    d.finish()


def test_new_user_seen():
    """smtpd remembers passwd answers while /etc/passwd is unchanged
    (src/pwcache.c): a user added or removed during a session is seen at
    the next RCPT of the same process."""
    if not need_smtpd("a new user seen"):
        return
    if not ROOT:
        print("SKIP a new user seen: needs root (useradd)", flush=True)
        return
    name = "tmnewuser"
    subprocess.run(["userdel", name], capture_output=True)
    port = free_port()
    d = Lst(line(port))
    d.start()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")

    def cmd(text):
        s.sendall(text.encode() + b"\r\n")
        while True:
            ln = f.readline()
            if ln[3:4] != b"-":
                return ln

    try:
        f.readline()
        cmd("EHLO client.example")
        cmd("MAIL FROM:<a@client.example>")
        r = cmd(f"RCPT TO:<{name}@test.example>")
        check(r.startswith(b"550 5.1.1"), "unknown user: 550 5.1.1", repr(r))
        r = cmd(f"RCPT TO:<{name}@test.example>")
        check(r.startswith(b"550 5.1.1"), "still unknown (remembered)", repr(r))
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True)
        r = cmd(f"RCPT TO:<{name}@test.example>")
        check(r.startswith(b"250"), "after useradd: 250", repr(r))
        subprocess.run(["userdel", name], check=True)
        r = cmd(f"RCPT TO:<{name}@test.example>")
        check(r.startswith(b"550 5.1.1"), "after userdel: 550 5.1.1 again", repr(r))
        cmd("QUIT")
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        s.close()
        d.finish()


def test_end_to_end():
    if not need_smtpd("SMTP end to end"):
        return
    port = free_port()
    d = Lst(line(port))
    d.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as c:
            code, _ = c.ehlo("client.example")
            check(code == 250, "EHLO 250")
            c.sendmail(f"sender@client.example", [f"{USER}@test.example"],
                       "Subject: over smtp\r\n\r\nhello through the listener\r\n")
    except Exception as e:  # noqa: BLE001
        check(False, "SMTP transaction", repr(e))
    check(wait_for(lambda: "Subject: over smtp" in d.mbox(), 20),
          "delivered into the mailbox", d.maillog()[-1500:])
    d.finish()


def main():
    ensure_user()
    for t in (test_bound_by_master, test_start_port_in_use, test_rate_limit,
              test_count_limit, test_maxproc_backlog, test_reload,
              test_ipv6_and_interfaces, test_flood, test_qmgr_not_reading,
              test_smtpd_wakes_qmgr, test_new_user_seen,
              test_end_to_end):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    if SKIPPED:
        print("skipped (no smtpd yet): " + ", ".join(SKIPPED))
    done()


if __name__ == "__main__":
    main()
