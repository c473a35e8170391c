package models

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// The demo data set: a sales pipeline with the seeds' phases (Qualification, Proposal,
// Negotiation, Won, Lost), a second "Renewals" pipeline, phases for every other activity type
// (invoices: Draft, Sent, Paid), reps, customers, contacts, and opportunities spread over the
// coming months. Reference rows carry ImportIds ("demo:...") so loading again reuses them.

type demoPhase struct {
	name, code, action string
	probability        float64
	terminal, won      bool
}

var salesPhases = []demoPhase{
	{"Qualification", "QUAL", "Qualify", 10, false, false},
	{"Proposal", "PROP", "Propose", 30, false, false},
	{"Negotiation", "NEGO", "Negotiate", 60, false, false},
	{"Won", "WON", "Win", 100, true, true},
	{"Lost", "LOST", "Lose", 0, true, false},
}

var renewalPhases = []demoPhase{
	{"Discovery", "DISC", "Discover", 20, false, false},
	{"Quote", "QUOTE", "Quote", 50, false, false},
	{"Won", "WON", "Win", 100, true, true},
	{"Lost", "LOST", "Lose", 0, true, false},
}

// otherPhases are the phases of the other activity types; invoices follow the seed.
var otherPhases = map[string][]demoPhase{
	"Invoice": {{"Draft", "DRAFT", "", 0, false, false}, {"Sent", "SENT", "Send", 0, false, false}, {"Paid", "PAID", "Pay", 0, true, true}},
	"SupportTicket": {{"New", "NEW", "", 0, false, false}, {"In progress", "PROGRESS", "Start", 0, false, false},
		{"Waiting on customer", "WAITING", "Wait", 0, false, false}, {"Solved", "SOLVED", "Solve", 0, true, true}},
}

// demoKinds are the other kinds that get demo activities beside the opportunities, with the
// share of n they get and what they are about.
var demoKinds = []struct {
	kind   string
	share  int // one per share opportunities
	topics []string
}{
	{"Invoice", 10, []string{"Licence invoice", "Consulting invoice", "Support invoice", "Hardware invoice"}},
	{"SupportTicket", 10, []string{"Login problem", "Report is slow", "Export fails", "Question about invoice", "Feature request"}},
}

var genericPhases = []demoPhase{{"Open", "OPEN", "", 0, false, false}, {"In progress", "PROGRESS", "Start", 0, false, false}, {"Done", "DONE", "Complete", 0, true, true}}

var (
	// first name, last name, login (ASCII, for an email address)
	demoReps      = [][3]string{{"Anna", "de Vries", "anna"}, {"Bram", "Jansen", "bram"}, {"Chloé", "Martin", "chloe"}, {"Daan", "Bakker", "daan"}, {"Eva", "Visser", "eva"}}
	demoCustomers = []string{"Acme Logistics", "Brightwave Energy", "Cobalt Health", "Dune Retail", "Evergreen Foods",
		"Fjord Shipping", "Granite Build", "Harbor Finance", "Ionic Labs", "Juniper Hotels", "Kestrel Aviation",
		"Lumen Media", "Meridian Insurance", "Northwind Traders", "Orchid Pharma", "Pioneer Farms", "Quarry Tools",
		"Redwood Legal", "Solstice Travel", "Tidewater Utilities", "Umbra Security", "Vantage Motors",
		"Willow Education", "Xenon Chemicals", "Yardley Textiles", "Zephyr Telecom"}
	demoTopics = []string{"CRM rollout", "Annual licence", "Support contract", "Data migration", "Training programme",
		"Hardware refresh", "Consulting days", "Cloud upgrade", "Integration project", "Expansion seats"}
	demoSources     = []string{"Website", "Referral", "Trade fair", "Cold call", "Partner"}
	demoLostReasons = []string{"Price too high", "Chose a competitor", "No budget", "No decision", "Timing"}
	demoCompetitors = []string{"Salesforce", "HubSpot", "Pipedrive"}
)

// DemoProgress receives (done, total) while opportunities load.
type DemoProgress func(done, total int)

