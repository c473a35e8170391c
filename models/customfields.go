package models

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Custom fields: an admin adds fields of their own to an entity type: the activity kinds
// (Activity.SalesOpportunity …) and the records clients write beside them
// (CustomRecordTypes). A definition is a row of custom_fields; the values are rows of
// custom_field_values (entity, field, one column per kind), so adding or removing a field is a
// write, never a schema change: no migration, no restart.
//
// Every instance keeps the definitions in memory (CustomFields) and reloads them when
// custom_field_version moves: each definition change bumps it in its transaction. The check
// is one single-row read at most every CustomFieldsTTL (a second by default) per instance, so
// a field defined on one instance appears on the others within that time; the instance that
// made the change sees it at once. A stale instance is never wrong about values: writes
// validate against the definitions read in their own transaction (a field removed a moment
// ago is refused there), and reads of a removed field find no values.

// The kinds of custom field.
const (
	CustomText    = "text"
	CustomNumber  = "number"
	CustomDate    = "date"
	CustomBoolean = "boolean"
	CustomChoice  = "choice"
	CustomLink    = "link"
)

// CustomKinds are the kinds in the order the admin page offers them, with their labels.
var CustomKinds = []struct{ Kind, Label string }{
	{CustomText, "Text"}, {CustomNumber, "Number"}, {CustomDate, "Date"}, {CustomBoolean, "Yes / no"},
	{CustomChoice, "Choice list"}, {CustomLink, "Link to another entity"},
}

// CustomRecordTypes are the types beside the activity kinds that take custom fields, with
// their labels. A field of Relationship is one of every organisation relationship (customers,
// leads, the tenant's identity: its subtypes inherit it, as in OData); a contact's and an
// employee's fields are on both names of their set (the seeds' and Tribe's).
var CustomRecordTypes = []struct{ Type, Label string }{
	{TypePerson, "Person"}, {TypeOrganization, "Organisation"}, {TypeRelationship, "Customer/lead relationship"},
	{TypeContact, "Contact"}, {TypeEmployee, "Employee"}, {TypeProduct, "Product"},
}

// CustomEntityTypeLabel names the type whose entities carry a field ("Opportunity", "Person").
func CustomEntityTypeLabel(typ string) string {
	if k := KindByType(typ); k != nil && k.Type == typ {
		return strings.ToUpper(k.Noun[:1]) + k.Noun[1:]
	}
	for _, t := range CustomRecordTypes {
		if t.Type == typ {
			return t.Label
		}
	}
	return typ
}

// CustomLinkTargets are the entity types a link field may point to, with their labels.
var CustomLinkTargets = []struct{ Type, Label string }{
	{TypeRelationship, "Customer (Relationship)"}, {TypeContact, "Contact"}, {TypeEmployee, "Employee"},
	{TypePerson, "Person"}, {TypeOrganization, "Organisation"}, {TypeProduct, "Product"},
	{"Activity", "Activity (any kind)"},
}

// Bounds of a definition and of a text value.
const (
	maxCustomLabel   = 100
	maxCustomChoices = 100
	maxCustomText    = 4000
)

// CustomField is the definition of one custom field.
type CustomField struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	EntityType   string    // the type whose entities carry it: a kind's _Type
	Label        string
	Kind         string
	Choices      []string `gorm:"serializer:json"` // the allowed values of a choice list
	LinkTarget   string   // the type a link points to (CustomLinkTargets)
	OnCard       bool     // shown on the board's cards
	InExport     bool     // a column of the forecast's CSV export
	SortIndex    float64
	CreationDate time.Time
}

func (CustomField) TableName() string { return "custom_fields" }

// APIName is the field's name in the API, Tribe's rule: "_" and its UUID with "-" as "__"
// (_117ecf60__d492__48a1__8aab__a131ad465fd5).
func (f *CustomField) APIName() string { return CustomFieldAPIName(f.ID) }

