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
from tmlib import BIN, check, done, mail_owner  # noqa: E402
from test_daemon import ROOT, USER, ensure_user, wait_for  # noqa: E402
from test_listen import Lst, free_port, read_line  # noqa: E402


def line(port, extra=""):
    return f"127.0.0.1:{port} inet n - n - - smtpd{extra}\n"


def openssl(*args, input=None):
    return subprocess.run(["openssl"] + list(args), capture_output=True,
                          input=input, timeout=60)


def gencert(d, name="cert.pem", key="key.pem", *args):
    """A certificate from `tinymta gencert` (the default one of the image)."""
    c, k = os.path.join(d.env.conf, name), os.path.join(d.env.conf, key)
    r = d.env.run("tinymta", "gencert", "-n", "test.example", *args, c, k)
    check(r.returncode == 0, "gencert exits 0", r.stderr)
    return c, k


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
        c, k = gencert(d)
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



def x509_text(cert):
    r = openssl("x509", "-in", cert, "-noout", "-text")
    check(r.returncode == 0, "openssl x509 reads the certificate", r.stderr)
    return r.stdout.decode()


def not_before(cert):
    r = openssl("x509", "-in", cert, "-noout", "-startdate", "-enddate")
    out = r.stdout.decode()
    nb = re.search(r"notBefore=(.*)", out).group(1)
    na = re.search(r"notAfter=(.*)", out).group(1)
    fmt = "%b %d %H:%M:%S %Y %Z"
    return (time.mktime(time.strptime(nb.replace("  ", " "), fmt)),
            time.mktime(time.strptime(na.replace("  ", " "), fmt)))


def test_gencert():
    d = Lst(line(free_port()))
    c, k = os.path.join(d.env.conf, "cert.pem"), os.path.join(d.env.conf, "key.pem")
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main + f"smtpd_tls_cert_file = {c}\nsmtpd_tls_key_file = {k}\n")
    r = d.env.run("tinymta", "gencert")
    check(r.returncode == 0, "gencert with the main.cf paths", r.stderr)
    check(b"sha256 fingerprint" in r.stdout, "prints the fingerprint", r.stdout)
    text = x509_text(c)
    check("Version: 3" in text, "X.509 v3", text)
    check("Subject: CN = test.example" in text and "Issuer: CN = test.example" in text,
          "subject and issuer CN=$myhostname", text)
    check("DNS:test.example" in text, "subjectAltName DNS:$myhostname", text)
    check("ecdsa-with-SHA256" in text and "NIST CURVE: P-256" in text,
          "ECDSA P-256 signed with SHA-256", text)
    check("CA:FALSE" in text, "basicConstraints CA:FALSE", text)
    nb, na = not_before(c)
    check(abs((na - nb) / 86400 - 3650) < 1, "3650 days by default", (nb, na))
    check(nb <= time.time(), "valid now", nb)
    r = openssl("verify", "-CAfile", c, c)
    check(r.returncode == 0 and b"OK" in r.stdout, "openssl verify -CAfile cert cert",
          r.stdout + r.stderr)
    check(os.stat(k).st_mode & 0o777 == 0o600, "key file mode 0600",
          oct(os.stat(k).st_mode))
    r = openssl("pkey", "-in", k, "-noout")
    check(r.returncode == 0, "openssl reads the key", r.stderr)
    mod_c = openssl("x509", "-in", c, "-noout", "-pubkey").stdout
    mod_k = openssl("pkey", "-in", k, "-pubout").stdout
    check(mod_c and mod_c == mod_k, "the key is the certificate's")
    serial1 = openssl("x509", "-in", c, "-noout", "-serial").stdout
    r = d.env.run("tinymta", "gencert")
    check(r.returncode != 0 and b"-f replaces" in r.stderr,
          "existing files are kept without -f", r.stderr)
    r = d.env.run("tinymta", "gencert", "-f", "-d", "30", "-n", "mx.lan")
    check(r.returncode == 0, "gencert -f -d 30 -n mx.lan", r.stderr)
    nb, na = not_before(c)
    check(abs((na - nb) / 86400 - 30) < 1, "-d 30", (nb, na))
    check("DNS:mx.lan" in x509_text(c), "-n names the certificate")
    check(openssl("x509", "-in", c, "-noout", "-serial").stdout != serial1,
          "a new random serial")
    r = d.env.run("tinymta", "gencert", "-f", "-n", "bad name")
    check(r.returncode == 64 and b"not a host name" in r.stderr,
          "a bad name is refused", r.stderr)
    r = d.env.run("tinymta", "gencert", "-f", "-d", "0")
    check(r.returncode == 64, "-d 0 refused", r.stderr)
    leftovers = [n for n in os.listdir(d.env.conf) if ".tmp." in n]
    check(not leftovers, "no temporary files left", leftovers)
    d.env.cleanup()


FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]


def test_gencert_clock_unset():
    lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
    with open(BIN, "rb") as f:
        dynamic = b"/lib64/ld-linux" in f.read(4096)
    if lib is None or not dynamic:
        print("SKIP gencert with the clock unset: needs faketime and the "
              "dynamic build (TINYMTA=build/asan/tinymta)")
        return
    d = Lst(line(free_port()))
    asan = os.environ.get("ASAN_OPTIONS", "")
    fake = {"LD_PRELOAD": lib, "FAKETIME": "@1970-01-02 00:00:00",
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}
    c, k = os.path.join(d.env.conf, "c.pem"), os.path.join(d.env.conf, "k.pem")
    r = d.env.run("tinymta", "gencert", "-n", "x.example", c, k, env=fake)
    check(r.returncode == 0 and b"clock unset" in r.stdout,
          "gencert with the clock in 1970", r.stdout + r.stderr)
    nb, na = not_before(c)
    check(nb > time.mktime((2025, 1, 1, 0, 0, 0, 0, 0, 0)) and nb <= time.time(),
          "not-before is the build date", nb)
    d.env.cleanup()


def test_s_client_starttls():
    d, port, c, k = tls_daemon("smtpd_tls_received_header = yes\n")
    d.start()
    script = (f"EHLO client.example\nMAIL FROM:<s@client.example>\n"
              f"RCPT TO:<{USER}@test.example>\nDATA\nSubject: s_client\n\n"
              "through s_client\n.\nQUIT\n").encode()
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                        f"127.0.0.1:{port}", "-CAfile", c, "-verify_return_error",
                        "-crlf", "-ign_eof"], input=script, capture_output=True,
                       timeout=60)
    out = r.stdout.decode(errors="replace")
    check("Verify return code: 0 (ok)" in out, "s_client verifies the pinned certificate",
          out[-1500:] + r.stderr.decode(errors="replace")[-500:])
    check("Protocol  : TLSv1.2" in out or "TLSv1.2" in out, "TLS 1.2", out[-800:])
    check("250 2.0.0 Ok: queued as" in out, "queued through s_client", out[-800:])
    check(wait_for(lambda: "Subject: s_client" in d.mbox(), 30), "delivered",
          d.maillog()[-1500:])
    d.finish()


def test_wrappermode():
    d, port, c, k = tls_daemon(svc_opts=" -o smtpd_tls_wrappermode=yes")
    d.start()
    try:
        with smtplib.SMTP_SSL("127.0.0.1", port, timeout=30,
                              context=ctx_pinned(c)) as s:
            code, _ = s.ehlo("client.example")
            check(code == 250, "EHLO over implicit TLS")
            check(not s.has_extn("starttls"), "no STARTTLS inside TLS")
            s.sendmail("w@client.example", [f"{USER}@test.example"],
                       "Subject: smtps\r\n\r\nimplicit TLS\r\n")
    except Exception as e:  # noqa: BLE001
        check(False, "SMTP_SSL transaction", repr(e))
    check(wait_for(lambda: "Subject: smtps" in d.mbox(), 30), "delivered (smtps)",
          d.maillog()[-1500:])
    box = d.mbox()
    check("(using TLS" not in box, "no TLS details without smtpd_tls_received_header",
          box[:600])
    check("with ESMTPS" in box, "ESMTPS in Received:", box[:600])
    # a plaintext client on the smtps port gets no greeting
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"EHLO plain\r\n")
    got = read_line(s, 10)
    check(not got or not got.startswith(b"220"), "no plaintext greeting", got)
    s.close()
    d.finish()


def tls_wrap(sock, cert):
    return ctx_pinned(cert).wrap_socket(sock, server_hostname="test.example")


def read_reply(f):
    """One whole reply (multiline) from a file object."""
    lines = []
    while True:
        ln = f.readline()
        if not ln:
            break
        lines.append(ln)
        if len(ln) < 4 or ln[3:4] != b"-":
            break
    return b"".join(lines)


