#!/usr/bin/env python3
"""test_test_relay - `tinymta test-relay`: the relay settings tried step by
step against scripted capture servers (each failed step, exit codes, the
--json object of DESIGN.md, -o overriding main.cf) and, for STARTTLS and
AUTH, against aiosmtpd with openssl certificates (test_smtp_tls.py's
helpers; skipped without aiosmtpd/openssl), and the certificate's
subject, issuer and notAfter (an openssl CA and leaf with several,
multi-valued and UTF-8 RDNs; a leaf over 8 KiB). The relay is an address
literal ([127.0.0.1]:port), so no DNS is needed."""
import json
import os
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402
from capture import CaptureServer, free_port  # noqa: E402

KEYS = ["ok", "failed_step", "reply", "tls", "transcript"]
TLS_KEYS = ["version", "cipher", "subject", "issuer", "not_after", "verified",
            "verify_error"]


def hop(port):
    return f"[127.0.0.1]:{port}"


def run(env, *args):
    r = env.run("tinymta", "test-relay", *args, timeout=120)
    return r.returncode, r.stdout.decode(errors="replace"), \
        r.stderr.decode(errors="replace")


def run_json(env, *args):
    rc, out, err = run(env, "--json", *args)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, out + err


def test_success():
    srv = CaptureServer()
    env = tmlib.Env("tinymta_admin_address = admin@example.org\n")
    try:
        rc, out, err = run(env, "-o", f"relayhost={hop(srv.port)}", "--to",
                           "bob@example.com", "--data")
        check(rc == 0 and out.rstrip().endswith("\nok"),
              "success: exit 0, verdict ok", (rc, out, err))
        srv.wait_messages(1)
        m = srv.messages[0]
        check(m.mail_from == "<admin@example.org>" and
              m.rcpts == ["<bob@example.com>"],
              "success: envelope (admin address as sender, --to)", m)
        check(b"Subject: tinymta test-relay" in m.data,
              "success: the test message arrived", m.data)
        check("C: MAIL FROM:<admin@example.org>" in out and
              "S: 250 2.0.0 Ok: queued as CAPTURE" in out,
              "success: transcript has commands and replies", out)
        # without --data: RSET, no message; json shape
        rc, j, err = run_json(env, "-o", f"relayhost={hop(srv.port)}")
        check(rc == 0 and j is not None and list(j) == KEYS and
              j["ok"] is True and j["failed_step"] is None and
              j["tls"] is None and isinstance(j["reply"], str),
              "json: keys and values on success", (rc, j, err))
        tr = j["transcript"] if j else []
        check(all(x[:3] in ("C: ", "S: ") for x in tr) and
              "C: RSET" in tr and "C: RCPT TO:<admin@example.org>" in tr
              and "C: DATA" not in tr,
              "json: transcript lines, RSET, default recipient", tr)
        check(len(srv.messages) == 1, "no --data: no message", srv.messages)
    finally:
        srv.stop()
        env.cleanup()


def test_override():
    """main.cf's relayhost is a dead port; -o points at the server."""
    srv = CaptureServer()
    dead = free_port()
    env = tmlib.Env(f"relayhost = {hop(dead)}\n")
    try:
        rc, j, _ = run_json(env)
        check(rc == 69 and j and j["failed_step"] == "connect" and
              "refused" in j["reply"], "main.cf relayhost: connect refused, 69",
              (rc, j))
        rc, j, _ = run_json(env, "-o", f"relayhost={hop(srv.port)}")
        check(rc == 0 and j and j["ok"], "-o relayhost overrides main.cf",
              (rc, j))
        rc, out, err = run(env, "-o", "nonsense")
        check(rc == 64, "bad -o: usage exit 64", (rc, out, err))
        rc, out, err = run(env, "--bogus")
        check(rc == 64 and "usage" in err, "unknown option: usage 64", err)
    finally:
        srv.stop()
        env.cleanup()


CASES = [
    ("greeting", {"greeting": "554 5.7.1 go away"}, 69, "554 5.7.1 go away"),
    ("greeting", {"greeting": "421 4.3.2 busy"}, 75, "421 4.3.2 busy"),
    ("ehlo", {"ehlo": "502 5.5.1 no EHLO"}, 69, "502 5.5.1 no EHLO"),
    ("mail", {"mail": "553 5.7.1 sender rejected"}, 69,
     "553 5.7.1 sender rejected"),
    ("rcpt", {"rcpt": "550 5.1.1 no such user"}, 69, "550 5.1.1 no such user"),
    ("rcpt", {"rcpt": "450 4.2.0 greylisted"}, 75, "450 4.2.0 greylisted"),
    ("data", {"data": "554 5.5.1 no data"}, 69, "554 5.5.1 no data"),
    ("data", {"dot": "552 5.3.4 too big"}, 69, "552 5.3.4 too big"),
]


