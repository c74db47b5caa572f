"""Faults the daemon must survive, driven through the real daemon: truncated
queue files (a crash), a full mail spool during delivery, a clock that
jumps from 1970 to today, queue lifetime expiry, soft_bounce, and double
bounces (one to the postmaster; a failing one discarded, never looping).

Root only: the full-disk test mounts a tmpfs. The clock test needs
faketime and the dynamically linked sanitizer build (TINYMTA=
build/asan/tinymta): the static binary cannot be faked. Each skip says
why."""
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import BIN, check, done, mail_owner  # noqa: E402
from test_daemon import ROOT, USER, ensure_user, wait_for  # noqa: E402
from test_dsn import SENDER, D  # noqa: E402

BOUNCE = "Subject: Undelivered Mail Returned to Sender"
PM_COPY = "Subject: Postmaster Copy: Undelivered Mail"
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]


def skip(what, why):
    print(f"SKIP {what}: {why}", flush=True)


def give_to_owner(path):
    """Queue files belong to mail_owner, mode 0600 (qmgr opens them rw)."""
    pw = pwd.getpwnam(mail_owner())
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o600)


def test_truncated_files():
    d = D()
    r = d.env.run("postsuper")
    check(r.returncode == 0, "postsuper creates the queue", r.stderr)
    d.send(USER, subject="good-one", sender=SENDER)  # waits in maildrop/
    md = os.path.join(d.env.spool, "maildrop")
    names = os.listdir(md)
    check(len(names) == 1, "one file in maildrop")
    data = open(os.path.join(md, names[0]), "rb").read()
    half = data[:len(data) // 2]
    bad = {"incoming": "1AAAAAAAAAAA1", "active": "1AAAAAAAAAAA2"}
    for q, qid in bad.items():
        p = os.path.join(d.env.spool, q, qid)
        with open(p, "wb") as f:
            f.write(half)
        give_to_owner(p)
    d.start()
    d.send(USER, subject="good-two", sender=SENDER)
    ok = wait_for(lambda: "Subject: good-one" in d.mbox()
                  and "Subject: good-two" in d.mbox(), 20)
    check(ok, "the good messages are delivered", d.maillog()[-1500:])
    check(wait_for(lambda: d.queue_count("corrupt") == 2, 10),
          "both truncated files moved to corrupt/",
          str(os.listdir(os.path.join(d.env.spool, "corrupt"))))
    log = d.maillog()
    for q, qid in bad.items():
        check(os.path.exists(os.path.join(d.env.spool, "corrupt", qid)),
              f"{q}/{qid} kept in corrupt/")
        check(f"{qid}: moved from" in log and "truncated" in log,
              f"log names {qid} and why", log[-1500:])
    check(d.status()[0] == 0, "the daemon still runs")
    d.finish()


def mount_tmpfs(path, size):
    if not ROOT:
        return "not root"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777",
                        "tmpfs", path], capture_output=True, text=True)
    return None if r.returncode == 0 else f"mount failed: {r.stderr.strip()}"


def test_full_disk():
    d = D()
    why = mount_tmpfs(d.mail, "256k")
    if why:
        skip("full disk during delivery", why)
        d.env.cleanup()
        return
    try:
        full_disk_steps(d)
    finally:
        d.stop()
        subprocess.run(["umount", d.mail])
        d.env.cleanup()


def full_disk_steps(d):
    filler = os.path.join(d.mail, "filler")
    d.start()
    d.send(USER, subject="fits", sender=SENDER)
    check(wait_for(lambda: "Subject: fits" in d.mbox(), 15), "first message delivered")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # fill the spool, then leave 12 KB: less than the next message
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    os.ftruncate(fd, max(0, os.fstat(fd).st_size - 12 * 1024))
    os.close(fd)
    before = d.mbox()
    big = "".join(f"line {i:06d} " + "y" * 60 + "\n" for i in range(3000))
    d.send(USER, subject="too-big", body=big, sender=SENDER)
    check(wait_for(lambda: d.queue_count("deferred") == 1, 15),
          "the message is deferred when the spool is full", d.maillog()[-1500:])
    check(d.mbox() == before, "mbox ends exactly after the last complete message",
          f"{len(before)} -> {len(d.mbox())}")
    check("status=deferred" in d.maillog() and "No space left" in d.maillog(),
          "log says deferred: no space", d.maillog()[-1500:])
    os.unlink(filler)
    r = d.env.run("tinymta", "flush")
    check(r.returncode == 0, "tinymta flush", r.stderr)
    check(wait_for(lambda: "Subject: too-big" in d.mbox(), 15),
          "delivered after space is freed and a flush")
    box = d.mbox()
    check(box.startswith(before) and box.count("Subject: too-big") == 1
          and big in box, "the mbox holds the whole message once")
    check(d.queue_count("deferred") == 0, "nothing left deferred")


def is_dynamic(path):
    with open(path, "rb") as f:
        return b"/lib64/ld-linux" in f.read(4096)


