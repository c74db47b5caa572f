"""The mail applet (a mailx subset) as a user runs it: sending with -s -c
-b -r through the daemon, -H, reading and deleting with commands piped on
standard input and typed on a pseudo-terminal, x, s, r, mboxrd unescaping,
deletions while local delivery appends, more messages than the index
holds, garbage given to -f, exit codes."""
import os
import pty
import pwd
import re
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import ROOT, USER, Daemon, ensure_user, wait_for  # noqa: E402

SENDER = f"{USER}@test.example"


def as_user():
    return USER if ROOT else None


def mail(d, *args, input=b"", timeout=60):
    return d.env.run("mail", *args, input=input, user=as_user(), timeout=timeout)


def count_msgs(text):
    return len(re.findall(r"(?:^|\n\n)From ", text))


def split_mbox(data):
    """The records of an mbox (bytes), each with its final blank line."""
    starts = [0] + [m.start() + 2 for m in re.finditer(b"\n\nFrom ", data)]
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


def record(sender, subject, body, date="Sun Nov 29 16:45:08 2026"):
    return (f"From {sender} {date}\nReturn-Path: <{sender}>\n"
            f"From: {sender}\nSubject: {subject}\nMessage-ID: <{subject}@x>\n\n"
            f"{body}\n").encode()


