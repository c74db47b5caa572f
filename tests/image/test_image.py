#!/usr/bin/env python3
"""test_image - the x86_64 appliance image under QEMU (TCG is fine): the
boot test and the power-cut test of issue 8. Needs `make image BOARD=x86_64`
(tools/runtests.sh builds it). Each boot uses tools/qemu.sh with a private
copy of the spool image and a free host port forwarded to the guest's 25.

Boot test: the image boots, tinymta runs, a message sent through the
forwarded SMTP port lands in /var/mail/admin on the spool partition (read
over the serial console, and from the host with debugfs after a clean
poweroff), the root is a read-only squashfs (a write fails), the first boot
provisioned /data; a second boot on the same partition keeps the
configuration and a queued (deferred) message. Figures: boot time to the
SMTP banner, bytes written to the spool partition per message.

Power-cut test: POWERCUT_RUNS times (default 5): boot on one spool image,
send messages through two SMTP sessions and record every 250 after DATA,
kill QEMU with SIGKILL at a random moment (even runs) or right after the
K-th 250 (odd runs, K random); then boot once more, wait for an
empty queue, power off cleanly and check from the host: e2fsck finds the
filesystem clean, every acknowledged message is in the mailbox (lost must
be 0), corrupt/ is empty. Prints acknowledged, found, duplicated, lost."""
import os
import random
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integ"))
from tmlib import check, done  # noqa: E402

BOARD = os.environ.get("BOARD", "x86_64")
OUT = os.path.join(ROOT, "build", BOARD)
RUNS = int(os.environ.get("POWERCUT_RUNS", "5"))
BOOT_TIMEOUT = 180
RCPT = "admin@localhost"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class VM:
    """One boot of the image: QEMU (through tools/qemu.sh) with the serial
    console on a pipe, read by a thread into self.buf."""

    def __init__(self, spool):
        self.port = free_port()
        env = dict(os.environ, SPOOL=spool, PORTS=f"{self.port}:25")
        self.t0 = time.time()
        self.p = subprocess.Popen([os.path.join(ROOT, "tools", "qemu.sh"), BOARD],
                                  cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        self.lock = threading.Lock()
        self.n = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            chunk = self.p.stdout.read1(4096)
            if not chunk:
                return
            with self.lock:
                self.buf += chunk

    def text(self):
        with self.lock:
            return self.buf.decode("latin-1")

    def wait_text(self, pattern, timeout, start=0):
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.text()[start:], re.S)
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        return re.search(pattern, self.text()[start:], re.S)

    def wait_smtp(self, timeout=BOOT_TIMEOUT):
        """Seconds until the SMTP banner through the forward, or None.
        (QEMU's user network accepts on the host side before the guest
        listens, then closes: retry until a 220 arrives.)"""
        end = time.time() + timeout
        while time.time() < end and self.p.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.settimeout(10)
                    if s.recv(512).startswith(b"220"):
                        return time.time() - self.t0
            except OSError:
                pass
            time.sleep(0.5)
        return None

    def sh(self, cmd, timeout=60):
        """Run a shell command on the serial console: (exit code, output)."""
        self.n += 1
        tag = f"T{self.n}"
        start = len(self.text())
        line = f"echo @@{tag}B; {cmd}; echo @@{tag}\"E\"$?@@\n"
        self.p.stdin.write(line.encode())
        self.p.stdin.flush()
        m = self.wait_text(rf"\n@@{tag}B\r?\n(.*?)@@{tag}E(\d+)@@", timeout, start)
        if not m:
            return None, self.text()[start:][-2000:]
        return int(m.group(2)), m.group(1).replace("\r", "")

    def poweroff(self, timeout=60):
        self.p.stdin.write(b"poweroff\n")
        self.p.stdin.flush()
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return False
        return True

    def cut(self):
        """The power cut: SIGKILL of QEMU."""
        self.p.kill()
        self.p.wait()


def send(port, subject, body="hello\r\n"):
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
        c.ehlo("host.example")
        c.sendmail("sender@example.org", [RCPT],
                   f"Subject: {subject}\r\nFrom: sender@example.org\r\n\r\n{body}")


def debugfs(img, path):
    r = subprocess.run(["debugfs", "-R", f"cat {path}", img], capture_output=True)
    return r.stdout.decode("latin-1")


def debugfs_ls(img, path):
    """Names in a directory of the image. `ls -p` prints one
    "/inode/mode/uid/gid/name/size/" line per entry; entries with inode 0
    (a deleted first entry of a block) are not files."""
    r = subprocess.run(["debugfs", "-R", f"ls -p {path}", img], capture_output=True)
    names = []
    for ln in r.stdout.decode("latin-1").splitlines():
        f = ln.split("/")
        if len(f) >= 7 and f[1] != "0" and f[5] not in (".", ".."):
            names.append(f[5])
    return names


def fsck_clean(img):
    r = subprocess.run(["e2fsck", "-fn", img], capture_output=True)
    return r.returncode == 0, r.stdout.decode("latin-1")[-800:]


