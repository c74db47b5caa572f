#!/usr/bin/env python3
"""test_smtp_client_mx - the smtp agent's MX delivery against a real DNS
server: dnsmasq in a network namespace this test creates (`ip netns exec`
binds /etc/netns/NS/resolv.conf), whose MX and A records point at capture
servers listening on port 25 of 127.0.0.x inside that namespace (the test
thread enters the namespace with setns(2) to bind them). Covered: MX
preference order (a refused best MX, then the next), each address of an
MX host, unresolvable MX hosts skipped, no MX: the domain's own address,
NXDOMAIN (bounce 5.1.2), null MX (bounce 5.1.10 at once, nothing
connected), a failing lookup (defer 4.4.3, site failed), `host:port`,
and smtp_fallback_relay after every MX failed. Needs root and `ip netns`
(else SKIP)."""
import ctypes
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402
import test_smtp_client as tc  # noqa: E402
from capture import CaptureServer  # noqa: E402

NS = f"tmmx{os.getpid()}"
NETNS_DIR = f"/etc/netns/{NS}"
CLONE_NEWNET = 0x40000000

DNSMASQ = ["dnsmasq", "--no-daemon", "--user=root", "--no-resolv", "--no-hosts",
           "--conf-file=/dev/null", "--listen-address=127.0.0.1",
           "--bind-interfaces", "--local=/test/",
           # a.test: best MX refuses, the next one takes it
           "--mx-host=a.test,mx1.a.test,10", "--mx-host=a.test,mx2.a.test,5",
           "--mx-host=a.test,mx3.a.test,20",
           "--host-record=mx1.a.test,127.0.0.11",
           "--host-record=mx2.a.test,127.0.0.12",
           "--host-record=mx3.a.test,127.0.0.13",
           # b.test: an MX host with two addresses, the first refuses
           "--mx-host=b.test,m.b.test,10",
           "--host-record=m.b.test,127.0.0.21", "--host-record=m.b.test,127.0.0.22",
           # c.test: the best MX host has no address, the next one works
           "--mx-host=c.test,gone.c.test,1", "--mx-host=c.test,ok.c.test,2",
           "--host-record=ok.c.test,127.0.0.31",
           # nomx.test: no MX, its own address
           "--host-record=nomx.test,127.0.0.40",
           "--mx-host=null.test,.,0", "--host-record=null.test,127.0.0.41",
           # d.test: every MX refuses
           "--mx-host=d.test,mx.d.test,10", "--host-record=mx.d.test,127.0.0.50"]

libc = ctypes.CDLL(None, use_errno=True)


class InNs:
    """Run a block with this thread in the test's network namespace."""

    def __enter__(self):
        self.old = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{NS}", os.O_RDONLY)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        os.close(fd)
        return self

    def __exit__(self, *exc):
        libc.setns(self.old, CLONE_NEWNET)
        os.close(self.old)


def serve(addr, port=25, script=None):
    with InNs():
        return CaptureServer(port=port, host=addr, script=script)


def agent(nexthop, rcpts=("bob@a.test",), conf=None):
    """The agent inside the namespace (the shell opens the queue file)."""
    f = tc.qfile(rcpts=tuple(r.encode() for r in rcpts))
    env = tc.ENV
    if conf is not None:
        env.write("main.cf", tc.BASE + conf)
    args = ["smtp", nexthop]
    for i, r in enumerate(rcpts):
        args += [f[1], "0", str(i), r, ""]
    e = dict(os.environ, TINYMTA_CONFIG_DIR=env.conf, Q0=f[0])
    t0 = time.monotonic()
    p = subprocess.run(["ip", "netns", "exec", NS, "/bin/sh", "-c",
                        'exec "$0" "$@" 3<"$Q0"', os.path.join(env.bin, "tinymta")]
                       + args, stdin=subprocess.DEVNULL, capture_output=True, env=e,
                       timeout=120)
    if conf is not None:
        env.write("main.cf", tc.BASE)
    return tc.Result(p, time.monotonic() - t0)


def test_preference():
    s1, s3 = serve("127.0.0.11"), serve("127.0.0.13")
    r = agent("a.test")
    check(r.status() == "sent" and len(s1.messages) == 1 and not s3.connections,
          "best MX refused: the next by preference", r)
    check("connect to mx2.a.test[127.0.0.12]:25: Connection refused" in r.err and
          "relay=mx1.a.test[127.0.0.11]:25" in r.err and r.site == "site ok server reached",
          "log names the refused MX and the relay", r.err)
    s1.stop()
    s3.stop()
    s1 = serve("127.0.0.11", script={"greeting": "421 4.3.2 busy"})
    s3 = serve("127.0.0.13")
    r = agent("a.test")
    check(r.status() == "sent" and len(s3.messages) == 1 and s1.connections == 1,
          "4xx greeting: the next MX", r)
    s1.stop()
    s3.stop()


