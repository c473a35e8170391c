package models

import (
	"database/sql"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"phaseboard/migrations"
)

// sqlDialect is what differs between PostgreSQL and SQLite in the SQL the models write. Open
// picks one; queries ask it instead of branching on the database where they stand.
type sqlDialect struct {
	// lock locks the rows a query selects for a change. PostgreSQL takes NO KEY UPDATE, not
	// UPDATE: it still serialises writers, but does not block the KEY SHARE locks that
	// foreign-key checks take (a move's history row references the phase it left, which another
	// move may hold; with FOR UPDATE two opposite moves deadlock). SQLite's single writer needs
	// no row locks.
	lock func(tx *gorm.DB) *gorm.DB
	// daysBetween is the fractional days from timestamp column a to b.
	daysBetween func(a, b string) string
	// period is the period key ("2026-03", "2026-Q1") of a date column, or of a timestamp column
	// (UTC) when timestamp is set.
	period func(by, column string, timestamp bool) string
	// report prepares a read-only report transaction (see Store.report); options are its
	// isolation, nil for the default.
	report        func(tx *gorm.DB) error
	reportOptions *sql.TxOptions
	// copyRows says whether bulk loads use COPY (bulk.go) rather than batched INSERTs.
	copyRows bool

	// dayOf is the UTC calendar day of a timestamp column, as a date (a rate day, a closing day).
	dayOf func(column string) string
	// lastDay is the literal of the last date there is: the rate of "no date" is the latest.
	lastDay string
	// moveOrder orders an activity's moves (phase_changes pc) as they were made, also when two
	// share a timestamp.
	moveOrder string
	// keyColumn is a column of a maintained table's unique key as its upserts name it. SQLite's
	// unique indexes keep NULLs apart, so its key indexes (migration 10) name nullable columns by
	// COALESCE; PostgreSQL's are NULLS NOT DISTINCT.
	keyColumn func(column string, nullable bool) string
	// advisoryLock takes a lock shared by every instance for the rest of the transaction (try:
	// false when another holds it); SQLite's single writer needs none.
	advisoryLock func(tx *gorm.DB, key int64, try bool) (bool, error)
	// freezeActivities keeps writers of activities and their moves waiting until the transaction
	// ends (a rebuild of what they maintain).
	freezeActivities func(tx *gorm.DB) error
	// hashAntiJoin runs fn, a statement that inserts into the table its NOT EXISTS reads, with
	// the anti-join hashed: PostgreSQL's planner, taking the table for empty, would rescan it
	// per row as the statement fills it (quadratic).
	hashAntiJoin func(tx *gorm.DB, fn func() error) error
	// periodStart is the first day of the month or quarter of a date column; greatest the
	// later of two dates.
	periodStart func(by, column string) string
	greatest    func(a, b string) string

	// appendChanges appends rows to the change feed in commit order (feed.go): PostgreSQL
	// locks the table against other appenders until the commit and notifies the newest id.
	appendChanges func(tx *gorm.DB, recs []ChangeRecord) error
	// skipLocked locks the rows a query selects, passing over those another transaction holds
	// (work queues: each instance takes other rows). SQLite's single writer needs none.
	skipLocked func(tx *gorm.DB, of string) *gorm.DB // of: the table (alias) whose rows to lock
	// schemaLock tries a lock named name, shared by every instance on this database and
	// schema, for the rest of the transaction (tests in their own schemas never contend).
	schemaLock func(tx *gorm.DB, name string) (bool, error)
}

