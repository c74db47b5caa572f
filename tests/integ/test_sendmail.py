#!/usr/bin/env python3
"""test_sendmail - the sendmail applet against the real binary: flags with
getopt semantics (the cron invocation of DESIGN.md), -t with To/Cc/Bcc,
lone "." with and without -i, canonical storage (CRLF -> LF, 8-bit
byte-exact), the exit codes of DESIGN.md (64 usage, 65 data, 73 cannot
create, 78 configuration), message_size_limit, NUL bytes, an unprivileged
submitter into maildrop/ (1733), the pickup wake-up datagram, and the fsync
of the commit.

Queue files are read back by a parser written from src/qfile.h and
docs/queue-format.md (and its SHA-256 is checked), so these tests do not
depend on postcat."""
import hashlib
import os
import pwd
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402

ROOT = os.geteuid() == 0
ASAN = "asan" in tmlib.BIN


# ---- the queue file, as docs/queue-format.md describes it ----

class QFile:
    def __init__(self, data):
        check(data[:4] == b"TMQF", "qfile magic")
        self.arrival, self.usec, self.flags = struct.unpack_from(
            "<QII", data, 8)
        self.attrs, self.rcpts, self.sender = {}, [], None
        content, pos, zeroed = [], 64, b""
        while pos < len(data):
            t = data[pos:pos + 1]
            n = struct.unpack_from("<I", data, pos + 1)[0]
            p = data[pos + 5:pos + 5 + n]
            if t == b"E":
                digest = hashlib.sha256(
                    data[:24] + b"\0" * 40 + zeroed).digest()
                check(p == digest, "qfile checksum")
                check(pos + 5 + n == len(data), "qfile E last")
                break
            rec = data[pos:pos + 5 + n]
            if t == b"A":
                k, _, v = p.partition(b"=")
                self.attrs[k.decode()] = v.decode("utf-8", "replace")
            elif t == b"S":
                self.sender = p.decode("utf-8", "replace")
            elif t == b"R":
                status, notify = p[0], p[1]
                alen = struct.unpack_from("<H", p, 204)[0]
                addr = p[206:206 + alen].decode("utf-8", "replace")
                self.rcpts.append((addr, notify, status))
                rec = data[pos:pos + 5] + bytes([0, notify, 0, 0]) + \
                    b"\0" * 200 + p[204:]
            elif t == b"C":
                content.append(p)
            zeroed += rec
            pos += 5 + n
        self.content = b"".join(content)
        self.addrs = [r[0] for r in self.rcpts]

    def header(self):
        return self.content.split(b"\n\n", 1)[0] + b"\n"

    def body(self):
        parts = self.content.split(b"\n\n", 1)
        return parts[1] if len(parts) > 1 else b""


class Spool:
    """A test environment with the queue directories sendmail needs."""

    def __init__(self, main_cf=""):
        self.env = tmlib.Env(main_cf)
        self.maildrop = os.path.join(self.env.spool, "maildrop")
        os.makedirs(self.maildrop)
        os.makedirs(os.path.join(self.env.spool, "public"))
        os.chmod(self.maildrop, 0o1733)
        if ROOT:  # as docs/queue-format.md lays it out
            owner = pwd.getpwnam(tmlib.mail_owner())
            os.chown(self.maildrop, owner.pw_uid, owner.pw_gid)

    def run(self, *args, **kw):
        return self.env.run("sendmail", *args, **kw)

    def entries(self):
        return sorted(os.listdir(self.maildrop))

    def files(self):
        return [e for e in self.entries() if not e.startswith(".")]

    def take(self):
        """The one queued message, removed from maildrop/."""
        names = self.files()
        check(len(names) == 1, "one queue file", repr(self.entries()))
        if not names:
            return None
        path = os.path.join(self.maildrop, names[0])
        with open(path, "rb") as f:
            q = QFile(f.read())
        q.name, q.stat = names[0], os.stat(path)
        os.unlink(path)
        return q

    def cleanup(self):
        self.env.cleanup()


def err(r):
    return r.stderr.decode("utf-8", "replace")


MSG = b"Subject: hello\n\nbody line\n"


