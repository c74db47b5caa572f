"""test_postconf - postconf (show, -n, -d, -h, -x, -e, --json), tinymta
check (text and --json) and the choice of the configuration directory,
against the real binary. Golden output lives in tests/golden/postconf/:
defaults.ref is `postconf -d` with the host name and configuration
directory replaced by @HOSTNAME@ / @CONFIG_DIR@; nondefault.ref is
`postconf -n` for nondefault.in."""
import json
import os
import pwd
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tmlib import ROOT, Env, check, done, mail_owner  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "golden", "postconf")
CONF = os.path.join(ROOT, "conf")
# DESIGN.md: "Defaults that differ from Postfix, on purpose"
DESIGN_DIFFERS = ["initial_destination_concurrency", "smtpd_relay_restrictions",
                  "smtpd_forbid_bare_newline", "alias_maps", "alias_database",
                  "queue_directory", "mail_owner", "inet_interfaces"]
PROBLEM_KEYS = {"file", "line", "parameter", "severity", "message"}


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


def golden(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return f.read()


def no_crash(r, what):
    check(r.returncode >= 0, f"{what}: killed by signal {-r.returncode}",
          err(r)[-500:])


def test_defaults_golden():
    env = Env()
    try:
        r = env.run("postconf", "-d")
        lines = []
        for line in out(r).splitlines():
            if line.startswith("myhostname = "):
                line = "myhostname = @HOSTNAME@"
            lines.append(line.replace(env.conf, "@CONFIG_DIR@"))
        got = "\n".join(lines) + "\n"
        want = golden("defaults.ref")
        check(r.returncode == 0 and got == want, "postconf -d = defaults.ref",
              "\n".join(l for l in set(got.splitlines()) ^ set(want.splitlines())))
        host = [l for l in out(r).splitlines() if l.startswith("myhostname = ")]
        check(len(host) == 1 and "." in host[0], "default myhostname has a dot",
              str(host))
    finally:
        env.cleanup()


def test_nondefault_golden():
    env = Env()
    try:
        env.write("main.cf", golden("nondefault.in"))
        r = env.run("postconf", "-n")
        check(r.returncode == 0 and out(r) == golden("nondefault.ref"),
              "postconf -n = nondefault.ref", out(r) + err(r))
        check(err(r) == "", "postconf -n: no warnings", err(r))
        r = env.run("postconf")
        all_lines = out(r).splitlines()
        check(r.returncode == 0 and "relayhost = [smtp.provider.example]:587"
              in all_lines and "soft_bounce = no" in all_lines
              and all_lines == sorted(all_lines),
              "postconf: all parameters, sorted, set and default")
    finally:
        env.cleanup()


def test_names():
    env = Env("relayhost = [r.example]:587\nsmtpd_timeout = 5m\n")
    try:
        r = env.run("postconf", "relayhost", "myorigin", "smtpd_timeout")
        check(out(r) == "relayhost = [r.example]:587\nmyorigin = $myhostname\n"
              "smtpd_timeout = 5m\n", "postconf NAME...", out(r))
        r = env.run("postconf", "-h", "relayhost", "mydomain")
        check(out(r) == "[r.example]:587\nlocaldomain\n", "postconf -h", out(r))
        r = env.run("postconf", "-x", "myorigin", "mydestination")
        check(out(r) == "myorigin = test.example\nmydestination = "
              "test.example, localhost.localdomain, localhost\n",
              "postconf -x", out(r))
        r = env.run("postconf", "-d", "initial_destination_concurrency",
                    "smtpd_timeout", "relayhost")
        check(out(r) == "initial_destination_concurrency = 2\n"
              "smtpd_timeout = 300s\nrelayhost =\n", "postconf -d NAME", out(r))
        r = env.run("postconf", "-dv", *DESIGN_DIFFERS, "relayhost")
        lines = out(r).splitlines()
        check(len(lines) == 9 and all("    # differs from Postfix: " in l
                                      for l in lines[:8])
              and lines[8] == "relayhost =" and lines[0] ==
              "initial_destination_concurrency = 2    # differs from Postfix: 5",
              "postconf -dv marks the DESIGN.md differences", out(r))
        r = env.run("postconf", "-hx", "tinymta_sasl_users")
        check(out(r) == env.conf + "/sasl_users\n", "-hx bundled", out(r))
        r = env.run("postconf", "nonesuch", "relayhost")
        check(r.returncode == 0 and out(r) == "relayhost = [r.example]:587\n"
              and "postconf: warning: nonesuch: unknown parameter" in err(r),
              "unknown NAME: warning, exit 0", err(r))
        for args in (["-q"], ["--nope"], ["-n", "-d"], ["-e"], ["-c"],
                     ["--json", "relayhost"]):
            r = env.run("postconf", *args)
            check(r.returncode == 64 and "usage:" in err(r),
                  f"postconf {args}: usage, 64", str(r.returncode))
    finally:
        env.cleanup()


EDIT_IN = """# header comment
myhostname = test.example

# the relay
relayhost = [old.example]
mydestination = a,
    b,
# inside
    c
smtpd_timeout = 60s
# trailing comment
"""
EDIT_OUT = """# header comment
myhostname = test.example

# the relay
relayhost = [new.example]:587
mydestination = $myhostname, localhost
# inside
smtpd_timeout = 60s
# trailing comment
message_size_limit = 20480000
"""


def test_edit():
    env = Env()
    try:
        path = env.write("main.cf", EDIT_IN, mode=0o640)
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)
        r = env.run("postconf", "-e", "relayhost=[new.example]:587",
                    "mydestination = $myhostname, localhost",
                    "message_size_limit=20480000")
        st = os.stat(path)
        with open(path) as f:
            text = f.read()
        check(r.returncode == 0 and text == EDIT_OUT,
              "-e: replaced in place, appended, comments kept",
              err(r) + text)
        check(stat.S_IMODE(st.st_mode) == 0o640, "-e keeps the mode",
              oct(st.st_mode))
        if os.geteuid() == 0:
            check(st.st_uid == 65534 and st.st_gid == 65534,
                  "-e keeps the owner", f"{st.st_uid}:{st.st_gid}")
        check(os.listdir(env.conf) == ["main.cf"], "-e leaves no temp file",
              str(os.listdir(env.conf)))
        r = env.run("postconf", "-h", "message_size_limit")
        check(out(r) == "20480000\n", "-e value read back", out(r))

        for args, what in ((["smtpd_timeout=abc"], "bad value"),
                           (["relayhost=x", "smtpd_timeout=abc"], "one bad of two"),
                           (["nosuchparam=1"], "unknown name"),
                           (["relayhost"], "no ="),
                           (["myorigin=$myorigin"], "a $name loop"),
                           (["minimal_backoff_time=9000s"], "cross-field"),
                           (["smtpd_banner=a\nb"], "two lines")):
            r = env.run("postconf", "-e", *args)
            with open(path, "rb") as f:
                same = f.read() == EDIT_OUT.encode()
            lines = err(r).strip().splitlines()
            check(r.returncode == 65 and same and len(lines) == 1
                  and lines[0].startswith("postconf: fatal: "),
                  f"-e {what}: 65, nothing written, one line",
                  f"{r.returncode} {err(r)!r}")
        r = env.run("postconf", "-e", "smtpd_timeout=abc")
        check("smtpd_timeout" in err(r) and "expected a time" in err(r),
              "-e bad value names it", err(r))
    finally:
        env.cleanup()


