package odata

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// typeFilterMessage is the user-facing answer to $filter=_Type ...: sets
// that share a table are told apart by the set, not by the discriminator.
const typeFilterMessage = "Filtering by _Type is not supported: query the subtype's own entity set instead (e.g. /v1/odata/Datastore_Phase_ActivityInvoice)"

// sqlBuilder collects bind arguments. Values never enter the SQL text: every
// literal becomes a placeholder, and identifiers come only from the model.
type sqlBuilder struct {
	d     Dialect
	args  []any
	now   time.Time
	alias int             // counter for join and subquery aliases
	ctx   context.Context // the request's, for the sets' Restrict
}

func (b *sqlBuilder) bind(t EdmType, v any) string {
	b.args = append(b.args, b.d.encode(t, v))
	return b.d.placeholder(len(b.args), t)
}

// maxAliases bounds the joins and subqueries of one statement.
const maxAliases = 24

func (b *sqlBuilder) newAlias(prefix string) string {
	b.alias++
	if b.alias > maxAliases {
		panic(compileError{badRequest("", "too many navigation paths and lambdas in one request (at most %d)", maxAliases)})
	}
	return prefix + strconv.Itoa(b.alias)
}

// scope is one FROM clause: the main query, or an any/all subquery. N:1
// paths add LEFT JOINs to the scope the path starts in, once per path.
type scope struct {
	set       *entitySet
	alias     string
	joins     []string
	joinAlias map[string]string
	parent    *scope
	variable  string // lambda variable naming this scope's rows ("" for the root)
	// computed are the $compute properties of the query (root scope only).
	computed []*computedProp
	// computing guards against a computed property that uses itself.
	computing map[*computedProp]bool
	// rollup, when set, is the set's Rollup, which this (root) scope reads in
	// place of the set's table; see apply.go.
	rollup *Rollup
}

func newScope(set *entitySet, alias string, parent *scope, variable string) *scope {
	return &scope{set: set, alias: alias, joinAlias: map[string]string{}, parent: parent, variable: variable}
}

func (s *scope) root() *scope {
	for s.parent != nil {
		s = s.parent
	}
	return s
}

// from renders "table AS alias LEFT JOIN ...".
func (s *scope) from() string {
	table := s.set.table
	if s.rollup != nil {
		table = s.rollup.Table
	}
	return table + " AS " + s.alias + strings.Join(s.joins, "")
}

// setWhere is the set's fixed condition and its restriction for this
// request over the scope's alias, or "".
func (s *scope) setWhere(b *sqlBuilder) string {
	return b.setCondition(s.set, s.alias)
}

// setCondition is set's fixed condition and its Restrict condition for this
// request, over alias, or "".
func (b *sqlBuilder) setCondition(set *entitySet, alias string) string {
	var conds []string
	if set.where != "" {
		conds = append(conds, "("+qualify(set.where, alias)+")")
	}
	if set.decl.Restrict != nil && b.ctx != nil {
		if cond, args := set.decl.Restrict(b.ctx); cond != "" {
			conds = append(conds, "("+b.bindMarks(qualify(cond, alias), args)+")")
		}
	}
	return strings.Join(conds, " AND ")
}

// bindMarks replaces each "?" of a trusted condition (outside string
// literals) by a placeholder bound to the next argument.
func (b *sqlBuilder) bindMarks(cond string, args []any) string {
	var out strings.Builder
	inString, next := false, 0
	for i := 0; i < len(cond); i++ {
		c := cond[i]
		if c == '\'' {
			inString = !inString
		}
		if c != '?' || inString {
			out.WriteByte(c)
			continue
		}
		if next >= len(args) {
			panic(fmt.Sprintf("odata: restriction %q has more ? than arguments", cond))
		}
		v, t := restrictArg(args[next])
		out.WriteString(b.bind(t, v))
		next++
	}
	if next != len(args) {
		panic(fmt.Sprintf("odata: restriction %q has fewer ? than arguments", cond))
	}
	return out.String()
}

