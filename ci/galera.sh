#!/usr/bin/env bash
# A throwaway 3-node MariaDB Galera cluster on this one machine, loopback only,
# for the test matrix (registries connected to different nodes of one cluster).
#
#   ci/galera.sh start    start it (idempotent), wait until every node is
#                         ready, Synced and sees 3 members; print the start time
#   ci/galera.sh stop     stop the three nodes and remove the state dir
#   ci/galera.sh status   one line per node; exit 0 only if the cluster is healthy
#   ci/galera.sh dsns     the three DSNs, space-separated, e.g.
#                         mysql://root@127.0.0.1:3311/test
#
# It never touches the machine's own MariaDB (127.0.0.1:3306, /var/lib/mysql,
# /run/mysqld): every node reads only its own option file (--defaults-file),
# with its own datadir, socket, pid file, log and ports under GALERA_DIR.
# Needs root (each mariadbd runs as user mysql: rsync SST fails on root-owned
# files). Installs galera-4 and rsync (and iproute2, procps, mariadb-server,
# mariadb-client) with apt-get when they are missing.
#
# Environment:
#   GALERA_DIR            state dir (default /tmp/procreg-galera)
#   GALERA_SQL_PORT       node 1's SQL port; nodes 2, 3 use +1, +2 (default 3311)
#   GALERA_BASE_PORT      node 1's group-communication port; nodes 2, 3 use
#                         +1, +2; IST ports are +10.., SST ports +20.. (default 4561)
#   GALERA_WAIT_SECONDS   bound on each wait (default 120)
# See docs/galera.md for why each setting is there.
set -euo pipefail

dir="${GALERA_DIR:-/tmp/procreg-galera}"
sql_port="${GALERA_SQL_PORT:-3311}"
base_port="${GALERA_BASE_PORT:-4561}"
wait_seconds="${GALERA_WAIT_SECONDS:-120}"
nodes=(1 2 3)

say() { echo "galera: $*" >&2; }
die() { say "$*"; exit 1; }

sqlp() { echo $((sql_port + $1 - 1)); }     # SQL port of node $1
gcp() { echo $((base_port + $1 - 1)); }     # gmcast (group communication) port
istp() { echo $((base_port + 10 + $1 - 1)); } # incremental state transfer port
sstp() { echo $((base_port + 20 + $1 - 1)); } # rsync state snapshot transfer port
ndir() { echo "$dir/node$1"; }

dsns() {
	local out=() n
	for n in "${nodes[@]}"; do out+=("mysql://root@127.0.0.1:$(sqlp "$n")/test"); done
	echo "${out[*]}"
}

# --- processes ---------------------------------------------------------------

# The pid of node $1's mariadbd if it runs (checked against its command line,
# so a recycled pid is never taken for ours).
node_pid() {
	local pf pid
	pf="$(ndir "$1")/mysqld.pid"
	[ -s "$pf" ] || return 1
	pid="$(cat "$pf" 2>/dev/null)" || return 1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--defaults-file=$(ndir "$1")/my.cnf" || return 1
	echo "$pid"
}

# The first pid written by our launcher (mariadbd writes its pid file only
# once it has got past SST, so a joiner in SST is found through this one).
launch_pid() {
	local pf pid
	pf="$(ndir "$1")/launch.pid"
	[ -s "$pf" ] || return 1
	pid="$(cat "$pf")"
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--defaults-file=$(ndir "$1")/my.cnf" || return 1
	echo "$pid"
}

any_pid() { node_pid "$1" || launch_pid "$1"; }

# --- queries -----------------------------------------------------------------

# SQL on node $1 through its socket (root's unix_socket login; works before the
# TCP account exists).
sock_sql() {
	local n="$1"
	shift
	mariadb --no-defaults --connect-timeout=2 -S "$(ndir "$n")/mysqld.sock" -uroot -N -B -e "$*"
}

