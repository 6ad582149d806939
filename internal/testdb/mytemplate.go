package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/driver/migrate"
)

// The MySQL/MariaDB template: a database migrated once per server and
// schema. MySQL cannot copy a database, so MySQLMigrated replays the
// template's tables' DDL (SHOW CREATE TABLE, read once per process) in a new
// database and copies its version rows. CREATE TABLE … LIKE would be no
// cheaper and loses foreign keys. Only tables are copied, so the build
// refuses a template holding anything else (views, triggers, routines,
// events, sequences).
//
// Builders of different processes take turns on GET_LOCK. MySQL cannot
// rename a database, so a template is built under its final name and counts
// as finished when its version table records the latest version: goose
// records a version only after its migration has run, and one that died
// half-way (MySQL DDL is not transactional) is dropped and built again.
//
// DDL with generated identifiers cannot be a parameterized sqlc query, and
// GET_LOCK runs on a connection of its own: the statements here are SQL in
// Go (one of the exceptions listed in docs/design.md).

// myTemplateInfo is a finished template as a clone needs it.
type myTemplateInfo struct {
	name   string
	tables []string // its base tables
	ddl    []string // CREATE TABLE, then CREATE VIEW statements, unqualified
}

var myTemplate templateCache[myTemplateInfo]

// myTemplateLock is the GET_LOCK name (server-wide) that serializes
// template builders.
const myTemplateLock = "procreg_testdb_template"

// MySQL error numbers the template code acts on.
const (
	erBadDB        = 1049 // unknown database
	erNoSuchTable  = 1146 // table doesn't exist
	myLockWaitSecs = int(templateTimeout / time.Second)
)

// myMissing reports whether err says a database or table does not exist.
func myMissing(err error) bool {
	var me *driver.MySQLError
	return errors.As(err, &me) && (me.Number == erBadDB || me.Number == erNoSuchTable)
}

// myEnsureTemplate returns the current schema's template on the server of
// admin, building it if it is missing or unfinished. t is the test that asked
// first; it only receives log lines.
func myEnsureTemplate(t testing.TB, admin string) (myTemplateInfo, error) {
	name, err := TemplateName("mysql")
	if err != nil {
		return myTemplateInfo{}, err
	}
	want, err := migrate.Latest(source("mysql"))
	if err != nil {
		return myTemplateInfo{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), templateTimeout)
	defer cancel()
	db, err := myOpen(admin)
	if err != nil {
		return myTemplateInfo{}, err
	}
	// Closing the pool ends the connection, which releases the lock.
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return myTemplateInfo{}, err
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", myTemplateLock, myLockWaitSecs).Scan(&got); err != nil || got.Int64 != 1 {
		return myTemplateInfo{}, fmt.Errorf("GET_LOCK(%s) = %v, %v", myTemplateLock, got, err)
	}
	defer conn.ExecContext(context.Background(), "DO RELEASE_LOCK(?)", myTemplateLock)

	v, err := myTemplateVersion(ctx, conn, name)
	if err != nil {
		return myTemplateInfo{}, err
	}
	if v != want {
		mySweep(ctx, t, conn, admin, name)
		if err := myBuild(ctx, admin, name, want); err != nil {
			return myTemplateInfo{}, err
		}
		t.Logf("testdb: built MySQL template %s", name)
	}
	return myReadTemplate(ctx, conn, name)
}

// myTemplateVersion returns the latest version the template records, 0
// when it or its version table is missing.
func myTemplateVersion(ctx context.Context, conn *sql.Conn, name string) (int64, error) {
	var v sql.NullInt64
	err := conn.QueryRowContext(ctx, "SELECT MAX(version_id) FROM "+name+"."+migrate.VersionTable+" WHERE is_applied").Scan(&v)
	if myMissing(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the version of %s: %w", name, err)
	}
	return v.Int64, nil
}

// myBuild (re)creates the template and migrates it to version want.
func myBuild(ctx context.Context, admin, name string, want int64) error {
	if err := myAdmin(admin, name, "DROP DATABASE IF EXISTS "+name); err != nil {
		return err
	}
	if err := myAdmin(admin, name, "CREATE DATABASE "+name); err != nil {
		return err
	}
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		return err
	}
	cfg.DBName = name
	c, err := driver.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	v, err := mysql.Migrate(ctx, db)
	if err != nil {
		return err
	}
	if v != want {
		return fmt.Errorf("migrated %s to version %d, want %d", name, v, want)
	}
	return nil
}