// restrictArg is a Restrict argument as a canonical value and its EDM type.
func restrictArg(v any) (any, EdmType) {
	switch x := v.(type) {
	case uuid.UUID:
		return x.String(), EdmGuid
	case bool:
		return x, EdmBoolean
	case int64:
		return x, EdmInt64
	case int:
		return int64(x), EdmInt64
	case float64:
		return x, EdmDouble
	case time.Time:
		return x, EdmDateTimeOffset
	}
	return fmt.Sprint(v), EdmString
}

// typed is a compiled SQL expression and its EDM type. typ is "" for NULL.
type typed struct {
	sql string
	typ EdmType
	// navFK is set when the expression is an N:1 navigation property used as
	// a value: only "eq null" and "ne null" accept it.
	navFK bool
}

// compiler turns a checked $filter AST into SQL. It reports problems with
// compileError panics, recovered in compileFilter.
type compiler struct {
	b      *sqlBuilder
	option string // the query option being compiled, for error targets
	// cols, when set, are the only names a member may use: the columns of
	// an aggregated ($apply) result, by path ("Phase/Name" or an alias).
	cols map[string]typed
}

type compileError struct{ err *Error }

func (c *compiler) fail(n node, format string, args ...any) {
	e := badRequest(c.option, format, args...)
	if n != nil {
		e.Message = fmt.Sprintf("%s (at position %d)", e.Message, n.Pos())
	}
	panic(compileError{e})
}

func catchCompile(err *error) {
	if r := recover(); r != nil {
		if ce, ok := r.(compileError); ok {
			*err = ce.err
			return
		}
		*err = &Error{Status: 500, Code: "InternalError", Message: fmt.Sprintf("internal compiler error: %v", r)}
	}
}

// compileFilter compiles a $filter to a boolean SQL condition over sc.
func compileFilter(b *sqlBuilder, sc *scope, n node) (sql string, err error) {
	defer catchCompile(&err)
	c := &compiler{b: b, option: "$filter"}
	return c.predicate(sc, n), nil
}

// predicate compiles n as a condition.
func (c *compiler) predicate(sc *scope, n node) string {
	v := c.value(sc, n, "")
	if v.typ != EdmBoolean {
		c.fail(n, "expression %s is not a condition", n)
	}
	return v.sql
}

// value compiles n; hint is the type a literal should take (the type of the
// other side of a comparison), "" when unknown.
func (c *compiler) value(sc *scope, n node, hint EdmType) typed {
	switch n := n.(type) {
	case *literal:
		return c.literal(n, hint)
	case *memberExpr:
		return c.member(sc, n)
	case *unaryExpr:
		if n.op == "not" {
			return typed{"NOT (" + c.predicate(sc, n.x) + ")", EdmBoolean, false}
		}
		x := c.value(sc, n.x, hint)
		if !x.typ.numeric() {
			c.fail(n, "operator - needs a number")
		}
		return typed{"(-" + x.sql + ")", x.typ, false}
	case *binaryExpr:
		return c.binary(sc, n)
	case *callExpr:
		return c.call(sc, n)
	case *lambdaExpr:
		if c.cols != nil {
			c.fail(n, "any/all cannot be used on an aggregated result")
		}
		return typed{c.lambda(sc, n), EdmBoolean, false}
	case *listExpr:
		c.fail(n, "a list is only allowed after 'in'")
	}
	c.fail(n, "unsupported expression")
	return typed{}
}

