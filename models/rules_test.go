package models

import (
	"testing"

	"github.com/google/uuid"
)

// Rules that need no database.

func TestEnterPhaseSetsProbabilityAndClosing(t *testing.T) {
	pipeline := uuid.New()
	open := &Phase{Standard: Standard{ID: uuid.New(), Type: PhaseType("SalesOpportunity"), IsActive: true}, PipelineID: pipeline, DefaultProbability: 30}
	won := &Phase{Standard: Standard{ID: uuid.New(), Type: PhaseType("SalesOpportunity"), IsActive: true}, PipelineID: pipeline, IsTerminal: true, IsWon: true}
	lost := &Phase{Standard: Standard{ID: uuid.New(), Type: PhaseType("SalesOpportunity"), IsActive: true}, PipelineID: pipeline, IsTerminal: true}
	a := &Activity{Standard: Standard{Type: TypeSalesOpportunity}, PipelineID: pipeline, EstimatedAmount: ptr(1000.0)}

	steps := []struct {
		phase     *Phase
		wantProb  float64
		wantClose bool
	}{{open, 30, false}, {won, 100, true}, {open, 30, false}, {lost, 0, true}, {open, 30, false}}
	for i, st := range steps {
		if err := enterPhase(a, st.phase, a.PhaseEnteredAt, false); err != nil {
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

func TestEnterPhaseRefusesOtherPipelineAndType(t *testing.T) {
	a := &Activity{Standard: Standard{Type: TypeSalesOpportunity}, PipelineID: uuid.New()}
	other := &Phase{Standard: Standard{ID: uuid.New(), Type: PhaseType("SalesOpportunity"), IsActive: true}, PipelineID: uuid.New()}
	invoice := &Phase{Standard: Standard{ID: uuid.New(), Type: PhaseType("Invoice"), IsActive: true}, PipelineID: a.PipelineID}
	for _, p := range []*Phase{other, invoice} {
		err := enterPhase(a, p, a.PhaseEnteredAt, false)
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

func TestFormatNumber(t *testing.T) {
	if got := formatNumber(2026, 1); got != "2026-00001" {
		t.Fatalf("got %q", got)
	}
	if got := formatNumber(2026, 123456); got != "2026-123456" {
		t.Fatalf("got %q", got)
	}
}
