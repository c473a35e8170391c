package models

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// Rules that need no database (they run in the -short tier).

func phaseOf(k *Kind, pipeline uuid.UUID, terminal, won bool, probability float64) *Phase {
	return &Phase{Standard: Standard{ID: uuid.New(), Type: k.PhaseType, IsActive: true}, PipelineID: pipeline,
		IsTerminal: terminal, IsWon: won, DefaultProbability: probability}
}

func TestEnterPhaseSetsProbabilityAndClosing(t *testing.T) {
	pipeline := uuid.New()
	open := phaseOf(SalesOpportunity, pipeline, false, false, 30)
	won := phaseOf(SalesOpportunity, pipeline, true, true, 0)
	lost := phaseOf(SalesOpportunity, pipeline, true, false, 0)
	a := &Activity{Standard: Standard{Type: SalesOpportunity.Type}, PipelineID: pipeline, EstimatedAmount: ptr(1000.0)}

	steps := []struct {
		phase     *Phase
		wantProb  float64
		wantClose bool
	}{{open, 30, false}, {won, 100, true}, {open, 30, false}, {lost, 0, true}, {open, 30, false}}
	for i, st := range steps {
		if _, err := enterPhase(SalesOpportunity, a, st.phase, a.PhaseEnteredAt, false); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		a.recomputeWeighted()
		if *a.Probability != st.wantProb || a.IsClosed != st.wantClose {
			t.Fatalf("step %d: probability %v closed %v, want %v %v", i, *a.Probability, a.IsClosed, st.wantProb, st.wantClose)
		}
		if want := 1000 * st.wantProb / 100; *a.WeightedAmount != want {
			t.Fatalf("step %d: weighted %v, want %v", i, *a.WeightedAmount, want)
		}
	}
}

// A deal moved from Lost straight to Won loses its lost reason and competitor, as it does when
// it goes back to an open phase (issue 8: Won kept them).
func TestEnterWonClearsLostReason(t *testing.T) {
	pipeline := uuid.New()
	lost := phaseOf(SalesOpportunity, pipeline, true, false, 0)
	won := phaseOf(SalesOpportunity, pipeline, true, true, 0)
	a := &Activity{Standard: Standard{Type: SalesOpportunity.Type}, PipelineID: pipeline}
	if _, err := enterPhase(SalesOpportunity, a, lost, time.Now(), true); err != nil {
		t.Fatal(err)
	}
	reason, rival := uuid.New(), uuid.New()
	a.LostReasonID, a.LostToCompetitorID = &reason, &rival
	moved, err := enterPhase(SalesOpportunity, a, won, time.Now(), false)
	if err != nil || !moved {
		t.Fatalf("moved %v, err %v", moved, err)
	}
	if a.LostReasonID != nil || a.LostToCompetitorID != nil {
		t.Fatalf("won deal keeps lost reason %v and competitor %v", a.LostReasonID, a.LostToCompetitorID)
	}
	if !a.IsClosed || *a.Probability != 100 {
		t.Fatalf("won deal: closed %v probability %v", a.IsClosed, *a.Probability)
	}
}

func TestEnterPhaseRefusesOtherPipelineAndKind(t *testing.T) {
	a := &Activity{Standard: Standard{Type: SalesOpportunity.Type}, PipelineID: uuid.New()}
	other := phaseOf(SalesOpportunity, uuid.New(), false, false, 0)
	invoice := phaseOf(KindByName("Invoice"), a.PipelineID, false, false, 0)
	for _, p := range []*Phase{other, invoice} {
		_, err := enterPhase(SalesOpportunity, a, p, a.PhaseEnteredAt, false)
		if ErrorCode(err) != EInvalid {
			t.Fatalf("want invalid, got %v", err)
		}
		if e := err.(*Error); e.Field != "Phase" {
			t.Fatalf("field %q, want Phase", e.Field)
		}
	}
	if a.PhaseID != uuid.Nil {
		t.Fatal("a refused move changed the phase")
	}
}

