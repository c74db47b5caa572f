"""test_dns - MX and address lookups (`tinymta dnsq`, the smtp client's
dns.c) against a real dnsmasq inside a network namespace this test creates.
`ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf,
so the binary asks our servers only. Covered: MX preference order, random
order of equal preferences, CNAME, no MX (then the address), NXDOMAIN, null
MX, A/AAAA and inet_protocols, literal addresses, a truncated UDP answer
fetched again over TCP (30 and 40 MX records), REFUSED, SERVFAIL, a server
that never answers and one that is down (bounded time), failover to the
second nameserver. Needs root and `ip netns` (else SKIP)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import BIN, check, done  # noqa: E402

NS = f"tmdns{os.getpid()}"
NETNS_DIR = f"/etc/netns/{NS}"
DNS = "127.0.0.1"   # dnsmasq
BAD = "127.0.0.2"   # the scripted server: SERVFAIL, or TC without TCP
HOLE = "127.0.0.3"  # the scripted server reads queries and never answers
DOWN = "127.0.0.4"  # nobody listens: the port is closed

# A scripted UDP server (real sockets, real wire format). On the first
# address it replies SERVFAIL to every query, except names starting with
# "tc." which get an empty answer with the TC bit set (and there is no TCP
# listener); on the second it reads queries and never answers.
BAD_SERVER = r"""
import select, socket, sys
bad = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
bad.bind((sys.argv[1], 53))
hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hole.bind((sys.argv[2], 53))
print("ready", flush=True)
while True:
    for s in select.select([bad, hole], [], [])[0]:
        q, peer = s.recvfrom(512)
        if s is bad and len(q) > 12:
            break
    else:
        continue
    tc = q[12:15] == b"\x02tc"
    flags = 0x8380 if tc else 0x8182
    r = q[:2] + flags.to_bytes(2, "big") + q[4:6] + b"\0\0\0\0\0\0" + q[12:]
    s.sendto(r, peer)
