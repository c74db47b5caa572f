"""postqueue -s SITE and status's next_retry, with real `tinymta smtp`
agents and two capture servers (capture.py) on 127.0.0.1 reached through
transport_maps: mail deferred to both; `postqueue -s` of one site (by its
recipient domain, or by its next hop) delivers only that site's mail at
once while the other's keeps its schedule; a dead destination is revived
by -s of a domain routed to it; a bad SITE is a usage error (exit 64);
`tinymta status --json` gives each destination with deferred mail the
queue files' earliest next attempt as next_retry."""
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import check, done  # noqa: E402
from test_daemon import Daemon, USER, ensure_user, wait_for  # noqa: E402
from capture import CaptureServer  # noqa: E402
from test_scheduler import asan, qmgr_pss  # noqa: E402

# Long backoff: nothing is retried on its own while a test runs.
BASE = ("minimal_backoff_time = 300s\nmaximal_backoff_time = 600s\n"
        "queue_run_delay = 1s\n")


class Site:
    """A capture server that defers every recipient (450) until
    accept is set; refuse: a 421 greeting (site failed) until cleared."""

    def __init__(self, refuse=False):
        self.accept = False
        self.refuse = refuse
        self.srv = CaptureServer(script={
            "greeting": lambda s, a: ("421 4.3.2 closed for now" if self.refuse
                                      else "220 capture.test ESMTP"),
            "rcpt": lambda s, a: "250 2.1.5 Ok" if self.accept else "450 4.2.0 later"})
        self.port = self.srv.port
        self.hop = f"[127.0.0.1]:{self.port}"

    def delivered(self):
        return [r.strip("<>").split(">")[0] for m in self.srv.messages for r in m.rcpts]

    def rcpt_attempts(self):
        return len([c for c in self.srv.commands if c.upper().startswith("RCPT")])


def daemon(transport, extra=""):
    d = Daemon("relayhost = [127.0.0.1]:9\n" + extra)
    # Daemon appends its own backoff lines: ours after them (the last wins).
    d.env.write("main.cf", open(os.path.join(d.env.conf, "main.cf")).read() + BASE + extra
                + f"transport_maps = cdb:{d.env.conf}/transport\n")
    d.env.write("transport", transport)
    r = d.env.run("postmap", os.path.join(d.env.conf, "transport"))
    check(r.returncode == 0, "postmap transport", r.stderr)
    return d


def status(d):
    try:
        return json.loads(d.status()[1])
    except ValueError:
        return {}


def dest(d, name):
    for x in status(d).get("destinations", []):
        if x["name"] == name:
            return x
    return None


def deferred_by_domain(d):
    """{domain: {queue_id: next attempt}}: the deferred files, their
    recipients' domains (postqueue -j) and the next-attempt time stored in
    each file's header (docs/queue-format.md: u64 at offset 32)."""
    r = d.env.run("postqueue", "-j")
    out = {}
    for line in r.stdout.decode().splitlines():
        m = json.loads(line)
        if m["queue_name"] != "deferred":
            continue
        try:
            with open(os.path.join(d.env.spool, "deferred", m["queue_id"]), "rb") as f:
                head = f.read(64)
        except OSError:
            continue
        nxt = struct.unpack_from("<Q", head, 32)[0]
        for rc in m["recipients"]:
            out.setdefault(rc["address"].split("@")[-1], {})[m["queue_id"]] = nxt
    return out


def stop(d, *sites):
    d.stop()
    d.env.cleanup()
    for s in sites:
        s.srv.stop()


