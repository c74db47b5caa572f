#!/usr/bin/env python3
"""test_queue - the queue directory and its commands against the real binary:
postsuper -s (layout, owners, modes), mailq / postqueue -p (Postfix's
layout), mailq --json / postqueue -j (parsed with json.loads), postcat,
postsuper -d/-h/-H/-r, damaged files (reported, never moved by readers),
bad IDs and flags, permissions.

Queue files are written here by a small writer that follows
docs/queue-format.md byte by byte (write, fsync, rename to the ID): the
binary accepting them proves the document exact.

`python3 tests/integ/test_queue.py --gen-corpus DIR` writes the fuzzer's
seed files (tests/fuzz/corpus/qfile/) with the same writer."""
import hashlib
import json
import os
import pwd
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402

B32 = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
PENDING, DELIVERED, BOUNCED, DEFERRED = 0, 1, 2, 3
ROOT = os.geteuid() == 0


# ---- the writer of docs/queue-format.md ----

def rec(t, payload):
    return t + struct.pack("<I", len(payload)) + payload


def qfile_bytes(arrival=1700000000, usec=123456, flags=0, attempts=0,
                next_attempt=0, last_attempt=0, attrs=(), sender=b"",
                rcpts=(), content=b"", version=1, chunk=65536):
    """rcpts: (address, orcpt, notify, status, reason) tuples of bytes/int."""
    head = b"TMQF" + struct.pack("<HHQII", version, 64, arrival, usec, flags)
    inplace = struct.pack("<IIQQ16x", attempts, 0, next_attempt, last_attempt)
    body, zeroed = b"", b""
    for a in attrs:
        r = rec(b"A", a)
        body, zeroed = body + r, zeroed + r
    r = rec(b"S", sender)
    body, zeroed = body + r, zeroed + r
    for addr, orcpt, notify, status, reason in rcpts:
        fixed = struct.pack("<BBH", status, notify, len(reason)) + \
            reason.ljust(200, b"\0")
        zfixed = struct.pack("<BBH", 0, notify, 0) + b"\0" * 200
        tail = struct.pack("<H", len(addr)) + addr + orcpt
        body += rec(b"R", fixed + tail)
        zeroed += rec(b"R", zfixed + tail)
    for i in range(0, len(content), chunk):
        r = rec(b"C", content[i:i + chunk])
        body, zeroed = body + r, zeroed + r
    digest = hashlib.sha256(head + b"\0" * 40 + zeroed).digest()
    return head + inplace + body + rec(b"E", digest)


def b32(v, width=0):
    s = ""
    while v:
        s = B32[v & 31] + s
        v >>= 5
    return s.rjust(width, "0") if width else (s or "0")


def queue_id(arrival, usec, ino):
    return b32(min(arrival, 2**35 - 1), 7) + b32(usec, 4) + b32(ino)