// LoadDemo creates (or reuses) the demo reference data and adds n opportunities.
func (s *Store) LoadDemo(ctx context.Context, n int, rng *rand.Rand, progress DemoProgress) error {
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	ref, err := s.demoReference(ctx)
	if err != nil {
		return err
	}
	if err := s.demoOpportunities(ctx, ref, n, rng, progress); err != nil {
		return err
	}
	for _, dk := range demoKinds {
		if err := s.demoActivities(ctx, ref, KindByName(dk.kind), n/dk.share, dk.topics, rng); err != nil {
			return err
		}
	}
	// The bulk insert bypasses the writes' hooks: recompute what they maintain.
	return s.RebuildAggregates(ctx)
}

// IsEmpty reports whether the database holds no pipeline yet (first start).
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	var n int64
	err := s.db(ctx).Model(&Pipeline{}).Count(&n).Error
	return n == 0, err
}

type demoRef struct {
	pipelines [](struct {
		p      Pipeline
		phases []Phase
	})
	reps      []Employee
	customers []Relationship
	contacts  []Contact
	sources   []Source
	reasons   []LostReason
	rivals    []Competitor
	priceList PriceList
}

func (s *Store) demoReference(ctx context.Context) (*demoRef, error) {
	ref := &demoRef{}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		var existing Pipeline
		err := tx.Where("import_id = ?", "demo:pipeline:sales").Take(&existing).Error
		if err == nil {
			return s.loadDemoReference(tx, ref)
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		addPipeline := func(kind, key, name string, order int, phases []demoPhase) error {
			p := Pipeline{Name: name, ActivityType: ActivityType(kind)}
			p.stamp(TypePipeline, now)
			p.SortIndex = float64(order)
			p.ImportID = ptr("demo:pipeline:" + key)
			if err := tx.Create(&p).Error; err != nil {
				return err
			}
			for i, d := range phases {
				ph := Phase{PipelineID: p.ID, Name: d.name, Code: d.code, LocalizedName: d.name, ActionName: d.action,
					LocalizedActionName: d.action, IsAssignable: true, IsTerminal: d.terminal, IsWon: d.won,
					DefaultProbability: d.probability, IsDefault: i == 0, Icon: "circle"}
				ph.stamp(PhaseType(kind), now)
				ph.SortIndex = float64(i + 1)
				if err := tx.Create(&ph).Error; err != nil {
					return err
				}
			}
			return nil
		}
		if err := addPipeline("SalesOpportunity", "sales", "Sales", 1, salesPhases); err != nil {
			return err
		}
		if err := addPipeline("SalesOpportunity", "renewals", "Renewals", 2, renewalPhases); err != nil {
			return err
		}
		for i, kind := range ActivityKinds {
			if kind == "SalesOpportunity" {
				continue
			}
			phases, ok := otherPhases[kind]
			if !ok {
				phases = genericPhases
			}
			if err := addPipeline(kind, kind, kind, 10+i, phases); err != nil {
				return err
			}
		}
		for i, r := range demoReps {
			email := r[2] + "@phaseboard.example"
			if _, err := s.createEmployee(tx, uuid.Nil, RelationChanges{FirstName: &r[0], LastName: &r[1], EmailAddress: &email},
				ptr(fmt.Sprintf("demo:employee:%d", i)), Actor{}); err != nil {
				return err
			}
		}
		for i, name := range demoCustomers {
			org, err := newRelation(tx, &Relation{Name: name}, TypeOrganization, now)
			if err != nil {
				return err
			}
			r := Relationship{OrganizationID: &org, City: []string{"Amsterdam", "Utrecht", "Rotterdam", "Antwerp", "Berlin"}[i%5]}
			r.stamp(TypeCustomer, now)
			r.ImportID = ptr(fmt.Sprintf("demo:relationship:%d", i))
			if err := tx.Create(&r).Error; err != nil {
				return err
			}
			for j, first := range []string{"Sam", "Lotte"} {
				person, err := newRelation(tx, &Relation{FirstName: first, LastName: name[:1] + "ørensen",
					EmailAddress: fmt.Sprintf("%s.%d@customer.example", strings.ToLower(first), i)}, TypePerson, now)
				if err != nil {
					return err
				}
				c := Contact{PersonID: &person, RelationshipID: &r.ID, RelationID: &org}
				c.stamp(TypeContact, now)
				c.ImportID = ptr(fmt.Sprintf("demo:contact:%d:%d", i, j))
				if err := tx.Create(&c).Error; err != nil {
					return err
				}
			}
		}
		for i, name := range demoSources {
			x := Source{Name: name, Code: fmt.Sprintf("S%d", i+1)}
			x.stamp(TypeSource, now)
			x.SortIndex = float64(i)
			if err := tx.Create(&x).Error; err != nil {
				return err
			}
		}
		for i, name := range demoLostReasons {
			x := LostReason{Name: name, Code: fmt.Sprintf("L%d", i+1)}
			x.stamp(TypeLostReason, now)
			x.SortIndex = float64(i)
			if err := tx.Create(&x).Error; err != nil {
				return err
			}
		}
		for _, name := range demoCompetitors {
			org, err := newRelation(tx, &Relation{Name: name}, TypeOrganization, now)
			if err != nil {
				return err
			}
			x := Competitor{OrganizationID: &org}
			x.stamp(TypeCompetitor, now)
			if err := tx.Create(&x).Error; err != nil {
				return err
			}
		}
		pl := PriceList{Name: "Standard 2026", Currency: "EUR"}
		pl.stamp(TypePriceList, now)
		if err := tx.Create(&pl).Error; err != nil {
			return err
		}
		return s.loadDemoReference(tx, ref)
	})
	return ref, err
}

