package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rate limits count hits per key in fixed windows (a minute of API calls, fifteen minutes of
// failed logins) in the rate_counters table, so that every instance behind the load balancer
// counts against the same limit. Counting is one statement, an upsert that returns the new
// count: no lock held in the process, no read-then-write race between instances.

// RateCount is a key's count in the current window and when that window ends; LastWrite is
// when the key last counted a write (Take with write), zero if it has not.
type RateCount struct {
	Hits      int
	Reset     time.Time
	LastWrite time.Time
}

// rateWindow is the fixed window now falls in, as unix milliseconds.
func (s *Store) rateWindow(window time.Duration) (start, end int64) {
	now := s.now()
	w := now.Truncate(window)
	return w.UnixMilli(), w.Add(window).UnixMilli()
}

// Hit counts one hit against each key in the current window of length window and returns the
// counts after it, in the order of keys (a key given twice is counted once). It is one
// statement per call: the login throttle and the token endpoint count this way, exactly; the
// API's requests count through Take (ratequota.go), which needs no statement per request.
//
// An instance whose clock runs behind another's counts in the later window it finds, never
// resetting a window the other has begun.
func (s *Store) Hit(ctx context.Context, window time.Duration, keys ...string) ([]RateCount, error) {
	unique := uniqueKeys(keys)
	if len(unique) == 0 {
		return nil, nil
	}
	start, end := s.rateWindow(window)
	values := make([]string, len(unique))
	args := make([]any, 0, 3*len(unique))
	for i, k := range unique {
		values[i] = "(?, ?, ?, 1, 0)"
		args = append(args, k, start, end)
	}
	q := `INSERT INTO rate_counters (k, window_start, window_end, hits, last_write) VALUES ` + strings.Join(values, ", ") + `
ON CONFLICT (k) DO UPDATE SET
  hits = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.hits + 1 ELSE 1 END,
  window_end = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.window_end ELSE excluded.window_end END,
  window_start = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.window_start ELSE excluded.window_start END
RETURNING k, hits, window_end, last_write`
	return s.scanCounts(ctx, keys, q, args, true)
}

// Hits reads the counts of keys in the current window without counting.
func (s *Store) Hits(ctx context.Context, window time.Duration, keys ...string) ([]RateCount, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	start, _ := s.rateWindow(window)
	q := `SELECT k, hits, window_end, last_write FROM rate_counters WHERE k IN (?) AND window_start >= ?`
	return s.scanCounts(ctx, keys, q, []any{uniqueKeys(keys), start}, false)
}

// ResetHits forgets the counts of keys (a successful login forgets its client's failures).
func (s *Store) ResetHits(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.DB.WithContext(ctx).Exec(`DELETE FROM rate_counters WHERE k IN (?)`, keys).Error
}

// PurgeRateCounters deletes the counters of finished windows; the server calls it now and then.
func (s *Store) PurgeRateCounters(ctx context.Context) error {
	return s.DB.WithContext(ctx).Exec(`DELETE FROM rate_counters WHERE window_end < ?`, s.now().UnixMilli()).Error
}

// scanCounts runs q, which returns (k, hits, window_end, last_write) rows, and lines the counts up with
// keys; every key must have a row when counted (a key without one reads as zero otherwise).
func (s *Store) scanCounts(ctx context.Context, keys []string, q string, args []any, counted bool) ([]RateCount, error) {
	rows, err := s.DB.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byKey := make(map[string]RateCount, len(keys))
	for rows.Next() {
		var (
			k          string
			hits       int
			end, wrote int64
		)
		if err := rows.Scan(&k, &hits, &end, &wrote); err != nil {
			return nil, err
		}
		c := RateCount{Hits: hits, Reset: time.UnixMilli(end).UTC()}
		if wrote > 0 {
			c.LastWrite = time.UnixMilli(wrote).UTC()
		}
		byKey[k] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]RateCount, len(keys))
	for i, k := range keys {
		c, ok := byKey[k]
		if !ok && counted {
			return nil, fmt.Errorf("rate counter %q: no row returned", k)
		}
		out[i] = c
	}
	return out, nil
}

func uniqueKeys(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