func (c *compiler) literal(n *literal, hint EdmType) typed {
	switch n.kind {
	case litNull:
		return typed{"NULL", "", false}
	case litBool:
		if n.text == "true" {
			return typed{"TRUE", EdmBoolean, false}
		}
		return typed{"FALSE", EdmBoolean, false}
	case litString:
		if hint == EdmGuid { // clients often quote GUIDs: ID eq '...'
			if guidLen(n.text) != 36 || len(n.text) != 36 {
				c.fail(n, "%s is not a valid GUID", n)
			}
			return typed{c.b.bind(EdmGuid, strings.ToLower(n.text)), EdmGuid, false}
		}
		return typed{c.b.bind(EdmString, n.text), EdmString, false}
	case litInt:
		// 5L is an Int64 whatever the other side; a plain integer takes
		// the other side's type.
		i, err := strconv.ParseInt(withoutSuffix(n.text), 10, 64)
		if err == nil && (hint != EdmDouble || strings.HasSuffix(n.text, "L")) {
			return typed{c.b.bind(EdmInt64, i), EdmInt64, false}
		}
		if err != nil && strings.HasSuffix(n.text, "L") {
			c.fail(n, "number %s out of range for Edm.Int64", n.text)
		}
		f, _ := strconv.ParseFloat(withoutSuffix(n.text), 64)
		return typed{c.b.bind(EdmDouble, f), EdmDouble, false}
	case litDecimal: // 1.5, 1e3, 20D, 2F and 1.5M: Phaseboard's numbers are doubles
		f, err := strconv.ParseFloat(withoutSuffix(n.text), 64)
		if err != nil || math.IsInf(f, 0) {
			c.fail(n, "number %s out of range", n.text)
		}
		return typed{c.b.bind(EdmDouble, f), EdmDouble, false}
	case litDate:
		d, err := time.Parse(time.DateOnly, n.text)
		if err != nil {
			c.fail(n, "invalid date %s", n.text)
		}
		if !inDateRange(d) {
			c.fail(n, "date %s is outside the supported range %s", n.text, dateRangeText)
		}
		if hint == EdmDateTimeOffset { // CreationDate gt 2024-01-01 means midnight UTC
			return typed{c.b.bind(EdmDateTimeOffset, d), EdmDateTimeOffset, false}
		}
		return typed{c.b.bind(EdmDate, d), EdmDate, false}
	case litDateTime:
		t, err := time.Parse(time.RFC3339Nano, n.text)
		if err != nil {
			c.fail(n, "invalid date-time %s", n.text)
		}
		if !inDateRange(t) {
			c.fail(n, "date-time %s is outside the supported range %s (in UTC)", n.text, dateRangeText)
		}
		return typed{c.b.bind(EdmDateTimeOffset, t.UTC()), EdmDateTimeOffset, false}
	case litGuid:
		return typed{c.b.bind(EdmGuid, n.text), EdmGuid, false}
	}
	c.fail(n, "unsupported literal")
	return typed{}
}

// The supported range of Edm.Date and Edm.DateTimeOffset values is the years
// 0001 to 9999 in UTC. The ABNF allows year 0000 and more digits, but
// PostgreSQL has no year 0 (its date counts 1 BC, 1 AD) and SQLite keeps dates
// as 'YYYY-MM-DD' text, which sorts right only with four-digit years; JSON
// writes them with four digits too. Literals and $skiptoken values outside
// the range are a 400; models.ParseDate refuses them on the way in.
const dateRangeText = "0001-01-01 to 9999-12-31"

func inDateRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// resolved is the end of a member path: a property, or a navigation
// property, reached from scope alias.
type resolved struct {
	alias string
	typ   *entityType
	prop  *Property
	nav   *navProp
	from  *scope // the scope whose FROM holds the joins
	count bool   // Nav/$count: the number of entities nav leads to
}