def test_steps():
    env = tmlib.Env()
    try:
        for step, script, code, reply in CASES:
            srv = CaptureServer(script=script)
            try:
                rc, j, err = run_json(env, "-o", f"relayhost={hop(srv.port)}",
                                      "--data")
                check(rc == code and j and j["ok"] is False and
                      j["failed_step"] == step and j["reply"] == reply,
                      f"failed_step {step} ({reply}): exit {code}", (rc, j, err))
                rc, out, _ = run(env, "-o", f"relayhost={hop(srv.port)}",
                                 "--data")
                check(out.rstrip().endswith(f"failed at {step}: {reply}"),
                      f"verdict line for {step}", out)
            finally:
                srv.stop()
        # TLS required, not offered
        srv = CaptureServer()
        try:
            rc, j, _ = run_json(env, "-o", f"relayhost={hop(srv.port)}", "-o",
                                "smtp_tls_security_level=encrypt")
            check(rc == 69 and j and j["failed_step"] == "tls" and
                  "not offered" in j["reply"], "TLS required, not offered",
                  (rc, j))
        finally:
            srv.stop()
        # DNS: a name that does not resolve (no resolver in reach)
        rc, j, _ = run_json(env, "-o", "relayhost=[no-such-host.invalid]",
                            "-o", "smtp_dns_support_level=dns")
        check(rc in (69, 75) and j and j["failed_step"] == "dns",
              "unknown relay host: failed at dns", (rc, j))
    finally:
        env.cleanup()


# ---- TLS and AUTH: aiosmtpd (test_smtp_tls.py's helpers) ----

def have_tls_tools():
    if not shutil.which("openssl"):
        return False
    try:
        import test_smtp_tls  # noqa: F401 (adds Debian's dist-packages)
        import aiosmtpd  # noqa: F401
        return True
    except ImportError:
        return False


