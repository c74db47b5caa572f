"""bench.py - figures of tinymta beside a private Postfix instance.

Each row runs the same workload against both in one run and prints
tinymta's figure, Postfix's and their ratio. Rows so far:
  sendmail-t   500 sequential `sendmail -t` calls of a 2 KB message,
               median per call until queued, and fsyncs per submission.
  local        2000 messages of 5 KB submitted with sendmail (4 parallel
               submitters), time until all 2000 are in one mbox; fsyncs and
               bytes written per delivered message (whole service).
  idle memory  sum of Pss of the running service's processes.
  smtp         smtp-source -s 20 -m 2000 -l 5120 into each server, time
               until all are acknowledged and until all are in the mbox;
               peak memory under that load; Pss of an idle session.
  tls          STARTTLS with a full handshake (the same ECDSA P-256
               certificate from `tinymta gencert` on both), one client
               connection at a time for 5 s: handshakes per second; Pss
               of an idle TLS session; the same with a resumed session
               (tinymta: session IDs through the shared cache; Postfix:
               its tickets or session cache). TLS 1.2 on both.
  scheduler    tinymta only: qmgr Pss with 100,000 deferred messages,
               time to drain 10,000 once a dead destination comes back.
  relay        smtp-source -s 20 -m 2000 -l 5120 for a remote domain into
               each server, relayhost = an smtp-sink on loopback: time until
               the sink holds all 2000.
BENCH_ROWS=a,b picks rows; BENCH_SMTP_RUNS=N runs the smtp and relay
rows N times and then prints each run's ratio and their median. BENCH_TMPDIR=DIR puts both spools in DIR
(default /var/tmp); BENCH_SPOOL_FS=ext4 puts them on a fresh journaled
ext4 made as the image's spool partition is (tools/image.sh), on a loop
device over a file in /var/tmp: the file system the device runs on, with
no history of freed inodes. The smtp and relay rows print the disk's
cache flushes per message (from /sys/dev/block: the whole device, so
other writers count too)."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINYMTA = os.path.join(ROOT, "build", "tinymta")
N_SENDMAIL = int(os.environ.get("BENCH_SENDMAIL_N", "500"))
N_LOCAL = int(os.environ.get("BENCH_LOCAL_N", "2000"))
BENCH_USER = "tmbench"
TM_SMTP_PORT = 2527
PF_SMTP_PORT = 2526
N_SMTP = int(os.environ.get("BENCH_SMTP_N", "2000"))


def message(size=2048):
    head = (b"From: alerts@bench.example\nTo: tmbench@bench.example\n"
            b"Subject: disk /dev/sda failing\n\n")
    line = b"SMART attribute 5 Reallocated_Sector_Ct changed to 42.......\n"
    body = line * ((size - len(head)) // len(line) + 1)
    return (head + body)[:size - 1] + b"\n"


class Postfix:
    """A private Postfix instance under a temporary directory."""

    def __init__(self, top):
        self.top = top
        self.etc = os.path.join(top, "pf-etc")
        os.makedirs(self.etc)
        for d in ("pf-data", "pf-mail", "pf-spool"):
            os.makedirs(os.path.join(top, d))
        os.chmod(os.path.join(top, "pf-mail"), 0o1777)
        self.mail = os.path.join(top, "pf-mail")
        shutil.chown(os.path.join(top, "pf-data"), "postfix")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {top}/pf-spool
data_directory = {top}/pf-data
mail_spool_directory = {top}/pf-mail
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.example
mydestination = bench.example, localhost
alias_maps =
alias_database =
maillog_file = {top}/pf-maillog
maillog_file_prefixes = {top}
""")
        dist = open("/usr/share/postfix/master.cf.dist").read()
        out = []
        for ln in dist.splitlines():
            if re.match(r"^smtp\s+inet", ln):
                ln = "127.0.0.1:2526 inet n - n - - smtpd"
            else:  # chroot off on every service
                ln = re.sub(r"^(\S+\s+(unix|fifo|pass|unix-dgram)\s+\S+\s+\S+\s+)y(\s)",
                            r"\1n\3", ln)
            out.append(ln)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        self.env = dict(os.environ, MAIL_CONFIG=self.etc)

    def start(self):
        subprocess.run(["postfix", "-c", self.etc, "start"], check=True,
                       capture_output=True)

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"],
                       capture_output=True)

    def master_pid(self):
        with open(os.path.join(self.top, "pf-spool", "pid", "master.pid")) as f:
            return int(f.read().split()[0])