// CustomFieldAPIName is the API name of the field with id.
func CustomFieldAPIName(id uuid.UUID) string { return "_" + strings.ReplaceAll(id.String(), "-", "__") }

// FormName is the field's name in the board's edit form.
func (f *CustomField) FormName() string { return "cf_" + f.ID.String() }

// canonicalUUID is uuid.UUID.String()'s form. The SQL of a field's values names the field by
// its ID as a literal (the OData model's SQL is text), so it is checked to be exactly this
// before it goes anywhere near SQL.
var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValueSQL is the trusted SQL, over alias "t" (the entity's table, key t.id), of the field's
// value for the entity: a correlated read of its row in custom_field_values (the primary key
// entity_id, field_id makes it one index probe). It panics for an ID not in canonical form,
// which no definition read from the database can have.
func (f *CustomField) ValueSQL() string {
	id := f.ID.String()
	if !canonicalUUID.MatchString(id) {
		panic("custom field: non-canonical id " + id)
	}
	return "(SELECT cfv." + customColumn(f.Kind) + " FROM custom_field_values cfv WHERE cfv.entity_id = t.id AND cfv.field_id = '" + id + "')"
}

// ValueColumn is the column of custom_field_values that holds the field's values, and JoinOn
// the condition that joins the value row (alias row) to its entity (alias entity): the OData
// model reads values through that join in $filter and $orderby (odata.PropJoin), which uses
// the (field_id, value) indexes.
func (f *CustomField) ValueColumn() string { return customColumn(f.Kind) }

// JoinOn: see ValueColumn.
func (f *CustomField) JoinOn(entity, row string) string {
	id := f.ID.String()
	if !canonicalUUID.MatchString(id) {
		panic("custom field: non-canonical id " + id)
	}
	return row + ".entity_id = " + entity + ".id AND " + row + ".field_id = '" + id + "'"
}

// customColumn is the column of custom_field_values that holds values of kind.
func customColumn(kind string) string {
	switch kind {
	case CustomNumber:
		return "number_value"
	case CustomDate:
		return "date_value"
	case CustomBoolean:
		return "bool_value"
	case CustomLink:
		return "link_value"
	}
	return "text_value" // text and choice
}

// CustomFieldSet is the definitions as of one version of custom_field_version.
type CustomFieldSet struct {
	Version int64
	Fields  []CustomField // by entity type, then sort index
}

// For lists the fields of entityType, in their order.
func (cs *CustomFieldSet) For(entityType string) []CustomField {
	if cs == nil {
		return nil
	}
	var out []CustomField
	for _, f := range cs.Fields {
		if f.EntityType == entityType {
			out = append(out, f)
		}
	}
	return out
}

// customFieldCache is an instance's copy of the definitions.
type customFieldCache struct {
	mu      sync.Mutex
	set     *CustomFieldSet
	checked time.Time // monotonic: when the version was last compared
}

// DefaultCustomFieldsTTL is how long an instance trusts its definitions before it compares
// their version again.
const DefaultCustomFieldsTTL = time.Second

// CustomFields returns the custom field definitions, reloaded when their version changed (see
// the top of this file). The TTL runs on the wall clock, not Store.Now, which tests stop.
func (s *Store) CustomFields(ctx context.Context) (*CustomFieldSet, error) {
	c := s.customFields
	ttl := s.CustomFieldsTTL
	if ttl == 0 {
		ttl = DefaultCustomFieldsTTL
	}
	c.mu.Lock()
	cached, checked := c.set, c.checked
	c.mu.Unlock()
	// The lock is not held over the reads: on SQLite the one connection may be held by a
	// transaction whose goroutine is about to ask for the definitions.
	if cached != nil && ttl > 0 && time.Since(checked) < ttl {
		return cached, nil
	}
	db := s.primary(ctx)
	start := time.Now()
	var version int64
	if err := db.Raw("SELECT version FROM custom_field_version WHERE id = 1").Scan(&version).Error; err != nil {
		return nil, err
	}
	if cached == nil || cached.Version != version {
		var fields []CustomField
		if err := db.Order("entity_type, sort_index, creation_date, id").Find(&fields).Error; err != nil {
			return nil, err
		}
		cached = &CustomFieldSet{Version: version, Fields: fields}
	}
	c.mu.Lock()
	if c.set == nil || c.set.Version <= cached.Version {
		c.set, c.checked = cached, start
	}
	c.mu.Unlock()
	return cached, nil
}

// forgetCustomFields makes the next CustomFields reload: after this instance changed them.
func (s *Store) forgetCustomFields() {
	s.customFields.mu.Lock()
	s.customFields.set = nil
	s.customFields.mu.Unlock()
}

// primary is the handle for reads that must not lag: the ambient transaction, else the primary.
func (s *Store) primary(ctx context.Context) *gorm.DB {
	if tx, ok := ambientTx(ctx); ok {
		return tx
	}
	return s.DB.WithContext(ctx)
}

// CustomFieldInput is what an admin enters for a field.
type CustomFieldInput struct {
	EntityType string
	Label      string
	Kind       string
	Choices    []string // choice lists
	LinkTarget string   // links
	OnCard     bool
	InExport   bool
}

// customEntityType tells the types that take custom fields: the activity kinds and
// CustomRecordTypes. activity tells the former (only opportunities' fields show on cards and in
// the forecast's export).
func customEntityType(typ string) (ok, activity bool) {
	if k := KindByType(typ); k != nil && k.Type == typ {
		return true, true
	}
	for _, t := range CustomRecordTypes {
		if t.Type == typ {
			return true, false
		}
	}
	return false, false
}

func (in *CustomFieldInput) clean() error {
	ok, activity := customEntityType(in.EntityType)
	if !ok {
		return FieldError("EntityType", "Choose which type of entity the field belongs to.")
	}
	if !activity {
		in.OnCard, in.InExport = false, false
	}
	in.Label = strings.TrimSpace(in.Label)
	if in.Label == "" {
		return FieldError("Label", "Enter a label for the field.")
	}
	if utf8.RuneCountInString(in.Label) > maxCustomLabel || strings.ContainsRune(in.Label, 0) {
		return FieldError("Label", "A label is at most %d characters.", maxCustomLabel)
	}
	known := false
	for _, k := range CustomKinds {
		known = known || k.Kind == in.Kind
	}
	if !known {
		return FieldError("Kind", "Choose the kind of field.")
	}
	if in.Kind == CustomChoice {
		var choices []string
		seen := map[string]bool{}
		for _, c := range in.Choices {
			c = strings.TrimSpace(c)
			if c == "" || seen[c] {
				continue
			}
			if utf8.RuneCountInString(c) > maxCustomLabel || strings.ContainsRune(c, 0) {
				return FieldError("Choices", "A choice is at most %d characters.", maxCustomLabel)
			}
			seen[c] = true
			choices = append(choices, c)
		}
		if len(choices) == 0 || len(choices) > maxCustomChoices {
			return FieldError("Choices", "A choice list needs 1 to %d choices, one per line.", maxCustomChoices)
		}
		in.Choices = choices
	} else {
		in.Choices = nil
	}
	if in.Kind == CustomLink {
		ok := false
		for _, t := range CustomLinkTargets {
			ok = ok || t.Type == in.LinkTarget
		}
		if !ok {
			return FieldError("LinkTarget", "Choose what the field links to.")
		}
	} else {
		in.LinkTarget = ""
	}
	return nil
}

// DefineCustomField adds a custom field at the end of its type's fields.
func (s *Store) DefineCustomField(ctx context.Context, in CustomFieldInput, actor Actor) (*CustomField, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	if err := in.clean(); err != nil {
		return nil, err
	}
	f := &CustomField{ID: uuid.New(), EntityType: in.EntityType, Label: in.Label, Kind: in.Kind, Choices: in.Choices,
		LinkTarget: in.LinkTarget, OnCard: in.OnCard, InExport: in.InExport, CreationDate: s.now()}
	if f.Choices == nil {
		f.Choices = []string{}
	}
	err := s.changeCustomFields(ctx, func(tx *gorm.DB) error {
		last, err := maxSortIndex(tx.Model(&CustomField{}).Where("entity_type = ?", f.EntityType))
		if err != nil {
			return err
		}
		f.SortIndex = last + 1
		return tx.Create(f).Error
	})
	return f, err
}

// UpdateCustomField changes a field's label, choices and where it shows; its kind, type and
// link target stay (values of the old kind would not fit). Choices a value still holds may be
// dropped: that value stays until it is next written.
func (s *Store) UpdateCustomField(ctx context.Context, id uuid.UUID, in CustomFieldInput, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.changeCustomFields(ctx, func(tx *gorm.DB) error {
		var f CustomField
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&f).Error; err != nil {
			return notFound(err, "custom field")
		}
		in.EntityType, in.Kind, in.LinkTarget = f.EntityType, f.Kind, f.LinkTarget
		if err := in.clean(); err != nil {
			return err
		}
		if in.Choices == nil {
			in.Choices = []string{}
		}
		return tx.Model(&f).Select("label", "choices", "on_card", "in_export").
			Updates(&CustomField{Label: in.Label, Choices: in.Choices, OnCard: in.OnCard, InExport: in.InExport}).Error
	})
}

