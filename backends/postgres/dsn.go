package postgres

import "github.com/jackc/pgx/v5/pgconn"

// hasPoolMaxConns reports whether a DSN (URL or keyword/value form) sets
// pool_max_conns itself. It asks pgx's own parser, which keeps settings it
// does not know (pool_max_conns among them) as runtime parameters, so every
// spelling pgxpool.ParseConfig honours counts: "pool_max_conns = 5" with
// spaces, a quoted value, a URL query. A DSN pgx cannot parse sets nothing.
func hasPoolMaxConns(dsn string) bool {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false
	}
	_, ok := cfg.RuntimeParams["pool_max_conns"]
	return ok
}