// walk resolves a path: a leading lambda variable, then N:1 navigation
// properties (each becoming a LEFT JOIN once per path), then a final member.
func (c *compiler) walk(sc *scope, n node, segs []string) resolved {
	start := sc.root()
	if segs[0] == "$it" { // the entity being filtered, from inside a lambda
		segs = segs[1:]
	} else {
		for s := sc; s != nil; s = s.parent {
			if s.variable != "" && s.variable == segs[0] {
				start, segs = s, segs[1:]
				break
			}
		}
	}
	if len(segs) == 0 {
		c.fail(n, "a lambda variable or $it must be followed by a property")
	}
	alias, set, t := start.alias, start.set, start.set.typ
	pathKey := ""
	for i, seg := range segs {
		last := i == len(segs)-1
		if i == 0 && start.rollup != nil {
			start.rollup.mustKeep(t, seg)
		}
		if p := t.prop(seg); p != nil {
			if !last {
				c.fail(n, "%s is a property, not a navigation property", seg)
			}
			return resolved{alias: alias, typ: t, prop: p, from: start}
		}
		nav := t.nav(seg)
		if nav == nil {
			c.fail(n, "unknown property %s on %s", seg, set.name)
		}
		if last {
			return resolved{alias: alias, typ: t, nav: nav, from: start}
		}
		if nav.Many {
			if i == len(segs)-2 && segs[i+1] == "$count" {
				return resolved{alias: alias, typ: t, nav: nav, from: start, count: true}
			}
			c.fail(n, "%s is a collection: use %s/any(...), %s/all(...) or %s/$count", seg, seg, seg, seg)
		}
		pathKey += "/" + seg
		a, ok := start.joinAlias[pathKey]
		if !ok {
			a = c.b.newAlias("j")
			target := nav.target
			cond := qualify(target.key.SQL, a) + " = " + nav.fkOf(alias)
			if w := c.b.setCondition(target, a); w != "" {
				cond += " AND " + w
			}
			start.joins = append(start.joins, " LEFT JOIN "+target.table+" AS "+a+" ON "+cond)
			start.joinAlias[pathKey] = a
		}
		alias, set, t = a, nav.target, nav.target.typ
	}
	panic("unreachable")
}

func (c *compiler) member(sc *scope, n *memberExpr) typed {
	if c.cols != nil {
		name := strings.Join(n.segments, "/")
		v, ok := c.cols[name]
		if !ok {
			c.fail(n, "unknown property %s: after $apply only the grouped properties and aggregate aliases are available", name)
		}
		return v
	}
	if cp := sc.computedNamed(n.segments); cp != nil {
		root := sc.root()
		if root.computing == nil {
			root.computing = map[*computedProp]bool{}
		}
		if root.computing[cp] {
			c.fail(n, "%s of $compute refers to itself", cp.alias)
		}
		root.computing[cp] = true
		defer delete(root.computing, cp)
		return c.value(root, cp.expr, "")
	}
	r := c.walk(sc, n, n.segments)
	if r.count {
		return typed{c.navCount(sc, r), EdmInt64, false}
	}
	if r.nav != nil {
		if r.nav.Many {
			c.fail(n, "%s is a collection: use %s/any(...)", r.nav.Name, r.nav.Name)
		}
		return typed{r.nav.fkOf(r.alias), "", true}
	}
	if r.prop.Name == TypeProperty {
		panic(compileError{badRequest(c.option, typeFilterMessage)})
	}
	if r.prop.NoFilter {
		c.fail(n, "property %s cannot be used in $filter", r.prop.Name)
	}
	return typed{c.propValue(r), r.prop.Type, false}
}

// propValue is the SQL of the property r resolved to: its side table's column through a LEFT
// JOIN (once per entity alias) for a property with a Join, else its SQL.
func (c *compiler) propValue(r resolved) string { return propSQL(c.b, r.from, r.alias, r.prop) }

// propSQL is the SQL of property p of the entity at alias, whose joins go into from's FROM.
func propSQL(b *sqlBuilder, from *scope, alias string, p *Property) string {
	j := p.Join
	if j == nil {
		if alias == "t" && p.column != "" {
			return p.column
		}
		return "(" + qualify(p.SQL, alias) + ")"
	}
	key := alias + "#" + j.Table + "#" + j.On(alias, "\x00") // the same row of the same table: one join
	a, ok := from.joinAlias[key]
	if !ok {
		a = b.newAlias("j")
		from.joins = append(from.joins, " LEFT JOIN "+j.Table+" AS "+a+" ON "+j.On(alias, a))
		from.joinAlias[key] = a
	}
	if j.Value != "" {
		return "(" + qualify(j.Value, a) + ")"
	}
	return a + "." + j.Column
}