# SQL on node $1 over TCP, as the tests connect.
tcp_sql() {
	local n="$1"
	shift
	mariadb --no-defaults --connect-timeout=2 -h 127.0.0.1 -P "$(sqlp "$n")" -uroot -N -B -e "$*"
}

# "ready state size" of node $1, e.g. "ON Synced 3"; fails when unreachable.
wsrep_state() {
	local out ready state size
	out="$(sock_sql "$1" "SHOW GLOBAL STATUS WHERE Variable_name IN
		('wsrep_ready','wsrep_local_state_comment','wsrep_cluster_size')" 2>/dev/null)" || return 1
	ready="$(awk '$1=="wsrep_ready"{print $2}' <<<"$out")"
	state="$(awk '$1=="wsrep_local_state_comment"{print $2}' <<<"$out")"
	size="$(awk '$1=="wsrep_cluster_size"{print $2}' <<<"$out")"
	echo "${ready:-?} ${state:-?} ${size:-?}"
}

# Node $1 is ready, Synced and sees $2 members.
node_ok() { [ "$(wsrep_state "$1")" = "ON Synced $2" ]; }

healthy() {
	local n
	for n in "${nodes[@]}"; do
		node_pid "$n" >/dev/null && node_ok "$n" 3 || return 1
	done
}

log_tails() {
	local n
	for n in "${nodes[@]}"; do
		[ -f "$(ndir "$n")/error.log" ] || continue
		echo "----- node $n: tail of $(ndir "$n")/error.log -----" >&2
		tail -n 40 "$(ndir "$n")/error.log" >&2
	done
}

# Waits (bounded) until node $1 is ready, Synced and sees $2 members.
wait_node() {
	local n="$1" want="$2" deadline=$((SECONDS + wait_seconds))
	until node_ok "$n" "$want"; do
		if ! any_pid "$n" >/dev/null; then
			fail "node $n exited while starting"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "node $n is not ready+Synced with $want members after ${wait_seconds}s (now: $(wsrep_state "$n" || echo unreachable))"
		fi
		sleep 1
	done
}

# --- setup -------------------------------------------------------------------

ensure_packages() {
	local missing=()
	dpkg -L galera-4 2>/dev/null | grep -q 'libgalera_smm\.so$' || missing+=(galera-4)
	command -v rsync >/dev/null || missing+=(rsync)
	command -v ss >/dev/null || missing+=(iproute2) # port checks here and in wsrep_sst_rsync
	command -v ps >/dev/null || missing+=(procps)
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
	command -v mariadb >/dev/null || missing+=(mariadb-client) # sock_sql, tcp_sql
	if [ "${#missing[@]}" -gt 0 ]; then
		say "installing ${missing[*]}"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
	fi
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || die "mariadbd is not installed (mariadb-server)"
}

provider() {
	local p
	p="$(dpkg -L galera-4 | grep 'libgalera_smm\.so$' | head -n 1)"
	[ -n "$p" ] && [ -e "$p" ] || die "libgalera_smm.so not found in galera-4"
	echo "$p"
}

check_ports_free() {
	local n p busy=()
	local listening
	listening="$(ss -Htln | awk '{print $4}')"
	for n in "${nodes[@]}"; do
		for p in "$(sqlp "$n")" "$(gcp "$n")" "$(istp "$n")" "$(sstp "$n")"; do
			if grep -Eq "[:.]$p\$" <<<"$listening"; then busy+=("$p"); fi
		done
	done
	[ "${#busy[@]}" -eq 0 ] || die "ports in use: ${busy[*]} (set GALERA_SQL_PORT / GALERA_BASE_PORT)"
}

