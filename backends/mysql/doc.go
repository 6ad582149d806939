// Package mysql is the MySQL/MariaDB backend of procreg: a thin storage
// adapter over the sqlc-generated queries in gen/mysql and the shared engine.
package mysql