var comparisonSQL = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

func (c *compiler) binary(sc *scope, n *binaryExpr) typed {
	switch n.op {
	case "and", "or":
		l, r := c.predicate(sc, n.left), c.predicate(sc, n.right)
		return typed{"(" + l + " " + strings.ToUpper(n.op) + " " + r + ")", EdmBoolean, false}
	case "eq", "ne", "gt", "ge", "lt", "le":
		return c.comparison(sc, n)
	case "in":
		l := operand(n.left, c.value(sc, n.left, ""))
		list, ok := n.right.(*listExpr)
		if !ok {
			c.fail(n, "'in' needs a parenthesised list")
		}
		var items []string
		for _, it := range list.items {
			v := operand(it, c.value(sc, it, l.typ))
			c.checkComparable(n, l, v, "eq")
			items = append(items, v.sql)
		}
		return typed{l.sql + " IN (" + strings.Join(items, ", ") + ")", EdmBoolean, false}
	}
	if n.op == "has" {
		panic(compileError{notImplemented("the operator has is not supported: the model has no enumeration types")})
	}
	// Arithmetic.
	l, r := c.operands(sc, n.left, n.right)
	if !l.typ.numeric() || !r.typ.numeric() {
		c.fail(n, "operator %s needs numbers", n.op)
	}
	typ := EdmDouble
	if l.typ != EdmDouble && r.typ != EdmDouble && n.op != "divby" {
		typ = EdmInt64
	}
	switch n.op {
	case "add":
		return typed{"(" + l.sql + " + " + r.sql + ")", typ, false}
	case "sub":
		return typed{"(" + l.sql + " - " + r.sql + ")", typ, false}
	case "mul":
		return typed{"(" + l.sql + " * " + r.sql + ")", typ, false}
	case "div": // x div 0 is NULL rather than a database error
		return typed{"(" + l.sql + " / NULLIF(" + r.sql + ", 0))", typ, false}
	case "divby":
		return typed{"(" + c.b.d.cast(l.sql, EdmDouble) + " / NULLIF(" + c.b.d.cast(r.sql, EdmDouble) + ", 0))", EdmDouble, false}
	case "mod":
		return typed{c.b.d.mod(l.sql, r.sql, typ == EdmInt64), typ, false}
	}
	c.fail(n, "unknown operator %s", n.op)
	return typed{}
}

// operands compiles both sides, giving a literal the type of the other side.
// Placeholders are numbered, so compiling the right side first is harmless.
func (c *compiler) operands(sc *scope, ln, rn node) (typed, typed) {
	_, lLit := ln.(*literal)
	_, rLit := rn.(*literal)
	if lLit && !rLit {
		r := c.value(sc, rn, "")
		return c.value(sc, ln, r.typ), r
	}
	l := c.value(sc, ln, "")
	return l, c.value(sc, rn, l.typ)
}

// operand parenthesises a condition used as a value ("(a eq b) eq true"),
// where SQL's precedence would otherwise regroup it.
func operand(n node, v typed) typed {
	if v.typ != EdmBoolean {
		return v
	}
	switch n.(type) {
	case *memberExpr, *literal:
		return v
	}
	v.sql = "(" + v.sql + ")"
	return v
}