def put_mbox(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    if ROOT:
        pw = pwd.getpwnam(USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def workdir(d):
    w = os.path.join(d.env.dir, "work")
    os.makedirs(w, exist_ok=True)
    os.chmod(w, 0o1777)
    return w


def mail_daemon():
    d = Daemon(aliases=f"root: {USER}\npostmaster: root\n")
    out = workdir(d)
    d.env.write("aliases", f"root: {USER}\npostmaster: root\n"
                f"ccbox: {out}/cc.mbox\nbccbox: {out}/bcc.mbox\n")
    r = d.env.run("newaliases")
    check(r.returncode == 0, "newaliases", r.stderr)
    return d, out


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    except FileNotFoundError:
        return ""


def header_of(box):
    return box.split("\n\n", 1)[0]


def test_send():
    d, out = mail_daemon()
    d.start()
    r = mail(d, "-s", "hello there", "-c", "ccbox", "-b", "bccbox",
             "-r", "boss@test.example", USER, input=b"line one\n.\nFrom the start\n")
    check(r.returncode == 0, "mail -s -c -b -r exits 0", r.stderr)
    cc, bcc = os.path.join(out, "cc.mbox"), os.path.join(out, "bcc.mbox")
    check(wait_for(lambda: "hello there" in d.mbox() and "hello there" in read(cc)
                   and "hello there" in read(bcc), 30),
          "To, Cc and Bcc recipients got it", d.mbox()[-800:])
    box = d.mbox()
    hdr = header_of(box)
    check(f"\nTo: {USER}\n" in hdr and "\nCc: ccbox\n" in hdr
          and "\nSubject: hello there\n" in hdr, "To, Cc, Subject fields", hdr)
    # a Bcc: field, or the Bcc address anywhere but Delivered-To (the
    # Message-ID's random part may well contain the letters "bcc")
    def leaks(h):
        return any(ln.lower().startswith("bcc:") or
                   ("bccbox" in ln.lower() and
                    not ln.lower().startswith("delivered-to:"))
                   for ln in h.splitlines())
    check(not leaks(hdr), "no Bcc in the delivered header", hdr)
    check(not leaks(header_of(read(bcc))),
          "no Bcc in the Bcc recipient's copy either", read(bcc)[:600])
    check("\nFrom: boss@test.example\n" in hdr + "\n"
          and "Return-Path: <boss@test.example>" in hdr,
          "-r sets the envelope sender and From:", hdr)
    check(re.search(r"\nDate: \w\w\w, \d", hdr) is not None
          and re.search(r"\nMessage-ID: <\d{14}\.[0-9A-F]+@test\.example>", hdr),
          "Date and Message-ID added as sendmail does", hdr)
    check("line one\n.\n>From the start\n" in box,
          "body from a pipe: a lone . is text; From escaped in the mbox", box[-300:])
    # exit codes as sendmail's
    r = mail(d, "-s", "x")
    check(r.returncode == 64 and b"recipient" in r.stderr, "-s without recipient: 64",
          r.stderr)
    r = mail(d, "-Z", USER)
    check(r.returncode == 64, "unknown option: 64", r.stderr)
    r = mail(d, "-s", "bad", "bad address <", input=b"x\n")
    check(r.returncode == 65 and b"To" in r.stderr, "malformed address: 65", r.stderr)
    r = mail(d, "--help")
    check(r.returncode == 0 and b"usage: mail" in r.stdout, "mail --help")
    r = d.env.run("tinymta", "--help")
    check(b"mail " in r.stdout + r.stderr, "tinymta --help lists mail")
    d.stop()
    d.env.cleanup()


def three(d):
    data = (record(SENDER, "alpha", "one\n>From escaped\n>>From twice") + b"\n"
            + record("b@remote.example", "beta", "two") + b"\n"
            + record("c@remote.example", "gamma", "three") + b"\n")
    put_mbox(os.path.join(d.mail, USER), data)
    return data


def test_headers_and_print():
    d, _ = mail_daemon()
    data = three(d)
    r = mail(d, "-H")
    lines = r.stdout.decode().splitlines()
    check(r.returncode == 0 and len(lines) == 3, "-H: one line per message", r.stdout)
    check(all(len(x) < 80 for x in lines), "-H lines fit 80 columns", r.stdout)
    check("alpha" in lines[0] and "beta" in lines[1] and "b@remote.example" in lines[1]
          and "Nov 29 16:45" in lines[2], "-H: from, date, subject", r.stdout)
    long = record(SENDER, "s" * 200, "x") + b"\n"
    put_mbox(os.path.join(d.mail, USER), long)
    r = mail(d, "-H")
    check(len(r.stdout.decode().rstrip("\n")) == 79, "a long subject is cut at 79",
          r.stdout)
    put_mbox(os.path.join(d.mail, USER), data)
    r = mail(d, input=b"1\nn\np 3\n-\nq\n")
    out = r.stdout.decode()
    check(r.returncode == 0 and "Message 1:" in out and "Message 2:" in out
          and "Message 3:" in out and out.count("Message 2:") == 2,
          "number, n, p N, - print", out)
    check("one\nFrom escaped\n>From twice\n" in out, ">From lines unescaped", out)
    check(open(os.path.join(d.mail, USER), "rb").read() == data,
          "reading changes nothing")
    os.unlink(os.path.join(d.mail, USER))
    r = mail(d)
    check(r.returncode == 0 and b"No mail for" in r.stdout, "no mailbox: No mail",
          r.stdout + r.stderr)
    d.env.cleanup()


def test_delete_quit_exit():
    d, _ = mail_daemon()
    data = three(d)
    path = os.path.join(d.mail, USER)
    ino = os.stat(path).st_ino
    r = mail(d, input=b"d 2\nx\n")
    check(r.returncode == 0 and open(path, "rb").read() == data
          and os.stat(path).st_ino == ino, "x changes nothing", r.stderr)
    r = mail(d, input=b"d 2\nh\nq\n")
    recs = split_mbox(data)
    new = open(path, "rb").read()
    check(r.returncode == 0 and new == recs[0] + recs[2],
          "d 2, q: the others intact byte for byte", new)
    st = os.stat(path)
    check(st.st_mode & 0o777 == 0o600 and st.st_uid == pwd.getpwnam(USER).pw_uid,
          "rewritten mailbox keeps its owner and mode", oct(st.st_mode))
    check(not [n for n in os.listdir(d.mail) if n != USER],
          "no temporary or lock file left", os.listdir(d.mail))
    # another program replaces the mailbox during the session: refused
    before = open(path, "rb").read()
    pw = pwd.getpwnam(USER)

    def drop():
        if ROOT:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    p = subprocess.Popen([os.path.join(d.env.bin, "mail"), "-N"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TINYMTA_CONFIG_DIR=d.env.conf),
                         preexec_fn=drop)
    # -N prints one line once the mailbox is indexed, before reading commands
    ready = select.select([p.stdout], [], [], 30)[0]
    check(ready and b"2 messages" in p.stdout.readline(), "session indexed")
    p.stdin.write(b"d 1\n")
    p.stdin.flush()
    put_mbox(path + ".new", before)
    os.rename(path + ".new", path)
    outp, errp = p.communicate(b"q\n", timeout=60)
    check(p.returncode == 75 and b"changed by another program" in errp
          and open(path, "rb").read() == before,
          "a replaced mailbox: 75, nothing applied", errp)
    r = mail(d, input=b"d *\nu 1\nq\n")
    check(open(path, "rb").read() == recs[0], "d *, u 1, q", open(path, "rb").read())
    r = mail(d, input=b"d\n")  # the end of input acts as q
    check(open(path, "rb").read() == b"", "end of input applies deletions")
    r = mail(d, input=b"d 9\nbogus\nq\n")
    check(r.returncode == 0, "bad commands in a script: no exit", r.stderr)
    d.env.cleanup()


def test_save_and_file():
    d, out = mail_daemon()
    data = three(d)
    saved = os.path.join(out, "saved")
    r = mail(d, input=f"s 2 {saved}\ns 3 {saved}\nq\n".encode())
    recs = split_mbox(data)
    check(r.returncode == 0 and b"[New file]" in r.stdout and b"[Appended]" in r.stdout,
          "s reports new file, then appended", r.stdout + r.stderr)
    check(read(saved).encode() == recs[1] + recs[2], "s N FILE appends mbox records",
          read(saved))
    check(open(os.path.join(d.mail, USER), "rb").read() == data,
          "saving leaves the mailbox alone")
    r = mail(d, "-f", saved, input=b"d 1\nq\n")
    check(r.returncode == 0 and read(saved).encode() == recs[2], "-f FILE: d 1, q",
          read(saved))
    garbage = os.path.join(out, "garbage")
    with open(garbage, "wb") as f:
        f.write(b"this is not a mailbox\nFrom nobody\n")
    r = mail(d, "-f", garbage)
    check(r.returncode == 65 and b"not an mbox" in r.stderr, "garbage -f: 65, clear error",
          r.stderr)
    r = mail(d, "-f", os.path.join(out, "missing"))
    check(r.returncode == 66 and b"cannot open" in r.stderr, "missing -f FILE: 66",
          r.stderr)
    r = mail(d, "-H", "-f", "/dev/null")
    check(r.returncode == 65 and b"not a regular file" in r.stderr, "-f /dev/null: 65",
          r.stderr)
    d.env.cleanup()


def test_reply():
    d, _ = mail_daemon()
    d.start()
    three(d)
    r = mail(d, input=b"r 1\nthanks for the note\n.\nh\nq\n")
    check(r.returncode == 0, "r 1 in a script", r.stderr)
    check(wait_for(lambda: "Subject: Re: alpha" in d.mbox(), 30),
          "the reply reached the sender", d.mbox()[-600:])
    box = d.mbox()
    check("In-Reply-To: <alpha@x>" in box and f"To: {SENDER}" in box
          and "thanks for the note" in box, "reply fields and text", box[-600:])
    check("\nh\n" not in box.split("Re: alpha", 1)[-1],
          "the . line ends the reply text")
    d.stop()
    d.env.cleanup()


def test_concurrent_delivery():
    d, _ = mail_daemon()
    path = os.path.join(d.mail, USER)
    old = b"".join(record(SENDER, f"old-{i}", "x") + b"\n" for i in range(10))
    put_mbox(path, old)
    d.start()
    errors = []

    def sender():
        for i in range(20):
            r = d.env.run("sendmail", "-f", SENDER, USER,
                          input=f"Subject: new-{i}\n\nnew\n")
            if r.returncode != 0:
                errors.append(r.stderr)

    t = threading.Thread(target=sender)
    t.start()
    rcs = []
    for _ in range(5):
        rcs.append(mail(d, input=b"d 1\nq\n").returncode)
    t.join()
    check(not errors and rcs == [0] * 5, "deleting while mail is delivered", (errors, rcs))
    check(wait_for(lambda: d.mbox().count("Subject: new-") == 20, 60),
          "every new message arrived", d.mbox()[-500:])
    box = d.mbox()
    news = sorted(re.findall(r"Subject: (new-\d+)", box))
    olds = re.findall(r"Subject: (old-\d+)", box)
    check(len(news) == 20 and len(set(news)) == 20, "each new message once", news)
    check(olds == [f"old-{i}" for i in range(5, 10)], "exactly the deleted ones gone",
          olds)
    check(count_msgs(box) == 25, "25 records", count_msgs(box))
    d.stop()
    d.env.cleanup()


def test_index_cap():
    d, out = mail_daemon()
    path = os.path.join(out, "big")
    n = 20005
    data = b"".join(b"From a@b Sun Nov 29 16:45:08 2026\nSubject: m%d\n\nx\n\n" % i
                    for i in range(n))
    put_mbox(path, data)
    r = mail(d, "-f", path, input=b"d 1\nq\n")
    check(r.returncode == 0 and b"more than 20000 messages" in r.stderr,
          "over the cap: a clear warning", r.stderr[-300:])
    check(open(path, "rb").read() == data[data.index(b"From ", 1):],
          "over the cap: the rest kept intact", len(open(path, "rb").read()))
    d.env.cleanup()


def test_maildir_usec_order():
    """Names in one second order by their microseconds as numbers (".M"
    is not zero-padded: M84547 comes before M189030, which sorts first as
    text)."""
    d, out = mail_daemon()
    pw = pwd.getpwnam(USER)
    md = os.path.join(pw.pw_dir, "Maildir")
    subprocess.run(["rm", "-rf", md])
    with open(os.path.join(d.env.conf, "main.cf"), "a") as f:
        f.write("home_mailbox = Maildir/\n")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub))
    for name, subj in (("1700000000.M189030P1Q0.h", "second"),
                       ("1700000000.M84547P1Q0.h", "first"),
                       ("1699999999.M999999P1Q0.h", "zeroth")):
        with open(os.path.join(md, "new", name), "w") as f:
            f.write(f"From: {SENDER}\nSubject: {subj}\n\nx\n")
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", md], check=True)
    r = mail(d, "-H")
    subjects = [x.split()[-1] for x in r.stdout.decode().splitlines()]
    check(r.returncode == 0 and subjects == ["zeroth", "first", "second"],
          "Maildir -H orders one second's names by microseconds",
          r.stdout + r.stderr)
    subprocess.run(["rm", "-rf", md])
    d.env.cleanup()