// The common rules hold for every kind; the sales rules do not run for others.
func TestEnterPhaseOtherKindClosesWithoutSalesRules(t *testing.T) {
	invoice := KindByName("Invoice")
	pipeline := uuid.New()
	paid := phaseOf(invoice, pipeline, true, true, 0)
	sent := phaseOf(invoice, pipeline, false, false, 40)
	a := newActivity(invoice, time.Now())
	a.PipelineID = pipeline
	if _, err := enterPhase(invoice, a, paid, time.Now(), true); err != nil {
		t.Fatal(err)
	}
	if !a.IsClosed || a.Probability != nil || a.WeightedAmount != nil {
		t.Fatalf("paid invoice: closed %v probability %v weighted %v", a.IsClosed, a.Probability, a.WeightedAmount)
	}
	if _, err := enterPhase(invoice, a, sent, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	if a.IsClosed || a.Probability != nil {
		t.Fatalf("reopened invoice: closed %v probability %v", a.IsClosed, a.Probability)
	}
}

func TestSalesFieldsRefusedForOtherKinds(t *testing.T) {
	invoice := KindByName("Invoice")
	cases := map[string]ActivityChanges{
		"Probability":       {Probability: ptr(50.0)},
		"EstimatedAmount":   {EstimatedAmount: ptr(10.0)},
		"ExpectedOrderDate": {ExpectedOrderDate: &Date{}},
		"LostReason":        {LostReasonID: &uuid.Nil},
		"ForecastCategory":  {ForecastCategory: ptr("Commit")},
	}
	for field, ch := range cases {
		err := refuseSalesFields(invoice, ch)
		e, ok := err.(*Error)
		if !ok || e.Code != EInvalid || e.Field != field {
			t.Errorf("%s: got %v, want an invalid error naming the field", field, err)
		}
		if err := refuseSalesFields(SalesOpportunity, ch); err != nil {
			t.Errorf("%s on an opportunity: %v", field, err)
		}
	}
	if err := refuseSalesFields(invoice, ActivityChanges{Amount: ptr(10.0), Subject: ptr("x")}); err != nil {
		t.Fatalf("common fields refused: %v", err)
	}
}

func TestApplyFieldsChecksValues(t *testing.T) {
	bad := map[string]ActivityChanges{
		"Subject":            {Subject: ptr("   ")},
		"Currency":           {Currency: ptr("E1R")},
		"Amount":             {Amount: ptr(-1.0)},
		"DiscountPercentage": {DiscountPercentage: ptr(101.0)},
	}
	for field, ch := range bad {
		a := &Activity{}
		err := applyFields(a, ch)
		if e, ok := err.(*Error); !ok || e.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	a := &Activity{}
	if err := applyFields(a, ActivityChanges{Subject: ptr("  Deal "), Currency: ptr("usd"), TotalMargin: ptr(-5.0)}); err != nil {
		t.Fatal(err)
	}
	if a.Subject != "Deal" || a.Currency != "USD" || a.TotalMargin != -5 {
		t.Fatalf("applied %+v", a)
	}
}

// TestApplyFieldsRefusesBadText: invalid UTF-8 or a NUL in any text field is a field error of
// the kernel's own, whatever door the write came through.
func TestApplyFieldsRefusesBadText(t *testing.T) {
	for _, tc := range []struct {
		field string
		ch    ActivityChanges
	}{
		{"Subject", ActivityChanges{Subject: ptr("Deal \xff")}},
		{"Subject", ActivityChanges{Subject: ptr("Deal\x00")}},
		{"RelationDescription", ActivityChanges{RelationDescription: ptr("\xc3")}},
		{"ImportId", ActivityChanges{ImportID: ptr("id\x00")}},
		{"ForecastCategory", ActivityChanges{ForecastCategory: ptr("\xfe")}},
	} {
		err := applyFields(&Activity{}, tc.ch)
		if e, ok := err.(*Error); !ok || e.Field != tc.field || e.Code != EInvalid {
			t.Errorf("%s %+v: got %v", tc.field, tc.ch, err)
		}
	}
}

func TestApplySalesLostReasonOnlyWhenLost(t *testing.T) {
	open := &Activity{Probability: ptr(30.0)}
	reason := uuid.New()
	if err := applySales(open, ActivityChanges{LostReasonID: &reason}); ErrorCode(err) != EInvalid {
		t.Fatalf("lost reason on an open deal: %v", err)
	}
	lost := &Activity{Standard: Standard{IsClosed: true}, Probability: ptr(0.0)}
	if err := applySales(lost, ActivityChanges{LostReasonID: &reason}); err != nil {
		t.Fatal(err)
	}
	if err := applySales(lost, ActivityChanges{Probability: ptr(40.0)}); ErrorCode(err) != EInvalid {
		t.Fatalf("probability of a closed deal: %v", err)
	}
}

func TestFormatNumber(t *testing.T) {
	if got := formatNumber(2026, 1); got != "2026-00001" {
		t.Fatalf("got %q", got)
	}
	if got := formatNumber(2026, 123456); got != "2026-123456" {
		t.Fatalf("got %q", got)
	}
}

func TestReadScope(t *testing.T) {
	me, other := uuid.New(), uuid.New()
	mine := &Activity{SalesRepresentativeID: &me}
	theirs := &Activity{SalesRepresentativeID: &other}
	unassigned := &Activity{}
	for _, tc := range []struct {
		policy string
		actor  Actor
		want   [3]bool // mine, theirs, unassigned
	}{
		{VisibilityTeam, Actor{Role: RoleRep, EmployeeID: &me}, [3]bool{true, true, true}},
		{VisibilityOwn, Actor{Role: RoleRep, EmployeeID: &me}, [3]bool{true, false, true}},
		{VisibilityOwn, Actor{Role: RoleRep}, [3]bool{false, false, true}},
		{VisibilityOwn, Actor{Role: RoleManager}, [3]bool{true, true, true}},
		{VisibilityOwn, Actor{}, [3]bool{true, true, true}},
		{VisibilityTeam, Actor{Role: "anonymous"}, [3]bool{false, false, false}},
	} {
		s := &Store{RepVisibility: tc.policy}
		sc := s.ReadScope(tc.actor)
		got := [3]bool{sc.Allows(mine), sc.Allows(theirs), sc.Allows(unassigned)}
		if got != tc.want {
			t.Errorf("%s %+v: got %v, want %v", tc.policy, tc.actor, got, tc.want)
		}
	}
}
