"""Local delivery beyond mailboxes, end to end through the real daemon:
|command and /file alias targets (run as default_privs for root's aliases),
exit codes and the time limit of commands, file targets that are
symlinks, ~/.forward (used, and ignored when unsafe), and hopcount_limit."""
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import Daemon, ROOT, USER, ensure_user, wait_for  # noqa: E402

SENDER = f"{USER}@test.example"  # local: bounces land in USER's mailbox


def messages(box):
    return box.count("\nFrom ") + box.startswith("From ")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    except FileNotFoundError:
        return ""


def mailq(d):
    return d.env.run("mailq").stdout.decode("latin-1")


def make_out(d):
    out = os.path.join(d.env.dir, "out")
    os.makedirs(out)
    os.chmod(out, 0o1777)  # default_privs (nobody) and USER write here
    return out


def extras_daemon(aliases_fn, extra=""):
    d = Daemon()
    out = make_out(d)
    log = os.path.join(d.env.dir, "maillog")
    open(log, "w").close()
    os.chmod(log, 0o666)
    with open(os.path.join(d.env.conf, "main.cf"), "a") as f:
        f.write(f"maillog_file = {log}\n" + extra)
    d.env.write("aliases", f"root: {USER}\npostmaster: root\n" + aliases_fn(out))
    r = d.env.run("newaliases")
    check(r.returncode == 0, "newaliases", r.stderr)
    return d, out, log


def test_commands():
    d, out, log = extras_daemon(lambda o: (
        f"pipecat: |cat > {o}/pipe.out\n"
        f"pipeenv: |env > {o}/env.out\n"
        "tempfail: |exit 75\n"
        "hardfail: |echo this command failed loudly; exit 1\n"
        "nouser: |exit 67\n"
        "sleeper: |sleep 30\n"
        "bigdrop: |exit 0\n"), "command_time_limit = 2\nrecipient_delimiter = +\n")
    d.start()
    d.send("pipecat", subject="to a command", sender=SENDER)
    d.send("pipeenv+ext", subject="environment", sender=SENDER)
    pipe_out = os.path.join(out, "pipe.out")
    check(wait_for(lambda: "to a command" in read(pipe_out)),
          "|cat > FILE got the message", read(log)[-1500:])
    body = read(pipe_out)
    check(body.startswith(f"From {SENDER} ") and f"Return-Path: <{SENDER}>" in body
          and "Delivered-To: pipecat@test.example" in body,
          "command input: From_ line, Return-Path:, Delivered-To:", body[:300])
    if ROOT and os.path.exists(pipe_out):
        check(os.stat(pipe_out).st_uid == pwd.getpwnam("nobody").pw_uid,
              "root's alias command runs as default_privs (nobody)")
    env_out = os.path.join(out, "env.out")
    check(wait_for(lambda: "RECIPIENT=" in read(env_out)), "env captured")
    env = dict(ln.split("=", 1) for ln in read(env_out).splitlines() if "=" in ln)
    check(env.get("RECIPIENT") == "pipeenv+ext@test.example" and
          env.get("SENDER") == SENDER and env.get("PATH") == "/usr/bin:/bin" and
          env.get("DOMAIN") == "test.example" and env.get("LOCAL") == "pipeenv+ext",
          "Postfix's environment (RECIPIENT SENDER PATH DOMAIN LOCAL)", str(env))

    # A big message to a command that reads nothing: no deadlock, sent.
    d.send("bigdrop", subject="big", body=("x" * 999 + "\n") * 3000, sender=SENDER)
    check(wait_for(lambda: "to=<bigdrop@test.example>" in read(log) and
                   "status=sent" in read(log).split("to=<bigdrop@test.example>")[-1]),
          "3 MB to a command that reads nothing: sent, no deadlock",
          read(log)[-800:])

    d.send("tempfail", subject="temporary", sender=SENDER)
    d.send("sleeper", subject="sleepy", sender=SENDER)
    check(wait_for(lambda: "temporary failure" in mailq(d), 15),
          "exit 75: deferred, mailq shows why", mailq(d))
    check(wait_for(lambda: "time limit" in mailq(d), 20),
          "a command past command_time_limit: deferred with the reason", mailq(d))
    check(wait_for(lambda: "sleep 30" not in subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True).stdout, 10),
          "the timed-out command was killed")

    before = messages(d.mbox())
    d.send("hardfail", subject="hard", sender=SENDER)
    d.send("nouser", subject="nouser", sender=SENDER)
    check(wait_for(lambda: messages(d.mbox()) >= before + 2, 20),
          "two bounces for exits 1 and 67", d.mbox()[-1500:])
    box = d.mbox()
    check("this command failed loudly" in box and "Command died with status 1" in box,
          "exit 1: bounced with the command's output in the DSN", box[-3000:])
    check("Status: 5.1.1" in box and "user unknown" in box,
          "exit 67 (EX_NOUSER): bounced 5.1.1", box[-3000:])
    d.stop()
    d.env.cleanup()


