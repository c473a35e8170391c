package odata

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// EdmType is the OData primitive type of a property.
type EdmType string

// The primitive types the package understands.
const (
	EdmGuid           EdmType = "Edm.Guid"
	EdmString         EdmType = "Edm.String"
	EdmDouble         EdmType = "Edm.Double"
	EdmInt32          EdmType = "Edm.Int32"
	EdmInt64          EdmType = "Edm.Int64"
	EdmBoolean        EdmType = "Edm.Boolean"
	EdmDate           EdmType = "Edm.Date"
	EdmDateTimeOffset EdmType = "Edm.DateTimeOffset"
)

func (t EdmType) valid() bool {
	switch t {
	case EdmGuid, EdmString, EdmDouble, EdmInt32, EdmInt64, EdmBoolean, EdmDate, EdmDateTimeOffset:
		return true
	}
	return false
}

func (t EdmType) numeric() bool { return t == EdmDouble || t == EdmInt32 || t == EdmInt64 }

// TypeProperty is the discriminator property every entity type has. When a type
// does not declare it, the model adds it with the type's qualified name as a
// constant value.
const TypeProperty = "_Type"

// Model is the declarative description of what the service exposes.
// Build it once at start-up; NewService validates it.
type Model struct {
	// Namespace holds the entity container and the types whose names have no dot.
	Namespace string
	Types     []EntityType
	Sets      []EntitySet
}

// EntityType describes the shape of entities. Name is qualified
// ("Activity.SalesOpportunity"); properties and navigation properties of
// BaseType are inherited.
type EntityType struct {
	Name       string
	BaseType   string
	Abstract   bool
	Properties []Property
	NavProps   []NavProp
}

// Property is one structural property. SQL is a column or an SQL expression
// over the set's table, which is always aliased "t" (e.g. "t.first_name || ' ' ||
// t.last_name"). It is trusted: it comes from the program, never from a request.
type Property struct {
	Name     string
	Type     EdmType
	SQL      string
	Nullable bool
	// NoFilter and NoSort take a property out of $filter / $orderby
	// (both are allowed by default, hence the negative names).
	NoFilter bool
	NoSort   bool
	// Access says what a client may do with the property in a request body;
	// Bind, for writable properties, says where the value goes (see Bind).
	Access Access
	Bind   Bind
	// Join, when set, says the value is a column of at most one row of a side table (a
	// table of values by entity): $filter and $orderby then read it through a LEFT JOIN, which
	// the database can drive from an index on the side table, rather than evaluate SQL per row.
	// SQL must give the same value: everything else ($select, $apply, $compute) reads it.
	Join *PropJoin
	// NullIsUnknown marks a number whose null means "not known" (an amount
	// without an exchange rate) rather than "none": an $apply aggregate of a
	// group holding a null is null, never the aggregate of the rest.
	NullIsUnknown bool

	autoType bool   // the _Type the model added: a constant per type
	column   string // "(" + SQL + ")", the select-list column, made once (resolve)
}

// PropJoin is where a property's value lives when it is in a side table: Column of the row of
// Table that On (trusted SQL joining the entity's alias to the row's) matches, or Value (trusted
// SQL over that row, aliased "t" as Property.SQL is) when the value is an expression. The
// properties of one entity whose joins have the same Table and On share one LEFT JOIN.
type PropJoin struct {
	Table  string
	Column string
	Value  string
	On     func(entity, row string) string
}

// Access is what a client may do with a property or link in a request body.
type Access int

const (
	// ReadOnly members are refused in bodies with a 400 naming them (the
	// default: nothing is writable unless declared so).
	ReadOnly Access = iota
	// Computed members are owned by the server: accepted and ignored in
	// bodies, so that a client can send back an entity it read.
	Computed
	// Writable members are decoded into the writer's changes value.
	Writable
	// Immutable members are decoded like writable ones; the writer refuses a
	// change after create (e.g. an activity's pipeline).
	Immutable
)

