package models_test

import (
	"context"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestReplicaReads runs on a primary and a real streaming replica (clusters of its own). With
// the replica's replay paused, a read it serves sees the past, which tells who served a read:
// reads marked for replicas come from it (GORM's reads through dbresolver and the raw reads of
// the OData service alike), writes, even with a replica-marked context, land on the primary,
// and a principal that just wrote reads from the primary (ReadsFor). A replica that falls
// behind more than MaxLag is left out until it catches up.
func TestReplicaReads(t *testing.T) {
	primary := storetest.NewCluster(t)
	replica := storetest.NewReplica(t, primary)
	s := storetest.NewOn(t, primary.URL)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 5, nil, nil); err != nil {
		t.Fatal(err)
	}
	pipes, err := s.SalesPipelines(ctx)
	if err != nil || len(pipes) == 0 {
		t.Fatal(pipes, err)
	}
	subject := "before"
	a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &pipes[0].ID}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	replica.WaitReplayed()
	if err := s.UseReplicas(models.ReplicaConfig{URLs: []string{replica.On(storetest.URLOf(t, s))}, MaxLag: time.Hour, ReadYourWrites: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if st := s.Replicas(); len(st) != 1 || !st[0].Usable {
		t.Fatalf("replica state %+v, want one usable", st)
	}
	onReplica := models.ReplicaReads(ctx)

	// Raw reads (the OData service's) are served by the replica, and only when marked.
	var port int
	var standby bool
	rows, err := s.QueryContext(onReplica, `SELECT inet_server_port(), pg_is_in_recovery()`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		rows.Scan(&port, &standby)
	}
	rows.Close()
	if port != replica.Port || !standby {
		t.Fatalf("a replica read was served on port %d (standby %v), want the replica's %d", port, standby, replica.Port)
	}
	rows, err = s.QueryContext(ctx, `SELECT inet_server_port()`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		rows.Scan(&port)
	}
	rows.Close()
	if port != primary.Port {
		t.Fatalf("an unmarked read was served on port %d, want the primary's %d", port, primary.Port)
	}

	replica.PauseReplay()
	defer replica.ResumeReplay()
	after := "after"
	// A write with a replica-marked context still lands on the primary.
	if _, err := s.UpdateActivity(onReplica, a.ID, models.ActivityChanges{Subject: &after}, models.Actor{}); err != nil {
		t.Fatalf("a write with a replica-marked context: %v", err)
	}
	subjectOf := func(ctx context.Context) string {
		t.Helper()
		got, err := s.Activity(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Subject
	}
	if got := subjectOf(ctx); got != after {
		t.Fatalf("the primary reads %q, want %q", got, after)
	}
	if got := subjectOf(onReplica); got != subject {
		t.Fatalf("a replica read sees %q, want the replica's past %q (served by the primary?)", got, subject)
	}
	// Read-your-writes: whoever wrote a moment ago reads from the primary, others from the replica.
	if got := subjectOf(s.ReadsFor(ctx, s.Now())); got != after {
		t.Fatalf("the author reads %q right after writing, want %q", got, after)
	}
	if got := subjectOf(s.ReadsFor(ctx, s.Now().Add(-3*time.Hour))); got != subject {
		t.Fatalf("a principal whose last write is old reads %q, want the replica's %q", got, subject)
	}
	if got := subjectOf(s.ReadsFor(ctx, time.Time{})); got != subject {
		t.Fatalf("a principal that never wrote reads %q, want the replica's %q", got, subject)
	}
	// A report's read-only transaction runs on the replica too.
	today := models.NewDate(2026, 3, 1)
	if _, err := s.Forecast(onReplica, models.DefaultForecastFilter(today), today); err != nil {
		t.Fatalf("forecast on the replica: %v", err)
	}

	// A second instance that tolerates little lag leaves the paused replica out, then takes it
	// back once it has caught up.
	strict := storetest.Reopen(t, s)
	if err := strict.UseReplicas(models.ReplicaConfig{URLs: []string{replica.On(storetest.URLOf(t, s))},
		MaxLag: 200 * time.Millisecond, LagInterval: 50 * time.Millisecond, ReadYourWrites: time.Second}); err != nil {
		t.Fatal(err)
	}
	waitUsable := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strict.Replicas()[0].Usable != want {
			if time.Now().After(deadline) {
				t.Fatalf("replica usable %v after 20s, want %v: %+v", !want, want, strict.Replicas())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUsable(false)
	if got, err := strict.Activity(onReplica, a.ID); err != nil || got.Subject != after {
		t.Fatalf("with the replica behind, a replica read gets %v %v, want the primary's %q", got, err, after)
	}
	replica.ResumeReplay()
	waitUsable(true)
	if got, err := strict.Activity(onReplica, a.ID); err != nil || got.Subject != after {
		t.Fatalf("after catching up, the replica reads %v %v, want %q", got, err, after)
	}
}
