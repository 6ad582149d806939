#!/usr/bin/env bash
# Starts this machine's PostgreSQL and MariaDB when they are down, then waits
# (bounded) until both accept connections. It exports nothing: the caller
# (.ci/run) sets PROCREG_POSTGRES_DSN / PROCREG_MYSQL_DSN.
#
# Environment: SERVICES_WAIT_SECONDS (default 60).
set -euo pipefail

wait_seconds="${SERVICES_WAIT_SECONDS:-60}"

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
# mysqladmin ping exits 0 even for "access denied" (the server is up).
my_up() { mysqladmin --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }

if ! pg_up; then
	echo "services: starting PostgreSQL" >&2
	pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
fi
if ! my_up; then
	echo "services: starting MariaDB" >&2
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi

deadline=$((SECONDS + wait_seconds))
until pg_up && my_up; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		pg_up || echo "services: PostgreSQL is not accepting connections after ${wait_seconds}s" >&2
		my_up || echo "services: MariaDB is not accepting connections after ${wait_seconds}s" >&2
		exit 1
	fi
	sleep 1
done
echo "services: PostgreSQL and MariaDB accept connections" >&2