// Bind returns where, in the changes value a Writer's NewChanges made, the
// decoded value of a member goes: a pointer to a pointer field of its type
// (**string for Edm.String, **float64 for Edm.Double, **int64 or **int for
// the integers, **bool, **uuid.UUID for links and Guids, and **T where *T
// is an encoding.TextUnmarshaler for Edm.Date and Edm.DateTimeOffset, given
// the value's canonical text). A member that is not sent stays nil; null
// sets the zero value (which writers read as "clear").
type Bind func(changes any) any

// Prop is the one-line way to declare a nullable property.
func Prop(name string, typ EdmType, sql string) Property {
	return Property{Name: name, Type: typ, SQL: sql, Nullable: true}
}

// Required returns p declared as not nullable.
func (p Property) Required() Property { p.Nullable = false; return p }

// Writes returns p writable through bind.
func (p Property) Writes(bind Bind) Property { p.Access, p.Bind = Writable, bind; return p }

// WritesOnCreate returns p writable through bind, its change after create
// refused by the writer (Core.Immutable).
func (p Property) WritesOnCreate(bind Bind) Property { p.Access, p.Bind = Immutable, bind; return p }

// Computed returns p owned by the server: ignored in request bodies.
func (p Property) Computed() Property { p.Access, p.Bind = Computed, nil; return p }

// Unknown returns p with NullIsUnknown set.
func (p Property) Unknown() Property { p.NullIsUnknown = true; return p }

// NavProp is a navigation property. For N:1 (Many false) FK is the column on
// this entity's table that holds the target's key; for 1:N (Many true) FK is
// the column on the target set's table that holds this entity's key.
// FK is a plain column name (no alias).
type NavProp struct {
	Name   string
	Target string // entity set name
	Many   bool
	FK     string
	// Required marks an N:1 link every entity has (Nullable="false").
	Required bool
	// Access and Bind say whether a body may set the link ({"Name":{"ID":…}}
	// or "Name@odata.bind"), as for properties; Bind's target is a
	// **uuid.UUID. Collection navigation properties are read-only.
	Access Access
	Bind   Bind
	// FKSQL, instead of FK, is trusted SQL over alias "t" giving the target's key of an N:1
	// link that is no column of the table (OneVia).
	FKSQL string
}

// One declares an N:1 navigation property; fk is a column of this table.
func One(name, targetSet, fk string) NavProp { return NavProp{Name: name, Target: targetSet, FK: fk} }

// OneVia declares an N:1 navigation property whose target key is not a column of this table
// but the trusted SQL fkSQL over alias "t" (a link kept in another table, such as a custom
// field's value).
func OneVia(name, targetSet, fkSQL string) NavProp {
	return NavProp{Name: name, Target: targetSet, FKSQL: fkSQL}
}

// fkOf is the SQL of an N:1 link's target key over alias.
func (n *NavProp) fkOf(alias string) string {
	if n.FKSQL != "" {
		return "(" + qualify(n.FKSQL, alias) + ")"
	}
	return alias + "." + n.FK
}

// NotNull returns n declared as a link every entity has.
func (n NavProp) NotNull() NavProp { n.Required = true; return n }

// Writes returns n settable through bind.
func (n NavProp) Writes(bind Bind) NavProp { n.Access, n.Bind = Writable, bind; return n }

// WritesOnCreate returns n settable through bind, its change after create
// refused by the writer.
func (n NavProp) WritesOnCreate(bind Bind) NavProp { n.Access, n.Bind = Immutable, bind; return n }

// DeepInsert returns n, a 1:N navigation property, writable in the body of a create only
// ("Notes":[{…}, …]): each element is decoded like a body of the target set, into a new value of
// the element type of the slice bind points to (*[]C, C the target writer's changes type), and
// the writer creates them with the entity in one transaction. An element may not name its own
// key nor the link back to the entity being created. The writer refuses the member on update
// (Core.Immutable, as WritesOnCreate).
func (n NavProp) DeepInsert(bind Bind) NavProp { n.Access, n.Bind = Immutable, bind; return n }