func (c *compiler) comparison(sc *scope, n *binaryExpr) typed {
	l, r := c.operands(sc, n.left, n.right)
	l, r = operand(n.left, l), operand(n.right, r)
	lNull, rNull := l.typ == "" && !l.navFK, r.typ == "" && !r.navFK
	if lNull || rNull {
		if n.op != "eq" && n.op != "ne" {
			c.fail(n, "null can only be compared with eq or ne")
		}
		x := l
		if lNull {
			x = r
		}
		if n.op == "eq" {
			return typed{x.sql + " IS NULL", EdmBoolean, false}
		}
		return typed{x.sql + " IS NOT NULL", EdmBoolean, false}
	}
	if l.navFK || r.navFK {
		c.fail(n, "a navigation property can only be compared with null")
	}
	c.checkComparable(n, l, r, n.op)
	if n.op == "ne" {
		return typed{c.b.d.distinct(l.sql, r.sql), EdmBoolean, false}
	}
	return typed{l.sql + " " + comparisonSQL[n.op] + " " + r.sql, EdmBoolean, false}
}

func (c *compiler) checkComparable(n node, l, r typed, op string) {
	ok := l.typ == r.typ || l.typ.numeric() && r.typ.numeric()
	if !ok {
		c.fail(n, "cannot compare %s with %s", typeName(l.typ), typeName(r.typ))
	}
	if l.typ == EdmBoolean && op != "eq" && op != "ne" {
		c.fail(n, "booleans can only be compared with eq or ne")
	}
}

func typeName(t EdmType) string {
	if t == "" {
		return "null"
	}
	return string(t)
}

func (c *compiler) call(sc *scope, n *callExpr) typed {
	arg := func(i int, want ...EdmType) typed {
		hint := EdmType("")
		if len(want) == 1 {
			hint = want[0]
		}
		v := c.value(sc, n.args[i], hint)
		for _, w := range want {
			if v.typ == w || w == EdmDouble && v.typ.numeric() {
				return v
			}
		}
		c.fail(n.args[i], "argument %d of %s must be %s, not %s", i+1, n.name, typeName(want[0]), typeName(v.typ))
		return v
	}
	d := c.b.d
	switch n.name {
	case "contains", "startswith", "endswith":
		s := arg(0, EdmString)
		lit, ok := n.args[1].(*literal)
		if !ok || lit.kind != litString {
			c.fail(n.args[1], "the second argument of %s must be a string literal", n.name)
		}
		pattern := escapeLike(lit.text)
		switch n.name {
		case "contains":
			pattern = "%" + pattern + "%"
		case "startswith":
			pattern += "%"
		default:
			pattern = "%" + pattern
		}
		return typed{d.iLike(s.sql, c.b.bind(EdmString, pattern)), EdmBoolean, false}
	case "tolower":
		return typed{"lower(" + arg(0, EdmString).sql + ")", EdmString, false}
	case "toupper":
		return typed{"upper(" + arg(0, EdmString).sql + ")", EdmString, false}
	case "trim":
		return typed{"trim(" + arg(0, EdmString).sql + ")", EdmString, false}
	case "length":
		return typed{"length(" + arg(0, EdmString).sql + ")", EdmInt32, false}
	case "concat":
		return typed{"(" + arg(0, EdmString).sql + " || " + arg(1, EdmString).sql + ")", EdmString, false}
	case "indexof":
		return typed{d.indexOf(arg(0, EdmString).sql, arg(1, EdmString).sql), EdmInt32, false}
	case "substring":
		s := arg(0, EdmString).sql
		start := arg(1, EdmInt64, EdmInt32)
		out := "substr(" + s + ", CAST(" + start.sql + " + 1 AS integer)"
		if len(n.args) == 3 {
			out += ", CAST(" + arg(2, EdmInt64, EdmInt32).sql + " AS integer)"
		}
		return typed{out + ")", EdmString, false}
	case "year", "month", "day":
		x := arg(0, EdmDateTimeOffset, EdmDate)
		return typed{d.datePart(n.name, x.sql, x.typ), EdmInt32, false}
	case "hour", "minute", "second":
		x := arg(0, EdmDateTimeOffset)
		return typed{d.datePart(n.name, x.sql, x.typ), EdmInt32, false}
	case "date":
		return typed{d.toDate(arg(0, EdmDateTimeOffset).sql), EdmDate, false}
	case "now":
		return typed{c.b.bind(EdmDateTimeOffset, c.b.now), EdmDateTimeOffset, false}
	case "round":
		return typed{d.round(arg(0, EdmDouble).sql), EdmDouble, false}
	case "floor":
		return typed{"floor(" + arg(0, EdmDouble).sql + ")", EdmDouble, false}
	case "ceiling":
		return typed{"ceiling(" + arg(0, EdmDouble).sql + ")", EdmDouble, false}
	case "isof":
		return c.isOf(sc, n)
	case "cast":
		if len(n.args) == 1 {
			panic(compileError{notImplemented("cast with one argument (casting the entity itself) is not supported")})
		}
		name := c.typeArg(n.args[1])
		x := c.value(sc, n.args[0], "")
		to := EdmType(name)
		if to == EdmDecimal {
			to = EdmDouble
		}
		switch to {
		case EdmString, EdmInt32, EdmInt64, EdmDouble:
		default:
			if !strings.HasPrefix(name, "Edm.") {
				panic(compileError{notImplemented("cast to the entity type %s is not supported: use the type-cast segment /%s", name, name)})
			}
			panic(compileError{notImplemented("cast to %s is not supported (supported: Edm.String, Edm.Int32, Edm.Int64, Edm.Double, Edm.Decimal)", name)})
		}
		if x.typ == "" {
			return typed{"NULL", to, false}
		}
		return typed{d.cast(x.sql, to), to, false}
	}
	c.fail(n, "unknown function %s", n.name)
	return typed{}
}

