package models_test

import (
	"context"
	"sync"
	"sync/atomic"
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

// TestQuotaLastWrite: a write taken from the quota records when it happened and every later
// share of the key returns it (the next request's read-your-writes needs no query of its own),
// across windows and instances; a clock behind never moves it back.
func TestQuotaLastWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
		var mu sync.Mutex
		set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s.Now = clock
		other := storetest.Reopen(t, s)
		other.Now = clock
		const key, limit = "api:client:x", 1000

		c, ok, err := s.Take(ctx, time.Minute, key, limit, false)
		if err != nil || !ok || !c.LastWrite.IsZero() || c.Hits != 1 {
			t.Fatalf("a read: %+v %v %v, want one hit and no last write", c, ok, err)
		}
		wrote := now
		if c, ok, err = s.Take(ctx, time.Minute, key, limit, true); err != nil || !ok || !c.LastWrite.Equal(wrote) || c.Hits != 2 {
			t.Fatalf("a write: %+v %v %v, want last write %v and 2 hits", c, ok, err, wrote)
		}
		set(wrote.Add(2 * time.Second))
		if c, ok, err = other.Take(ctx, time.Minute, key, limit, false); err != nil || !ok || !c.LastWrite.Equal(wrote) {
			t.Fatalf("the next read on another instance: %+v %v, want last write %v", c, err, wrote)
		}
		set(wrote.Add(time.Minute)) // the next window
		if c, ok, err = s.Take(ctx, time.Minute, key, limit, false); err != nil || !ok || c.Hits != 1 || !c.LastWrite.Equal(wrote) {
			t.Fatalf("in the next window: %+v %v, want 1 hit and last write %v", c, err, wrote)
		}
		other.Now = func() time.Time { return wrote.Add(-time.Hour) } // a clock far behind
		if c, _, err = other.Take(ctx, time.Minute, key, limit, true); err != nil || !c.LastWrite.Equal(wrote) {
			t.Fatalf("a write from a clock behind: %+v %v, want last write still %v", c, err, wrote)
		}
		if got, err := s.Hits(ctx, time.Minute, key); err != nil || !got[0].LastWrite.Equal(wrote) {
			t.Fatalf("Hits: %+v %v", got, err)
		}
	})
}

// TestQuotaHoldsAcrossInstances: two instances handing out shares of one key's quota let exactly
// the limit through, however their requests interleave, and a read within a share sends no
// statement; the next window starts again.
func TestQuotaHoldsAcrossInstances(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			s, counter := storetest.NewCounting(t, d)
			ctx := context.Background()
			now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			s.Now = clock
			other := storetest.Reopen(t, s)
			other.Now = clock
			const limit = 50
			var passed, refused atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 200; i++ {
				wg.Add(1)
				st := s
				if i%2 == 1 {
					st = other
				}
				go func() {
					defer wg.Done()
					_, ok, err := st.Take(ctx, time.Minute, "k", limit, false)
					switch {
					case err != nil:
						t.Error(err)
					case ok:
						passed.Add(1)
					default:
						refused.Add(1)
					}
				}()
			}
			wg.Wait()
			if passed.Load() != limit || refused.Load() != 200-limit {
				t.Fatalf("200 requests at %d a minute on two instances: %d passed, %d refused", limit, passed.Load(), refused.Load())
			}
			// A refused key answers from memory until its window ends.
			counter.Reset()
			if _, ok, _ := s.Take(ctx, time.Minute, "k", limit, false); ok || counter.Counts().Statements != 0 {
				t.Fatalf("a spent quota: ok %v after %d statements, want refused without one", ok, counter.Counts().Statements)
			}
			// A fresh key takes one share, then answers from it.
			if _, ok, _ := s.Take(ctx, time.Minute, "fresh", 1<<20, false); !ok {
				t.Fatal("fresh key refused")
			}
			counter.Reset()
			for i := 0; i < 100; i++ {
				if _, ok, err := s.Take(ctx, time.Minute, "fresh", 1<<20, false); !ok || err != nil {
					t.Fatalf("read %d refused: %v", i, err)
				}
			}
			if n := counter.Counts().Statements; n != 0 {
				t.Fatalf("100 reads within a share sent %d statements, want 0", n)
			}
			mu.Lock()
			now = now.Add(time.Minute)
			mu.Unlock()
			if c, ok, err := s.Take(ctx, time.Minute, "k", limit, false); !ok || err != nil || c.Hits != 1 {
				t.Fatalf("the next window: %+v %v %v", c, ok, err)
			}
		})
	}
}