def test_edit_around_errors():
    env = Env("smtpd_timeout = abc\n")
    try:
        r = env.run("postconf", "-e", "relayhost=[r]:25")
        check(r.returncode == 0, "-e works beside an old error", err(r))
        r = env.run("postconf", "-n")
        check("smtpd_timeout = abc\n" in out(r) and "relayhost = [r]:25\n" in out(r),
              "-n shows a refused value as written", out(r))
        r = env.run("postconf", "-e", "smtpd_timeout = 2m")
        check(r.returncode == 0, "-e fixes the old error", err(r))
        os.unlink(os.path.join(env.conf, "main.cf"))
        r = env.run("postconf", "-e", "relayhost=[r]:25")
        st = os.stat(os.path.join(env.conf, "main.cf"))
        check(r.returncode == 0 and stat.S_IMODE(st.st_mode) == 0o644,
              "-e makes a missing main.cf, 0644", err(r))
    finally:
        env.cleanup()


def test_edit_concurrent():
    """Parallel edits serialise on the lock: none is lost."""
    env = Env()
    try:
        names = ["relayhost", "luser_relay", "home_mailbox", "maillog_file",
                 "smtp_tls_CAfile", "smtpd_tls_CAfile", "relay_domains",
                 "masquerade_domains", "tinymta_sender_address", "default_privs"]
        e = dict(os.environ, TINYMTA_CONFIG_DIR=env.conf)
        procs = [subprocess.Popen([os.path.join(env.bin, "postconf"), "-e",
                                   f"{n}=v_{n}"], env=e) for n in names]
        codes = [p.wait(timeout=60) for p in procs]
        r = env.run("postconf", "-n")
        check(codes == [0] * len(names) and all(
            f"{n} = v_{n}\n" in out(r) for n in names)
            and os.listdir(env.conf) == ["main.cf"],
            "parallel -e: every edit kept", out(r) + str(codes))
    finally:
        env.cleanup()


