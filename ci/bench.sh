#!/usr/bin/env bash
# procreg bench on every backend (make bench-floor), and River beside
# procreg's lifecycle on the same PostgreSQL (make bench-river).
#
#   bash ci/bench.sh floor   procreg bench on sqlite (a file in a temporary
#                            directory), postgres, mysql, mariadb and memory,
#                            then `procreg bench table` of the results:
#                            the Markdown of docs/performance.md
#   bash ci/bench.sh river   procreg bench --ops lifecycle, then the River
#                            program of bench/river, on the PostgreSQL server
#
# The server DSNs are found as ci/matrix.sh finds them: PROCREG_POSTGRES_DSN,
# PROCREG_MYSQL_DSN and PROCREG_MARIADB_DSN, else the local services on their
# standard ports. They are administrative DSNs: the bench works in databases
# of its own on those servers, dropped and created afresh at the start of
# each run (procreg_bench_postgres, procreg_bench_mysql,
# procreg_bench_mariadb; River's program creates procreg_river_bench), never
# in the database the DSN names. A backend whose server cannot be found is
# skipped, and said so.
#
# Environment: BENCH_FLAGS (extra procreg bench flags, e.g. "--duration 10s
# --workers 32"), BENCH_OUT (where the JSON results and table.md go; default
# a new temporary directory), RIVER_DURATION (default 10s), RIVER_FLAGS
# (extra flags of the River program), GO (default go).
set -uo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
mode="${1:-}"
case "$mode" in
floor | river) ;;
*)
	echo "usage: bash ci/bench.sh floor|river" >&2
	exit 2
	;;
esac

if [ -z "${PROCREG_POSTGRES_DSN:-}" ] && command -v pg_isready >/dev/null 2>&1 &&
	pg_isready -q -h 127.0.0.1 -p 5432; then
	export PROCREG_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
fi
if [ -z "${PROCREG_MYSQL_DSN:-}" ] && command -v mysqladmin >/dev/null 2>&1 &&
	mysqladmin --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root status >/dev/null 2>&1; then
	export PROCREG_MYSQL_DSN='mysql://root@127.0.0.1:3306/test'
fi
if [ -z "${PROCREG_MARIADB_DSN:-}" ] && command -v mariadb >/dev/null 2>&1 &&
	mariadb --no-defaults --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root -N -B -e 'SELECT VERSION()' 2>/dev/null | grep -q MariaDB; then
	export PROCREG_MARIADB_DSN='mariadb://root@127.0.0.1:3306/test'
fi

out="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/procreg-bench.XXXXXX")}"
mkdir -p "$out"
bin="$out/procreg"
$GO build -o "$bin" ./cmd/procreg || exit 1

# with_database DSN NAME: DSN with its database (the URL path) replaced by
# NAME.
with_database() {
	sed -E "s#^([a-z]+://[^/]*)/[^?]*#\1/$2#" <<<"$1"
}

# fresh_postgres ADMIN-DSN NAME: drop and create database NAME.
fresh_postgres() {
	command -v psql >/dev/null 2>&1 || { echo "bench: psql is needed to create $2" >&2; return 1; }
	psql "$1" -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" >&2
}

# fresh_mysql ADMIN-DSN NAME: drop and create database NAME (the DSN in
# URL form, scheme mysql:// or mariadb://).
fresh_mysql() {
	local re='^[a-z]+://([^:@/]*)(:([^@/]*))?@([^:/?]*)(:([0-9]+))?(/.*)?$'
	[[ "$1" =~ $re ]] || { echo "bench: cannot read host and user from the DSN for $2" >&2; return 1; }
	local user="${BASH_REMATCH[1]}" pass="${BASH_REMATCH[3]}" host="${BASH_REMATCH[4]}" port="${BASH_REMATCH[6]:-3306}"
	local client
	client="$(command -v mariadb || command -v mysql)" || { echo "bench: the mariadb or mysql client is needed to create $2" >&2; return 1; }
	MYSQL_PWD="$pass" "$client" --no-defaults -h "$host" -P "$port" -u "$user" \
		-e "DROP DATABASE IF EXISTS $2; CREATE DATABASE $2" >&2
}

