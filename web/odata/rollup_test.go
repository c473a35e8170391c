package odata

import (
	"net/url"
	"strings"
	"testing"
)

// rollupModel is testModel with a Rollup for the opportunities: opportunity_rollups, per
// phase, pipeline and closedness, their count and amount summed.
func rollupModel() *Model {
	m := testModel()
	for i := range m.Sets {
		if m.Sets[i].Name == "Activity_SalesOpportunity" {
			m.Sets[i].Rollup = &Rollup{Table: "opportunity_rollups", Count: "n",
				Keys: []string{"phase_id", "pipeline_id", "is_closed"}, Sums: map[string]string{"Amount": "t.amount"}}
		}
	}
	return m
}

// The same $apply answers the same with the rollup as from the table, on both databases; the
// rollup is read only when it can answer.
func TestApplyReadsTheRollupWhenItCan(t *testing.T) {
	for _, d := range []*testDB{openSQLite(t), openPostgres(t)} {
		d.seed(t)
		if _, err := d.db.Exec(`CREATE TABLE opportunity_rollups AS SELECT phase_id, pipeline_id, is_closed, COUNT(*) AS n, SUM(amount) AS amount
			FROM opportunities GROUP BY phase_id, pipeline_id, is_closed`); err != nil {
			t.Fatal(err)
		}
		// A row that stands for nothing (all its opportunities moved away) adds no group.
		if _, err := d.db.Exec(`INSERT INTO opportunity_rollups (phase_id, pipeline_id, is_closed, n, amount) VALUES ('` + guid(21) + `', NULL, FALSE, 0, 0)`); err != nil {
			t.Fatal(err)
		}
		plain := newTestService(t, d, Options{})
		rolled, err := NewService(rollupModel(), d.db, d.dialect, Options{ServiceRoot: serviceRoot, Now: plain.opts.Now})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			apply  string
			rollup bool // answered from the rollup
		}{
			{"groupby((Phase/Name),aggregate(Amount with sum as Total))", true},
			{"groupby((Phase/Name,Pipeline/Name,IsClosed),aggregate(Amount with sum as S,$count as N))&$orderby=N desc", true},
			{"filter(IsClosed eq false)/aggregate(Amount with sum as S,$count as N)", true},
			{"filter(Phase/Code eq 'WON' or Pipeline eq null)/groupby((IsClosed),aggregate($count as N))&$count=true", true},
			{"aggregate(Amount with sum as S,$count as N)", true},
			{"filter(Amount gt 100)/aggregate($count as N)", false},                      // Amount is summed, not kept
			{"groupby((Subject),aggregate($count as N))", false},                         // not kept
			{"groupby((Phase/Name),aggregate(Amount with average as A))", false},         // only sums and counts
			{"filter(ProductLines/any(p: p/Amount gt 1))/aggregate($count as N)", false}, // a lambda reads the rows
			{"groupby((Phase/Name),aggregate(Quantity with sum as Q))", false},           // not in Sums
		} {
			target := "/v1/odata/Activity_SalesOpportunity?$apply=" + q.apply
			want, got := do(plain, "GET", target), do(rolled, "GET", target)
			if got.status != 200 || got.body != want.body {
				t.Errorf("%s %s:\n rollup %d %s\n table  %d %s", d.name, q.apply, got.status, got.body, want.status, want.body)
			}
			s, _ := rollupModel().resolve()
			query, err := parseQuery(mustQuery(t, "$apply="+q.apply))
			if err != nil {
				t.Fatal(err)
			}
			st, err := buildApply(&sqlBuilder{d: d.dialect}, s.sets["Activity_SalesOpportunity"], query.apply, query, 10, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if used := strings.Contains(st.sql, "opportunity_rollups"); used != q.rollup {
				t.Errorf("%s %s: rollup used %v, want %v: %s", d.name, q.apply, used, q.rollup, st.sql)
			}
		}
	}
}

// A property whose null means unknown has no sum in a group that holds a null.
func TestUnknownNullsMakeAggregatesUnknown(t *testing.T) {
	m := testModel()
	for i := range m.Types {
		if m.Types[i].Name == "Activity.SalesOpportunity" {
			m.Types[i].Properties = append(m.Types[i].Properties, Prop("Converted", EdmDouble, "t.amount * 2").Unknown())
		}
	}
	for _, d := range []*testDB{openSQLite(t), openPostgres(t)} {
		d.seed(t)
		s, err := NewService(m, d.db, d.dialect, Options{ServiceRoot: serviceRoot})
		if err != nil {
			t.Fatal(err)
		}
		got := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$apply=groupby((IsClosed),aggregate(Converted with sum as S,Amount with sum as A))")
		// Open: 1000 and an unknown (no amount): no sum; closed: 250.5 and 1000, doubled.
		if want := `"value":[{"IsClosed":false,"S":null,"A":1000},{"IsClosed":true,"S":2501,"A":1250.5}]`; !strings.Contains(got.body, want) {
			t.Errorf("%s: %s", d.name, got.body)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := rawQuery(strings.ReplaceAll(raw, " ", "%20"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