def test_json():
    env = Env()
    try:
        r = env.run("postconf", "--json")
        try:
            doc = json.loads(r.stdout)
        except ValueError as e:
            check(False, "--json parses", str(e))
            return
        check(r.returncode == 0 and list(doc) == ["parameters"], "--json top")
        params = doc["parameters"]
        names = [p["name"] for p in params]
        dnames = [l.split(" =")[0] for l in out(env.run("postconf", "-d")).splitlines()]
        check(names == dnames, "--json has every parameter of postconf -d",
              str(set(names) ^ set(dnames)))
        for p in params:
            keys = set(p)
            need = {"name", "type", "default", "help", "apply", "secret"}
            extra = keys - need
            ok = need <= keys and p["type"] in (
                "string", "int", "time", "size", "bool", "list", "map", "enum")
            ok = ok and p["apply"] in ("reload", "restart")
            ok = ok and isinstance(p["secret"], bool) and p["help"]
            ok = ok and isinstance(p["default"], str)
            if p["type"] == "enum":
                ok = ok and extra == {"values"} and all(
                    isinstance(v, str) for v in p["values"])
            elif p["type"] in ("int", "time", "size"):
                ok = ok and extra == {"min", "max"} and p["min"] <= p["max"]
            else:
                ok = ok and not extra
            check(ok, f"--json schema of {p.get('name')}", str(p))
        byname = {p["name"]: p for p in params}
        check(byname["inet_interfaces"]["apply"] == "restart"
              and byname["smtpd_timeout"]["min"] == 1
              and byname["smtpd_forbid_bare_newline"]["values"][0] == "normalize",
              "--json details")
    finally:
        env.cleanup()


def check_json(r, what):
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        check(False, f"{what}: check --json parses", str(e) + out(r))
        return {"ok": None, "problems": []}
    ok = set(doc) == {"ok", "problems"} and isinstance(doc["ok"], bool)
    for p in doc.get("problems", []):
        ok = ok and set(p) == PROBLEM_KEYS and isinstance(p["line"], int)
        ok = ok and p["severity"] in ("error", "warning")
    check(ok, f"{what}: check --json schema", out(r))
    return doc