def test_addresses():
    a = serve("127.0.0.21", script={"greeting": "421 4.3.2 busy"})
    b = serve("127.0.0.22", script={"greeting": "421 4.3.2 busy"})
    r = agent("b.test", rcpts=("x@b.test",))
    check(r.status() == "deferred" and a.connections == 1 and b.connections == 1,
          "each address of an MX host is tried", r)
    b.stop()
    b = serve("127.0.0.22")
    r = agent("b.test", rcpts=("x@b.test",))
    check(r.status() == "sent" and len(b.messages) == 1, "the good address takes it", r)
    a.stop()
    b.stop()
    s = serve("127.0.0.31")
    r = agent("c.test", rcpts=("x@c.test",))
    check(r.status() == "sent" and len(s.messages) == 1,
          "an MX host without address is skipped", r)
    s.stop()
    s = serve("127.0.0.40")
    r = agent("nomx.test", rcpts=("x@nomx.test",))
    check(r.status() == "sent" and len(s.messages) == 1 and
          "relay=nomx.test[127.0.0.40]:25" in r.err, "no MX: the domain's address", r)
    s.stop()
    s = serve("127.0.0.11", port=2626)
    r = agent("a.test:2626")
    check(r.status() == "sent" and len(s.messages) == 1, "host:port: MX, that port", r)
    s.stop()
    s = serve("127.0.0.12")
    r = agent("[mx2.a.test]")
    check(r.status() == "sent" and len(s.messages) == 1, "[host]: its A record", r)
    s.stop()


def test_dns_failures():
    r = agent("nx.test", rcpts=("x@nx.test",))
    check(r.status() == "bounced" and r.dsn() == "5.1.2" and
          "Host or domain name not found" in r.text() and r.site is None,
          "NXDOMAIN: bounce 5.1.2, no site line", r)
    s = serve("127.0.0.41")
    r = agent("null.test", rcpts=("x@null.test",))
    check(r.status() == "bounced" and r.dsn() == "5.1.10" and
          "does not accept mail (nullMX)" in r.text() and not s.connections,
          "null MX: bounce 5.1.10, nothing connected", r)
    s.stop()
    r = agent("elsewhere.example", rcpts=("x@elsewhere.example",))
    check(r.status() == "deferred" and r.dsn() == "4.4.3" and
          r.site and r.site.startswith("site failed"), "lookup failure: defer 4.4.3", r)
    r = agent("[gone.c.test]", rcpts=("x@c.test",))
    check(r.status() == "bounced" and r.dsn() == "5.4.4", "[host] without address: 5.4.4", r)


def test_fallback():
    fb = serve("127.0.0.60")
    r = agent("d.test", rcpts=("x@d.test",),
              conf="smtp_fallback_relay = [127.0.0.61], [127.0.0.60]\n")
    check(r.status() == "sent" and len(fb.messages) == 1 and
          "mx.d.test[127.0.0.50]:25: Connection refused" in r.err and
          "127.0.0.61[127.0.0.61]:25: Connection refused" in r.err,
          "every MX failed: the fallback relays in order", r)
    r = agent("elsewhere.example", rcpts=("x@elsewhere.example",),
              conf="smtp_fallback_relay = [127.0.0.60]\n")
    check(r.status() == "sent" and len(fb.messages) == 2,
          "a failing lookup: the fallback relay", r)
    r = agent("nx.test", rcpts=("x@nx.test",),
              conf="smtp_fallback_relay = [127.0.0.60]\n")
    check(r.status() == "bounced" and len(fb.messages) == 2,
          "NXDOMAIN bounces, no fallback", r)
    fb.stop()
    r = agent("d.test", rcpts=("x@d.test",))
    check(r.status() == "deferred" and r.dsn() == "4.4.1" and
          r.site.startswith("site failed connect to mx.d.test[127.0.0.50]:25"),
          "all refused: deferred 4.4.1, site failed", r)


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")


def main():
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("dnsmasq"):
        print("SKIP test_smtp_client_mx: needs root, ip netns and dnsmasq")
        print("0 passed, 0 failed")
        return
    tc.ENV = tmlib.Env()
    tc.BASE = open(os.path.join(tc.ENV.conf, "main.cf")).read()
    dns = None
    try:
        sh("ip", "netns", "add", NS)
        os.makedirs(NETNS_DIR, exist_ok=True)
        with open(os.path.join(NETNS_DIR, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        dns = subprocess.Popen(["ip", "netns", "exec", NS] + DNSMASQ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            r = subprocess.run(["ip", "netns", "exec", NS, tmlib.BIN, "dnsq", "mx",
                                "a.test"], capture_output=True,
                               env=dict(os.environ, TINYMTA_CONFIG_DIR=tc.ENV.conf))
            if r.returncode == 0:
                break
            time.sleep(0.2)
        for t in (test_preference, test_addresses, test_dns_failures, test_fallback):
            try:
                t()
            except Exception as e:  # a crash of the test is a failure
                check(False, f"{t.__name__} raised", repr(e))
    finally:
        if dns:
            dns.terminate()
            dns.wait(10)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(NETNS_DIR, ignore_errors=True)
        tc.ENV.cleanup()
    tmlib.done()


if __name__ == "__main__":
    main()
