#!/usr/bin/env python3
"""test_roundtrip - a cross-built binary ($TINYMTA, e.g. build/aarch64/tinymta)
under qemu-user ($QEMU_USER, e.g. qemu-aarch64-static): `sendmail -bs`
through an explicit qemu (an SMTP session on stdin/stdout: 250 after DATA,
the message queued), then, when binfmt_misc runs the board's binaries
($CROSS_BINFMT=1, set by tools/crosstest.sh), the daemon on a loopback port:
a message sent over SMTP and the one queued by `sendmail -bs` both land in
the mailbox. Run by tools/crosstest.sh (make test BOARD=...)."""
import os
import smtplib
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))
from tmlib import BIN, check, done  # noqa: E402
from test_daemon import USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port, line  # noqa: E402

QEMU = os.environ.get("QEMU_USER", "")
BINFMT = os.environ.get("CROSS_BINFMT") == "1"


def sendmail_bs(d):
    """One SMTP session over pipes, the binary started by qemu explicitly
    (argv[0] "sendmail" selects the applet)."""
    dialog = ("EHLO client.example\r\n"
              "MAIL FROM:<sender@client.example>\r\n"
              f"RCPT TO:<{USER}@test.example>\r\n"
              "DATA\r\n"
              "Subject: via sendmail -bs\r\n\r\nqueued under qemu-user\r\n.\r\n"
              "QUIT\r\n")
    env = dict(os.environ, TINYMTA_CONFIG_DIR=d.env.conf)
    env.pop("MAIL_CONFIG", None)
    r = subprocess.run([QEMU, "-0", "sendmail", BIN, "-bs"], input=dialog.encode(),
                       capture_output=True, env=env, timeout=120)
    out = r.stdout.decode("latin-1")
    codes = [ln[:3] for ln in out.split("\r\n") if len(ln) >= 4 and ln[3] == " "]
    check(r.returncode == 0, "sendmail -bs exits 0", r.stderr.decode("latin-1"))
    check(codes == ["220", "250", "250", "250", "354", "250", "221"],
          "sendmail -bs: 220 250 250 250 354 250 221", out)
    if not BINFMT:  # with the daemon running, pickup may have taken it
        queued = sum(d.queue_count(q) for q in ("maildrop", "incoming"))
        check(queued == 1, "sendmail -bs: one message queued", str(queued))


def main():
    check(bool(QEMU) and os.path.exists(BIN), "QEMU_USER and TINYMTA set",
          f"{QEMU} {BIN}")
    ensure_user()
    port = free_port()
    d = Lst(line(port))
    if not BINFMT:
        for q in ("maildrop", "incoming"):  # what the daemon would create
            os.makedirs(os.path.join(d.env.spool, q))
        sendmail_bs(d)
        print("skipped: the daemon round trip (binfmt_misc not available)")
        d.env.cleanup()
        done()
    d.start()
    sendmail_bs(d)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
            code, _ = c.ehlo("client.example")
            check(code == 250, "EHLO 250")
            c.sendmail("sender@client.example", [f"{USER}@test.example"],
                       "Subject: over smtp\r\n\r\nhello from the host\r\n")
    except Exception as e:  # noqa: BLE001
        check(False, "SMTP transaction", repr(e))
    check(wait_for(lambda: "Subject: over smtp" in d.mbox(), 60),
          "SMTP message delivered into the mailbox", d.maillog()[-1500:])
    check(wait_for(lambda: "Subject: via sendmail -bs" in d.mbox(), 60),
          "sendmail -bs message delivered into the mailbox", d.maillog()[-1500:])
    d.finish()
    done()


if __name__ == "__main__":
    main()
