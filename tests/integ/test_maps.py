"""test_maps - postmap, postalias and newaliases end to end through the
real binary: the Postfix tutorial's virtual table, queries and their exit
codes, atomic rebuilds (a broken source keeps the old .cdb), modes,
alias_database from main.cf, and corrupt tables."""
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmlib  # noqa: E402
from tmlib import check  # noqa: E402

TUTORIAL_VIRTUAL = """\
postmaster@example.com postmaster
info@example.com       joe
sales@example.com      jane
# Uncomment entry below to implement a catch-all address
# @example.com         jim
"""

ALIASES = """\
# /etc/aliases
postmaster: root
MAILER-DAEMON: postmaster
root: admin,
  "|/usr/bin/logger -t mail"
list: :include:/etc/tinymta/list
"""


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


def tmp_files(env):
    return [n for n in os.listdir(env.conf) if ".tmp." in n]


def test_tutorial(env):
    """`postmap virtual` then `postmap -q info@example.com virtual`, run in
    the configuration directory exactly as the tutorial writes them."""
    env.write("virtual", TUTORIAL_VIRTUAL)
    cwd = os.getcwd()
    os.chdir(env.conf)
    try:
        r = env.run("postmap", "virtual")
        check(r.returncode == 0, "postmap virtual", err(r))
        check(os.path.exists("virtual.cdb"), "virtual.cdb created")
        r = env.run("postmap", "-q", "info@example.com", "virtual")
        check(r.returncode == 0 and out(r) == "joe\n",
              "postmap -q info@example.com virtual", f"{r.returncode} {out(r)!r}")
        r = env.run("postmap", "-q", "INFO@Example.COM", "virtual")
        check(r.returncode == 0 and out(r) == "joe\n", "keys are case-folded")
        r = env.run("postmap", "-q", "nobody@example.com", "virtual")
        check(r.returncode == 1 and out(r) == "", "not found: exit 1",
              f"{r.returncode} {out(r)!r}")
        r = env.run("postmap", "-q", "@example.com", "virtual")
        check(r.returncode == 1, "commented-out catch-all is absent")
        r = env.run("tinymta", "postmap", "-q", "sales@example.com", "virtual")
        check(r.returncode == 0 and out(r) == "jane\n", "tinymta postmap …")
    finally:
        os.chdir(cwd)


def test_prefixes_and_dump(env):
    src = env.write("transport", "example.com smtp:[relay.example]\n"
                    "Example.NET  local\n")
    for spec in (src, "cdb:" + src, "hash:" + src):
        r = env.run("postmap", spec)
        check(r.returncode == 0, f"postmap {spec}", err(r))
        r = env.run("postmap", "-q", "example.net", spec)
        check(r.returncode == 0 and out(r) == "local\n", f"-q via {spec}",
              out(r))
    r = env.run("postmap", "-s", src)
    check(r.returncode == 0 and sorted(out(r).splitlines()) ==
          ["example.com\tsmtp:[relay.example]", "example.net\tlocal"],
          "postmap -s", out(r))
    r = env.run("postmap", "-q", "-", src, input="example.com\nnone\nEXAMPLE.NET\n")
    check(r.returncode == 0 and out(r) ==
          "example.com\tsmtp:[relay.example]\nEXAMPLE.NET\tlocal\n",
          "postmap -q -", out(r))
    r = env.run("postmap", "-q", "-", src, input="none\n")
    check(r.returncode == 1 and out(r) == "", "postmap -q - nothing found")


def test_search_order_and_fold(env):
    a = env.write("a", "k from-a\n")
    b = env.write("b", "k from-b\nonly-b yes\n")
    env.run("postmap", a, b)
    r = env.run("postmap", "-q", "k", a, b)
    check(out(r) == "from-a\n", "first table wins", out(r))
    r = env.run("postmap", "-q", "only-b", a, b)
    check(r.returncode == 0 and out(r) == "yes\n", "second table searched")
    exact = env.write("exact", "Key upper\n")
    r = env.run("postmap", "-f", exact)
    check(r.returncode == 0, "postmap -f")
    r = env.run("postmap", "-f", "-q", "Key", exact)
    check(r.returncode == 0 and out(r) == "upper\n", "-f lookup exact case")
    r = env.run("postmap", "-f", "-q", "key", exact)
    check(r.returncode == 1, "-f lookup is case-sensitive")


def test_postalias_atomic(env):
    src = env.write("aliases", ALIASES)
    r = env.run("postalias", src)
    check(r.returncode == 0, "postalias", err(r))
    r = env.run("postalias", "-q", "root", src)
    check(r.returncode == 0 and out(r) == 'admin, "|/usr/bin/logger -t mail"\n',
          "postalias -q root", out(r))
    r = env.run("postalias", "-q", "mailer-daemon", "cdb:" + src)
    check(r.returncode == 0 and out(r) == "postmaster\n", "postalias folds")
    r = env.run("postalias", "-s", src)
    check(r.returncode == 0 and "postmaster: root\n" in out(r),
          "postalias -s", out(r))
    before = os.stat(src + ".cdb")
    broken = "ok: a\nroot: admin\n\n# x\n\nmore: b\nroot admin\n"
    env.write("aliases", broken)
    r = env.run("postalias", src)
    want = f"postalias: fatal: {src}, line 7: missing ':' after alias name"
    check(r.returncode == 65 and want in err(r), "broken source: 65 + line",
          f"{r.returncode} {err(r)!r}")
    after = os.stat(src + ".cdb")
    check(before.st_ino == after.st_ino, "old aliases.cdb untouched")
    r = env.run("postalias", "-q", "root", src)
    check(out(r).startswith("admin, "), "old content still served", out(r))
    check(tmp_files(env) == [], "no temporary file left", str(tmp_files(env)))
    env.write("aliases", "x: a\nx: b\n")
    r = env.run("postalias", src)
    check(r.returncode == 0 and "duplicate entry" in err(r),
          "duplicate: a warning", err(r))