func (s *Store) loadDemoReference(tx *gorm.DB, ref *demoRef) error {
	var pipelines []Pipeline
	if err := tx.Where("activity_type = ? AND import_id LIKE 'demo:%'", SalesOpportunity.Type).Order("sort_index").Find(&pipelines).Error; err != nil {
		return err
	}
	for _, p := range pipelines {
		var phases []Phase
		if err := tx.Where("pipeline_id = ?", p.ID).Order("sort_index").Find(&phases).Error; err != nil {
			return err
		}
		ref.pipelines = append(ref.pipelines, struct {
			p      Pipeline
			phases []Phase
		}{p, phases})
	}
	none := func(db *gorm.DB) *gorm.DB { return db }
	for _, q := range []struct {
		dst   any
		sql   string
		scope func(*gorm.DB) *gorm.DB
	}{
		{&ref.reps, "employees.import_id LIKE 'demo:%'", withPerson("employees")},
		{&ref.customers, "relationships.import_id LIKE 'demo:%'", withOrganization("relationships")},
		{&ref.contacts, "contacts.import_id LIKE 'demo:%'", withPerson("contacts")}, {&ref.sources, "1 = 1", none}, {&ref.reasons, "1 = 1", none},
		{&ref.rivals, "1 = 1", withOrganization("competitors")},
	} {
		if err := tx.Scopes(q.scope).Where(q.sql).Order("id").Find(q.dst).Error; err != nil {
			return err
		}
	}
	if len(ref.pipelines) == 0 || len(ref.reps) == 0 || len(ref.customers) == 0 {
		return Errorf(EInternal, "demo reference data is incomplete")
	}
	return tx.Order("id").Take(&ref.priceList).Error
}