// EdmDecimal is only understood in cast(): Phaseboard's numbers are doubles.
const EdmDecimal EdmType = "Edm.Decimal"

// typeArg reads the type name argument of isof and cast: a qualified name
// (Datastore.Phase.ActivityInvoice, Edm.String) or, as older clients send
// it, a string literal.
func (c *compiler) typeArg(n node) string {
	switch x := n.(type) {
	case *memberExpr:
		if len(x.segments) == 1 {
			return x.segments[0]
		}
	case *literal:
		if x.kind == litString && qualifiedRE.MatchString(x.text) {
			return x.text
		}
	}
	c.fail(n, "expected a qualified type name such as Edm.String")
	return ""
}

// isOf compiles isof(Type), isof($it, Type) (the entity is of Type: its set's
// type derives from Type, or its row matches the condition of the set that
// serves the subtype) and isof(expr, Edm.Type) (the static type of a value).
func (c *compiler) isOf(sc *scope, n *callExpr) typed {
	if c.cols != nil {
		c.fail(n, "isof cannot be used on an aggregated result")
	}
	name := c.typeArg(n.args[len(n.args)-1])
	ent := sc.root()
	if len(n.args) == 2 {
		m, ok := n.args[0].(*memberExpr)
		isEntity := ok && len(m.segments) == 1 && m.segments[0] == "$it"
		for s := sc; ok && !isEntity && s != nil; s = s.parent {
			if s.variable != "" && s.variable == m.segments[0] && len(m.segments) == 1 {
				isEntity, ent = true, s
			}
		}
		if !isEntity {
			v := c.value(sc, n.args[0], "")
			if v.typ == EdmType(name) || name == string(EdmDecimal) && v.typ == EdmDouble {
				return typed{"(" + v.sql + " IS NOT NULL)", EdmBoolean, false}
			}
			return typed{"FALSE", EdmBoolean, false}
		}
	}
	t := ent.set.schema.typeNamed(name)
	if t == nil {
		if strings.HasPrefix(name, "Edm.") {
			return typed{"FALSE", EdmBoolean, false} // an entity is never of a primitive type
		}
		c.fail(n, "unknown type %s", name)
	}
	switch {
	case ent.set.typ.derivesFrom(t):
		return typed{"TRUE", EdmBoolean, false}
	case !t.derivesFrom(ent.set.typ):
		return typed{"FALSE", EdmBoolean, false}
	}
	sub := ent.set.subtypeSet(t)
	if sub == nil {
		panic(compileError{notImplemented("isof(%s) is not supported on %s: no entity set serves that type", name, ent.set.name)})
	}
	return typed{"(" + qualify(sub.where, ent.alias) + ")", EdmBoolean, false}
}

