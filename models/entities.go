package models

import (
	"time"

	"github.com/google/uuid"
)

// Discriminators of the other entities.
const (
	TypePipeline         = "Pipeline"
	TypeEmployee         = "Relation.Person.Contact.Employee"
	TypeContact          = "Relation.Person.Contact"
	TypeRelationship     = "Relationship"
	TypeSource           = "Datastore.Source"
	TypeLostReason       = "Datastore.LostReason"
	TypeCompetitor       = "Relationship.Organization.Competitor"
	TypePriceList        = "PriceList"
	TypeProductLine      = "ProductLine"
	TypeInvolved         = "Involved"
	TypeTimeRegistration = "TimeRegistration"
)

// Standard holds the fields every entity of the seeds has (ID, _Type, SortIndex, ...),
// plus ImportId, the client-supplied key that real Tribe clients use for idempotent imports.
type Standard struct {
	ID               uuid.UUID `gorm:"primaryKey;type:uuid"`
	Type             string
	SortIndex        float64
	CreationDate     time.Time
	LastMutationDate time.Time
	IsActive         bool
	IsClosed         bool
	ImportID         *string `gorm:"column:import_id"`
}

// stamp fills the standard fields of a new entity.
func (s *Standard) stamp(typ string, now time.Time) {
	if s.ID == uuid.Nil {
		s.ID = uuid.New()
	}
	s.Type = typ
	s.CreationDate = now
	s.LastMutationDate = now
	s.IsActive = true
}

type Pipeline struct {
	Standard
	Name         string
	ActivityType string // e.g. "Activity.SalesOpportunity"
}

func (Pipeline) TableName() string { return "pipelines" }

// Phase is one stage of a pipeline. A terminal phase is either a won or a lost end.
// DefaultProbability (an extension to the seeds) is what entering the phase sets an
// opportunity's Probability to.
type Phase struct {
	Standard
	PipelineID          uuid.UUID `gorm:"type:uuid"`
	Name                string
	Code                string
	LocalizedName       string
	IsDefault           bool
	Icon                string
	ActionName          string
	LocalizedActionName string
	IsAssignable        bool
	IsTerminal          bool
	IsWon               bool
	DefaultProbability  float64
	ForecastCategory    string // the default of its opportunities; see DefaultForecastCategory
	RotAfterDays        *int   // an admin's "rotting after N days"; nil: see RotRule
}

func (Phase) TableName() string { return "phases" }

// IsLost reports whether the phase is a lost end.
func (p *Phase) IsLost() bool { return p.IsTerminal && !p.IsWon }

// Employee is a Relationship_Person_Contact_Employee: PersonID is the person, RelationID the
// tenant's own organisation. The name and email are the person's, read through withPerson
// ("->": never written here; SavePerson writes them).
type Employee struct {
	Standard
	PersonID   *uuid.UUID `gorm:"type:uuid"`
	RelationID *uuid.UUID `gorm:"type:uuid"`
	FirstName  string     `gorm:"->"`
	LastName   string     `gorm:"->"`
	Email      string     `gorm:"->"`
}

func (Employee) TableName() string { return "employees" }

// FullName is the employee's display name.
func (e *Employee) FullName() string { return joinName(e.FirstName, e.LastName) }

// Relationship is a customer or lead (or the tenant's identity): OrganizationID is the
// organisation, whose Name it reads through withOrganization.
type Relationship struct {
	Standard
	OrganizationID *uuid.UUID `gorm:"type:uuid"`
	Name           string     `gorm:"->"`
	City           string
}

func (Relationship) TableName() string { return "relationships" }

// Contact is a Relationship_Person_Contact_Standard: PersonID is the person (whose name and
// email it reads through withPerson), RelationshipID the customer and RelationID that
// customer's organisation (kept together by SaveContact).
type Contact struct {
	Standard
	PersonID       *uuid.UUID `gorm:"type:uuid"`
	RelationID     *uuid.UUID `gorm:"type:uuid"`
	FirstName      string     `gorm:"->"`
	LastName       string     `gorm:"->"`
	Email          string     `gorm:"->"`
	RelationshipID *uuid.UUID `gorm:"type:uuid"`
}

