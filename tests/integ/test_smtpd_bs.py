#!/usr/bin/env python3
"""test_smtpd_bs - the SMTP server session through the real binary, over
pipes: `sendmail -bs` (a local user, files into maildrop/) and the smtpd
role itself (`tinymta smtpd` with TINYMTA_CLIENT_ADDR, files into
incoming/). Covers the greeting and EHLO keywords, pipelining order,
every SMTP smuggling variant, bare LF normalize/reject, dot-unstuffing,
long data lines, line-length limits, SIZE and message_size_limit, the
recipient limit, the error limit, the idle timeout, relay control
(mynetworks, relay_domains, address tricks), unknown local users, VRFY,
and the log lines."""
import hashlib
import os
import tempfile
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402


def qfile(data):
    """Envelope and content of a queue file (docs/queue-format.md)."""
    check(data[:4] == b"TMQF", "qfile magic")
    attrs, rcpts, sender, content, pos, zeroed = {}, [], None, [], 64, b""
    while pos < len(data):
        t = data[pos:pos + 1]
        n = struct.unpack_from("<I", data, pos + 1)[0]
        p = data[pos + 5:pos + 5 + n]
        if t == b"E":
            digest = hashlib.sha256(data[:24] + b"\0" * 40 + zeroed).digest()
            check(p == digest, "qfile checksum")
            break
        rec = data[pos:pos + 5 + n]
        if t == b"A":
            k, _, v = p.partition(b"=")
            attrs[k.decode()] = v.decode()
        elif t == b"S":
            sender = p.decode()
        elif t == b"R":
            alen = struct.unpack_from("<H", p, 204)[0]
            rcpts.append(p[206:206 + alen].decode())
            rec = rec[:5] + b"\0" * 204 + rec[5 + 204:]
        elif t == b"C":
            content.append(p)
        zeroed += rec
        pos += 5 + n
    return attrs, sender, rcpts, b"".join(content)


class Server:
    """One environment; run() feeds a whole SMTP dialogue to a session."""

    def __init__(self, main_cf=""):
        self.env = tmlib.Env("mynetworks = 10.0.0.0/8\n" + main_cf)
        for q in ("incoming", "maildrop"):
            os.makedirs(os.path.join(self.env.spool, q))

    def files(self, q):
        d = os.path.join(self.env.spool, q)
        return sorted(os.listdir(d))

    def take(self, q):
        out = []
        for name in self.files(q):
            path = os.path.join(self.env.spool, q, name)
            with open(path, "rb") as f:
                out.append(qfile(f.read()))
            os.unlink(path)
        return out

    def run(self, dialogue, client=None, args=(), timeout=60):
        """client None: sendmail -bs; else tinymta smtpd from client."""
        if isinstance(dialogue, str):
            dialogue = dialogue.encode()
        if client is None:
            r = self.env.run("sendmail", "-bs", input=dialogue,
                             timeout=timeout)
        else:
            r = self.env.run("tinymta", "smtpd", *args, input=dialogue,
                             env={"TINYMTA_CLIENT_ADDR": client},
                             timeout=timeout)
        return r.stdout.decode("utf-8", "replace").split("\r\n")[:-1], \
            r.stderr.decode("utf-8", "replace"), r.returncode

    def cleanup(self):
        self.env.cleanup()


def finals(lines):
    """The last line of each reply (a multi-line EHLO counts once)."""
    return [ln for ln in lines if len(ln) > 3 and ln[3] == " "]


def codes(lines):
    return [ln[:3] for ln in finals(lines)]


MSG = "MAIL FROM:<a@b.example>\r\nRCPT TO:<root@test.example>\r\nDATA\r\n"