// Many declares a 1:N navigation property; fk is a column of the target's table.
func Many(name, targetSet, fk string) NavProp {
	return NavProp{Name: name, Target: targetSet, Many: true, FK: fk}
}

// EntitySet exposes the rows of Table (restricted by the fixed SQL condition
// Where, written over alias "t") as entities of Type. Several sets may share a
// table. Writer, when set, handles POST/PATCH/PUT/DELETE; without it those
// methods answer 405.
//
// ETag, when set, is a trusted SQL expression over alias "t" whose value
// changes on every write (e.g. a version column "t.version"): entities of the
// set then carry "@odata.etag": W/"<value>" in every response, single-entity
// GETs and writes answer with an ETag header, and the Writer is expected to
// honour If-Match (see IfMatch). On sets without ETag, an If-Match other
// than "*" can never match: writes answer 412.
//
// Restrict, when set, limits per request which rows of the set the caller may
// read (who may see what): it returns a trusted SQL condition over alias "t"
// with a "?" for each argument (uuid.UUID, string, bool, int64, float64 or
// time.Time values, always bound), or "" for no limit. It applies wherever
// the set's rows are read: collections, entities by key, $count, $expand,
// navigation, any/all, $apply, and N:1 paths into the set.
type EntitySet struct {
	Name     string
	Type     string
	Table    string
	Where    string
	Key      string // property name, "ID" when empty
	Writer   Writer
	ETag     string
	Restrict func(ctx context.Context) (cond string, args []any)
	// Search lists the properties $search looks in: paths to Edm.String
	// properties, through N:1 navigation ("Subject", "Relationship/Name").
	// A set without them answers $search with 501.
	Search []string
	// Rollup, when set, holds the set's rows already counted and summed:
	// $apply reads it instead of Table when it can answer exactly (Rollup).
	Rollup *Rollup
}

// Rollup is a table of pre-aggregated rows of a set (kept by the
// application): each of its rows stands for Count rows of the set that
// share the values of Keys, columns named as in the set's table. It holds
// every row of the set (the set's Where is not applied to it).
//
// $apply reads it instead of the set's table when everything the request
// touches on the set's own rows is one of its columns: grouped properties
// and filter() conditions whose SQL uses only Keys, N:1 paths through a key
// (Phase/Name when phase_id is a key), the set's Restrict over Keys, and
// aggregates that are $count or the sum of a property in Sums. Anything else
// (a lambda, another method, an unkept column) reads the table as before:
// the answer is the same, only slower.
type Rollup struct {
	Table string
	Count string   // the column: how many of the set's rows a row stands for
	Keys  []string // the columns kept as they are in the set's table
	// Sums maps a property name to trusted SQL over alias "t" (a rollup
	// row) whose SUM over rows is the sum of the property over the set's
	// rows; its null stands for Count rows of unknown value (NullIsUnknown).
	Sums map[string]string
}

var (
	identRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	qualifiedRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	tableRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
)

// schema is the validated, resolved form of a Model that the rest of the
// package works with.
type schema struct {
	model     *Model
	types     map[string]*entityType
	typeOrder []*entityType
	sets      map[string]*entitySet
	setOrder  []*entitySet
}

type entityType struct {
	decl     *EntityType
	base     *entityType
	props    []*Property // own + inherited, base first
	propByNm map[string]*Property
	navs     []*navProp
	navByNm  map[string]*navProp
	ownProps []*Property
	ownNavs  []*navProp
	key      *Property // the hierarchy's key property (nil for types no set uses)
}

type navProp struct {
	NavProp
	target *entitySet
}

type entitySet struct {
	schema *schema
	cast   string // the type-cast segment this set was narrowed by, if any
	decl   *EntitySet
	name   string
	typ    *entityType
	table  string
	where  string
	key    *Property
}

