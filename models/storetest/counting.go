package storetest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/stdlib"

	"phaseboard/migrations"
	"phaseboard/models"
)

// Counts are what a Counter has seen since its last Reset: statements sent to the database
// (queries and commands, each one round trip), the writes among them, and transactions begun.
type Counts struct {
	Statements   int64
	Writes       int64
	Transactions int64
}

// Round trips are the statements plus each transaction's BEGIN and COMMIT (or ROLLBACK).
func (c Counts) RoundTrips() int64 { return c.Statements + 2*c.Transactions }

// Counter counts the statements a Store sends (see NewCounting).
type Counter struct {
	statements, writes, transactions atomic.Int64
	mu                               sync.Mutex
	log, full                        []string
}

// Reset starts counting afresh.
func (c *Counter) Reset() {
	c.statements.Store(0)
	c.writes.Store(0)
	c.transactions.Store(0)
	c.mu.Lock()
	c.log, c.full = nil, nil
	c.mu.Unlock()
}

// Counts returns the counts since the last Reset.
func (c *Counter) Counts() Counts {
	return Counts{Statements: c.statements.Load(), Writes: c.writes.Load(), Transactions: c.transactions.Load()}
}

// Log lists the statements since the last Reset (for a failing test's message).
func (c *Counter) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// Statements lists the statements since the last Reset in full (for a test of their SQL).
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.full...)
}

func (c *Counter) statement(query string) {
	c.statements.Add(1)
	q := strings.ToUpper(strings.TrimSpace(query))
	if strings.HasPrefix(q, "INSERT") || strings.HasPrefix(q, "UPDATE") || strings.HasPrefix(q, "DELETE") {
		c.writes.Add(1)
	}
	c.mu.Lock()
	c.full = append(c.full, query)
	if len(query) > 160 {
		query = query[:160] + "…"
	}
	c.log = append(c.log, query)
	c.mu.Unlock()
}

// NewCounting is New with every statement the Store sends counted: a test can assert how many
// queries a request costs, so that a regression fails. The OData service shares the Store's
// connection pool, so its queries count too.
func NewCounting(t testing.TB, dialect string) (*models.Store, *Counter) {
	t.Helper()
	url := URL(t, dialect)
	registerCounting()
	c := &Counter{}
	dsn := url
	if dialect == migrations.SQLite {
		dsn = models.SQLiteDSN(strings.TrimPrefix(url, "sqlite:"))
	}
	counters.Store(dsn, c)
	t.Cleanup(func() { counters.Delete(dsn) })
	s, err := models.OpenDriver(url, countingDriverName[dialect])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	urls.Store(s, url)
	c.Reset()
	return s, c
}

var (
	registerOnce       sync.Once
	counters           sync.Map // data source name → *Counter
	countingDriverName = map[string]string{
		migrations.Postgres: "phaseboard-counting-pgx",
		migrations.SQLite:   "phaseboard-counting-sqlite",
	}
)

func registerCounting() {
	registerOnce.Do(func() {
		sql.Register(countingDriverName[migrations.Postgres], &countingDriver{stdlib.GetDefaultDriver()})
		sql.Register(countingDriverName[migrations.SQLite], &countingDriver{&sqlite.Driver{}})
	})
}

// countingDriver wraps a database/sql driver; each connection counts into the Counter of its
// data source name.
type countingDriver struct{ driver.Driver }

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	conn, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	c, _ := counters.Load(name)
	counter, _ := c.(*Counter)
	if counter == nil {
		counter = &Counter{}
	}
	return &countingConn{Conn: conn, c: counter}, nil
}

type countingConn struct {
	driver.Conn
	c *Counter
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, c: c.c, query: query}, nil
}

func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.c.transactions.Add(1)
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // drivers without BeginTx
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.c.statement(query)
	}
	return res, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.c.statement(query)
	}
	return rows, err
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingStmt struct {
	driver.Stmt
	c     *Counter
	query string
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.statement(s.query)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return s.Stmt.Exec(values(args)) //nolint:staticcheck // drivers without ExecContext
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.statement(s.query)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return s.Stmt.Query(values(args)) //nolint:staticcheck // drivers without QueryContext
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func values(args []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}
