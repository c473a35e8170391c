package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestRateCounter: hits are counted per key and window in one statement, concurrently from two
// instances without losing one; a new window starts again at one; a clock behind does not reset
// a window that another instance has begun.
func TestRateCounter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s.Now = clock
		other := storetest.Reopen(t, s)
		other.Now = clock

		c, err := s.Hit(ctx, time.Minute, "a", "b", "a")
		if err != nil || len(c) != 3 || c[0].Hits != 1 || c[1].Hits != 1 || c[2].Hits != 1 {
			t.Fatalf("first hit: %+v %v", c, err)
		}
		if want := time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC); !c[0].Reset.Equal(want) {
			t.Fatalf("reset %v, want %v", c[0].Reset, want)
		}
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			st := s
			if i%2 == 1 {
				st = other
			}
			go func() {
				defer wg.Done()
				if _, err := st.Hit(ctx, time.Minute, "a"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := s.Hits(ctx, time.Minute, "a", "b", "none")
		if err != nil || got[0].Hits != 41 || got[1].Hits != 1 || got[2].Hits != 0 {
			t.Fatalf("after 40 concurrent hits on two instances: %+v %v", got, err)
		}

		// The next minute starts again at one.
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if c, _ := s.Hit(ctx, time.Minute, "a"); c[0].Hits != 1 {
			t.Fatalf("new window: %+v", c)
		}
		// An instance whose clock is a minute behind counts in the window already begun.
		other.Now = func() time.Time { return clock().Add(-time.Minute) }
		if c, _ := other.Hit(ctx, time.Minute, "a"); c[0].Hits != 2 {
			t.Fatalf("a clock behind reset the window: %+v", c)
		}
		if err := s.ResetHits(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Hits(ctx, time.Minute, "a"); got[0].Hits != 0 {
			t.Fatalf("after reset: %+v", got)
		}
		mu.Lock()
		now = now.Add(time.Hour)
		mu.Unlock()
		if err := s.PurgeRateCounters(ctx); err != nil {
			t.Fatal(err)
		}
		var n int64
		s.DB.Table("rate_counters").Count(&n)
		if n != 0 {
			t.Fatalf("%d counters left after the purge", n)
		}
	})
}

// TestRateCounterLastWrite: a write's hit records when it happened and every later hit of the
// key returns it (the next request's read-your-writes needs no query of its own), across
// windows and instances; a clock behind never moves it back.
func TestRateCounterLastWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
		var mu sync.Mutex
		set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s.Now = clock
		other := storetest.Reopen(t, s)
		other.Now = clock

		c, err := s.Hit(ctx, time.Minute, "api:client:x")
		if err != nil || !c[0].LastWrite.IsZero() {
			t.Fatalf("a read's hit: %+v %v, want no last write", c, err)
		}
		wrote := now
		if c, err = s.HitWrite(ctx, time.Minute, "api:client:x"); err != nil || !c[0].LastWrite.Equal(wrote) || c[0].Hits != 2 {
			t.Fatalf("a write's hit: %+v %v, want last write %v and 2 hits", c, err, wrote)
		}
		set(wrote.Add(2 * time.Second))
		if c, err = other.Hit(ctx, time.Minute, "api:client:x"); err != nil || !c[0].LastWrite.Equal(wrote) {
			t.Fatalf("the next read on another instance: %+v %v, want last write %v", c, err, wrote)
		}
		set(wrote.Add(time.Minute)) // the next window
		if c, err = s.Hit(ctx, time.Minute, "api:client:x"); err != nil || c[0].Hits != 1 || !c[0].LastWrite.Equal(wrote) {
			t.Fatalf("in the next window: %+v %v, want 1 hit and last write %v", c, err, wrote)
		}
		other.Now = func() time.Time { return wrote.Add(-time.Hour) } // a clock far behind
		if c, err = other.HitWrite(ctx, time.Minute, "api:client:x"); err != nil || !c[0].LastWrite.Equal(wrote) {
			t.Fatalf("a write from a clock behind: %+v %v, want last write still %v", c, err, wrote)
		}
		if got, err := s.Hits(ctx, time.Minute, "api:client:x"); err != nil || !got[0].LastWrite.Equal(wrote) {
			t.Fatalf("Hits: %+v %v", got, err)
		}
	})
}
