package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// The change feed: every committed change of the Store, one row each in table changes,
// appended in the change's own transaction (a rolled-back write leaves none). Live boards,
// webhooks and caches follow it by id through Feed.Subscribe.
//
// Ids are handed out in commit order, so "everything after the last id I saw" is exact: on
// PostgreSQL the append takes the schema's feed lock (an advisory lock: readers are not
// blocked) at the very end of the transaction and holds it to the commit, so the next writer
// gets its id only after the previous commit is visible; SQLite has one writer anyway. The rows of one transaction are appended in one
// statement just before it commits (Store.transact), which keeps that lock held for the commit
// alone, and never while the transaction waits for another lock.
//
// Fan-out: on PostgreSQL the append also NOTIFYs the newest id on a channel named after the
// database and schema (several instances, or tests in their own schemas, share a server); each
// instance's Feed.Run LISTENs on a dedicated session connection and reads the new rows. The table
// is the source of truth: a lost notification only delays a change until the next poll. On the
// embedded database the commit pokes the reader in process, and a poll covers other processes.

// ChangePhaseChanged is the feed's op for an update that moved an activity to another phase.
const ChangePhaseChanged = "phase_changed"

// ChangeResync is the op of a record that is not in the table: the subscriber asked for records
// that were pruned, so it cannot be told what changed up to ID and must read everything afresh.
const ChangeResync = "resync"

// FeedRetention is how long feed records are kept (pruned by RunScheduler).
const FeedRetention = 7 * 24 * time.Hour

// ChangeRecord is one row of the change feed.
type ChangeRecord struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	EntityType string
	EntityID   uuid.UUID `gorm:"type:uuid"`
	Op         string    // ChangeCreated, ChangeUpdated, ChangeDeleted, ChangePhaseChanged (or ChangeResync)
	// An activity's phase before and after (nil before a create, after a delete), and its pipeline.
	FromPhaseID, ToPhaseID, PipelineID *uuid.UUID `gorm:"type:uuid"`
	Version                            int
	ActorID                            *uuid.UUID `gorm:"type:uuid"` // the employee who made it; nil: the system or an unlinked login
	ActorRole                          string
	At                                 time.Time
}

func (ChangeRecord) TableName() string { return "changes" }

// IsActivity reports whether the record is about an activity (of any kind).
func (r *ChangeRecord) IsActivity() bool { return r.PipelineID != nil }

// IsPhaseOrPipeline reports whether the record is about a pipeline or a phase (a board's
// columns).
func (r *ChangeRecord) IsPhaseOrPipeline() bool {
	return r.EntityType == TypePipeline || strings.HasPrefix(r.EntityType, "Datastore.Phase.")
}

// changeRecord is the feed's row for a change.
func changeRecord(c *Change) ChangeRecord {
	r := ChangeRecord{EntityType: c.EntityType, EntityID: c.EntityID, Op: c.Op, Version: c.Version,
		ActorID: c.Actor.EmployeeID, ActorRole: c.Actor.Role, At: c.At,
		FromPhaseID: c.FromPhaseID, ToPhaseID: c.ToPhaseID}
	if c.Op == ChangeUpdated && c.FromPhaseID != nil && c.PhaseChanged() {
		r.Op = ChangePhaseChanged
	}
	if a := c.After; a != nil {
		r.PipelineID = &a.PipelineID
	} else if a := c.Before; a != nil {
		r.PipelineID = &a.PipelineID
	}
	return r
}

// pendingChanges are the feed rows of one open transaction, appended when it commits.
type pendingChanges struct{ recs []ChangeRecord }

// appendToFeed is the feed's ChangeHook: it queues the change's row with its transaction
// (Store.transact appends the queue before committing). A transaction the Store did not open
// (none emits today) appends at once.
func (s *Store) appendToFeed(tx *gorm.DB, c *Change) error {
	if s.noFeed {
		return nil
	}
	if p, ok := s.feed.pending.Load(tx.Statement.ConnPool); ok {
		p.(*pendingChanges).recs = append(p.(*pendingChanges).recs, changeRecord(c))
		return nil
	}
	return s.sql.appendChanges(tx, []ChangeRecord{changeRecord(c)})
}