// RemoveCustomField deletes a field and every value of it.
func (s *Store) RemoveCustomField(ctx context.Context, id uuid.UUID, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.changeCustomFields(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM custom_field_values WHERE field_id = ?", id).Error; err != nil {
			return err
		}
		res := tx.Where("id = ?", id).Delete(&CustomField{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENotFound, "That custom field does not exist.")
		}
		return nil
	})
}

// changeCustomFields runs a definition change and bumps the version in the same transaction,
// then makes this instance reload at once.
func (s *Store) changeCustomFields(ctx context.Context, fn func(tx *gorm.DB) error) error {
	err := s.transact(ctx, func(tx *gorm.DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Exec("UPDATE custom_field_version SET version = version + 1 WHERE id = 1").Error
	})
	if err == nil {
		s.forgetCustomFields()
	}
	return err
}

// CustomValues are the custom field values a write sets, by field: nil clears one. A value is
// as the API decodes it (a string for text, choices, dates and links; float64 or int64 for
// numbers; bool) or as the board parses it.
type CustomValues map[uuid.UUID]any

// CustomSlot is where a write's value of one field goes: the OData decoder sets it through
// SetODataValue (the Bind of the field's property or link).
type CustomSlot struct {
	Values *CustomValues
	Field  uuid.UUID
}

