"""Postfix's owner-NAME alias lists (aliases(5), local(8)), end to end
through the real daemon: when alias NAME has an alias owner-NAME, its
members get the envelope sender owner-NAME@$myorigin (Return-Path in the
mailbox, From_ line and SENDER for commands), a member's permanent failure
is reported to owner-NAME (not to the original sender), and the list's
recipient counts as delivered. Without an owner- alias nothing changes."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import USER, Daemon, ensure_user, wait_for  # noqa: E402
from test_local_extras import make_out, messages, read  # noqa: E402

REMOTE = "someone@remote.example"  # a bounce to it would wait in deferred/
OWNER = "owner-team@test.example"  # myorigin = test.example (tmlib)


def daemon(aliases):
    d = Daemon(aliases=f"root: {USER}\npostmaster: root\n" + aliases)
    log = os.path.join(d.env.dir, "maillog")
    open(log, "w").close()
    os.chmod(log, 0o666)
    with open(os.path.join(d.env.conf, "main.cf"), "a") as f:
        f.write(f"maillog_file = {log}\n")
    return d, log


def queue_empty(d):
    return sum(d.queue_count(q) for q in
               ("incoming", "active", "deferred", "maildrop")) == 0


def split_messages(box):
    parts = ("\n" + box).split("\nFrom ")
    return ["From " + p for p in parts if p.strip()]


def test_owner_list():
    d, log = daemon(f"team: {USER}, nosuchuser\nowner-team: {USER}\n")
    d.start()
    d.send("team", subject="list-mail", sender=REMOTE)
    ok = wait_for(lambda: "Subject: list-mail" in d.mbox()
                  and "Undelivered Mail Returned to Sender" in d.mbox(), 20)
    msgs = split_messages(d.mbox())
    check(ok, "the list message and the owner's bounce arrive", d.mbox()[-2000:])
    listed = [m for m in msgs if "Subject: list-mail" in m.split("\n\n", 1)[0]]
    bounces = [m for m in msgs if "Undelivered Mail Returned" in m]
    check(len(listed) == 1 and f"Return-Path: <{OWNER}>" in listed[0],
          "member's copy: Return-Path is owner-team", listed[0][:400] if listed else msgs)
    check(len(listed) == 1 and listed[0].startswith(f"From {OWNER} "),
          "member's copy: From_ line names owner-team", listed[0][:200] if listed else "")
    check(len(bounces) == 1, "one bounce", str(len(bounces)))
    if bounces:
        b = bounces[0]
        check(f"To: <{OWNER}>" in b, "the bounce goes to owner-team", b[:600])
        check("Final-Recipient: rfc822; nosuchuser@test.example" in b
              and "Status: 5.1.1" in b, "it names the unknown member, 5.1.1", b[:2500])
        check("Original-Recipient: rfc822; team@test.example" in b,
              "Original-Recipient is the list", b[:2500])
        check(f"Final-Recipient: rfc822; {USER}@" not in b,
              "the delivered member is not named")
    time.sleep(2)  # room for a bounce to the sender that must not come
    check(wait_for(lambda: queue_empty(d), 10),
          "queue empty: nothing for the original sender",
          os.popen(f"ls -R {d.env.spool}").read())
    check(messages(d.mbox()) == 2, "exactly two messages in the mailbox",
          str(messages(d.mbox())))
    text = read(log)
    check(f"to=<{REMOTE}>" not in text, "no delivery to the sender logged",
          text[-1500:])
    d.stop()
    d.env.cleanup()


def test_owner_command_member():
    """A |command member: SENDER and the From_ line are owner-team; its
    permanent failure (exit 67) is reported to owner-team by the agent's
    result path, and nothing goes back to the sender."""
    d = Daemon()
    out = make_out(d)
    d.env.write("aliases", f"root: {USER}\npostmaster: root\n"
                f"team: |echo \"$SENDER\" > {out}/sender.out, tm-fail\n"
                "tm-fail: |exit 67\n"
                f"owner-team: {USER}\n")
    r = d.env.run("newaliases")
    check(r.returncode == 0, "newaliases", r.stderr)
    d.start()
    d.send("team", subject="cmd-list", sender=REMOTE)
    sender_out = os.path.join(out, "sender.out")
    check(wait_for(lambda: read(sender_out).strip() == OWNER, 20),
          "the command's SENDER is owner-team", read(sender_out))
    check(wait_for(lambda: "Undelivered Mail Returned" in d.mbox(), 20),
          "the owner gets the command's failure", d.mbox()[-1500:])
    box = d.mbox()
    check(f"To: <{OWNER}>" in box and
          "Final-Recipient: rfc822; tm-fail@test.example" in box,
          "bounce to owner-team names the failing member", box[-2500:])
    time.sleep(2)
    check(wait_for(lambda: queue_empty(d), 10), "queue empty afterwards")
    d.stop()
    d.env.cleanup()


def test_owner_is_the_list():
    """owner-loopy: loopy must not bounce in a loop: the owner's report
    (null sender) reaching the list keeps the null sender, so its own
    failure is a double bounce to the postmaster, and then it stops."""
    d, log = daemon(f"loopy: {USER}, nosuchuser\nowner-loopy: loopy\n")
    d.start()
    d.send("loopy", subject="loop-list", sender=REMOTE)
    check(wait_for(lambda: "Postmaster Copy: Undelivered Mail" in d.mbox()
                   or "Undelivered Mail" in d.mbox() and queue_empty(d), 20),
          "the reports arrive", d.mbox()[-1500:])
    time.sleep(3)
    n = messages(d.mbox())
    time.sleep(2)
    check(messages(d.mbox()) == n and n <= 5, "no loop: the mailbox stops growing",
          str((n, messages(d.mbox()))))
    check(wait_for(lambda: queue_empty(d), 10), "queue empty afterwards")
    d.stop()
    d.env.cleanup()


def test_no_owner_unchanged():
    d, log = daemon(f"team: {USER}, nosuchuser\n")
    d.start()
    d.send("team", subject="plain-list", sender=REMOTE)
    check(wait_for(lambda: "Subject: plain-list" in d.mbox(), 20),
          "member delivered", d.mbox()[-1000:])
    box = d.mbox()
    check(f"Return-Path: <{REMOTE}>" in box, "Return-Path is the original sender",
          box[:600])
    check(wait_for(lambda: d.queue_count("deferred") == 1, 10),
          "the bounce to the remote sender waits in deferred/")
    r = d.env.run("postqueue", "-j")
    check(REMOTE.encode() in r.stdout and b"owner-" not in r.stdout,
          "the deferred bounce is for the original sender", r.stdout)
    check("Undelivered Mail" not in d.mbox(), "no bounce in the mailbox")
    d.stop()
    d.env.cleanup()


def main():
    ensure_user()
    for t in (test_owner_list, test_owner_command_member, test_owner_is_the_list,
              test_no_owner_unchanged):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