def test_clock_jump():
    lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
    if lib is None:
        skip("clock jump from 1970", "faketime is not installed (apt-get install faketime)")
        return
    if not is_dynamic(BIN):
        skip("clock jump from 1970", f"{BIN} is static; faketime needs the "
             "dynamic sanitizer build (TINYMTA=build/asan/tinymta)")
        return
    asan = os.environ.get("ASAN_OPTIONS", "")
    fake = {"LD_PRELOAD": lib, "FAKETIME": "@1970-01-02 00:00:00",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}
    d = D("maximal_queue_lifetime = 30s\n")
    r = d.env.run("tinymta", "start", env=fake)
    check(r.returncode == 0, "start under faketime", r.stderr)
    r = d.env.run("sendmail", "-f", SENDER, "far@remote.example", env=fake,
                  input="Subject: from-1970\n\nold clock\n")
    check(r.returncode == 0, "sendmail under faketime", r.stderr)
    check(wait_for(lambda: d.queue_count("deferred") == 1, 15), "1970 mail deferred")
    rows = d.env.run("postqueue", "-j").stdout.decode().splitlines()
    old_id = rows[0].split('"queue_id": "')[1].split('"')[0] if rows else "?"
    check(rows and '"arrival_time": 8' in rows[0], "arrival time in 1970", str(rows))
    d.stop()
    wait_for(lambda: d.status()[0] != 0, 10)
    # The clock is set now: the message looks 56 years old, but must not be
    # bounced for that; its age counts from the first round with a set clock.
    t_set = time.time()
    d.start()
    d.env.run("tinymta", "flush")
    time.sleep(3)
    log = d.maillog()
    check("Subject: from-1970" not in d.mbox(), "the 1970 message is not bounced for age")
    check(not [ln for ln in log.splitlines()
               if f"{old_id}:" in ln and "status=expired" in ln],
          "no expiry logged for it", log[-1500:])
    path = os.path.join(d.env.spool, "deferred", old_id)
    check(os.path.exists(path), "it waits in deferred/")
    if os.path.exists(path):
        with open(path, "rb") as f:
            base = int.from_bytes(f.read(64)[48:56], "little")
        check(abs(base - t_set) < 10, "age base recorded in place (header bytes 48..55)",
              f"{base} vs {t_set:.0f}")
    # With a lifetime shorter than the time since then, it does expire.
    d.env.run("postconf", "-e", "maximal_queue_lifetime=2s")
    d.env.run("tinymta", "reload")
    d.env.run("tinymta", "flush")
    check(wait_for(lambda: "Subject: from-1970" in d.mbox() and BOUNCE in d.mbox(), 20),
          "it expires by the age counted from the set clock", d.maillog()[-1500:])
    d.finish()


def test_expiry():
    d = D("maximal_queue_lifetime = 2s\n")
    d.start()
    t0 = time.time()
    d.send("far@remote.example", subject="will-expire", sender=SENDER)
    ok = wait_for(lambda: BOUNCE in d.mbox(), 20)
    took = time.time() - t0
    box, log = d.mbox(), d.maillog()
    check(ok, "a bounce after maximal_queue_lifetime", log[-1500:])
    check(took >= 2, "not before the lifetime", f"{took:.1f} s")
    check("Status: 5.4.7" in box and "delivery time expired" in box,
          "5.4.7 delivery time expired", box[-2000:])
    check("Subject: will-expire" in box and "Final-Recipient: rfc822; far@remote.example" in box,
          "the DSN goes to the sender with the message")
    check("status=expired, returned to sender" in log
          and "sender non-delivery notification: " in log, "Postfix log lines", log[-1500:])
    check(wait_for(lambda: d.queue_count("deferred") + d.queue_count("active")
                   + d.queue_count("incoming") == 0, 10), "the message is removed")
    d.finish()


def test_soft_bounce():
    d = D("soft_bounce = yes\n")
    d.start()
    d.send("nosuchuser", subject="soft", sender=SENDER)
    check(wait_for(lambda: d.queue_count("deferred") == 1, 15), "unknown user deferred")
    time.sleep(3)  # a few more rounds
    log = d.maillog()
    check(BOUNCE not in d.mbox(), "no bounce with soft_bounce")
    check("status=deferred" in log and "dsn=4.1.1" in log and "status=bounced" not in log,
          "logged deferred with 4.1.1", log[-1500:])
    # a retry may hold it in active/ at this moment
    check(d.queue_count("deferred") + d.queue_count("active") == 1,
          "still queued (deferred, or active for a retry)")
    d.finish()


def test_double_bounce():
    d = D()
    d.start()
    d.send("nosuchuser", subject="from-null", sender="<>")
    check(wait_for(lambda: PM_COPY in d.mbox(), 15), "a double bounce to the postmaster",
          d.maillog()[-1500:])
    time.sleep(2)
    box, log = d.mbox(), d.maillog()
    check(box.count(PM_COPY) == 1 and BOUNCE not in box, "exactly one", box[-1500:])
    check("Subject: from-null" in box and "message/rfc822" in box,
          "it carries the failed message")
    check(log.count("postmaster non-delivery notification: ") == 1,
          "log: postmaster non-delivery notification", log[-1500:])
    d.finish()
    # The postmaster itself is undeliverable: the double bounce is dropped.
    d = D(aliases=f"root: {USER}\npostmaster: nosuchuser2\n")
    d.start()
    d.send("nosuchuser", subject="from-null-2", sender="<>")
    check(wait_for(lambda: "undeliverable postmaster notification discarded" in d.maillog(), 15),
          "a failing double bounce is discarded and logged", d.maillog()[-1500:])
    time.sleep(3)
    log = d.maillog()
    check(log.count("undeliverable postmaster notification discarded") == 1
          and log.count("postmaster non-delivery notification: ") == 1,
          "no loop: one double bounce, discarded once", log[-2000:])
    check(d.queue_count("deferred") + d.queue_count("active")
          + d.queue_count("incoming") == 0, "queue empty")
    check(d.mbox() == "", "nothing delivered")
    d.finish()


def main():
    ensure_user()
    for t in (test_truncated_files, test_full_disk, test_clock_jump,
              test_expiry, test_soft_bounce, test_double_bounce):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
