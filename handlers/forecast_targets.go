package handlers

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// The targets page (managers set the team's and each rep's targets per month or quarter) and
// the manager's adjustment of a rep's commit from the forecast page. Plain forms that post and
// redirect back (303), or re-render with what was typed and the domain's refusal.

// targetsYear reads ?year= (default this year) and ?by= (month or quarter).
func (h *Handler) targetsYear(v url.Values) (int, string, error) {
	year := h.today().Year()
	if s := strings.TrimSpace(v.Get("year")); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || y < 2000 || y > 2100 {
			return 0, "", badRequest("The year must be between 2000 and 2100.")
		}
		year = y
	}
	by := v.Get("by")
	switch by {
	case "":
		by = models.PeriodMonth
	case models.PeriodMonth, models.PeriodQuarter:
	default:
		return 0, "", badRequest("Show targets by month or by quarter.")
	}
	return year, by, nil
}

// yearPeriods are the months or quarters of a year.
func yearPeriods(year int, by string) []models.SalesPeriod {
	step := 1
	if by == models.PeriodQuarter {
		step = 3
	}
	var out []models.SalesPeriod
	for m := 1; m <= 12; m += step {
		start := models.NewDate(year, time.Month(m), 1)
		out = append(out, models.SalesPeriod{Start: start, End: models.Date{Time: start.AddDate(0, step, -1)}})
	}
	return out
}

