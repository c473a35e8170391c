package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

// Read replicas. Writes and transactions always go to the primary (Store.DB). A read goes to a
// PostgreSQL streaming replica only when its context says it may (ReplicaReads): the web layer
// says so for the read-heavy pages (forecasts, exports, API reads) of a principal that has not
// written within ReadYourWrites, so that whoever just wrote reads their own write from the
// primary, on whichever instance the load balancer sends them to. Everything else reads from
// the primary, as without replicas.
//
// Routing is GORM's dbresolver on a second handle over the primary's own pool (replicated.db):
// on it queries go to a replica and anything that writes to the primary, so a write that slips
// into a replica read still lands where it must. s.db(ctx) is the one place that picks the
// handle. A replica that falls more than MaxLag behind (checked every LagInterval) or that
// stops streaming is left out until it catches up; with none left, reads go to the primary.

// ReplicaConfig says where the replicas are and how fresh a read must be.
type ReplicaConfig struct {
	// URLs are the replicas' postgres:// URLs.
	URLs []string
	// ReadYourWrites is how long after a write its principal (a browser user, an API client)
	// reads from the primary. It must exceed MaxLag plus LagInterval. Default 5s.
	ReadYourWrites time.Duration
	// MaxLag is how far behind the primary a replica may be and still be read. Default 1s.
	MaxLag time.Duration
	// LagInterval is how often each replica's lag is measured. Default 250ms.
	LagInterval time.Duration
	// DriverName is the database/sql driver to open them with ("" for pgx; tests count).
	DriverName string
	// OnChange, when set, hears a replica leave or rejoin the reads (for the log); url is
	// without credentials.
	OnChange func(url string, usable bool, lag time.Duration, err error)
}

// Defaults of ReplicaConfig.
const (
	DefaultReadYourWrites = 5 * time.Second
	DefaultMaxReplicaLag  = time.Second
	defaultLagInterval    = 250 * time.Millisecond
)

// replicaSet is the Store's replicas.
type replicaSet struct {
	db       *gorm.DB // the primary's pool with dbresolver: reads to a usable replica
	replicas []*replica
	cfg      ReplicaConfig
	stop     context.CancelFunc
	done     chan struct{}
}

type replica struct {
	url    string // for messages: no credentials
	pool   *sql.DB
	usable atomic.Bool
	lag    atomic.Int64 // nanoseconds, last measured
}

// ReplicaState is what the Store knows of a replica (for /healthz and tests).
type ReplicaState struct {
	URL    string
	Usable bool
	Lag    time.Duration
}

type replicaReadsKey struct{}

// ReplicaReads marks ctx's reads as fit for a replica. Use ReadsFor, which applies the
// read-your-writes rule; this is for callers that know the principal has not written.
func ReplicaReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, replicaReadsKey{}, true)
}

// readsFromReplica reports whether ctx's reads may come from a replica.
func readsFromReplica(ctx context.Context) bool {
	ok, _ := ctx.Value(replicaReadsKey{}).(bool)
	return ok
}

// ReadsFor returns ctx marked for replica reads unless the principal's last write (zero:
// never, or not recently) is within ReadYourWrites: whoever just wrote reads from the primary.
// Without replicas it returns ctx as it is.
func (s *Store) ReadsFor(ctx context.Context, lastWrite time.Time) context.Context {
	if s.replicas == nil || s.WroteRecently(lastWrite) {
		return ctx
	}
	return ReplicaReads(ctx)
}

// WroteRecently reports whether a write at lastWrite is recent enough that its principal must
// read from the primary.
func (s *Store) WroteRecently(lastWrite time.Time) bool {
	return s.replicas != nil && !lastWrite.IsZero() && s.now().Sub(lastWrite) < s.replicas.cfg.ReadYourWrites
}

// HasReplicas reports whether reads may go to replicas.
func (s *Store) HasReplicas() bool { return s.replicas != nil }

// ReadYourWrites is how long a principal reads from the primary after a write (0 without
// replicas): how long a browser keeps the cookie that says it wrote.
func (s *Store) ReadYourWrites() time.Duration {
	if s.replicas == nil {
		return 0
	}
	return s.replicas.cfg.ReadYourWrites
}

