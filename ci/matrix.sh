#!/usr/bin/env bash
# The database matrix: runs every package's tests, grouped by backend, and
# prints one table backend × passed / failed / skipped.
#
#   <dialect>   the packages under backends/<dialect>/, one row for every
#               dialect directory there (memory, sqlite, postgres, mysql and
#               any dialect added since: each runs the conformance suite)
#   core        every other package (contract, engine, conformance helpers,
#               backends.Open, …)
#
# The server backends read PROCREG_POSTGRES_DSN / PROCREG_MYSQL_DSN (see
# internal/testdb), a dialect added since its PROCREG_<NAME>_DSN (defaulted
# by its backends/<dialect>/ci.env); without them and without Docker their
# tests skip.
# The logs (`go test -json`) are summarized by ci/tally (standard library
# Go, so a fresh machine needs nothing but the toolchain): counts of leaf
# tests (a test with subtests counts through its subtests), where a package
# that fails to build or panics outside a test counts as one failure; the
# output of failed tests; each distinct skip reason. The very last line is
# the plain total "matrix: N passed, N failed, N skipped".
#
# Exit status: ci/tally's: non-zero when anything failed, and when anything
# was skipped or a backend had no packages while CI=true.
#
# Environment: MATRIX_BACKENDS (default "core" and every dialect directory),
# MATRIX_PARALLEL (go test -parallel, default 8: the server backends' tests
# mostly wait on database creation, not on the CPU), GO (default go). Extra
# arguments go to `go test` (e.g. -race, -run X).
set -uo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"

# Where a DSN is unset but the matching local service answers on its standard
# port (as on this project's machines), use it, so the README's one test
# command covers every backend. An explicit DSN always wins; with neither,
# internal/testdb tries Docker, then skips (a failure under CI=true).
if [ -z "${PROCREG_POSTGRES_DSN:-}" ] && command -v pg_isready >/dev/null 2>&1 &&
	pg_isready -q -h 127.0.0.1 -p 5432; then
	export PROCREG_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
	echo "matrix: PROCREG_POSTGRES_DSN unset; using the local PostgreSQL at 127.0.0.1:5432" >&2
fi
if [ -z "${PROCREG_MYSQL_DSN:-}" ] && command -v mysqladmin >/dev/null 2>&1 &&
	mysqladmin --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root status >/dev/null 2>&1; then
	export PROCREG_MYSQL_DSN='mysql://root@127.0.0.1:3306/test'
	echo "matrix: PROCREG_MYSQL_DSN unset; using the local MySQL/MariaDB at 127.0.0.1:3306" >&2
fi
# The Galera tests (backends/mariadb) read PROCREG_MARIADB_GALERA_DSNS, the
# nodes of a cluster; .ci/run starts one (ci/galera.sh) and exports it.
# Unset, a cluster ci/galera.sh reports healthy is used.
if [ -z "${PROCREG_MARIADB_GALERA_DSNS:-}" ] && bash ci/galera.sh status >/dev/null 2>&1; then
	PROCREG_MARIADB_GALERA_DSNS="$(bash ci/galera.sh dsns)"
	export PROCREG_MARIADB_GALERA_DSNS
	echo "matrix: PROCREG_MARIADB_GALERA_DSNS unset; using the running ci/galera.sh cluster" >&2
fi
# A dialect written by `procreg dialect new` from a server dialect carries
# backends/<dialect>/ci.env, a shell fragment that defaults its own
# PROCREG_<NAME>_DSN (to the base server's, until CI has a server of that
# kind; see docs/dialects.md). It runs here, after the defaults above.
for env_file in backends/*/ci.env; do
	[ -f "$env_file" ] || continue
	# shellcheck disable=SC1090 # the dialect's own fragment
	. "$env_file"
done
module="$($GO list -m)" || exit 1
all_pkgs="$($GO list ./...)" || exit 1
# Every directory under backends/ is a dialect's package (its conformance
# run is one row); a new dialect joins the matrix by existing.
dialects="$(sed -n "s|^${module}/backends/\([a-z][a-z0-9]*\)\$|\1|p" <<<"$all_pkgs" | sort | tr '\n' ' ')"
dialect_re="$(tr ' ' '|' <<<"${dialects% }")"

backends="${MATRIX_BACKENDS:-core $dialects}"
parallel="${MATRIX_PARALLEL:-8}"
logdir="$(mktemp -d "${TMPDIR:-/tmp}/procreg-matrix.XXXXXX")"

packages_for() {
	case "$1" in
	core) grep -Ev "^${module}/backends/(${dialect_re})(/|\$)" <<<"$all_pkgs" ;;
	*) grep -E "^${module}/backends/$1(/|\$)" <<<"$all_pkgs" ;;
	esac
}

args=()
for b in $backends; do
	pkgs="$(packages_for "$b")"
	if [ -z "$pkgs" ]; then
		args+=("$b=")
		continue
	fi
	echo "matrix: testing $b" >&2
	started=$SECONDS
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	$GO test -json -count=1 -timeout 30m -parallel "$parallel" "$@" $pkgs >"$logdir/$b.json" 2>"$logdir/$b.stderr"
	rc=$?
	echo "matrix: $b took $((SECONDS - started))s (go test exit status $rc)" >&2
	cat "$logdir/$b.stderr" >&2
	args+=("$b=$logdir/$b.json:$rc")
done

echo "matrix: logs in $logdir" >&2
# ci/tally prints the failures, skip reasons and the table, ends with the
# plain line "matrix: N passed, N failed, N skipped", and sets the status.
# Built rather than `go run`, which would print "exit status 1" after that
# line.
$GO build -o "$logdir/tally" ./ci/tally || exit 1
exec "$logdir/tally" "${args[@]}"
