#!/usr/bin/env python3
"""test_smtp_client - the smtp delivery agent (`tinymta smtp NEXTHOP
ITEM…`, docs/processes.md) driven directly: queue files written by the
docs/queue-format.md writer of test_queue.py are passed on descriptors 3,
4, …, the result lines read from its standard output, and the scripted
capture servers of capture.py record the exact bytes it sends. Covers
pipelining, per-recipient results, HELO fallback, SIZE, 8BITMIME, the
DATA encoding (CRLF, dots, bare CR/LF, long lines), hostile replies,
timeouts, refused connections, fallback relays, connection reuse, and
one delivery to Postfix's smtp-sink."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402
import test_queue as tq  # noqa: E402
from capture import CaptureServer, CLOSE, HANG, free_port  # noqa: E402

ENV = None
USEC = [0]


def qfile(sender=b"alice@example.org", rcpts=(b"bob@example.com",),
          content=b"Subject: hi\n\nhello\n", attrs=(), dsn=None):
    """A queue file in a private directory; returns (path, queue ID).
    dsn: (orcpt, notify) per recipient."""
    USEC[0] += 1
    dsn = dsn or [(b"", 0)] * len(rcpts)
    data = tq.qfile_bytes(usec=USEC[0], sender=sender, attrs=attrs,
                          rcpts=[(r, o, n, tq.PENDING, b"")
                                 for r, (o, n) in zip(rcpts, dsn)],
                          content=content)
    d = os.path.join(ENV.dir, "q")
    os.makedirs(d, exist_ok=True)
    qid = tq.commit(d, data, 1700000000, USEC[0])
    return os.path.join(d, qid), qid


class Result:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("latin-1")
        self.err = proc.stderr.decode("latin-1")
        self.elapsed = elapsed
        self.items = {}
        self.site = None
        for line in self.out.splitlines():
            if line.startswith("site "):
                self.site = line
                continue
            f = line.split(" ", 4)
            if len(f) >= 4:
                self.items[(int(f[0]), int(f[1]))] = (
                    f[2], f[3], f[4] if len(f) > 4 else "")

    def status(self, slot=0, idx=0):
        return self.items.get((slot, idx), ("missing", "", ""))[0]

    def text(self, slot=0, idx=0):
        return self.items.get((slot, idx), ("", "", ""))[2]

    def dsn(self, slot=0, idx=0):
        return self.items.get((slot, idx), ("", "", ""))[1]

    def __repr__(self):
        return f"rc={self.rc} out={self.out!r} err={self.err[-1500:]!r}"


def agent(nexthop, files, items, timeout=90, conf=None):
    """files: queue file paths (slot i = descriptor 3+i); items: (slot,
    idx, addr, sender) with the slot's queue ID filled in."""
    if conf is not None:
        ENV.write("main.cf", BASE + conf)
    args = ["smtp", nexthop]
    for slot, idx, addr, sender in items:
        args += [files[slot][1], str(slot), str(idx), addr, sender]
    # the shell opens queue file i on descriptor 3+i, as the master does
    redir = " ".join(f'{3 + i}<"$Q{i}"' for i in range(len(files)))
    e = dict(os.environ)
    e["TINYMTA_CONFIG_DIR"] = ENV.conf
    for i, (path, _) in enumerate(files):
        e[f"Q{i}"] = path
    t0 = time.monotonic()
    p = subprocess.run(["/bin/sh", "-c", f'exec "$0" "$@" {redir}',
                        os.path.join(ENV.bin, "tinymta")] + args,
                       stdin=subprocess.DEVNULL, capture_output=True, env=e,
                       timeout=timeout)
    if conf is not None:
        ENV.write("main.cf", BASE)
    return Result(p, time.monotonic() - t0)


def hop(srv):
    return f"[127.0.0.1]:{srv.port}"


BASE = ""


# ---- tests ----

def rcpts_before_mail_reply(seen):
    """A MAIL reply that first waits (at most 3 s) until the client has
    sent its RCPTs: only a pipelining client does that."""
    def mail(sess, arg):
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                peek = sess.sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                peek = b""
            if (sess.raw + peek).count(b"RCPT TO:") >= 2:
                seen.append(True)
                break
            time.sleep(0.02)
        return "250 2.1.0 Ok"
    return mail