// escapeLike escapes LIKE wildcards so that a user's % and _ match literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// navCount compiles Nav/$count: a correlated COUNT over the 1:N target.
func (c *compiler) navCount(sc *scope, r resolved) string {
	target := r.nav.target
	sub := newScope(target, c.b.newAlias("s"), sc, "")
	conds := []string{sub.alias + "." + r.nav.FK + " = " + qualify(r.typ.key.SQL, r.alias)}
	if w := sub.setWhere(c.b); w != "" {
		conds = append(conds, w)
	}
	return "(SELECT COUNT(*) FROM " + sub.from() + " WHERE " + strings.Join(conds, " AND ") + ")"
}

// lambda compiles Nav/any(v: cond) to EXISTS and Nav/all(v: cond) to NOT
// EXISTS(... AND NOT cond) over the 1:N target, correlated on the FK.
func (c *compiler) lambda(sc *scope, n *lambdaExpr) string {
	r := c.walk(sc, n, n.path)
	if r.nav == nil || !r.nav.Many {
		c.fail(n, "%s/%s needs a collection navigation property", strings.Join(n.path, "/"), n.op)
	}
	target := r.nav.target
	sub := newScope(target, c.b.newAlias("s"), sc, n.variable)
	parentKey := qualify(r.typ.key.SQL, r.alias)
	conds := []string{sub.alias + "." + r.nav.FK + " = " + parentKey}
	if w := sub.setWhere(c.b); w != "" {
		conds = append(conds, w)
	}
	var body string
	if n.body != nil {
		body = c.predicate(sub, n.body)
	}
	if n.op == "any" {
		if body != "" {
			conds = append(conds, body)
		}
		return "EXISTS (SELECT 1 FROM " + sub.from() + " WHERE " + strings.Join(conds, " AND ") + ")"
	}
	conds = append(conds, "NOT COALESCE("+body+", FALSE)")
	return "NOT EXISTS (SELECT 1 FROM " + sub.from() + " WHERE " + strings.Join(conds, " AND ") + ")"
}

// compileOrderBy resolves $orderby keys (allowlisted properties, N:1 paths
// allowed) to SQL expressions.
func compileOrderBy(b *sqlBuilder, sc *scope, items []orderItem) (out []orderExpr, err error) {
	defer catchCompile(&err)
	c := &compiler{b: b, option: "$orderby"}
	for _, it := range items {
		if cp := sc.computedNamed(it.path); cp != nil {
			v := c.value(sc, &memberExpr{segments: it.path}, "")
			out = append(out, orderExpr{sql: "(" + v.sql + ")", typ: cp.prop.Type, desc: it.desc, name: cp.alias})
			continue
		}
		r := c.walk(sc, nil, it.path)
		if r.count {
			out = append(out, orderExpr{sql: c.navCount(sc, r), typ: EdmInt64, desc: it.desc, name: strings.Join(it.path, "/")})
			continue
		}
		if r.prop == nil {
			panic(compileError{badRequest("$orderby", "%s is not a property", strings.Join(it.path, "/"))})
		}
		if r.prop.NoSort {
			panic(compileError{badRequest("$orderby", "property %s cannot be used in $orderby", r.prop.Name)})
		}
		out = append(out, orderExpr{sql: c.propValue(r), typ: r.prop.Type, desc: it.desc, name: strings.Join(it.path, "/")})
	}
	return out, nil
}

type orderExpr struct {
	sql  string
	typ  EdmType
	desc bool
	name string
}
