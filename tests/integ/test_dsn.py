"""Delivery status notifications from the real daemon: NOTIFY=SUCCESS
("Successful Mail Delivery Report"), NOTIFY=NEVER (nothing), the delay
warning after delay_warning_time (once per message), RET=HDRS, and the
postmaster copies that notify_classes asks for (bounce, delay)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import USER, Daemon, ensure_user, wait_for  # noqa: E402

SENDER = f"{USER}@test.example"


class D(Daemon):
    """The daemon test helper with a log file and extra main.cf lines."""

    def __init__(self, conf="", aliases=None):
        super().__init__(aliases=aliases)
        self.log = os.path.join(self.env.dir, "maillog")
        with open(os.path.join(self.env.conf, "main.cf"), "a") as f:
            f.write(f"maillog_file = {self.log}\n" + conf)

    def maillog(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("latin-1")
        except FileNotFoundError:
            return ""

    def sendargs(self, *args, subject="test", body="hello\n"):
        r = self.env.run("sendmail", *args, input=f"Subject: {subject}\n\n{body}")
        check(r.returncode == 0, f"sendmail {args} exits 0", r.stderr)

    def count(self, text):
        return self.mbox().count(text)

    def finish(self):
        self.stop()
        self.env.cleanup()


def test_success_and_never():
    d = D()
    d.start()
    d.sendargs("-N", "success", "-f", SENDER, USER, subject="want-success",
               body="SUCCESSBODY\n")
    d.sendargs("-f", SENDER, USER, subject="plain")
    d.sendargs("-N", "never", "-f", SENDER, "nosuchuser", subject="never-hear")
    d.sendargs("-N", "failure,delay", "-f", SENDER, USER, subject="no-success")
    ok = wait_for(lambda: d.count("Successful Mail Delivery Report") >= 1
                  and d.count("Subject: no-success") == 1
                  and "status=bounced" in d.maillog(), 20)
    time.sleep(1.5)  # room for anything that should not come
    box, log = d.mbox(), d.maillog()
    check(ok, "the success report arrives", box[-1500:])
    check(box.count("Subject: Successful Mail Delivery Report") == 1,
          "exactly one success report (NOTIFY not given: none)", box[-3000:])
    check("Action: delivered" in box and "Status: 2.0.0" in box,
          "success report: Action delivered, Status 2.0.0")
    check(f"Final-Recipient: rfc822; {USER}" in box, "names the recipient")
    check("text/rfc822-headers" in box and box.count("SUCCESSBODY") == 1,
          "success report returns the header only (no RET=FULL)")
    check("sender delivery status notification: " in log,
          "log: sender delivery status notification", log[-1500:])
    check("Undelivered Mail" not in box, "NOTIFY=NEVER: no bounce", box[-1500:])
    check("sender non-delivery notification" not in log,
          "NOTIFY=NEVER: no notification logged", log[-1500:])
    check(wait_for(lambda: d.queue_count("incoming") + d.queue_count("active")
                   + d.queue_count("deferred") == 0, 5), "queue empty")
    d.finish()


def test_ret_hdrs_and_postmaster_copy():
    d = D("notify_classes = resource, software, bounce\n")
    d.start()
    d.sendargs("-R", "hdrs", "-f", SENDER, "nosuchuser", subject="hdrs-only",
               body="SECRETBODY\n")
    ok = wait_for(lambda: d.count("Subject: Postmaster Copy: Undelivered Mail") == 1
                  and d.count("Subject: Undelivered Mail Returned to Sender") == 1, 20)
    box, log = d.mbox(), d.maillog()
    check(ok, "bounce to the sender and a postmaster copy", box[-2000:])
    check("SECRETBODY" not in box, "RET=HDRS: the body is not returned", box[-2000:])
    check(box.count("Subject: hdrs-only") == 2 and "text/rfc822-headers" in box,
          "both carry the original header", box[-2000:])
    check("sender non-delivery notification: " in log and
          "postmaster non-delivery notification: " in log,
          "log lines for both", log[-2000:])
    d.finish()


def test_delay_warning():
    d = D("delay_warning_time = 2s\nnotify_classes = delay\n")
    d.start()
    d.send("far@remote.example", subject="slow-default", sender=SENDER)
    d.sendargs("-N", "failure", "-f", SENDER, "far2@remote.example",
               subject="slow-failure-only")
    ok = wait_for(lambda: d.count("Subject: Delayed Mail (still being retried)") >= 1, 20)
    time.sleep(8)  # several more rounds (backoff 1, 2, 4 s)
    box, log = d.mbox(), d.maillog()
    check(ok, "a delay warning arrives", log[-2000:])
    check(box.count("Subject: Delayed Mail (still being retried)") == 1,
          "exactly one warning: once per message, none for NOTIFY=FAILURE",
          str(box.count("Subject: Delayed Mail")))
    check(box.count("Subject: Postmaster Warning: Delayed Mail") == 1,
          "one postmaster warning (notify_classes = delay)")
    check("Action: delayed" in box and "Will-Retry-Until: " in box
          and "Status: 4.4.1" in box, "delay report fields", box[-2500:])
    check("THIS IS A WARNING ONLY" in box, "Postfix's warning text")
    check("Final-Recipient: rfc822; far2@remote.example" not in box,
          "the NOTIFY=FAILURE recipient is not named")
    check(log.count("sender delay notification: ") == 1,
          "log: sender delay notification once", log[-2000:])
    check(d.queue_count("deferred") == 2, "both messages still deferred")
    d.finish()


def main():
    ensure_user()
    for t in (test_success_and_never, test_ret_hdrs_and_postmaster_copy,
              test_delay_warning):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