def test_check():
    env = Env(master_cf=open(os.path.join(CONF, "master.cf")).read())
    try:
        r = env.run("tinymta", "check")
        check(r.returncode == 0 and err(r) == "" and out(r) == "",
              "check: good configuration, silent, 0", err(r))
        doc = check_json(env.run("tinymta", "check", "--json"), "good")
        check(doc["ok"] is True and doc["problems"] == [], "check --json good")

        env.write("main.cf", "myhostname = t.example\n# c\n"
                  "smtpd_timeout = abc\nfoo = bar\n")
        r = env.run("tinymta", "check")
        main = os.path.join(env.conf, "main.cf")
        check(r.returncode == 78 and f"tinymta: error: {main}, line 3: "
              "smtpd_timeout = \"abc\": expected a time like 300s, 5m, 1h, "
              "1d, 1w" in err(r), "check: bad value, 78, file and line", err(r))
        check(f"tinymta: warning: {main}, line 4: foo: unknown parameter"
              in err(r), "check: unknown parameter warned", err(r))
        r = env.run("tinymta", "check", "--json")
        doc = check_json(r, "bad")
        check(r.returncode == 78 and doc["ok"] is False and {
            "file": main, "line": 3, "parameter": "smtpd_timeout",
            "severity": "error", "message": "smtpd_timeout = \"abc\": expected "
            "a time like 300s, 5m, 1h, 1d, 1w"} in doc["problems"],
            "check --json: the error", out(r))

        env.write("main.cf", "myhostname = t.example\nfoo = bar\n")
        r = env.run("tinymta", "check", "--json")
        doc = check_json(r, "warning")
        check(r.returncode == 0 and doc["ok"] is True and len(doc["problems"]) == 1
              and doc["problems"][0]["severity"] == "warning"
              and doc["problems"][0]["parameter"] == "foo",
              "check: unknown parameter is a warning, 0", out(r))

        env.write("master.cf", "smtp inet n - n - - smtpd\n# c\n"
                  "2525 inet n - n - x smtpd\n"
                  "pop3 inet n - n - - pop3d -o pop3d_timeout=never\n"
                  "pickup unix n - y 60 1 pickup\n")
        r = env.run("tinymta", "check")
        master = os.path.join(env.conf, "master.cf")
        check(r.returncode == 78 and f"{master}, line 3: maxproc" in err(r)
              and f"{master}, line 4: -o pop3d_timeout=\"never\"" in err(r),
              "check: master.cf errors with their lines", err(r))
        env.write("master.cf", "smtp inet n - n - - smtpd -o smtpd_timeout=$t\n")
        env.write("main.cf", "t = 2x\n")
        r = env.run("tinymta", "check")
        check(r.returncode == 78 and "expands to \"2x\"" in err(r),
              "check: master.cf -o $name against main.cf", err(r))
        r = env.run("tinymta", "-c", os.path.join(env.dir, "nowhere"), "check")
        check(r.returncode == 78 and "nowhere: configuration directory: No "
              "such file" in err(r), "check: a missing directory", err(r))
        for args in (["--jsn"], ["--json", "x"]):
            r = env.run("tinymta", "check", *args)
            check(r.returncode == 64, f"check {args}: 64", str(r.returncode))
    finally:
        env.cleanup()


