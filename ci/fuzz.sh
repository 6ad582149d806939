#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one at a time (go test -fuzz
# takes one package and one target per run), for FUZZTIME each.
#
#   FUZZTIME      per target (default 30s); `make fuzz-ci` uses 10s
#   FUZZPARALLEL  go test -parallel, the number of fuzzing workers
#                 (default 1: fuzzing is CPU-hungry and shares the machine)
#   FUZZ_RUN      only the targets whose name matches this regexp
#   GO            the go command (default go)
#
# A target that fails leaves its input in the package's
# testdata/fuzz/<target>/ (commit it with the fix: it is then a regression
# case that every plain `go test` runs). The script runs every target even
# after a failure, lists the failures at the end and exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
fuzztime="${FUZZTIME:-30s}"
parallel="${FUZZPARALLEL:-1}"
only="${FUZZ_RUN:-.}"

failed=()
n=0
start=$SECONDS
while read -r pkg dir; do
	for target in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' | sort -u); do
		[[ "$target" =~ $only ]] || continue
		n=$((n + 1))
		echo "fuzz: $pkg $target ($fuzztime)"
		if ! "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel "$parallel" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' ./...)

echo "fuzz: $n targets, ${#failed[@]} failed, $((SECONDS - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
	exit 1
fi