def test_happy_pipelining():
    seen = []
    srv = CaptureServer(script={"mail": rcpts_before_mail_reply(seen)})
    f = qfile(rcpts=(b"bob@example.com", b"carol@example.com"))
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", ""),
                              (0, 1, "carol@example.com", "")])
    check(r.rc == 0 and r.status(0, 0) == "sent" and r.status(0, 1) == "sent",
          "two recipients sent", r)
    check(r.dsn(0, 0) == "2.0.0" and "250 2.0.0 Ok: queued as CAPTURE" in r.text(0, 0),
          "sent text is the reply", r)
    check(r.site == "site ok server reached", "site ok", r)
    check(srv.connections == 1 and len(srv.messages) == 1, "one connection, one message",
          srv.sessions)
    m = srv.messages[0]
    check(m.mail_from.startswith("<alice@example.org>") and
          m.rcpts == ["<bob@example.com>", "<carol@example.com>"], "envelope", m)
    check(m.data == b"Subject: hi\r\n\r\nhello\r\n", "content on the wire", m.data)
    s = srv.sessions[0]
    check(s.commands[0] == "EHLO test.example", "EHLO with smtp_helo_name", s.commands)
    check(seen == [True], "MAIL and RCPTs pipelined (sent before the MAIL reply)",
          s.chunks)
    data_at = s.raw.index(b"DATA\r\n")
    check(s.raw.rindex(b"RCPT TO:") < data_at, "DATA after the RCPTs", s.raw)
    check(" SIZE=" in s.commands[1] and "BODY=" not in s.commands[1],
          "SIZE= given, no BODY= for 7-bit", s.commands[1])
    srv.wait_idle(10)
    check(s.commands[-1] == "QUIT", "QUIT at the end", s.commands)
    check(f"relay=127.0.0.1[127.0.0.1]:{srv.port}" in r.err and
          "to=<bob@example.com>" in r.err and "status=sent (250 2.0.0" in r.err and
          "tinymta/smtp" in r.err or "smtp" in r.err, "Postfix log line", r.err)
    srv.stop()


def test_no_pipelining():
    seen = []
    srv = CaptureServer(script={"ehlo": ["SIZE 1000000", "8BITMIME"],
                                "mail": rcpts_before_mail_reply(seen)})
    f = qfile(rcpts=(b"a@x.test", b"b@x.test"))
    r = agent(hop(srv), [f], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "")])
    check(r.status(0, 0) == "sent" and r.status(0, 1) == "sent", "sent without PIPELINING", r)
    check(seen == [], "no RCPT before the MAIL reply", srv.sessions[0].chunks)
    srv.stop()


def test_per_recipient():
    srv = CaptureServer(script={"rcpt": {
        "tmp@x.test": "450 4.2.0 Mailbox busy",
        "bad@x.test": "550 5.1.1 No such user",
        "old@x.test": "551 no enhanced code"}})
    f = qfile(rcpts=(b"ok@x.test", b"tmp@x.test", b"bad@x.test", b"old@x.test"))
    r = agent(hop(srv), [f], [(0, i, a, "") for i, a in
                              enumerate(["ok@x.test", "tmp@x.test", "bad@x.test",
                                         "old@x.test"])])
    check(r.status(0, 0) == "sent", "accepted one sent", r)
    check(r.status(0, 1) == "deferred" and r.dsn(0, 1) == "4.2.0", "4xx deferred", r)
    check(r.status(0, 2) == "bounced" and r.dsn(0, 2) == "5.1.1" and
          r.text(0, 2) == "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 No such user "
          "(in reply to RCPT TO command)", "5xx bounced with Postfix's text", r)
    check(r.status(0, 3) == "bounced" and r.dsn(0, 3) == "5.0.0", "no code: 5.0.0", r)
    check(len(srv.messages) == 1 and srv.messages[0].rcpts == ["<ok@x.test>"],
          "message sent to the accepted one only", srv.messages)
    srv.stop()


def test_mail_rejected():
    for code, want in (("553 5.7.1 Sender rejected", "bounced"),
                       ("451 4.3.0 Try later", "deferred")):
        srv = CaptureServer(script={"mail": code})
        f = qfile(rcpts=(b"a@x.test", b"b@x.test"))
        r = agent(hop(srv), [f], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "")])
        check(r.status(0, 0) == want and r.status(0, 1) == want and
              "(in reply to MAIL FROM command)" in r.text(0, 0) and
              r.dsn(0, 0) == code[4:9], f"MAIL {code[:3]}: all {want}", r)
        check(not srv.messages and "DATA" not in srv.commands, "no DATA", srv.commands)
        srv.stop()


