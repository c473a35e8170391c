package models

import (
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The rules of activities, as plain functions that tests call without a database. Common rules
// hold for every kind: the phase belongs to the activity's own pipeline and kind, terminal phases
// close and leaving them reopens, the text and money fields are checked. The sales rules hold for
// sales opportunities only: probability from the phase, weighted amount, lost reason and
// competitor, forecast category, expected order date.

const maxSubjectLength = 500

// newActivity is a new, empty activity of kind k.
func newActivity(k *Kind, now time.Time) *Activity {
	a := &Activity{Currency: "EUR", Version: 1}
	a.stamp(k.Type, now)
	if k.Sales {
		zero := 0.0
		a.EstimatedAmount, a.WeightedAmount = &zero, &zero
	}
	return a
}

// refuseSalesFields refuses the sales opportunity's own fields for any other kind, naming the
// first one sent.
func refuseSalesFields(k *Kind, ch ActivityChanges) error {
	if k.Sales {
		return nil
	}
	for _, f := range []struct {
		name string
		sent bool
	}{
		{"Probability", ch.Probability != nil},
		{"EstimatedAmount", ch.EstimatedAmount != nil},
		{"ExpectedOrderDate", ch.ExpectedOrderDate != nil},
		{"LostReason", ch.LostReasonID != nil},
		{"LostToCompetitor", ch.LostToCompetitorID != nil},
		{"Source", ch.SourceID != nil},
		{"ForecastCategory", ch.ForecastCategory != nil},
	} {
		if f.sent {
			return FieldError(f.name, "%s is a field of sales opportunities; a%s %s has none.", f.name, article(k.Noun), k.Noun)
		}
	}
	return nil
}

// applyFields checks and applies the plain fields every kind has.
func applyFields(a *Activity, ch ActivityChanges) error {
	// The doors refuse such text already (web.RefuseBadText, the OData decoder); imports and
	// whatever else calls the kernel get the same field error here, never a database error.
	for _, t := range []struct {
		field string
		v     *string
	}{{"Subject", ch.Subject}, {"Currency", ch.Currency}, {"RelationDescription", ch.RelationDescription},
		{"ImportId", ch.ImportID}, {"ForecastCategory", ch.ForecastCategory}} {
		if t.v != nil {
			if err := CheckText(t.field, *t.v); err != nil {
				return err
			}
		}
	}
	if ch.Subject != nil {
		subj := strings.TrimSpace(*ch.Subject)
		switch {
		case subj == "":
			return FieldError("Subject", "Subject is required.")
		case len([]rune(subj)) > maxSubjectLength:
			return FieldError("Subject", "Subject is longer than %d characters.", maxSubjectLength)
		}
		a.Subject = subj
	}
	if ch.Currency != nil {
		c := strings.ToUpper(strings.TrimSpace(*ch.Currency))
		if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return FieldError("Currency", "Currency must be a three-letter code such as EUR.")
		}
		a.Currency = c
	}
	if ch.RelationDescription != nil {
		if len([]rune(*ch.RelationDescription)) > maxSubjectLength {
			return FieldError("RelationDescription", "RelationDescription is longer than %d characters.", maxSubjectLength)
		}
		a.RelationDescription = *ch.RelationDescription
	}
	if ch.ImportID != nil {
		a.ImportID = nil
		if v := strings.TrimSpace(*ch.ImportID); v != "" {
			a.ImportID = &v
		}
	}
	if ch.IsVatIncluded != nil {
		a.IsVatIncluded = *ch.IsVatIncluded
	}
	if ch.DiscountPercentage != nil {
		if err := checkPercent("DiscountPercentage", *ch.DiscountPercentage); err != nil {
			return err
		}
		a.DiscountPercentage = *ch.DiscountPercentage
	}
	money := []struct {
		field  string
		in     *float64
		target *float64
	}{
		{"Amount", ch.Amount, &a.Amount},
		{"BillingAmount", ch.BillingAmount, &a.BillingAmount},
		{"BillingAmountInCurrency", ch.BillingAmountInCurrency, &a.BillingAmountInCurrency},
		{"AmountInCurrency", ch.AmountInCurrency, &a.AmountInCurrency},
		{"TotalSalesIncludingVAT", ch.TotalSalesIncludingVAT, &a.TotalSalesIncludingVAT},
		{"VatAmount", ch.VatAmount, &a.VatAmount},
		{"TotalDiscountExcludingVAT", ch.TotalDiscountExcludingVAT, &a.TotalDiscountExcludingVAT},
		{"TotalMargin", ch.TotalMargin, &a.TotalMargin},
		{"TotalPurchaseAmount", ch.TotalPurchaseAmount, &a.TotalPurchaseAmount},
	}
	for _, m := range money {
		if m.in == nil {
			continue
		}
		v := *m.in
		if m.field == "TotalMargin" { // a loss-making deal has a negative margin
			v = math.Abs(v)
		}
		if err := checkAmount(m.field, v); err != nil {
			return err
		}
		*m.target = *m.in
	}
	return nil
}

