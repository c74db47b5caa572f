#!/usr/bin/env python3
"""test_smtp_tls - TLS and AUTH of the smtp delivery agent, driven
directly as test_smtp_client.py does, against Debian's aiosmtpd as the
smarthost (STARTTLS with require_starttls, implicit TLS, AUTH PLAIN and
LOGIN with an authenticator), plus raw servers for the hostile cases.
Certificates come from openssl: a private CA, a server certificate for
smtp.test, one for other.test (name mismatch), an expired one (signed
under faketime), one from an unknown CA.

Names: verify/secure check the next hop's name, so the agent must reach
"smtp.test" by name. /etc/hosts is not touched and tinymta's resolver is
its own (DNS only): the suite re-runs itself inside a private network
namespace (`ip netns exec` binds /etc/netns/NS/resolv.conf) with dnsmasq
answering smtp.test and other.test with 127.0.0.1, as
test_smtp_client_mx.py does. Needs root, ip netns, dnsmasq, faketime,
openssl and python3-aiosmtpd (else SKIP)."""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402
import test_smtp_client as tc  # noqa: E402
from capture import CaptureServer  # noqa: E402

try:
    import aiosmtpd  # noqa: F401
except ImportError:  # a python3 outside Debian's (pyenv): Debian's modules
    sys.path.append("/usr/lib/python3/dist-packages")

NS = f"tmtls{os.getpid()}"
NETNS_DIR = f"/etc/netns/{NS}"
CERTS = None  # directory of the certificates
USER, PASSWORD = "relayuser", "s3cret-Pa55"


def sh(*args, env=None):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60,
                       env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


# ---- certificates ----