def test_basic(sv):
    out, err, rc = sv.run("EHLO client.example\r\n" + MSG +
                          "Subject: hi\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n")
    check(rc == 0, "-bs exit 0", err)
    check(out[0] == "220 test.example ESMTP tinymta", "banner", out[0])
    for kw in ("PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES",
               "8BITMIME"):
        check(any(ln[4:] == kw for ln in out if ln.startswith("250")),
              "EHLO " + kw, out)
    check(out[1] == "250-test.example", "EHLO first line", out[1])
    check(codes(out) == ["220", "250", "250", "250", "354", "250", "221"],
          "basic codes", out)
    check(out[-2].startswith("250 2.0.0 Ok: queued as "), "queued", out)
    msgs = sv.take("maildrop")
    check(len(msgs) == 1, "one file in maildrop/", msgs)
    if msgs:
        attrs, sender, rcpts, content = msgs[0]
        check(sender == "a@b.example" and rcpts == ["root@test.example"],
              "envelope", (sender, rcpts))
        check(attrs.get("uid") == str(os.getuid()), "uid recorded", attrs)
        check(content.startswith(b"Received: from client.example "
                                 b"(localhost [127.0.0.1])\n\tby "
                                 b"test.example (tinymta, from userid "),
              "Received header", content[:200])
        check(b"\n\tfor <root@test.example>; " in content, "Received for",
              content[:300])
        check(content.endswith(b"Subject: hi\n\nbody\n.dot\n"),
              "canonical content, dot-unstuffed", content)
    check("connect from localhost[127.0.0.1]" in err, "log connect", err)
    check("disconnect from localhost[127.0.0.1]" in err, "log disconnect")
    check(": client=localhost[127.0.0.1]" in err, "log client=")


def test_commands(sv):
    out, _, _ = sv.run("NOOP\r\nHELP\r\nVRFY root\r\nRSET\r\nFOO\r\n"
                       "HELO\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y>\r\n"
                       "DATA\r\nHELO h\r\nMAIL FROM:<a@b.example>\r\n"
                       "MAIL FROM:<a@b.example>\r\nDATA\r\nSTARTTLS\r\n"
                       "QUIT\r\nNOOP\r\n")
    check(codes(out) == ["220", "250", "214", "252", "250", "502", "501",
                         "250", "554", "503", "250", "250", "503", "503",
                         "502", "221"], "command codes", out)
    check("252 2.0.0 root" in out, "VRFY 252", out)
    check("503 5.5.1 Error: nested MAIL command" in out, "nested MAIL")
    check("503 5.5.1 Error: need RCPT command" in out, "need RCPT")
    check(sv.files("maildrop") == [], "nothing queued")


def test_helo_required():
    sv = Server("smtpd_helo_required = yes\ndisable_vrfy_command = yes\n")
    try:
        out, _, _ = sv.run("MAIL FROM:<a@b.example>\r\nVRFY x\r\n"
                           "EHLO x\r\nQUIT\r\n")
        check(out[1] == "503 5.5.1 Error: send HELO/EHLO first",
              "helo required", out)
        check(out[2] == "502 5.5.1 VRFY command is disabled", "vrfy off",
              out)
        check("250-VRFY" not in out and "250 VRFY" not in out,
              "VRFY not advertised", out)
    finally:
        sv.cleanup()


def test_pipelining(sv):
    two = ("EHLO x\r\n" + MSG + "one\r\n.\r\n" + MSG + "two\r\n.\r\nQUIT\r\n")
    out, _, _ = sv.run(two)
    check(codes(out) == ["220", "250", "250", "250", "354", "250", "250",
                         "250", "354", "250", "221"], "pipelined order", out)
    msgs = sv.take("maildrop")
    check(len(msgs) == 2, "two messages", len(msgs))
    bodies = sorted(m[3].split(b"\n", 3)[3] for m in msgs)
    check(bodies == [b"one\n", b"two\n"], "two bodies", bodies)


SMUGGLE = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r\n.\n",
           b"\r.\r\n", b"\n.\r", b"\r\n.\r\r\n", b"\r\n .\r\n"]


def test_smuggling(sv):
    for v in SMUGGLE:
        d = (b"EHLO x\r\n" + MSG.encode() + b"first" + v +
             b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<root@test.example>"
             b"\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n")
        out, _, _ = sv.run(d)
        c = codes(out)
        check(c == ["220", "250", "250", "250", "354", "250", "221"],
              "smuggling %r: one message" % v, out)
        msgs = sv.take("maildrop")
        check(len(msgs) == 1 and b"MAIL FROM:<evil@x.example>" in msgs[0][3],
              "smuggling %r: the rest is content" % v,
              [m[3] for m in msgs])