def test_data_rejected():
    for key, code, want, cmd in (("data", "554 5.5.1 No valid recipients", "bounced", "DATA"),
                                 ("dot", "452 4.3.1 Insufficient storage", "deferred",
                                  "end of DATA"),
                                 ("dot", "550 5.7.1 Spam", "bounced", "end of DATA")):
        srv = CaptureServer(script={key: code})
        f = qfile()
        r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
        check(r.status() == want and f"(in reply to {cmd} command)" in r.text(),
              f"{key} {code[:3]} -> {want}", r)
        srv.stop()


def test_helo_fallback():
    srv = CaptureServer(script={"ehlo": "502 5.5.2 Error: command not recognized"})
    f = qfile()
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "sent", "sent after HELO fallback", r)
    cmds = srv.sessions[0].commands
    check(cmds[:2] == ["EHLO test.example", "HELO test.example"], "EHLO then HELO", cmds)
    check("SIZE=" not in cmds[2], "no ESMTP parameters after HELO", cmds)
    srv.stop()
    srv = CaptureServer(script={"ehlo": "500 5.5.1 no", "helo": "450 4.7.1 later"})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "deferred" and "said: 450 4.7.1 later (in reply to HELO command)"
          in r.text(), "HELO refused too: deferred, HELO named", r)
    srv.stop()
    srv = CaptureServer(script={"ehlo": "421 4.3.2 Shutting down"})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "deferred" and "(in reply to EHLO command)" in r.text(),
          "EHLO 421: deferred", r)
    srv.stop()


def test_size():
    srv = CaptureServer(script={"ehlo": ["PIPELINING", "SIZE 100", "8BITMIME"]})
    f = qfile(content=b"Subject: big\n\n" + b"x" * 300 + b"\n")
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "bounced" and r.dsn() == "5.3.4" and
          "exceeds size limit 100 of server" in r.text(), "SIZE pre-check bounces", r)
    check(not any(c.startswith("MAIL") for c in srv.commands), "no MAIL sent", srv.commands)
    srv.stop()
    srv = CaptureServer(script={"ehlo": ["SIZE 1000"]})
    f = qfile(content=b"a\nb\n")
    agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    mail = [c for c in srv.commands if c.startswith("MAIL")]
    check(mail == ["MAIL FROM:<alice@example.org> SIZE=6"], "SIZE= counts CRLF", mail)
    srv.stop()


def test_8bitmime():
    body = "Subject: caf\u00e9\n\nd\u00e9j\u00e0 vu\n".encode()
    srv = CaptureServer()
    f = qfile(content=body)
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    mail = [c for c in srv.commands if c.startswith("MAIL")]
    check(r.status() == "sent" and mail and mail[0].endswith(" BODY=8BITMIME"),
          "BODY=8BITMIME for 8-bit content", (r, mail))
    check(srv.messages and srv.messages[0].data == body.replace(b"\n", b"\r\n"),
          "8-bit bytes unchanged", srv.messages)
    srv.stop()
    srv = CaptureServer(script={"ehlo": ["PIPELINING", "SIZE 1000000"]})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "bounced" and r.dsn() == "5.6.3" and
          "does not support 8BITMIME" in r.text(), "8-bit to a 7-bit server bounces", r)
    check(not any(c.startswith("MAIL") for c in srv.commands), "no MAIL sent", srv.commands)
    srv.stop()


def test_smuggling():
    content = (b"Subject: smuggle\n"
               b"X-CR: a\rb\n"
               b"\n"
               b".\n"                       # a lone dot
               b"..two\n"
               b"x\r.\rMAIL FROM:<evil@x>\n"  # bare CRs around a dot
               b"\r\n"                      # CR before the line end
               b".\r\n"
               b"end without newline")
    srv = CaptureServer()
    f = qfile(content=content)
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    want = (b"Subject: smuggle\r\n"
            b"X-CR: a b\r\n"
            b"\r\n"
            b"..\r\n"
            b"...two\r\n"
            b"x . MAIL FROM:<evil@x>\r\n"
            b" \r\n"
            b".. \r\n"
            b"end without newline\r\n")
    check(r.status() == "sent", "smuggling message sent", r)
    got = srv.messages[0].data if srv.messages else None
    check(got == want, "exact wire bytes", (got, want))
    srv.wait_idle(10)
    raw = srv.sessions[0].raw
    data = raw[raw.index(b"DATA\r\n") + 6:]
    check(b"\r" not in data.replace(b"\r\n", b"") and
          b"\n" not in data.replace(b"\r\n", b""), "no bare CR or LF on the wire", data)
    check(data.endswith(b"\r\n.\r\nQUIT\r\n"), "one final dot", data[-30:])
    check(len(srv.sessions[0].commands) and len(srv.messages) == 1 and
          not any("evil" in c for c in srv.commands), "nothing injected", srv.commands)
    srv.stop()