write_cnf() {
	local n="$1" prov="$2" d
	d="$(ndir "$n")"
	cat >"$d/my.cnf" <<EOF
# procreg Galera node $n (written by ci/galera.sh; see docs/galera.md)
[mysqld]
user                     = mysql
datadir                  = $d/data
socket                   = $d/mysqld.sock
pid-file                 = $d/mysqld.pid
log-error                = $d/error.log
port                     = $(sqlp "$n")
bind-address             = 127.0.0.1
skip-name-resolve
character-set-server     = utf8mb4
collation-server         = utf8mb4_general_ci

# Galera requirements
binlog_format            = ROW
default_storage_engine   = InnoDB
innodb_autoinc_lock_mode = 2

# small: tests run alongside
innodb_buffer_pool_size  = 64M
innodb_log_file_size     = 48M
innodb_flush_log_at_trx_commit = 2
performance_schema       = OFF
max_connections          = 300

wsrep_on                 = ON
wsrep_provider           = $prov
wsrep_cluster_name       = procreg-galera
wsrep_cluster_address    = gcomm://127.0.0.1:$(gcp 1),127.0.0.1:$(gcp 2),127.0.0.1:$(gcp 3)
wsrep_node_name          = node$n
wsrep_node_address       = 127.0.0.1:$(gcp "$n")
wsrep_node_incoming_address = 127.0.0.1:$(sqlp "$n")
wsrep_provider_options   = "base_port=$(gcp "$n");gmcast.listen_addr=tcp://127.0.0.1:$(gcp "$n");ist.recv_addr=127.0.0.1:$(istp "$n");gcache.size=64M"
wsrep_sst_method         = rsync
wsrep_sst_receive_address = 127.0.0.1:$(sstp "$n")
EOF
}

# Starts node $1's mariadbd in the background, detached from this shell.
launch() {
	local n="$1"
	shift
	local d
	d="$(ndir "$n")"
	# --defaults-file must come first; nothing else (not /etc/mysql) is read.
	# fd 9 (the lock) is closed, or the node would hold it for its lifetime.
	setsid /usr/sbin/mariadbd --defaults-file="$d/my.cnf" "$@" </dev/null >>"$d/stdout.log" 2>&1 9>&- &
	echo $! >"$d/launch.pid"
}

# --- commands ----------------------------------------------------------------

