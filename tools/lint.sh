#!/bin/sh
# make lint: clang-format check, cppcheck, banned functions. Exit 1 on any.
set -u
cd "$(dirname "$0")/.." || exit 1
rc=0
FILES=$(ls src/*.[ch] src/util/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c tools/*.c 2>/dev/null)
for f in $FILES; do
	if ! clang-format --style=file "$f" | cmp -s - "$f"; then
		echo "lint: $f is not clang-formatted (run make format)"
		rc=1
	fi
done
if ! cppcheck --quiet --enable=warning,portability,performance --error-exitcode=1 \
	--inline-suppr --std=c11 -D__GNUC__ -Isrc --suppress=missingIncludeSystem \
	src 2>&1; then
	echo "lint: cppcheck found problems"
	rc=1
fi
# Banned: unbounded copies, unchecked conversions, alloca; VLAs via -Wvla.
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|alloca)[[:space:]]*\(' \
	src/*.c src/util/*.c; then
	echo "lint: banned function used (see STYLE.md 3.5)"
	rc=1
fi
[ $rc = 0 ] && echo "lint: clean"
exit $rc
