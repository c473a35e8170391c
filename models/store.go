package models

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for replicas
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"phaseboard/migrations"
)

// DefaultEmbeddedPath is where the embedded database lives when DATABASE_URL is unset.
const DefaultEmbeddedPath = "phaseboard.db"

// Store is Phaseboard's storage and the home of its domain rules: every entry point (board,
// keyboard, API) calls its methods, and each method is one transaction.
type Store struct {
	DB      *gorm.DB
	Dialect string // migrations.Postgres or migrations.SQLite
	// Now is the clock; tests may set it. Always UTC.
	Now func() time.Time

	// RepVisibility is what reps may read: VisibilityTeam (default) or VisibilityOwn; see ReadScope.
	RepVisibility string

	sql         sqlDialect  // the dialect's SQL (dialect.go)
	usual       *usualCache // UsualDaysInPhase's recent answers; nil: none kept
	changeHooks []ChangeHook
	keys        *sync.Map       // ServerKey's keys by purpose
	replicas    *replicaSet     // read replicas (replicas.go); nil: every read on the primary
	tokens      *verifiedTokens // access tokens verified recently (tokencache.go)
	quotas      *quotas         // API rate-limit quota taken from the shared counters (ratequota.go)
	feed        *Feed           // the change feed (feed.go)
	url         string          // the DATABASE_URL it was opened with (the feed's listener connects to it)
	noFeed      bool            // writes append nothing to the feed (benchmarks weigh it: WithoutFeed)
	scanColumns bool            // the board's column figures scan the cards, never the rollups (tests: ScanningColumns)

	// CustomFieldsTTL is how long this instance trusts its custom field definitions before it
	// compares their version again (customfields.go): 0 for DefaultCustomFieldsTTL, negative
	// to compare on every call.
	CustomFieldsTTL time.Duration
	customFields    *customFieldCache
}

// Open connects to DATABASE_URL-style url: a postgres:// URL selects PostgreSQL, anything else
// (empty, a path, or sqlite:path) the embedded single-file database. It does not migrate.
func Open(url string) (*Store, error) { return OpenDriver(url, "") }

// SQLiteDSN is the data source name Open gives the embedded database file at path.
func SQLiteDSN(path string) string {
	if path == "" {
		path = DefaultEmbeddedPath
	}
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

// OpenDriver is Open through the database/sql driver registered as driverName ("" for the
// dialect's own): tests wrap the driver to count statements (storetest.NewCounting).
func OpenDriver(url, driverName string) (*Store, error) {
	cfg := gormConfig()
	var (
		db      *gorm.DB
		dialect string
		err     error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = migrations.Postgres
		db, err = gorm.Open(postgres.New(postgres.Config{DSN: url, DriverName: driverName}), cfg)
	default:
		dialect = migrations.SQLite
		db, err = gorm.Open(sqlite.Dialector{DSN: SQLiteDSN(strings.TrimPrefix(url, "sqlite:")), DriverName: driverName}, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == migrations.SQLite {
		// SQLite has one writer; one connection avoids SQLITE_BUSY on lock upgrades.
		sqlDB.SetMaxOpenConns(1)
	} else {
		configurePool(sqlDB)
	}
	s := &Store{DB: db, Dialect: dialect, Now: func() time.Time { return time.Now().UTC() }, sql: dialects[dialect], usual: newUsualCache(), keys: &sync.Map{},
		tokens: &verifiedTokens{}, quotas: &quotas{}, customFields: &customFieldCache{}}
	s.url = url
	s.feed = newFeed(s)
	s.OnChange(s.maintainAggregates) // rollups.go: the forecast's and health's aggregates, in every write
	s.OnChange(s.appendToFeed)       // feed.go: the change feed, last (it appends at commit)
	return s, nil
}

// gormConfig is how every GORM handle of a Store is configured.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:  logger.Default.LogMode(logger.Silent),
		NowFunc: func() time.Time { return time.Now().UTC() },
		// Each Store method opens its own transaction; GORM's implicit ones would nest.
		SkipDefaultTransaction: true,
		// No statements prepared by GORM: the driver's own statement cache (pgx) is the one to
		// tune for a pooler (see the README's deployment section).
		PrepareStmt: false,
	}
}

// configurePool sizes a PostgreSQL pool of an instance (the primary's and each replica's).
func configurePool(db *sql.DB) {
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// driverOr is the database/sql driver for PostgreSQL: name, or pgx's.
func driverOr(name string) string {
	if name == "" {
		return "pgx"
	}
	return name
}

// redactURL is a database URL without its password, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unreadable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// SQL returns the underlying database handle.
func (s *Store) SQL() *sql.DB {
	d, _ := s.DB.DB()
	return d
}

// Migrate applies pending migrations, then builds the maintained aggregates if a migration
// just added them (rollups.go).
func (s *Store) Migrate(ctx context.Context) (int, error) {
	n, err := migrations.Apply(ctx, s.SQL(), s.Dialect)
	if err != nil {
		return n, err
	}
	return n, s.ensureAggregates(ctx)
}

// Ping checks that the database answers (for /healthz).
func (s *Store) Ping(ctx context.Context) error { return s.SQL().PingContext(ctx) }

// Close releases the connections (the replicas' too).
func (s *Store) Close() error {
	s.feed.close()
	if s.replicas != nil {
		s.replicas.close()
	}
	return s.SQL().Close()
}

// IsPostgres reports whether the store runs on PostgreSQL.
func (s *Store) IsPostgres() bool { return s.Dialect == migrations.Postgres }

// forUpdate locks the rows a query selects for a change (sqlDialect.lock).
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB { return s.sql.lock(tx) }

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Today is the store clock's date (UTC): what overdue and "this quarter" are measured from.
func (s *Store) Today() Date {
	now := s.Now().UTC()
	return NewDate(now.Year(), now.Month(), now.Day())
}

// likePattern turns user text into a bound LIKE pattern matching it anywhere, with the
// wildcards in the text escaped (used with ESCAPE '\').
func likePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(text)) + "%"
}
