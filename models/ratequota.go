package models

import (
	"context"
	"sync"
	"time"
)

// The API's rate limit is counted in the shared rate_counters table, so that every instance
// counts against one limit, but a request does not pay a round trip (and a row lock on its
// client's counter) to be counted. Each instance takes a share of a key's quota from the shared
// counter in one upsert and hands it out from memory; when its share runs out it takes another.
// What the instances took never exceeds the limit, so the limit holds exactly across instances;
// the price is that a share one instance took and did not use before the window ends is lost to
// the others (shares are small: a sixteenth of what was left, at most quotaShareMax).

const quotaShareMax = 256

// quotas is the instance's share of each key's quota in the current window.
type quotas struct{ m sync.Map } // key → *quota

// quota is one key's share. Its lock is the key's own: requests of other keys never wait on it,
// and requests of this key wait only while a share is being taken.
type quota struct {
	mu          sync.Mutex
	windowStart int64     // the window the share belongs to (unix ms)
	reset       time.Time // when that window ends
	left        int       // taken and not yet handed out
	sharedHits  int       // the shared counter as last seen
	spent       bool      // the shared counter is past the limit: refuse until the window ends
	lastWrite   time.Time // the key's last write, as last seen
}

func (qs *quotas) of(key string) *quota {
	if q, ok := qs.m.Load(key); ok {
		return q.(*quota)
	}
	q, _ := qs.m.LoadOrStore(key, &quota{})
	return q.(*quota)
}

// Take counts one request of key against a limit of limit per window and reports whether it is
// within the limit, with the key's count (Hits as used so far, Reset, LastWrite). A write (write
// true) also records now as the key's last write in the shared counter, which is one statement;
// a read needs none while the instance holds a share. Only with read replicas, where the last
// write decides where a read goes (ReadsFor), does a read read it back from the primary.
func (s *Store) Take(ctx context.Context, window time.Duration, key string, limit int, write bool) (RateCount, bool, error) {
	q := s.quotas.of(key)
	q.mu.Lock()
	defer q.mu.Unlock()
	start, end := s.rateWindow(window)
	if q.windowStart != start {
		q.windowStart, q.reset = start, time.UnixMilli(end).UTC()
		q.left, q.sharedHits, q.spent = 0, 0, false
	}
	var wrote int64
	if write {
		wrote = s.now().UnixMilli()
	}
	if q.left == 0 && !q.spent || write {
		share := 0
		if q.left == 0 && !q.spent {
			share = min(quotaShareMax, max(1, (limit-q.sharedHits)/16))
		}
		if err := q.takeShare(ctx, s, key, share, limit, wrote); err != nil {
			return RateCount{}, false, err
		}
	} else if s.replicas != nil {
		got, err := s.Hits(ctx, window, key)
		if err != nil {
			return RateCount{}, false, err
		}
		q.lastWrite = later(q.lastWrite, got[0].LastWrite)
	}
	ok := q.left > 0
	if ok {
		q.left--
	}
	remaining := q.left + max(0, limit-q.sharedHits)
	return RateCount{Hits: limit - remaining, Reset: q.reset, LastWrite: q.lastWrite}, ok, nil
}

// takeShare adds share hits to the shared counter (and the last write, when wrote is set) in
// one upsert, and keeps the part of the share that was within the limit.
func (q *quota) takeShare(ctx context.Context, s *Store, key string, share, limit int, wrote int64) error {
	start, end := q.windowStart, q.reset.UnixMilli()
	var c struct {
		Hits      int
		WindowEnd int64
		LastWrite int64
	}
	err := s.DB.WithContext(ctx).Raw(`INSERT INTO rate_counters (k, window_start, window_end, hits, last_write) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (k) DO UPDATE SET
  hits = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.hits + excluded.hits ELSE excluded.hits END,
  window_end = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.window_end ELSE excluded.window_end END,
  window_start = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.window_start ELSE excluded.window_start END,
  last_write = CASE WHEN excluded.last_write > rate_counters.last_write THEN excluded.last_write ELSE rate_counters.last_write END
RETURNING hits, window_end, last_write`, key, start, end, share, wrote).Scan(&c).Error
	if err != nil {
		return err
	}
	granted := min(share, limit-(c.Hits-share))
	if granted > 0 {
		q.left += granted
	}
	if granted < share {
		q.spent = true // the others took the rest of this window
	}
	q.sharedHits = c.Hits
	q.reset = time.UnixMilli(c.WindowEnd).UTC() // a window another instance began earlier
	if c.LastWrite > 0 {
		q.lastWrite = later(q.lastWrite, time.UnixMilli(c.LastWrite).UTC())
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
