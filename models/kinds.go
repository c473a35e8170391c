package models

import "strings"

// Kind is one activity kind of the seeds: every kind has its own phases and pipelines, its own
// entity set (Activity_<Name>) and its own numbers, and lives in the one activities table, told
// apart by Type. The rules every kind follows are in activity.go; Sales marks the kind whose
// sales rules also apply (probability, weighted amount, lost reason and competitor, forecast
// category, expected order date).
type Kind struct {
	Name      string // "Invoice"
	Type      string // the activities' _Type: "Activity.Invoice"
	PhaseType string // the phases' _Type: "Datastore.Phase.ActivityInvoice"
	Noun      string // "invoice": what a user calls one, in messages
	Sales     bool
}

// Kinds lists the activity kinds: the seeds' 15, in the order of the phases seed's subtype
// table, and the call that live Tribe tenants have. Adding a kind is one line here (plus demo
// phases, if it should not get the generic ones): its sets Activity_<Name> and
// Datastore_Phase_Activity<Name>, its boards, numbers and rules follow.
var Kinds = []*Kind{
	newKind("Appointment", "appointment"),
	newKind("Call", "call"), // not in the seeds' table; live Tribe tenants have it (Activity_Call)
	newKind("Campaign", "campaign"),
	newKind("Document", "document"),
	newKind("Email", "email"),
	newKind("Event", "event"),
	newKind("Invoice", "invoice"),
	newKind("LinkedInMessage", "LinkedIn message"),
	newKind("Offer", "offer"),
	newKind("Project", "project"),
	sales(newKind("SalesOpportunity", "opportunity")),
	newKind("SalesOrder", "sales order"),
	newKind("Subscription", "subscription"),
	newKind("SupportTicket", "support ticket"),
	newKind("Task", "task"),
	newKind("WorkOrder", "work order"),
}

func newKind(name, noun string) *Kind {
	return &Kind{Name: name, Type: "Activity." + name, PhaseType: "Datastore.Phase.Activity" + name, Noun: noun}
}

func sales(k *Kind) *Kind { k.Sales = true; return k }

// SalesOpportunity is the kind the sales rules and the forecasts are about.
var SalesOpportunity = KindByName("SalesOpportunity")

// KindByName returns the kind named name ("Invoice"), or nil.
func KindByName(name string) *Kind {
	for _, k := range Kinds {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// KindByType returns the kind of an activity _Type ("Activity.Invoice") or of a pipeline's
// ActivityType, also accepting the bare name ("Invoice"); nil when there is none.
func KindByType(typ string) *Kind {
	return KindByName(strings.TrimPrefix(typ, "Activity."))
}

// KindByPhaseType returns the kind whose phases have _Type typ, or nil.
func KindByPhaseType(typ string) *Kind {
	return KindByName(strings.TrimPrefix(typ, "Datastore.Phase.Activity"))
}

// ActivityKinds are the names of Kinds ("Appointment" … "WorkOrder").
var ActivityKinds = func() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.Name
	}
	return out
}()

// ActivityType is the _Type of an activity of the given kind ("Activity.SalesOpportunity").
func ActivityType(kind string) string { return "Activity." + kind }

// PhaseType is the _Type of the phases of an activity kind ("Datastore.Phase.ActivitySalesOpportunity").
func PhaseType(kind string) string { return "Datastore.Phase.Activity" + kind }