def test_long_lines():
    line = b"".join(bytes([65 + i % 26]) for i in range(2500))
    content = b"Subject: long\n\n" + line + b"\n." + b"y" * 1500 + b"\nshort\n"
    srv = CaptureServer()
    f = qfile(content=content)
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    data = srv.messages[0].data if srv.messages else b""
    lines = data.split(b"\r\n")[:-1]
    check(r.status() == "sent" and max(len(x) for x in lines) <= 999,
          "no wire line over the limit (+ doubled dot)", [len(x) for x in lines])
    check(lines[2] == line[:998] and lines[3] == b" " + line[998:1995] and
          lines[4] == b" " + line[1995:], "broken with CRLF SPACE as Postfix", [len(x) for x in lines])
    check(lines[5] == b".." + b"y" * 997 and lines[6] == b" " + b"y" * 503 and
          lines[7] == b"short", "dot doubled on a long line", [len(x) for x in lines])
    srv.stop()
    srv = CaptureServer()
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf="smtp_line_length_limit = 0\n")
    data = srv.messages[0].data if srv.messages else b""
    check(line + b"\r\n" in data, "limit 0: lines kept whole", len(data))
    srv.stop()


def test_reply_abuse():
    cases = [
        ("1 MB line", {"greeting": b"220 " + b"x" * (1 << 20) + b"\r\n"}, "reply line too long"),
        ("NUL", {"greeting": b"220 hello\0world\r\n"}, "NUL byte in reply"),
        ("garbage", {"greeting": b"hello there\r\n"}, "malformed reply"),
        ("code 999", {"greeting": b"999 what\r\n"}, "malformed reply"),
        ("changing codes", {"greeting": b"220-a\r\n250 b\r\n"}, "changing codes"),
        ("endless lines", {"greeting": b"220-x\r\n" * 5000}, "too many lines"),
        ("rcpt 1 MB", {"rcpt": b"250 " + b"y" * (1 << 20) + b"\r\n"}, "reply line too long"),
    ]
    f = qfile()
    for name, script, why in cases:
        srv = CaptureServer(script=script)
        r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
                  conf="smtp_helo_timeout = 20s\n")
        check(r.rc == 0 and r.status() == "deferred" and why in r.text() and
              r.elapsed < 15, f"{name}: clean defer", r)
        srv.stop()
    # a multi-line greeting that never ends: the helo timeout
    srv = CaptureServer(script={"greeting": lambda s, a: (
        s.sock.sendall(b"220-first\r\n220-second\r\n"), HANG)[1]})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf="smtp_helo_timeout = 2s\n")
    check(r.status() == "deferred" and "timed out while receiving the initial server "
          "greeting" in r.text() and 1.5 < r.elapsed < 15, "never-ending reply: timeout", r)
    check(r.site and r.site.startswith("site failed"), "site failed", r)
    srv.stop()


