package models

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Forecast snapshots: a copy of the forecast rollups (with each row's effective forecast
// category) at one moment, kept for good. One is taken every week by the scheduler and any
// time a manager asks; ForecastFrom(SourceSnapshot(id), …) shows the forecast as it was. What
// changed between two moments, deal by deal, comes from deal_history (waterfall.go).

// Snapshot triggers.
const (
	SnapshotWeekly = "weekly"
	SnapshotManual = "manual"
)

// SnapshotEvery is how often the scheduler takes a weekly snapshot.
const SnapshotEvery = 7 * 24 * time.Hour

// Snapshot is one snapshot.
type Snapshot struct {
	ID      uuid.UUID `gorm:"primaryKey;type:uuid"`
	TakenAt time.Time
	Trigger string
	Author  string // who asked for a manual one
}

func (Snapshot) TableName() string { return "forecast_snapshots" }

// TakeSnapshot takes a snapshot now: manual ones for managers and admins (author names them),
// weekly ones for the system.
func (s *Store) TakeSnapshot(ctx context.Context, trigger, author string, actor Actor) (*Snapshot, error) {
	switch {
	case trigger == SnapshotWeekly && !actor.IsSystem():
		return nil, Errorf(EForbidden, "Weekly snapshots are the scheduler's.")
	case trigger != SnapshotWeekly && trigger != SnapshotManual:
		return nil, FieldError("trigger", "A snapshot is weekly or manual.")
	}
	if err := mustSetTargets(actor); err != nil {
		return nil, err
	}
	var out *Snapshot
	err := s.transact(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.takeSnapshot(tx, trigger, author)
		return err
	})
	return out, err
}

func (s *Store) takeSnapshot(tx *gorm.DB, trigger, author string) (*Snapshot, error) {
	snap := &Snapshot{ID: uuid.New(), TakenAt: s.now(), Trigger: trigger, Author: author}
	if err := tx.Create(snap).Error; err != nil {
		return nil, err
	}
	err := tx.Exec(`INSERT INTO forecast_snapshot_rows (snapshot_id, pipeline_id, phase_id, sales_representative_id, forecast_category,
			currency, is_closed, day, n, amount, estimated_amount, weighted_amount)
		SELECT ?, r.pipeline_id, r.phase_id, r.sales_representative_id, COALESCE(r.forecast_category, ph.forecast_category),
			r.currency, r.is_closed, r.day, r.n, r.amount, r.estimated_amount, r.weighted_amount
		FROM forecast_rollups r JOIN phases ph ON ph.id = r.phase_id WHERE r.n <> 0`, snap.ID).Error
	return snap, err
}

// Snapshots lists the snapshots, newest first, at most limit.
func (s *Store) Snapshots(ctx context.Context, limit int) ([]Snapshot, error) {
	var out []Snapshot
	err := s.db(ctx).Order("taken_at DESC, id").Limit(limit).Find(&out).Error
	return out, err
}

// Snapshot loads one snapshot.
func (s *Store) Snapshot(ctx context.Context, id uuid.UUID) (*Snapshot, error) {
	var snap Snapshot
	err := s.db(ctx).Where("id = ?", id).Take(&snap).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That snapshot does not exist.")
	}
	return &snap, err
}

// SnapshotIfDue takes the weekly snapshot when the last one is older than SnapshotEvery (or
// there is none), and tidies the maintained tables. It runs once across instances: the
// instance that holds the advisory lock does it and the others skip; the check
// reads the database, so a restart picks up where the schedule left off. It returns the
// snapshot taken, or nil.
func (s *Store) SnapshotIfDue(ctx context.Context) (*Snapshot, error) {
	var out *Snapshot
	err := s.transact(ctx, func(tx *gorm.DB) error {
		if got, err := s.sql.advisoryLock(tx, lockSnapshots, true); err != nil || !got {
			return err // nil when another instance is at it
		}
		var last []time.Time
		if err := tx.Model(&Snapshot{}).Where("trigger = ?", SnapshotWeekly).Order("taken_at DESC").Limit(1).Pluck("taken_at", &last).Error; err != nil {
			return err
		}
		if len(last) == 1 && s.now().Sub(last[0]) < SnapshotEvery {
			return nil
		}
		var err error
		if out, err = s.takeSnapshot(tx, SnapshotWeekly, ""); err != nil {
			return err
		}
		return s.tidyAggregates(tx)
	})
	return out, err
}

// tidyAggregates drops the maintained rows that no longer count anything (a phase emptied, a
// day passed): they only lengthen the reads. A write racing with it re-creates its row.
func (s *Store) tidyAggregates(tx *gorm.DB) error {
	for _, q := range []string{
		"DELETE FROM forecast_rollups WHERE n = 0",
		"DELETE FROM open_ages WHERE n = 0",
		"DELETE FROM phase_stats WHERE entered = 0 AND won = 0 AND stays = 0",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

// RunScheduler checks every interval (and at once) whether the weekly snapshot is due, until
// ctx ends. Every instance runs it; SnapshotIfDue makes sure only one takes each snapshot.
func (s *Store) RunScheduler(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		snap, err := s.SnapshotIfDue(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("weekly forecast snapshot", "err", err)
		case snap != nil:
			log.Info("weekly forecast snapshot taken", "id", snap.ID)
		}
		// The change feed's old rows: the instance holding the lock prunes, the others skip.
		if n, err := s.Feed().Prune(ctx, s.now().Add(-FeedRetention)); err != nil && ctx.Err() == nil {
			log.Error("pruning the change feed", "err", err)
		} else if n > 0 {
			log.Info("change feed pruned", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