def test_bare_lf(sv):
    out, _, _ = sv.run(b"EHLO x\nMAIL FROM:<a@b.example>\n"
                       b"RCPT TO:<root@test.example>\r\nDATA\r\n"
                       b"a\nb\rc\r\n.\r\nQUIT\r\n")
    check(codes(out)[-2:] == ["250", "221"], "bare LF normalized", out)
    msgs = sv.take("maildrop")
    check(len(msgs) == 1 and msgs[0][3].endswith(b"\na\nb\rc\n"),
          "bare LF stored as line end, bare CR kept",
          msgs and msgs[0][3])
    rj = Server("smtpd_forbid_bare_newline = reject\n")
    try:
        out, _, _ = rj.run("EHLO x\r\n" + MSG + "a\nb\r\n.\r\nQUIT\r\n")
        check(out[-1].startswith("521 5.5.2 ") and "bare <LF>" in out[-1],
              "bare LF rejected in DATA", out)
        check(rj.files("maildrop") == [], "nothing left after 521",
              rj.files("maildrop"))
        out, _, _ = rj.run("EHLO x\nQUIT\r\n")
        check(out[-1].startswith("521 5.5.2 "), "bare LF command", out)
    finally:
        rj.cleanup()


def test_lines(sv):
    long_line = "x" * 100000
    out, _, _ = sv.run("EHLO x\r\n" + MSG + long_line + "\r\n.\r\n"
                       "NOOP " + "y" * 600 + "\r\n"
                       "MAIL FROM:<a@b.example> " + "z" * 3000 + "\r\n"
                       "RCPT TO:<a@b.example>\r\nQUIT\r\n")
    c = codes(out)
    check(c[-5:] == ["250", "500", "500", "503", "221"],
          "long command lines, the session continues", out)
    check("500 5.5.2 Error: line too long" in out, "500 5.5.2 text", out)
    msgs = sv.take("maildrop")
    check(len(msgs) == 1 and (long_line + "\n").encode() in msgs[0][3],
          "100 kB data line stored intact")
    local = "l" * 256
    out, _, _ = sv.run("EHLO x\r\nMAIL FROM:<%s@b.example>\r\n"
                       "MAIL FROM:<%s@b.example>\r\nQUIT\r\n"
                       % (local, local + "l"))
    check(codes(out)[2:4] == ["250", "503"] or codes(out)[2:4] ==
          ["250", "501"], "local part 256 ok", out)
    out, _, _ = sv.run("EHLO x\r\nMAIL FROM:<%s@b.example>\r\nQUIT\r\n"
                       % (local + "l"))
    check(codes(out)[2] == "501", "local part 257 refused", out)


def test_limits():
    sv = Server("message_size_limit = 1000\nsmtpd_recipient_limit = 2\n"
                "smtpd_hard_error_limit = 5\n")
    try:
        out, _, _ = sv.run("EHLO x\r\nMAIL FROM:<a@b.example> SIZE=1001\r\n"
                           "MAIL FROM:<a@b.example> SIZE=1000\r\n"
                           "RCPT TO:<root@test.example>\r\n"
                           "RCPT TO:<root@test.example>\r\n"
                           "RCPT TO:<root@test.example>\r\nDATA\r\n" +
                           "x" * 2000 + "\r\n.\r\nQUIT\r\n")
        check("250-SIZE 1000" in out, "SIZE advertised", out)
        check(codes(out) == ["220", "250", "552", "250", "250", "250", "452",
                             "354", "552", "221"], "limit codes", out)
        check("452 4.5.3 Error: too many recipients" in out, "452 text")
        check(sv.files("maildrop") == [], "no file after 552",
              sv.files("maildrop"))
        out, err, _ = sv.run("A\r\nB\r\nC\r\nD\r\nE\r\nNOOP\r\n")
        check(codes(out) == ["220", "502", "502", "502", "502", "502",
                             "421"] and
              out[-1].startswith("421 4.7.0 "), "hard error limit", out)
    finally:
        sv.cleanup()