def test_timeouts():
    f = qfile()
    srv = CaptureServer(script={"greeting": HANG})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf="smtp_helo_timeout = 2s\n")
    check(r.status() == "deferred" and r.dsn() == "4.4.2" and
          "timed out while receiving the initial server greeting" in r.text() and
          r.elapsed < 15, "greeting timeout", r)
    check(r.site and r.site.startswith("site failed conversation"), "site failed", r)
    srv.stop()
    srv = CaptureServer(script={"ehlo": HANG})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf="smtp_helo_timeout = 2s\n")
    check(r.status() == "deferred" and "EHLO" in r.text() and "timed out" in r.text()
          and r.elapsed < 15, "EHLO timeout", r)
    srv.stop()
    srv = CaptureServer(script={"dot": HANG})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf="smtp_data_done_timeout = 2s\n")
    check(r.status() == "deferred" and "may be sent more than once" in r.text() and
          r.elapsed < 15, "data done timeout", r)
    check(r.site == "site ok server reached", "site ok after a greeting", r)
    srv.stop()
    srv = CaptureServer(script={"quit": HANG})
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "sent" and r.elapsed < 15, "no wait for the reply to QUIT", r)
    srv.stop()
    # connect timeout: a listener whose backlog is full drops the SYN
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    fill = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(ls.getsockname())
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.2)
    r = agent(f"[127.0.0.1]:{ls.getsockname()[1]}", [f], [(0, 0, "bob@example.com", "")],
              conf="smtp_connect_timeout = 2s\n")
    check(r.status() == "deferred" and r.dsn() == "4.4.1" and
          ("timed out" in r.text()) and r.elapsed < 15, "connect timeout", r)
    for c in fill:
        c.close()
    ls.close()


def test_refused_and_fallback():
    f = qfile()
    dead = free_port()
    r = agent(f"[127.0.0.1]:{dead}", [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "deferred" and r.dsn() == "4.4.1" and
          r.text() == f"connect to 127.0.0.1[127.0.0.1]:{dead}: Connection refused",
          "refused: deferred 4.4.1", r)
    check(r.site == f"site failed connect to 127.0.0.1[127.0.0.1]:{dead}: "
          "Connection refused", "refused: site failed", r)
    check(f"relay=none" in r.err and "status=deferred" in r.err, "relay=none logged", r.err)
    srv = CaptureServer()
    r = agent(f"[127.0.0.1]:{dead}", [f], [(0, 0, "bob@example.com", "")],
              conf=f"smtp_fallback_relay = [127.0.0.1]:{free_port()}, {hop(srv)}\n")
    check(r.status() == "sent" and len(srv.messages) == 1, "second fallback relay used", r)
    check(r.site == "site ok server reached", "site ok via fallback", r)
    srv.stop()
    # a 4xx greeting counts as not reached: the fallback takes it
    bad = CaptureServer(script={"greeting": "421 4.3.2 busy"})
    srv = CaptureServer()
    r = agent(hop(bad), [f], [(0, 0, "bob@example.com", "")],
              conf=f"smtp_fallback_relay = {hop(srv)}\n")
    bad.wait_idle(10)
    check(r.status() == "sent" and len(srv.messages) == 1 and
          "QUIT" in bad.commands, "4xx greeting: next server", (r, bad.commands))
    bad.stop()
    srv.stop()
    bad = CaptureServer(script={"greeting": "554 5.7.1 go away"})
    r = agent(hop(bad), [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "deferred" and "refused to talk to me: 554 5.7.1 go away"
          in r.text() and r.site.startswith("site failed"), "5xx greeting: deferred", r)
    bad.stop()


def test_reuse():
    srv = CaptureServer()
    f1 = qfile(rcpts=(b"a@x.test", b"b@x.test"))
    f2 = qfile(sender=b"", rcpts=(b"c@x.test",), content=b"Subject: two\n\nsecond\n")
    r = agent(hop(srv), [f1, f2], [(0, 0, "a@x.test", ""), (1, 0, "c@x.test", ""),
                                   (0, 1, "b@x.test", "")])
    check(all(r.status(s, i) == "sent" for s, i in ((0, 0), (0, 1), (1, 0))),
          "three items sent", r)
    check(srv.connections == 1 and len(srv.messages) == 2, "two messages, one connection",
          srv.sessions)
    ms = srv.messages
    check(ms[0].rcpts == ["<a@x.test>", "<b@x.test>"] and ms[1].mail_from.startswith("<> ") and
          ms[1].rcpts == ["<c@x.test>"], "transactions grouped by file and sender", ms)
    check("RSET" not in srv.commands, "no RSET after a clean transaction", srv.commands)
    srv.stop()
    # the first transaction fails at RCPT: RSET, then the second
    srv = CaptureServer(script={"rcpt": {"a@x.test": "550 5.1.1 no"}})
    f3 = qfile(rcpts=(b"a@x.test",))
    r = agent(hop(srv), [f3, f2], [(0, 0, "a@x.test", ""), (1, 0, "c@x.test", "")])
    check(r.status(0, 0) == "bounced" and r.status(1, 0) == "sent",
          "first bounced, second sent", r)
    cmds = srv.commands
    check(srv.connections == 1 and "RSET" in cmds and
          cmds.index("RSET") < max(i for i, c in enumerate(cmds) if c.startswith("MAIL")),
          "RSET between the transactions", cmds)
    srv.stop()
    # the same file with another sender (owner-list override): two MAILs
    srv = CaptureServer()
    f4 = qfile(rcpts=(b"a@x.test", b"b@x.test"))
    r = agent(hop(srv), [f4], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "owner-l@x.test")])
    check(len(srv.messages) == 2 and srv.messages[1].mail_from.startswith("<owner-l@x.test>"),
          "sender override: its own transaction", srv.messages)
    srv.stop()