class Tinymta:
    def __init__(self, top):
        self.top = top
        self.etc = os.path.join(top, "tm-etc")
        self.mail = os.path.join(top, "tm-mail")
        os.makedirs(self.etc)
        os.makedirs(self.mail)
        os.chmod(self.mail, 0o1777)
        owner = "tinymta" if os.geteuid() == 0 else os.environ.get("USER", "root")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"queue_directory = {top}/tm-spool\n"
                    f"mail_owner = {owner}\nmyhostname = bench.example\n"
                    f"mail_spool_directory = {self.mail}\n"
                    f"alias_maps =\nalias_database =\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(f"127.0.0.1:{TM_SMTP_PORT} inet n - n - - smtpd\n")
        self.env = dict(os.environ, TINYMTA_CONFIG_DIR=self.etc)
        self.bin = os.path.join(top, "tm-bin")
        os.makedirs(self.bin)
        os.symlink(TINYMTA, os.path.join(self.bin, "sendmail"))

    def start(self):
        subprocess.run([TINYMTA, "start"], env=self.env, check=True,
                       capture_output=True)

    def stop(self):
        subprocess.run([TINYMTA, "stop"], env=self.env, capture_output=True)

    def master_pid(self):
        with open(os.path.join(self.top, "tm-spool", "pid", "master.pid")) as f:
            return int(f.read().split()[0])


def time_calls(argv, env, path, n):
    """Median wall time of n sequential runs of argv with path as stdin."""
    times = []
    for _ in range(n):
        fd = os.open(path, os.O_RDONLY)
        t = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, fd, 0)])
        _, st = os.waitpid(pid, 0)
        times.append(time.perf_counter() - t)
        os.close(fd)
        if st != 0:
            sys.exit(f"bench: {argv[0]} failed with status {st}")
    return statistics.median(times)


def count_fsyncs(argv, env, path):
    """fsync/fdatasync calls of one submission (all processes), by strace."""
    if not shutil.which("strace"):
        return None
    with open(path, "rb") as f:
        r = subprocess.run(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync",
                            "-o", "/dev/stderr"] + argv, stdin=f, env=env,
                           capture_output=True, text=True)
    n = 0
    for ln in r.stderr.splitlines():
        m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$", ln)
        if m:
            n += int(m.group(1))
    return n