def test_hopcount():
    """hopcount_limit at the SMTP stage: more Received: fields in the
    client's header than the limit get 554 5.4.6 at the end of DATA and
    nothing is queued; the limit itself, folded fields, other case and
    Received: lines in the body pass."""
    sv = Server("hopcount_limit = 3\n")
    try:
        def dialogue(header, body="hi\r\n"):
            return ("EHLO x\r\nMAIL FROM:<a@b.example>\r\n"
                    "RCPT TO:<root@test.example>\r\nDATA\r\n" + header +
                    "Subject: hops\r\n\r\n" + body + ".\r\nQUIT\r\n")
        four = "".join(f"Received: from h{i}\r\n\tby x; date\r\n"
                       for i in range(4))
        for client in (None, "10.0.0.1"):
            q = "maildrop" if client is None else "incoming"
            out, err, _ = sv.run(dialogue(four), client=client)
            check("554 5.4.6 Error: too many hops" in out,
                  f"4 Received: over hopcount_limit 3 -> 554 ({q})", out)
            check(sv.files(q) == [], f"no file after 554 ({q})", sv.files(q))
            check("reject: too many hops (4 Received: header fields, "
                  "hopcount_limit = 3)" in err, "hops log line", err)
        out, _, _ = sv.run(dialogue("received: a\r\nRECEIVED : b\r\n"
                                    "Received:c\r\n"), client="10.0.0.1")
        check(any(ln.startswith("250 2.0.0 Ok: queued") for ln in out),
              "3 Received: (any case) at hopcount_limit 3 accepted", out)
        check(len(sv.take("incoming")) == 1, "one file queued")
        out, _, _ = sv.run(dialogue("Received: a\r\n",
                                    "Received: b\r\n" * 10),
                           client="10.0.0.1")
        check(any(ln.startswith("250 2.0.0 Ok: queued") for ln in out),
              "Received: lines in the body do not count", out)
        sv.take("incoming")
        out, _, _ = sv.run(dialogue("X-Received: a\r\n" * 5 +
                                    "Received: a\r\n"), client="10.0.0.1")
        check(any(ln.startswith("250 2.0.0 Ok: queued") for ln in out),
              "X-Received: does not count", out)
        sv.take("incoming")
    finally:
        sv.cleanup()