def test_421_mid_session():
    srv = CaptureServer(script={"rcpt": {"b@x.test": "421 4.4.2 bye"}})
    f = qfile(rcpts=(b"a@x.test", b"b@x.test"))
    r = agent(hop(srv), [f], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "")])
    check(r.status(0, 1) == "deferred" and r.status(0, 0) == "deferred" and
          not srv.messages, "421: nothing sent, all deferred", r)
    srv.stop()
    srv = CaptureServer(script={"rcpt": CLOSE})
    r = agent(hop(srv), [f], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "")])
    check(r.status(0, 0) == "deferred" and "lost connection with 127.0.0.1[127.0.0.1]"
          in r.text(0, 0), "lost connection: deferred", r)
    srv.stop()


def test_retry_next_address():
    """A transaction cut off on one server goes on at the next with the
    recipients still open only (not the one already bounced)."""
    first = CaptureServer(script={"rcpt": {"a@x.test": "550 5.1.1 no"}, "data": CLOSE})
    second = CaptureServer(script={"mail": "451 4.3.0 later"})
    f = qfile(rcpts=(b"a@x.test", b"b@x.test"))
    r = agent(hop(first), [f], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "")],
              conf=f"smtp_fallback_relay = {hop(second)}\n")
    check(r.status(0, 0) == "bounced" and r.status(0, 1) == "deferred" and
          "451 4.3.0 later" in r.text(0, 1) and r.elapsed < 20,
          "bounced stays bounced, the open one tried at the next server", r)
    rc = [c for c in second.commands if c.startswith("RCPT")]
    check(rc == ["RCPT TO:<b@x.test>"], "only the open recipient sent again", rc)
    first.stop()
    second.stop()
    third = CaptureServer()
    first = CaptureServer(script={"dot": CLOSE})
    r = agent(hop(first), [f], [(0, 1, "b@x.test", "")],
              conf=f"smtp_fallback_relay = {hop(third)}\n")
    check(r.status(0, 1) == "deferred" and "may be sent more than once" in r.text(0, 1)
          and not third.connections, "lost after the dot: deferred, not sent again", r)
    first.stop()
    third.stop()


def test_ipv6_and_args():
    try:
        srv = CaptureServer(host="::1")
    except OSError:
        srv = None
    f = qfile()
    if srv:
        r = agent(f"[::1]:{srv.port}", [f], [(0, 0, "bob@example.com", "")])
        check(r.status() == "sent" and f"relay=::1[::1]:{srv.port}" in r.err,
              "IPv6 literal next hop", r)
        srv.stop()
    for bad in (["smtp"], ["smtp", "[127.0.0.1]:25"],
                ["smtp", "[127.0.0.1]:25", f[1], "0", "0", "a@b"],
                ["smtp", "[127.0.0.1]:25", "bad/id", "0", "0", "a@b", ""],
                ["smtp", "[127.0.0.1]:25", f[1], "99", "0", "a@b", ""],
                ["smtp", "[127.0.0.1]:25"] + [f[1], "0", "0", "a@b", ""] * 13):
        p = ENV.run("tinymta", *bad)
        check(p.returncode == 64 and b"usage" in p.stderr, f"usage {bad[1:8]}",
              (p.returncode, p.stderr[-1500:]))
    r = agent("[127.0.0.1]:99999", [f], [(0, 0, "bob@example.com", "")])
    check(r.status() == "deferred" and "bad next hop syntax" in r.text(),
          "bad next hop: deferred", r)
    # an item whose queue file is missing: deferred, nothing tried
    e = dict(os.environ, TINYMTA_CONFIG_DIR=ENV.conf)
    p = subprocess.run([os.path.join(ENV.bin, "tinymta"), "smtp", "[127.0.0.1]:25",
                        f[1], "0", "0", "a@b", ""], capture_output=True, env=e,
                       stdin=subprocess.DEVNULL, timeout=60)
    check(p.returncode == 0 and p.stdout == b"0 0 deferred 4.3.0 queue file unusable\n",
          "no queue file: deferred, no site line", (p.returncode, p.stdout, p.stderr[-1500:]))