def test_boot(tmp):
    spool = os.path.join(tmp, "boot.img")
    shutil.copy(os.path.join(OUT, "spool.img"), spool)
    vm = VM(spool)
    t = vm.wait_smtp()
    check(t is not None, "boot: SMTP banner through the forwarded port", vm.text()[-3000:])
    if t is None:
        vm.cut()
        return
    print(f"figure: first boot to the SMTP banner: {t:.1f} s")
    check("first boot: provisioning" in vm.text(), "boot: first boot provisions /data")
    check(vm.wait_text(r"appliance .*: ready", 30) is not None, "boot: rcS finished")
    rc, out = vm.sh("grep ' / ' /proc/mounts")
    check(rc == 0 and " squashfs ro" in out, "boot: / is squashfs, mounted ro", out)
    rc, out = vm.sh("touch /etc/x || touch /usr/x")
    check(rc not in (0, None) and "Read-only file system" in out,
          "boot: a write to the root fails", out)
    rc, out = vm.sh("tinymta status")
    check(rc == 0 and "is running" in out, "boot: tinymta runs", out)
    rc, out = vm.sh("wget -qO- http://127.0.0.1/cgi-bin/tinymta | grep -c 'value=\"login\"';"
                    " ps -o user,args | grep '[h]ttpd'; netstat -ltn | grep ':80 '")
    check(rc == 0 and out.split("\n")[0].strip() == "1" and "tinymta" in out
          and "127.0.0.1:80 " in out and "0.0.0.0:80 " not in out,
          "boot: the web UI on 127.0.0.1:80, httpd as mail_owner", out)
    rc, out = vm.sh("ls -ld /data/mail /var/spool/tinymta/incoming /etc/tinymta/main.cf;"
                    " readlink /etc/aliases; readlink /etc/resolv.conf")
    check(rc == 0 and "drwxrwxrwt" in out and "tinymta" in out
          and "/data/etc/tinymta/aliases" in out and "/tmp/resolv.conf" in out,
          "boot: provisioned directories and links", out)
    rc, dev = vm.sh("basename $(findfs LABEL=spool)")
    dev = dev.strip() if rc == 0 else "vdb"

    def written():
        rc, out = vm.sh(f"sync; cat /sys/block/{dev}/stat")
        f = out.split()
        return int(f[6]) * 512 if rc == 0 and len(f) > 6 else 0

    nonce = random.randrange(10**9)
    try:
        send(vm.port, f"boot test {nonce}", "hello from the host\r\n")
        ok = True
    except Exception as e:  # noqa: BLE001
        ok = check(False, "boot: SMTP transaction", repr(e))
    if ok:
        rc, out = vm.sh(f"for i in $(seq 1 120); do grep -q 'boot test {nonce}' /var/mail/admin"
                        " && break; sleep 0.5; done; grep -c 'boot test' /var/mail/admin;"
                        " stat -c '%U %a' /var/mail/admin", 90)
        check(rc == 0 and out.split()[:3] == ["1", "admin", "600"],
              "boot: delivered into /var/mail/admin (owner admin, 0600)", out)
    # A person on the serial console: mail -s, then reads it back.
    rc, out = vm.sh("printf 'typed on the console\\n' | mail -s 'console hi' admin &&"
                    " for i in $(seq 1 120); do grep -q 'console hi' /var/mail/admin && break;"
                    " sleep 0.5; done; mail -H -f /var/mail/admin", 90)
    check(rc == 0 and "console hi" in out, "boot: mail -s on the console, mail -H reads it", out)
    rc, out = vm.sh("ls -l /etc/tinymta/cert.pem /etc/tinymta/key.pem")
    check(rc == 0 and "-rw-------" in out, "boot: first boot made a certificate (gencert)", out)
    # Flash wear: bytes written to the spool partition per message, 20
    # messages accepted and delivered (the whole partition, journal included).
    before = written()
    n = 20
    for i in range(n):
        send(vm.port, f"wear {i}", "x" * 1000 + "\r\n")
    rc, out = vm.sh("for i in $(seq 1 240); do [ $(grep -c '^Subject: wear' /var/mail/admin)"
                    f" = {n} ] && break; sleep 0.5; done; grep -c '^Subject: wear' /var/mail/admin",
                    150)
    check(rc == 0 and out.strip() == str(n), "boot: 20 more delivered", out)
    after = written()
    if after > before:
        print(f"figure: bytes written to the spool partition per 1 KB message accepted"
              f" and delivered: {(after - before) // n}")
    # Kept across boots: a deferred message (an alias to a command that
    # fails temporarily, exit 75) and an edited parameter.
    rc, out = vm.sh("echo 'later: |exit 75' >>/etc/aliases && newaliases &&"
                    " echo later | sendmail -f admin later && for i in $(seq 1 120); do"
                    " mailq | grep -q 'later@' && break; sleep 0.5; done; mailq", 90)
    check(rc == 0 and "later@" in out, "boot: a deferred message queued", out)
    rc, out = vm.sh("postconf -e myhostname=kept.example")
    check(rc == 0, "boot: postconf -e", out)
    check(vm.poweroff(), "boot: poweroff ends QEMU", vm.text()[-1500:])
    clean, out = fsck_clean(spool)
    check(clean, "boot: spool filesystem clean after poweroff", out)
    check(f"boot test {nonce}" in debugfs(spool, "/mail/admin"),
          "boot: the message is on the spool partition (debugfs)")
    vm = VM(spool)
    check(vm.wait_smtp() is not None, "reboot: SMTP banner", vm.text()[-2000:])
    check("first boot" not in vm.text(), "reboot: no second provisioning")
    rc, out = vm.sh("postconf -h myhostname; mailq")
    check(rc == 0 and out.startswith("kept.example") and "later@" in out,
          "reboot: configuration and queue kept", out)
    check(vm.poweroff(), "reboot: poweroff ends QEMU")