var dialects = map[string]sqlDialect{
	migrations.Postgres: {
		lock: func(tx *gorm.DB) *gorm.DB { return tx.Clauses(clause.Locking{Strength: "NO KEY UPDATE"}) },
		daysBetween: func(a, b string) string {
			return "EXTRACT(EPOCH FROM (" + b + " - " + a + ")) / 86400.0"
		},
		period: func(by, column string, timestamp bool) string {
			format := "'YYYY-MM'"
			if by == PeriodQuarter {
				format = `'YYYY-"Q"Q'`
			}
			if timestamp {
				return "to_char(" + column + " AT TIME ZONE 'UTC', " + format + ")"
			}
			return "to_char(CAST(" + column + " AS timestamp), " + format + ")"
		},
		// The planner cannot tell how few groups a period expression makes, expects thousands,
		// and would sort on disk instead of hashing in memory (a third of the time at 300,000
		// opportunities): more work_mem for the report's transaction.
		report:        func(tx *gorm.DB) error { return tx.Exec("SET LOCAL work_mem = '64MB'").Error },
		reportOptions: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		copyRows:      true,
		dayOf:         func(column string) string { return "CAST(" + column + " AT TIME ZONE 'UTC' AS date)" },
		lastDay:       "DATE '9999-12-31'",
		moveOrder:     "pc.moved_at, pc.seq",
		keyColumn:     func(column string, _ bool) string { return column },
		advisoryLock: func(tx *gorm.DB, key int64, try bool) (bool, error) {
			if !try {
				return true, tx.Exec("SELECT pg_advisory_xact_lock(?)", key).Error
			}
			var got bool
			err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", key).Scan(&got).Error
			return got, err
		},
		freezeActivities: func(tx *gorm.DB) error { return tx.Exec("LOCK TABLE activities, phase_changes IN SHARE MODE").Error },
		hashAntiJoin: func(tx *gorm.DB, fn func() error) error {
			if err := tx.Exec("SET LOCAL enable_nestloop = off").Error; err != nil {
				return err
			}
			if err := fn(); err != nil {
				return err
			}
			return tx.Exec("SET LOCAL enable_nestloop TO DEFAULT").Error
		},
		periodStart: func(by, column string) string {
			unit := "'month'"
			if by == PeriodQuarter {
				unit = "'quarter'"
			}
			return "CAST(date_trunc(" + unit + ", " + column + ") AS date)"
		},
		greatest: func(a, b string) string { return "GREATEST(" + a + ", " + b + ")" },
		appendChanges: func(tx *gorm.DB, recs []ChangeRecord) error {
			// One statement: the schema's feed lock (held to the commit), then the rows (their
			// ids drawn only once the lock is held: each row needs the lock's row to be
			// joined), then the notification of the newest id.
			values, args := changeValues(recs, true)
			return tx.Exec(`WITH lk AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtext('phaseboard.feed.' || current_schema()))),
				ins AS (INSERT INTO changes (`+changeColumns+`) SELECT v.* FROM lk, (VALUES `+values+`) AS v RETURNING id)
				SELECT pg_notify(`+feedChannel+`, max(id)::text) FROM ins`, args...).Error
		},
		skipLocked: func(tx *gorm.DB, of string) *gorm.DB {
			return tx.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: of}, Options: "SKIP LOCKED"})
		},
		schemaLock: func(tx *gorm.DB, name string) (bool, error) {
			var got bool
			err := tx.Raw("SELECT pg_try_advisory_xact_lock(hashtext(? || '.' || current_schema()))", name).Scan(&got).Error
			return got, err
		},
	},
	// SQLite keeps dates as 'YYYY-MM-DD' and timestamps as UTC text, so periods are substrings.
	migrations.SQLite: {
		lock:        func(tx *gorm.DB) *gorm.DB { return tx },
		daysBetween: func(a, b string) string { return "(julianday(" + b + ") - julianday(" + a + "))" },
		period: func(by, column string, _ bool) string {
			if by == PeriodQuarter {
				return "substr(" + column + ", 1, 4) || '-Q' || ((CAST(substr(" + column + ", 6, 2) AS integer) + 2) / 3)"
			}
			return "substr(" + column + ", 1, 7)"
		},
		report:    func(*gorm.DB) error { return nil },
		dayOf:     func(column string) string { return "substr(" + column + ", 1, 10)" },
		lastDay:   "'9999-12-31'",
		moveOrder: "pc.moved_at, pc.rowid",
		keyColumn: func(column string, nullable bool) string {
			if nullable {
				return "COALESCE(" + column + ", '')"
			}
			return column
		},
		advisoryLock:     func(*gorm.DB, int64, bool) (bool, error) { return true, nil },
		freezeActivities: func(*gorm.DB) error { return nil },
		hashAntiJoin:     func(_ *gorm.DB, fn func() error) error { return fn() }, // SQLite probes the index
		periodStart: func(by, column string) string {
			if by == PeriodQuarter {
				return "(substr(" + column + ", 1, 5) || printf('%02d', ((CAST(substr(" + column + ", 6, 2) AS integer) - 1) / 3) * 3 + 1) || '-01')"
			}
			return "(substr(" + column + ", 1, 7) || '-01')"
		},
		greatest: func(a, b string) string { return "max(" + a + ", " + b + ")" },
		appendChanges: func(tx *gorm.DB, recs []ChangeRecord) error {
			values, args := changeValues(recs, false)
			return tx.Exec("INSERT INTO changes ("+changeColumns+") VALUES "+values, args...).Error
		},
		skipLocked: func(tx *gorm.DB, _ string) *gorm.DB { return tx },
		schemaLock: func(*gorm.DB, string) (bool, error) { return true, nil },
	},
}