def test_smtp_sink():
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(sink):
        check(False, "smtp-sink installed")
        return
    port = free_port()
    d = tempfile.mkdtemp(dir=ENV.dir)
    os.chmod(d, 0o777)
    p = subprocess.Popen([sink, "-u", tmlib.mail_owner(), "-d", d + "/%M.", f"127.0.0.1:{port}",
                          "10"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        f = qfile(rcpts=(b"a@x.test", b"b@x.test"),
                  content=b"Subject: sink\n\n.dot\nbody\n")
        r = agent(f"[127.0.0.1]:{port}", [f], [(0, 0, "a@x.test", ""), (0, 1, "b@x.test", "")])
        check(r.status(0, 0) == "sent" and r.status(0, 1) == "sent" and
              r.site == "site ok server reached", "smtp-sink accepts", r)
        text = b""
        for _ in range(100):  # the file may still be being written
            files = os.listdir(d)
            text = open(os.path.join(d, files[0]), "rb").read() if files else b""
            if b"body" in text:
                break
            time.sleep(0.1)
        check(b"Subject: sink" in text and b"\n.dot" in text, "smtp-sink stored the message",
              text[-300:])
    finally:
        p.terminate()
        err = p.communicate(timeout=10)[1]
        if err:
            print("smtp-sink:", err.decode("latin-1")[-500:])


def test_smtputf8():
    u = "j\u00f6e@x.test"
    f = qfile(rcpts=(u.encode(), b"plain@x.test"))
    srv = CaptureServer(script={"ehlo": ["PIPELINING", "8BITMIME", "SMTPUTF8"]})
    r = agent(hop(srv), [f], [(0, 0, u, ""), (0, 1, "plain@x.test", "")])
    mail = [c for c in srv.commands if c.startswith("MAIL")]
    check(r.status(0, 0) == "sent" and mail and mail[0].endswith(" SMTPUTF8") and
          srv.messages and srv.messages[0].rcpts[0] == "<" + u.encode().decode("latin-1") + ">",
          "UTF-8 address: SMTPUTF8 when offered", (r, mail))
    srv.stop()
    srv = CaptureServer()
    r = agent(hop(srv), [f], [(0, 0, u, ""), (0, 1, "plain@x.test", "")])
    check(r.status(0, 0) == "bounced" and r.dsn(0, 0) == "5.6.7" and
          r.status(0, 1) == "bounced" and "SMTPUTF8 is required" in r.text(0, 0) and
          not any(c.startswith("MAIL") for c in srv.commands),
          "UTF-8 address to a server without SMTPUTF8: bounce 5.6.7", r)
    srv.stop()
    f2 = qfile(attrs=(b"smtputf8=yes",))
    srv = CaptureServer(script={"ehlo": ["SMTPUTF8"]})
    r = agent(hop(srv), [f2], [(0, 0, "bob@example.com", "")])
    mail = [c for c in srv.commands if c.startswith("MAIL")]
    check(r.status() == "sent" and mail and mail[0].endswith(" SMTPUTF8"),
          "message with SMTPUTF8: passed on", mail)
    srv.stop()
    srv = CaptureServer()
    r = agent(hop(srv), [f2], [(0, 0, "evil@x.test>\tNOTIFY=NEVER", "")])
    check(r.status() == "bounced" and r.dsn() == "5.1.3" and not srv.connections,
          "control byte in an address: bounced, nothing sent", r)
    srv.stop()


def test_dsn_params():
    f = qfile(rcpts=(b"a@x.test", b"b@x.test", b"c@x.test"),
              attrs=(b"ret=hdrs", b"envid=QQ+2B1"),
              dsn=[(b"rfc822;orig+40x.test", 1 | 2), (b"", 8), (b"bad orcpt", 0)])
    srv = CaptureServer(script={"ehlo": ["PIPELINING", "DSN", "8BITMIME"]})
    r = agent(hop(srv), [f], [(0, i, a, "") for i, a in
                              enumerate(["a@x.test", "b@x.test", "c@x.test"])])
    cmds = [c for c in srv.commands if c[:4] in ("MAIL", "RCPT")]
    check(r.status(0, 0) == "sent" and cmds == [
        "MAIL FROM:<alice@example.org> RET=HDRS ENVID=QQ+2B1",
        "RCPT TO:<a@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+40x.test",
        "RCPT TO:<b@x.test> NOTIFY=NEVER",
        "RCPT TO:<c@x.test>"], "DSN parameters when offered", cmds)
    srv.stop()
    srv = CaptureServer()
    r = agent(hop(srv), [f], [(0, 0, "a@x.test", "")])
    cmds = [c for c in srv.commands if c[:4] in ("MAIL", "RCPT")]
    check(not any("NOTIFY" in c or "RET=" in c for c in cmds),
          "no DSN parameters when not offered", cmds)
    srv.stop()


def test_rewrite():
    """smtp_generic_maps and tinymta_sender_address when mail leaves
    (rewrite.c from branch rewrite; SKIP in a tree without it)."""
    if not os.path.exists(os.path.join(tmlib.ROOT, "src", "rewrite.c")):
        print("SKIP test_rewrite: src/rewrite.c is not in this tree")
        return
    ENV.write("generic", "bob@example.com robert@example.net\n"
              "@test.example @relay.example\n")
    p = ENV.run("postmap", os.path.join(ENV.conf, "generic"))
    check(p.returncode == 0, "postmap generic", p.stderr)
    content = (b"From: Root <root@test.example>\n"
               b"To: bob@example.com,\n carol@example.org\n"
               b"Subject: generic\n\nbody from root@test.example\n")
    f = qfile(sender=b"root@test.example", rcpts=(b"bob@example.com",), content=content)
    srv = CaptureServer()
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf=f"smtp_generic_maps = cdb:{ENV.conf}/generic\n")
    m = srv.messages[0] if srv.messages else None
    check(r.status() == "sent" and m and m.mail_from.startswith("<root@relay.example>") and
          m.rcpts == ["<robert@example.net>"], "envelope through smtp_generic_maps", (r, m))
    check(m and m.data.startswith(b"From: Root <root@relay.example>\r\n"
                                  b"To: robert@example.net,\r\n carol@example.org\r\n") and
          b"body from root@test.example" in m.data, "header fields rewritten, body not",
          m and m.data)
    srv.stop()
    srv = CaptureServer()
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf="tinymta_sender_address = router@isp.example\n")
    m = srv.messages[0] if srv.messages else None
    check(r.status() == "sent" and m and m.mail_from.startswith("<router@isp.example>"),
          "tinymta_sender_address: envelope", (r, m))
    check(m and b"From: Root <router@isp.example>\r\n" in m.data and
          b"\r\nReply-To: " in m.data.split(b"\r\n\r\n")[0] + b"\r\n",
          "tinymta_sender_address: From and Reply-To", m and m.data)
    srv.stop()
    ENV.write("broken.cdb", b"not a cdb file")
    srv = CaptureServer()
    r = agent(hop(srv), [f], [(0, 0, "bob@example.com", "")],
              conf=f"smtp_generic_maps = cdb:{ENV.conf}/broken\n")
    check(r.status() == "deferred" and r.dsn() == "4.3.0" and not srv.messages and
          not any(c.startswith("MAIL") for c in srv.commands),
          "unreadable map: deferred 4.3.0, nothing sent", r)
    srv.stop()


def main():
    global ENV, BASE
    ENV = tmlib.Env()
    BASE = open(os.path.join(ENV.conf, "main.cf")).read()
    try:
        for t in (test_happy_pipelining, test_no_pipelining, test_per_recipient,
                  test_mail_rejected, test_data_rejected, test_helo_fallback, test_size,
                  test_8bitmime, test_smuggling, test_long_lines, test_reply_abuse,
                  test_timeouts, test_refused_and_fallback, test_reuse,
                  test_421_mid_session, test_retry_next_address, test_ipv6_and_args, test_smtp_sink,
                  test_smtputf8, test_dsn_params, test_rewrite):
            if len(sys.argv) > 1 and t.__name__ not in sys.argv[1:]:
                continue
            t()
    finally:
        ENV.cleanup()
    tmlib.done()


if __name__ == "__main__":
    main()
