"""tmlib - the integration tests' small toolkit: a fresh configuration
directory and spool per test environment, the real binary called through
applet links (argv[0] dispatch), and the "N passed, M failed" tally."""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

BIN = os.path.abspath(os.environ.get("TINYMTA", "build/tinymta"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_passed = 0
_failed = 0


def check(cond, what, detail=""):
    """Count one assertion; print the failure with its detail."""
    global _passed, _failed
    if cond:
        _passed += 1
    else:
        _failed += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""), flush=True)
    return cond


def done():
    print(f"{_passed} passed, {_failed} failed")
    sys.exit(1 if _failed else 0)


def mail_owner():
    return "tinymta" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


class Env:
    """A private configuration directory (main.cf) and queue directory."""

    def __init__(self, main_cf="", master_cf=None):
        self.dir = tempfile.mkdtemp(prefix="tinymta-test-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.conf)
        os.makedirs(self.bin)
        for name in ("tinymta", "postfix", "sendmail", "mailq", "postqueue",
                     "postsuper", "postcat", "postconf", "newaliases",
                     "postmap", "postalias", "mail"):
            os.symlink(BIN, os.path.join(self.bin, name))
        base = (f"queue_directory = {self.spool}\n"
                f"mail_owner = {mail_owner()}\n"
                "myhostname = test.example\n")
        self.write("main.cf", base + main_cf)
        if master_cf is not None:
            self.write("master.cf", master_cf)

    def write(self, name, text, mode=None):
        path = os.path.join(self.conf, name)
        with open(path, "w" if isinstance(text, str) else "wb") as f:
            f.write(text)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def run(self, applet, *args, input=None, env=None, user=None, timeout=60):
        """Run an applet through its link; returns CompletedProcess with
        bytes stdout/stderr. user: a user name to run as (root only)."""
        e = dict(os.environ)
        e["TINYMTA_CONFIG_DIR"] = self.conf
        e.pop("MAIL_CONFIG", None)
        if env:
            e.update(env)
        pre = None
        if user is not None:
            pw = pwd.getpwnam(user)

            def pre():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        if isinstance(input, str):
            input = input.encode()
        return subprocess.run([os.path.join(self.bin, applet)] + list(args),
                              input=input, capture_output=True, env=e,
                              preexec_fn=pre, timeout=timeout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