// targetsView builds the page; typed, when not nil, holds what the user typed (a refused save).
func (h *Handler) targetsView(c *fiber.Ctx, year int, by string, typed map[string]string) (views.TargetsPageView, error) {
	ctx := c.UserContext()
	periods := yearPeriods(year, by)
	targets, err := h.Store.Targets(ctx, models.NewDate(year, 1, 1), models.NewDate(year, 12, 31))
	if err != nil {
		return views.TargetsPageView{}, err
	}
	emps, err := h.Store.Employees(ctx)
	if err != nil {
		return views.TargetsPageView{}, err
	}
	currency, err := h.Store.ReportingCurrency(ctx)
	if err != nil {
		return views.TargetsPageView{}, err
	}
	v := views.TargetsPageView{Page: page(c, "Targets", "forecast"), Year: year, By: by, Periods: periods, Currency: currency}
	type who struct {
		key, name string
		id        *uuid.UUID
	}
	people := []who{{key: "team", name: "Team (total)"}}
	for _, e := range emps {
		id := e.ID
		people = append(people, who{key: e.ID.String(), name: e.FullName(), id: &id})
	}
	for _, p := range people {
		row := views.TargetsRow{Key: p.key, Name: p.name}
		for _, per := range periods {
			cell := views.TargetsCell{Name: views.TargetField(p.key, per), Label: p.name + ", " + per.Label()}
			inside, covered := 0.0, false
			for _, t := range targets {
				if !samePerson(t.PersonID, p.id) {
					continue
				}
				switch {
				case t.StartDate.Equal(per.Start.Time) && t.EndDate.Equal(per.End.Time):
					cell.Value = views.AmountValue(t.Amount)
				case !t.StartDate.Before(per.Start.Time) && !t.EndDate.After(per.End.Time):
					inside += t.Amount
				case !t.StartDate.After(per.Start.Time) && !t.EndDate.Before(per.End.Time):
					covered = true
				}
			}
			if inside > 0 {
				cell.Inside = "months: " + views.MoneyIn(inside, currency)
			}
			if covered {
				cell.Inside = "set for the quarter"
			}
			if typed != nil {
				cell.Value = typed[cell.Name]
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

func samePerson(a, b *uuid.UUID) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TargetsPage shows the targets of a year.
func (h *Handler) TargetsPage(c *fiber.Ctx) error {
	q, err := queryValues(c)
	if err != nil {
		return err
	}
	year, by, err := h.targetsYear(q)
	if err != nil {
		return err
	}
	v, err := h.targetsView(c, year, by, nil)
	if err != nil {
		return err
	}
	if q.Get("saved") == "1" {
		v.Notice = "Targets saved."
	}
	return web.Render(c, fiber.StatusOK, views.TargetsPage(v))
}

// maxTargetCells caps one save (12 months × a large team).
const maxTargetCells = 5000

var thousands = regexp.MustCompile(`^\d{1,3}(,\d{3})+(\.\d+)?$`)

// parseAmount reads an amount as typed: "40000", "40,000", "1234.5"; "" is none.
func parseAmount(s string) (*float64, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, " ", ""))
	if s == "" {
		return nil, true
	}
	if thousands.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false
	}
	return &v, true
}

// SaveTargets saves the page's cells in one transaction (models.SetTargets).
func (h *Handler) SaveTargets(c *fiber.Ctx) error {
	year, by, err := h.targetsYear(url.Values{"year": {c.FormValue("year")}, "by": {c.FormValue("by")}})
	if err != nil {
		return err
	}
	typed := map[string]string{}
	var cells []models.TargetCell
	var problem string
	args := c.Request().PostArgs()
	if args.Len() > maxTargetCells {
		return badRequest("Too many targets in one save.")
	}
	args.VisitAll(func(k, val []byte) {
		key := string(k)
		if !strings.HasPrefix(key, "t:") || problem != "" {
			return
		}
		typed[key] = string(val)
		parts := strings.Split(key, ":")
		if len(parts) != 4 {
			problem = "The form is malformed: reload the page."
			return
		}
		cell := models.TargetCell{}
		if parts[1] != "team" {
			id, err := uuid.Parse(parts[1])
			if err != nil {
				problem = "The form is malformed: reload the page."
				return
			}
			cell.PersonID = &id
		}
		start, err1 := models.ParseDate(parts[2])
		end, err2 := models.ParseDate(parts[3])
		if err1 != nil || err2 != nil {
			problem = "The form is malformed: reload the page."
			return
		}
		cell.Period = models.SalesPeriod{Start: start, End: end}
		amount, ok := parseAmount(string(val))
		if !ok {
			problem = cell.Period.Label() + ": “" + string(val) + "” is not an amount (write 40000 or 40,000)."
			return
		}
		cell.Amount = amount
		cells = append(cells, cell)
	})
	rerender := func(msg string, status int) error {
		v, err := h.targetsView(c, year, by, typed)
		if err != nil {
			return err
		}
		v.Error = msg
		return web.Render(c, status, views.TargetsPage(v))
	}
	if problem != "" {
		return rerender(problem, fiber.StatusBadRequest)
	}
	if err := h.Store.SetTargets(c.UserContext(), cells, web.ActorOf(c)); err != nil {
		return refused(err, rerender)
	}
	return c.Redirect("/forecast/targets?year="+strconv.Itoa(year)+"&by="+by+"&saved=1", fiber.StatusSeeOther)
}

// targetsSection is the forecast page's targets section for the URL's ?period=.
func (h *Handler) targetsSection(c *fiber.Ctx, fc *models.Forecast, q url.Values, query string) (*views.TargetsSectionView, error) {
	key := q.Get("period")
	found := false
	for _, p := range fc.Periods {
		found = found || p.Key == key
	}
	if !found {
		key = fc.DefaultPeriod()
	}
	if key == "" {
		return nil, nil
	}
	at, err := h.Store.Attainment(c.UserContext(), fc, key)
	if err != nil {
		return nil, err
	}
	return &views.TargetsSectionView{Attainment: at, Forecast: fc, Periods: fc.Periods, Query: query, Currency: fc.Currency,
		CSRF: web.CSRFToken(c), Manage: models.CanSetTargets(web.ActorOf(c))}, nil
}

// SaveOverride records a manager's commit for a rep and period, then shows the forecast it
// was made on again (the form's return), at the period's targets.
func (h *Handler) SaveOverride(c *fiber.Ctx) error {
	rep, err := uuid.Parse(c.FormValue("rep"))
	if err != nil {
		return badRequest("Choose the rep whose commit to adjust.")
	}
	period, err := models.ParsePeriodKey(c.FormValue("period"))
	if err != nil {
		return err
	}
	back, err := url.ParseQuery(c.FormValue("return"))
	if err != nil {
		return badRequest("The page's address is malformed: reload the forecast and try again.")
	}
	back.Set("period", c.FormValue("period"))
	amount, ok := parseAmount(c.FormValue("amount"))
	if !ok || amount == nil {
		return badRequest("The manager's commit must be an amount, such as 40000.")
	}
	author := ""
	if u := web.CurrentUser(c); u != nil {
		author = u.Email
	}
	if _, err := h.Store.OverrideCommit(c.UserContext(), rep, period, *amount, c.FormValue("note"), author, web.ActorOf(c)); err != nil {
		return err
	}
	return c.Redirect("/forecast?"+back.Encode()+"#targets", fiber.StatusSeeOther)
}