def test_tls_auth():
    if not have_tls_tools():
        print("SKIP test_tls_auth: needs openssl and python3-aiosmtpd")
        return
    import test_smtp_tls as tt
    certs = tempfile.mkdtemp(prefix="tinymta-certs-")
    tt.CERTS = certs
    env = tmlib.Env()
    hosts = []
    try:
        tt.make_certs(certs)
        h = tt.Host("good")
        hosts.append(h)
        key = hop(h.port)
        path = env.write("sasl_passwd", f"{key} {tt.USER}:{tt.PASSWORD}\n")
        r = env.run("postmap", f"cdb:{path}")
        check(r.returncode == 0, "postmap sasl_passwd", r.stderr)
        base = ["-o", f"relayhost={key}", "-o",
                "smtp_tls_security_level=encrypt", "-o",
                "smtp_sasl_auth_enable=yes", "-o",
                f"smtp_sasl_password_maps=cdb:{path}"]
        rc, j, err = run_json(env, *base, "--data")
        check(rc == 0 and j and j["ok"] and h.msgs and h.msgs[-1][3] and
              h.msgs[-1][4], "TLS+AUTH: ok, message over TLS, logged in",
              (rc, j, err, h.msgs))
        t = (j or {}).get("tls") or {}
        check(list(t) == TLS_KEYS and str(t.get("version")).startswith("TLS")
              and t.get("cipher"), "TLS+AUTH: tls object", t)
        import datetime
        end = tt.sh("openssl", "x509", "-in", f"{certs}/good.crt", "-noout",
                    "-enddate").strip().split("=", 1)[1]
        want = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z")
        check(t.get("not_after") == want.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "TLS: not_after of the certificate", (t.get("not_after"), end))
        check(t.get("subject") == "CN=smtp.test" and
              t.get("issuer") == "CN=ca test CA",
              "TLS: subject and issuer of the certificate", t)
        tr = (j or {}).get("transcript", [])
        check("C: STARTTLS" in tr and "C: AUTH PLAIN <redacted>" in tr,
              "TLS+AUTH: transcript shows STARTTLS and redacted AUTH", tr)
        whole = json.dumps(j) + err
        import base64
        plain = base64.b64encode(
            f"\0{tt.USER}\0{tt.PASSWORD}".encode()).decode()
        check(tt.PASSWORD not in whole and plain not in whole,
              "TLS+AUTH: no secret in the output", whole)
        # AUTH LOGIN: both lines redacted
        h2 = tt.Host("good", auth_exclude_mechanism=["PLAIN"])
        hosts.append(h2)
        key2 = hop(h2.port)
        env.write("sasl_passwd", f"{key} {tt.USER}:{tt.PASSWORD}\n"
                  f"{key2} {tt.USER}:{tt.PASSWORD}\n")
        env.run("postmap", f"cdb:{path}")
        rc, out, err = run(env, *base, "-o", f"relayhost={key2}")
        check(rc == 0 and "C: AUTH LOGIN" in out and
              out.count("C: <redacted>") == 2 and tt.PASSWORD not in out,
              "AUTH LOGIN: user and password redacted", (rc, out, err))
        # a wrong password: 535
        env.write("sasl_passwd", f"{key} {tt.USER}:wrong\n")
        env.run("postmap", f"cdb:{path}")
        rc, j, err = run_json(env, *base)
        check(rc == 69 and j and j["failed_step"] == "auth" and
              "535" in j["reply"], "AUTH refused: failed at auth, 69",
              (rc, j, err))
        # --user: the password from stdin, no map (the map above is wrong)
        tls = ["-o", f"relayhost={key}", "-o", "smtp_tls_security_level=encrypt"]
        r = env.run("tinymta", "test-relay", "--json", *tls, "--user", tt.USER,
                    input=tt.PASSWORD + "\n", timeout=120)
        out = r.stdout.decode(errors="replace")
        check(r.returncode == 0 and '"ok": true' in out and
              "C: AUTH PLAIN <redacted>" in out and tt.PASSWORD not in out,
              "--user, password on stdin: logged in", (r.returncode, out, r.stderr))
        r = env.run("tinymta", "test-relay", "--json", *tls, "--user", tt.USER,
                    input="wrong\n", timeout=120)
        check(r.returncode == 69 and b'"failed_step": "auth"' in r.stdout,
              "--user, a wrong password on stdin: failed at auth",
              (r.returncode, r.stdout, r.stderr))
        for inp, what in ((b"", "no password"), (b"x" * 600 + b"\n", "too long")):
            r = env.run("tinymta", "test-relay", *tls, "--user", tt.USER,
                        input=inp, timeout=120)
            check(r.returncode == 64 and b"--user" in r.stderr, f"--user, {what}: usage error 64",
                  (r.returncode, r.stderr))
        r = env.run("tinymta", "test-relay", *tls, "--user", "a:b",
                    input="pw\n", timeout=120)
        check(r.returncode == 64, "--user with ':': 64", r.stderr)
        # verify: the certificate names smtp.test, not 127.0.0.1
        rc, j, err = run_json(env, "-o", f"relayhost={key}", "-o",
                              "smtp_tls_security_level=verify", "-o",
                              f"smtp_tls_CAfile={certs}/ca.crt")
        t = (j or {}).get("tls") or {}
        check(rc == 69 and j and j["failed_step"] == "tls" and
              t.get("verified") is False and t.get("verify_error"),
              "verify: name mismatch at tls, verify_error", (rc, j, err))
        check(t.get("subject") == "CN=smtp.test",
              "verify refused: the subject is still reported", t)
    finally:
        for h in hosts:
            h.stop()
        env.cleanup()
        shutil.rmtree(certs, ignore_errors=True)


# the names test: its own CA and leaf, several RDNs, a multi-valued one,
# UTF-8 and a character that must be escaped
CA_SUBJ = "/CN=Tiny Test CA/O=Tiny Test/C=DE"
CA_TEXT = "CN=Tiny Test CA, O=Tiny Test, C=DE"
LEAF_SUBJ = "/CN=relay.test/O=Tiny T\u00e9st\\, Inc/OU=Mail+L=Berlin/C=DE"
LEAF_TEXT = "CN=relay.test, O=Tiny T\u00e9st\\, Inc, OU=Mail+L=Berlin, C=DE"


def make_named_certs(tt, d):
    tt.sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/nca.key",
          "-out", f"{d}/nca.crt", "-subj", CA_SUBJ, "-days", "3650",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    tt.sh("openssl", "req", "-new", "-utf8", "-newkey", "ec", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/relay.key",
          "-out", f"{d}/relay.csr", "-subj", LEAF_SUBJ, "-multivalue-rdn")
    with open(f"{d}/relay.ext", "w") as f:
        f.write("subjectAltName=DNS:relay.test\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    tt.sh("openssl", "x509", "-req", "-in", f"{d}/relay.csr", "-CA",
          f"{d}/nca.crt", "-CAkey", f"{d}/nca.key", "-CAcreateserial",
          "-days", "400", "-out", f"{d}/relay.crt", "-extfile",
          f"{d}/relay.ext")


