#!/usr/bin/env bash
# The database matrix: runs every package's tests, grouped by backend, and
# prints one table backend × passed / failed / skipped.
#
#   memory, sqlite, postgres, mysql  the packages under backends/<name>/
#                                    (each runs the conformance suite)
#   core                             every other package (contract, engine,
#                                    conformance helpers, backends.Open, …)
#
# The server backends read PROCREG_POSTGRES_DSN / PROCREG_MYSQL_DSN (see
# internal/testdb); without them and without Docker their tests skip.
# Counts are of leaf tests (a test with subtests counts through its
# subtests), from `go test -json`; a package that fails to build or panics
# outside a test counts as one failure.
#
# Exit status: non-zero when anything failed, and when anything was skipped
# while CI=true.
#
# Environment: MATRIX_BACKENDS (default "core memory sqlite postgres mysql"),
# MATRIX_PARALLEL (go test -parallel, default 8: the server backends' tests
# mostly wait on database creation, not on the CPU), GO (default go). Extra
# arguments go to `go test` (e.g. -race, -run X).
set -uo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
backends="${MATRIX_BACKENDS:-core memory sqlite postgres mysql}"
parallel="${MATRIX_PARALLEL:-8}"
logdir="$(mktemp -d "${TMPDIR:-/tmp}/procreg-matrix.XXXXXX")"

module="$($GO list -m)" || exit 1
all_pkgs="$($GO list ./...)" || exit 1

packages_for() {
	case "$1" in
	core) grep -Ev "^${module}/backends/(memory|sqlite|postgres|mysql)(/|\$)" <<<"$all_pkgs" ;;
	*) grep -E "^${module}/backends/$1(/|\$)" <<<"$all_pkgs" ;;
	esac
}

# tally reads `go test -json` and prints "passed failed skipped".
tally() {
	jq -rs -f ci/tally.jq
}

# report prints what a reader needs from a `go test -json` log: the output of
# every failed test, package-level and build failures, and each distinct
# skip reason once.
report() {
	jq -rs -f ci/report.jq | sed '/^$/d'
}

status=0
rows=()
for b in $backends; do
	pkgs="$(packages_for "$b")"
	if [ -z "$pkgs" ]; then
		rows+=("$b - - - no-packages")
		if [ "${CI:-}" = "true" ]; then status=1; fi
		continue
	fi
	echo "=== matrix: $b" >&2
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	$GO test -json -count=1 -timeout 30m -parallel "$parallel" "$@" $pkgs >"$logdir/$b.json" 2>"$logdir/$b.stderr"
	rc=$?
	report <"$logdir/$b.json" >&2
	cat "$logdir/$b.stderr" >&2
	read -r passed failed skipped < <(tally <"$logdir/$b.json")
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1 # go test failed without a failing test in its log (e.g. vet or a bad flag)
	fi
	rows+=("$b $passed $failed $skipped")
	if [ "$failed" -gt 0 ]; then status=1; fi
	if [ "$skipped" -gt 0 ] && [ "${CI:-}" = "true" ]; then status=1; fi
done

printf '\n%-10s %8s %8s %8s\n' backend passed failed skipped
for r in "${rows[@]}"; do
	read -r b passed failed skipped note <<<"$r"
	printf '%-10s %8s %8s %8s %s\n' "$b" "$passed" "$failed" "$skipped" "${note:-}"
done
echo "logs: $logdir"
if [ "$status" -ne 0 ]; then
	if [ "${CI:-}" = "true" ]; then
		echo "matrix: FAILED (CI=true: skipped tests count as failures)" >&2
	else
		echo "matrix: FAILED" >&2
	fi
fi
exit "$status"