def test_injection():
    """CVE-2011-0411: STARTTLS and RSET in one write; the RSET was sent in
    the clear and must not be answered inside TLS."""
    d, port, c, k = tls_daemon()
    d.start()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    check(read_reply(f).startswith(b"220"), "greeting")
    s.sendall(b"EHLO x\r\n")
    read_reply(f)
    s.sendall(b"MAIL FROM:<a@b.example>\r\nSTARTTLS\r\nRSET\r\n")
    f.readline()
    r = f.readline()
    check(r.startswith(b"503 5.5.1 Error: MAIL transaction in progress"),
          "STARTTLS in a transaction: 503", r)
    f.readline()
    s.sendall(b"STARTTLS\r\nRSET\r\n")
    r = f.readline()
    check(r.startswith(b"220 2.0.0"), "220 Ready to start TLS", r)
    t = tls_wrap(s, c)
    t.settimeout(20)
    t.sendall(b"NOOP\r\n")
    tf = t.makefile("rb")
    first = tf.readline()
    check(first.startswith(b"250 2.0.0 Ok"), "the first reply inside TLS is NOOP's", first)
    t.sendall(b"MAIL FROM:<a@b.example>\r\n")
    r = tf.readline()
    check(r.startswith(b"503"), "EHLO is required again after STARTTLS", r)
    t.sendall(b"EHLO x\r\n")
    r = read_reply(tf)
    check(b"STARTTLS" not in r, "STARTTLS no longer offered", r)
    t.sendall(b"STARTTLS\r\n")
    r = tf.readline()
    check(r.startswith(b"554 5.5.1"), "STARTTLS inside TLS refused", r)
    t.sendall(b"QUIT\r\n")
    check(tf.readline().startswith(b"221"), "221 after QUIT")
    # a client that waits for the server to close first: close_notify and
    # EOF come at once (the server does not wait for our close_notify)
    t0 = time.time()
    try:
        rest = tf.read()
    except (ssl.SSLError, OSError) as e:
        rest = repr(e).encode()
    check(time.time() - t0 < 5 and rest == b"", "close_notify after QUIT",
          (time.time() - t0, rest))
    check(wait_for(lambda: "disconnect from" in d.maillog(), 5),
          "the session ends without waiting for the client's close_notify",
          d.maillog()[-800:])
    t.close()
    check(wait_for(lambda: "discarding 6 bytes of plaintext" in d.maillog(), 10),
          "the discarded bytes are logged", d.maillog()[-1500:])
    d.finish()


def test_encrypt_level():
    d, port, c, k = tls_daemon(svc_opts=" -o smtpd_tls_security_level=encrypt")
    d.start()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    read_reply(f)
    s.sendall(b"EHLO x\r\n")
    r = read_reply(f)
    check(b"250-STARTTLS" in r or b"250 STARTTLS" in r, "STARTTLS offered", r)
    s.sendall(b"MAIL FROM:<a@b.example>\r\n")
    r = f.readline()
    check(r.startswith(b"530 5.7.0 Must issue a STARTTLS command first"),
          "530 for MAIL before STARTTLS", r)
    s.sendall(b"STARTTLS\r\n")
    f.readline()
    t = tls_wrap(s, c)
    tf = t.makefile("rb")
    t.sendall(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\n")
    read_reply(tf)
    r = tf.readline()
    check(r.startswith(b"250 2.1.0"), "MAIL accepted inside TLS", r)
    t.close()
    d.finish()
    # legacy spelling: smtpd_enforce_tls = yes
    d, port, c, k = tls_daemon("smtpd_enforce_tls = yes\n", svc_opts="")
    d.start()
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("x")
        code, msg = s.mail("a@b.example")
        check(code == 530, "smtpd_enforce_tls = yes: 530", (code, msg))
    d.finish()


def test_root_only_key():
    if not ROOT or mail_owner() == "root":
        print("SKIP root-only key: needs root and an unprivileged mail_owner")
        return
    d, port, c, k = tls_daemon()
    os.chown(k, 0, 0)
    os.chmod(k, 0o600)
    os.chmod(d.env.conf, 0o755)
    r = d.env.run("tinymta", "start")
    check(r.returncode == 0, "start", r.stderr)
    try:
        send_starttls(port, c, "root only key")
    except Exception as e:  # noqa: BLE001
        check(False, "STARTTLS with a key only root can read", repr(e))
    check(wait_for(lambda: "Subject: root only key" in d.mbox(), 30),
          "delivered", d.maillog()[-1500:])
    d.finish()


def test_bad_keys():
    # a key that is not the certificate's
    d, port, c, k = tls_daemon()
    c2, k2 = make_ec(d, "other.pem", "otherkey.pem")
    main = open(os.path.join(d.env.conf, "main.cf")).read()
    d.env.write("main.cf", main + f"smtpd_tls_key_file = {k2}\n")
    d.start()
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("x")
        check(not s.has_extn("starttls"), "no STARTTLS with a mismatched key")
        code, msg = s.docmd("STARTTLS")
        check(code == 454, "STARTTLS: 454 TLS not available", (code, msg))
    check(wait_for(lambda: f"{k2}: private key does not match the certificate in {c}"
                   in d.maillog(), 10),
          "the log names the mismatched key", d.maillog()[-1500:])
    check(f"TLS will not work: {k2}: private key does not match" in d.maillog(),
          "the master says so at start", d.maillog()[-1500:])
    d.finish()
    # a missing (unreadable) key, and a file that is not PEM
    for what, content in (("missing", None), ("not PEM", "hello\n")):
        d, port, c, k = tls_daemon(svc_opts=" -o smtpd_tls_wrappermode=yes")
        os.unlink(k)
        if content:
            d.env.write("key.pem", content)
        d.start()
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        got = read_line(s, 20)
        check(not got, f"wrapper mode with a {what} key closes", got)
        s.close()
        want = (f"cannot read {k}: No such file" if content is None
                else f"{k}: no PEM private key")
        check(wait_for(lambda: want in d.maillog(), 10),
              f"the log names the {what} key file", d.maillog()[-1500:])
        d.finish()


def test_rsa():
    d, port, c, k = tls_daemon("smtpd_tls_received_header = yes\n", cert=make_rsa)
    d.start()
    try:
        cipher = send_starttls(port, c, "rsa cert")
        check(cipher and cipher[0].startswith("ECDHE-RSA-"), "ECDHE-RSA suite",
              repr(cipher))
    except Exception as e:  # noqa: BLE001
        check(False, "STARTTLS with an RSA certificate", repr(e))
    check(wait_for(lambda: "Subject: rsa cert" in d.mbox(), 30), "delivered (RSA)",
          d.maillog()[-1500:])
    check("with cipher ECDHE-RSA-" in d.mbox(), "Received: names the RSA suite",
          d.mbox()[:600])
    d.finish()


def s_client(port, cert, *args):
    return subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                           f"127.0.0.1:{port}", "-CAfile", cert, "-tls1_2"]
                          + list(args), input=b"QUIT\r\n", capture_output=True,
                          timeout=60)