// SetODataValue records v (nil: clear) for the slot's field.
func (c CustomSlot) SetODataValue(v any) {
	if *c.Values == nil {
		*c.Values = CustomValues{}
	}
	(*c.Values)[c.Field] = v
}

// customValuesWriter is the after step of saveRecord for a record of entityType that takes
// custom fields: it writes vals for the record std in the save's transaction.
func (s *Store) customValuesWriter(ctx context.Context, entityType string, std *Standard, vals CustomValues) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error { return s.writeCustomValues(ctx, tx, entityType, std.ID, vals) }
}

// deleteCustomValues deletes the custom values of the entity with id, in tx: with the entity.
func deleteCustomValues(tx *gorm.DB, id uuid.UUID) error {
	return tx.Where("entity_id = ?", id).Delete(&customValueRow{}).Error
}

// customValueRow is one row of custom_field_values.
type customValueRow struct {
	EntityID    uuid.UUID `gorm:"primaryKey"`
	FieldID     uuid.UUID `gorm:"primaryKey"`
	TextValue   *string
	NumberValue *float64
	DateValue   *Date
	BoolValue   *bool
	LinkValue   *uuid.UUID
}

func (customValueRow) TableName() string { return "custom_field_values" }

// writeCustomValues stores vals for the entity of entityType with id, in tx, after checking
// each against its definition as this transaction reads it: a field of another type or one
// removed meanwhile, a value of the wrong kind, a choice not on the list or a link to nothing
// is refused (the caller's transaction then writes nothing).
func (s *Store) writeCustomValues(ctx context.Context, tx *gorm.DB, entityType string, id uuid.UUID, vals CustomValues) error {
	if len(vals) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(vals))
	for fid := range vals {
		ids = append(ids, fid)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	var defs []CustomField
	if err := tx.Where("id IN ?", ids).Find(&defs).Error; err != nil {
		return err
	}
	byID := map[uuid.UUID]*CustomField{}
	for i := range defs {
		byID[defs[i].ID] = &defs[i]
	}
	var clear []uuid.UUID
	var rows []customValueRow
	for _, fid := range ids {
		f := byID[fid]
		if f == nil || f.EntityType != entityType {
			return FieldError(CustomFieldAPIName(fid), "%s is not a custom field of %s (it may have just been removed).", CustomFieldAPIName(fid), entityType)
		}
		v := vals[fid]
		if v == nil {
			clear = append(clear, fid)
			continue
		}
		row, err := s.customValueRow(ctx, tx, f, v)
		if err != nil {
			return err
		}
		if row == nil {
			clear = append(clear, fid)
			continue
		}
		row.EntityID, row.FieldID = id, fid
		rows = append(rows, *row)
	}
	if len(clear) > 0 {
		if err := tx.Where("entity_id = ? AND field_id IN ?", id, clear).Delete(&customValueRow{}).Error; err != nil {
			return err
		}
	}
	if len(rows) > 0 {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "entity_id"}, {Name: "field_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"text_value", "number_value", "date_value", "bool_value", "link_value"}),
		}).Create(&rows).Error
	}
	return nil
}

