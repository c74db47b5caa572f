#!/usr/bin/env python3
"""test_smtpd_commit - the durable write protocol of smtpd under
concurrency, proven from the system calls (strace -f -ttt -T -y): many
`tinymta smtpd` sessions at once, each queuing several messages. For every
"250 2.0.0 Ok: queued as ID" the trace must show, in time order:
  1. every write to the file, then its name: for a temporary file an
     fsync of it and its rename to incoming/ID; for an unnamed file
     (O_TMPFILE) its write-out (sync_file_range: the data allocated and
     on the disk before the name can be), the linkat of /proc/self/fd/N
     to incoming/ID, then an fsync of the file (inode and link count),
  2. an fsync of the incoming/ directory, by this session or by any other
     one, that STARTED after the rename or link returned and RETURNED
     before the 250 was written.
Nothing may be acknowledged before its commit. The checker is first run
on traces that break the order (it must find the faults), then on the
real one. Also reports how many directory fsyncs there were."""
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402

SESSIONS = 12
PER_SESSION = 4

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
DUR = re.compile(r"<(\d+\.\d+)>\s*$")


def parse(text):
    """Completed calls: (pid, start, end, name, args+result)."""
    calls, pending = [], {}
    for raw in text.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
        if rest.startswith("<..."):  # "<... fsync resumed>) = 0 <0.001>"
            name = rest[5:].split(" ", 1)[0]
            start, head = pending.pop((pid, name), (ts, ""))
            body = head + rest.split("resumed>", 1)[1]
        else:
            c = CALL.match(rest)
            if not c:
                continue
            name = c.group(1)
            if rest.endswith("<unfinished ...>"):
                pending[(pid, name)] = (ts, c.group(2)[:-len("<unfinished ...>")])
                continue
            start, body = ts, c.group(2)
        d = DUR.search(body)
        end = start + (float(d.group(1)) if d else 0.0)
        calls.append((pid, start, end, name, body))
    return calls


def result(body):
    """The return value of a call ("... ) = 0 <0.001>" -> "0")."""
    m = re.search(r"\) = (-?\d+)", body)
    return m.group(1) if m else None


# the calls that put bytes in a file or a reply (the queue file's records
# go out with writev, replies with writev or write)
WRITES = ("write", "writev", "pwrite64")


def verify(calls, incoming):
    """Problems (strings) with the protocol; and the number of 250s and
    directory fsyncs seen."""
    problems, acks = [], 0
    dir_syncs = [(s, e) for (_, s, e, n, b) in calls
                 if n == "fsync" and result(b) == "0"
                 and re.match(r"\d+<" + re.escape(incoming) + r">", b)]
    by_pid = {}
    for c in calls:
        by_pid.setdefault(c[0], []).append(c)
    for pid, seq in by_pid.items():
        for i, (_, s, e, n, b) in enumerate(seq):
            if n not in WRITES:
                continue
            for qid in re.findall(r"250 2\.0\.0 Ok: queued as ([0-9A-Z]+)",
                                  b):
                acks += 1
                problems += check_one(seq, i, s, qid, incoming, dir_syncs)
    return problems, acks, len(dir_syncs)


