package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// BenchmarkFeedMove weighs what the change feed adds to a move, on both databases, in one run:
// each iteration makes the same kind of move with the feed (with-ms) and without it
// (without-ms), and the raw SQL of a move's essentials in its own transaction (lock the card,
// update it, one history row: raw-ms) for scale.
//
//	go test -run '^$' -bench FeedMove -benchtime 300x ./models/
func BenchmarkFeedMove(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.New(b, dialect)
			if err := s.LoadDemo(ctx, 500, nil, nil); err != nil {
				b.Fatal(err)
			}
			ps, _ := s.SalesPipelines(ctx)
			phases, _ := s.Phases(ctx, ps[0].ID)
			var open []uuid.UUID
			for _, p := range phases {
				if !p.IsTerminal {
					open = append(open, p.ID)
				}
			}
			var ids []uuid.UUID
			s.DB.Model(&models.Activity{}).Where("pipeline_id = ? AND NOT is_closed", ps[0].ID).Limit(400).Pluck("id", &ids)
			bare := models.WithoutFeed(s)
			var with, without, raw time.Duration
			i := 0
			for b.Loop() {
				for _, st := range []*models.Store{s, bare} {
					i++
					t0 := time.Now()
					if _, err := st.MoveActivity(ctx, ids[i%len(ids)], open[i%len(open)], nil, nil, nil, models.Actor{}); err != nil {
						b.Fatal(err)
					}
					if st == s {
						with += time.Since(t0)
					} else {
						without += time.Since(t0)
					}
				}
				i++
				t0 := time.Now()
				tx := s.DB.Begin()
				id, to := ids[i%len(ids)], open[i%len(open)]
				err := tx.Exec("SELECT id FROM activities WHERE id = ?", id).Error
				if err == nil {
					err = tx.Exec("UPDATE activities SET phase_id = ?, version = version + 1 WHERE id = ?", to, id).Error
				}
				if err == nil {
					err = tx.Exec("INSERT INTO phase_changes (id, activity_id, to_phase_id, moved_at) VALUES (?, ?, ?, ?)", uuid.New(), id, to, time.Now().UTC()).Error
				}
				if err == nil {
					err = tx.Commit().Error
				}
				if err != nil {
					b.Fatal(err)
				}
				raw += time.Since(t0)
			}
			b.ReportMetric(float64(with.Microseconds())/1000/float64(b.N), "with-ms")
			b.ReportMetric(float64(without.Microseconds())/1000/float64(b.N), "without-ms")
			b.ReportMetric(float64(raw.Microseconds())/1000/float64(b.N), "raw-ms")
		})
	}
}
