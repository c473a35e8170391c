package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// createFor creates an opportunity in the sales pipeline owned by rep (nil: unassigned).
func (f *fixture) createFor(t *testing.T, subject string, rep *uuid.UUID) *models.Activity {
	t.Helper()
	a, err := f.s.CreateActivity(context.Background(), models.SalesOpportunity, models.ActivityChanges{
		Subject: &subject, PipelineID: &f.sales.ID, SalesRepresentativeID: rep}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// kindFixture is the demo's first pipeline of a kind with its phases by name.
func kindFixture(t *testing.T, s *models.Store, kind string) (models.Pipeline, map[string]models.Phase) {
	t.Helper()
	ctx := context.Background()
	var p models.Pipeline
	if err := s.DB.Where("activity_type = ?", models.KindByName(kind).Type).Order("sort_index").Take(&p).Error; err != nil {
		t.Fatal(err)
	}
	phases, err := s.Phases(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]models.Phase{}
	for _, ph := range phases {
		byName[ph.Name] = ph
	}
	return p, byName
}

// Every kind follows the common rules through the same functions as opportunities: default
// phase, numbers of its own, terminal phases close and leaving them reopens, every move is
// recorded; a phase of another kind and a sales field are refused.
func TestEveryKindFollowsTheCommonRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
			t.Fatal(err)
		}
		invoice := models.KindByName("Invoice")
		pipe, phases := kindFixture(t, s, "Invoice")
		_, salesPhases := kindFixture(t, s, "SalesOpportunity")
		subject := "Invoice for Acme"
		amount := 1200.0
		a, err := s.CreateActivity(ctx, invoice, models.ActivityChanges{Subject: &subject, Amount: &amount}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Type != "Activity.Invoice" || a.PipelineID != pipe.ID || a.PhaseID != phases["Draft"].ID || a.Probability != nil || a.WeightedAmount != nil {
			t.Fatalf("created %+v", a)
		}
		opp, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Number != opp.Number {
			t.Fatalf("numbers are per kind: invoice %s, opportunity %s", a.Number, opp.Number)
		}
		for _, step := range []struct {
			phase  string
			closed bool
		}{{"Sent", false}, {"Paid", true}, {"Sent", false}, {"Paid", true}} {
			res, err := s.MoveActivity(ctx, a.ID, phases[step.phase].ID, nil, nil, nil, models.Actor{})
			if err != nil {
				t.Fatalf("to %s: %v", step.phase, err)
			}
			if res.Activity.IsClosed != step.closed || res.NeedsLostReason {
				t.Fatalf("in %s: closed %v, needs lost reason %v", step.phase, res.Activity.IsClosed, res.NeedsLostReason)
			}
		}
		var moves int64
		s.DB.Model(&models.PhaseChange{}).Where("activity_id = ?", a.ID).Count(&moves)
		if moves != 5 {
			t.Fatalf("%d moves recorded, want 5 (create and four moves)", moves)
		}
		if _, err := s.MoveActivity(ctx, a.ID, salesPhases["Won"].ID, nil, nil, nil, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("a sales phase for an invoice: %v", err)
		}
		p := 50.0
		_, err = s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Probability: &p, Subject: ptr("renamed")}, models.Actor{})
		var de *models.Error
		if !errors.As(err, &de) || de.Code != models.EInvalid || de.Field != "Probability" {
			t.Fatalf("probability on an invoice: %v", err)
		}
		got, _ := s.Activity(ctx, a.ID)
		if got.Subject != subject || got.Version != a.Version+4 {
			t.Fatalf("a refused change wrote something: %q version %d", got.Subject, got.Version)
		}
	})
}

// ImportIds are unique per kind: an invoice and an opportunity may share one, two invoices not.
func TestImportIDUniquePerKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
			t.Fatal(err)
		}
		imp := "erp:1"
		create := func(k *models.Kind) error {
			_, err := s.CreateActivity(ctx, k, models.ActivityChanges{Subject: ptr("x"), ImportID: &imp}, models.Actor{})
			return err
		}
		if err := create(models.KindByName("Invoice")); err != nil {
			t.Fatal(err)
		}
		if err := create(models.SalesOpportunity); err != nil {
			t.Fatalf("the same ImportId for another kind: %v", err)
		}
		err := create(models.KindByName("Invoice"))
		var de *models.Error
		if !errors.As(err, &de) || de.Code != models.EConflict || de.Field != "ImportId" {
			t.Fatalf("a second invoice with the ImportId: %v", err)
		}
		id, ok, err := s.IDByImportID(ctx, &models.Activity{}, models.KindByName("Invoice").Type, imp)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if a, _ := s.Activity(ctx, id); a.Type != "Activity.Invoice" {
			t.Fatalf("found %s", a.Type)
		}
	})
}

