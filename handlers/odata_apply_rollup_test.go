package handlers_test

import (
	"context"
	"regexp"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// $apply in the reporting currency, read from the maintained rollup: applyData's five
// opportunities, plus F (Qualification, 10,000 USD, weighted 1,000 USD; USD 0.9 from 1 January
// 2026) and G (Qualification, 1,000 GBP, no GBP rate; Anna's). By hand, per phase:
//
//	              WeightedAmount  WeightedAmountInReportingCurrency
//	Qualification 1,000+1,000+100  null (G has no rate)
//	Proposal      7,500            7,500
//	Won           4,000            4,000
//	Lost          0                0
func TestODataApplyConverted(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			s := newServer(t, d, 0)
			_, token := applyData(t, s)
			ctx := context.Background()
			pipe, phases := fixture(t, s.store)
			reps, _ := s.store.Employees(ctx)
			qual := phases["Qualification"].ID
			if err := s.store.SaveRates(ctx, []models.RateInput{{Currency: "USD", Day: models.NewDate(2026, 1, 1), Rate: 0.9}}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			day := models.NewDate(2026, 3, 20)
			for _, x := range []struct {
				subject, currency string
				amount            float64
				rep               *models.Employee
			}{{"Deal F", "USD", 10000, nil}, {"Deal G", "GBP", 1000, &reps[0]}} {
				ch := models.ActivityChanges{Subject: ptrTo(x.subject), PipelineID: &pipe.ID, PhaseID: &qual, Currency: ptrTo(x.currency),
					EstimatedAmount: ptrTo(x.amount), ExpectedOrderDate: &day}
				if x.rep != nil {
					ch.SalesRepresentativeID = &x.rep.ID
				}
				if _, err := s.store.CreateActivity(ctx, models.SalesOpportunity, ch, models.Actor{}); err != nil {
					t.Fatal(err)
				}
			}
			const ctxPhase = `{"@odata.context":"$metadata#Activity_SalesOpportunity(Phase(Name),W)","value":[`
			tests := []struct{ query, want string }{
				{"$apply=groupby((Phase/Name),aggregate(WeightedAmount with sum as W))",
					ctxPhase + `{"Phase":{"Name":"Lost"},"W":0},{"Phase":{"Name":"Proposal"},"W":7500},{"Phase":{"Name":"Qualification"},"W":2100},{"Phase":{"Name":"Won"},"W":4000}]}`},
				{"$apply=groupby((Phase/Name),aggregate(WeightedAmountInReportingCurrency with sum as W))",
					ctxPhase + `{"Phase":{"Name":"Lost"},"W":0},{"Phase":{"Name":"Proposal"},"W":7500},{"Phase":{"Name":"Qualification"},"W":null},{"Phase":{"Name":"Won"},"W":4000}]}`},
				{"$apply=filter(Currency eq 'USD')/aggregate(WeightedAmountInReportingCurrency with sum as W,EstimatedAmountInReportingCurrency with sum as E,$count as N)",
					`{"@odata.context":"$metadata#Activity_SalesOpportunity(W,E,N)","value":[{"W":900,"E":9000,"N":1}]}`},
				{"$apply=filter(ReportingRate eq null)/groupby((Currency),aggregate($count as NoRate))",
					`{"@odata.context":"$metadata#Activity_SalesOpportunity(Currency,NoRate)","value":[{"Currency":"GBP","NoRate":1}]}`},
			}
			for _, tt := range tests {
				if code, body := applyGet(t, s, token, tt.query); code != 200 || relativeContext(body) != tt.want {
					t.Errorf("%s\n got %d %s\nwant %s", tt.query, code, body, tt.want)
				}
			}
			// The rollup follows the writes: C (Proposal, 5,000, Anna) is won; G gets a rate.
			var c models.Activity
			if err := s.store.DB.Where("subject = ?", "Deal C").Take(&c).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := s.store.MoveActivity(ctx, c.ID, phases["Won"].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			if err := s.store.SaveRates(ctx, []models.RateInput{{Currency: "GBP", Day: models.NewDate(2026, 1, 1), Rate: 1.2}}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			want := ctxPhase + `{"Phase":{"Name":"Lost"},"W":0},{"Phase":{"Name":"Proposal"},"W":6000},{"Phase":{"Name":"Qualification"},"W":2020},{"Phase":{"Name":"Won"},"W":9000}]}`
			if code, body := applyGet(t, s, token, "$apply=groupby((Phase/Name),aggregate(WeightedAmountInReportingCurrency with sum as W))"); code != 200 || relativeContext(body) != want {
				t.Errorf("after the move and the rate\n got %d %s\nwant %s", code, body, want)
			}
			// A rep who sees only their own: Anna's A (1,000) and G (120), and F, unassigned (900).
			s.store.RepVisibility = models.VisibilityOwn
			repToken, _ := authtest.Token(t, s.store, models.RoleRep, "read", &reps[0].ID)
			want = ctxPhase + `{"Phase":{"Name":"Lost"},"W":0},{"Phase":{"Name":"Qualification"},"W":2020},{"Phase":{"Name":"Won"},"W":5000}]}`
			if code, body := applyGet(t, s, repToken, "$apply=groupby((Phase/Name),aggregate(WeightedAmountInReportingCurrency with sum as W))"); code != 200 || relativeContext(body) != want {
				t.Errorf("Anna's own\n got %d %s\nwant %s", code, body, want)
			}
			// And it is the rollup that answers: tampered with (its three closed rows +1,000,000 each), it shows.
			if err := s.store.DB.Exec("UPDATE forecast_rollups SET weighted_amount = weighted_amount + 1000000 WHERE is_closed").Error; err != nil {
				t.Fatal(err)
			}
			if _, body := applyGet(t, s, token, "$apply=filter(IsClosed)/aggregate(WeightedAmount with sum as W)"); relativeContext(body) != `{"@odata.context":"$metadata#Activity_SalesOpportunity(W)","value":[{"W":3.009e+06}]}` {
				t.Errorf("the rollup did not answer: %s", body)
			}
		})
	}
}

// relativeContext drops the service root from a body's @odata.context ("http://host/v1/odata/$metadata#…" → "$metadata#…").
func relativeContext(body string) string {
	return regexp.MustCompile(`"@odata.context":"[^"]*/v1/odata/`).ReplaceAllString(body, `"@odata.context":"`)
}
