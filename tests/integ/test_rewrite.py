"""Address rewriting at queue entry, end to end through the real daemon:
sendmail -> pickup -> local mbox with sender_canonical_maps,
recipient_canonical_maps and masquerade_domains (the envelope From_ line,
Return-Path, the From/To/Cc header fields), smtpd rewriting the envelope
only, and a lookup table that cannot be read: the mail stays queued (in
maildrop/, or 451 from smtpd) and is delivered once the table is fixed."""
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port, line  # noqa: E402


def daemon(settings, tables):
    """A daemon with an smtpd listener; tables: name -> postmap source,
    settings: main.cf lines (may name $conf)."""
    port = free_port()
    d = Lst(line(port))
    d.port = port
    for name, text in tables.items():
        path = d.env.write(name, text)
        r = d.env.run("postmap", path)
        check(r.returncode == 0, f"postmap {name}", r.stderr)
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main + settings.replace("$conf", d.env.conf))
    return d


def messages(box):
    return box.count("\nFrom ") + box.startswith("From ")


def test_sendmail_rewriting():
    d = daemon("sender_canonical_maps = cdb:$conf/sender\n"
               "recipient_canonical_maps = cdb:$conf/recipient\n"
               "masquerade_domains = !keep.corp.example, corp.example\n",
               {"sender": f"{USER}@test.example alerts@gw.corp.example\n",
                "recipient": f"boss {USER}@test.example\n"
                f"@alias.example {USER}@test.example\n"})
    d.start()
    msg = (f"From: Router Alerts <{USER}@test.example>\n"
           "To: The Boss <boss@test.example>,\n"
           "  other@alias.example (a comment)\n"
           "Cc: team: a@sub.corp.example, b@x.keep.corp.example;\n"
           "Subject: rewritten\n\nbody\n")
    r = d.env.run("sendmail", "-f", f"{USER}@test.example", "boss",
                  input=msg)
    check(r.returncode == 0, "sendmail exits 0", r.stderr)
    ok = wait_for(lambda: "Subject: rewritten" in d.mbox(), 30)
    box = d.mbox()
    check(ok, "delivered to the user behind the rewritten recipient",
          d.maillog()[-1500:])
    check(box.startswith("From alerts@corp.example "),
          "From_ line: canonical, then masqueraded", box[:200])
    check("Return-Path: <alerts@corp.example>" in box, "Return-Path",
          box[:400])
    check("From: Router Alerts <alerts@corp.example>\n" in box,
          "From header rewritten, display name kept", box[:800])
    check(f"To: The Boss <{USER}@test.example>,\n"
          f"  {USER}@test.example (a comment)\n" in box,
          "To rewritten (user, @domain), folding and comment kept", box[:800])
    check("Cc: team: a@corp.example, b@x.keep.corp.example;\n" in box,
          "Cc masqueraded in a group, the ! exception kept", box[:800])
    # A header larger than pickup's buffer (2 x 100 KB): 3000 fields, the
    # From after them is still rewritten; then a field over 100 KB: the
    # rest of the message is passed as it is.
    many = "".join(f"X-Filler-{i}: {'y' * 60}\n" for i in range(3000))
    r = d.env.run("sendmail", "-f", f"{USER}@test.example", USER,
                  input=many + f"From: {USER}@test.example\n"
                  "Subject: many fields\n\nbody of many\n")
    check(r.returncode == 0, "sendmail (3000 fields) exits 0", r.stderr)
    # (sendmail refuses such a field; sendmail -bs takes it, as SMTP)
    huge = "X-Huge: " + "\n ".join(["z" * 70] * 1700) + "\n"
    msg = (huge + f"From: {USER}@test.example\n"
           "Subject: huge field\n\nbody of huge\n")
    r = d.env.run("sendmail", "-bs", input=(
        f"HELO x\r\nMAIL FROM:<{USER}@test.example>\r\n"
        f"RCPT TO:<{USER}@test.example>\r\nDATA\r\n"
        + msg.replace("\n", "\r\n") + ".\r\nQUIT\r\n"))
    check(r.returncode == 0 and b"250 2.0.0" in r.stdout,
          "sendmail -bs (a 120 KB field) accepted", r.stdout[-300:])
    ok = wait_for(lambda: "body of many" in d.mbox() and
                  "body of huge" in d.mbox(), 60)
    box = d.mbox()
    check(ok, "both delivered", d.maillog()[-1500:])
    i, j = box.find("X-Filler-2999: "), box.find("Subject: many fields")
    check(0 < i < j and "From: alerts@corp.example\n" in box[i:j] and
          box.count("X-Filler-") == 3000,
          "3000 fields kept, the From after them rewritten", box[i:j + 40])
    i, j = box.find("X-Huge: "), box.find("Subject: huge field")
    check(0 < i < j and f"From: {USER}@test.example\n" in box[i:j] and
          huge in box, "after a field over 100 KB: passed unchanged",
          box[j - 200:j + 40])
    d.finish()