def test_bdat():
    """CHUNKING (RFC 3030): BDAT chunks are exact byte counts, no dot
    handling; CRLF across two chunks is one line end; CRLF.CRLF or a QUIT
    inside a chunk is content; a chunk sent where BDAT is not allowed is
    read and dropped (never taken for commands); DATA inside a BDAT
    transaction is refused; message_size_limit and hopcount_limit apply;
    a bad BDAT line ends the session; RSET drops the file."""
    sv = Server("message_size_limit = 1000\nhopcount_limit = 3\n")
    env = "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<root@test.example>\r\n"
    try:
        c1 = "Subject: b\r\n\r\nline1\r"
        c2 = "\n.\r\nx\ry\r\nQUIT\r\n"
        out, _, _ = sv.run(env + f"BDAT {len(c1)}\r\n{c1}"
                           f"BDAT {len(c2)} LAST\r\n{c2}QUIT\r\n",
                           client="10.0.0.1")
        check("250-CHUNKING" in out or "250 CHUNKING" in out,
              "EHLO CHUNKING", out)
        check(codes(out) == ["220", "250", "250", "250", "250", "250", "221"],
              "BDAT codes", out)
        check(f"250 2.0.0 Ok: {len(c1)} bytes" in out, "chunk reply", out)
        msgs = sv.take("incoming")
        check(len(msgs) == 1 and msgs[0][3].split(b"\n", 3)[3] ==
              b"Subject: b\n\nline1\n.\nx\ry\nQUIT\n",
              "BDAT content: CRLF across chunks, no dot handling, bare CR",
              msgs and msgs[0][3])
        out, _, _ = sv.run(env + "BDAT 5\r\nhelloBDAT 0 LAST\r\nQUIT\r\n",
                           client="10.0.0.1")
        check(codes(out)[-2:] == ["250", "221"] and
              out[-2].startswith("250 2.0.0 Ok: queued as"), "BDAT 0 LAST",
              out)
        msgs = sv.take("incoming")
        check(len(msgs) == 1 and msgs[0][3].endswith(b"\nhello\n"),
              "a final line end is added", msgs and msgs[0][3][-40:])
        out, _, _ = sv.run("EHLO x\r\nBDAT 6\r\nQUIT\r\nNOOP\r\nQUIT\r\n",
                           client="10.0.0.1")
        check(codes(out) == ["220", "250", "503", "250", "221"],
              "BDAT before MAIL: 503, its bytes dropped", out)
        out, _, _ = sv.run(env + "BDAT 3\r\nabcDATA\r\nBDAT 0 LAST\r\n"
                           "QUIT\r\n", client="10.0.0.1")
        check("503 5.5.1 Error: DATA after BDAT" in out and
              out[-2].startswith("250 2.0.0 Ok: queued as"),
              "DATA inside BDAT refused, the transaction goes on", out)
        sv.take("incoming")
        big = "x" * 600
        out, _, _ = sv.run(env + f"BDAT 600\r\n{big}BDAT 600 LAST\r\n{big}"
                           "QUIT\r\n", client="10.0.0.1")
        check(codes(out)[-3:] == ["250", "552", "221"],
              "message_size_limit over BDAT: 552 at LAST", out)
        check(sv.files("incoming") == [], "no file after 552")
        hops = "Received: a\r\n" * 4 + "\r\nbody\r\n"
        out, _, _ = sv.run(env + f"BDAT {len(hops)} LAST\r\n{hops}QUIT\r\n",
                           client="10.0.0.1")
        check("554 5.4.6 Error: too many hops" in out, "hops over BDAT", out)
        check(sv.files("incoming") == [], "no file after 554")
        out, _, _ = sv.run(env + "BDAT 3\r\nabcRSET\r\nQUIT\r\n",
                           client="10.0.0.1")
        check(codes(out)[-2:] == ["250", "221"] and
              sv.files("incoming") == [], "RSET drops the BDAT file", out)
        out, _, _ = sv.run(env + "BDAT 1x\r\nQUIT\r\n", client="10.0.0.1")
        check(codes(out)[-1] == "501" and "221" not in codes(out),
              "bad BDAT: 501 and the session ends", out)
        check(sv.files("incoming") == [], "nothing left")
    finally:
        sv.cleanup()


def test_queue_minfree():
    """queue_minfree: MAIL gets 452 4.3.1 when the spool would drop below
    it (here: more than the disk holds), and nothing is queued."""
    st = os.statvfs(tempfile.gettempdir())
    more = st.f_bavail * st.f_frsize + (1 << 30)  # a GiB more than is free
    sv = Server(f"queue_minfree = {more}\n")
    try:
        out, _, _ = sv.run("EHLO x\r\n" + MSG + "hi\r\n.\r\nQUIT\r\n")
        check("452 4.3.1 Insufficient system storage" in out,
              "452 4.3.1 at MAIL when the spool is short of queue_minfree", out)
        check(sv.files("maildrop") == [], "nothing queued", sv.files("maildrop"))
    finally:
        sv.cleanup()
    sv = Server("queue_minfree = 1000000\n")
    try:
        out, _, _ = sv.run("EHLO x\r\n" + MSG + "hi\r\n.\r\nQUIT\r\n")
        check(any(ln.startswith("250 2.0.0 Ok: queued as") for ln in out),
              "accepted when there is room", out)
    finally:
        sv.cleanup()