def ok_run(sp, what, *args, input=MSG, **kw):
    r = sp.run(*args, input=input, **kw)
    check(r.returncode == 0, what, f"exit {r.returncode}: {err(r)}")
    return sp.take() if r.returncode == 0 else None


def test_basic(sp):
    q = ok_run(sp, "basic", "user@example.com")
    if not q:
        return
    me = pwd.getpwuid(os.getuid()).pw_name
    check(q.addrs == ["user@example.com"], "basic rcpt", repr(q.addrs))
    check(q.sender == f"{me}@test.example", "basic sender", q.sender)
    check(q.attrs.get("uid") == str(os.getuid()), "uid attr", repr(q.attrs))
    check(q.attrs.get("origin") == "sendmail", "origin attr")
    h = q.header()
    check(re.search(rb"^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d "
                    rb"[+-]\d{4}$", h, re.M), "Date added", h)
    check(re.search(rb"^Message-ID: <\d{14}\.[0-9A-F]{16}@test\.example>$",
                    h, re.M), "Message-ID added", h)
    check(re.search(rb"^From: " + me.encode() + rb"@test\.example$", h,
                    re.M), "From added", h)
    check(h.startswith(b"Subject: hello\n"), "headers kept first", h)
    check(q.body() == b"body line\n", "body", q.body())
    check(q.rcpts[0][1] == 0 and q.rcpts[0][2] == 0, "notify/status 0")
    check(re.fullmatch(r"[0-9A-V]{12,24}", q.name), "queue ID name", q.name)
    # the file is complete on its own: postcat reads it when it exists


def test_extract(sp):
    msg = (b"From: Alerts <alerts@box.example>\n"
           b"To: Admin <admin@example.com>, ops\n"
           b"Cc: \"Team, Ops\" <team@example.com>,\n"
           b"\tlate@example.com\n"
           b"Bcc: secret@example.com\n"
           b"bcc: (hidden) other@example.com\n"
           b"Subject: -t\n\nbody\n")
    q = ok_run(sp, "-t", "-t", "extra@example.com", input=msg)
    if not q:
        return
    want = ["extra@example.com", "admin@example.com", "ops@test.example",
            "team@example.com", "late@example.com", "secret@example.com",
            "other@example.com"]
    check(q.addrs == want, "-t recipients", repr(q.addrs))
    h = q.header()
    check(b"Bcc" not in h and b"bcc" not in h and b"secret" not in h,
          "Bcc removed", h)
    check(b"Cc: \"Team, Ops\" <team@example.com>,\n\tlate@example.com\n"
          in h, "Cc kept folded", h)
    check(h.count(b"From:") == 1 and b"From: Alerts" in h, "From kept", h)
    check(q.sender.endswith("@test.example"), "sender is the user",
          q.sender)
    # without -t the header recipients are not used
    q = ok_run(sp, "no -t", "only@example.com", input=msg)
    if q:
        check(q.addrs == ["only@example.com"], "no -t rcpts", repr(q.addrs))
        check(b"secret" not in q.content, "Bcc removed without -t")


def test_resent(sp):
    msg = (b"To: orig@example.com\nResent-From: fwd@example.com\n"
           b"Resent-To: new@example.com\nResent-Bcc: hid@example.com\n\nx\n")
    q = ok_run(sp, "resent", "-t", input=msg)
    if q:
        check(q.addrs == ["new@example.com", "hid@example.com"],
              "Resent-To used", repr(q.addrs))
        h = q.header()
        check(b"Resent-Bcc" not in h and b"Resent-Date:" in h and
              b"Resent-Message-ID:" in h and b"\nDate:" not in h,
              "Resent- headers added", h)


def test_dedup_and_bare(sp):
    msg = b"To: a@example.com, A@EXAMPLE.COM, b, a@example.com\n\nx\n"
    q = ok_run(sp, "dedup", "-t", "a@example.com", "b", input=msg)
    if q:
        check(q.addrs == ["a@example.com", "b@test.example",
                          "A@example.com"], "dedup", repr(q.addrs))