def make_certs(d):
    def ca(name):
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/{name}.key",
           "-out", f"{d}/{name}.crt", "-subj", f"/CN={name} test CA",
           "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name, host, signer="ca", days=365, when=None, rsa=False):
        key = ["-newkey", "rsa:2048"] if rsa else [
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        sh("openssl", "req", "-new", *key, "-nodes", "-keyout",
           f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={host}")
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(f"subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n")
        cmd = ["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA",
               f"{d}/{signer}.crt", "-CAkey", f"{d}/{signer}.key",
               "-CAcreateserial", "-days", str(days), "-out", f"{d}/{name}.crt",
               "-extfile", f"{d}/{name}.ext"]
        if when:  # signed "in the past": valid for days from then
            cmd = ["faketime", when] + cmd
        sh(*cmd)

    ca("ca")
    ca("rogue")
    leaf("good", "smtp.test")
    leaf("goodrsa", "smtp.test", rsa=True)
    leaf("other", "other.test")
    leaf("expired", "smtp.test", days=30, when="2020-01-01 00:00:00")
    leaf("unknown", "smtp.test", signer="rogue")
    # valid from before the build to far after it
    leaf("longlived", "smtp.test", days=36500, when="2020-01-01 00:00:00")


def fingerprint(name, digest="sha256"):
    out = sh("openssl", "x509", "-in", f"{CERTS}/{name}.crt", "-noout",
             "-fingerprint", f"-{digest}")
    return out.strip().split("=", 1)[1]


# ---- the smarthost: aiosmtpd ----

class Host:
    """aiosmtpd with STARTTLS (or implicit TLS) and AUTH; records each
    message with whether it came over TLS and who logged in."""

    def __init__(self, cert, implicit=False, require_tls=True, **extra):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.msgs = []
        self.auths = []  # (mechanism, user, password, ok)
        self.tls_seen = []
        host = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                host.msgs.append((envelope.mail_from, envelope.rcpt_tos,
                                  envelope.content, session.ssl is not None,
                                  session.authenticated))
                return "250 2.0.0 Ok: queued as AIOSMTPD"

        def auth(server, session, envelope, mechanism, data):
            ok = False
            if isinstance(data, LoginPassword):
                ok = data.login == USER.encode() and \
                    data.password == PASSWORD.encode()
                host.auths.append((mechanism, data.login, data.password, ok))
            return AuthResult(success=ok, handled=False)

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(f"{CERTS}/{cert}.crt", f"{CERTS}/{cert}.key")
        kw = dict(hostname="127.0.0.1", port=0, authenticator=auth,
                  auth_required=False, auth_require_tls=True, **extra)
        if implicit:
            kw["ssl_context"] = ctx
        else:
            kw.update(tls_context=ctx, require_starttls=require_tls)
        self.port = tmlib_free_port()
        kw["port"] = self.port
        self.ctl = Controller(Handler(), **kw)
        self.ctl.start()

    def stop(self):
        self.ctl.stop()


def tmlib_free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---- the agent ----

def conf(**kv):
    return "".join(f"{k} = {v}\n" for k, v in kv.items())


def send(nexthop, c, rcpt="bob@example.com"):
    f = tc.qfile(rcpts=(rcpt.encode(),))
    return tc.agent(nexthop, [f], [(0, 0, rcpt, "")], conf=c)


def hop(port, name="smtp.test"):
    return f"[{name}]:{port}"


def passwords(entries):
    """smtp_sasl_password_maps source and CDB (postmap)."""
    path = tc.ENV.write("sasl_passwd", "".join(f"{k} {v}\n" for k, v in entries))
    r = tc.ENV.run("postmap", f"cdb:{path}")
    check(r.returncode == 0, "postmap sasl_passwd", r.stderr)
    return path


def leaked(r):
    return PASSWORD in r.err or PASSWORD in r.out


# ---- tests ----

def test_levels(hosts):
    ca = f"{CERTS}/ca.crt"
    g = hosts["good"].port
    # may / encrypt: any certificate, logged as Untrusted or Trusted
    for lv in ("may", "encrypt"):
        for name, trusted in (("good", "Trusted"), ("unknown", "Untrusted"),
                              ("expired", "Untrusted")):
            h = hosts[name]
            n = len(h.msgs)
            r = send(hop(h.port), conf(smtp_tls_security_level=lv,
                                       smtp_tls_CAfile=ca))
            check(r.status() == "sent" and len(h.msgs) == n + 1 and
                  h.msgs[-1][3], f"{lv} {name}: sent over TLS", r)
            check(f"{trusted} TLS connection established to smtp.test[127.0.0.1]:"
                  f"{h.port}: TLSv1.2 with cipher" in r.err,
                  f"{lv} {name}: {trusted} TLS line", r.err[-600:])
    # legacy smtp_use_tls = yes is may
    n = len(hosts["good"].msgs)
    r = send(hop(g), conf(smtp_use_tls="yes"))
    check(r.status() == "sent" and hosts["good"].msgs[-1][3] and
          len(hosts["good"].msgs) == n + 1, "smtp_use_tls=yes: TLS", r)
    # verify and secure: pass, and each failure with its reason
    for lv in ("verify", "secure"):
        for name in ("good", "goodrsa"):
            h = hosts[name]
            n = len(h.msgs)
            r = send(hop(h.port), conf(smtp_tls_security_level=lv,
                                       smtp_tls_CAfile=ca))
            check(r.status() == "sent" and len(h.msgs) == n + 1 and
                  h.msgs[-1][3], f"{lv} {name}: sent", r)
            check("Verified TLS connection established" in r.err,
                  f"{lv} {name}: Verified line", r.err[-600:])
        for name, why in (("unknown", "unknown CA"),
                          ("other", "name mismatch"),
                          ("expired", "expired")):
            h = hosts[name]
            n = len(h.msgs)
            r = send(hop(h.port), conf(smtp_tls_security_level=lv,
                                       smtp_tls_CAfile=ca))
            check(r.status() == "deferred" and r.dsn() == "4.7.5" and
                  "Server certificate not trusted" in r.text() and
                  why in r.text(), f"{lv} {name}: deferred ({why})", r)
            check(len(h.msgs) == n, f"{lv} {name}: nothing sent", h.msgs)
    # the right name, asked for by another one
    r = send(hop(hosts["other"].port, "smtp.test"),
             conf(smtp_tls_security_level="verify", smtp_tls_CAfile=ca))
    check("name mismatch" in r.text(), "verify: other.test cert for smtp.test", r)
    r = send(hop(hosts["other"].port, "other.test"),
             conf(smtp_tls_security_level="verify", smtp_tls_CAfile=ca))
    check(r.status() == "sent", "verify: other.test cert for other.test", r)
    # verify without a CA file: a configuration error, deferred
    r = send(hop(g), conf(smtp_tls_security_level="verify"))
    check(r.status() == "deferred" and "smtp_tls_CAfile" in r.text(),
          "verify without CAfile: deferred", r)
    tc.ENV.write("main.cf", tc.BASE + conf(smtp_tls_security_level="secure"))
    r = tc.ENV.run("tinymta", "check")
    tc.ENV.write("main.cf", tc.BASE)
    check(b"need smtp_tls_CAfile" in r.stderr, "tinymta check warns", r.stderr)


def test_fingerprint(hosts):
    h = hosts["unknown"]  # pinning needs no CA
    for dg in ("sha256", "sha1", "md5"):
        n = len(h.msgs)
        r = send(hop(h.port), conf(smtp_tls_security_level="fingerprint",
                                   smtp_tls_fingerprint_digest=dg,
                                   smtp_tls_fingerprint_cert_match=
                                   "00:11, " + fingerprint("unknown", dg)))
        check(r.status() == "sent" and len(h.msgs) == n + 1,
              f"fingerprint {dg}: sent", r)
        check("Verified TLS connection established" in r.err,
              f"fingerprint {dg}: Verified", r.err[-500:])
    n = len(h.msgs)
    r = send(hop(h.port), conf(smtp_tls_security_level="fingerprint",
                               smtp_tls_fingerprint_cert_match=
                               fingerprint("good")))
    check(r.status() == "deferred" and "fingerprint mismatch" in r.text() and
          len(h.msgs) == n, "fingerprint: other certificate deferred", r)
    check(fingerprint("unknown") in r.err, "fingerprint: the server's logged",
          r.err[-500:])


def test_no_starttls():
    srv = CaptureServer(script={"ehlo": ["PIPELINING", "AUTH PLAIN LOGIN",
                                         "8BITMIME"]})
    try:
        for lv in ("encrypt", "verify"):
            passwords([(hop(srv.port), f"{USER}:{PASSWORD}")])
            r = send(hop(srv.port), conf(smtp_tls_security_level=lv,
                                         smtp_tls_CAfile=f"{CERTS}/ca.crt",
                                         smtp_sasl_auth_enable="yes"))
            check(r.status() == "deferred" and r.dsn() == "4.7.4" and
                  "TLS is required, but was not offered" in r.text(),
                  f"{lv} without STARTTLS: deferred", r)
        cmds = [c.split(" ")[0].upper() for c in srv.commands]
        check("MAIL" not in cmds and "AUTH" not in cmds and
              b"s3cret" not in b"".join(s.raw for s in srv.sessions),
              "nothing sent in clear", srv.commands)
        # may: plaintext mail, but no credentials in clear
        r = send(hop(srv.port), conf(smtp_tls_security_level="may",
                                     smtp_sasl_auth_enable="yes"))
        check(r.status() == "deferred" and "not sending credentials" in r.text(),
              "may, no STARTTLS, credentials: deferred", r)
        check(not any(c.upper().startswith("AUTH") for c in srv.commands),
              "no AUTH in clear", srv.commands)
        r = send(hop(srv.port), conf(smtp_tls_security_level="may"))
        check(r.status() == "sent", "may without STARTTLS: plaintext", r)
    finally:
        srv.stop()


def injection_server(extra):
    """A raw server: 220 to STARTTLS plus extra bytes in the same send."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    got = []

    def run():
        c, _ = ls.accept()
        c.settimeout(20)
        f = c.makefile("rb")
        c.sendall(b"220 inj.test ESMTP\r\n")
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                got.append(line)
                w = line.strip().upper()
                if w.startswith(b"EHLO"):
                    c.sendall(b"250-inj.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
                elif w == b"STARTTLS":
                    c.sendall(b"220 2.0.0 Ready to start TLS\r\n" + extra)
                    time.sleep(0.2)
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        c.close()
        ls.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return ls.getsockname()[1], got, t


def test_injection():
    port, got, t = injection_server(b"250 2.1.0 injected\r\n")
    r = send(hop(port), conf(smtp_tls_security_level="may"))
    t.join(30)
    check(r.status() == "deferred" and "STARTTLS response injection" in r.text(),
          "injection: deferred", r)
    check(not any(l.upper().startswith(b"MAIL") for l in got) and
          not any(l.startswith(b"\x16") for l in got),
          "injection: no MAIL, no handshake", got)


def test_wrappermode(hosts):
    h = hosts["implicit"]
    n = len(h.msgs)
    r = send(hop(h.port), conf(smtp_tls_wrappermode="yes",
                               smtp_tls_security_level="verify",
                               smtp_tls_CAfile=f"{CERTS}/ca.crt"))
    # (aiosmtpd's session.ssl stays None with implicit TLS)
    check(r.status() == "sent" and len(h.msgs) == n + 1, "wrappermode: sent", r)
    check("Verified TLS connection established" in r.err, "wrappermode: line",
          r.err[-500:])
    # wrappermode against a plaintext server: no fallback
    srv = CaptureServer()
    try:
        r = send(hop(srv.port), conf(smtp_tls_wrappermode="yes"))
        check(r.status() == "deferred" and r.dsn() == "4.7.5" and
              "Cannot start TLS" in r.text() and not srv.messages,
              "wrappermode vs plaintext server: deferred", r)
    finally:
        srv.stop()


def test_auth(hosts):
    h = hosts["good"]
    base = dict(smtp_tls_security_level="verify",
                smtp_tls_CAfile=f"{CERTS}/ca.crt", smtp_sasl_auth_enable="yes")
    # the key as written in the next hop
    passwords([(hop(h.port), f"{USER}:{PASSWORD}")])
    n = len(h.msgs)
    r = send(hop(h.port), conf(**base))
    check(r.status() == "sent" and h.msgs[-1][4] and len(h.msgs) == n + 1,
          "AUTH PLAIN: sent authenticated", r)
    check(h.auths and h.auths[-1][0] == "PLAIN" and h.auths[-1][3],
          "AUTH PLAIN used", h.auths)
    check(not leaked(r), "password not logged", r.err)
    # the host name as key
    passwords([("smtp.test", f"{USER}:{PASSWORD}")])
    r = send(hop(h.port), conf(**base))
    check(r.status() == "sent" and h.msgs[-1][4], "key smtp.test: sent", r)
    # LOGIN when PLAIN is not offered
    hl = hosts["login"]
    passwords([(hop(hl.port), f"{USER}:{PASSWORD}")])
    r = send(hop(hl.port), conf(**base))
    check(r.status() == "sent" and hl.auths and hl.auths[-1][0] == "LOGIN" and
          hl.auths[-1][3], "AUTH LOGIN: sent", (r, hl.auths))
    check(not leaked(r), "LOGIN: password not logged", r.err)
    # a fallback relay: its own entry
    passwords([(hop(h.port), f"{USER}:{PASSWORD}")])
    k = len(h.auths)
    r = send("[127.0.0.1]:1", conf(smtp_fallback_relay=hop(h.port), **base))
    check(r.status() == "sent" and len(h.auths) == k + 1 and h.auths[-1][3],
          "fallback relay: logs in with its entry", (r, h.auths[-2:]))
    # wrong password: deferred 4.7.0 with the server's reply
    passwords([(hop(h.port), f"{USER}:wrong-{PASSWORD}")])
    n = len(h.msgs)
    r = send(hop(h.port), conf(**base))
    check(r.status() == "deferred" and r.dsn() == "4.7.0" and
          "SASL authentication failed" in r.text() and "535" in r.text() and
          len(h.msgs) == n, "wrong password: deferred", r)
    check(not leaked(r) and "wrong-" not in r.err, "wrong password not logged",
          r.err)
    # no entry: no AUTH (aiosmtpd does not require it here)
    passwords([("[elsewhere.test]", "a:b")])
    k = len(h.auths)
    r = send(hop(h.port), conf(**base))
    check(r.status() == "sent" and len(h.auths) == k and not h.msgs[-1][4],
          "no entry: no AUTH", r)


FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]


def test_unset_clock(hosts):
    """With the clock before the build date (unset), validity is checked
    at the build date: a certificate valid then passes, one issued after
    the build (made by this test) is not yet valid, an expired one
    expired. libfaketime needs the dynamic build."""
    lib = next((x for x in FAKETIME_LIBS if os.path.exists(x)), None)
    with open(tmlib.BIN, "rb") as f:
        dynamic = b"/lib64/ld-linux" in f.read(4096)
    if lib is None or not dynamic:
        print("SKIP unset clock: needs faketime and the dynamic build "
              "(TINYMTA=build/asan/tinymta)")
        return
    c = conf(smtp_tls_security_level="verify", smtp_tls_CAfile=f"{CERTS}/ca.crt")
    old = dict(os.environ)
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ.update(LD_PRELOAD=lib, FAKETIME="@2001-01-01 00:00:00",
                      DONT_FAKE_MONOTONIC="1",
                      ASAN_OPTIONS=(asan + ":" if asan else "") +
                      "verify_asan_link_order=0")
    try:
        r_ok = send(hop(hosts["longlived"].port), c)
        r_new = send(hop(hosts["good"].port), c)
        r_old = send(hop(hosts["expired"].port), c)
    finally:
        os.environ.clear()
        os.environ.update(old)
    check(r_ok.status() == "sent", "unset clock: valid at the build date", r_ok)
    check(r_new.status() == "deferred" and "not yet valid" in r_new.text(),
          "unset clock: issued after the build: not yet valid", r_new)
    check(r_old.status() == "deferred" and "expired" in r_old.text(),
          "unset clock: expired before the build", r_old)


def test_relay_password(hosts):
    h = hosts["good"]
    key = hop(h.port)
    src = os.path.join(tc.ENV.conf, "sasl_passwd")
    for p in (src, src + ".cdb"):
        if os.path.exists(p):
            os.unlink(p)
    r = tc.ENV.run("tinymta", "relay-password", key, USER,
                   input=PASSWORD + "\n")
    check(r.returncode == 0, "relay-password: exit 0", r.stderr)
    check(not PASSWORD.encode() in r.stderr + r.stdout,
          "relay-password: password not echoed", r.stderr)
    st = os.stat(src)
    check(st.st_mode & 0o777 == 0o640, "relay-password: mode 0640", oct(st.st_mode))
    check(os.path.exists(src + ".cdb") and
          os.stat(src + ".cdb").st_mode & 0o777 == 0o640, "relay-password: cdb built")
    import pwd
    gid = pwd.getpwnam(tmlib.mail_owner()).pw_gid
    check(st.st_uid == 0 and st.st_gid == gid, "relay-password: root:mail_owner",
          (st.st_uid, st.st_gid))
    check(open(src).read() == f"{key} {USER}:{PASSWORD}\n",
          "relay-password: source line", open(src).read())
    r2 = tc.ENV.run("tinymta", "relay-password", "other.example", "u2",
                    input="pw2\n")
    text = open(src).read()
    check(r2.returncode == 0 and "other.example u2:pw2" in text and
          f"{key} {USER}:{PASSWORD}" in text, "relay-password: second host", text)
    r2 = tc.ENV.run("tinymta", "relay-password", key, USER,
                    input=PASSWORD + "\n")
    check(open(src).read().count(key) == 1, "relay-password: replaces",
          open(src).read())
    r = send(key, conf(smtp_tls_security_level="verify",
                       smtp_tls_CAfile=f"{CERTS}/ca.crt",
                       smtp_sasl_auth_enable="yes"))
    check(r.status() == "sent" and h.msgs[-1][4] and h.auths[-1][3],
          "relay-password: agent logs in", (r, h.auths[-3:]))


# ---- setup ----

def inner():
    global CERTS
    tc.ENV = tmlib.Env()
    tc.BASE = open(os.path.join(tc.ENV.conf, "main.cf")).read()
    CERTS = os.path.join(tc.ENV.dir, "certs")
    os.makedirs(CERTS)
    sh("ip", "link", "set", "lo", "up")
    dns = subprocess.Popen(
        ["dnsmasq", "--no-daemon", "--user=root", "--no-resolv", "--no-hosts",
         "--conf-file=/dev/null", "--listen-address=127.0.0.1",
         "--bind-interfaces", "--local=/test/",
         "--host-record=smtp.test,127.0.0.1",
         "--host-record=other.test,127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hosts = {}
    try:
        make_certs(CERTS)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            r = subprocess.run([tmlib.BIN, "dnsq", "addr", "smtp.test"],
                               capture_output=True,
                               env=dict(os.environ, TINYMTA_CONFIG_DIR=tc.ENV.conf))
            if r.returncode == 0:
                break
            time.sleep(0.2)
        for name in ("good", "goodrsa", "other", "expired", "unknown",
                     "longlived"):
            hosts[name] = Host(name)
        hosts["implicit"] = Host("good", implicit=True)
        hosts["login"] = Host("good", auth_exclude_mechanism=["PLAIN"])
        for t in (test_levels, test_fingerprint, test_no_starttls,
                  test_injection, test_wrappermode, test_auth,
                  test_unset_clock, test_relay_password):
            try:
                if t in (test_no_starttls, test_injection):
                    t()
                else:
                    t(hosts)
            except Exception as e:  # a crash of the test is a failure
                import traceback
                traceback.print_exc()
                check(False, f"{t.__name__} raised", repr(e))
    finally:
        for h in hosts.values():
            h.stop()
        dns.terminate()
        dns.wait(10)
        tc.ENV.cleanup()
    tmlib.done()


def main():
    if os.environ.get("TM_TLS_INNER"):
        inner()
        return
    need = ("ip", "dnsmasq", "faketime", "openssl")
    try:
        import aiosmtpd  # noqa: F401,F811
        have_aio = True
    except ImportError:
        have_aio = False
    if os.geteuid() != 0 or not all(shutil.which(x) for x in need) or not have_aio:
        print("SKIP test_smtp_tls: needs root, ip netns, dnsmasq, faketime, "
              "openssl, python3-aiosmtpd")
        print("0 passed, 0 failed")
        return
    rc = 1
    try:
        sh("ip", "netns", "add", NS)
        os.makedirs(NETNS_DIR, exist_ok=True)
        with open(os.path.join(NETNS_DIR, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        rc = subprocess.run(["ip", "netns", "exec", NS, sys.executable,
                             os.path.abspath(__file__)],
                            env=dict(os.environ, TM_TLS_INNER="1",
                                     TINYMTA=tmlib.BIN)).returncode
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(NETNS_DIR, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