def test_timeout():
    sv = Server("smtpd_timeout = 1s\n")
    try:
        env = dict(os.environ, TINYMTA_CONFIG_DIR=sv.env.conf)
        p = subprocess.Popen([os.path.join(sv.env.bin, "sendmail"), "-bs"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        p.stdin.write(b"EHLO x\r\n")
        p.stdin.flush()  # stdin stays open: an idle client
        out = p.stdout.read()  # until the server closes
        err = p.stderr.read()
        p.stdin.close()
        p.wait(timeout=20)
    finally:
        sv.cleanup()
    lines = out.decode().split("\r\n")
    check(len(lines) > 1 and lines[-2].startswith("421 4.4.2 "),
          "idle client gets 421 4.4.2", lines)
    check(b"timeout after EHLO" in err, "timeout logged", err)


def test_relay(sv):
    tricks = ["x@evil.example", "x%evil.example@test.example",
              "evil.example!x@test.example", '"x@evil.example"@test.example',
              "@test.example:x@evil.example", "x@[10.9.8.7]",
              "x@test.example.evil.example"]
    for rcpt in tricks:
        out, err, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                             "RCPT TO:<%s>\r\nQUIT\r\n" % rcpt,
                             client="192.0.2.1")
        check(codes(out)[3] in ("554", "550", "501"),
              "no relay for " + rcpt, out)
    out, err, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                         "RCPT TO:<x@evil.example>\r\nQUIT\r\n",
                         client="192.0.2.1")
    check(finals(out)[3] == "554 5.7.1 <x@evil.example>: Relay access denied",
          "554 text", out)
    check("NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 "
          "<x@evil.example>: Relay access denied; from=<a@b.example> "
          "to=<x@evil.example> proto=ESMTP helo=<h>" in err,
          "reject log line", err)
    out, _, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                       "RCPT TO:<x@elsewhere.example>\r\nRCPT TO:<Postmaster>"
                       "\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n", client="10.1.2.3")
    check(codes(out)[3:6] == ["250", "250", "354"], "mynetworks relays", out)
    msgs = sv.take("incoming")
    check(len(msgs) == 1 and msgs[0][2] == ["x@elsewhere.example",
                                            "postmaster@test.example"] and
          msgs[0][0].get("client") == "unknown[10.1.2.3]",
          "smtpd role wrote incoming/", msgs and msgs[0][:3])
    out, _, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                       "RCPT TO:<x@evil.example>\r\nQUIT\r\n")
    check(finals(out)[3].startswith("554 5.7.1"), "-bs outside mynetworks: no relay",
          out)
    out, _, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                       "RCPT TO:<nosuchuser@test.example>\r\n"
                       "RCPT TO:<Postmaster>\r\nQUIT\r\n",
                       client="192.0.2.1")
    check(finals(out)[3].startswith("550 5.1.1 <nosuchuser@test.example>: Recipient"
                            " address rejected"), "unknown user 550", out)
    check(finals(out)[4] == "250 2.1.5 Ok", "Postmaster accepted", out)
    sv.take("incoming")


def test_relay_domains():
    sv = Server("relay_domains = relay.example\n"
                "smtpd_relay_restrictions = permit_mynetworks, "
                "defer_unauth_destination\n")
    try:
        out, _, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                           "RCPT TO:<x@relay.example>\r\n"
                           "RCPT TO:<x@sub.relay.example>\r\n"
                           "RCPT TO:<x%y@relay.example>\r\n"
                           "RCPT TO:<x@evil.example>\r\nQUIT\r\n",
                           client="192.0.2.1", args=("-o",
                                                     "smtpd_timeout=30s"))
        check(codes(out)[3:7] == ["250", "250", "454", "454"],
              "relay_domains and defer_unauth_destination", out)
    finally:
        sv.cleanup()


def relays(sv, client):
    """True when client may relay (RCPT to a foreign domain gets 250)."""
    out, _, _ = sv.run("EHLO h\r\nMAIL FROM:<a@b.example>\r\n"
                       "RCPT TO:<x@elsewhere.example>\r\nQUIT\r\n",
                       client=client)
    c = codes(out)
    return c[3] == "250" if len(c) > 3 else None