def test_maildir():
    d, out = mail_daemon()
    home = pwd.getpwnam(USER).pw_dir
    md = os.path.join(home, "Maildir")
    subprocess.run(["rm", "-rf", md])
    with open(os.path.join(d.env.conf, "main.cf"), "a") as f:
        f.write("home_mailbox = Maildir/\n")
    d.start()
    new = os.path.join(md, "new")
    for i in range(3):
        # one at a time: pickup may take queued ones in any order
        d.send(USER, subject=f"md-{i}", body=f"From maildir {i}\n", sender=SENDER)
        wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == i + 1, 30)
    check(os.path.isdir(new) and len(os.listdir(new)) == 3,
          "three messages in Maildir/new")
    r = mail(d, "-H")
    lines = r.stdout.decode().splitlines()
    check(r.returncode == 0 and [x.split()[-1] for x in lines] == ["md-0", "md-1", "md-2"],
          "Maildir -H in delivery order", r.stdout + r.stderr)
    saved = os.path.join(out, "md-saved")
    r = mail(d, input=f"p 2\ns 2 {saved}\nd 1\nq\n".encode())
    check(r.returncode == 0 and b"\nFrom maildir 1\n" in r.stdout,
          "Maildir message printed as it is (no escaping)", r.stdout + r.stderr)
    check(read(saved).startswith(f"From {SENDER} ") and ">From maildir 1\n\n" in read(saved),
          "s from a Maildir: an mbox record, From escaped", read(saved))
    names = sorted(os.listdir(new))
    check(len(names) == 2 and all("md-0" not in read(os.path.join(new, n)) for n in names),
          "d 1, q unlinks that file only", names)
    d.stop()
    subprocess.run(["rm", "-rf", md])
    d.env.cleanup()


