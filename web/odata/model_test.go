package odata

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// testModel is a small Phaseboard-like model: pipelines, phases (one table,
// a base set and two subtype sets), opportunities and their product lines.
func testModel() *Model {
	phase := []Property{
		Prop("ID", EdmGuid, "t.id").Required(),
		Prop("_Type", EdmString, "t.type").Required(),
		Prop("Name", EdmString, "t.name"),
		Prop("Code", EdmString, "t.code"),
		Prop("IsTerminal", EdmBoolean, "t.is_terminal").Required(),
		Prop("SortIndex", EdmDouble, "t.sort_index"),
	}
	return &Model{
		Namespace: "Phaseboard",
		Types: []EntityType{
			{Name: "Pipeline", Properties: []Property{
				Prop("ID", EdmGuid, "t.id").Required(),
				Prop("Name", EdmString, "t.name").Writes(bind(func(c *testChanges) any { return &c.Name })),
			}, NavProps: []NavProp{Many("Phases", "Datastore_Phase", "pipeline_id")}},
			{Name: "Datastore.Phase", Properties: phase, NavProps: []NavProp{One("Pipeline", "Pipeline", "pipeline_id")}},
			{Name: "Datastore.Phase.ActivityInvoice", BaseType: "Datastore.Phase"},
			{Name: "Datastore.Phase.ActivitySalesOpportunity", BaseType: "Datastore.Phase"},
			{Name: "Activity.SalesOpportunity", Properties: []Property{
				Prop("ID", EdmGuid, "t.id").Required(),
				Prop("_Name", EdmString, "t.number || ' ' || t.subject").Computed(),
				Prop("Subject", EdmString, "t.subject").Writes(bind(func(c *testChanges) any { return &c.Subject })),
				Prop("Number", EdmString, "t.number").Computed(),
				Prop("Amount", EdmDouble, "t.amount").Required().Writes(bind(func(c *testChanges) any { return &c.Amount })),
				Prop("Probability", EdmDouble, "t.probability"),
				Prop("Quantity", EdmInt64, "t.quantity").Writes(bind(func(c *testChanges) any { return &c.Quantity })),
				Prop("ExpectedOrderDate", EdmDate, "t.expected_order_date").Writes(bind(func(c *testChanges) any { return &c.ExpectedOrderDate })),
				Prop("CreationDate", EdmDateTimeOffset, "t.creation_date").Required().Computed(),
				Prop("IsClosed", EdmBoolean, "t.is_closed").Required().Computed(),
			}, NavProps: []NavProp{
				One("Phase", "Datastore_Phase_ActivitySalesOpportunity", "phase_id").Writes(bind(func(c *testChanges) any { return &c.PhaseID })),
				One("Pipeline", "Pipeline", "pipeline_id").NotNull().WritesOnCreate(bind(func(c *testChanges) any { return &c.PipelineID })),
				Many("ProductLines", "ProductLine", "opportunity_id"),
			}},
			{Name: "ProductLine", Properties: []Property{
				Prop("ID", EdmGuid, "t.id").Required(),
				Prop("Description", EdmString, "t.description"),
				Prop("Amount", EdmDouble, "t.amount"),
			}, NavProps: []NavProp{One("Opportunity", "Activity_SalesOpportunity", "opportunity_id")}},
		},
		Sets: []EntitySet{
			{Name: "Pipeline", Type: "Pipeline", Table: "pipelines"},
			{Name: "Datastore_Phase", Type: "Datastore.Phase", Table: "phases"},
			{Name: "Datastore_Phase_ActivityInvoice", Type: "Datastore.Phase.ActivityInvoice", Table: "phases", Where: "t.type = 'Datastore.Phase.ActivityInvoice'"},
			{Name: "Datastore_Phase_ActivitySalesOpportunity", Type: "Datastore.Phase.ActivitySalesOpportunity", Table: "phases", Where: "t.type = 'Datastore.Phase.ActivitySalesOpportunity'"},
			{Name: "Activity_SalesOpportunity", Type: "Activity.SalesOpportunity", Table: "opportunities", Search: []string{"Subject", "Number", "Phase/Name"}},
			{Name: "ProductLine", Type: "ProductLine", Table: "product_lines"},
		},
	}
}