def check_one(seq, i, s, qid, incoming, dir_syncs):
    """The protocol for one acknowledgement (seq[i], written at s)."""
    problems = []
    ren = [c for c in seq[:i] if c[3] in ("rename", "renameat2", "linkat")
           and f'{incoming}/{qid}"' in c[4] and result(c[4]) == "0"]
    if not ren:
        return [f"{qid}: 250 without a rename or link before it"]
    r = ren[-1]
    if r[3] == "linkat":
        fd = re.search(r'"/proc/self/fd/(\d+)"', r[4])
        mark = f"{fd.group(1)}<" if fd else "?"
        mine = [c for c in seq[:i] if c[4].startswith(mark)]
        what = f"fd {mark[:-1]}"
    else:
        tmp = re.search(r'"([^"]*/\.t[^"]*)"', r[4])
        mark = f"<{tmp.group(1)}>" if tmp else "?"
        mine = [c for c in seq[:i] if mark in c[4]]
        what = mark
    if [c for c in mine if c[3] in WRITES and c[1] >= r[1]]:
        problems.append(f"{qid}: written after its name")
    if r[3] == "linkat":
        last = max([c[1] for c in mine if c[3] in WRITES and c[1] < r[1]],
                   default=0.0)
        if not [c for c in mine if c[3] in ("sync_file_range", "fsync")
                and result(c[4]) == "0" and last <= c[1] and c[2] <= r[1]]:
            problems.append(f"{qid}: not written out before its link")
        if not [c for c in mine if c[3] == "fsync" and result(c[4]) == "0"
                and c[1] >= r[2] and c[2] <= s]:
            problems.append(f"{qid}: no fsync of the file after its link")
    else:
        fs = [c for c in mine if c[3] == "fsync" and result(c[4]) == "0"
              and c[2] <= r[1]]
        if not fs:
            problems.append(f"{qid}: no fsync of {what} before its name")
        elif [c for c in mine if c[3] in WRITES and fs[-1][1] <= c[1]]:
            problems.append(f"{qid}: written after its fsync")
    if not [d for d in dir_syncs if d[0] >= r[2] and d[1] <= s]:
        problems.append(f"{qid}: no directory fsync between the name "
                        f"and the 250")
    return problems


def self_test(incoming):
    """The checker must catch a directory fsync before the rename and an
    acknowledgement before the directory fsync returned."""
    tmp = f"{incoming}/.t1.2.0"
    good = [
        f'7 1.000 write(4<{tmp}>, "E...", 37) = 37 <0.0001>',
        f"7 1.001 fsync(4<{tmp}>) = 0 <0.0010>",
        f'7 1.003 renameat2(AT_FDCWD, "{tmp}", AT_FDCWD, "{incoming}/ABC", '
        f"RENAME_NOREPLACE) = 0 <0.0001>",
        f"8 1.004 fsync(5<{incoming}>) = 0 <0.0010>",
        f'7 1.006 write(1<pipe:[1]>, "250 2.0.0 Ok: queued as ABC\\r\\n", 30)'
        f" = 30 <0.0001>",
    ]
    p, a, _ = verify(parse("\n".join(good)), incoming)
    check(p == [] and a == 1, "checker: a correct trace passes", p)
    early = list(good)
    early[3] = f"8 1.002 fsync(5<{incoming}>) = 0 <0.0005>"
    p, _, _ = verify(parse("\n".join(early)), incoming)
    check(len(p) == 1, "checker: directory fsync before the rename caught", p)
    ack = list(good)
    ack[3] = f"8 1.004 fsync(5<{incoming}>) = 0 <0.0030>"
    p, _, _ = verify(parse("\n".join(ack)), incoming)
    check(len(p) == 1, "checker: 250 before the fsync returned caught", p)
    # an unnamed file (O_TMPFILE): linkat, then the file's fsync
    uf = f"{incoming}/#123 (deleted)"
    link = [
        f'7 1.000 write(4<{uf}>, "E...", 37) = 37 <0.0001>',
        f"7 1.001 sync_file_range(4<{uf}>, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE"
        f"|SYNC_FILE_RANGE_WRITE|SYNC_FILE_RANGE_WAIT_AFTER) = 0 <0.0010>",
        f'7 1.003 linkat(AT_FDCWD, "/proc/self/fd/4", AT_FDCWD, '
        f'"{incoming}/ABC", AT_SYMLINK_FOLLOW) = 0 <0.0001>',
        f"7 1.0035 fsync(4<{incoming}/ABC>) = 0 <0.0001>",
        f"8 1.004 fsync(5<{incoming}>) = 0 <0.0010>",
        f'7 1.006 write(1<pipe:[1]>, "250 2.0.0 Ok: queued as ABC\\r\\n", 30)'
        f" = 30 <0.0001>",
    ]
    p, a, _ = verify(parse("\n".join(link)), incoming)
    check(p == [] and a == 1, "checker: a correct linkat trace passes", p)
    before = [link[0], f"7 1.001 fsync(4<{uf}>) = 0 <0.0010>", link[2]] + link[4:]
    p, _, _ = verify(parse("\n".join(before)), incoming)
    check(len(p) == 1, "checker: an fsync only before the link caught", p)
    noout = [link[0]] + link[2:]
    p, _, _ = verify(parse("\n".join(noout)), incoming)
    check(len(p) == 1, "checker: a link before the write-out caught", p)
    wlate = list(link)
    wlate.insert(2, f'7 1.0025 write(4<{uf}>, "x", 1) = 1 <0.0001>')
    p, _, _ = verify(parse("\n".join(wlate)), incoming)
    check(len(p) == 1, "checker: a write after the write-out caught", p)
    late = list(link)
    late.insert(3, f'7 1.0034 write(4<{incoming}/ABC>, "x", 1) = 1 <0.0001>')
    p, _, _ = verify(parse("\n".join(late)), incoming)
    check(len(p) == 1, "checker: a write after the link caught", p)
    latev = list(late)
    latev[3] = latev[3].replace("write(", "writev(", 1)
    p, _, _ = verify(parse("\n".join(latev)), incoming)
    check(len(p) == 1, "checker: a writev after the link caught", p)
    nodir = link[:4] + link[5:]
    p, _, _ = verify(parse("\n".join(nodir)), incoming)
    check(len(p) == 1, "checker: no directory fsync after the link caught", p)