def test_flags(sp):
    msg = b"Subject: x\n\na\n.\nb\n"
    q = ok_run(sp, "-ti", "-ti", input=b"To: r@example.com\n" + msg)
    if q:
        check(q.body() == b"a\n.\nb\n", "-i keeps the dot line", q.body())
    q = ok_run(sp, "-t dot", "-t", input=b"To: r@example.com\n" + msg)
    if q:
        check(q.body() == b"a\n", "lone dot ends the message", q.body())
    q = ok_run(sp, "-oi", "-oi", "r@example.com", input=msg)
    if q:
        check(q.body() == b"a\n.\nb\n", "-oi", q.body())
    q = ok_run(sp, "-o i", "-o", "i", "r@example.com", input=msg)
    if q:
        check(q.body() == b"a\n.\nb\n", "-o i", q.body())
    q = ok_run(sp, "dot crlf", "r@example.com",
               input=b"Subject: x\r\n\r\na\r\n.\r\nb\r\n")
    if q:
        check(q.body() == b"a\n", "lone dot with CRLF", q.body())
    q = ok_run(sp, "dotdot", "r@example.com", input=b"\n..\n.x\n")
    if q:
        check(q.body() == b"..\n.x\n", "dot lines kept", q.body())
    # the cron invocation of DESIGN.md
    q = ok_run(sp, "cron", "-FCronDaemon", "-i", "-B8BITMIME", "-oem",
               "root", input=b"Subject: cron\n\nout\n.\n")
    if q:
        check(q.addrs == ["root@test.example"], "cron rcpt", repr(q.addrs))
        check(q.attrs.get("body") == "8BITMIME", "-B attr", repr(q.attrs))
        check(q.attrs.get("fullname") == "CronDaemon", "-F attr")
        check(re.search(rb"^From: CronDaemon <\S+@test\.example>$",
                        q.header(), re.M), "-F From", q.header())
        check(q.body() == b"out\n.\n", "cron -i", q.body())
    q = ok_run(sp, "-f", "-f", "alerts@box.example", "-F", "Smith, J.",
               "admin")
    if q:
        check(q.sender == "alerts@box.example", "-f sender", q.sender)
        check(b"From: \"Smith, J.\" <alerts@box.example>\n" in q.header(),
              "-F quoted", q.header())
    q = ok_run(sp, "-fuser", "-fuser", "admin")
    if q:
        check(q.sender == "user@test.example", "-fuser", q.sender)
    q = ok_run(sp, "-r", "-r", "<x@y.example>", "admin")
    if q:
        check(q.sender == "x@y.example", "-r <x>", q.sender)
    q = ok_run(sp, "-f <>", "-f", "<>", "admin")
    if q:
        check(q.sender == "", "null sender", repr(q.sender))
        check(b"From: MAILER-DAEMON@test.example\n" in q.header(),
              "null sender From")
    q = ok_run(sp, "-N -R -V", "-N", "success,failure", "-R", "hdrs",
               "-V", "env-1", "-v", "a@example.com", "b@example.com")
    if q:
        check([r[1] for r in q.rcpts] == [3, 3], "-N bits", repr(q.rcpts))
        check(q.attrs.get("ret") == "HDRS", "-R attr", repr(q.attrs))
        check(q.attrs.get("envid") == "env-1", "-V attr")
    q = ok_run(sp, "-Nnever", "-Nnever", "-Rfull", "a@example.com")
    if q:
        check(q.rcpts[0][1] == 8 and q.attrs.get("ret") == "FULL",
              "-N never", repr(q.rcpts))
    q = ok_run(sp, "--", "--", "-notaflag@example.com")
    if q:
        check(q.addrs == ["-notaflag@example.com"], "-- ends options")
    q = ok_run(sp, "no permutation", "a@example.com", "-t")
    if q:
        check(q.addrs == ["a@example.com", "-t@test.example"],
              "stops at the first non-option", repr(q.addrs))
    q = ok_run(sp, "list arg", "a@example.com, B <b@example.com>")
    if q:
        check(q.addrs == ["a@example.com", "b@example.com"], "list arg",
              repr(q.addrs))
    q = ok_run(sp, "-C", "-C", sp.env.conf, "a@example.com",
               env={"TINYMTA_CONFIG_DIR": "/nonexistent"})
    if q:
        check(q.sender.endswith("@test.example"), "-C dir")