def test_files_and_hops():
    d, out, log = extras_daemon(lambda o: (
        f"tofile: {o}/file.mbox\n"
        f"tolink: {o}/link.mbox\n"
        "devnull: /dev/null\n"))
    target = os.path.join(out, "target")
    with open(target, "w") as f:
        f.write("precious\n")
    os.symlink(target, os.path.join(out, "link.mbox"))
    d.start()
    d.send("tofile", subject="file one", sender=SENDER)
    d.send("tofile", subject="file two", body="From the start\n", sender=SENDER)
    fpath = os.path.join(out, "file.mbox")
    check(wait_for(lambda: read(fpath).count("Subject: file") == 2),
          "/file target appended twice", read(log)[-1000:])
    fbox = read(fpath)
    check(fbox.startswith(f"From {SENDER} ") and messages(fbox) == 2 and
          "\n>From the start\n" in fbox and "Delivered-To: tofile@test.example" in fbox,
          "mbox format: From_ lines, >From escaping, Delivered-To", fbox[:600])
    if ROOT and os.path.exists(fpath):
        st = os.stat(fpath)
        check(st.st_uid == pwd.getpwnam("nobody").pw_uid and st.st_mode & 0o777 == 0o600,
              "file created 0600 by default_privs (nobody)")
    d.send("devnull", subject="discard", sender=SENDER)
    check(wait_for(lambda: "to=<devnull@test.example>" in read(log)),
          "/dev/null target accepted")
    check("status=sent" in read(log).split("to=<devnull@test.example>")[-1][:300],
          "/dev/null: sent (discarded)", read(log)[-600:])

    before = messages(d.mbox())
    d.send("tolink", subject="must not follow", sender=SENDER)
    check(wait_for(lambda: messages(d.mbox()) > before, 15),
          "symlinked file target: bounce", d.mbox()[-1000:])
    check(read(target) == "precious\n", "symlink target untouched")
    check("Status: 5.2.0" in d.mbox(), "file target symlink refused with 5.2.0",
          d.mbox()[-2000:])

    hdrs = "".join(f"Received: from hop{i}.example by x; Sun, 29 Nov 2026 10:00:00 +0000\n"
                   for i in range(51))
    before = messages(d.mbox())
    r = d.env.run("sendmail", "-f", SENDER, USER,
                  input=hdrs + "Subject: many hops\n\nloop\n")
    check(r.returncode == 0, "sendmail with 51 Received: accepted", r.stderr)
    check(wait_for(lambda: messages(d.mbox()) > before, 15), "51 hops: bounced")
    box = d.mbox()
    check("Status: 5.4.6" in box and "too many hops" in box,
          "51 Received: header fields: bounced 5.4.6 too many hops", box[-2000:])
    hdrs50 = "".join(f"Received: from hop{i}.example by x; Sun, 29 Nov 2026\n"
                     for i in range(50))
    r = d.env.run("sendmail", "-f", SENDER, USER,
                  input=hdrs50 + "Subject: fifty hops\n\nfine\n")
    check(wait_for(lambda: "Subject: fifty hops" in d.mbox()),
          "50 Received: header fields: delivered (the limit itself passes)")
    d.stop()
    d.env.cleanup()


def test_forward():
    pw = pwd.getpwnam(USER)
    fwd = os.path.join(pw.pw_dir, ".forward")
    d, out, log = extras_daemon(lambda o: "")
    fout = os.path.join(out, "fwd.out")

    def write_forward(text, mode=0o644):
        if os.path.lexists(fwd):
            os.unlink(fwd)
        with open(fwd, "w") as f:
            f.write(text)
        os.chmod(fwd, mode)
        if ROOT:
            os.chown(fwd, pw.pw_uid, pw.pw_gid)
    try:
        write_forward(f"# my forward\n\\{USER}, |cat >> {fout}\n")
        d.start()
        d.send(USER, subject="forwarded one", sender=SENDER)
        check(wait_for(lambda: "forwarded one" in read(fout) and
                       "forwarded one" in d.mbox()),
              ".forward with 'user, |cmd': mailbox and command",
              read(log)[-1000:])
        check(d.mbox().count("Subject: forwarded one") == 1,
              "own name in .forward: the mailbox once, no loop")
        if ROOT and os.path.exists(fout):
            check(os.stat(fout).st_uid == pw.pw_uid,
                  "the .forward command runs as the user")

        write_forward(f"|cat >> {fout}\n", mode=0o666)
        d.send(USER, subject="unsafe forward", sender=SENDER)
        check(wait_for(lambda: "unsafe forward" in d.mbox()),
              "world-writable .forward ignored: mailbox gets the mail")
        check("unsafe forward" not in read(fout), "world-writable .forward: command not run")
        check("is world writable" in read(log), "a warning is logged", read(log)[-800:])

        os.unlink(fwd)
        real = os.path.join(out, "realforward")
        with open(real, "w") as f:
            f.write(f"|cat >> {fout}\n")
        if ROOT:
            os.chown(real, pw.pw_uid, pw.pw_gid)
        os.symlink(real, fwd)
        if ROOT:
            os.lchown(fwd, pw.pw_uid, pw.pw_gid)
        d.send(USER, subject="symlinked forward", sender=SENDER)
        check(wait_for(lambda: "symlinked forward" in d.mbox()),
              "symlinked .forward ignored (Postfix: not a regular file)")
        check("symlinked forward" not in read(fout), "symlinked .forward: command not run")

        write_forward(f"|cat >> {fout}\n")
        d.send(USER, subject="only the command", sender=SENDER)
        check(wait_for(lambda: "only the command" in read(fout)),
              ".forward with only a command")
        time.sleep(0.5)
        check("only the command" not in d.mbox(), "...and not the mailbox")
        d.stop()
    finally:
        if os.path.lexists(fwd):
            os.unlink(fwd)
    d.env.cleanup()


def main():
    ensure_user()
    for t in (test_commands, test_files_and_hops, test_forward):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