// typeNamed finds an entity type by its name in a URL: as declared
// ("Pipeline", "Datastore.Phase") or qualified as CSDL writes it
// ("Phaseboard.Pipeline").
func (s *schema) typeNamed(name string) *entityType {
	if t := s.types[name]; t != nil {
		return t
	}
	return s.types[strings.TrimPrefix(name, s.model.Namespace+".")]
}

func (s *entitySet) writable() bool { return s.decl.Writer != nil }

// contextName is the set as a context URL names it: "Set" or "Set/Type".
func (s *entitySet) contextName() string {
	if s.cast != "" {
		return s.name + "/" + s.cast
	}
	return s.name
}

// subtypeSet is the set that serves subtype t from s's table with a
// condition telling its rows apart (Datastore_Phase_ActivityInvoice for
// Datastore_Phase and Datastore.Phase.ActivityInvoice), or nil.
func (s *entitySet) subtypeSet(t *entityType) *entitySet {
	for _, es := range s.schema.setOrder {
		if es.typ == t && es.table == s.table && es.where != "" {
			return es
		}
	}
	return nil
}

func (t *entityType) prop(name string) *Property { return t.propByNm[name] }
func (t *entityType) nav(name string) *navProp   { return t.navByNm[name] }

// Validate checks the model: names, unknown base types and targets,
// duplicates, keys. NewService calls it; call it in a test to fail early.
func (m *Model) Validate() error {
	_, err := m.resolve()
	return err
}