func (Contact) TableName() string { return "contacts" }

// Named is the shape of the simple lookup entities (sources, lost reasons, competitors).
type Source struct {
	Standard
	Name string
	Code string
}

func (Source) TableName() string { return "sources" }

type LostReason struct {
	Standard
	Name string
	Code string
}

func (LostReason) TableName() string { return "lost_reasons" }

// Competitor is a Relationship_Organization_Competitor; Name is its organisation's.
type Competitor struct {
	Standard
	OrganizationID *uuid.UUID `gorm:"type:uuid"`
	Name           string     `gorm:"->"`
}

func (Competitor) TableName() string { return "competitors" }

type PriceList struct {
	Standard
	Name     string
	Currency string
}

func (PriceList) TableName() string { return "price_lists" }

// Activity is one row of the activities table: every activity type lives here, told apart by
// Type (single-table inheritance). The sales-opportunity fields are nil for other types, so
// invoices or tickets can join later without a new table or a rewrite.
type Activity struct {
	Standard
	Subject                   string
	Number                    string
	Amount                    float64
	Currency                  string
	IsVatIncluded             bool
	DiscountPercentage        float64
	RelationDescription       string
	NumberOfProductLines      float64
	NumberOfOpenTasks         float64
	NumberOfPlannedActions    float64
	BillingAmount             float64
	BillingAmountInCurrency   float64
	AmountInCurrency          float64
	TotalSalesExcludingVAT    float64 `gorm:"column:total_sales_excluding_vat"`
	TotalSalesIncludingVAT    float64 `gorm:"column:total_sales_including_vat"`
	VatAmount                 float64
	TotalDiscountExcludingVAT float64 `gorm:"column:total_discount_excluding_vat"`
	TotalMargin               float64
	TotalPurchaseAmount       float64

	RelationshipID        *uuid.UUID `gorm:"type:uuid"`
	ContactID             *uuid.UUID `gorm:"type:uuid"`
	PipelineID            uuid.UUID  `gorm:"type:uuid"`
	PhaseID               uuid.UUID  `gorm:"type:uuid"`
	SourceID              *uuid.UUID `gorm:"type:uuid"`
	SalesRepresentativeID *uuid.UUID `gorm:"type:uuid"`
	LostReasonID          *uuid.UUID `gorm:"type:uuid"`
	LostToCompetitorID    *uuid.UUID `gorm:"type:uuid"`
	PriceListID           *uuid.UUID `gorm:"type:uuid"`
	ParentActivityID      *uuid.UUID `gorm:"type:uuid"`

	// Sales opportunity fields.
	Probability       *float64
	WeightedAmount    *float64
	EstimatedAmount   *float64
	ExpectedOrderDate *Date

	PhaseEnteredAt time.Time
	Version        int

	// ForecastCategory overrides the phase's category; nil follows the phase.
	ForecastCategory *string
}

func (Activity) TableName() string { return "activities" }

// PhaseChange records one move of an activity between phases.
type PhaseChange struct {
	ID          uuid.UUID  `gorm:"primaryKey;type:uuid"`
	ActivityID  uuid.UUID  `gorm:"type:uuid"`
	FromPhaseID *uuid.UUID `gorm:"type:uuid"`
	ToPhaseID   uuid.UUID  `gorm:"type:uuid"`
	MovedBy     *uuid.UUID `gorm:"type:uuid"`
	MovedAt     time.Time
}

func (PhaseChange) TableName() string { return "phase_changes" }

type ProductLine struct {
	Standard
	ActivityID  uuid.UUID  `gorm:"type:uuid"`
	ProductID   *uuid.UUID `gorm:"type:uuid"`
	Description string
	Quantity    float64
	Price       float64
	Amount      float64
}

func (ProductLine) TableName() string { return "product_lines" }

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// TypeProduct is the discriminator of the product catalogue (Tribe's Product).
const TypeProduct = "Product"

// Product is an entry of the catalogue; a product line may name one.
type Product struct {
	Standard
	Name          string
	Code          string
	Description   string
	SalesPrice    float64
	PurchasePrice float64
	IsVatIncluded bool
}

func (Product) TableName() string { return "products" }