// customValueRow checks v against f and returns the row that holds it (nil: an empty text or
// choice, which clears).
func (s *Store) customValueRow(ctx context.Context, tx *gorm.DB, f *CustomField, v any) (*customValueRow, error) {
	name := f.APIName()
	wrong := func(what string) error { return FieldError(name, "%s (%s) must be %s.", f.Label, name, what) }
	row := &customValueRow{}
	switch f.Kind {
	case CustomText, CustomChoice:
		str, ok := v.(string)
		if !ok {
			return nil, wrong("a string")
		}
		if str == "" {
			return nil, nil
		}
		if strings.ContainsRune(str, 0) || !utf8.ValidString(str) {
			return nil, wrong("text without NUL characters")
		}
		if f.Kind == CustomText && utf8.RuneCountInString(str) > maxCustomText {
			return nil, FieldError(name, "%s (%s) is at most %d characters.", f.Label, name, maxCustomText)
		}
		if f.Kind == CustomChoice && !slices.Contains(f.Choices, str) {
			b, _ := json.Marshal(f.Choices)
			return nil, FieldError(name, "%q is not a choice of %s (%s); the choices are %s.", str, f.Label, name, b)
		}
		row.TextValue = &str
	case CustomNumber:
		var x float64
		switch n := v.(type) {
		case float64:
			x = n
		case int64:
			x = float64(n)
		default:
			return nil, wrong("a number")
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, wrong("a finite number")
		}
		row.NumberValue = &x
	case CustomDate:
		str, ok := v.(string)
		if !ok {
			return nil, wrong("a date (YYYY-MM-DD)")
		}
		d, err := ParseDate(str)
		if err != nil {
			return nil, wrong("a date (YYYY-MM-DD) from 0001 to 9999")
		}
		row.DateValue = &d
	case CustomBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, wrong("true or false")
		}
		row.BoolValue = &b
	case CustomLink:
		var target uuid.UUID
		switch x := v.(type) {
		case string:
			id, err := uuid.Parse(x)
			if err != nil {
				return nil, wrong("a link to an entity")
			}
			target = id
		case uuid.UUID:
			target = x
		default:
			return nil, wrong("a link to an entity")
		}
		if target == uuid.Nil {
			return nil, nil
		}
		if err := s.mustLinkTarget(ctx, tx, f, target); err != nil {
			return nil, err
		}
		row.LinkValue = &target
	default:
		return nil, fmt.Errorf("custom field %s: unknown kind %q", f.ID, f.Kind)
	}
	return row, nil
}