# run_bench NAME DSN FLAGS...: procreg bench -o json into $out/NAME.json
# (progress on stderr).
run_bench() {
	local name="$1" dsn="$2"
	shift 2
	echo "bench: $name" >&2
	# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
	"$bin" bench --dsn "$dsn" -o json "$@" ${BENCH_FLAGS:-} >"$out/$name.json"
}

load_before="$(sed -n 's/.*load average: //p' <<<"$(uptime)")"
echo "bench: load average before: $load_before" >&2
results=()
case "$mode" in
floor)
	run_bench sqlite "sqlite:$out/bench.db" && results+=("$out/sqlite.json")
	if [ -n "${PROCREG_POSTGRES_DSN:-}" ]; then
		dsn="$(with_database "$PROCREG_POSTGRES_DSN" procreg_bench_postgres)"
		fresh_postgres "$PROCREG_POSTGRES_DSN" procreg_bench_postgres && run_bench postgres "$dsn" && results+=("$out/postgres.json")
	else
		echo "bench: no PostgreSQL (PROCREG_POSTGRES_DSN unset, none on 127.0.0.1:5432); skipping postgres" >&2
	fi
	for d in mysql mariadb; do
		var="PROCREG_$(tr '[:lower:]' '[:upper:]' <<<"$d")_DSN"
		if [ -n "${!var:-}" ]; then
			dsn="$(with_database "${!var}" "procreg_bench_$d")"
			fresh_mysql "${!var}" "procreg_bench_$d" && run_bench "$d" "$dsn" && results+=("$out/$d.json")
		else
			echo "bench: no server for $d ($var unset, none on 127.0.0.1:3306); skipping $d" >&2
		fi
	done
	run_bench memory "memory:" && results+=("$out/memory.json")
	;;
river)
	if [ -z "${PROCREG_POSTGRES_DSN:-}" ]; then
		echo "bench: no PostgreSQL (PROCREG_POSTGRES_DSN unset, none on 127.0.0.1:5432)" >&2
		exit 1
	fi
	dsn="$(with_database "$PROCREG_POSTGRES_DSN" procreg_bench_postgres)"
	fresh_postgres "$PROCREG_POSTGRES_DSN" procreg_bench_postgres &&
		run_bench postgres "$dsn" --ops lifecycle && results+=("$out/postgres.json")
	echo "bench: River (bench/river) on the same server" >&2
	# shellcheck disable=SC2086 # RIVER_FLAGS is a list of flags
	(cd bench/river && $GO run . --dsn "$PROCREG_POSTGRES_DSN" --duration "${RIVER_DURATION:-10s}" ${RIVER_FLAGS:-}) >"$out/river.txt" ||
		{ echo "bench: the River program failed" >&2; cat "$out/river.txt" >&2; exit 1; }
	;;
esac
load_after="$(sed -n 's/.*load average: //p' <<<"$(uptime)")"
echo "bench: load average after: $load_after" >&2

[ "${#results[@]}" -gt 0 ] || { echo "bench: no backend ran" >&2; exit 1; }
"$bin" bench table "${results[@]}" >"$out/table.md" || exit 1
cat "$out/table.md"
if [ "$mode" = river ]; then
	echo
	cat "$out/river.txt"
	life="$(sed -n 's/^| lifecycle | \([0-9,]*\)\/s.*/\1/p' "$out/table.md" | tr -d ,)"
	river="$(sed -n 's/^river bench: \([0-9]*\) jobs\/s.*/\1/p' "$out/river.txt")"
	awk -v a="${life:-0}" -v b="${river:-0}" 'BEGIN { if (a > 0 && b > 0) printf "\nprocreg lifecycles/s over River jobs/s: %d / %d = %.3f×\n", a, b, a / b }'
fi
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores; \`uptime\` load average (1, 5, 15 min) before: $load_before; after: $load_after."
echo "bench: results in $out" >&2