def test_usage(sp):
    for args, what in ((["-X", "a@b"], "unknown flag"),
                       (["-tX", "a@b"], "unknown bundled flag"),
                       (["-f"], "missing argument"),
                       (["-N", "sometimes", "a@b"], "bad -N"),
                       (["-N", "never,success", "a@b"], "never combined"),
                       (["-R", "most", "a@b"], "bad -R"),
                       (["-B", "BINARYMIME", "a@b"], "bad -B"),
                       (["-bx", "a@b"], "bad -b"),
                       (["-f", "a b c", "x@y"], "bad -f"),
                       (["bad address@"], "bad recipient")):
        r = sp.run(*args, input=MSG)
        check(r.returncode == 64, f"{what}: exit 64",
              f"{r.returncode}: {err(r)}")
        check(err(r).startswith("sendmail: "), f"{what}: message", err(r))
    r = sp.run("-X", "a@b", input=MSG)
    check("usage: sendmail" in err(r), "usage text", err(r))
    r = sp.run("-bs", input="QUIT\r\n")  # SMTP: tests/integ/test_smtpd_bs.py
    check(r.returncode == 0 and r.stdout.startswith(b"220 ") and
          r.stdout.endswith(b"221 2.0.0 Bye\r\n"), "-bs speaks SMTP",
          r.stdout)
    check(sp.entries() == [], "nothing queued on usage errors",
          repr(sp.entries()))


def test_canonical(sp):
    q = ok_run(sp, "crlf", "a@example.com",
               input=b"Subject: x\r\nX-A: 1\r\n\r\nl1\r\nl2\rmid\r\n\r\nend")
    if q:
        check(q.content.count(b"\r") == 1, "CRLF stored as LF", q.content)
        check(q.body() == b"l1\nl2\rmid\n\nend\n", "lone CR kept, final LF",
              q.body())
    raw = bytes(range(0x80, 0x100)) + b"\n\xff\xfe invalid \xc3(\n"
    q = ok_run(sp, "8bit", "a@example.com",
               input=b"Subject: \xc3\xa4\n\n" + raw)
    if q:
        check(q.body() == raw, "8-bit byte-exact")
        check(b"Subject: \xc3\xa4\n" in q.header(), "8-bit header")
    q = ok_run(sp, "no header", "a@example.com", input=b"just a body\n")
    if q:
        check(q.content.endswith(b"\n\njust a body\n"),
              "blank line inserted before the body", q.content)
    q = ok_run(sp, "headers only", "a@example.com", input=b"Subject: s\n")
    if q:
        check(not q.content.endswith(b"\n\n"), "no separator added",
              q.content)
    q = ok_run(sp, "From_ line", "a@example.com",
               input=b"From someone Sat Nov 29 10:00:00 2025\nSubject: s\n"
               b"\nbody\n")
    if q:
        check(not q.content.startswith(b"From "), "From_ skipped",
              q.content)
    q = ok_run(sp, "empty input", "a@example.com", input=b"")
    if q:
        check(b"Date:" in q.content and q.body() == b"", "empty message")
    msg = (b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n"
           b"From: me@x.example\n\nb\n")
    q = ok_run(sp, "existing", "a@example.com", input=msg)
    if q:
        check(q.content == msg, "nothing added when present", q.content)
    # a CR at the very end of the 64 KiB input buffer: held for its LF
    for tail, want in ((b"\r\n", b"\n"), (b"\ry\n", b"\ry\n"),
                       (b"\r\r\n", b"\r\n")):
        q = ok_run(sp, "CR at the buffer end", "a@example.com",
                   input=b"x" * 65535 + tail + b"z\r\n")
        if q:
            check(q.body() == b"x" * 65535 + want + b"z\n",
                  "CR at the buffer end stored right", repr(tail))
    long_line = b"x" * 200000 + b"\r\n"
    q = ok_run(sp, "long line", "a@example.com",
               input=b"Subject: s\n\n" + long_line + b".\r\n")
    if q:
        check(q.body() == b"x" * 200000 + b"\n", "200 KB line")


def nothing_left(sp, what):
    check(sp.entries() == [], f"{what}: nothing queued, no temp file",
          repr(sp.entries()))