def test_smtpd_envelope_only():
    # boss is no local user: local_recipient_maps would refuse it, but a
    # recipient in recipient_canonical_maps is accepted (as Postfix)
    d = daemon("sender_canonical_maps = cdb:$conf/sender\n"
               "recipient_canonical_maps = cdb:$conf/recipient\n",
               {"sender": "@client.example @rewritten.example\n",
                "recipient": f"boss@test.example {USER}@test.example\n"})
    d.start()
    try:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as c:
            c.ehlo("client.example")
            c.sendmail("someone@client.example", ["boss@test.example"],
                       "From: someone@client.example\r\n"
                       "To: boss@test.example\r\nSubject: via smtpd\r\n"
                       "\r\nhello\r\n")
    except Exception as e:  # noqa: BLE001
        check(False, "SMTP transaction", repr(e))
    try:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as c:
            c.ehlo("client.example")
            c.mail("someone@client.example")
            code, _ = c.rcpt("nosuchuser@test.example")
            check(code == 550, "an unknown user not in the table: 550",
                  str(code))
    except Exception as e:  # noqa: BLE001
        check(False, "SMTP transaction (unknown user)", repr(e))
    ok = wait_for(lambda: "Subject: via smtpd" in d.mbox(), 30)
    box = d.mbox()
    check(ok, "delivered to the rewritten recipient", d.maillog()[-1500:])
    check("Return-Path: <someone@rewritten.example>" in box,
          "envelope sender rewritten", box[:400])
    check("From: someone@client.example\n" in box and
          "To: boss@test.example\n" in box,
          "headers of remote SMTP clients left alone", box[:800])
    d.finish()


def test_unreadable_table():
    d = daemon("sender_canonical_maps = cdb:$conf/sender\n", {})
    d.env.write("sender.cdb", "this is not a cdb file")
    d.start()
    d.send(USER, subject="first", sender=f"{USER}@test.example")
    check(wait_for(lambda: "left in maildrop" in d.maillog(), 30),
          "pickup logs the unreadable table", d.maillog()[-1500:])
    check(d.queue_count("maildrop") == 1 and d.mbox() == "",
          "the message stays in maildrop, nothing delivered")
    try:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as c:
            c.ehlo("client.example")
            c.mail("someone@client.example")
            code, text = c.rcpt(f"{USER}@test.example")
            check(code == 451 and b"4.3.0" in text,
                  "smtpd: 451 4.3.0 while the table is unreadable",
                  f"{code} {text!r}")
    except Exception as e:  # noqa: BLE001
        check(False, "SMTP transaction", repr(e))
    # The fix: a real table; the next pickup round (woken by the next
    # submission) takes both messages.
    path = d.env.write("sender", f"{USER}@test.example fixed@test.example\n")
    r = d.env.run("postmap", path)
    check(r.returncode == 0, "postmap sender", r.stderr)
    d.send(USER, subject="second", sender=f"{USER}@test.example")
    ok = wait_for(lambda: messages(d.mbox()) >= 2, 30)
    box = d.mbox()
    check(ok and "Subject: first" in box and "Subject: second" in box,
          "both delivered after the fix", d.maillog()[-1500:])
    check(box.count("Return-Path: <fixed@test.example>") == 2,
          "both with the rewritten sender", box[:600])
    check(d.queue_count("maildrop") == 0, "maildrop empty")
    d.finish()


def main():
    ensure_user()
    for t in (test_sendmail_rewriting, test_smtpd_envelope_only,
              test_unreadable_table):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
