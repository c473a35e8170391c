package models_test

import (
	"context"
	"testing"
	"time"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
)

// A card dragged out of a column while that column is renumbered keeps the place it got in its
// new column (issue 8: the renumbering wrote its old rank × 1024 over it). The interleaving is
// PostgreSQL's: the mover holds the card's row while the renumbering waits for it.
func TestRenumberSkipsACardLeavingTheColumn(t *testing.T) {
	s := storetest.New(t, migrations.Postgres)
	ctx := context.Background()
	f := newFixture(t, s)
	colA, colB, colC := f.phases["Qualification"].ID, f.phases["Proposal"].ID, f.phases["Negotiation"].ID
	p, q, x := f.create(t, "p", 0), f.create(t, "q", 0), f.create(t, "x", 0)
	y := f.create(t, "y", 0)
	if _, err := s.MoveActivity(ctx, y.ID, colC, nil, nil, nil, models.Actor{}); err != nil {
		t.Fatal(err)
	}
	// p and q with no gap left between them: a drop between them renumbers column A.
	for id, idx := range map[string]float64{p.ID.String(): 1, q.ID.String(): 1.0000000001, x.ID.String(): 5} {
		if err := s.DB.Exec("UPDATE activities SET sort_index = ? WHERE id = ?", idx, id).Error; err != nil {
			t.Fatal(err)
		}
	}

	// The mover: x to column B at 777, not committed yet.
	mover, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mover.Rollback()
	var moverPID int
	if err := mover.QueryRow("SELECT pg_backend_pid()").Scan(&moverPID); err != nil {
		t.Fatal(err)
	}
	if _, err := mover.Exec("UPDATE activities SET phase_id = $1, sort_index = 777 WHERE id = $2", colB, x.ID); err != nil {
		t.Fatal(err)
	}
	// The renumbering: y dropped between p and q in column A, waiting for x's row.
	done := make(chan error, 1)
	go func() {
		_, err := s.MoveActivity(ctx, y.ID, colA, &p.ID, &q.ID, nil, models.Actor{})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.SQL().QueryRow("SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", moverPID).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renumbering never waited for the moving card")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := mover.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ := s.Activity(ctx, x.ID)
	if got.PhaseID != colB || got.SortIndex != 777 {
		t.Fatalf("the moved card is in %v at %v, want column B at 777", got.PhaseID, got.SortIndex)
	}
	cards, _ := s.Cards(ctx, models.BoardFilter{PipelineID: f.sales.ID}, colA, nil, 10)
	var order []string
	for _, c := range cards {
		order = append(order, c.Subject)
	}
	if len(order) != 3 || order[0] != "p" || order[1] != "y" || order[2] != "q" {
		t.Fatalf("column A is %v, want p y q", order)
	}
}
