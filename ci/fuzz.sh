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
#
# One failure is not a finding: Go 1.26's fuzzing coordinator can report a
# bare "context deadline exceeded" when -fuzztime ends while a worker is
# mid-input on a busy machine (golang/go#75804, fixed in Go 1.27). A run
# that fails with that line, no "Failing input written to" line and no
# other failure output is run once more; a second such failure, or any
# other failure, counts.
set -uo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
fuzztime="${FUZZTIME:-30s}"
parallel="${FUZZPARALLEL:-1}"
only="${FUZZ_RUN:-.}"

# deadline_race LOG: the failure in LOG is only the coordinator's
# end-of-fuzztime race: "context deadline exceeded", and no input written,
# no panic, no test failure of its own.
deadline_race() {
	grep -q '^    context deadline exceeded$' "$1" &&
		! grep -q -e 'Failing input written to' -e '^panic:' -e '_test\.go:[0-9]*:' "$1"
}

failed=()
n=0
start=$SECONDS
while read -r pkg dir; do
	for target in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' | sort -u); do
		[[ "$target" =~ $only ]] || continue
		n=$((n + 1))
		echo "fuzz: $pkg $target ($fuzztime)"
		for attempt in 1 2; do
			log="$(mktemp)"
			"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel "$parallel" "$pkg" 2>&1 | tee "$log"
			status=${PIPESTATUS[0]}
			if [ "$status" -eq 0 ]; then
				rm -f "$log"
				break
			fi
			if [ "$attempt" -eq 1 ] && deadline_race "$log"; then
				echo "fuzz: $target: the fuzzing coordinator's deadline race (golang/go#75804), no input found; running it once more"
				rm -f "$log"
				continue
			fi
			rm -f "$log"
			failed+=("$pkg $target")
			break
		done
	done
done < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' ./...)

echo "fuzz: $n targets, ${#failed[@]} failed, $((SECONDS - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
	exit 1
fi
