"""bench.py - figures of tinymta beside a private Postfix instance.

Each row runs the same workload against both in one run and prints
tinymta's figure, Postfix's and their ratio. Rows so far:
  sendmail-t   500 sequential `sendmail -t` calls of a 2 KB message,
               median per call until queued, and fsyncs per submission.
Later issues add rows (local delivery, SMTP, relay, memory)."""
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


def message(size=2048):
    head = (b"From: alerts@bench.example\nTo: admin@bench.example\n"
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
        for d in ("pf-data", "pf-mail"):
            os.makedirs(os.path.join(top, d))
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


class Tinymta:
    def __init__(self, top):
        self.etc = os.path.join(top, "tm-etc")
        os.makedirs(self.etc)
        owner = "tinymta" if os.geteuid() == 0 else os.environ.get("USER", "root")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"queue_directory = {top}/tm-spool\n"
                    f"mail_owner = {owner}\nmyhostname = bench.example\n")
        self.env = dict(os.environ, TINYMTA_CONFIG_DIR=self.etc)
        self.bin = os.path.join(top, "tm-bin")
        os.makedirs(self.bin)
        os.symlink(TINYMTA, os.path.join(self.bin, "sendmail"))


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


def row(name, tm, pf, unit, better="lower"):
    ratio = (pf / tm if better == "lower" else tm / pf) if tm and pf else 0
    print(f"{name:<34} tinymta {tm:10.3f} {unit:<6} postfix {pf:10.3f} {unit:<6}"
          f" tinymta is {ratio:5.1f}x {'faster' if better == 'lower' else 'better'}")


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


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (a private Postfix instance needs it)")
    if not os.path.exists(TINYMTA):
        sys.exit("bench: build/tinymta missing; run make")
    subprocess.run(["sh", "-c", "id tinymta >/dev/null 2>&1 || useradd --system "
                    "--no-create-home --home-dir /nonexistent --shell "
                    "/usr/sbin/nologin tinymta"], check=True)
    top = tempfile.mkdtemp(prefix="tinymta-bench-", dir="/var/tmp")
    os.chmod(top, 0o755)
    pf = Postfix(top)
    tm = Tinymta(top)
    pf.start()
    try:
        print(f"tinymta: {os.path.getsize(TINYMTA)} bytes (stripped, static)")
        bench_sendmail(top, tm, pf)
    finally:
        pf.stop()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
