// Package migrations holds Phaseboard's schema as an append-only, numbered list of SQL files,
// one per dialect (NNNN_name.postgres.sql and NNNN_name.sqlite.sql), embedded into the binary.
//
// Apply runs each pending migration in its own transaction and records it in
// schema_migrations, so that every instance (and `phaseboard migrate`) agrees on the schema.
// On PostgreSQL an advisory lock keeps several instances starting at once from racing.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed *.sql
var files embed.FS

// Dialect names, as used in the file names.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Migration is one numbered step of the schema.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// List returns the migrations of a dialect in order.
func List(dialect string) ([]Migration, error) {
	entries, err := fs.Glob(files, "*."+dialect+".sql")
	if err != nil {
		return nil, err
	}
	var list []Migration
	for _, name := range entries {
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %q: name must start with a number and '_'", name)
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		list = append(list, Migration{Version: v, Name: strings.TrimSuffix(rest, "."+dialect+".sql"), SQL: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	// Numbers are handed out to parallel work in advance, so one may land before a lower one:
	// gaps are allowed (Apply runs every migration not yet recorded, whatever came before), a
	// number used twice is not.
	for i, m := range list {
		if m.Version < 1 || i > 0 && m.Version == list[i-1].Version {
			return nil, fmt.Errorf("migrations for %s: version %d (%s) is used twice or not positive", dialect, m.Version, m.Name)
		}
	}
	return list, nil
}

// Latest is the schema version this binary expects: its highest migration.
func Latest(dialect string) (int, error) {
	list, err := List(dialect)
	if err != nil {
		return 0, err
	}
	if len(list) == 0 {
		return 0, nil
	}
	return list[len(list)-1].Version, nil
}

// Current reports the highest applied version (0 for an empty database).
func Current(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		// No table yet: nothing applied.
		return 0, nil
	}
	return int(v.Int64), nil
}

// Apply runs the pending migrations and returns how many it applied.
func Apply(ctx context.Context, db *sql.DB, dialect string) (int, error) {
	return ApplyBefore(ctx, db, dialect, 0)
}

// ApplyBefore is Apply of the migrations numbered below before only (all when 0): tests of a
// migration load data in the schema it starts from.
func ApplyBefore(ctx context.Context, db *sql.DB, dialect string, before int) (int, error) {
	list, err := List(dialect)
	if err != nil {
		return 0, err
	}
	if before > 0 {
		list = slices.DeleteFunc(list, func(m Migration) bool { return m.Version >= before })
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := 0
	for _, m := range list {
		done, err := applyOne(ctx, db, dialect, m)
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

func applyOne(ctx context.Context, db *sql.DB, dialect string, m Migration) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if dialect == Postgres {
		// Serialise concurrent starters; the lock is released with the transaction.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7266435)`); err != nil {
			return false, err
		}
	}
	var n int
	q := `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`
	if dialect == Postgres {
		q = `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`
	}
	if err := tx.QueryRowContext(ctx, q, m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	ins := `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	if dialect == Postgres {
		ins = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`
	}
	if _, err := tx.ExecContext(ctx, ins, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