def test_data_errors(sp):
    cases = (
        (b"To: \"unbalanced <a@x.example>\n\nb\n", "To", "unbalanced quotes"),
        (b"Cc: John <a@x.example\n\nb\n", "Cc", "angle brackets"),
        (b"To: ok@x.example\nBcc: (open <a@x>\n\nb\n", "Bcc",
         "parentheses"),
        (b"To: <>\n\nb\n", "To", "empty address"),
        (b"To: a@-bad-.example\n\nb\n", "To", "domain"),
    )
    for msg, name, problem in cases:
        r = sp.run("-t", input=msg)
        e = err(r)
        check(r.returncode == 65, f"malformed {name}: exit 65",
              f"{r.returncode}: {e}")
        check(f"{name}: header" in e and problem in e,
              f"malformed {name}: names header and problem", e)
        nothing_left(sp, f"malformed {name}")
    r = sp.run(input=MSG)
    check(r.returncode == 65 and "no recipients specified" in err(r),
          "no recipients: 65", err(r))
    r = sp.run("-t", input=b"Subject: none\n\nb\n")
    check(r.returncode == 65 and "no recipient" in err(r),
          "-t without recipients: 65", err(r))
    r = sp.run("-t", input=b"To: undisclosed-recipients:;\n\nb\n")
    check(r.returncode == 65, "-t empty group: 65", err(r))
    nothing_left(sp, "no recipients")
    r = sp.run("a@example.com", input=b"Subject: x\n\nok\nnul\0here\n")
    check(r.returncode == 65 and "NUL byte at line 4" in err(r),
          "NUL: 65 with line", f"{r.returncode}: {err(r)}")
    nothing_left(sp, "NUL")
    r = sp.run("a@example.com", input=b"Subject: \0\n\nx\n")
    check(r.returncode == 65 and "line 1" in err(r), "NUL in header",
          err(r))
    nothing_left(sp, "NUL in header")
    big = b"X-Big: " + b"a" * 1000 + b"\n"
    r = sp.run("a@example.com", input=big * 300 + b"\nx\n")
    check(r.returncode == 65 and "header section exceeds" in err(r),
          "header over 256 KiB: 65", err(r))
    nothing_left(sp, "big header")
    r = sp.run("a@example.com",
               input=b"X-Long: " + b"b" * 110000 + b"\n\nx\n")
    check(r.returncode == 65 and "X-Long: header: header field longer "
          "than 102400" in err(r),
          "field over 102400: 65", err(r))
    nothing_left(sp, "long field")


def test_rcpt_limit(sp):
    """SM_RCPT_MAX (20000) recipients pass, one more is refused."""
    many = [f"u{i}@x.example" for i in range(20000)]
    q = ok_run(sp, "20000 recipients", *many)
    if q:
        check(len(q.addrs) == 20000 and q.addrs[-1] == "u19999@x.example",
              "20000 stored in order")
    r = sp.run(*many, "one@more.example", input=MSG)
    check(r.returncode == 65 and "more than 20000 recipients" in err(r),
          "20001 recipients: 65", err(r))
    nothing_left(sp, "too many recipients")


def test_size_limit():
    sp = Spool("message_size_limit = 10000\n")
    try:
        body = b"y" * 99 + b"\n"
        r = sp.run("a@example.com", input=b"Subject: s\n\n" + body * 200)
        e = err(r)
        m = re.search(r"message size (\d+) exceeds size limit 10000", e)
        check(r.returncode == 65 and m, "size limit: 65 naming sizes", e)
        if m:
            check(int(m.group(1)) > 20000, "real size named", e)
        nothing_left(sp, "size limit")
        r = sp.run("a@example.com", input=b"Subject: s\n\n" + body * 50)
        check(r.returncode == 0, "under the limit", err(r))
        sp.take()
    finally:
        sp.cleanup()