def test_bad_input():
    env = Env()
    try:
        cases = [
            (b"myhostname = t.example\nrelayhost = a\0b\n", "line 2", "NUL byte"),
            (b"myhostname = t.example\nsmtpd_banner = " + b"x" * (1024 * 1024 - 100)
             + b"\n", "line 2", "line longer than"),
            (b"# big\n" * (1024 * 1024 // 6 + 10), None, "file larger than"),
            (b"\xff\xfe = \x01\n", "line 1", "expected \"name = value\""),
            (b"myorigin = ${myhostname\n", "line 1", "unterminated"),
            (b"a = $b\nb = $a\nmyorigin = $a\n", "line 3", "refers back"),
        ]
        for data, where, what in cases:
            env.write("main.cf", data)
            r = env.run("tinymta", "check")
            no_crash(r, what)
            check(r.returncode == 78 and what in err(r)
                  and (where is None or f"main.cf, {where}: " in err(r)),
                  f"{what}: clear error", err(r)[:300])
            r = env.run("tinymta", "check", "--json")
            no_crash(r, what)
            doc = check_json(r, what)
            line = int(where.split()[1]) if where else 0
            check(r.returncode == 78 and any(
                what in p["message"] and p["line"] == line
                and p["severity"] == "error" for p in doc["problems"]),
                f"{what}: clear error (--json)", out(r)[:300])
            r = env.run("postconf", "-n")
            no_crash(r, what + " postconf")
            check(r.returncode == 0, f"{what}: postconf -n still lists",
                  err(r)[:300])
        env.write("master.cf", b"smtp inet n - n - - smtpd\0\n")
        env.write("main.cf", "myhostname = t.example\n")
        r = env.run("tinymta", "check")
        check(r.returncode == 78 and "master.cf, line 1: NUL byte" in err(r),
              "master.cf NUL byte", err(r))
    finally:
        env.cleanup()


def test_config_dir():
    env = Env()
    try:
        dirs = {}
        for name in ("a", "b", "c"):
            d = os.path.join(env.dir, name)
            os.makedirs(d)
            with open(os.path.join(d, "main.cf"), "w") as f:
                f.write(f"relayhost = [{name}.example]\n")
            dirs[name] = d

        def relay(args=(), **e):
            return out(env.run("postconf", *args, "-h", "relayhost",
                               env=e)).strip()

        check(relay(TINYMTA_CONFIG_DIR=dirs["a"]) == "[a.example]",
              "TINYMTA_CONFIG_DIR")
        check(relay(TINYMTA_CONFIG_DIR="", MAIL_CONFIG=dirs["b"]) == "[b.example]",
              "MAIL_CONFIG")
        check(relay(TINYMTA_CONFIG_DIR=dirs["a"], MAIL_CONFIG=dirs["b"])
              == "[a.example]", "TINYMTA_CONFIG_DIR before MAIL_CONFIG")
        check(relay(["-c", dirs["c"]], TINYMTA_CONFIG_DIR=dirs["a"])
              == "[c.example]", "postconf -c DIR")
        r = env.run("tinymta", "-c", dirs["c"], "postconf", "-h", "relayhost",
                    "config_directory", env={"TINYMTA_CONFIG_DIR": dirs["a"]})
        check(out(r) == f"[c.example]\n{dirs['c']}\n", "tinymta -c DIR postconf",
              out(r))
        r = env.run("tinymta", "-c", dirs["b"], "check")
        check(r.returncode == 0, "tinymta -c DIR check", err(r))
        r = env.run("postconf", "-c", dirs["b"], "-e", "relayhost=[x]")
        with open(os.path.join(dirs["b"], "main.cf")) as f:
            check(f.read() == "relayhost = [x]\n", "postconf -c DIR -e")
    finally:
        env.cleanup()


def test_shipped_conf():
    """conf/main.cf documents every parameter with its real default and
    says where the defaults differ; conf/ passes tinymta check."""
    env = Env()
    try:
        r = env.run("tinymta", "-c", CONF, "check")
        check(r.returncode == 0 and err(r) == "", "conf/ passes check", err(r))
        r = env.run("postconf", "-c", CONF, "-n")
        check(out(r) == "", "conf/main.cf sets nothing", out(r))
        defaults = {}
        for line in out(env.run("postconf", "-d")).splitlines():
            name, _, value = line.partition(" =")
            defaults[name] = value.strip()
        with open(os.path.join(CONF, "main.cf")) as f:
            text = f.read()
        shown = dict(re.findall(r"^#([a-zA-Z0-9_]+) =[ ]?(.*)$", text, re.M))
        computed = {"myhostname", "mydomain", "mynetworks", "config_directory"}
        for name, value in defaults.items():
            if name == "config_directory":
                continue
            check(name in shown, f"conf/main.cf shows {name}")
            if name in shown and name not in computed:
                check(shown[name] == value, f"conf/main.cf default of {name}",
                      f"{shown[name]!r} != {value!r}")
        differs = [l.split(" =")[0] for l in out(env.run(
            "postconf", "-dv")).splitlines() if "# differs from Postfix" in l]
        check(set(DESIGN_DIFFERS) <= set(differs), "-dv covers DESIGN.md",
              str(differs))
        for name in differs:
            block = re.search(r"((?:^#.*\n)+?)^#%s =" % name, text, re.M)
            # the comment block above the line (and above a paired line)
            para = text[:text.find("#%s =" % name)].rsplit("\n\n", 1)[-1]
            check("DIFFERS FROM POSTFIX" in para, f"conf/main.cf: {name} differs",
                  block.group(1) if block else "")
        uncommented = re.sub(r"^#([a-zA-Z0-9_]+ =)", r"\1", text, flags=re.M)
        env.write("main.cf", uncommented)
        r = env.run("tinymta", "check")
        check(r.returncode == 0 and err(r) == "",
              "conf/main.cf with every line active passes check", err(r))
    finally:
        env.cleanup()


def test_check_secrets():
    """check warns about secret files others than root and mail_owner
    can read; postconf --json marks no parameter secret (values are file
    names)."""
    env = Env()
    try:
        pw = env.write("sasl_passwd", "[r]:587 u:p\n", mode=0o644)
        env.write("sasl_passwd.cdb", b"", mode=0o600)
        users = env.write("sasl_users", "", mode=0o600)
        key = env.write("key.pem", "", mode=0o600)
        r = env.run("tinymta", "check", "--json")
        doc = json.loads(r.stdout or b"{}")
        warned = [(p["file"], p["parameter"]) for p in doc.get("problems", [])
                  if p["severity"] == "warning"]
        check(r.returncode == 0 and warned == [(pw, "smtp_sasl_password_maps")]
              and "readable by everyone" in out(r),
              "check: a world-readable sasl_passwd is warned", out(r))
        os.chmod(pw, 0o600)
        os.chmod(users, 0o604)
        r = env.run("tinymta", "check")
        check(r.returncode == 0 and "sasl_passwd" not in err(r)
              and f"{users}: tinymta_sasl_users" not in err(r)
              and users in err(r), "check: sasl_users 0604 warned, 0600 not",
              err(r))
        os.chmod(users, 0o600)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(mail_owner())
            os.chown(key, owner.pw_uid, owner.pw_gid)
            os.chmod(key, 0o640)
            r = env.run("tinymta", "check")
            check(err(r) == "", "check: key 0640 mail_owner:its group is fine",
                  err(r))
            os.chown(key, 65534, owner.pw_gid)
            r = env.run("tinymta", "check")
            check(key in err(r) and "owned by uid 65534" in err(r),
                  "check: a key owned by another user is warned", err(r))
            os.chown(key, 0, 65534)
            r = env.run("tinymta", "check")
            check(key in err(r) and "readable by group 65534" in err(r),
                  "check: a key readable by another group is warned", err(r))
        r = env.run("postconf", "--json")
        check(not any(p["secret"] for p in json.loads(r.stdout)["parameters"]),
              "--json: no parameter value is secret")
    finally:
        env.cleanup()


test_defaults_golden()
test_nondefault_golden()
test_names()
test_edit()
test_edit_around_errors()
test_edit_concurrent()
test_json()
test_check()
test_check_secrets()
test_bad_input()
test_config_dir()
test_shipped_conf()
done()