class Pty:
    """mail on a pseudo-terminal, as a person on a serial console."""

    def __init__(self, d, *args):
        pid, fd = pty.fork()
        if pid == 0:
            env = dict(os.environ, TINYMTA_CONFIG_DIR=d.env.conf)
            try:
                if ROOT:
                    pw = pwd.getpwnam(USER)
                    os.setgroups([])
                    os.setgid(pw.pw_gid)
                    os.setuid(pw.pw_uid)
                os.execve(os.path.join(d.env.bin, "mail"), ["mail"] + list(args), env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.out = pid, fd, b""

    def expect(self, what, timeout=20):
        end = time.time() + timeout
        while what.encode() not in self.out and time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.out += chunk
        return what.encode() in self.out

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            self.expect("\0", 0.2)  # drain
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(st)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return None


def test_terminal():
    d, _ = mail_daemon()
    data = three(d)
    path = os.path.join(d.mail, USER)
    d.start()
    p = Pty(d)
    check(p.expect("& "), "prompt on a terminal", p.out)
    check(b"3 messages" in p.out and b"beta" in p.out, "banner and headers", p.out)
    p.send("2\n")
    check(p.expect("two"), "a number prints the message", p.out[-300:])
    p.send("r 1\n")
    check(p.expect("Subject: Re: alpha"), "r shows To and Subject", p.out[-300:])
    p.send("typed reply\n.\n")
    check(p.expect("EOT"), "the reply ends at the . line", p.out[-300:])
    p.send("d 2\n")
    p.send("q\n")
    rc = p.wait()
    recs = split_mbox(data)
    new = open(path, "rb").read()
    rest = new[len(recs[0] + recs[2]):]
    # the reply may have been delivered before q: it is kept after them
    check(rc == 0 and new.startswith(recs[0] + recs[2])
          and (rest == b"" or b"Subject: Re: alpha" in rest),
          "terminal: d 2, q applied", p.out[-300:])
    # sending from the console: the Subject prompt, the text up to "."
    p = Pty(d, USER)
    check(p.expect("Subject: "), "asks for the subject on a terminal", p.out)
    p.send("typed at the console\n")
    p.send("hello from the console\n.\n")
    rc = p.wait()
    check(rc == 0 and b"EOT" in p.out, "console send ends at the . line", p.out)
    check(wait_for(lambda: "Subject: Re: alpha" in d.mbox(), 30)
          and "typed reply" in d.mbox(), "reply typed at the console delivered",
          d.mbox()[-400:])
    check(wait_for(lambda: "Subject: typed at the console" in d.mbox(), 30)
          and "hello from the console" in d.mbox(), "console message delivered",
          d.mbox()[-400:])
    d.stop()
    d.env.cleanup()


def main():
    ensure_user()
    for t in (test_send, test_headers_and_print, test_delete_quit_exit,
              test_save_and_file, test_reply, test_concurrent_delivery,
              test_index_cap, test_terminal, test_maildir_usec_order,
              test_maildir):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