"""


def sh(*args, check_rc=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def resolv(text):
    with open(os.path.join(NETNS_DIR, "resolv.conf"), "w") as f:
        f.write(text)


def dnsq(*args, conf_dir=None):
    """Run `tinymta dnsq ARGS` in the namespace: (rc, stdout lines,
    stderr, seconds)."""
    env = dict(os.environ)
    env["TINYMTA_CONFIG_DIR"] = conf_dir or EMPTY_CONF
    env.pop("MAIL_CONFIG", None)
    t0 = time.monotonic()
    r = subprocess.run(["ip", "netns", "exec", NS, BIN, "dnsq"] + list(args),
                       capture_output=True, text=True, env=env, timeout=60)
    return (r.returncode, r.stdout.splitlines(), r.stderr,
            time.monotonic() - t0)


def mx_hosts(lines):
    return [ln.split()[2] for ln in lines if ln.startswith("mx ")]


def mx_prefs(lines):
    return [int(ln.split()[1]) for ln in lines if ln.startswith("mx ")]


def dnsmasq_args():
    a = ["dnsmasq", "--no-daemon", "--user=root", "--no-resolv", "--no-hosts",
         "--conf-file=/dev/null", f"--listen-address={DNS},::1",
         "--bind-interfaces", "--log-queries", "--local=/test/",
         "--mx-host=a.test,mx1.a.test,10", "--mx-host=a.test,mx2.a.test,5",
         "--mx-host=a.test,mx3.a.test,20",
         "--host-record=mx1.a.test,10.53.0.11",
         "--host-record=mx2.a.test,10.53.0.12,fd53::12",
         "--host-record=mx3.a.test,10.53.0.13",
         "--mx-host=eq.test,e1.eq.test,10", "--mx-host=eq.test,e2.eq.test,10",
         "--mx-host=eq.test,e3.eq.test,10", "--mx-host=eq.test,e0.eq.test,1",
         "--cname=alias.test,a.test",
         "--host-record=nomx.test,10.53.0.20",
         "--mx-host=null.test,.,0", "--host-record=null.test,10.53.0.21",
         "--host-record=v6only.test,fd53::30",
         "--host-record=dual.test,10.53.0.31,fd53::31"]
    # configured highest first: a cut UDP answer holds the high ones
    for n in range(30, 0, -1):
        a.append(f"--mx-host=big30.test,mx{n}.big30.test,{n}")
    for n in range(40, 0, -1):
        a.append(f"--mx-host=big40.test,host-number-{n}.big40.test,{n}")
    return a


def wait_ready(what, cond, secs=15):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def test_mx():
    rc, out, err, _ = dnsq("mx", "a.test")
    check(rc == 0 and out == ["mx 5 mx2.a.test", "mx 10 mx1.a.test",
                              "mx 20 mx3.a.test"],
          "MX in preference order", f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("mx", "A.Test.")
    check(rc == 0 and mx_prefs(out) == [5, 10, 20],
          "any case and a trailing dot", f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("mx", "alias.test")
    check(rc == 0 and mx_hosts(out) == ["mx2.a.test", "mx1.a.test",
                                        "mx3.a.test"],
          "MX through a CNAME", f"rc={rc} {out} {err}")
    orders = set()
    for _ in range(20):
        rc, out, err, _ = dnsq("mx", "eq.test")
        if not check(rc == 0 and len(out) == 4 and out[0] == "mx 1 e0.eq.test"
                     and sorted(out[1:]) == ["mx 10 e1.eq.test",
                                             "mx 10 e2.eq.test",
                                             "mx 10 e3.eq.test"],
                     "equal preferences after the lowest", f"{out} {err}"):
            break
        orders.add(tuple(out[1:]))
    check(len(orders) > 1, "equal preferences come in a random order "
          "(RFC 5321 5.1)", str(orders))


def test_notfound():
    rc, out, err, _ = dnsq("mx", "nomx.test")
    check(rc == 67 and out == ["notfound nodata"], "no MX: notfound nodata",
          f"rc={rc} {out} {err}")
    check("no MX record" in err, "reason on stderr", err)
    rc, out, err, _ = dnsq("addr", "nomx.test")
    check(rc == 0 and out == ["addr 10.53.0.20"], "then its address",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("mx", "nx.test")
    check(rc == 67 and out == ["notfound nxdomain"], "NXDOMAIN",
          f"rc={rc} {out} {err}")
    check("NXDOMAIN" in err, "reason names NXDOMAIN", err)
    rc, out, err, _ = dnsq("addr", "nx.test")
    check(rc == 67 and out == ["notfound"], "addr of NXDOMAIN",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("mx", "null.test")
    check(rc == 69 and out == ["nullmx"], "null MX (RFC 7505): 69",
          f"rc={rc} {out} {err}")
    check("null MX" in err, "reason names the null MX", err)
    rc, out, err, _ = dnsq("mx", "bad..name")
    check(rc == 67 and out == ["notfound nxdomain"], "malformed name",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("mx")
    check(rc == 64 and "usage" in err, "usage: 64", f"rc={rc} {err}")


def test_addr(conf4, conf6):
    rc, out, err, _ = dnsq("addr", "mx2.a.test")
    check(rc == 0 and out == ["addr 10.53.0.12", "addr fd53::12"],
          "A and AAAA, IPv4 first", f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "dual.test", conf_dir=conf6)
    check(rc == 0 and out == ["addr fd53::31"], "inet_protocols = ipv6",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "dual.test", conf_dir=conf4)
    check(rc == 0 and out == ["addr 10.53.0.31"], "inet_protocols = ipv4",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "v6only.test")
    check(rc == 0 and out == ["addr fd53::30"], "AAAA only",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "v6only.test", conf_dir=conf4)
    check(rc == 67 and out == ["notfound"], "AAAA only with ipv4: notfound",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "192.0.2.7")
    check(rc == 0 and out == ["addr 192.0.2.7"], "IPv4 literal",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "2001:DB8::1")
    check(rc == 0 and out == ["addr 2001:db8::1"], "IPv6 literal",
          f"rc={rc} {out} {err}")
    rc, out, err, _ = dnsq("addr", "2001:db8::1", conf_dir=conf4)
    check(rc == 67, "IPv6 literal with ipv4 only", f"rc={rc} {out} {err}")


def test_tcp():
    rc, out, err, _ = dnsq("-v", "mx", "big30.test")
    check(rc == 0 and mx_prefs(out) == list(range(1, 31)),
          "30 MX records: all, in order", f"rc={rc} {len(out)} {out[:3]}")
    check("truncated UDP reply" in err and "TCP" in err,
          "they came over TCP after a truncated UDP reply", err)
    rc, out, err, _ = dnsq("mx", "big40.test")
    check(rc == 0 and mx_prefs(out) == list(range(1, 33)),
          "40 MX records: the 32 lowest kept", f"rc={rc} {len(out)} {out[:3]}")
    check(all(h == f"host-number-{p}.big40.test"
              for p, h in zip(mx_prefs(out), mx_hosts(out))),
          "each with its host", str(out[:3]))


def test_failures():
    resolv(f"nameserver {DNS}\noptions timeout:2 attempts:2\n")
    rc, out, err, secs = dnsq("mx", "other.example")
    check(rc == 75 and out == ["tempfail"] and "REFUSED" in err,
          "REFUSED (no upstream for the name): tempfail",
          f"rc={rc} {out} {err}")
    check(secs < 1.9, "REFUSED ends at once", f"{secs:.1f} s")
    resolv(f"nameserver {BAD}\noptions timeout:5\n")
    rc, out, err, secs = dnsq("mx", "a.test")
    check(rc == 75 and out == ["tempfail"] and "SERVFAIL" in err,
          "SERVFAIL: tempfail", f"rc={rc} {out} {err}")
    check(secs < 4, "SERVFAIL ends at once", f"{secs:.1f} s")
    rc, out, err, secs = dnsq("mx", "tc.a.test")
    check(rc == 75 and "truncated UDP reply" in err and "TCP" in err,
          "truncated reply and no TCP: tempfail", f"rc={rc} {out} {err}")
    resolv(f"nameserver {HOLE}\noptions timeout:1 attempts:1\n")
    rc, out, err, secs = dnsq("mx", "a.test")
    check(rc == 75 and out == ["tempfail"] and "no reply" in err,
          "server not answering: tempfail", f"rc={rc} {out} {err}")
    check(0.9 <= secs < 4, "after the timeout (1 s)", f"{secs:.1f} s")
    rc, out, err, secs = dnsq("addr", "mx1.a.test")
    check(rc == 75 and out == ["tempfail"],
          "addr, server not answering: tempfail", f"rc={rc} {out} {err}")
    check(secs < 10, "bounded", f"{secs:.1f} s")
    resolv(f"nameserver {DOWN}\noptions timeout:3\n")
    rc, out, err, secs = dnsq("mx", "a.test")
    check(rc == 75 and "refused" in err.lower(),
          "server down (port closed): tempfail", f"rc={rc} {out} {err}")
    check(secs < 2.5, "at once", f"{secs:.1f} s")
    resolv(f"nameserver {HOLE}\nnameserver {BAD}\nnameserver {DNS}\n"
           "options timeout:4\n")
    rc, out, err, secs = dnsq("mx", "a.test")
    check(rc == 0 and mx_prefs(out) == [5, 10, 20],
          "a dead and a failing server, then a good one", f"rc={rc} {out} {err}")
    check(secs < 3, "asked at the same time", f"{secs:.1f} s")
    rc, out, err, secs = dnsq("mx", "nx.test")
    check(rc == 67 and out == ["notfound nxdomain"],
          "NXDOMAIN from the good one", f"rc={rc} {out} {err}")
    resolv("nameserver ::1\noptions timeout:2\n")
    rc, out, err, secs = dnsq("-v", "mx", "big30.test")
    check(rc == 0 and mx_prefs(out) == list(range(1, 31))
          and "nameserver ::1: truncated" in err,
          "an IPv6 nameserver, UDP then TCP", f"rc={rc} {out[:2]} {err}")
    resolv(f"nameserver {DNS}\noptions timeout:2 attempts:2\n")


def setup(procs):
    sh("ip", "netns", "add", NS)
    os.makedirs(NETNS_DIR, exist_ok=True)
    resolv(f"nameserver {DNS}\noptions timeout:2 attempts:2\n")
    sh("ip", "-n", NS, "link", "set", "lo", "up")
    log = open(os.path.join(TMP, "dnsmasq.log"), "w")
    procs.append(subprocess.Popen(["ip", "netns", "exec", NS]
                                  + dnsmasq_args(), stdout=log,
                                  stderr=subprocess.STDOUT))
    bad = subprocess.Popen(["ip", "netns", "exec", NS, "python3", "-c",
                            BAD_SERVER, BAD, HOLE], stdout=subprocess.PIPE,
                           text=True)
    procs.append(bad)
    check(bad.stdout.readline().strip() == "ready", "scripted server starts")
    wait_ready("dnsmasq", lambda: dnsq("mx", "a.test")[0] == 0)


def main():
    global EMPTY_CONF, TMP
    if os.geteuid() != 0:
        print("SKIP test_dns: needs root (network namespaces)")
        print("0 passed, 0 failed")
        return
    if not shutil.which("ip") or subprocess.run(
            ["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("SKIP test_dns: `ip netns` is not available")
        print("0 passed, 0 failed")
        return
    TMP = tempfile.mkdtemp(prefix="tinymta-dns-")
    EMPTY_CONF = os.path.join(TMP, "etc")
    conf4, conf6 = os.path.join(TMP, "etc4"), os.path.join(TMP, "etc6")
    for d, proto in ((EMPTY_CONF, None), (conf4, "ipv4"), (conf6, "ipv6")):
        os.makedirs(d)
        if proto:
            with open(os.path.join(d, "main.cf"), "w") as f:
                f.write(f"inet_protocols = {proto}\n")
    procs = []
    try:
        setup(procs)
        for t in (test_mx, test_notfound, lambda: test_addr(conf4, conf6),
                  test_tcp, test_failures):
            try:
                t()
            except Exception as e:  # a crash of the test is a failure
                check(False, f"{getattr(t, '__name__', 'test')} raised",
                      repr(e))
    except Exception as e:
        check(False, "setup", repr(e))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        sh("ip", "netns", "del", NS, check_rc=False)
        shutil.rmtree(NETNS_DIR, ignore_errors=True)
        shutil.rmtree(TMP, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