def commit(dirpath, data, arrival, usec, owner=None, mode=0o600):
    """The write protocol: temporary '.' name, fsync, rename to the ID."""
    tmp = os.path.join(dirpath, f".t{os.getpid()}.{usec}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, data)
    os.fsync(fd)
    ino = os.fstat(fd).st_ino
    os.close(fd)
    os.chmod(tmp, mode)
    if owner is not None:
        os.chown(tmp, owner[0], owner[1])
    qid = queue_id(arrival, usec, ino)
    os.rename(tmp, os.path.join(dirpath, qid))
    dfd = os.open(dirpath, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    return qid


# ---- helpers ----

class Q:
    def __init__(self, env):
        self.env = env
        self.usec = 0
        pw = pwd.getpwnam(tmlib.mail_owner())
        self.owner = (pw.pw_uid, pw.pw_gid) if ROOT else None

    def put(self, queue, arrival=1700000000, owner="default", mode=0o600,
            data=None, **kw):
        self.usec += 1
        kw.setdefault("sender", b"alice@example.org")
        kw.setdefault("rcpts", [(b"bob@example.com", b"", 0, PENDING, b"")])
        kw.setdefault("content", b"Subject: hi\n\nhello\n")
        if data is None:
            data = qfile_bytes(arrival=arrival, usec=self.usec, **kw)
        return commit(self.path(queue), data, arrival, self.usec,
                      self.owner if owner == "default" else owner, mode)

    def path(self, queue, qid=None):
        p = os.path.join(self.env.spool, queue)
        return os.path.join(p, qid) if qid else p

    def where(self, qid):
        return [q for q in ("maildrop", "incoming", "active", "deferred",
                            "hold", "corrupt")
                if os.path.exists(self.path(q, qid))]

    def run(self, applet, *args, **kw):
        env = dict(kw.pop("env", {}) or {})
        env.setdefault("TZ", "UTC")
        return self.env.run(applet, *args, env=env, **kw)


def out(r):
    return r.stdout.decode("utf-8", "replace")


def err(r):
    return r.stderr.decode("utf-8", "replace")


def date_of(t):
    return time.strftime("%a %b %e %H:%M:%S", time.gmtime(t))


# ---- tests ----

def test_layout(q):
    r = q.run("postsuper", "-s")
    check(r.returncode == 0, "postsuper -s", err(r))
    modes = {"maildrop": 0o1733, "incoming": 0o700, "active": 0o700,
             "deferred": 0o700, "hold": 0o700, "corrupt": 0o700,
             "public": 0o711, "pid": 0o755}
    st = os.stat(q.env.spool)
    check(st.st_mode & 0o7777 == 0o755, "queue dir 0755", oct(st.st_mode))
    for d, m in modes.items():
        st = os.lstat(q.path(d))
        check(st.st_mode & 0o7777 == m, f"mode of {d}",
              f"{oct(st.st_mode & 0o7777)} != {oct(m)}")
        if ROOT:
            want = 0 if d == "pid" else q.owner[0]
            check(st.st_uid == want, f"owner of {d}", str(st.st_uid))
    if ROOT:  # as root, wrong modes and owners are repaired
        os.chmod(q.path("deferred"), 0o755)
        os.chown(q.path("hold"), 0, 0)
        r = q.run("postsuper")
        check(r.returncode == 0, "postsuper repairs", err(r))
        check(os.stat(q.path("deferred")).st_mode & 0o7777 == 0o700,
              "deferred mode repaired")
        check(os.stat(q.path("hold")).st_uid == q.owner[0],
              "hold owner repaired")


def test_empty(q):
    r = q.run("mailq")
    check(r.returncode == 0 and out(r) == "Mail queue is empty\n",
          "empty mailq", out(r) + err(r))
    r = q.run("mailq", "--json")
    check(r.returncode == 0 and out(r) == "", "empty json", out(r))


def fill(q):
    """One message per queue, and a few special cases. Returns ids."""
    ids = {}
    ids["in"] = q.put("incoming", arrival=1700000100,
                      attrs=[b"ret=full", b"envid=QQ+2Bx", b"origin=smtp"])
    ids["act"] = q.put("active", arrival=1700000200, rcpts=[
        (b"c1@example.com", b"", 0, PENDING, b""),
        (b"c2@example.com", b"rfc822;c2@example.com", 6, PENDING, b"")])
    why = b"connect to mx.example.com[192.0.2.1]:25: Connection timed out"
    ids["def"] = q.put("deferred", arrival=1700000300, attempts=3,
                       next_attempt=1700009999, last_attempt=1700005000,
                       rcpts=[(b"d1@example.com", b"", 0, DEFERRED, why),
                              (b"d2@example.com", b"", 0, DEFERRED, why),
                              (b"d3@example.com", b"", 0, DELIVERED,
                               b"250 ok"),
                              (b"d4@example.com", b"", 0, DEFERRED,
                               b"451 4.7.1 \"greylisted\"\x07 \\ try")])
    ids["hold"] = q.put("hold", arrival=1700000400, sender=b"")
    nobody = pwd.getpwnam("nobody")
    ids["drop"] = q.put("maildrop", arrival=1700000500, mode=0o644,
                        owner=(nobody.pw_uid, nobody.pw_gid) if ROOT
                        else None, attrs=[b"uid=65534"])
    ids["odd"] = q.put("deferred", arrival=1700000600,
                       sender=b'"q\\"uote"@example.org',
                       rcpts=[(b"j\xc3\xbcrgen@example.de", b"", 0, PENDING,
                               b""),
                              (b"bad\xff8bit@example.de", b"", 0, PENDING,
                               b"")])
    return ids


def test_mailq(q, ids):
    r = q.run("mailq")
    text = out(r)
    check(r.returncode == 0, "mailq exit", err(r))
    check(err(r) == "", "mailq quiet on stderr", err(r))
    lines = text.split("\n")
    check(lines[0] == "----Queue ID----- --Size-- ---Arrival Time---- "
          "--Sender/Recipient------", "mailq heading", lines[0])
    check(re.search(r"\n-- 0 Kbytes in 6 Requests\.\n$", text) is not None,
          "mailq summary", text[-60:])
    size = len(b"Subject: hi\n\nhello\n")
    want = f"{ids['act'] + '*':<17} {size:>8} {date_of(1700000200)} " \
        "alice@example.org\n"
    check(want in text, "active entry with *", want + "\n" + text)
    pad = " " * 47
    check(f"{pad}c1@example.com\n{pad}c2@example.com\n" in text,
          "recipients aligned under the sender", text)
    check(f"{ids['hold']}! " in text and "MAILER-DAEMON" in text,
          "hold entry with ! and null sender", text)
    why = "connect to mx.example.com[192.0.2.1]:25: Connection timed out"
    block = " " * (76 - len(why)) + f"({why})\n{pad}d1@example.com\n" \
        f"{pad}d2@example.com\n"
    check(block in text, "deferral reason right-aligned, once", text)
    check("d3@example.com" not in text, "delivered recipient not listed")
    check('(451 4.7.1 "greylisted"? \\ try)' in text,
          "control byte in a reason shown as ?", text)
    check("(waiting for pickup)" in text and ids["drop"] in text,
          "maildrop entry waits for pickup", text)
    r2 = q.run("postqueue", "-p")
    check(r2.returncode == 0 and r2.stdout == r.stdout, "postqueue -p = mailq")


def test_json(q, ids):
    r = q.run("mailq", "--json")
    check(r.returncode == 0, "mailq --json exit", err(r))
    objs = {}
    for line in out(r).splitlines():
        try:
            o = json.loads(line)
        except ValueError as e:
            check(False, "json line parses", f"{e}: {line!r}")
            continue
        objs[o["queue_id"]] = o
    check(set(objs) == set(ids.values()), "json lists every message",
          str(sorted(objs)))
    o = objs.get(ids["def"], {})
    why = "connect to mx.example.com[192.0.2.1]:25: Connection timed out"
    check(o.get("queue_name") == "deferred" and
          o.get("arrival_time") == 1700000300 and
          o.get("message_size") == 19 and o.get("forced_expire") is False and
          o.get("sender") == "alice@example.org", "json fields", str(o))
    rc = o.get("recipients", [])
    check([x.get("address") for x in rc] ==
          ["d1@example.com", "d2@example.com", "d4@example.com"],
          "json recipients (delivered omitted)", str(rc))
    check(rc and rc[0].get("delay_reason") == why, "json delay_reason")
    check(len(rc) == 3 and rc[2].get("delay_reason") ==
          '451 4.7.1 "greylisted"\x07 \\ try', "json escapes", str(rc))
    a = objs.get(ids["act"], {})
    check(a.get("queue_name") == "active" and
          all("delay_reason" not in x for x in a.get("recipients", [])),
          "no delay_reason when not deferred", str(a))
    check(objs.get(ids["hold"], {}).get("sender") == "", "null sender \"\"")
    check(objs.get(ids["drop"], {}).get("queue_name") == "maildrop",
          "maildrop listed")
    odd = objs.get(ids["odd"], {})
    check(odd.get("sender") == '"q\\"uote"@example.org' and
          [x["address"] for x in odd.get("recipients", [])] ==
          ["j\u00fcrgen@example.de", "bad\ufffd8bit@example.de"],
          "utf-8 kept, invalid byte as U+FFFD", str(odd))
    r2 = q.run("postqueue", "-j")
    check(r2.returncode == 0 and r2.stdout == r.stdout, "postqueue -j = "
          "mailq --json")
    check(b"\x07" not in r.stdout, "no raw control byte in JSON")


def test_postcat(q, ids):
    r = q.run("postcat", "-q", ids["def"])
    text = out(r)
    check(r.returncode == 0, "postcat -q", err(r))
    label = f"deferred/{ids['def']}"
    for s in ("*** ENVELOPE RECORDS", "*** MESSAGE CONTENTS",
              "*** MESSAGE FILE END"):
        check(f"{s} {label} ***\n" in text, f"postcat section {s}", text)
    for s in ("message_size: 19\n",
              f"message_arrival_time: {date_of(1700000300)} 2023\n",
              "attempts: 3\n", "sender: alice@example.org\n",
              "recipient: d1@example.com\n",
              "  status: deferred (connect to mx.example.com",
              "  status: delivered (250 ok)\n",
              "  status: deferred (451 4.7.1 \"greylisted\"\\007 \\\\ try)\n",
              f"next_attempt_time: {date_of(1700009999)} 2023\n"):
        check(s in text, f"postcat shows {s.strip()!r}", text)
    check(text.endswith(f"*** MESSAGE CONTENTS {label} ***\nSubject: hi\n\n"
                        f"hello\n*** MESSAGE FILE END {label} ***\n"),
          "postcat content", text)
    r = q.run("postcat", "-q", ids["in"])
    check("named_attribute: envid=QQ+2Bx\n" in out(r), "attributes shown",
          out(r))
    r = q.run("postcat", "-q", ids["act"])
    check("  notify: failure,delay\n  original_recipient: "
          "rfc822;c2@example.com\n" in out(r), "notify and orcpt", out(r))
    r = q.run("postcat", "-e", "-q", ids["def"])
    check(r.returncode == 0 and "MESSAGE CONTENTS" not in out(r) and
          "ENVELOPE" in out(r), "postcat -e")
    r = q.run("postcat", "-h", "-q", ids["def"])
    check(out(r).endswith(f"***\nSubject: hi\n*** MESSAGE FILE END {label}"
                          " ***\n") and "ENVELOPE" not in out(r),
          "postcat -h", out(r))
    r = q.run("postcat", "-b", "-q", ids["def"])
    check(out(r).endswith(f"***\nhello\n*** MESSAGE FILE END {label} ***\n"),
          "postcat -b", out(r))
    r = q.run("postcat", q.path("deferred", ids["def"]))
    check(r.returncode == 0 and "*** ENVELOPE RECORDS /" in out(r),
          "postcat FILE", err(r))
    r = q.run("postcat", "-q", ids["drop"])
    check(r.returncode == 0 and f"maildrop/{ids['drop']}" in out(r),
          "postcat finds maildrop", err(r))


def test_big(q):
    body = bytes(range(256)) * 800 + b"\0\0\r\n\xff"
    content = b"Subject: big\nX-A: 1\n\n" + body
    qid = q.put("deferred", content=content)
    r = q.run("postcat", "-b", "-q", qid)
    label = f"deferred/{qid}"
    head = f"*** MESSAGE CONTENTS {label} ***\n".encode()
    tail = f"\n*** MESSAGE FILE END {label} ***\n".encode()
    check(r.returncode == 0 and r.stdout == head + body + tail,
          "multi-chunk binary body byte-exact", f"{len(r.stdout)}")
    r = q.run("postcat", "-h", "-b", "-q", qid)
    check(r.stdout == head + content + tail, "whole content byte-exact")
    r = q.run("mailq", "--json")
    sizes = [json.loads(x)["message_size"] for x in out(r).splitlines()
             if qid in x]
    check(sizes == [len(content)], "message_size of a big message", str(sizes))
    os.unlink(q.path("deferred", qid))


def test_corrupt(q):
    good = qfile_bytes(rcpts=[(b"x@y", b"", 0, PENDING, b"")],
                       content=b"Subject: c\n\nbody\n")
    bad = {}
    bad["trunc"] = q.put("deferred", data=good[:len(good) - 10])
    flip = bytearray(good)
    flip[len(good) - 40] ^= 1  # a content byte
    bad["sum"] = q.put("deferred", data=bytes(flip))
    bad["junk"] = q.put("incoming", data=b"From alice\nSubject: no\n\nx\n")
    v2 = bytearray(good)
    v2[4] = 2
    bad["v2"] = q.put("deferred", data=bytes(v2))
    r = q.run("mailq")
    e = err(r)
    check(r.returncode == 0, "mailq with damaged files", e)
    check(re.search(r"\n-- 0 Kbytes in 6 Requests\.\n$", out(r)) is not None,
          "damaged files not listed", out(r)[-80:])
    check(f"deferred/{bad['trunc']}: skipped: truncated queue file: offset"
          in e, "truncated reported", e)
    check(f"deferred/{bad['sum']}: skipped: checksum mismatch" in e,
          "checksum reported", e)
    check(f"incoming/{bad['junk']}: skipped: not a tinymta queue file" in e,
          "garbage reported", e)
    check(f"deferred/{bad['v2']}: skipped: unknown queue file version" in e
          and "version 2" in e and "left alone" in e, "newer version", e)
    r = q.run("mailq", "--json")
    check(r.returncode == 0 and len(out(r).splitlines()) == 6,
          "json skips damaged files", out(r))
    for k, qid in bad.items():
        check(len(q.where(qid)) == 1 and "corrupt" not in q.where(qid),
              f"mailq leaves {k} in place", str(q.where(qid)))
    r = q.run("postcat", "-q", bad["trunc"])
    check(r.returncode == 65 and f"deferred/{bad['trunc']}: damaged queue "
          "file: truncated" in err(r), "postcat damaged: 65", err(r))
    r = q.run("postcat", "-q", bad["v2"])
    check(r.returncode == 65 and "version 2" in err(r), "postcat v2", err(r))
    r = q.run("postsuper", "-r", bad["sum"])
    check(r.returncode == 75 and "not requeued" in err(r) and
          q.where(bad["sum"]) == ["deferred"], "requeue refuses damage",
          err(r))
    os.rename(q.path("deferred", bad["trunc"]),
              q.path("corrupt", bad["trunc"]))
    r = q.run("mailq")
    check("1 damaged file in" in err(r), "corrupt/ counted", err(r))
    r = q.run("postcat", "-q", bad["trunc"])
    check(r.returncode == 65 and f"corrupt/{bad['trunc']}" in err(r),
          "postcat searches corrupt/", err(r))
    return bad


def next_attempt(path):
    with open(path, "rb") as f:
        head = f.read(64)
    return struct.unpack("<I", head[24:28])[0], \
        struct.unpack("<Q", head[32:40])[0]


def test_postsuper(q, ids, bad):
    r = q.run("postsuper", "-h", ids["in"])
    check(r.returncode == 0 and q.where(ids["in"]) == ["hold"] and
          "postsuper: Placed on hold: 1 message\n" in err(r), "-h", err(r))
    r = q.run("postsuper", "-H", ids["in"])
    check(r.returncode == 0 and q.where(ids["in"]) == ["deferred"] and
          "Released from hold: 1 message" in err(r), "-H", err(r))
    r = q.run("postsuper", "-r", ids["def"])
    check(r.returncode == 0 and q.where(ids["def"]) == ["incoming"] and
          "Requeued: 1 message" in err(r), "-r moves", err(r))
    check(next_attempt(q.path("incoming", ids["def"])) == (3, 0),
          "-r resets next attempt, keeps attempts",
          str(next_attempt(q.path("incoming", ids["def"]))))
    r = q.run("postcat", "-e", "-q", ids["def"])
    check(r.returncode == 0 and "next_attempt_time" not in out(r),
          "requeued file still valid", err(r))
    r = q.run("postsuper", "-h", ids["drop"])
    check(q.where(ids["drop"]) == ["maildrop"] and
          "Placed on hold: 0 messages" in err(r), "-h leaves maildrop", err(r))
    r = q.run("postsuper", "-d", ids["act"])
    check(r.returncode == 0 and q.where(ids["act"]) == [] and
          "postsuper: Deleted: 1 message\n" in err(r), "-d ID", err(r))
    r = q.run("postsuper", "-d", "-", input=f"{ids['odd']}\nnot-an-id\n\n")
    check(r.returncode == 0 and q.where(ids["odd"]) == [] and
          "invalid queue ID" in err(r), "-d - reads stdin", err(r))
    r = q.run("postsuper", "-d", "ALL", "deferred")
    check(r.returncode == 0 and os.listdir(q.path("deferred")) == [],
          "-d ALL deferred", err(r))
    r = q.run("postsuper", "-h", "ALL")
    check(r.returncode == 0 and os.listdir(q.path("incoming")) == [] and
          ids["def"] in os.listdir(q.path("hold")), "-h ALL", err(r))
    r = q.run("postsuper", "-d", "ALL")
    check(r.returncode == 0 and os.listdir(q.path("hold")) == [] and
          os.listdir(q.path("maildrop")) == [ids["drop"]],
          "-d ALL spares maildrop", err(r))
    r = q.run("postsuper", "-d", "ALL", "maildrop", "corrupt")
    check(r.returncode == 0 and os.listdir(q.path("maildrop")) == [] and
          os.listdir(q.path("corrupt")) == [], "-d ALL maildrop corrupt",
          err(r))
    r = q.run("postsuper", "-d", "3F0A8C1234")
    check(r.returncode == 0 and "no such message" in err(r),
          "-d unknown ID warns", err(r))
    r = q.run("mailq")
    check(out(r) == "Mail queue is empty\n", "all gone", out(r))


def test_usage(q):
    victim = os.path.join(q.env.dir, "VICTIMFILE00")
    open(victim, "w").close()
    for args, what in ((["-d", "../../VICTIMFILE00"], "path traversal ID"),
                       (["-d", "abc"], "lowercase ID"),
                       (["-x"], "unknown flag"),
                       (["-d"], "missing argument"),
                       (["-d", "ALL", "nosuchqueue"], "unknown queue")):
        r = q.run("postsuper", *args)
        check(r.returncode == 64, f"postsuper {what}: 64",
              f"{r.returncode} {err(r)}")
    check(os.path.exists(victim), "no path traversal")
    for args in (["-q", "../x"], ["-x", "-q", "ABCDEFGH"], []):
        r = q.run("postcat", *args)
        check(r.returncode == 64, f"postcat {args}: 64", str(r.returncode))
    r = q.run("postcat", "-q", "ABCDEFGH1234")
    check(r.returncode == 66 and "no such message" in err(r),
          "postcat missing: 66", err(r))
    r = q.run("postcat", "/nonexistent/file")
    check(r.returncode == 66, "postcat missing file: 66", err(r))
    for args in (["-x"], [], ["-p", "extra"], ["-i", "bad/id"],
                 ["-s", "a b"]):
        r = q.run("postqueue", *args)
        check(r.returncode == 64, f"postqueue {args}: 64", str(r.returncode))
    r = q.run("mailq", "-x")
    check(r.returncode == 64, "mailq -x: 64")
    r = q.run("postqueue", "-f")
    check(r.returncode == 69 and "not running" in err(r),
          "postqueue -f without a daemon: 69", err(r))


def test_unprivileged(q, ids):
    extra = q.put("deferred")
    for applet, args in (("mailq", []), ("postqueue", ["-j"]),
                         ("postcat", ["-q", ids["def"]]),
                         ("postsuper", ["-d", "ALL"]),
                         ("postsuper", ["-s"])):
        r = q.run(applet, *args, user="nobody")
        check(r.returncode == 77 and ("ermission" in err(r)),
              f"{applet} {args} as nobody: 77", f"{r.returncode} {err(r)}")
    check(q.where(extra) == ["deferred"], "nothing deleted")


def test_bad_owner():
    env = tmlib.Env(main_cf="mail_owner = no-such-user-xyz\n")
    try:
        r = env.run("mailq")
        check(r.returncode == 78 and "no-such-user-xyz" in err(r) and
              "not a known user" in err(r), "unknown mail_owner: 78", err(r))
        r = env.run("postsuper", "-s")
        check(r.returncode == 78, "postsuper unknown mail_owner: 78")
    finally:
        env.cleanup()


def test_dev_mode():
    """A user who is not root owns a queue of their own (mail_owner is
    ignored)."""
    env = tmlib.Env()
    try:
        nobody = pwd.getpwnam("nobody")
        os.makedirs(env.spool)
        os.chown(env.spool, nobody.pw_uid, nobody.pw_gid)
        r = env.run("postsuper", "-s", user="nobody")
        check(r.returncode == 0, "dev mode: postsuper -s", err(r))
        st = os.stat(os.path.join(env.spool, "deferred"))
        check(st.st_uid == nobody.pw_uid, "dev mode: owned by the user")
        q = Q(env)
        qid = q.put("deferred", owner=(nobody.pw_uid, nobody.pw_gid))
        r = env.run("mailq", user="nobody")
        check(r.returncode == 0 and qid in out(r), "dev mode: mailq", err(r))
        r = env.run("postsuper", "-d", qid, user="nobody")
        check(r.returncode == 0 and q.where(qid) == [], "dev mode: -d",
              err(r))
        r = env.run("mailq", user="nobody")
        check(r.returncode == 0 and "empty" in out(r), "dev mode: empty")
    finally:
        env.cleanup()


def test_missing_queue():
    env = tmlib.Env()
    try:
        r = env.run("mailq")
        check(r.returncode == 75 and env.spool in err(r),
              "mailq without a queue: 75", err(r))
        r = env.run("postsuper", "-d", "ALL")
        check(r.returncode == 75, "postsuper without a queue: 75", err(r))
    finally:
        env.cleanup()


def gen_corpus(d):
    os.makedirs(d, exist_ok=True)
    seeds = {
        "minimal": qfile_bytes(rcpts=[(b"a@b", b"", 0, PENDING, b"")]),
        "null-sender": qfile_bytes(sender=b"", flags=1, rcpts=[
            (b"postmaster", b"", 8, BOUNCED, b"550 5.1.1 no such user")]),
        "full": qfile_bytes(
            attempts=2, next_attempt=1700001000, last_attempt=1700000500,
            attrs=[b"ret=hdrs", b"envid=ABC", b"body=8bitmime",
                   b"uid=1000", b"fullname=Cron Daemon", b"origin=sendmail"],
            sender=b"root@router.lan",
            rcpts=[(b"admin@example.org", b"rfc822;admin@example.org", 7,
                    DEFERRED, b"451 4.4.1 try later"),
                   (b"ops@example.org", b"", 2, DELIVERED, b"250 2.0.0 ok")],
            content=b"Subject: disk\nFrom: root\n\nsda: failing\n"),
        "chunks": qfile_bytes(rcpts=[(b"a@b", b"", 0, PENDING, b"")],
                              content=bytes(range(256)) * 40, chunk=1000),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--gen-corpus":
        gen_corpus(sys.argv[2])
        return
    env = tmlib.Env()
    try:
        q = Q(env)
        test_layout(q)
        test_empty(q)
        ids = fill(q)
        test_mailq(q, ids)
        test_json(q, ids)
        test_postcat(q, ids)
        test_big(q)
        bad = test_corrupt(q)
        test_usage(q)
        if ROOT:
            test_unprivileged(q, ids)
            for f in os.listdir(q.path("deferred")):
                if f not in ids.values() and f not in bad.values():
                    os.unlink(q.path("deferred", f))
        test_postsuper(q, ids, bad)
    finally:
        env.cleanup()
    test_missing_queue()
    if ROOT:
        test_bad_owner()
        test_dev_mode()
    tmlib.done()


if __name__ == "__main__":
    main()