// testChanges is what the test model's writable members decode into.
type testChanges struct {
	Name, Subject       *string
	Amount              *float64
	Quantity            *int64
	ExpectedOrderDate   *testDate
	PhaseID, PipelineID *uuid.UUID
}

// testDate is a date that unmarshals from text, as application date types do.
type testDate struct{ time.Time }

func (d *testDate) UnmarshalText(b []byte) error {
	t, err := time.Parse("2006-01-02", string(b))
	if err != nil {
		return err
	}
	if t.Year() < 1900 {
		return errors.New("dates before 1900 are not supported")
	}
	d.Time = t
	return nil
}

// bind adapts a typed field accessor to a Bind.
func bind[C any](f func(*C) any) Bind { return func(ch any) any { return f(ch.(*C)) } }

func TestModelValidates(t *testing.T) {
	if err := testModel().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestModelErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Model)
		want   string
	}{
		{"unknown target", func(m *Model) { m.Types[1].NavProps[0].Target = "Nope" }, `unknown target set "Nope"`},
		{"duplicate set", func(m *Model) { m.Sets = append(m.Sets, m.Sets[0]) }, `duplicate entity set "Pipeline"`},
		{"duplicate type", func(m *Model) { m.Types = append(m.Types, m.Types[0]) }, `duplicate type "Pipeline"`},
		{"duplicate property", func(m *Model) {
			m.Types[0].Properties = append(m.Types[0].Properties, Prop("Name", EdmString, "t.x"))
		}, `duplicate member "Name"`},
		{"inherited duplicate", func(m *Model) {
			m.Types[2].Properties = []Property{Prop("Code", EdmString, "t.code2")}
		}, `duplicate member "Code"`},
		{"unknown base", func(m *Model) { m.Types[2].BaseType = "X" }, `unknown base type "X"`},
		{"cycle", func(m *Model) { m.Types[1].BaseType = "Datastore.Phase.ActivityInvoice" }, "inheritance cycle"},
		{"unknown set type", func(m *Model) { m.Sets[0].Type = "X" }, `unknown type "X"`},
		{"missing key", func(m *Model) { m.Sets[0].Key = "Name" }, "must be Edm.Guid"},
		{"bad property type", func(m *Model) { m.Types[0].Properties[1].Type = "Edm.Foo" }, "unknown type"},
		{"bad fk", func(m *Model) { m.Types[1].NavProps[0].FK = "x; drop" }, "invalid FK column"},
		{"bad table", func(m *Model) { m.Sets[0].Table = "a b" }, "invalid table"},
		{"no sql", func(m *Model) { m.Types[0].Properties[1].SQL = "" }, "has no SQL"},
	}
	for _, tt := range tests {
		m := testModel()
		tt.change(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestTypeDiscriminator(t *testing.T) {
	s, err := testModel().resolve()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.sets["Pipeline"].typ.prop("_Type").SQL; got != "'Pipeline'" {
		t.Errorf("auto _Type = %s", got)
	}
	if got := s.sets["Datastore_Phase_ActivityInvoice"].typ.prop("_Type").SQL; got != "t.type" {
		t.Errorf("inherited declared _Type = %s", got)
	}
}

func TestQualify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"t.id", "j1.id"},
		{"t.number || ' ' || t.subject", "j1.number || ' ' || j1.subject"},
		{"t.type = 'Datastore.Phase.ActivityProject.t.x'", "j1.type = 'Datastore.Phase.ActivityProject.t.x'"},
		{"lower(t.a)+at.b", "lower(j1.a)+at.b"},
	}
	for _, tt := range tests {
		if got := qualify(tt.in, "j1"); got != tt.want {
			t.Errorf("qualify(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
