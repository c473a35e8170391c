package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Every Store method is one transaction, and transactions compose: a method called with a ctx
// that carries a transaction (InTx) joins it instead of opening its own, so a composed change
// (an admin's rename-and-archive, an OData $batch change set) commits or rolls back as one.

type txKey struct{}

// InTx runs fn in one transaction. Every Store call made with the ctx that fn receives joins it;
// an error from fn rolls everything back. InTx inside InTx joins the outer transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.transact(ctx, func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// ambientTx is the transaction ctx carries, if any.
func ambientTx(ctx context.Context) (*gorm.DB, bool) {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	return tx, ok && tx != nil
}

// db is the handle a read should use: the ambient transaction (so a composed change reads its
// own writes), else a replica when ctx allows it (replicas.go; writes through that handle still
// go to the primary), else the primary's pool.
func (s *Store) db(ctx context.Context) *gorm.DB {
	if tx, ok := ambientTx(ctx); ok {
		return tx
	}
	if s.replicas != nil && readsFromReplica(ctx) {
		return s.replicas.db.WithContext(ctx)
	}
	return s.DB.WithContext(ctx)
}

// transact runs fn in one transaction. Joined to an ambient one, fn runs in a savepoint: its
// error undoes only its own statements (PostgreSQL would otherwise refuse every later
// statement of the transaction), and the caller decides. Alone, a deadlock or serialisation
// failure (rare: two column renumberings that cross) is retried a few times.
func (s *Store) transact(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if tx, ok := ambientTx(ctx); ok {
		// The savepoint's feed rows go when it is rolled back.
		p := s.pendingOf(tx)
		var queued int
		if p != nil {
			queued = len(p.recs)
		}
		err := tx.Transaction(fn)
		if err != nil && p != nil {
			p.recs = p.recs[:queued]
		}
		return err
	}
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		appended := false
		err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			p := s.beginFeed(tx)
			err := s.endFeed(tx, p, fn(tx)) // the feed's rows last: feed.go says why
			appended = err == nil && len(p.recs) > 0
			return err
		})
		if err == nil && appended {
			s.feed.committed()
		}
		if !isRetryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}