// Entering a won phase from a lost one clears the lost reason and competitor (issue 8), on
// both databases, through the one update every entry point uses.
func TestLostToWonClearsTheLostReason(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		a := f.createFor(t, "Deal", nil)
		reasons, _ := s.LostReasons(ctx)
		rivals, _ := s.Competitors(ctx)
		lost, won := f.phases["Lost"].ID, f.phases["Won"].ID
		if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{PhaseID: &lost, LostReasonID: &reasons[0].ID, LostToCompetitorID: &rivals[0].ID}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		res, err := s.MoveActivity(ctx, a.ID, won, nil, nil, nil, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.Activity(ctx, a.ID)
		if got.LostReasonID != nil || got.LostToCompetitorID != nil || !got.IsClosed || *got.Probability != 100 || res.NeedsLostReason {
			t.Fatalf("won after lost: reason %v rival %v closed %v probability %v", got.LostReasonID, got.LostToCompetitorID, got.IsClosed, *got.Probability)
		}
	})
}

// A rep's new card is the rep's own; a manager's stays unassigned unless they say otherwise.
func TestNewCardOfARepIsTheirs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		newFixture(t, s)
		reps, _ := s.Employees(ctx)
		rep := models.Actor{Role: models.RoleRep, EmployeeID: &reps[0].ID}
		a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr("mine")}, rep)
		if err != nil {
			t.Fatal(err)
		}
		if a.SalesRepresentativeID == nil || *a.SalesRepresentativeID != reps[0].ID {
			t.Fatalf("a rep's card belongs to %v", a.SalesRepresentativeID)
		}
		m, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr("team")}, models.Actor{Role: models.RoleManager, EmployeeID: &reps[1].ID})
		if err != nil || m.SalesRepresentativeID != nil {
			t.Fatalf("a manager's card: %v %v", m.SalesRepresentativeID, err)
		}
	})
}

// A composed admin change is one transaction: PATCH of a phase's name, probability and IsActive
// false, refused because cards are still in the phase, writes neither name nor probability
// (issue 8). The same holds for pipelines.
func TestRefusedCompositeAdminChangeWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		f.createFor(t, "Keeps the phase busy", nil)
		qual := f.phases["Qualification"]
		name, prob, off := "Renamed", 55.0, false
		_, err := s.SavePhase(ctx, &qual.ID, "", models.PhaseChanges{Name: &name, DefaultProbability: &prob, IsActive: &off}, models.Actor{})
		if err == nil {
			t.Fatal("archiving a phase with cards was accepted")
		}
		got, _ := s.Phase(ctx, qual.ID)
		if got.Name != qual.Name || got.DefaultProbability != qual.DefaultProbability || !got.IsActive {
			t.Fatalf("half written: %q %v active %v", got.Name, got.DefaultProbability, got.IsActive)
		}
		// The last active sales pipeline cannot be archived: its rename is not kept either.
		if _, err := s.SavePipeline(ctx, &f.renewals.ID, models.PipelineChanges{IsActive: &off}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		_, err = s.SavePipeline(ctx, &f.sales.ID, models.PipelineChanges{Name: &name, IsActive: &off}, models.Actor{})
		if err == nil {
			t.Fatal("archiving the last sales pipeline was accepted")
		}
		p, _ := s.Pipeline(ctx, f.sales.ID)
		if p.Name != f.sales.Name || !p.IsActive {
			t.Fatalf("half written pipeline: %q active %v", p.Name, p.IsActive)
		}
	})
}

// InTx composes Store calls into one transaction: an error rolls back everything, reads inside
// see the composed writes.
func TestInTxComposesStoreCalls(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		var created uuid.UUID
		boom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context) error {
			a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr("in a batch")}, models.Actor{})
			if err != nil {
				return err
			}
			created = a.ID
			if _, err := s.Activity(ctx, a.ID); err != nil {
				return err // the batch reads its own write
			}
			if _, err := s.MoveActivity(ctx, a.ID, f.phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		if _, err := s.Activity(ctx, created); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("rolled-back create is there: %v", err)
		}
		// A refused step inside a composed change leaves the transaction usable (a savepoint).
		err = s.InTx(ctx, func(ctx context.Context) error {
			if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr(" ")}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("blank subject: %v", err)
			}
			_, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr("after a refusal")}, models.Actor{})
			return err
		})
		if err != nil {
			t.Fatalf("a composed change after a refused step: %v", err)
		}
	})
}

