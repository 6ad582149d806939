package postgres

import (
	"net/url"
	"strings"
)

// hasPoolMaxConns reports whether a DSN (URL or keyword/value form) sets
// pool_max_conns itself.
func hasPoolMaxConns(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has("pool_max_conns")
	}
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(f, "pool_max_conns=") {
			return true
		}
	}
	return false
}