def test_flush_one_site():
    one, two = Site(), Site()
    d = daemon(f"one.example smtp:{one.hop}\ntwo.example smtp:{two.hop}\n")
    d.start()
    for i in range(2):
        d.send(f"a{i}@one.example", subject=f"one-{i}")
        d.send(f"b{i}@two.example", subject=f"two-{i}")
    ok = wait_for(lambda: d.queue_count("deferred") == 4, 30)
    check(ok, "mail for both sites deferred", str(d.queue_count("deferred")))
    q = deferred_by_domain(d)
    check(len(q.get("one.example", {})) == 2 and len(q.get("two.example", {})) == 2,
          "two deferred messages each", str(q))

    # next_retry: a number, the earliest next attempt of the site's files
    for site, dom in ((one, "one.example"), (two, "two.example")):
        x = dest(d, site.hop) or {}
        want = min(q.get(dom, {0: 0}).values())
        got = x.get("next_retry")
        check(isinstance(got, int) and abs(got - want) <= 1,
              f"status next_retry of {dom} is its files' earliest next attempt",
              f"next_retry {got}, queue files {sorted(q.get(dom, {}).values())}, {x}")
        check(x.get("dead_until") is None, f"{dom} is not dead", str(x))

    # both would take the mail now; only one is flushed
    one.accept = two.accept = True
    seen_two = two.rcpt_attempts()
    before_two = dict(q.get("two.example", {}))
    t0 = time.time()
    r = d.env.run("postqueue", "-s", "ONE.Example")  # the domain, any case
    check(r.returncode == 0, "postqueue -s ONE.Example exits 0", r.stderr)
    ok = wait_for(lambda: sorted(one.delivered()) == ["a0@one.example", "a1@one.example"], 20)
    took = time.time() - t0
    check(ok, "the mail of one.example is delivered", str(one.delivered()))
    check(took < 10, "promptly (not after its 300 s backoff)", f"{took:.1f} s")
    check(wait_for(lambda: "one.example" not in deferred_by_domain(d), 10),
          "one.example's mail left the queue", str(deferred_by_domain(d)))
    time.sleep(2)  # a wrong flush of two.example would have connected by now
    check(two.rcpt_attempts() == seen_two and two.delivered() == [],
          "two.example's mail was not tried", f"{two.rcpt_attempts() - seen_two} attempts")
    after_two = deferred_by_domain(d).get("two.example", {})
    check(after_two == before_two, "two.example's mail keeps its schedule",
          f"{before_two} -> {after_two}")
    x = dest(d, two.hop) or {}
    check(x.get("next_retry") == min(before_two.values() or [0])
          or abs((x.get("next_retry") or 0) - min(before_two.values() or [0])) <= 1,
          "two.example's next_retry unchanged", str(x))
    x = dest(d, one.hop)
    check(x is None or x.get("next_retry") is None,
          "no next_retry for a destination with nothing deferred", str(x))

    # the next hop form: the scheduler's destination name
    t0 = time.time()
    r = d.env.run("postqueue", "-s", two.hop)
    check(r.returncode == 0, f"postqueue -s {two.hop} exits 0", r.stderr)
    ok = wait_for(lambda: sorted(two.delivered()) == ["b0@two.example", "b1@two.example"], 20)
    check(ok and time.time() - t0 < 10, "the next hop form flushes two.example's mail",
          f"{two.delivered()} after {time.time() - t0:.1f} s")
    check(wait_for(lambda: d.queue_count("deferred") == 0 and d.queue_count("active") == 0, 10),
          "the queue is empty")
    check(sorted(one.delivered()) == ["a0@one.example", "a1@one.example"],
          "one.example's mail delivered once", str(one.delivered()))
    stop(d, one, two)


def test_requests_at_once():
    """Two -s requests in a row are both served (the second starts the
    round over with both sites); a third site's mail waits."""
    sites = [Site(), Site(), Site()]
    names = ["one", "two", "three"]
    d = daemon("".join(f"{n}.example smtp:{s.hop}\n" for n, s in zip(names, sites)))
    d.start()
    for n in names:
        d.send(f"x@{n}.example", subject=n)
    check(wait_for(lambda: d.queue_count("deferred") == 3, 30), "three deferred",
          str(d.queue_count("deferred")))
    for s in sites:
        s.accept = True
    seen = sites[2].rcpt_attempts()
    t0 = time.time()
    r1 = d.env.run("postqueue", "-s", "one.example")
    r2 = d.env.run("postqueue", "-s", sites[1].hop)
    check(r1.returncode == 0 and r2.returncode == 0, "both requests accepted",
          r1.stderr + r2.stderr)
    ok = wait_for(lambda: sites[0].delivered() == ["x@one.example"]
                  and sites[1].delivered() == ["x@two.example"], 20)
    check(ok, "both sites' mail delivered",
          f"{sites[0].delivered()} {sites[1].delivered()} after {time.time() - t0:.1f} s")
    time.sleep(1.5)
    check(sites[2].rcpt_attempts() == seen and d.queue_count("deferred") == 1,
          "the third site's mail waits", f"{sites[2].rcpt_attempts() - seen} attempts")
    stop(d, *sites)


def test_flush_revives_dead_site():
    three = Site(refuse=True)
    three.accept = True
    d = daemon(f"three.example smtp:{three.hop}\n",
               "tinymta_dead_destination_time = 600s\n"
               "default_destination_concurrency_failed_cohort_limit = 1\n")
    d.start()
    d.send("c@three.example", subject="three")
    ok = wait_for(lambda: (dest(d, three.hop) or {}).get("dead_until") is not None, 30)
    check(ok, "the refusing destination is dead", json.dumps(status(d)))
    wait_for(lambda: d.queue_count("deferred") == 1, 20)
    x = dest(d, three.hop) or {}
    nxt = min(deferred_by_domain(d).get("three.example", {0: 0}).values())
    check(isinstance(x.get("next_retry"), int)
          and x["next_retry"] == max(x["dead_until"], nxt),
          "a dead destination's next_retry: the later of dead_until and its mail's",
          f"{x}, queue file {nxt}")
    three.refuse = False
    t0 = time.time()
    r = d.env.run("postqueue", "-s", "three.example")
    check(r.returncode == 0, "postqueue -s three.example exits 0", r.stderr)
    ok = wait_for(lambda: three.delivered() == ["c@three.example"], 20)
    check(ok and time.time() - t0 < 10,
          "-s of the domain ends its next hop's dead time: delivered at once",
          f"{three.delivered()} after {time.time() - t0:.1f} s")
    x = dest(d, three.hop)
    check(x is None or x.get("dead_until") is None, "no longer dead", str(x))
    stop(d, three)