def flushes(path):
    """Cache flush requests completed by the device holding path, or None
    (field 16 of /sys/dev/block/MAJ:MIN/stat, Linux 5.5 and later)."""
    st = os.stat(path)
    try:
        with open(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/stat") as f:
            fields = f.read().split()
        return int(fields[15]) if len(fields) > 15 else None
    except OSError:
        return None


def flush_row(name, tm, pf):
    if tm is not None and pf is not None:
        print(f"{name:<34} tinymta {tm:10.2f}        postfix {pf:10.2f}")


def ratio(tm, pf):
    """Postfix's time over tinymta's (0 when either is missing)."""
    return pf / tm if tm and pf else 0


def ratios_row(name, runs):
    """With more than one run: the ratios of every run and their median
    (the figures move by about a fifth from run to run on a shared
    machine)."""
    runs = [r for r in runs if r]  # None: the row could not run
    if len(runs) < 2:
        return
    for i, what in ((0, "acked"), (1, "delivered")):
        v = [r[i] for r in runs]
        print(f"{name + ' ' + what + ', ratio per run':<34} "
              + " ".join(f"{x:.1f}" for x in v)
              + f"   median {statistics.median(v):.1f}")


def row(name, tm, pf, unit, better="lower"):
    ratio = (pf / tm if better == "lower" else tm / pf) if tm and pf else 0
    word = "smaller" if unit in ("KiB", "MiB", "bytes") else "faster"
    print(f"{name:<34} tinymta {tm:10.3f} {unit:<6} postfix {pf:10.3f} {unit:<6}"
          f" tinymta is {ratio:5.1f}x {word}")


def bench_sendmail(top, tm, pf):
    path = os.path.join(top, "msg-2k")
    with open(path, "wb") as f:
        f.write(message(2048))
    argv_tm = [os.path.join(tm.bin, "sendmail"), "-t"]
    argv_pf = ["/usr/sbin/sendmail", "-t"]
    time_calls(argv_tm, tm.env, path, 5)  # warm-up (creates the queue)
    time_calls(argv_pf, pf.env, path, 5)
    t_tm = time_calls(argv_tm, tm.env, path, N_SENDMAIL)
    t_pf = time_calls(argv_pf, pf.env, path, N_SENDMAIL)
    row(f"sendmail -t 2KB x{N_SENDMAIL}, median/call", t_tm * 1000,
        t_pf * 1000, "ms")
    f_tm = count_fsyncs(argv_tm, tm.env, path)
    f_pf = count_fsyncs(argv_pf, pf.env, path)
    print(f"{'fsyncs per submission':<34} tinymta {f_tm}  postfix {f_pf}")


def tree(pid):
    """pid and all its descendants, from one scan of /proc (a pgrep per
    process cost the machine a quarter of its CPU while sampling)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        total += int(ln.split()[1])
        except OSError:
            pass
    return total


def io_of(pids):
    """(fsync-like syscalls are not in /proc; write_bytes is)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/io") as f:
                for ln in f:
                    if ln.startswith("write_bytes:"):
                        total += int(ln.split()[1])
        except OSError:
            pass
    return total


def cpu_s(master_pid):
    """CPU seconds of a service so far: the master's own and its reaped
    children's (cutime/cstime, recursive), plus the live processes under
    it with their reaped children. Differences of two calls are robust to
    the load of a shared machine, unlike wall times."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree(master_pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                f_ = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in f_[11:15])  # utime stime cutime cstime
    return total / tck


def mbox_count(path, marker=b"\nSubject: bench "):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    return data.count(marker) + data.startswith(marker[1:])


def diskstats_writes():
    """Sectors written on the root disk (bytes), from /proc/diskstats."""
    dev = os.path.basename(os.path.realpath(
        subprocess.run(["findmnt", "-no", "SOURCE", "/"], capture_output=True,
                       text=True).stdout.strip()))
    with open("/proc/diskstats") as f:
        for ln in f:
            parts = ln.split()
            if parts[2] == dev:
                return int(parts[9]) * 512
    return 0


def submit_many(argv, env, n, par=4):
    """n submissions of a 5 KB message, par at a time; returns when done."""
    msgs = []
    for i in range(n):
        msgs.append((f"To: {BENCH_USER}@bench.example\nSubject: bench {i}\n\n").encode()
                    + message(5120)[60:])
    running = []
    for i in range(n):
        rfd, wfd = os.pipe()
        pid = os.posix_spawn(argv[0], argv, env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, rfd, 0),
                                           (os.POSIX_SPAWN_CLOSE, wfd)])
        os.close(rfd)
        os.write(wfd, msgs[i])
        os.close(wfd)
        running.append(pid)
        if len(running) >= par:
            os.waitpid(running.pop(0), 0)
    for p in running:
        os.waitpid(p, 0)


def bench_local(top, tm, pf):
    res = {}
    for name, mta, argv in (("tinymta", tm, [os.path.join(tm.bin, "sendmail"), "-t"]),
                            ("postfix", pf, ["/usr/sbin/sendmail", "-t"])):
        box = os.path.join(mta.mail, BENCH_USER)
        pids = tree(mta.master_pid())
        w0 = diskstats_writes()
        t0 = time.perf_counter()
        submit_many(argv, mta.env, N_LOCAL)
        t_sub = time.perf_counter() - t0
        deadline = time.time() + 300
        while mbox_count(box) < N_LOCAL and time.time() < deadline:
            time.sleep(0.05)
        t_all = time.perf_counter() - t0
        got = mbox_count(box)
        subprocess.run(["sync"])
        w1 = diskstats_writes()
        res[name] = (t_all, t_sub, got, (w1 - w0) / max(got, 1))
        del pids
    (tt, ts, tg, tw), (pt, ps, pg, pw) = res["tinymta"], res["postfix"]
    row(f"local: {N_LOCAL}x5KB sendmail -> mbox", tt, pt, "s")
    print(f"{'  of which submission':<34} tinymta {ts:10.3f} s      postfix {ps:10.3f} s"
          f"      delivered: tinymta {tg}, postfix {pg}")
    print(f"{'  disk bytes written / message':<34} tinymta {tw:10.0f}        postfix {pw:10.0f}")


def fsyncs_per_delivery(top, tm, pf):
    """strace the whole running service while 20 messages go through."""
    if not shutil.which("strace"):
        return
    out = {}
    for name, mta, argv in (("tinymta", tm, [os.path.join(tm.bin, "sendmail"), "-t"]),
                            ("postfix", pf, ["/usr/sbin/sendmail", "-t"])):
        box = os.path.join(mta.mail, BENCH_USER)
        before = mbox_count(box)
        log = os.path.join(top, f"strace-{name}")
        attach = []
        for p in tree(mta.master_pid()):
            attach += ["-p", str(p)]
        st = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync",
                               "-o", log] + attach,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        submit_many(argv, mta.env, 20, par=1)
        deadline = time.time() + 60
        while mbox_count(box) < before + 20 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        st.terminate()
        st.wait()
        n = 0
        with open(log) as f:
            for ln in f:
                m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$", ln)
                if m:
                    n += int(m.group(1))
        out[name] = n / 20
    print(f"{'  service fsyncs / message':<34} tinymta {out['tinymta']:10.2f}        "
          f"postfix {out['postfix']:10.2f}   (plus the submitter's)")


def settle(spool, timeout=180):
    """Wait until a spool's maildrop, incoming and active are empty."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = 0
        for q in ("maildrop", "incoming", "active"):
            try:
                n += len([x for x in os.listdir(os.path.join(spool, q))
                          if not x.startswith(".")])
            except FileNotFoundError:
                pass
        if n == 0:
            return True
        time.sleep(0.2)
    return False


def sample_pss(master_pid, stop, out):
    while not stop.is_set():
        out.append(pss_kib(tree(master_pid)))
        time.sleep(0.1)


def bench_smtp(top, tm, pf):
    """smtp-source -s 20 -m N -l 5120 into each server on loopback."""
    import threading
    if not shutil.which("smtp-source"):
        print("smtp: smtp-source missing (Debian's postfix package)")
        return
    res = {}
    for name, mta, port in (("tinymta", tm, TM_SMTP_PORT), ("postfix", pf, PF_SMTP_PORT)):
        box = os.path.join(mta.mail, BENCH_USER)
        before = mbox_count(box, b"\nSubject: smtp-source")
        stop, peak = threading.Event(), []
        th = threading.Thread(target=sample_pss, args=(mta.master_pid(), stop, peak))
        th.start()
        cpu0 = cpu_s(mta.master_pid())
        fl0 = flushes(top)
        t0 = time.perf_counter()
        r = subprocess.run(["smtp-source", "-s", "20", "-m", str(N_SMTP), "-l", "5120",
                            "-S", "smtp-source", "-f", "bench@bench.example",
                            "-t", f"{BENCH_USER}@bench.example", f"127.0.0.1:{port}"],
                           capture_output=True, text=True)
        t_ack = time.perf_counter() - t0
        deadline = time.time() + 300
        while mbox_count(box, b"\nSubject: smtp-source") - before < N_SMTP and \
                time.time() < deadline:
            time.sleep(0.05)
        t_all = time.perf_counter() - t0
        time.sleep(0.5)  # the last delivery agents exit and are reaped
        cpu = cpu_s(mta.master_pid()) - cpu0
        stop.set()
        th.join()
        got = mbox_count(box, b"\nSubject: smtp-source") - before
        fl1 = flushes(top)
        res[name] = (t_ack, t_all, got, max(peak) if peak else 0, r.returncode,
                     cpu, None if fl0 is None else (fl1 - fl0) / N_SMTP)
    (ta, tt, tg, tp, trc, tc, tf), (pa, pt, pg, pp, prc, pc, pfl) = \
        res["tinymta"], res["postfix"]
    print(f"{'  load average (1 min)':<34} {os.getloadavg()[0]:.1f}")
    row(f"smtp: {N_SMTP}x5KB, 20 sessions, acked", ta, pa, "s")
    row(f"smtp: {N_SMTP}x5KB, ... delivered", tt, pt, "s")
    row("smtp: CPU of the service", tc, pc, "s")
    flush_row("  disk cache flushes / message", tf, pfl)
    print(f"{'  delivered (smtp-source exit)':<34} tinymta {tg} ({trc})   postfix {pg} ({prc})")
    row("smtp: peak sum of Pss under load", tp / 1024, pp / 1024, "MiB")
    return ratio(ta, pa), ratio(tt, pt)


def serving_smtpd(tm):
    """The smtpd processes serving a client now (an idle reusable one
    has /dev/null on descriptor 0)."""
    out = []
    for p in tree(tm.master_pid()):
        try:
            if b"smtpd" in open(f"/proc/{p}/cmdline", "rb").read() and \
                    os.readlink(f"/proc/{p}/fd/0") != "/dev/null":
                out.append(p)
        except OSError:
            pass
    return out


def bench_idle_session(tm):
    """Pss of one idle SMTP session (the smtpd child), 10 sessions open."""
    import socket
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", TM_SMTP_PORT))
        s.recv(512)
        socks.append(s)
    time.sleep(0.5)
    kids = serving_smtpd(tm)
    per = pss_kib(kids) / max(len(kids), 1)
    print(f"{'smtp: Pss per idle session':<34} tinymta {per:10.0f} KiB   ({len(kids)} sessions)")
    for s in socks:
        s.close()


def bench_idle_memory(tm, pf):
    time.sleep(2)
    tp, pp = tree(tm.master_pid()), tree(pf.master_pid())
    t, p = pss_kib(tp), pss_kib(pp)
    row("idle memory, sum of Pss", t, p, "KiB", better="lower")
    print(f"{'  processes':<34} tinymta {len(tp):10d}        postfix {len(pp):10d}"
          f"   (tinymta: {', '.join(str(pss_kib([x])) for x in tp)} KiB)")


def enable_tls(top, tm, pf):
    """One gencert certificate, STARTTLS offered by both servers."""
    cert, key = os.path.join(top, "tls-cert.pem"), os.path.join(top, "tls-key.pem")
    subprocess.run([TINYMTA, "gencert", "-n", "bench.example", cert, key],
                   env=tm.env, check=True, capture_output=True)
    for etc in (tm.etc, pf.etc):
        with open(os.path.join(etc, "main.cf"), "a") as f:
            f.write(f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                    "smtpd_tls_security_level = may\n")
    return cert


def bench_tls(tm, pf, cert):
    import socket
    import ssl
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # BearSSL's only version

    def starttls(port, session=None):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO bench.example\r\n")
        while f.readline()[3:4] == b"-":
            pass
        s.sendall(b"STARTTLS\r\n")
        f.readline()
        return ctx.wrap_socket(s, server_hostname="bench.example",
                               session=session)

    rates, resumed, share = {}, {}, {}
    for name, port in (("tinymta", TM_SMTP_PORT), ("postfix", PF_SMTP_PORT)):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 5:
            starttls(port).close()
            n += 1
        rates[name] = n / (time.perf_counter() - t0)
        t = starttls(port)
        t.sendall(b"NOOP\r\n")
        t.recv(512)  # a TLS 1.2 ticket/ID is known after the handshake
        sess = t.session
        t.close()
        n, hits, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < 5:
            t = starttls(port, sess)
            hits += t.session_reused
            t.close()
            n += 1
        resumed[name] = n / (time.perf_counter() - t0)
        share[name] = f"{hits}/{n}"
    row("tls: STARTTLS full handshakes", rates["tinymta"], rates["postfix"], "/s",
        better="higher")
    row("tls: STARTTLS resumed sessions", resumed["tinymta"], resumed["postfix"],
        "/s", better="higher")
    print(f"{'  resumed / attempts':<34} tinymta {share['tinymta']}   "
          f"postfix {share['postfix']}")
    time.sleep(0.5)
    t = starttls(TM_SMTP_PORT)
    t.sendall(b"EHLO bench.example\r\n")
    t.recv(4096)
    time.sleep(0.5)
    kids = serving_smtpd(tm)
    print(f"{'tls: Pss of an idle TLS session':<34} tinymta {pss_kib(kids):10.0f} KiB")
    t.close()


def bench_relay(top, tm, pf):
    """Issue 7's relay figure: smtp-source -s 20 -m N -l 5120 into each
    server for a remote domain, relayhost = [127.0.0.1]:PORT of an
    smtp-sink that dumps each transaction into a file on /dev/shm; the
    time until the sink holds all N (and until all are acknowledged)."""
    import socket
    if not shutil.which("smtp-sink") or not shutil.which("smtp-source"):
        print("relay: smtp-sink/smtp-source missing (Debian's postfix package)")
        return
    res = {}
    for name, mta, port in (("tinymta", tm, TM_SMTP_PORT), ("postfix", pf, PF_SMTP_PORT)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sink_port = s.getsockname()[1]
        s.close()
        dump = tempfile.mkdtemp(prefix="tm-bench-sink-", dir="/dev/shm")
        os.chmod(dump, 0o777)  # smtp-sink drops to -u nobody as root
        sink = subprocess.Popen(["smtp-sink", "-u", "nobody", "-d", os.path.join(dump, "%H%M%S."),
                                 f"127.0.0.1:{sink_port}", "256"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        relay = f"relayhost=[127.0.0.1]:{sink_port}"
        if name == "tinymta":
            subprocess.run([TINYMTA, "postconf", "-e", relay], env=mta.env, check=True)
            subprocess.run([TINYMTA, "reload"], env=mta.env, check=True,
                           capture_output=True)
        else:
            subprocess.run(["postconf", "-c", mta.etc, "-e", relay], check=True)
            subprocess.run(["postfix", "-c", mta.etc, "reload"], check=True,
                           capture_output=True)
        time.sleep(1)
        cpu0 = cpu_s(mta.master_pid())
        fl0 = flushes(top)
        t0 = time.perf_counter()
        r = subprocess.run(["smtp-source", "-s", "20", "-m", str(N_SMTP), "-l", "5120",
                            "-S", "relay-bench", "-f", "bench@bench.example",
                            "-t", "someone@remote.example", f"127.0.0.1:{port}"],
                           capture_output=True, text=True)
        t_ack = time.perf_counter() - t0
        # One dump file per connection's transactions may hold several
        # messages: count the Subject lines, re-reading changed files only.
        seen = {}

        def at_sink():
            for f in os.listdir(dump):
                p = os.path.join(dump, f)
                try:
                    st = os.stat(p)
                    if seen.get(f, (None,))[0] != (st.st_size, st.st_mtime_ns):
                        with open(p, "rb") as fh:
                            seen[f] = ((st.st_size, st.st_mtime_ns),
                                       fh.read().count(b"Subject: relay-bench"))
                except OSError:
                    pass
            return sum(v[1] for v in seen.values())
        deadline = time.time() + 300
        while at_sink() < N_SMTP and time.time() < deadline:
            time.sleep(0.1)
        t_all = time.perf_counter() - t0
        got = at_sink()
        cpu = cpu_s(mta.master_pid()) - cpu0
        fl1 = flushes(top)
        sink.terminate()
        sink.wait()
        shutil.rmtree(dump, ignore_errors=True)
        res[name] = (t_ack, t_all, got, r.returncode, cpu,
                     None if fl0 is None else (fl1 - fl0) / N_SMTP)
    (ta, tt, tg, trc, tc, tf), (pa, pt, pg, prc, pc, pfl) = res["tinymta"], res["postfix"]
    print(f"{'  load average (1 min)':<34} {os.getloadavg()[0]:.1f}")
    row(f"relay: {N_SMTP}x5KB to smtp-sink, acked", ta, pa, "s")
    row(f"relay: {N_SMTP}x5KB ... at the sink", tt, pt, "s")
    row("relay: CPU of the service", tc, pc, "s")
    flush_row("  disk cache flushes / message", tf, pfl)
    print(f"{'  at the sink (smtp-source exit)':<34} tinymta {tg} ({trc})   postfix {pg} ({prc})")
    return ratio(ta, pa), ratio(tt, pt)


def bench_scheduler():
    """tinymta only (figures, not timed tests): the queue manager's Pss
    with BENCH_QMGR_N (100,000) deferred messages, and the time to drain
    BENCH_DRAIN_N (10,000) once a dead destination comes back. Uses the
    scheduler test's daemon, capture server and backlog helpers."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integ"))
    os.environ.setdefault("TINYMTA", TINYMTA)
    import test_scheduler as ts
    n = int(os.environ.get("BENCH_QMGR_N", "100000"))
    port = ts.closed_port()
    d = ts.sched_daemon(f"relayhost = [127.0.0.1]:{port}\n")
    d.start()
    ts.send(d, "far@remote.example", subject="memory")
    ts.wait_for(lambda: d.queue_count("deferred") == 1, 20)
    ts.make_backlog(d, n, 3600)
    d.env.run("tinymta", "flush")
    time.sleep(1)
    ts.wait_for(lambda: d.queue_count("active") == 0, 600)
    time.sleep(1)
    kib = ts.qmgr_pss(d)
    d.stop()
    d.env.cleanup()
    print(f"{'qmgr Pss, deferred queue':<34} tinymta {kib:10d} KiB   ({n + 1} messages)")
    m = int(os.environ.get("BENCH_DRAIN_N", "10000"))
    took, peak, (conc, _), _ = ts.drain_after_outage(m)
    shown = f"{took:10.1f} s" if took is not None else "  not done"
    print(f"{'drain after an outage':<34} tinymta {shown}      ({m + 1} messages, "
          f"{conc} connections, qmgr Pss peak {peak} KiB)")


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (a private Postfix instance needs it)")
    if not os.path.exists(TINYMTA):
        sys.exit("bench: build/tinymta missing; run make")
    subprocess.run(["sh", "-c", "id tinymta >/dev/null 2>&1 || useradd --system "
                    "--no-create-home --home-dir /nonexistent --shell "
                    "/usr/sbin/nologin tinymta"], check=True)
    mnt = spool_fs()
    top = tempfile.mkdtemp(prefix="tinymta-bench-",
                           dir=mnt or os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    os.chmod(top, 0o755)
    subprocess.run(["sh", "-c", f"id {BENCH_USER} >/dev/null 2>&1 || useradd "
                    f"--no-create-home --home-dir /nonexistent --shell "
                    f"/usr/sbin/nologin {BENCH_USER}"], check=True)
    pf = Postfix(top)
    tm = Tinymta(top)
    cert = enable_tls(top, tm, pf)
    pf.start()
    try:
        # BENCH_ROWS=smtp (comma list of sendmail, idle, local, smtp, tls, relay,
        # scheduler)
        # runs only those rows; the default is all of them.
        rows = os.environ.get("BENCH_ROWS", "sendmail,idle,local,smtp,tls,relay,scheduler").split(",")
        print(f"tinymta: {os.path.getsize(TINYMTA)} bytes (stripped, static)")
        if "sendmail" in rows:
            bench_sendmail(top, tm, pf)
        # The sendmail row filled both queues with undeliverable-looking
        # mail for admin@: start tinymta now (Postfix delivers it already).
        tm.start()
        settle(os.path.join(top, "tm-spool"))
        settle(os.path.join(top, "pf-spool"))
        if "idle" in rows:
            bench_idle_memory(tm, pf)
        if "local" in rows:
            bench_local(top, tm, pf)
            fsyncs_per_delivery(top, tm, pf)
        if "smtp" in rows:
            bench_idle_session(tm)
            runs = [bench_smtp(top, tm, pf)
                    for _ in range(int(os.environ.get("BENCH_SMTP_RUNS", "1")))]
            ratios_row("smtp:", runs)
        if "tls" in rows:
            bench_tls(tm, pf, cert)
        if "relay" in rows:
            runs = [bench_relay(top, tm, pf)
                    for _ in range(int(os.environ.get("BENCH_SMTP_RUNS", "1")))]
            ratios_row("relay:", runs)
        if "scheduler" in rows:
            bench_scheduler()
    finally:
        tm.stop()
        pf.stop()
        shutil.rmtree(top, ignore_errors=True)
        if mnt:
            subprocess.run(["umount", mnt], check=False)
            os.rmdir(mnt)
            os.unlink(mnt + ".img")


def spool_fs():
    """BENCH_SPOOL_FS=ext4: a fresh 4 GiB journaled ext4 (tools/image.sh's
    mkfs options) mounted on a loop device; its mount point, or None."""
    kind = os.environ.get("BENCH_SPOOL_FS", "")
    if not kind:
        return None
    if kind != "ext4":
        sys.exit(f"bench: BENCH_SPOOL_FS={kind}: only ext4 is known")
    mnt = tempfile.mkdtemp(prefix="tinymta-bench-fs-", dir="/var/tmp")
    img = mnt + ".img"
    with open(img, "wb") as f:
        f.truncate(4 << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-b", "4096", "-E",
                    "lazy_itable_init=0,lazy_journal_init=0", img], check=True)
    subprocess.run(["mount", "-o", "loop", img, mnt], check=True)
    os.chmod(mnt, 0o755)
    print(f"spool file system: fresh journaled ext4 on a loop device ({mnt})")
    return mnt


if __name__ == "__main__":
    main()
