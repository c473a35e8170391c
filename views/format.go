// Package views holds Phaseboard's templ components: the layout, pages, and the partials htmx
// swaps (columns, cards, panels), with the small view models they read.
package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"phaseboard/models"
)

// Money formats an amount in whole euros with thousands separators ("€ 12,500"); an amount
// in another currency, an activity's, reads with MoneyIn.
func Money(v float64) string {
	neg := v < 0
	s := fmt.Sprintf("%.0f", math.Abs(math.Round(v)))
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "€ -" + b.String()
	}
	return "€ " + b.String()
}

// MoneyIn formats an amount in a currency: "€ 12,500" for EUR (as Money), "$ 12,500",
// "£ 12,500", else the code ("CHF 12,500").
func MoneyIn(v float64, currency string) string {
	m := Money(v)
	switch currency {
	case "", "EUR":
		return m
	case "USD":
		return "$" + strings.TrimPrefix(m, "€")
	case "GBP":
		return "£" + strings.TrimPrefix(m, "€")
	}
	return currency + strings.TrimPrefix(m, "€")
}

// Percent formats a probability ("60%").
func Percent(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%.1f%%", v)
}

// DateText formats an optional date for a card ("12 Mar 2027", or "no date").
func DateText(d *models.Date) string {
	if d == nil {
		return "no date"
	}
	return d.Format("2 Jan 2006")
}

// DateValue formats an optional date for an <input type="date">.
func DateValue(d *models.Date) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// Days formats days in phase ("today", "1 day", "12 days").
func Days(n int) string {
	switch n {
	case 0:
		return "today"
	case 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Count formats a card count ("1 card", "12 cards").
func Count(n int64) string {
	if n == 1 {
		return "1 card"
	}
	return fmt.Sprintf("%d cards", n)
}

func itoa(n int) string { return fmt.Sprint(n) }

// RotMark is a rotting card's mark: a short text ("Idle 23 days · usual 9", "Idle 23 days ·
// limit 14") and a longer title.
func RotMark(c models.Card, now time.Time) (text, title string) {
	if !c.Rotting {
		return "", ""
	}
	idle := Days(c.DaysInPhase(now))
	if c.Rot.ByAdmin {
		return "Idle " + idle + " · limit " + strconv.FormatFloat(c.Rot.After, 'f', 0, 64),
			"Rotting: in this phase for " + idle + ", longer than its limit of " + Days(int(c.Rot.After))
	}
	if c.Rot.Usual == nil || *c.Rot.Usual < c.Rot.After { // the floor decided
		return "Idle " + idle, "Rotting: in this phase for " + idle + ", more than " + Days(int(c.Rot.After))
	}
	return "Idle " + idle + " · usual " + strconv.FormatFloat(*c.Rot.Usual, 'f', 0, 64),
		"Rotting: in this phase for " + idle + ", longer than its usual " + strconv.FormatFloat(*c.Rot.Usual, 'f', 1, 64) + " days"
}