// beginFeed starts the queue of a transaction's feed rows; endFeed appends them (err == nil,
// still inside the transaction) and forgets the queue.
func (s *Store) beginFeed(tx *gorm.DB) *pendingChanges {
	p := &pendingChanges{}
	s.feed.pending.Store(tx.Statement.ConnPool, p)
	return p
}

func (s *Store) endFeed(tx *gorm.DB, p *pendingChanges, err error) error {
	s.feed.pending.Delete(tx.Statement.ConnPool)
	if err != nil || len(p.recs) == 0 {
		return err
	}
	return s.sql.appendChanges(tx, p.recs)
}

// pendingOf is the queue of the transaction tx belongs to (nil: none).
func (s *Store) pendingOf(tx *gorm.DB) *pendingChanges {
	if p, ok := s.feed.pending.Load(tx.Statement.ConnPool); ok {
		return p.(*pendingChanges)
	}
	return nil
}

// changeColumns are the columns of a feed row as appendChanges writes them.
const changeColumns = "entity_type, entity_id, op, from_phase_id, to_phase_id, pipeline_id, version, actor_id, actor_role, at"

// changeValues is the VALUES list of feed rows; typed adds the casts PostgreSQL needs for a
// VALUES list that is not directly an INSERT's.
func changeValues(recs []ChangeRecord, typed bool) (string, []any) {
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	if typed {
		row = "(?::text, ?::uuid, ?::text, ?::uuid, ?::uuid, ?::uuid, ?::integer, ?::uuid, ?::text, ?::timestamptz)"
	}
	rows := make([]string, len(recs))
	args := make([]any, 0, 10*len(recs))
	for i, r := range recs {
		rows[i] = row
		args = append(args, r.EntityType, r.EntityID, r.Op, r.FromPhaseID, r.ToPhaseID, r.PipelineID, r.Version, r.ActorID, r.ActorRole, r.At)
	}
	return strings.Join(rows, ", "), args
}

// feedChannel is the SQL expression of this database's and schema's NOTIFY channel name.
const feedChannel = `'pb_changes_' || left(md5(current_database() || '.' || current_schema()), 16)`

// Feed follows the change feed for this process: Run reads new rows as they commit, Subscribe
// hands them on. One per Store (Store.Feed).
type Feed struct {
	s       *Store
	pending sync.Map  // gorm.ConnPool of an open transaction → *pendingChanges
	poke    chan bool // a commit in this process (buffered: a poke is never lost, never blocks)

	startOnce sync.Once
	stop      context.CancelFunc // ends what Start started (Store.Close)

	mu      sync.Mutex
	running bool
	head    int64          // the newest id read
	recent  []ChangeRecord // the newest rows read, oldest first (at most feedRecent)
	arrived chan struct{}  // closed (and replaced) when rows arrive
}

// feedRecent is how many of the newest rows a Feed keeps in memory for its subscribers; one
// further behind reads the table.
const feedRecent = 4096

func newFeed(s *Store) *Feed {
	return &Feed{s: s, poke: make(chan bool, 1), arrived: make(chan struct{})}
}

// Feed is the Store's change feed.
func (s *Store) Feed() *Feed { return s.feed }

// committed tells the reader that this process committed feed rows.
func (f *Feed) committed() {
	select {
	case f.poke <- true:
	default:
	}
}

// Latest is the id of the newest committed change: a page rendered after reading it shows every
// change up to it, so it subscribes after it.
func (f *Feed) Latest(ctx context.Context) (int64, error) {
	f.mu.Lock()
	head, running := f.head, f.running
	f.mu.Unlock()
	if running {
		return head, nil // never ahead of the table; a few rows read twice are harmless
	}
	var id *int64
	err := f.s.db(ctx).Raw("SELECT max(id) FROM changes").Scan(&id).Error
	if id == nil {
		return 0, err
	}
	return *id, err
}

// Running reports whether Run is following the table.
func (f *Feed) Running() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running
}