// enterPhase applies the rules of entering phase p: it must be an active phase of the activity's
// own pipeline and kind; a terminal phase closes the activity and leaving one reopens it. For
// sales opportunities the phase also sets the probability (won 100, lost 0, an open phase its
// default), and every phase but a lost one clears the lost reason and competitor. moved is false
// for a reorder within the column.
func enterPhase(k *Kind, a *Activity, p *Phase, now time.Time, creating bool) (moved bool, err error) {
	if p.Type != k.PhaseType {
		return false, FieldError("Phase", "Phase %q is a phase of another activity kind; pick a phase of this %s's pipeline.", p.Name, k.Noun)
	}
	if p.PipelineID != a.PipelineID {
		return false, FieldError("Phase", "Phase %q belongs to another pipeline; pick a phase of this %s's pipeline.", p.Name, k.Noun)
	}
	if !p.IsActive {
		return false, FieldError("Phase", "Phase %q is archived.", p.Name)
	}
	if p.ID == a.PhaseID && !creating {
		return false, nil
	}
	a.PhaseID = p.ID
	a.PhaseEnteredAt = now
	a.IsClosed = p.IsTerminal
	if !k.Sales {
		return true, nil
	}
	switch {
	case p.IsTerminal && p.IsWon:
		a.Probability = ptr(100.0)
	case p.IsTerminal:
		a.Probability = ptr(0.0)
	default:
		a.Probability = ptr(p.DefaultProbability)
	}
	if !p.IsLost() {
		a.LostReasonID, a.LostToCompetitorID = nil, nil
	}
	return true, nil
}

// applySales applies a sales opportunity's own fields, after its phase: an explicit probability
// wins over the phase's default, except in a terminal phase, whose outcome fixes it; a lost
// reason or competitor only goes with a lost phase; the weighted amount follows.
func applySales(a *Activity, ch ActivityChanges) error {
	if ch.EstimatedAmount != nil {
		if err := checkAmount("EstimatedAmount", *ch.EstimatedAmount); err != nil {
			return err
		}
		v := *ch.EstimatedAmount
		a.EstimatedAmount = &v
	}
	if ch.ExpectedOrderDate != nil {
		a.ExpectedOrderDate = nil
		if !ch.ExpectedOrderDate.IsZero() {
			d := *ch.ExpectedOrderDate
			a.ExpectedOrderDate = &d
		}
	}
	if ch.ForecastCategory != nil {
		switch c := *ch.ForecastCategory; {
		case c == "":
			a.ForecastCategory = nil
		case !ValidForecastCategory(c):
			return FieldError("ForecastCategory", "Forecast category must be Pipeline, BestCase, Commit, Closed or Omitted.")
		default:
			a.ForecastCategory = &c
		}
	}
	if ch.Probability != nil {
		p := *ch.Probability
		if err := checkPercent("Probability", p); err != nil {
			return err
		}
		if a.IsClosed && p != ptrValue(a.Probability) {
			return FieldError("Probability", "The probability of a closed opportunity follows its phase (won 100, lost 0).")
		}
		a.Probability = &p
	}
	lost := a.IsClosed && ptrValue(a.Probability) == 0
	sent := func(id *uuid.UUID) bool { return id != nil && *id != uuid.Nil }
	if (sent(ch.LostReasonID) || sent(ch.LostToCompetitorID)) && !lost {
		return FieldError("LostReason", "A lost reason can only be given for an opportunity in a lost phase.")
	}
	a.recomputeWeighted()
	return nil
}

// recomputeWeighted keeps WeightedAmount = EstimatedAmount × Probability / 100.
func (a *Activity) recomputeWeighted() {
	w := ptrValue(a.EstimatedAmount) * ptrValue(a.Probability) / 100
	a.WeightedAmount = &w
}

func checkAmount(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15 {
		return FieldError(field, "%s must be a number from 0 up to 1,000,000,000,000,000.", field)
	}
	return nil
}

func checkPercent(field string, v float64) error {
	if math.IsNaN(v) || v < 0 || v > 100 {
		return FieldError(field, "%s must be between 0 and 100.", field)
	}
	return nil
}

// article is "n" before a noun that starts with a vowel sound, for "a%s %s" messages.
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiouAEIOU", rune(noun[0])) {
		return "n"
	}
	return ""
}