def test_big_message():
    """A 40 MB body is streamed: with the static binary it fits in a 16 MB
    address space (the sanitizer build needs terabytes of it)."""
    sp = Spool("message_size_limit = 0\n")
    size = 40 * 1024 * 1024
    line = b"z" * 1023 + b"\n"
    data = b"Subject: big\n\n" + line * (size // 1024)

    def limit():
        if not ASAN:
            resource.setrlimit(resource.RLIMIT_AS, (16 << 20, 16 << 20))
    try:
        env = dict(os.environ, TINYMTA_CONFIG_DIR=sp.env.conf)
        r = subprocess.run([os.path.join(sp.env.bin, "sendmail"),
                            "a@example.com"], input=data, env=env,
                           capture_output=True, preexec_fn=limit,
                           timeout=300)
        check(r.returncode == 0, "40 MB message in bounded memory", err(r))
        if r.returncode == 0:
            q = sp.take()
            check(q and len(q.body()) == size, "40 MB stored whole")
    finally:
        sp.cleanup()


def test_config_error():
    sp = Spool("message_size_limit = lots\n")
    try:
        r = sp.run("a@example.com", input=MSG)
        check(r.returncode == 78, "broken main.cf: 78", err(r))
        check("main.cf, line" in err(r) and "message_size_limit" in err(r),
              "names the first error", err(r))
        nothing_left(sp, "config error")
    finally:
        sp.cleanup()


def test_missing_queue():
    env = tmlib.Env()
    try:
        user = "nobody" if ROOT else None
        r = env.run("sendmail", "a@example.com", input=MSG, user=user)
        maildrop = os.path.join(env.spool, "maildrop")
        check(r.returncode == 73, "missing queue: 73", err(r))
        check(f"cannot create file in {maildrop}: No such file or "
              "directory" in err(r), "names path and errno", err(r))
        if ROOT:
            owner = pwd.getpwnam(tmlib.mail_owner())
            r = env.run("sendmail", "a@example.com", input=MSG)
            check(r.returncode == 0, "root creates the queue", err(r))
            st = os.stat(maildrop)
            check(st.st_mode & 0o7777 == 0o1733 and
                  st.st_uid == owner.pw_uid, "maildrop 1733 mail_owner",
                  oct(st.st_mode))
            files = [f for f in os.listdir(maildrop) if f[0] != "."]
            check(len(files) == 1, "queued after creating the queue")
            shutil.rmtree(env.spool)
            os.makedirs(maildrop)
            os.chmod(maildrop, 0o755)
            r = env.run("sendmail", "a@example.com", input=MSG,
                        user="nobody")
            check(r.returncode == 73 and "Permission denied" in err(r),
                  "unwritable maildrop: 73", err(r))
    finally:
        env.cleanup()


def test_signal(sp):
    """A submission killed while it reads leaves no temporary file."""
    env = dict(os.environ, TINYMTA_CONFIG_DIR=sp.env.conf)
    for sig in (15, 1, 2):
        p = subprocess.Popen([os.path.join(sp.env.bin, "sendmail"),
                              "a@example.com"], stdin=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        p.stdin.write(b"Subject: half\n\nsome")
        p.stdin.flush()
        deadline = time.time() + 10
        while not sp.entries() and time.time() < deadline:
            time.sleep(0.01)
        check(len(sp.entries()) == 1, f"signal {sig}: temporary file seen")
        p.send_signal(sig)
        p.wait(timeout=30)
        p.stdin.close()
        p.stderr.close()
        check(p.returncode == -sig, f"signal {sig}: killed by it",
              str(p.returncode))
        nothing_left(sp, f"signal {sig}")
    # closed standard descriptors: the message still goes to the queue
    r = subprocess.run(
        ["sh", "-c", f"exec {os.path.join(sp.env.bin, 'sendmail')} "
         "a@example.com 2>&- </dev/null"], env=env, timeout=60)
    check(r.returncode == 0, "closed stderr", str(r.returncode))
    q = sp.take()
    check(q is not None and b"fatal" not in q.content, "stderr not a file")


def test_unprivileged(sp):
    if not ROOT:
        print("skip: unprivileged submission needs root to switch users")
        return
    nobody = pwd.getpwnam("nobody")
    q = ok_run(sp, "as nobody", "root", user="nobody")
    if q:
        check(q.stat.st_uid == nobody.pw_uid, "file owned by the submitter",
              str(q.stat.st_uid))
        check(q.attrs.get("uid") == str(nobody.pw_uid), "uid attr nobody")
        check(q.sender == "nobody@test.example", "sender nobody", q.sender)


def test_pickup_poke(sp):
    path = os.path.join(sp.env.spool, "public", "pickup")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(5)
    try:
        q = ok_run(sp, "with pickup", "a@example.com")
        try:
            data = s.recv(64)
        except socket.timeout:
            data = None
        check(data is not None and len(data) >= 1, "pickup poked")
        r = sp.run("-q")
        check(r.returncode == 0, "-q exit 0", err(r))
        try:
            data = s.recv(64)
        except socket.timeout:
            data = None
        check(data is not None, "-q pokes pickup")
        del q
    finally:
        s.close()
        os.unlink(path)
    # a socket nobody reads: sendmail must not block
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    try:
        t0 = time.time()
        for _ in range(3):
            ok_run(sp, "full socket", "a@example.com")
        check(time.time() - t0 < 10, "never blocks")
    finally:
        s.close()
        os.unlink(path)
    r = sp.run("-q")
    check(r.returncode == 0, "-q without daemon: 0", err(r))


def test_modes(sp):
    r = sp.run("-bm", "a@example.com", input=MSG)
    check(r.returncode == 0, "-bm", err(r))
    name = sp.files()[0] if sp.files() else "none"
    r = sp.run("-bp")
    if "not available" in err(r):
        check(r.returncode == 64, "-bp unavailable: 64", err(r))
    else:
        m = sp.env.run("mailq")
        check(r.returncode == m.returncode and r.stdout == m.stdout,
              "-bp is mailq", f"{r.returncode}: {err(r)}")
    r = sp.run("-bi")
    n = sp.env.run("newaliases")
    check(r.returncode == n.returncode and r.stdout == n.stdout,
          "-bi is newaliases", f"{r.returncode} vs {n.returncode}: {err(r)}")
    # postcat reads what sendmail wrote (the queue helper's reader)
    r = sp.env.run("postcat", "-q", name)
    check(r.returncode == 0 and b"a@example.com" in r.stdout and
          b"body line" in r.stdout, "postcat -q shows the message",
          f"{r.returncode}: {err(r)} {r.stdout[-300:]}")
    sp.take()


def test_fsync(sp):
    if not shutil.which("strace"):
        print("skip: no strace")
        return
    # LeakSanitizer cannot work under ptrace
    env = dict(os.environ, TINYMTA_CONFIG_DIR=sp.env.conf,
               ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync",
                        os.path.join(sp.env.bin, "sendmail"),
                        "a@example.com"], input=MSG, capture_output=True,
                       env=env, timeout=60)
    calls = 0
    for line in r.stderr.decode().splitlines():
        cols = line.split()
        if len(cols) >= 5 and cols[-1] in ("fsync", "fdatasync"):
            calls += int(cols[3])
    check(r.returncode == 0 and calls >= 1, "commit fsyncs",
          r.stderr.decode()[-500:])
    print(f"fsync calls per submission: {calls}")
    sp.take()


def test_speed(sp):
    msg = b"To: a@example.com\nSubject: speed\n\n" + b"x" * 70 + b"\n"
    msg = msg + (b"y" * 70 + b"\n") * 27
    n = 50
    t0 = time.time()
    for _ in range(n):
        sp.run("-t", input=msg)
    dt = (time.time() - t0) / n * 1000
    print(f"sendmail -t of a 2 KB message: {dt:.2f} ms per call "
          "(including Python's fork/exec)")
    check(len(sp.files()) == n, "all queued")
    for f in sp.files():
        os.unlink(os.path.join(sp.maildrop, f))


def main():
    sp = Spool()
    try:
        for t in (test_basic, test_extract, test_resent, test_dedup_and_bare,
                  test_flags, test_usage, test_canonical, test_data_errors,
                  test_signal, test_unprivileged, test_pickup_poke, test_modes,
                  test_fsync, test_rcpt_limit, test_speed):
            t(sp)
    finally:
        sp.cleanup()
    test_size_limit()
    test_big_message()
    test_config_error()
    test_missing_queue()
    tmlib.done()


if __name__ == "__main__":
    main()