def main():
    if not shutil.which("strace"):
        print("strace missing")
        sys.exit(1)
    env = tmlib.Env("mynetworks = 10.0.0.0/8\n")
    work = tempfile.mkdtemp(prefix="tinymta-commit-")
    os.chmod(work, 0o777)  # the sessions' output, written as mail_owner
    try:
        owner = tmlib.mail_owner()
        for q in ("incoming", "public"):
            os.makedirs(os.path.join(env.spool, q))
            shutil.chown(os.path.join(env.spool, q), owner)
        incoming = os.path.realpath(os.path.join(env.spool, "incoming"))
        self_test(incoming)
        msg = ("MAIL FROM:<a@b.example>\r\nRCPT TO:<root@test.example>\r\n"
               "DATA\r\nSubject: commit\r\n\r\n" + "x" * 3000 + "\r\n.\r\n")
        for i in range(SESSIONS):
            with open(os.path.join(work, f"in{i}"), "w") as f:
                f.write("EHLO c\r\n" + msg * PER_SESSION + "QUIT\r\n")
        script = (f"for i in $(seq 0 {SESSIONS - 1}); do "
                  f"{env.bin}/tinymta smtpd <{work}/in$i >{work}/out$i "
                  f"2>{work}/err$i & done; wait")
        trace = os.path.join(work, "trace")
        e = dict(os.environ, TINYMTA_CONFIG_DIR=env.conf,
                 TINYMTA_CLIENT_ADDR="10.0.0.1")
        # as mail_owner, as under the master: the files are then unnamed
        # until their link (O_TMPFILE) where the kernel allows
        become = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam(owner)
            become = ["setpriv", f"--reuid={pw.pw_uid}",
                      f"--regid={pw.pw_gid}", "--clear-groups"]
        r = subprocess.run(["strace", "-f", "-ttt", "-T", "-y", "-s", "400",
                            "-o", trace, "-e",
                            "trace=write,writev,pwrite64,fsync,fdatasync,sync_file_range,rename,renameat2,linkat",
                            *become, "sh", "-c", script], env=e,
                           capture_output=True,
                           timeout=300)
        check(r.returncode == 0, "sessions under strace", r.stderr[-500:])
        queued = len([n for n in os.listdir(incoming)])
        check(queued == SESSIONS * PER_SESSION, f"{queued} files queued")
        calls = parse(open(trace).read())
        problems, acks, dsyncs = verify(calls, incoming)
        check(acks == SESSIONS * PER_SESSION, f"{acks} acknowledgements seen")
        check(problems == [], "durable protocol before every 250",
              "\n".join(problems[:10]))
        links = len([c for c in calls if c[3] == "linkat"])
        print(f"{links} of them named by linkat (unnamed files)")
        print(f"{acks} messages, {dsyncs} directory fsyncs")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        env.cleanup()
    tmlib.done()


if __name__ == "__main__":
    main()
