// Package storetest gives tests a migrated Store on each real database: the embedded SQLite
// file and PostgreSQL. Each call gets its own PostgreSQL schema (or SQLite file), so tests run
// in parallel and leave nothing behind.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"phaseboard/migrations"
	"phaseboard/models"
)

// DefaultPostgresURL is the local server of the development machines and CI.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the server the tests use: PHASEBOARD_TEST_DATABASE_URL or the default.
func PostgresURL() string {
	if u := os.Getenv("PHASEBOARD_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Dialects lists the databases every storage test runs on.
var Dialects = []string{migrations.SQLite, migrations.Postgres}

// Each runs fn once per database, as subtests named after the dialect.
func Each(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { fn(t, New(t, d)) })
	}
}

// New returns a migrated, empty Store on the given dialect. A PostgreSQL server that cannot be
// reached fails the test: CI must always cover PostgreSQL.
func New(t testing.TB, dialect string) *models.Store {
	t.Helper()
	return Open(t, URL(t, dialect))
}

// Open returns a migrated Store on the database at url, closed at cleanup.
func Open(t testing.TB, url string) *models.Store {
	t.Helper()
	s, err := models.Open(url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", url, err)
	}
	urls.Store(s, url)
	return s
}

// urls remembers the database of each Store made here, for Reopen and URLOf.
var urls sync.Map

// URLOf is the DATABASE_URL of a Store made here (to hand to a subprocess, say).
func URLOf(t testing.TB, s *models.Store) string {
	t.Helper()
	url, ok := urls.Load(s)
	if !ok {
		t.Fatal("storetest.URLOf: the store was not made by storetest")
	}
	return url.(string)
}

// Reopen returns a second Store on the database of s (made by New): another instance of the
// application on the same database.
func Reopen(t testing.TB, s *models.Store) *models.Store {
	t.Helper()
	other, err := models.Open(URLOf(t, s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// URL returns a DATABASE_URL for a fresh, empty database of the dialect, dropped at cleanup.
//
// With go test -short, PostgreSQL is skipped (the fast tier runs on the embedded database and
// without a browser); make test runs everything.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == migrations.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	}
	if testing.Short() {
		t.Skip("-short: skipping the PostgreSQL part (make test runs it)")
	}
	return SchemaURL(t, PostgresURL())
}

// SchemaURL creates a schema on the PostgreSQL server at base and returns the URL that uses it;
// the schema is dropped at cleanup.
func SchemaURL(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", base, err)
	}
	if err := admin.Ping(); err != nil {
		admin.Close()
		t.Fatalf("PostgreSQL is not reachable at %s (%v): start it (make db-up) or set PHASEBOARD_TEST_DATABASE_URL", base, err)
	}
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec(fmt.Sprintf("CREATE SCHEMA %s", schema)); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(fmt.Sprintf("DROP SCHEMA %s CASCADE", schema))
		admin.Close()
	})
	return withSearchPath(base, schema)
}

func withSearchPath(base, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