// myReadTemplate reads the DDL of the template's tables, refusing a
// template that holds more than tables.
func myReadTemplate(ctx context.Context, conn *sql.Conn, name string) (myTemplateInfo, error) {
	var others int
	err := conn.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = ?) +
		(SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ?) +
		(SELECT COUNT(*) FROM information_schema.events WHERE event_schema = ?)`,
		name, name, name).Scan(&others)
	if err != nil {
		return myTemplateInfo{}, err
	}
	if others != 0 {
		return myTemplateInfo{}, fmt.Errorf("template %s holds %d triggers, routines or events; MySQLMigrated copies tables and views only (teach it the rest)", name, others)
	}
	tables, err := myNames(ctx, conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name", name)
	if err != nil {
		return myTemplateInfo{}, err
	}
	views, err := myNames(ctx, conn, "SELECT table_name FROM information_schema.views WHERE table_schema = ? ORDER BY table_name", name)
	if err != nil {
		return myTemplateInfo{}, err
	}
	info := myTemplateInfo{name: name, tables: tables}
	for _, tb := range tables {
		var n, ddl string
		if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+name+"."+myQuote(tb)).Scan(&n, &ddl); err != nil {
			return myTemplateInfo{}, fmt.Errorf("read the DDL of %s.%s: %w", name, tb, err)
		}
		info.ddl = append(info.ddl, ddl)
	}
	for _, v := range views {
		var n, ddl, charset, collation string
		if err := conn.QueryRowContext(ctx, "SHOW CREATE VIEW "+name+"."+myQuote(v)).Scan(&n, &ddl, &charset, &collation); err != nil {
			return myTemplateInfo{}, fmt.Errorf("read the DDL of view %s.%s: %w", name, v, err)
		}
		// The server qualifies every name in a view's body with the
		// template's schema and records its definer: unqualify both, so
		// the view is the copy's own.
		ddl = strings.ReplaceAll(ddl, myQuote(name)+".", "")
		ddl = myDefiner.ReplaceAllString(ddl, "")
		info.ddl = append(info.ddl, ddl)
	}
	return info, nil
}

// myDefiner matches the DEFINER clause SHOW CREATE VIEW prints.
var myDefiner = regexp.MustCompile("DEFINER=`[^`]*`@`[^`]*` ")

// myQuote quotes an identifier for MySQL.
func myQuote(id string) string { return "`" + strings.ReplaceAll(id, "`", "``") + "`" }

// myNames runs a query of one string column with the schema name as its
// parameter and returns the column's values.
func myNames(ctx context.Context, conn *sql.Conn, query, schema string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, query, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// myCreateFrom creates database name as a clone of template tpl, on a
// connection of its own (it changes the session's database and foreign-key
// checks, and is closed afterwards).
func myCreateFrom(admin, name string, tpl myTemplateInfo) error {
	if !validName(name) || !validName(tpl.name) {
		return fmt.Errorf("refusing DDL on an unexpected name: %q or %q", name, tpl.name)
	}
	db, err := myOpen(admin)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := adminContext()
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Without foreign-key checks the tables can be created in any order.
	stmts := append([]string{"SET SESSION foreign_key_checks = 0", "CREATE DATABASE " + name, "USE " + name}, tpl.ddl...)
	// The rows migrations insert come along (the version rows,
	// procreg_meta, the change counter); the cursor secret is then made
	// anew (see newCursorKey).
	for _, tb := range tpl.tables {
		stmts = append(stmts, "INSERT INTO "+myQuote(tb)+" SELECT * FROM "+tpl.name+"."+myQuote(tb))
	}
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	key, err := newCursorKey()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "UPDATE procreg_meta SET value = ? WHERE name = 'cursor_key'", key)
	return err
}

// mySweep drops, best effort, templates of other schemas that are broken (no
// tables: no one else builds while we hold the lock) or were built more than
// staleTemplateAge ago.
func mySweep(ctx context.Context, t testing.TB, conn *sql.Conn, admin, keep string) {
	rows, err := conn.QueryContext(ctx, `SELECT s.schema_name, TIMESTAMPDIFF(SECOND, MIN(t.create_time), NOW())
		FROM information_schema.schemata s LEFT JOIN information_schema.tables t ON t.table_schema = s.schema_name
		WHERE s.schema_name LIKE 'procreg%' GROUP BY s.schema_name`)
	if err != nil {
		t.Logf("testdb: list old templates: %v", err)
		return
	}
	var drop []string
	for rows.Next() {
		var name string
		var age sql.NullInt64
		if err := rows.Scan(&name, &age); err != nil {
			t.Logf("testdb: list old templates: %v", err)
			break
		}
		if name != keep && strings.HasPrefix(name, templatePrefix) &&
			(!age.Valid || isStale(time.Now().Add(-time.Duration(age.Int64)*time.Second))) {
			drop = append(drop, name)
		}
	}
	rows.Close()
	for _, name := range drop {
		if err := myAdmin(admin, name, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("testdb: drop old template %s: %v", name, err)
		} else {
			t.Logf("testdb: dropped old template %s", name)
		}
	}
}