func (m *Model) resolve() (*schema, error) {
	s := &schema{model: m, types: map[string]*entityType{}, sets: map[string]*entitySet{}}
	if !qualifiedRE.MatchString(m.Namespace) {
		return nil, fmt.Errorf("odata model: invalid namespace %q", m.Namespace)
	}
	for i := range m.Types {
		d := &m.Types[i]
		if !qualifiedRE.MatchString(d.Name) {
			return nil, fmt.Errorf("odata model: invalid type name %q", d.Name)
		}
		if s.types[d.Name] != nil {
			return nil, fmt.Errorf("odata model: duplicate type %q", d.Name)
		}
		t := &entityType{decl: d, propByNm: map[string]*Property{}, navByNm: map[string]*navProp{}}
		s.types[d.Name] = t
		s.typeOrder = append(s.typeOrder, t)
	}
	for _, t := range s.typeOrder {
		if b := t.decl.BaseType; b != "" {
			if t.base = s.types[b]; t.base == nil {
				return nil, fmt.Errorf("odata model: type %q: unknown base type %q", t.decl.Name, b)
			}
		}
	}
	for _, t := range s.typeOrder { // detect inheritance cycles before walking chains
		seen := map[*entityType]bool{}
		for b := t; b != nil; b = b.base {
			if seen[b] {
				return nil, fmt.Errorf("odata model: type %q: inheritance cycle", t.decl.Name)
			}
			seen[b] = true
		}
	}
	for i := range m.Sets {
		d := &m.Sets[i]
		if !identRE.MatchString(d.Name) {
			return nil, fmt.Errorf("odata model: invalid entity set name %q", d.Name)
		}
		if s.sets[d.Name] != nil {
			return nil, fmt.Errorf("odata model: duplicate entity set %q", d.Name)
		}
		if !tableRE.MatchString(d.Table) {
			return nil, fmt.Errorf("odata model: set %q: invalid table %q", d.Name, d.Table)
		}
		t := s.types[d.Type]
		if t == nil {
			return nil, fmt.Errorf("odata model: set %q: unknown type %q", d.Name, d.Type)
		}
		if r := d.Rollup; r != nil {
			if !tableRE.MatchString(r.Table) || !identRE.MatchString(r.Count) {
				return nil, fmt.Errorf("odata model: set %q: invalid rollup table %q or count column %q", d.Name, r.Table, r.Count)
			}
			for _, k := range r.Keys {
				if !identRE.MatchString(k) {
					return nil, fmt.Errorf("odata model: set %q: invalid rollup key %q", d.Name, k)
				}
			}
		}
		es := &entitySet{schema: s, decl: d, name: d.Name, typ: t, table: d.Table, where: d.Where}
		s.sets[d.Name] = es
		s.setOrder = append(s.setOrder, es)
	}
	// Resolve members base first so that inherited members come first.
	done := map[*entityType]bool{}
	var resolveType func(t *entityType) error
	resolveType = func(t *entityType) error {
		if done[t] {
			return nil
		}
		done[t] = true
		if t.base != nil {
			if err := resolveType(t.base); err != nil {
				return err
			}
			for _, p := range t.base.props {
				if p.autoType { // a derived type names itself, not its base
					p = &Property{Name: TypeProperty, Type: EdmString, SQL: "'" + t.decl.Name + "'", NoFilter: true, autoType: true}
					p.column = "(" + p.SQL + ")"
				}
				t.props = append(t.props, p)
				t.propByNm[p.Name] = p
			}
			t.navs = append(t.navs, t.base.navs...)
			for k, v := range t.base.navByNm {
				t.navByNm[k] = v
			}
		}
		for i := range t.decl.Properties {
			p := &t.decl.Properties[i]
			if !identRE.MatchString(p.Name) {
				return fmt.Errorf("odata model: type %q: invalid property name %q", t.decl.Name, p.Name)
			}
			if t.propByNm[p.Name] != nil || t.navByNm[p.Name] != nil {
				return fmt.Errorf("odata model: type %q: duplicate member %q", t.decl.Name, p.Name)
			}
			if !p.Type.valid() {
				return fmt.Errorf("odata model: type %q: property %q: unknown type %q", t.decl.Name, p.Name, p.Type)
			}
			if strings.TrimSpace(p.SQL) == "" {
				return fmt.Errorf("odata model: type %q: property %q has no SQL", t.decl.Name, p.Name)
			}
			if j := p.Join; j != nil && (!tableRE.MatchString(j.Table) || !identRE.MatchString(j.Column) && strings.TrimSpace(j.Value) == "" || j.On == nil) {
				return fmt.Errorf("odata model: type %q: property %q: invalid join (table %q, column %q)", t.decl.Name, p.Name, j.Table, j.Column)
			}
			if (p.Access == Writable || p.Access == Immutable) != (p.Bind != nil) {
				return fmt.Errorf("odata model: type %q: property %q: a writable property needs a Bind, and only it", t.decl.Name, p.Name)
			}
			t.addProp(p)
		}
		for i := range t.decl.NavProps {
			n := &t.decl.NavProps[i]
			if !identRE.MatchString(n.Name) {
				return fmt.Errorf("odata model: type %q: invalid navigation property name %q", t.decl.Name, n.Name)
			}
			if t.propByNm[n.Name] != nil || t.navByNm[n.Name] != nil {
				return fmt.Errorf("odata model: type %q: duplicate member %q", t.decl.Name, n.Name)
			}
			target := s.sets[n.Target]
			if target == nil {
				return fmt.Errorf("odata model: type %q: navigation property %q: unknown target set %q", t.decl.Name, n.Name, n.Target)
			}
			if n.FKSQL != "" && (n.Many || n.FK != "") {
				return fmt.Errorf("odata model: type %q: navigation property %q: FKSQL is for N:1 links without an FK column", t.decl.Name, n.Name)
			}
			if n.FKSQL == "" && !identRE.MatchString(n.FK) {
				return fmt.Errorf("odata model: type %q: navigation property %q: invalid FK column %q", t.decl.Name, n.Name, n.FK)
			}
			if (n.Access == Writable || n.Access == Immutable) != (n.Bind != nil) || (n.Many && n.Bind != nil && n.Access != Immutable) {
				return fmt.Errorf("odata model: type %q: navigation property %q: only a writable N:1 link or a deep insert has a Bind", t.decl.Name, n.Name)
			}
			np := &navProp{NavProp: *n, target: target}
			t.navs = append(t.navs, np)
			t.ownNavs = append(t.ownNavs, np)
			t.navByNm[n.Name] = np
		}
		if t.propByNm[TypeProperty] == nil {
			// The discriminator: a constant naming the type. The name matched
			// qualifiedRE, so it cannot break out of the SQL string literal.
			t.addProp(&Property{Name: TypeProperty, Type: EdmString, SQL: "'" + t.decl.Name + "'", NoFilter: true, autoType: true})
		}
		return nil
	}
	for _, t := range s.typeOrder {
		if err := resolveType(t); err != nil {
			return nil, err
		}
	}
	for _, es := range s.setOrder {
		keyName := es.decl.Key
		if keyName == "" {
			keyName = "ID"
		}
		if err := checkSearchPaths(es); err != nil {
			return nil, err
		}
		es.key = es.typ.prop(keyName)
		if es.key == nil {
			return nil, fmt.Errorf("odata model: set %q: key property %q not found on type %q", es.name, keyName, es.typ.decl.Name)
		}
		if es.key.Type != EdmGuid {
			return nil, fmt.Errorf("odata model: set %q: key %q must be Edm.Guid", es.name, keyName)
		}
	}
	for _, es := range s.setOrder {
		if r := es.decl.Rollup; r != nil {
			for name := range r.Sums {
				if p := es.typ.prop(name); p == nil || !p.Type.numeric() {
					return nil, fmt.Errorf("odata model: set %q: rollup sum of %q, which is not a number property", es.name, name)
				}
			}
		}
	}
	// Every set over one type hierarchy must use the same key: CSDL declares the
	// key once, on the root type.
	rootKey := map[*entityType]string{}
	for _, es := range s.setOrder {
		r := es.typ.root()
		if k, ok := rootKey[r]; ok && k != es.key.Name {
			return nil, fmt.Errorf("odata model: set %q: key %q differs from %q used by another set of the same type hierarchy", es.name, es.key.Name, k)
		}
		rootKey[r] = es.key.Name
	}
	for _, t := range s.typeOrder {
		if k, ok := rootKey[t.root()]; ok {
			t.key = t.prop(k)
		} else {
			t.key = t.prop("ID")
		}
	}
	return s, nil
}