def test_cipher_policy():
    d, port, c, k = tls_daemon()
    d.start()
    for cipher in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
                   "ECDHE-ECDSA-AES256-GCM-SHA384"):
        r = s_client(port, c, "-cipher", cipher)
        out = r.stdout.decode(errors="replace")
        check(f"Cipher is {cipher}" in out, f"{cipher} accepted", out[-600:])
    for cipher in ("DES-CBC3-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                   "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-RC4-SHA"):
        r = s_client(port, c, "-cipher", "@SECLEVEL=0:" + cipher)
        out = r.stdout.decode(errors="replace")
        check(r.returncode != 0 and "Cipher is " + cipher not in out,
              f"{cipher} refused", out[-600:] + r.stderr.decode(errors="replace")[-300:])
    r = s_client(port, c, "-tls1_1", "-cipher", "@SECLEVEL=0:ALL")
    check(r.returncode != 0, "TLS 1.1 refused", r.stdout[-300:])
    check("SSL_accept error from" in d.maillog(), "failed handshakes are logged",
          d.maillog()[-1000:])
    d.finish()


def pss_kib(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for ln in f:
                if ln.startswith("Pss:"):
                    total += int(ln.split()[1])
    except FileNotFoundError:
        return None
    return total


def session_pss(d, port, tls, cert, bulk=False):
    """Pss of the smtpd serving this one connection (a new process or an
    idle one the master handed it to: max_use)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    read_reply(f)
    s.sendall(b"EHLO x\r\n")
    read_reply(f)
    if tls:
        s.sendall(b"STARTTLS\r\n")
        f.readline()
        s = tls_wrap(s, cert)
        f = s.makefile("rb")
        s.sendall(b"EHLO x\r\n")
        read_reply(f)
    if bulk:  # a 256 KB message first: every buffer has been used
        s.sendall(f"MAIL FROM:<a@b.example>\r\nRCPT TO:<{USER}@test.example>\r\n"
                  "DATA\r\n".encode())
        for _ in range(3):
            f.readline()
        s.sendall(b"Subject: bulk\r\n\r\n" + (b"x" * 998 + b"\r\n") * 256
                  + b".\r\n")
        f.readline()
    busy = []
    wait_for(lambda: len(busy.extend(d.busy()) or busy) == 1, 10)
    time.sleep(0.3)
    val = pss_kib(busy[0]) if len(busy) == 1 else None
    s.close()
    return val


def starttls_conn(port, ctx, session=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    read_reply(f)
    s.sendall(b"STARTTLS\r\n")
    f.readline()
    return ctx.wrap_socket(s, server_hostname="test.example", session=session)


def test_resumption():
    """A session saved by one smtpd process is resumed by the next one
    (the master's shared cache); s_client -reconnect agrees."""
    d, port, c, k = tls_daemon()
    d.start()
    ctx = ctx_pinned(c)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    t = starttls_conn(port, ctx)
    sess = t.session
    check(not t.session_reused and sess and len(sess.id) == 32,
          "a full handshake gives a session ID")
    t.close()
    for i in range(3):
        t = starttls_conn(port, ctx, sess)
        check(t.session_reused, f"resumed in another process ({i + 1})")
        t.sendall(b"EHLO x\r\n")
        check(t.recv(100).startswith(b"250"), "and the session works")
        t.close()
    other = ctx_pinned(c)
    other.maximum_version = ssl.TLSVersion.TLSv1_2
    t = starttls_conn(port, other)
    check(not t.session_reused, "a new client gets a full handshake")
    t.close()
    check(wait_for(lambda: d.maillog().count("(session reused)") >= 3, 10),
          "resumed sessions are logged", d.maillog()[-1000:])
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                        f"127.0.0.1:{port}", "-CAfile", c, "-tls1_2", "-reconnect"],
                       input=b"", capture_output=True, timeout=60)
    out = r.stdout.decode(errors="replace")
    check(out.count("Reused, TLSv1.2") >= 4, "s_client -reconnect: sessions reused",
          out[-800:])
    d.finish()


def test_figures():
    """Pss of an idle TLS session against a plaintext one, handshakes per
    second on loopback (printed; the memory goal is checked on the static
    build: the sanitizer build's redzones and shadow pages say nothing)."""
    with open(BIN, "rb") as f:
        static = b"/lib64/ld-linux" not in f.read(4096)
    d, port, c, k = tls_daemon()
    d.start()
    plain = [session_pss(d, port, False, c) for _ in range(3)]
    tls = [session_pss(d, port, True, c) for _ in range(3)]
    plain = sorted(x for x in plain if x)[len(plain) // 2] if all(plain) else None
    tls = sorted(x for x in tls if x)[len(tls) // 2] if all(tls) else None
    print(f"FIGURE smtpd Pss idle: plaintext {plain} KiB, TLS {tls} KiB, "
          f"delta {None if not (plain and tls) else tls - plain} KiB")
    if plain and tls and static:
        check(tls - plain < 100, "an idle TLS session costs under 100 KiB Pss",
              (plain, tls))
    plain = session_pss(d, port, False, c, bulk=True)
    tls = session_pss(d, port, True, c, bulk=True)
    print(f"FIGURE smtpd Pss idle after a 256 KB message: plaintext {plain} KiB, "
          f"TLS {tls} KiB, delta {None if not (plain and tls) else tls - plain} KiB")
    if plain and tls and static:
        check(tls - plain < 100, "after a big message too", (plain, tls))
    n, t0 = 0, time.time()
    while time.time() - t0 < 5 and n < 500:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        f = s.makefile("rb")
        read_reply(f)
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        n += 1
    plain_rate = n / (time.time() - t0)
    print(f"FIGURE plaintext connections (greeting, QUIT) per second: {plain_rate:.1f}")
    ctx = ctx_pinned(c)
    n, t0 = 0, time.time()
    while time.time() - t0 < 5 and n < 500:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        f = s.makefile("rb")
        read_reply(f)
        s.sendall(b"STARTTLS\r\n")
        f.readline()
        t = ctx.wrap_socket(s, server_hostname="test.example")
        t.close()
        n += 1
    dt = time.time() - t0
    print(f"FIGURE STARTTLS connections with full handshake per second "
          f"(python client, one at a time): {n / dt:.1f}")
    check(n > 0, "handshakes measured")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    t = starttls_conn(port, ctx)
    sess = t.session
    t.close()
    n, reused, t0 = 0, 0, time.time()
    while time.time() - t0 < 5 and n < 500:
        t = starttls_conn(port, ctx, sess)
        reused += t.session_reused
        t.close()
        n += 1
    dt = time.time() - t0
    print(f"FIGURE STARTTLS connections with a resumed session per second: "
          f"{n / dt:.1f} ({reused} of {n} resumed)")
    d.finish()


def main():
    ensure_user()
    for t in (test_gencert, test_gencert_clock_unset, test_starttls_end_to_end,
              test_s_client_starttls, test_wrappermode, test_injection,
              test_encrypt_level, test_root_only_key, test_bad_keys, test_rsa,
              test_cipher_policy, test_resumption, test_figures):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