def copy_deferred(d, qid, n, when):
    """n copies of deferred file qid under new IDs, next attempt at when
    (the file's mtime, as qmgr writes it)."""
    ddir = os.path.join(d.env.spool, "deferred")
    src = os.path.join(ddir, qid)
    st = os.stat(src)
    data = open(src, "rb").read()
    tmp = os.path.join(d.env.spool, "copies.tmp")
    os.makedirs(tmp)
    for i in range(n):
        p = os.path.join(tmp, f"ZZCOPY{i:08d}")
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, st.st_mode & 0o7777)
        os.chown(p, st.st_uid, st.st_gid)
        os.utime(p, (when, when))
    for name in os.listdir(tmp):
        os.rename(os.path.join(tmp, name), os.path.join(ddir, name))
    os.rmdir(tmp)


def test_site_in_backlog():
    """-s finds its one message among many deferred for another site: it
    reads the files one at a time, in parts (qmgr stays small), and
    leaves the others' schedule alone."""
    n = int(os.environ.get("SITE_BACKLOG_MESSAGES", "5000"))
    one, two = Site(), Site()
    d = daemon(f"one.example smtp:{one.hop}\ntwo.example smtp:{two.hop}\n")
    d.start()
    d.send("b@two.example", subject="two")
    wait_for(lambda: d.queue_count("deferred") == 1, 30)
    d.send("a@one.example", subject="one")
    wait_for(lambda: d.queue_count("deferred") == 2, 30)
    q = deferred_by_domain(d)
    two_id = next(iter(q.get("two.example", {})), None)
    check(two_id is not None and "one.example" in q, "one message deferred for each", str(q))
    if two_id is None:
        stop(d, one, two)
        return
    when = int(time.time()) + 3600
    copy_deferred(d, two_id, n, when)
    one.accept = two.accept = True
    seen = two.rcpt_attempts()
    peak = [0]
    t0 = time.time()
    r = d.env.run("postqueue", "-s", "one.example")
    check(r.returncode == 0, "postqueue -s one.example exits 0", r.stderr)

    def got_one():
        peak[0] = max(peak[0], qmgr_pss(d))
        return one.delivered() == ["a@one.example"]
    ok = wait_for(got_one, 120)
    took = time.time() - t0
    check(ok, f"one.example's message found among {n + 1} deferred for two.example",
          f"{one.delivered()}")
    print(f"figure: postqueue -s found 1 message among {n + 2} deferred in {took:.1f} s "
          f"(qmgr Pss peak {peak[0]} KiB)")
    time.sleep(1.5)
    check(two.delivered() == [] and two.rcpt_attempts() == seen,
          "none of two.example's mail tried", f"{two.rcpt_attempts() - seen} attempts")
    ddir = os.path.join(d.env.spool, "deferred")
    kept = 0
    for name in os.listdir(ddir):
        try:
            kept += int(os.stat(os.path.join(ddir, name)).st_mtime) == when
        except OSError:
            pass
    check(kept == n, "every copy keeps its next attempt", f"{kept} of {n}")
    if asan(d):
        print("skip: Pss is not meaningful under ASan")
    else:
        check(0 < peak[0] < 2048, "qmgr Pss under 2 MiB while it scans", f"{peak[0]} KiB")
    stop(d, one, two)


def test_bad_site():
    one = Site()
    d = daemon(f"one.example smtp:{one.hop}\n")
    d.start()
    d.send("a@one.example", subject="bad-site")
    wait_for(lambda: d.queue_count("deferred") == 1, 30)
    one.accept = True
    for bad, what in (("", "empty site"), ("a" * 256, "longer than 255"),
                      ("one.example\nflush", "control character 0x0a"),
                      ("one\x07example", "control character 0x07"),
                      ("one example", "' ' at position 4"),
                      ("\u00e9.example", "non-ASCII byte 0xc3")):
        r = d.env.run("postqueue", "-s", bad)
        err = r.stderr.decode(errors="replace")
        check(r.returncode == 64, f"postqueue -s {bad[:20]!r}: exit 64", f"{r.returncode} {err}")
        check("invalid site for -s" in err and what in err,
              f"postqueue -s {bad[:20]!r}: says what is wrong", err)
    r = d.env.run("postqueue", "-s")
    check(r.returncode == 64 and b"usage" in r.stderr, "postqueue -s without SITE: usage, 64",
          r.stderr)
    time.sleep(1.5)
    check(one.delivered() == [] and d.queue_count("deferred") == 1,
          "nothing was flushed by a refused request", str(one.delivered()))
    stop(d, one)


def main():
    ensure_user()
    tests = [test_flush_one_site, test_requests_at_once, test_flush_revives_dead_site,
             test_bad_site,
             test_site_in_backlog]
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        try:
            t()
        except Exception as e:  # a crash of the test is a failure, not a stop
            check(False, f"{t.__name__} raised", repr(e))
    done()


if __name__ == "__main__":
    main()