// mustLinkTarget refuses a link to an entity that does not exist (or, for activities, that the
// writer may not read: it does not exist for them).
func (s *Store) mustLinkTarget(ctx context.Context, tx *gorm.DB, f *CustomField, id uuid.UUID) error {
	missing := FieldError(f.APIName(), "%s (%s) links to %s(%s), which does not exist.", f.Label, f.APIName(), strings.ReplaceAll(f.LinkTarget, ".", "_"), id)
	switch f.LinkTarget {
	case "Activity":
		var a Activity
		err := tx.Where("id = ?", id).Take(&a).Error
		if err == gorm.ErrRecordNotFound || err == nil && !s.readScope(ctx).Allows(&a) {
			return missing
		}
		return err
	case TypeRelationship, TypeContact, TypeEmployee, TypeProduct, TypePerson, TypeOrganization:
		model := map[string]any{TypeRelationship: &Relationship{}, TypeContact: &Contact{}, TypeEmployee: &Employee{}, TypeProduct: &Product{},
			TypePerson: &Relation{}, TypeOrganization: &Relation{}}[f.LinkTarget]
		q := tx.Model(model).Where("id = ?", id)
		switch f.LinkTarget {
		case TypePerson, TypeOrganization: // one table of both
			q = q.Where("type = ?", f.LinkTarget)
		case TypeRelationship: // the seeds' set, which does not serve the identity
			q = q.Where("type <> ?", TypeIdentity)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return missing
		}
		return nil
	}
	return fmt.Errorf("custom field %s: unknown link target %q", f.ID, f.LinkTarget)
}

// CustomValuesOf reads the values of fields for the entities ids, in one query: by entity,
// then field, as text ready to show (numbers plainly, dates YYYY-MM-DD, booleans "Yes"/"No",
// links as the linked entity's ID).
func (s *Store) CustomValuesOf(ctx context.Context, ids []uuid.UUID, fields []CustomField) (map[uuid.UUID]map[uuid.UUID]CustomValue, error) {
	out := map[uuid.UUID]map[uuid.UUID]CustomValue{}
	if len(ids) == 0 || len(fields) == 0 {
		return out, nil
	}
	kinds := map[uuid.UUID]string{}
	fids := make([]uuid.UUID, 0, len(fields))
	for _, f := range fields {
		kinds[f.ID] = f.Kind
		fids = append(fids, f.ID)
	}
	var rows []customValueRow
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		var part []customValueRow
		if err := s.db(ctx).Where("entity_id IN ? AND field_id IN ?", batch, fids).Find(&part).Error; err != nil {
			return nil, err
		}
		rows = append(rows, part...)
	}
	for _, r := range rows {
		if out[r.EntityID] == nil {
			out[r.EntityID] = map[uuid.UUID]CustomValue{}
		}
		out[r.EntityID][r.FieldID] = r.value(kinds[r.FieldID])
	}
	return out, nil
}

// CustomValue is one stored value: Raw as a form or an export holds it, Link the linked
// entity for links.
type CustomValue struct {
	Raw  string
	Link *uuid.UUID
	Bool *bool
}