// UseReplicas adds PostgreSQL streaming replicas for the reads ReplicaReads marks, and starts
// measuring their lag until Close. Call it once, before serving.
func (s *Store) UseReplicas(cfg ReplicaConfig) error {
	if !s.IsPostgres() {
		return errors.New("read replicas need PostgreSQL")
	}
	if s.replicas != nil {
		return errors.New("replicas are set already")
	}
	if len(cfg.URLs) == 0 {
		return nil
	}
	if cfg.ReadYourWrites <= 0 {
		cfg.ReadYourWrites = DefaultReadYourWrites
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = DefaultMaxReplicaLag
	}
	if cfg.LagInterval <= 0 {
		cfg.LagInterval = defaultLagInterval
	}
	if cfg.ReadYourWrites <= cfg.MaxLag+cfg.LagInterval {
		return fmt.Errorf("the read-your-writes window (%s) must be longer than the replicas' maximum lag (%s) plus how often it is measured (%s)",
			cfg.ReadYourWrites, cfg.MaxLag, cfg.LagInterval)
	}
	set := &replicaSet{cfg: cfg, done: make(chan struct{})}
	var dialectors []gorm.Dialector
	for _, u := range cfg.URLs {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			set.close()
			return fmt.Errorf("replica %s: a replica URL is postgres://…", redactURL(u))
		}
		pool, err := sql.Open(driverOr(cfg.DriverName), u)
		if err != nil {
			set.close()
			return fmt.Errorf("replica %s: %w", redactURL(u), err)
		}
		configurePool(pool)
		r := &replica{url: redactURL(u), pool: pool}
		set.replicas = append(set.replicas, r)
		dialectors = append(dialectors, postgres.New(postgres.Config{Conn: pool}))
	}
	// The read handle shares the primary's pool: no second set of primary connections. The
	// primary is a candidate too, which the policy picks only when no replica is usable
	// (dbresolver would not ask the policy about a single replica).
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: s.SQL()}), gormConfig())
	if err == nil {
		dialectors = append(dialectors, postgres.New(postgres.Config{Conn: s.SQL()}))
		err = db.Use(dbresolver.Register(dbresolver.Config{Replicas: dialectors, Policy: set.policy(s.SQL())}))
	}
	if err != nil {
		set.close()
		return fmt.Errorf("replicas: %w", err)
	}
	set.db = db
	// Measure once before the first read, so that a replica that is down or far behind is never
	// read from; then keep measuring.
	ctx, stop := context.WithCancel(context.Background())
	set.stop = stop
	for _, r := range set.replicas {
		set.measure(ctx, r)
	}
	go set.watch(ctx)
	s.replicas = set
	return nil
}

// policy picks a usable replica at random, or the primary when none is usable.
func (set *replicaSet) policy(primary gorm.ConnPool) dbresolver.Policy {
	byPool := make(map[gorm.ConnPool]*replica, len(set.replicas))
	for _, r := range set.replicas {
		byPool[r.pool] = r
	}
	random := dbresolver.RandomPolicy{}
	return dbresolver.PolicyFunc(func(pools []gorm.ConnPool) gorm.ConnPool {
		usable := make([]gorm.ConnPool, 0, len(pools))
		for _, p := range pools {
			if r := byPool[p]; r != nil && r.usable.Load() {
				usable = append(usable, p)
			}
		}
		if len(usable) == 0 {
			return primary
		}
		return random.Resolve(usable)
	})
}

// watch measures every replica's lag every LagInterval until ctx ends.
func (set *replicaSet) watch(ctx context.Context) {
	defer close(set.done)
	t := time.NewTicker(set.cfg.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, r := range set.replicas {
			set.measure(ctx, r)
		}
	}
}

// replicaLagSQL is how far a replica is behind: 0 when it has replayed all it received, else
// the age of the last transaction it replayed; NULL when it is not a streaming replica (not in
// recovery, or its WAL receiver is not running).
const replicaLagSQL = `SELECT CASE
  WHEN NOT pg_is_in_recovery() OR NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN NULL
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)
END`

func (set *replicaSet) measure(ctx context.Context, r *replica) {
	ctx, cancel := context.WithTimeout(ctx, set.cfg.MaxLag)
	defer cancel()
	var seconds sql.NullFloat64
	err := r.pool.QueryRowContext(ctx, replicaLagSQL).Scan(&seconds)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // closing
	}
	lag := time.Duration(seconds.Float64 * float64(time.Second))
	if err == nil && !seconds.Valid {
		err = errors.New("not a streaming replica (not in recovery, or not receiving WAL)")
	}
	usable := err == nil && lag <= set.cfg.MaxLag
	r.lag.Store(int64(lag))
	if r.usable.Swap(usable) != usable && set.cfg.OnChange != nil {
		set.cfg.OnChange(r.url, usable, lag, err)
	}
}

// close stops measuring and closes the replicas' pools.
func (set *replicaSet) close() {
	if set.stop != nil {
		set.stop()
		<-set.done
	}
	for _, r := range set.replicas {
		r.pool.Close()
	}
}

// Replicas reports the replicas' state.
func (s *Store) Replicas() []ReplicaState {
	if s.replicas == nil {
		return nil
	}
	out := make([]ReplicaState, len(s.replicas.replicas))
	for i, r := range s.replicas.replicas {
		out[i] = ReplicaState{URL: r.url, Usable: r.usable.Load(), Lag: time.Duration(r.lag.Load())}
	}
	return out
}

// reportDB is where a report's read-only transaction begins: on a replica when ctx allows it
// (a standby serves read-only transactions), else as s.db(ctx).
func (s *Store) reportDB(ctx context.Context) *gorm.DB {
	if _, ok := ambientTx(ctx); !ok && s.replicas != nil && readsFromReplica(ctx) {
		return s.replicas.db.WithContext(ctx).Clauses(dbresolver.Read)
	}
	return s.db(ctx)
}

// readPool is the connection pool (or transaction) a read of ctx runs on, as s.db(ctx) picks.
func (s *Store) readPool(ctx context.Context) gorm.ConnPool {
	if tx, ok := ambientTx(ctx); ok {
		return tx.Statement.ConnPool
	}
	if s.replicas != nil && readsFromReplica(ctx) {
		// dbresolver resolves the pool of a read as the clause is applied.
		return s.replicas.db.WithContext(ctx).Clauses(dbresolver.Read).Statement.ConnPool
	}
	return s.DB.ConnPool
}