// Start runs Run in the background until the Store is closed; calls after the first do
// nothing. Live pages and webhooks call it, so that any Store that serves them follows the feed.
func (f *Feed) Start(cfg FeedConfig) {
	f.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		f.mu.Lock()
		f.stop = cancel
		f.mu.Unlock()
		go func() {
			if err := f.Run(ctx, cfg); err != nil && ctx.Err() == nil {
				if cfg.Logger == nil {
					cfg.Logger = slog.Default()
				}
				cfg.Logger.Error("change feed stopped", "err", err)
			}
		}()
	})
}

// close ends what Start started.
func (f *Feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stop != nil {
		f.stop()
	}
}

// FeedConfig is how Feed.Run follows the table.
type FeedConfig struct {
	// ListenURL is the PostgreSQL URL of the listener's session connection (LISTEN needs a
	// session: not through a transaction-mode pooler). Empty: the Store's own URL.
	ListenURL string
	// Poll is how often the table is read without a notification (default 2 s on PostgreSQL,
	// 1 s on the embedded database).
	Poll   time.Duration
	Logger *slog.Logger
}

// Run follows the table until ctx ends, handing new rows to the subscribers. Start it once per
// Store, before serving; subscribers before it do not hear anything.
func (f *Feed) Run(ctx context.Context, cfg FeedConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
		if f.s.IsPostgres() {
			cfg.Poll = 2 * time.Second
		}
	}
	head, err := f.Latest(ctx)
	if err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return errors.New("change feed: Run called twice")
	}
	f.running, f.head = true, head
	// A subscriber that came before this read waits with a cursor behind head: wake it, so
	// that it reads the rows up to head from the table (they are in no notification it heard).
	close(f.arrived)
	f.arrived = make(chan struct{})
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
	}()
	go f.s.followRevocations(ctx, head) // tokencache.go
	if f.s.IsPostgres() {
		var channel string
		if err := f.s.DB.WithContext(ctx).Raw("SELECT " + feedChannel).Scan(&channel).Error; err != nil {
			return fmt.Errorf("change feed: %w", err)
		}
		url := cfg.ListenURL
		if url == "" {
			url = f.s.url
		}
		go f.listen(ctx, url, channel, cfg.Logger)
	}
	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	for {
		if err := f.readNew(ctx); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("change feed: reading new changes", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.poke:
		case <-tick.C:
		}
	}
}