# The processes below pid $1 (SST scripts and their rsync, on donor and joiner).
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# SIGTERM to every node; a node that is still up after 30 s (a donor whose
# joiner vanished mid-SST waits on its SST script) gets its SST helpers
# terminated, then SIGKILL. Prints how many nodes were running.
stop_nodes() {
	local n pid pids=() deadline kids
	for n in 3 2 1; do
		if pid="$(any_pid "$n")"; then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	for pid in "${pids[@]}"; do
		deadline=$((SECONDS + 30))
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
		kill -0 "$pid" 2>/dev/null || continue
		kids="$(descendants "$pid")"
		say "pid $pid still up after 30s; terminating its SST helpers${kids:+ ($(echo $kids))}"
		[ -z "$kids" ] || kill -TERM $kids 2>/dev/null || true
		deadline=$((SECONDS + 10))
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
		if kill -0 "$pid" 2>/dev/null; then
			say "pid $pid did not exit; killing it"
			kids="$(descendants "$pid")"
			kill -KILL "$pid" $kids 2>/dev/null || true
			sleep 1
		fi
	done
	# An rsync daemon left from an interrupted SST would hold an SST port.
	for n in "${nodes[@]}"; do
		local rpf
		rpf="$(ndir "$n")/data/rsync_sst.pid"
		if [ -s "$rpf" ] && pid="$(cat "$rpf")" && [ -r "/proc/$pid/cmdline" ] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$(ndir "$n")"; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	echo "${#pids[@]}"
}

do_stop() {
	local count
	count="$(stop_nodes)"
	rm -rf -- "$dir"
	if [ "$count" -eq 0 ]; then say "not running; state dir removed"; else say "stopped $count node(s); state dir removed"; fi
}

# A failed start stops what it started (the logs were printed; the state dir
# stays for a look until the next start or stop).
fail() {
	log_tails
	say "$*"
	say "stopping the nodes; logs stay in $dir until the next start or stop"
	stop_nodes >/dev/null
	exit 1
}

do_start() {
	local t0=$SECONDS n prov running=0
	[ "$(id -u)" -eq 0 ] || die "must run as root (mariadbd runs as user mysql)"

	for n in "${nodes[@]}"; do any_pid "$n" >/dev/null && running=$((running + 1)); done
	if [ "$running" -gt 0 ]; then
		if healthy; then
			say "already running: 3 nodes, Synced, cluster size 3"
			dsns
			return 0
		fi
		say "found $running node(s) of an unhealthy cluster; stopping them and starting afresh"
		do_stop
	fi

	ensure_packages
	prov="$(provider)"
	check_ports_free
	id mysql >/dev/null 2>&1 || die "no user mysql (is mariadb-server installed?)"

	rm -rf -- "$dir"
	mkdir -p "$dir"
	chmod 755 "$dir"
	for n in "${nodes[@]}"; do
		mkdir -p "$(ndir "$n")/data"
		write_cnf "$n" "$prov"
	done
	chown -R mysql:mysql "$dir"

	# Node 1: fresh system tables, then bootstrap a new cluster.
	say "initializing node 1"
	if ! mariadb-install-db --no-defaults --user=mysql --datadir="$(ndir 1)/data" \
		--skip-test-db --auth-root-authentication-method=socket >"$(ndir 1)/install.log" 2>&1; then
		cat "$(ndir 1)/install.log" >&2
		die "mariadb-install-db failed"
	fi
	say "bootstrapping node 1 (SQL $(sqlp 1), galera $(gcp 1))"
	launch 1 --wsrep-new-cluster
	wait_node 1 1

	# Accounts and the test database on node 1 before the joiners: both reach
	# them by SST. Root over TCP on 127.0.0.1 with no password (skip-name-resolve
	# matches by IP, so 'localhost' does not cover TCP).
	sock_sql 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
		GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
		CREATE DATABASE IF NOT EXISTS test;" || fail "could not create root@127.0.0.1 on node 1"

	# Joiners, one at a time: each starts with an empty datadir and gets the
	# state by rsync SST (a donor serves one SST at a time).
	for n in 2 3; do
		say "joining node $n (SQL $(sqlp "$n"), galera $(gcp "$n"))"
		launch "$n"
		wait_node "$n" "$n"
	done
	for n in "${nodes[@]}"; do wait_node "$n" 3; done

	for n in "${nodes[@]}"; do
		tcp_sql "$n" "SELECT 1" >/dev/null || fail "node $n: root cannot log in over TCP on 127.0.0.1:$(sqlp "$n")"
	done
	say "cluster up in $((SECONDS - t0))s: 3 nodes Synced, cluster size 3"
	dsns
}

do_status() {
	local n pid st rc=0
	for n in "${nodes[@]}"; do
		if pid="$(node_pid "$n")"; then
			st="$(wsrep_state "$n" || echo "unreachable")"
			echo "node $n: pid $pid, SQL 127.0.0.1:$(sqlp "$n"), galera $(gcp "$n"): ready/state/size $st"
			[ "$st" = "ON Synced 3" ] || rc=1
		elif pid="$(launch_pid "$n")"; then
			echo "node $n: starting (pid $pid, SQL 127.0.0.1:$(sqlp "$n"))"
			rc=1
		else
			echo "node $n: not running (SQL 127.0.0.1:$(sqlp "$n"))"
			rc=1
		fi
	done
	[ "$rc" -eq 0 ] && echo "cluster: healthy" || echo "cluster: not healthy"
	return "$rc"
}

# start and stop take a lock, so concurrent invocations do not interleave (it
# lives beside the state dir, which stop removes).
lock() {
	exec 9>"${dir%/}.lock"
	flock -w "$((wait_seconds * 3))" 9 || die "another ci/galera.sh holds ${dir%/}.lock"
}

case "${1:-}" in
start) lock && do_start ;;
stop) lock && do_stop ;;
status) do_status ;;
dsns) dsns ;;
*)
	echo "usage: $0 start|stop|status|dsns" >&2
	exit 2
	;;
esac
