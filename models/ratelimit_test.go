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