// Every write reports its change through the hooks in its own transaction: a hook's error rolls
// the write back, and a refused write reports nothing.
func TestChangeHooksRunInTheWritesTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		var seen []models.Change
		fail := false
		s.OnChange(func(tx *gorm.DB, c *models.Change) error {
			if fail {
				return errors.New("hook refuses")
			}
			seen = append(seen, *c)
			return nil
		})
		a := f.createFor(t, "Watched", nil)
		if _, err := s.MoveActivity(ctx, a.ID, f.phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MoveActivity(ctx, a.ID, f.other["Quote"].ID, nil, nil, nil, models.Actor{}); err == nil {
			t.Fatal("a phase of another pipeline was accepted")
		}
		if len(seen) != 2 || seen[0].Op != models.ChangeCreated || seen[1].Op != models.ChangeUpdated || !seen[1].PhaseChanged() ||
			*seen[1].FromPhaseID != f.phases["Qualification"].ID || *seen[1].ToPhaseID != f.phases["Proposal"].ID || seen[1].Version != 2 {
			t.Fatalf("changes %+v", seen)
		}
		fail = true
		if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Subject: ptr("renamed")}, models.Actor{}); err == nil {
			t.Fatal("a hook's error did not fail the write")
		}
		if got, _ := s.Activity(ctx, a.ID); got.Subject != "Watched" {
			t.Fatalf("the write stayed: %q", got.Subject)
		}
	})
}

// With VisibilityOwn a rep reads only their own and unassigned activities on the board, in a
// card and in the edit panel's load; the team's visibility shows everything.
func TestBoardReadsFollowTheReadRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		reps, _ := s.Employees(ctx)
		mine, theirs := f.createFor(t, "mine", &reps[0].ID), f.createFor(t, "theirs", &reps[1].ID)
		f.createFor(t, "free", nil)
		asRep := models.WithActor(ctx, models.Actor{Role: models.RoleRep, EmployeeID: &reps[0].ID})
		count := func(ctx context.Context) int64 {
			cols, err := s.Columns(ctx, models.BoardFilter{PipelineID: f.sales.ID})
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, c := range cols {
				n += c.Count
			}
			return n
		}
		if n := count(asRep); n != 3 {
			t.Fatalf("team visibility: %d cards", n)
		}
		s.RepVisibility = models.VisibilityOwn
		if n := count(asRep); n != 2 {
			t.Fatalf("own visibility: %d cards", n)
		}
		cards, _ := s.Cards(asRep, models.BoardFilter{PipelineID: f.sales.ID}, f.phases["Qualification"].ID, nil, 50)
		for _, c := range cards {
			if c.ID == theirs.ID {
				t.Fatal("a colleague's card is listed")
			}
		}
		if _, err := s.Card(asRep, theirs.ID); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("a colleague's card: %v", err)
		}
		if _, err := s.Activity(asRep, mine.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(models.WithActor(ctx, models.Actor{Role: models.RoleManager})); n != 3 {
			t.Fatalf("a manager: %d cards", n)
		}
		if n := count(models.WithActor(ctx, models.Actor{Role: "anonymous"})); n != 0 {
			t.Fatalf("nobody: %d cards", n)
		}
	})
}

// Deactivating a rep keeps them on their deals, but no deal is given to them any more: a create or
// an edit that assigns a deactivated employee is refused and writes nothing; editing a deal they
// already own keeps them.
func TestDeactivatedRepGetsNoNewDeals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		reps, _ := s.Employees(ctx)
		gone := reps[0].ID
		owned := f.createFor(t, "Theirs before", &gone)
		other := f.createFor(t, "Someone else's", &reps[1].ID)
		if err := s.DB.Model(&models.Employee{}).Where("id = ?", gone).Update("is_active", false).Error; err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr("new"), SalesRepresentativeID: &gone}, models.Actor{})
		if models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("a deal created for a deactivated rep: %v", err)
		}
		subject := "Reassigned"
		_, err = s.UpdateActivity(ctx, other.ID, models.ActivityChanges{Subject: &subject, SalesRepresentativeID: &gone}, models.Actor{})
		if models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("a deal given to a deactivated rep: %v", err)
		}
		if got, _ := s.Activity(ctx, other.ID); got.Subject != other.Subject || *got.SalesRepresentativeID != reps[1].ID {
			t.Fatalf("the refused edit wrote: %q %v", got.Subject, got.SalesRepresentativeID)
		}
		// Their own deal keeps them through an edit that names them again (the edit panel does).
		if _, err := s.UpdateActivity(ctx, owned.ID, models.ActivityChanges{Subject: &subject, SalesRepresentativeID: &gone}, models.Actor{}); err != nil {
			t.Fatalf("editing a deactivated rep's own deal: %v", err)
		}
		if got, _ := s.Activity(ctx, owned.ID); got.Subject != subject || *got.SalesRepresentativeID != gone {
			t.Fatalf("their deal: %q %v", got.Subject, got.SalesRepresentativeID)
		}
	})
}