def sender(port, prefix, acked, stop):
    """Send messages until the connection dies; record each 250 after DATA."""
    i = 0
    while not stop.is_set():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as c:
                c.ehlo("host.example")
                while not stop.is_set():
                    sid = f"{prefix}-{i}"
                    i += 1
                    c.mail("sender@example.org")
                    c.rcpt(RCPT)
                    code, _ = c.data(f"Subject: pc {sid}\r\n\r\npower cut test {sid}\r\n")
                    if code == 250:
                        acked.append(sid)
        except Exception:  # noqa: BLE001 - the cut ends the session
            if stop.is_set():
                return
            time.sleep(0.2)


def test_powercut(tmp):
    spool = os.path.join(tmp, "powercut.img")
    shutil.copy(os.path.join(OUT, "spool.img"), spool)
    acked = []
    for run in range(RUNS):
        vm = VM(spool)
        if vm.wait_smtp() is None:
            check(False, f"power cut run {run}: SMTP banner", vm.text()[-3000:])
            vm.cut()
            continue
        stop = threading.Event()
        mine = []
        ths = [threading.Thread(target=sender, args=(vm.port, f"r{run}s{k}", mine, stop))
               for k in range(2)]
        for th in ths:
            th.start()
        # Even runs: the cut at a random moment; odd runs: right after the
        # K-th 250 (K random), while the other session is mid-transaction.
        k = random.randint(3, 40) if run % 2 else None
        end = time.time() + (60 if k else random.uniform(0.5, 4.0))
        while time.time() < end and (k is None or len(mine) < k):
            time.sleep(0.001)
        vm.cut()  # SIGKILL: the power cut
        stop.set()
        for th in ths:
            th.join(60)
        acked.extend(mine)
    vm = VM(spool)
    check(vm.wait_smtp() is not None, "power cut: final boot", vm.text()[-3000:])
    rc, out = vm.sh("for i in $(seq 1 240); do n=$(ls /var/spool/tinymta/incoming"
                    " /var/spool/tinymta/active /var/spool/tinymta/maildrop"
                    " /var/spool/tinymta/deferred | grep -vc ':$\\|^$');"
                    " [ $n = 0 ] && break; sleep 0.5; done; echo left=$n; mailq", 180)
    check(rc == 0 and "left=0" in out, "power cut: queue drained after the last boot", out)
    check(vm.poweroff(), "power cut: clean poweroff")
    clean, out = fsck_clean(spool)
    check(clean, "power cut: spool filesystem clean", out)
    mbox = debugfs(spool, "/mail/admin")
    counts = {}
    for m in re.finditer(r"^Subject: pc (\S+)$", mbox, re.M):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    lost = [s for s in acked if counts.get(s, 0) == 0]
    dup = [s for s in counts if counts[s] > 1]
    found = sum(1 for s in acked if counts.get(s, 0) > 0)
    unacked = len([s for s in counts if s not in set(acked)])
    print(f"figure: power cut: {RUNS} runs, {len(acked)} acknowledged, {found} found,"
          f" {len(dup)} duplicated, {len(lost)} lost, {unacked} delivered without a 250")
    check(len(acked) > 0, "power cut: messages were acknowledged")
    check(not lost, "power cut: no acknowledged message lost", " ".join(lost[:20]))
    corrupt = debugfs_ls(spool, "/spool/tinymta/corrupt")
    check(corrupt == [], "power cut: corrupt/ is empty", " ".join(corrupt))
    for q in ("incoming", "active", "deferred", "maildrop"):
        left = [n for n in debugfs_ls(spool, f"/spool/tinymta/{q}") if not n.startswith(".")]
        check(left == [], f"power cut: {q}/ empty", " ".join(left))


def main():
    for f in ("rootfs.squashfs", "spool.img", "vmlinuz", "initrd.gz"):
        if not check(os.path.exists(os.path.join(OUT, f)), f"{OUT}/{f} exists (make image)"):
            done()
    tmp = tempfile.mkdtemp(prefix="tinymta-image-")
    try:
        for t in (test_boot, test_powercut):
            start = time.time()
            try:
                t(tmp)
            except Exception as e:  # a crash of the test is a failure, not a stop
                check(False, f"{t.__name__} raised", repr(e))
            print(f"{t.__name__}: {time.time() - start:.0f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