def test_mynetworks():
    """mynetworks entries beyond address/prefix: [v6]/prefix, "!"
    exclusions, a /file/name pattern file (comments, nested file), a
    cidr: table, a host name (localhost, resolved when smtpd reads the
    configuration), a hash: table keyed by the client address; unusable
    entries are logged and match nothing."""
    d = tempfile.mkdtemp(prefix="tinymta-mynet-")
    try:
        with open(os.path.join(d, "nets"), "w") as f:
            f.write(f"# trusted\n!198.51.100.66, 198.51.100.0/24\n"
                    f"{d}/more # nested\n")
        with open(os.path.join(d, "more"), "w") as f:
            f.write("[2001:db8::]/32\n")
        with open(os.path.join(d, "tab"), "w") as f:
            f.write("203.0.113.0/28  OK\n# comment\n192.0.2.99 OK\n")
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("192.0.2.200 OK\n")
        sv = Server(f"mynetworks = !10.9.0.0/16, 10.0.0.0/8 {d}/nets "
                    f"cidr:{d}/tab localhost hash:{d}/hosts "
                    f"no.such.host.invalid\n")
        try:
            r = sv.env.run("postmap", f"hash:{d}/hosts")
            check(r.returncode == 0, "postmap hash: table", r.stderr)
            for client, want in (("10.1.2.3", True), ("10.9.1.1", False),
                                 ("198.51.100.5", True),
                                 ("198.51.100.66", False),
                                 ("2001:db8:5::1", True),
                                 ("2001:db9::1", False),
                                 ("203.0.113.15", True),
                                 ("203.0.113.16", False),
                                 ("192.0.2.99", True), ("127.0.0.1", True),
                                 ("192.0.2.200", True),
                                 ("192.0.2.201", False),
                                 ("::ffff:10.1.1.1", True)):
                check(relays(sv, client) is want,
                      f"mynetworks: {client} relays: {want}")
            _, err, _ = sv.run("QUIT\r\n", client="192.0.2.1")
            check("no.such.host.invalid" in err and "matches nothing" in err,
                  "an unresolvable name is logged", err)
        finally:
            sv.cleanup()
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


def test_mynetworks_style():
    """Without mynetworks, mynetworks_style decides: host (the default)
    lists 127.0.0.0/8 and this host's addresses as /32, subnet their
    networks; postconf shows the computed value and smtpd uses it."""
    for style, want in (("host", "/32"), ("subnet", None)):
        env = tmlib.Env(f"mynetworks_style = {style}\n")
        try:
            r = env.run("postconf", "-h", "mynetworks")
            val = r.stdout.decode().strip()
            check(r.returncode == 0 and "127.0.0.0/8" in val,
                  f"mynetworks_style={style}: {val}", r.stderr)
            if want:
                check(all(e.endswith(want) or e.startswith("127.") or
                          e.startswith("[") for e in val.replace(",", " ")
                          .split()), f"style {style}: host entries", val)
        finally:
            env.cleanup()
    sv = Server()
    try:
        r = sv.env.run("postconf", "-e", "mynetworks_style=host")
        txt = open(os.path.join(sv.env.conf, "main.cf")).read()
        sv.env.write("main.cf", "\n".join(ln for ln in txt.splitlines()
                                           if not ln.startswith("mynetworks "))
                     + "\n")
        check(relays(sv, "127.0.0.1") is True, "style host: loopback relays")
        check(relays(sv, "192.0.2.1") is False, "style host: others do not")
    finally:
        sv.cleanup()


def test_utf8(sv):
    out, _, _ = sv.run("EHLO h\r\nMAIL FROM:<j\u00f6rg@b.example>\r\n"
                       "QUIT\r\n")
    check(finals(out)[2].startswith("553 5.6.7"), "UTF-8 without smtputf8", out)


def main():
    sv = Server()
    try:
        for t in (test_basic, test_commands, test_pipelining,
                  test_smuggling, test_bare_lf, test_lines, test_relay,
                  test_utf8):
            t(sv)
    finally:
        sv.cleanup()
    test_helo_required()
    test_limits()
    test_hopcount()
    test_bdat()
    test_queue_minfree()
    test_timeout()
    test_relay_domains()
    test_mynetworks()
    test_mynetworks_style()
    tmlib.done()


if __name__ == "__main__":
    main()