// demoOpportunities inserts n opportunities in batches; numbers continue the year's sequence.
func (s *Store) demoOpportunities(ctx context.Context, ref *demoRef, n int, rng *rand.Rand, progress DemoProgress) error {
	const batch = 1000
	now := s.now()
	today := NewDate(now.Year(), now.Month(), now.Day())
	// Reserve all numbers at once: one short transaction, then batches that only insert.
	next, err := s.reserveNumbers(ctx, SalesOpportunity.Type, now.Year(), n)
	if err != nil {
		return err
	}
	for done := 0; done < n; {
		size := min(batch, n-done)
		first := next + done
		acts := make([]Activity, size)
		changes := make([]PhaseChange, 0, size*3)
		err := func() error {
			for i := range acts {
				// Most opportunities sit in the main pipeline's open phases.
				pl := ref.pipelines[0]
				if rng.IntN(5) == 0 && len(ref.pipelines) > 1 {
					pl = ref.pipelines[1]
				}
				phase := pl.phases[weightedPhase(rng, len(pl.phases))]
				cust := rng.IntN(len(ref.customers))
				a := &acts[i]
				// The way it came: the open phases before its own, each stay a few days to weeks.
				path, entered := demoJourney(pl.phases, phase, now, rng)
				a.stamp(SalesOpportunity.Type, entered[0])
				a.Subject = demoTopics[rng.IntN(len(demoTopics))] + " — " + ref.customers[cust].Name
				a.Number = formatNumber(now.Year(), first+i)
				a.Currency = "EUR"
				a.PipelineID = pl.p.ID
				a.RelationshipID = &ref.customers[cust].ID
				a.ContactID = &ref.contacts[(cust*2+rng.IntN(2))%len(ref.contacts)].ID
				a.SalesRepresentativeID = &ref.reps[rng.IntN(len(ref.reps))].ID
				a.SourceID = &ref.sources[rng.IntN(len(ref.sources))].ID
				a.PriceListID = &ref.priceList.ID
				est := float64(1000 * (1 + rng.IntN(120)))
				a.EstimatedAmount = &est
				a.Amount = est
				d := today.AddDate(0, 0, rng.IntN(270)-30)
				if phase.IsTerminal { // expected about when it closed
					c := entered[len(entered)-1]
					d = NewDate(c.Year(), c.Month(), c.Day()).AddDate(0, 0, rng.IntN(21)-7)
				}
				a.ExpectedOrderDate = &Date{d}
				a.SortIndex = float64(first+i) * sortStep
				a.Version = 1
				if _, err := enterPhase(SalesOpportunity, a, &phase, entered[len(entered)-1], true); err != nil {
					return err
				}
				a.LastMutationDate = a.PhaseEnteredAt
				if phase.IsLost() {
					r := rng.IntN(len(ref.reasons))
					a.LostReasonID = &ref.reasons[r].ID
					if len(ref.rivals) > 0 && (ref.reasons[r].Name == "Chose a competitor" || rng.IntN(4) == 0) {
						a.LostToCompetitorID = &ref.rivals[rng.IntN(len(ref.rivals))].ID
					}
				}
				a.RelationDescription = ref.customers[cust].Name
				a.recomputeWeighted()
				for j, p := range path {
					pc := PhaseChange{ID: uuid.New(), ActivityID: a.ID, ToPhaseID: p.ID, MovedBy: a.SalesRepresentativeID, MovedAt: entered[j]}
					if j > 0 {
						pc.FromPhaseID = &path[j-1].ID
					}
					changes = append(changes, pc)
				}
			}
			return s.bulkInsert(ctx, acts, changes)
		}()
		if err != nil {
			return fmt.Errorf("load demo opportunities: %w", err)
		}
		done += size
		if progress != nil {
			progress(done, n)
		}
	}
	return nil
}

// reserveNumbers takes n activity numbers of a type and year at once (one short transaction,
// then batches that only insert) and returns the first.
func (s *Store) reserveNumbers(ctx context.Context, activityType string, year, n int) (int, error) {
	var last int
	err := s.db(ctx).Raw(`INSERT INTO number_sequences (activity_type, year, last_value) VALUES (?, ?, ?)
		ON CONFLICT (activity_type, year) DO UPDATE SET last_value = number_sequences.last_value + ?
		RETURNING last_value`, activityType, year, n, n).Scan(&last).Error
	return last - n + 1, err
}

