package models

import (
	"context"
	"sort"
	"time"

	"github.com/google/uuid"
)

// Pipeline health from the maintained aggregates (rollups.go): phase_stats holds what
// phaseHistoryScan computes from the whole move history, per phase and current owner, and
// open_ages the open activities per phase, owner and day they entered it. Both are a few
// thousand rows at most, whatever the number of activities; only the day on which a phase's
// rotting cutoff falls is counted exactly from the activities (an index range of one day).

// phaseHistory is phaseHistoryScan's figures from phase_stats (aliased a, so that owner's
// condition over a.sales_representative_id applies as it does to activities). won is unused:
// the stats count as won whoever is in a won phase now.
func (s *Store) phaseHistory(ctx context.Context, scope, won []uuid.UUID, owner condition, full bool) ([]phaseHistoryRow, error) {
	if len(scope) == 0 {
		return nil, nil
	}
	where, args := "a.phase_id IN ?", []any{scope}
	if owner.sql != "" {
		where += " AND " + owner.sql
		args = append(args, owner.args...)
	}
	var rows []phaseHistoryRow
	err := s.db(ctx).Raw(`SELECT CAST(a.phase_id AS text) AS phase_id, SUM(a.entered) AS entered, SUM(a.won) AS won,
			SUM(a.stays) AS stays, CAST(SUM(a.days) AS double precision) AS days
		FROM phase_stats a WHERE `+where+` GROUP BY a.phase_id`, args...).Scan(&rows).Error
	return rows, err
}

// openAndRotting sets each phase's Open and Rotting counts from open_ages and lists up to limit
// rotting activities, the longest idle first. cutoffs are the phases that can rot, with the
// time before which an activity entering them rots; where and args select the activities the
// list may show (healthWhere).
func (s *Store) openAndRotting(ctx context.Context, out []PhaseHealth, index map[string]int, cutoffs map[uuid.UUID]time.Time,
	owner condition, where string, args []any, now time.Time, limit int) ([]PhaseHealth, []RottingCard, error) {
	if len(out) == 0 {
		return out, nil, nil
	}
	ids := make([]uuid.UUID, len(out))
	for i, h := range out {
		ids[i] = h.ID
	}
	cond, cargs := "a.phase_id IN ?", []any{ids}
	if owner.sql != "" {
		cond += " AND " + owner.sql
		cargs = append(cargs, owner.args...)
	}
	var ages []struct {
		PhaseID string
		Day     Date
		N       int64
	}
	if err := s.db(ctx).Raw(`SELECT CAST(a.phase_id AS text) AS phase_id, a.day, SUM(a.n) AS n FROM open_ages a
		WHERE `+cond+` GROUP BY a.phase_id, a.day`, cargs...).Scan(&ages).Error; err != nil {
		return nil, nil, err
	}
	boundary := map[uuid.UUID]bool{}
	for _, r := range ages {
		i, ok := index[r.PhaseID]
		if !ok {
			continue
		}
		h := &out[i]
		h.Open += r.N
		cutoff, rots := cutoffs[h.ID]
		if !rots {
			continue
		}
		switch day := utcDay(cutoff); {
		case r.Day.Before(day.Time):
			h.Rotting += r.N
		case r.Day.Equal(day.Time):
			boundary[h.ID] = true
		}
	}
	// On the cutoff's own day only those that entered before the cutoff's time rot.
	for id := range boundary {
		cutoff := cutoffs[id]
		var n int64
		err := s.db(ctx).Table("activities AS a").Where("a.phase_id = ? AND NOT a.is_closed AND a.phase_entered_at >= ? AND a.phase_entered_at < ?",
			id, utcDay(cutoff).Time, cutoff).Where(where, args...).Count(&n).Error
		if err != nil {
			return nil, nil, err
		}
		out[index[id.String()]].Rotting += n
	}
	if len(cutoffs) == 0 || limit <= 0 {
		return out, nil, nil
	}
	// The longest idle: each phase's own oldest (an index range each), then the oldest of all.
	var cards []Card
	for id, cutoff := range cutoffs {
		if out[index[id.String()]].Rotting == 0 {
			continue
		}
		some, err := scanCards(s.db(ctx).Table("activities AS a").
			Joins(joinCustomer).
			Joins(joinRep).
			Where("a.phase_id = ? AND NOT a.is_closed AND a.phase_entered_at < ?", id, cutoff).Where(where, args...).
			Select(cardColumns).Order("a.phase_entered_at, a.id").Limit(limit))
		if err != nil {
			return nil, nil, err
		}
		cards = append(cards, some...)
	}
	sort.Slice(cards, func(i, j int) bool {
		a, b := cards[i], cards[j]
		if !a.PhaseEnteredAt.Equal(b.PhaseEnteredAt) {
			return a.PhaseEnteredAt.Before(b.PhaseEnteredAt)
		}
		return a.ID.String() < b.ID.String()
	})
	if len(cards) > limit {
		cards = cards[:limit]
	}
	return out, rottingCards(out, index, cards, now), nil
}