def test_tls_names():
    """The certificate's subject, issuer and notAfter in --json and in
    the human output."""
    if not have_tls_tools():
        print("SKIP test_tls_names: needs openssl and python3-aiosmtpd")
        return
    import datetime
    import test_smtp_tls as tt
    certs = tempfile.mkdtemp(prefix="tinymta-certs-")
    tt.CERTS = certs
    env = tmlib.Env()
    h = None
    try:
        make_named_certs(tt, certs)
        h = tt.Host("relay")
        base = ["-o", f"relayhost={hop(h.port)}", "-o",
                "smtp_tls_security_level=encrypt"]
        end = tt.sh("openssl", "x509", "-in", f"{certs}/relay.crt", "-noout",
                    "-enddate").strip().split("=", 1)[1]
        when = datetime.datetime.strptime(
            end, "%b %d %H:%M:%S %Y %Z").strftime("%Y-%m-%dT%H:%M:%SZ")
        rc, j, err = run_json(env, *base)
        t = (j or {}).get("tls") or {}
        check(rc == 0 and t.get("subject") == LEAF_TEXT,
              "names: subject (several RDNs, multi-valued, UTF-8, escaped "
              "comma)", (rc, t, err))
        check(t.get("issuer") == CA_TEXT, "names: issuer is our CA", t)
        check(t.get("not_after") == when, "names: not_after", (t, end))
        rc, out, err = run(env, *base)
        line = f"-- certificate: subject {LEAF_TEXT}; issuer {CA_TEXT}; " \
            f"not after {when}"
        check(rc == 0 and line in out.splitlines(),
              "names: the human output's certificate line", (line, out, err))
        # a pinned certificate (fingerprint level): verified, same names
        fp = tt.sh("openssl", "x509", "-in", f"{certs}/relay.crt", "-noout",
                   "-fingerprint", "-sha256").strip().split("=", 1)[1]
        rc, j, err = run_json(env, "-o", f"relayhost={hop(h.port)}", "-o",
                              "smtp_tls_security_level=fingerprint", "-o",
                              f"smtp_tls_fingerprint_cert_match={fp}")
        t = (j or {}).get("tls") or {}
        check(rc == 0 and t.get("verified") is True and
              t.get("subject") == LEAF_TEXT and t.get("issuer") == CA_TEXT,
              "names: with a verified (pinned) certificate", (rc, t, err))
        h.stop()
        h = None
        # a leaf over 8 KiB (many subjectAltNames): names null, not_after
        # still there, the test goes on
        sans = ",".join(f"DNS:host{i:03d}.a-rather-long-name.relay.test"
                        for i in range(250))
        with open(f"{certs}/big.ext", "w") as f:
            f.write(f"subjectAltName={sans}\n")
        tt.sh("openssl", "x509", "-req", "-in", f"{certs}/relay.csr", "-CA",
              f"{certs}/nca.crt", "-CAkey", f"{certs}/nca.key",
              "-CAcreateserial", "-days", "400", "-out", f"{certs}/big.crt",
              "-extfile", f"{certs}/big.ext")
        shutil.copy(f"{certs}/relay.key", f"{certs}/big.key")
        tt.sh("openssl", "x509", "-in", f"{certs}/big.crt", "-outform",
                    "der", "-out", f"{certs}/big.der")
        size = os.path.getsize(f"{certs}/big.der")
        h = tt.Host("big")
        rc, j, err = run_json(env, "-o", f"relayhost={hop(h.port)}", "-o",
                              "smtp_tls_security_level=encrypt")
        t = (j or {}).get("tls") or {}
        check(size > 8192 and rc == 0 and t.get("subject") is None and
              t.get("issuer") is None and t.get("not_after"),
              f"names: a {size}-byte certificate: null names, still ok",
              (size, rc, t, err))
        rc, out, err = run(env, "-o", f"relayhost={hop(h.port)}", "-o",
                           "smtp_tls_security_level=encrypt")
        check(rc == 0 and "-- certificate: subject (unavailable); issuer "
              "(unavailable); not after " in out,
              "names: unavailable in the human output", (rc, out, err))
    finally:
        if h:
            h.stop()
        env.cleanup()
        shutil.rmtree(certs, ignore_errors=True)


def main():
    for t in (test_success, test_override, test_steps, test_tls_auth,
              test_tls_names):
        try:
            t()
        except Exception as e:  # a crash of the test is a failure
            import traceback
            traceback.print_exc()
            check(False, f"{t.__name__} raised", repr(e))
    tmlib.done()


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    main()