// listen keeps a LISTEN session open, poking the reader on every notification, and reconnects
// (poking once: what was notified meanwhile is read then) when the session breaks.
func (f *Feed) listen(ctx context.Context, url, channel string, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgconn.Connect(ctx, url)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+quoteIdent(channel)).ReadAll()
			if err == nil {
				backoff = 100 * time.Millisecond
				f.committed() // catch up on what the broken session missed
				for err == nil {
					if err = conn.WaitForNotification(ctx); err == nil {
						f.committed()
					}
				}
			}
			conn.Close(context.Background())
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("change feed: listener connection lost; polling until it is back", "err", err, "retry", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// readNew reads the rows after head and tells the subscribers.
func (f *Feed) readNew(ctx context.Context) error {
	for {
		f.mu.Lock()
		head := f.head
		f.mu.Unlock()
		var recs []ChangeRecord
		if err := f.s.DB.WithContext(ctx).Where("id > ?", head).Order("id").Limit(1000).Find(&recs).Error; err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		f.mu.Lock()
		f.recent = append(f.recent, recs...)
		if n := len(f.recent); n > feedRecent {
			f.recent = append(f.recent[:0:0], f.recent[n-feedRecent:]...)
		}
		f.head = recs[len(recs)-1].ID
		close(f.arrived)
		f.arrived = make(chan struct{})
		f.mu.Unlock()
		if len(recs) < 1000 {
			return nil
		}
	}
}

// Subscription hands on the feed's rows after an id, in id order (C), until Close.
type Subscription struct {
	C    <-chan ChangeRecord
	done chan struct{}
	once sync.Once
}

// Close ends the subscription (C is closed soon after).
func (sub *Subscription) Close() { sub.once.Do(func() { close(sub.done) }) }

// Subscribe follows the feed from the row after afterID (0: the first kept). If rows after
// afterID were pruned, the first record is a ChangeResync one. A subscriber that falls behind
// delays nobody: it reads what it missed from the table.
func (f *Feed) Subscribe(afterID int64) *Subscription {
	out := make(chan ChangeRecord, 64)
	sub := &Subscription{C: out, done: make(chan struct{})}
	go func() {
		defer close(out)
		cursor := afterID
		for {
			recs, wait, err := f.since(cursor)
			if err != nil {
				// The table cannot be read (the database is away): try again shortly.
				retry := make(chan struct{})
				time.AfterFunc(time.Second, func() { close(retry) })
				wait = retry
			}
			for _, r := range recs {
				select {
				case out <- r:
					cursor = r.ID
				case <-sub.done:
					return
				}
			}
			if len(recs) > 0 {
				continue
			}
			select {
			case <-wait:
			case <-sub.done:
				return
			}
		}
	}()
	return sub
}

// since returns the rows after cursor that the reader has seen (from memory when it still has
// them), or a channel that says when there are more.
func (f *Feed) since(cursor int64) ([]ChangeRecord, <-chan struct{}, error) {
	f.mu.Lock()
	head, wait := f.head, f.arrived
	if cursor >= head {
		f.mu.Unlock()
		return nil, wait, nil
	}
	if len(f.recent) > 0 && cursor >= f.recent[0].ID-1 {
		i := sort.Search(len(f.recent), func(i int) bool { return f.recent[i].ID > cursor })
		recs := append([]ChangeRecord(nil), f.recent[i:]...)
		f.mu.Unlock()
		return recs, wait, nil
	}
	f.mu.Unlock()
	var recs []ChangeRecord
	if err := f.s.DB.Where("id > ? AND id <= ?", cursor, head).Order("id").Limit(500).Find(&recs).Error; err != nil {
		return nil, nil, err
	}
	if cursor > 0 && (len(recs) == 0 || recs[0].ID > cursor+1) {
		// A gap: rows were pruned (or, rarely, an id was rolled back). Either way the
		// subscriber cannot know, so it starts afresh from what is kept.
		upTo := head
		if len(recs) > 0 {
			upTo = recs[0].ID - 1
		}
		recs = append([]ChangeRecord{{ID: upTo, Op: ChangeResync}}, recs...)
	}
	return recs, wait, nil
}

// Prune deletes the feed rows older than before, once across instances (the one holding the
// advisory lock does it), and returns how many.
func (f *Feed) Prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := f.s.transact(ctx, func(tx *gorm.DB) error {
		if got, err := f.s.sql.schemaLock(tx, "phaseboard.feed.prune"); err != nil || !got {
			return err
		}
		// Never what a webhook has yet to queue (its cursor is behind only while no instance
		// runs the deliveries).
		res := tx.Where("at < ? AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.cursor < changes.id)", before).Delete(&ChangeRecord{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// Changes lists the feed rows after afterID, oldest first, at most limit (for tests, the admin
// and catching up).
func (s *Store) Changes(ctx context.Context, afterID int64, limit int) ([]ChangeRecord, error) {
	var recs []ChangeRecord
	err := s.db(ctx).Where("id > ?", afterID).Order("id").Limit(limit).Find(&recs).Error
	return recs, err
}

// LastChange is the newest feed row of an entity and the name of who made it ("" for the
// system or a login without an employee), or nil when the feed has none (pruned).
func (s *Store) LastChange(ctx context.Context, entityID uuid.UUID) (*ChangeRecord, string, error) {
	var recs []ChangeRecord
	if err := s.db(ctx).Where("entity_id = ?", entityID).Order("id DESC").Limit(1).Find(&recs).Error; err != nil || len(recs) == 0 {
		return nil, "", err
	}
	r := &recs[0]
	if r.ActorID == nil {
		return r, "", nil
	}
	var e []Employee
	if err := s.db(ctx).Scopes(withPerson("employees")).Where("employees.id = ?", *r.ActorID).Limit(1).Find(&e).Error; err != nil || len(e) == 0 {
		return r, "", err
	}
	return r, e[0].FullName(), nil
}

// String is a record for logs and messages.
func (r ChangeRecord) String() string {
	return strconv.FormatInt(r.ID, 10) + " " + r.Op + " " + r.EntityType + " " + r.EntityID.String()
}