func (t *entityType) addProp(p *Property) {
	p.column = "(" + p.SQL + ")"
	t.props = append(t.props, p)
	t.ownProps = append(t.ownProps, p)
	t.propByNm[p.Name] = p
}

// derivesFrom reports whether t is base or one of its subtypes.
func (t *entityType) derivesFrom(base *entityType) bool {
	for ; t != nil; t = t.base {
		if t == base {
			return true
		}
	}
	return false
}

func (t *entityType) root() *entityType {
	for t.base != nil {
		t = t.base
	}
	return t
}

// columnsOf lists the columns a trusted SQL fragment names on alias "t"
// (t.col, outside string literals), as qualify finds them.
func columnsOf(expr string) []string {
	var out []string
	inString := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c == '\'' {
			inString = !inString
		}
		if !inString && c == 't' && i+1 < len(expr) && expr[i+1] == '.' && (i == 0 || !isIdentByte(expr[i-1]) && expr[i-1] != '.' && expr[i-1] != '"') {
			j := i + 2
			for j < len(expr) && isIdentByte(expr[j]) {
				j++
			}
			out = append(out, expr[i+2:j])
			i = j - 1
		}
	}
	return out
}

// qualify rewrites the alias "t" in a trusted SQL fragment from the model to
// alias, leaving string literals alone. This lets the same property SQL be
// used for the main table, joined tables and subqueries.
func qualify(expr, alias string) string {
	if alias == "t" {
		return expr
	}
	var b strings.Builder
	inString := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c == '\'' {
			inString = !inString
		}
		if !inString && c == 't' && i+1 < len(expr) && expr[i+1] == '.' && (i == 0 || !isIdentByte(expr[i-1]) && expr[i-1] != '.' && expr[i-1] != '"') {
			b.WriteString(alias)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