// demoActivities adds n activities of kind k to its first demo pipeline: customers' invoices
// and tickets with an amount and an owner, spread over the pipeline's phases.
func (s *Store) demoActivities(ctx context.Context, ref *demoRef, k *Kind, n int, topics []string, rng *rand.Rand) error {
	if n <= 0 {
		return nil
	}
	var pl Pipeline
	if err := s.db(ctx).Where("activity_type = ? AND import_id = ?", k.Type, "demo:pipeline:"+k.Name).Take(&pl).Error; err != nil {
		return fmt.Errorf("demo pipeline of %s: %w", k.Name, err)
	}
	var phases []Phase
	if err := s.db(ctx).Where("pipeline_id = ?", pl.ID).Order("sort_index").Find(&phases).Error; err != nil {
		return err
	}
	now := s.now()
	first, err := s.reserveNumbers(ctx, k.Type, now.Year(), n)
	if err != nil {
		return err
	}
	acts := make([]Activity, n)
	changes := make([]PhaseChange, n)
	for i := range acts {
		phase := phases[rng.IntN(len(phases))]
		cust := rng.IntN(len(ref.customers))
		a := &acts[i]
		*a = *newActivity(k, now.Add(-time.Duration(rng.IntN(60*24))*time.Hour))
		a.Subject = topics[rng.IntN(len(topics))] + " — " + ref.customers[cust].Name
		a.Number = formatNumber(now.Year(), first+i)
		a.PipelineID = pl.ID
		a.RelationshipID = &ref.customers[cust].ID
		a.SalesRepresentativeID = &ref.reps[rng.IntN(len(ref.reps))].ID
		a.Amount = float64(100 * (1 + rng.IntN(200)))
		a.RelationDescription = ref.customers[cust].Name
		a.SortIndex = float64(i+1) * sortStep
		if _, err := enterPhase(k, a, &phase, a.CreationDate, true); err != nil {
			return err
		}
		changes[i] = PhaseChange{ID: uuid.New(), ActivityID: a.ID, ToPhaseID: phase.ID, MovedBy: a.SalesRepresentativeID, MovedAt: a.PhaseEnteredAt}
	}
	return s.bulkInsert(ctx, acts, changes)
}

// demoJourney is the way a demo opportunity came to its phase: the open phases before it in
// order (a lost one drops out after a random one of them), and when it entered each, oldest
// first, the last being its own phase's. Stays last a phase's usual days, more or less; a
// closed one closed during the last six months; the stay in an open phase goes on up to twice
// its usual length, so some cards rot.
func demoJourney(phases []Phase, target Phase, now time.Time, rng *rand.Rand) ([]Phase, []time.Time) {
	var open []Phase
	for _, p := range phases {
		if !p.IsTerminal {
			open = append(open, p)
		}
	}
	usual := func(i int) time.Duration {
		days := float64(6+5*i) * (0.4 + 1.2*rng.Float64())
		return time.Duration(days * 24 * float64(time.Hour))
	}
	var path []Phase
	end := now
	switch {
	case !target.IsTerminal:
		for _, p := range open {
			path = append(path, p)
			if p.ID == target.ID {
				break
			}
		}
		end = now.Add(-time.Duration(rng.Float64() * 2 * float64(usual(len(path)-1))))
	case target.IsWon:
		path = append(path, open...)
		end = now.Add(-time.Duration(rng.IntN(180*24)) * time.Hour)
	default:
		path = append(path, open[:1+rng.IntN(len(open))]...)
		end = now.Add(-time.Duration(rng.IntN(180*24)) * time.Hour)
	}
	if target.IsTerminal {
		path = append(path, target)
	}
	at := make([]time.Time, len(path))
	at[len(path)-1] = end
	for j := len(path) - 2; j >= 0; j-- {
		at[j] = at[j+1].Add(-usual(j))
	}
	return path, at
}

// weightedPhase favours the early, open phases, as a real pipeline does.
func weightedPhase(rng *rand.Rand, n int) int {
	weights := []int{35, 25, 18, 12, 10}
	if n != len(weights) {
		return rng.IntN(n)
	}
	r := rng.IntN(100)
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return 0
}
