#!/bin/sh
# make bench: tinymta and a private Postfix instance side by side, same run.
# Needs root (Postfix's private instance) and Debian's postfix (installed
# with "No configuration" by tools/testdeps.sh). Prints one row per figure.
set -eu
cd "$(dirname "$0")/.."
tools/testdeps.sh
exec python3 tools/bench.py "$@"