def test_newaliases(env):
    env.write("aliases", ALIASES)
    r = env.run("newaliases")
    check(r.returncode == 0, "newaliases (default alias_database)", err(r))
    check(os.path.exists(os.path.join(env.conf, "aliases.cdb")),
          "aliases.cdb built in the configuration directory")
    r = env.run("postalias", "-q", "postmaster")
    check(r.returncode == 0 and out(r) == "root\n",
          "postalias -q without a file uses alias_maps", f"{r.returncode} {err(r)}")
    r = env.run("tinymta", "newaliases")
    check(r.returncode == 0, "tinymta newaliases")
    r = env.run("newaliases", "extra")
    check(r.returncode == 64, "newaliases with an operand: 64")


def test_newaliases_configured():
    env = tmlib.Env()
    try:
        one = os.path.join(env.conf, "one")
        two = os.path.join(env.conf, "two")
        env.write("main.cf", open(os.path.join(env.conf, "main.cf")).read()
                  + f"alias_database = cdb:{one}, hash:{two}\n")
        env.write("one", "a: b\n")
        env.write("two", "c: d\n")
        r = env.run("newaliases")
        check(r.returncode == 0 and os.path.exists(one + ".cdb")
              and os.path.exists(two + ".cdb"), "every alias_database built",
              err(r))
        env.write("two", "c d\n")
        r = env.run("newaliases")
        check(r.returncode == 65 and f"{two}, line 1" in err(r),
              "newaliases: broken second table", err(r))
        env.write("main.cf", open(os.path.join(env.conf, "main.cf")).read()
                  + "alias_database = lmdb:/x\n")
        r = env.run("newaliases")
        check(r.returncode == 78, "unsupported map type: 78",
              f"{r.returncode} {err(r)}")
    finally:
        env.cleanup()


def test_modes(env):
    secret = env.write("sasl_passwd", "[relay.example]:587 user:secret\n",
                       mode=0o600)
    r = env.run("postmap", secret)
    mode = stat.S_IMODE(os.stat(secret + ".cdb").st_mode)
    check(r.returncode == 0 and mode == 0o600, "secret map stays 0600",
          oct(mode))
    public = env.write("virtual", TUTORIAL_VIRTUAL, mode=0o644)
    env.run("postmap", public)
    mode = stat.S_IMODE(os.stat(public + ".cdb").st_mode)
    check(mode == 0o644, "virtual.cdb 0644", oct(mode))
    if os.geteuid() == 0:
        owned = env.write("owned", "a b\n")
        os.chown(owned, 65534, 65534)
        env.run("postmap", owned)
        st = os.stat(owned + ".cdb")
        check(st.st_uid == 65534 and st.st_gid == 65534,
              "as root: the .cdb gets the source's owner")


def test_errors(env):
    r = env.run("postmap", os.path.join(env.conf, "missing"))
    check(r.returncode == 66 and "postmap: fatal: open " in err(r),
          "missing source: 66", f"{r.returncode} {err(r)}")
    r = env.run("postmap", "-q", "k", os.path.join(env.conf, "missing"))
    check(r.returncode == 66, "missing map for -q: 66", str(r.returncode))
    r = env.run("postmap")
    check(r.returncode == 64, "no operand: 64")
    r = env.run("postmap", "-X", "x")
    check(r.returncode == 64, "unknown flag: 64")
    r = env.run("postmap", "-q")
    check(r.returncode == 64, "-q without a key: 64")
    r = env.run("postmap", "--help")
    check(r.returncode == 0 and "65" in out(r) and "66" in out(r),
          "--help documents exit codes", out(r))
    r = env.run("postmap", "btree:/x")
    check(r.returncode == 78, "unsupported map type: 78", str(r.returncode))
    bad = env.write("bad", "key-without-value\n")
    r = env.run("postmap", bad)
    check(r.returncode == 65 and f"{bad}, line 1: missing value" in err(r),
          "postmap syntax error", err(r))
    check(not os.path.exists(bad + ".cdb"), "no .cdb from a broken source")
    env.write("nul", b"a b\nc\0d e\n")
    r = env.run("postmap", os.path.join(env.conf, "nul"))
    check(r.returncode == 65 and "line 2: NUL" in err(r), "NUL byte", err(r))


def test_corrupt(env):
    src = env.write("virtual", TUTORIAL_VIRTUAL)
    env.run("postmap", src)
    data = open(src + ".cdb", "rb").read()
    for name, blob in (("truncated", data[:len(data) // 2]),
                       ("short", data[:100]),
                       ("garbage", bytes((i * 37 + 11) % 256
                                         for i in range(4096))),
                       ("tables-only", data[:2048] + b"\xff" * 64)):
        with open(src + ".cdb", "wb") as f:
            f.write(blob)
        r = env.run("postmap", "-q", "info@example.com", src)
        check(r.returncode in (1, 65), f"corrupt .cdb ({name}): clean exit",
              f"{r.returncode} {err(r)}")
        r = env.run("postmap", "-s", src)
        check(r.returncode in (0, 65), f"corrupt .cdb ({name}): -s",
              f"{r.returncode} {err(r)}")


def main():
    for t in (test_tutorial, test_prefixes_and_dump, test_search_order_and_fold,
              test_postalias_atomic, test_newaliases, test_modes, test_errors,
              test_corrupt):
        env = tmlib.Env()
        try:
            t(env)
        finally:
            env.cleanup()
    test_newaliases_configured()
    tmlib.done()


if __name__ == "__main__":
    main()