func (r customValueRow) value(kind string) CustomValue {
	switch kind {
	case CustomNumber:
		if r.NumberValue != nil {
			return CustomValue{Raw: formatNumberValue(*r.NumberValue)}
		}
	case CustomDate:
		if r.DateValue != nil {
			return CustomValue{Raw: r.DateValue.String()}
		}
	case CustomBoolean:
		if r.BoolValue != nil {
			raw := "false"
			if *r.BoolValue {
				raw = "true"
			}
			return CustomValue{Raw: raw, Bool: r.BoolValue}
		}
	case CustomLink:
		if r.LinkValue != nil {
			return CustomValue{Raw: r.LinkValue.String(), Link: r.LinkValue}
		}
	default:
		if r.TextValue != nil {
			return CustomValue{Raw: *r.TextValue}
		}
	}
	return CustomValue{}
}

func formatNumberValue(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprint(x)
}

// CustomDisplay is the values of fields for the entities ids as people read them on cards and
// in exports: text and choices as they are, numbers plainly, dates YYYY-MM-DD, "Yes"/"No", and
// a link as the name of what it links to (one more query per kind of target shown). An entity
// or field without a value has no entry.
func (s *Store) CustomDisplay(ctx context.Context, ids []uuid.UUID, fields []CustomField) (map[uuid.UUID]map[uuid.UUID]string, error) {
	vals, err := s.CustomValuesOf(ctx, ids, fields)
	if err != nil {
		return nil, err
	}
	targets := map[uuid.UUID]string{}
	for _, f := range fields {
		if f.Kind == CustomLink {
			targets[f.ID] = f.LinkTarget
		}
	}
	linked := map[string][]uuid.UUID{}
	for _, byField := range vals {
		for fid, v := range byField {
			if v.Link != nil {
				linked[targets[fid]] = append(linked[targets[fid]], *v.Link)
			}
		}
	}
	names := map[uuid.UUID]string{}
	for target, lids := range linked {
		var table, name string
		switch target {
		// The names are their relations' (relations.go).
		case TypeRelationship:
			table, name = "relationships", "(SELECT o.name FROM relations o WHERE o.id = relationships.organization_id)"
		case TypeContact:
			table, name = "contacts", "(SELECT trim(p.first_name || ' ' || p.last_name) FROM relations p WHERE p.id = contacts.person_id)"
		case TypeEmployee:
			table, name = "employees", "(SELECT trim(p.first_name || ' ' || p.last_name) FROM relations p WHERE p.id = employees.person_id)"
		case TypePerson, TypeOrganization:
			table, name = "relations", "CASE WHEN type = '"+TypePerson+"' THEN trim(first_name || ' ' || last_name) ELSE name END"
		case TypeProduct:
			table, name = "products", "name"
		case "Activity":
			table, name = "activities", "number || ' ' || subject"
		default:
			continue
		}
		var rows []struct {
			ID   uuid.UUID
			Name string
		}
		if err := s.db(ctx).Table(table).Select("id, "+name+" AS name").Where("id IN ?", lids).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			names[r.ID] = r.Name
		}
	}
	out := make(map[uuid.UUID]map[uuid.UUID]string, len(vals))
	for eid, byField := range vals {
		m := make(map[uuid.UUID]string, len(byField))
		for fid, v := range byField {
			switch {
			case v.Link != nil:
				m[fid] = names[*v.Link]
			case v.Bool != nil && *v.Bool:
				m[fid] = "Yes"
			case v.Bool != nil:
				m[fid] = "No"
			default:
				m[fid] = v.Raw
			}
		}
		out[eid] = m
	}
	return out, nil
}

// OnCard and InExport are the fields of a set shown on cards and in the forecast export.
func (cs *CustomFieldSet) OnCard(entityType string) []CustomField {
	return filterFields(cs.For(entityType), func(f CustomField) bool { return f.OnCard })
}

// InExport: see OnCard.
func (cs *CustomFieldSet) InExport(entityType string) []CustomField {
	return filterFields(cs.For(entityType), func(f CustomField) bool { return f.InExport })
}

func filterFields(fields []CustomField, keep func(CustomField) bool) []CustomField {
	var out []CustomField
	for _, f := range fields {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}
