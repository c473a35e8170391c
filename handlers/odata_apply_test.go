package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// applyData creates five opportunities in the sales pipeline with known figures (the weighted
// amount is estimated × the phase's default probability; Won closes at 100, Lost at 0):
//
//	A Qualification 10,000 (10%) Anna  weighted  1,000 open  expected 2026-03-10
//	B Proposal      20,000 (30%) Bram  weighted  6,000 open  expected 2026-03-11
//	C Proposal       5,000 (30%) Anna  weighted  1,500 open  expected 2026-03-12
//	D Won            4,000 (100%) Bram weighted  4,000 closed expected 2026-03-13
//	E Lost           3,000 (0%)  none  weighted      0 closed expected 2026-03-14
//
// It returns the pipeline's name and a read token.
func applyData(t *testing.T, s *server) (pipeline, token string) {
	t.Helper()
	ctx := context.Background()
	pipe, phases := fixture(t, s.store)
	reps, err := s.store.Employees(ctx)
	if err != nil || len(reps) < 2 {
		t.Fatal("employees", err)
	}
	anna, bram := reps[0], reps[1]
	for i, o := range []struct {
		subject, phase string
		est            float64
		rep            *models.Employee
	}{
		{"Deal A", "Qualification", 10000, &anna}, {"Deal B", "Proposal", 20000, &bram}, {"Deal C", "Proposal", 5000, &anna},
		{"Deal D", "Won", 4000, &bram}, {"Deal E", "Lost", 3000, nil},
	} {
		subject, est, ph := o.subject, o.est, phases[o.phase].ID
		d := models.NewDate(2026, 3, 10+i)
		ch := models.ActivityChanges{Subject: &subject, PipelineID: &pipe.ID, PhaseID: &ph, EstimatedAmount: &est, ExpectedOrderDate: &d}
		if o.rep != nil {
			ch.SalesRepresentativeID = &o.rep.ID
		}
		if _, err := s.store.CreateActivity(ctx, models.SalesOpportunity, ch, models.Actor{}); err != nil {
			t.Fatalf("create %s: %v", subject, err)
		}
	}
	token, _ = authtest.Token(t, s.store, models.RoleManager, "read", &anna.ID)
	return pipe.Name, token
}

func applyGet(t *testing.T, s *server, token, query string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+"/v1/odata/Activity_SalesOpportunity?"+strings.ReplaceAll(query, " ", "%20"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestODataApply(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			s := newServer(t, d, 0)
			pipeline, token := applyData(t, s)
			tests := []struct {
				query  string
				status int
				want   string // the exact body for 200s, a substring of the error otherwise
			}{
				// The example: weighted amount per phase, in phase name order.
				{"$apply=groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))", 200,
					`{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Phase(Name),Weighted)","value":[{"Phase":{"Name":"Lost"},"Weighted":0},{"Phase":{"Name":"Proposal"},"Weighted":7500},{"Phase":{"Name":"Qualification"},"Weighted":1000},{"Phase":{"Name":"Won"},"Weighted":4000}]}`},
				// filter() before groupby: the open pipeline.
				{"$apply=filter(IsClosed eq false)/groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))", 200,
					`{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Phase(Name),Weighted)","value":[{"Phase":{"Name":"Proposal"},"Weighted":7500},{"Phase":{"Name":"Qualification"},"Weighted":1000}]}`},
				// Per rep, biggest first; E has no rep: a null group.
				{"$apply=groupby((SalesRepresentative/_Name),aggregate(EstimatedAmount with sum as Total,EstimatedAmount with average as Avg,$count as N))&$orderby=Total desc", 200,
					`{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(SalesRepresentative(_Name),Total,Avg,N)","value":[{"SalesRepresentative":{"_Name":"Bram Jansen"},"Total":24000,"Avg":12000,"N":2},{"SalesRepresentative":{"_Name":"Anna de Vries"},"Total":15000,"Avg":7500,"N":2},{"SalesRepresentative":{"_Name":null},"Total":3000,"Avg":3000,"N":1}]}`},
				// Everything in one row.
				{"$apply=aggregate(EstimatedAmount with sum as Total,WeightedAmount with max as MaxW,Probability with min as MinP,Probability with average as AvgP,ExpectedOrderDate with max as Last,Phase/Name with countdistinct as Phases,$count as N)", 200,
					`{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Total,MaxW,MinP,AvgP,Last,Phases,N)","value":[{"Total":42000,"MaxW":6000,"MinP":0,"AvgP":34,"Last":"2026-03-14","Phases":4,"N":5}]}`},
				// $filter, $orderby, $count, $skip and $top on the groups: Proposal 7,500 and Won 4,000 weigh over 1,000.
				{"$apply=groupby((Pipeline/Name,Phase/Name),aggregate(WeightedAmount with sum as Weighted))&$filter=Weighted gt 1000&$orderby=Weighted desc&$count=true&$skip=1&$top=1", 200,
					`{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Pipeline(Name),Phase(Name),Weighted)","@odata.count":2,"value":[{"Pipeline":{"Name":"` + pipeline + `"},"Phase":{"Name":"Won"},"Weighted":4000}]}`},
				{"$apply=groupby((IsClosed),aggregate(EstimatedAmount with sum as Total))&$filter=IsClosed", 200,
					`{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(IsClosed,Total)","value":[{"IsClosed":true,"Total":7000}]}`},
				{"$apply=groupby((Phase/Nope),aggregate(WeightedAmount with sum as W))", 400, "unknown property Nope"},
				{"$apply=groupby((Phase/Name),aggregate(Subject with sum as S))", 400, "cannot compute sum of Subject"},
				{"$apply=aggregate(Subject with average as S)", 400, "cannot compute average of Subject"},
				{"$apply=groupby((Phase/Name),aggregate(WeightedAmount with sum as W)", 400, "syntax error at position 60: expected ')'"},
				{"$apply=groupby((Phase/Name))&$orderby=Subject", 400, "unknown property Subject in $orderby"},
				{"$apply=compute(WeightedAmount mul 2 as D)", 501, "compute is not supported"},
				{"$apply=groupby((Phase/Name),bottomcount(1,WeightedAmount))", 501, "bottomcount is not supported"},
				{"$apply=groupby((Phase/Name))&$expand=Phase", 400, "cannot be combined with $select or $expand"},
				{"$apply=groupby((Phase/Name))&$select=Subject", 400, "cannot be combined with $select or $expand"},
			}
			for _, tt := range tests {
				tt.want = strings.ReplaceAll(tt.want, "{base}", s.URL)
				code, body := applyGet(t, s, token, tt.query)
				ok := code == tt.status && (code == 200 && body == tt.want || code != 200 && strings.Contains(body, tt.want))
				if !ok {
					t.Errorf("%s\n got %d %s\nwant %d %s", tt.query, code, body, tt.status, tt.want)
				}
			}
		})
	}
}
