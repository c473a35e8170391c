package odata

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"phaseboard/web/redact"
)

// $apply (OData Data Aggregation): a sequence of transformations separated
// by "/". Supported: filter(cond), groupby((Path,...)[,aggregate(...)]) and
// aggregate(...), where an aggregate item is "Path with method as Alias" or
// "$count as Alias". filter() steps must come first; at most one groupby or
// aggregate follows, and it ends the sequence. The whole sequence compiles to
// one SELECT ... GROUP BY; $filter, $orderby, $top, $skip and $count then
// apply to its rows.

// Limits on one $apply, far above what a real client sends.
const (
	maxApplySteps  = 8
	maxGroupPaths  = 16
	maxAggregates  = 16
	maxApplyLength = maxFilterLength
)

var aggregateMethods = map[string]bool{"sum": true, "average": true, "min": true, "max": true, "countdistinct": true}

// unsupportedTransformations are transformations of the specification that
// the service knows but does not implement: they answer 501, not 400.
var unsupportedTransformations = map[string]bool{
	"compute": true, "bottomcount": true, "bottompercent": true, "bottomsum": true, "topcount": true,
	"toppercent": true, "topsum": true, "concat": true, "expand": true, "search": true, "identity": true,
	"join": true, "outerjoin": true, "nest": true, "ancestors": true, "descendants": true, "traverse": true,
	"orderby": true, "skip": true, "top": true, "rolluprecursive": true,
}

// applyExpr is a parsed $apply. It prints back canonically like a filter,
// so that parseApply(print(parseApply(s))) == parseApply(s).
type applyExpr struct {
	steps []node // *filterStep, *groupByStep, *aggregateStep
}

type filterStep struct {
	pos  int
	cond node
}

type groupByStep struct {
	pos   int
	paths []*memberExpr
	aggs  *aggregateStep // nil: groupby((...)) without aggregate
}

type aggregateStep struct {
	pos   int
	items []*aggregateItem
}

// aggregateItem is "Path with method as Alias", or "$count as Alias" (path nil).
type aggregateItem struct {
	pos    int
	path   []string
	method string
	alias  string
}

func (n *filterStep) Pos() int    { return n.pos }
func (n *groupByStep) Pos() int   { return n.pos }
func (n *aggregateStep) Pos() int { return n.pos }
func (n *aggregateItem) Pos() int { return n.pos }

func (a *applyExpr) String() string {
	parts := make([]string, len(a.steps))
	for i, s := range a.steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, "/")
}

func (n *filterStep) String() string { return "filter(" + n.cond.String() + ")" }

func (n *groupByStep) String() string {
	parts := make([]string, len(n.paths))
	for i, p := range n.paths {
		parts[i] = p.String()
	}
	s := "groupby((" + strings.Join(parts, ",") + ")"
	if n.aggs != nil {
		s += "," + n.aggs.String()
	}
	return s + ")"
}

func (n *aggregateStep) String() string {
	parts := make([]string, len(n.items))
	for i, it := range n.items {
		parts[i] = it.String()
	}
	return "aggregate(" + strings.Join(parts, ",") + ")"
}

func (n *aggregateItem) String() string {
	if n.path == nil {
		return "$count as " + n.alias
	}
	return strings.Join(n.path, "/") + " with " + n.method + " as " + n.alias
}

// parseApply parses a $apply value. An unknown transformation is a
// *syntaxError; a known but unsupported one is a 501 *Error.
func parseApply(src string) (a *applyExpr, err error) { return parseApplyWith(src, aliases{}) }

// parseApplyWith parses a $apply whose filter() steps may use the
// parameter aliases al.
func parseApplyWith(src string, al aliases) (a *applyExpr, err error) {
	if len(src) > maxApplyLength {
		return nil, &syntaxError{Pos: maxApplyLength, Msg: fmt.Sprintf("$apply longer than %d bytes", maxApplyLength)}
	}
	unsupported := ""
	err = runParser(src, al, func(p *parser) {
		a = &applyExpr{}
		if p.peek().kind == tokEOF {
			p.errorf(0, "empty $apply")
		}
		for {
			t := p.expect(tokIdent)
			switch t.text {
			case "filter":
				p.expect(tokLParen)
				cond := p.expr(1)
				p.expect(tokRParen)
				if depth(cond) > maxDepth {
					p.errorf(t.pos, "expression nested too deeply (more than %d levels)", maxDepth)
				}
				a.steps = append(a.steps, &filterStep{pos: t.pos, cond: cond})
			case "groupby":
				a.steps = append(a.steps, p.groupBy(t, &unsupported))
			case "aggregate":
				a.steps = append(a.steps, p.aggregate(t))
			default:
				if unsupportedTransformations[t.text] {
					unsupported = t.text
				}
				p.errorf(t.pos, "unknown transformation %q", t.text)
			}
			if len(a.steps) > maxApplySteps {
				p.errorf(t.pos, "too many transformations (more than %d)", maxApplySteps)
			}
			if p.peek().kind == tokEOF {
				return
			}
			if t := p.next(); t.kind != tokSlash {
				p.errorf(t.pos, "expected '/' or end of input, found %s", t)
			}
		}
	})
	if err != nil {
		if unsupported != "" {
			return nil, notImplemented("the $apply transformation %s is not supported (supported: filter, groupby, aggregate)", unsupported)
		}
		return nil, err
	}
	return a, nil
}

func (p *parser) expectWord(word string) token {
	t := p.next()
	if t.kind != tokIdent || t.text != word {
		p.errorf(t.pos, "expected %q, found %s", word, t)
	}
	return t
}

// memberPath parses Seg/Seg/... as a property path.
func (p *parser) memberPath() *memberExpr {
	t := p.expect(tokIdent)
	p.countNode(t.pos)
	m := &memberExpr{pos: t.pos, segments: []string{t.text}}
	for p.accept(tokSlash) {
		m.segments = append(m.segments, p.expect(tokIdent).text)
	}
	return m
}

func (p *parser) groupBy(t token, unsupported *string) *groupByStep {
	g := &groupByStep{pos: t.pos}
	p.expect(tokLParen)
	p.expect(tokLParen)
	for {
		g.paths = append(g.paths, p.memberPath())
		if len(g.paths) > maxGroupPaths {
			p.errorf(t.pos, "too many grouping properties (more than %d)", maxGroupPaths)
		}
		if p.accept(tokRParen) {
			break
		}
		p.expectCommaOrClose()
	}
	if p.accept(tokComma) {
		a := p.expect(tokIdent)
		if a.text != "aggregate" {
			if unsupportedTransformations[a.text] || a.text == "filter" || a.text == "groupby" {
				*unsupported = a.text
			}
			p.errorf(a.pos, "expected aggregate(...), found %s", a)
		}
		g.aggs = p.aggregate(a)
	}
	p.expect(tokRParen)
	return g
}

func (p *parser) aggregate(t token) *aggregateStep {
	s := &aggregateStep{pos: t.pos}
	p.expect(tokLParen)
	for {
		it := p.next()
		if it.kind != tokIdent {
			p.errorf(it.pos, "expected a property or $count, found %s", it)
		}
		p.countNode(it.pos)
		item := &aggregateItem{pos: it.pos}
		if it.text != "$count" {
			item.path = []string{it.text}
			for p.accept(tokSlash) {
				item.path = append(item.path, p.expect(tokIdent).text)
			}
			p.expectWord("with")
			m := p.expect(tokIdent)
			if !aggregateMethods[m.text] {
				p.errorf(m.pos, "unknown aggregation method %q (supported: sum, average, min, max, countdistinct)", m.text)
			}
			item.method = m.text
		}
		p.expectWord("as")
		alias := p.expect(tokIdent)
		if !identRE.MatchString(alias.text) {
			p.errorf(alias.pos, "invalid alias %q", alias.text)
		}
		item.alias = alias.text
		s.items = append(s.items, item)
		if len(s.items) > maxAggregates {
			p.errorf(t.pos, "too many aggregates (more than %d)", maxAggregates)
		}
		if p.accept(tokRParen) {
			return s
		}
		p.expectCommaOrClose()
	}
}

// onlyFilters returns the conjunction of the filter steps when $apply holds
// nothing else: such an $apply is a plain $filter.
func (a *applyExpr) onlyFilters() (node, bool) {
	var cond node
	for _, s := range a.steps {
		f, ok := s.(*filterStep)
		if !ok {
			return nil, false
		}
		if cond == nil {
			cond = f.cond
		} else {
			cond = &binaryExpr{pos: f.pos, op: "and", left: cond, right: f.cond}
		}
	}
	return cond, cond != nil
}

// applyColumn is one output column of an aggregated query: a grouped path
// (Phase/Name) or an aggregate alias.
type applyColumn struct {
	path []string
	typ  EdmType
}

// applyStatement is a compiled $apply.
type applyStatement struct {
	sql  string
	args []any
	cols []applyColumn
}

// buildApply compiles a and the result options of q ($filter, $orderby)
// into one SELECT over the grouped rows. With countOnly it counts them. A set
// with a Rollup that can answer reads the rollup instead of its table.
func buildApply(b *sqlBuilder, set *entitySet, a *applyExpr, q *queryOptions, limit, offset int, countOnly bool) (*applyStatement, error) {
	if r := set.decl.Rollup; r != nil {
		rb := &sqlBuilder{d: b.d, now: b.now, ctx: b.ctx}
		if st, err := compileApply(rb, set, a, q, limit, offset, countOnly, r); err == nil {
			return st, nil
		}
	}
	return compileApply(b, set, a, q, limit, offset, countOnly, nil)
}

// compileApply is buildApply against the set's table (rollup nil) or its
// rollup, which aborts (an error) when the rollup cannot answer.
func compileApply(b *sqlBuilder, set *entitySet, a *applyExpr, q *queryOptions, limit, offset int, countOnly bool, rollup *Rollup) (st *applyStatement, err error) {
	defer catchCompile(&err)
	c := &compiler{b: b, option: "$apply"}
	sc := newScope(set, "t", nil, "")
	var where []string
	if rollup == nil {
		if w := sc.setWhere(b); w != "" {
			where = append(where, w)
		}
	} else {
		// The rollup holds the set's rows only (no Where); who may read which still applies.
		// A row that stands for no row of the set (its count fell to 0) is no row at all.
		sc.rollup = rollup
		where = append(where, "t."+rollup.Count+" <> 0")
		if set.decl.Restrict != nil && b.ctx != nil {
			if cond, args := set.decl.Restrict(b.ctx); cond != "" {
				if !rollup.keeps(cond) {
					panic(rollupMiss{})
				}
				where = append(where, "("+b.bindMarks(cond, args)+")")
			}
		}
	}
	if q.search != nil {
		cond, err := compileSearch(b, sc, q.search)
		if err != nil {
			return nil, err
		}
		where = append(where, cond) // $search narrows the input of the aggregation
	}
	var final node
	for _, step := range a.steps {
		if f, ok := step.(*filterStep); ok {
			if final != nil {
				panic(compileError{notImplemented("filter() after groupby or aggregate is not supported in $apply: use $filter on the aggregated result")})
			}
			where = append(where, c.predicate(sc, f.cond))
			continue
		}
		if final != nil {
			panic(compileError{notImplemented("only one groupby or aggregate transformation is supported in $apply")})
		}
		final = step
	}
	var paths []*memberExpr
	var aggs *aggregateStep
	switch f := final.(type) {
	case *groupByStep:
		paths, aggs = f.paths, f.aggs
	case *aggregateStep:
		aggs = f
	}
	st = &applyStatement{}
	var exprs, groupExprs []string
	seen := map[string]bool{}
	for _, m := range paths {
		name := strings.Join(m.segments, "/")
		if m.segments[0] == "$it" {
			c.fail(m, "group by %s without $it", strings.Join(m.segments[1:], "/"))
		}
		r := c.walk(sc, m, m.segments)
		if r.nav != nil {
			c.fail(m, "%s is a navigation property: group by one of its properties (e.g. %s/Name)", name, name)
		}
		if r.prop.NoSort {
			c.fail(m, "property %s cannot be used in groupby", r.prop.Name)
		}
		if seen[name] {
			c.fail(m, "%s is grouped twice", name)
		}
		seen[name] = true
		x := "(" + qualify(r.prop.SQL, r.alias) + ")"
		exprs = append(exprs, x)
		groupExprs = append(groupExprs, x)
		st.cols = append(st.cols, applyColumn{path: m.segments, typ: r.prop.Type})
	}
	if aggs != nil {
		for _, it := range aggs.items {
			if strings.HasPrefix(it.alias, "$") || set.typ.prop(it.alias) != nil || set.typ.nav(it.alias) != nil || seen[it.alias] {
				c.fail(it, "alias %s is already a property of %s or another alias", it.alias, set.name)
			}
			for _, m := range paths {
				if m.segments[0] == it.alias {
					c.fail(it, "alias %s clashes with the grouped path %s", it.alias, m)
				}
			}
			seen[it.alias] = true
			x, typ := c.aggregateSQL(sc, it)
			exprs = append(exprs, x)
			st.cols = append(st.cols, applyColumn{path: []string{it.alias}, typ: typ})
		}
	}
	colRef := map[string]typed{}
	var outCols []string
	for i, col := range st.cols {
		ref := "a.c" + strconv.Itoa(i)
		colRef[strings.Join(col.path, "/")] = typed{sql: ref, typ: col.typ}
		outCols = append(outCols, ref)
	}

	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, x := range exprs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(x + " AS c" + strconv.Itoa(i))
	}
	sb.WriteString(" FROM " + sc.from())
	if len(where) > 0 {
		sb.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if len(groupExprs) > 0 {
		sb.WriteString(" GROUP BY " + strings.Join(groupExprs, ", "))
	}
	inner := sb.String()

	outer := "SELECT " + strings.Join(outCols, ", ")
	if countOnly {
		outer = "SELECT COUNT(*)"
	}
	outer += " FROM (" + inner + ") AS a"
	if q.filter != nil {
		fc := &compiler{b: b, option: "$filter", cols: colRef}
		outer += " WHERE " + fc.predicate(nil, q.filter)
	}
	if !countOnly {
		var order []string
		ordered := map[string]bool{}
		for _, it := range q.orderBy {
			name := strings.Join(it.path, "/")
			ref, ok := colRef[name]
			if !ok {
				panic(compileError{badRequest("$orderby", "unknown property %s in $orderby: after $apply only the grouped properties and aggregate aliases (%s) are available", name, columnNames(st.cols))})
			}
			order = append(order, orderTerm(ref.sql, it.desc))
			ordered[name] = true
		}
		// The grouped columns identify a row: they make the order total.
		for i, col := range st.cols[:len(paths)] {
			if name := strings.Join(col.path, "/"); !ordered[name] {
				order = append(order, orderTerm("a.c"+strconv.Itoa(i), false))
			}
		}
		if len(order) > 0 {
			outer += " ORDER BY " + strings.Join(order, ", ")
		}
		if limit >= 0 {
			outer += " LIMIT " + strconv.Itoa(limit)
			if offset > 0 {
				outer += " OFFSET " + strconv.Itoa(offset)
			}
		}
	}
	st.sql, st.args = outer, b.args
	return st, nil
}

func columnNames(cols []applyColumn) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = strings.Join(c.path, "/")
	}
	return strings.Join(names, ", ")
}

// aggregateSQL compiles one aggregate. Results are cast so that both
// databases return the same types (PostgreSQL's SUM(bigint) and AVG are
// numeric).
func (c *compiler) aggregateSQL(sc *scope, it *aggregateItem) (string, EdmType) {
	if sc.rollup != nil {
		return c.rollupAggregate(sc, it)
	}
	if it.path == nil {
		return "COUNT(*)", EdmInt64
	}
	r := c.walk(sc, it, it.path)
	name := strings.Join(it.path, "/")
	if r.nav != nil {
		c.fail(it, "%s is a navigation property: aggregate one of its properties", name)
	}
	if r.prop.NoFilter {
		c.fail(it, "property %s cannot be aggregated", r.prop.Name)
	}
	x := "(" + qualify(r.prop.SQL, r.alias) + ")"
	t := r.prop.Type
	// A group holding an unknown value has no known sum, average, minimum or maximum.
	known := func(agg string) string {
		if !r.prop.NullIsUnknown {
			return agg
		}
		return "CASE WHEN COUNT(*) = COUNT(" + x + ") THEN " + agg + " END"
	}
	switch it.method {
	case "sum", "average":
		if !t.numeric() {
			c.fail(it, "cannot compute %s of %s: it is %s, not a number", it.method, name, t)
		}
		if it.method == "average" {
			return known("CAST(AVG(" + x + ") AS double precision)"), EdmDouble
		}
		if t == EdmDouble {
			return known("SUM(" + x + ")"), EdmDouble
		}
		return known("CAST(SUM(" + x + ") AS bigint)"), EdmInt64
	case "min", "max":
		if t == EdmBoolean || t == EdmGuid {
			c.fail(it, "cannot compute %s of %s: it is %s", it.method, name, t)
		}
		return known(strings.ToUpper(it.method) + "(" + x + ")"), t
	case "countdistinct":
		return "COUNT(DISTINCT " + x + ")", EdmInt64
	}
	c.fail(it, "unknown aggregation method %s", it.method)
	return "", ""
}

// outNode is the JSON shape of an aggregated row: grouped navigation paths
// nest as objects.
type outNode struct {
	name     string
	col      int // column index for a leaf, -1 for an object
	children []*outNode
}

func applyShape(cols []applyColumn) *outNode {
	root := &outNode{col: -1}
	for i, c := range cols {
		n := root
		for j, seg := range c.path {
			var child *outNode
			for _, ch := range n.children {
				if ch.name == seg {
					child = ch
				}
			}
			if child == nil {
				child = &outNode{name: seg, col: -1}
				if j == len(c.path)-1 {
					child.col = i
				}
				n.children = append(n.children, child)
			}
			n = child
		}
	}
	return root
}

// contextSelect renders "(Phase(Name),Weighted)".
func (n *outNode) contextSelect() string {
	parts := make([]string, len(n.children))
	for i, ch := range n.children {
		parts[i] = ch.name
		if ch.col < 0 {
			parts[i] += ch.contextSelect()
		}
	}
	return "(" + strings.Join(parts, ",") + ")"
}

func (n *outNode) appendJSON(b []byte, out *output, cols []applyColumn, values []any) []byte {
	b = append(b, '{')
	for i, ch := range n.children {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, ch.name)
		b = append(b, ':')
		if ch.col >= 0 {
			b = out.appendValue(b, cols[ch.col].typ, values[ch.col])
		} else {
			b = ch.appendJSON(b, out, cols, values)
		}
	}
	return append(b, '}')
}

// serveApply answers GET Set?$apply=... with groupby or aggregate. Rows are
// paged by $skip: a page holds at most the page size, and @odata.nextLink
// asks for the next one.
func (s *Service) serveApply(w http.ResponseWriter, r *http.Request, q *queryOptions, set *entitySet) error {
	if q.compute != nil {
		return notImplemented("$compute cannot be combined with a groupby or aggregate $apply (compute inside $apply is not supported either)")
	}
	if q.selects != nil || q.expand != nil {
		return badRequest("$apply", "$apply with groupby or aggregate cannot be combined with $select or $expand: the result holds only the grouped properties and the aggregates")
	}
	if q.skipToken != "" {
		return badRequest("$skiptoken", "$skiptoken is not used with $apply: follow @odata.nextLink")
	}
	ctx := r.Context()
	size := s.pageSize(w, r)
	limit := size + 1
	if q.top >= 0 && q.top <= size {
		limit = q.top
	}
	st, err := buildApply(s.builder(r.Context()), set, q.apply, q, limit, q.skip, false)
	if err != nil {
		return err
	}
	var count int64 = -1
	awaitCount := func() error { return nil }
	if q.count {
		cb := s.builder(r.Context())
		cst, err := buildApply(cb, set, q.apply, q, -1, 0, true)
		if err != nil {
			return err
		}
		awaitCount = s.startCount(ctx, cst.sql, cst.args, &count)
	}
	rows, err := s.db.QueryContext(ctx, st.sql, st.args...)
	if cerr := awaitCount(); err == nil && cerr != nil {
		rows.Close()
		err = cerr
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	shape := applyShape(st.cols)
	out := q.out
	b := out.appendContext([]byte{'{'}, set.name+shape.contextSelect())
	if count >= 0 {
		b = append(b, `"@odata.count":`...)
		b = out.appendCount(b, count)
		b = append(b, ',')
	}
	b = append(b, `"value":[`...)
	raw := make([]any, len(st.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	values := make([]any, len(raw))
	n, hasMore := 0, false
	for rows.Next() {
		if n == size {
			hasMore = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, col := range st.cols {
			if values[i], err = normalize(col.typ, raw[i]); err != nil {
				return err
			}
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = shape.appendJSON(b, out, st.cols, values)
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	b = append(b, ']')
	if hasMore {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, s.applyNextLink(r, q, size))
	}
	b = append(b, '}')
	writeJSON(w, out, http.StatusOK, b)
	return nil
}

// applyNextLink is the request URL with $skip advanced by one page and $top
// reduced by it.
func (s *Service) applyNextLink(r *http.Request, q *queryOptions, size int) string {
	vals, _ := rawQuery(r.URL.RawQuery) // it parsed before
	for k := range vals {
		switch strings.ToLower(k) {
		case "$skip", "$top", "$skiptoken":
			delete(vals, k)
		default:
			if redact.IsCredential(k) { // never echo a token into a link
				delete(vals, k)
			}
		}
	}
	vals.Set("$skip", strconv.Itoa(q.skip+size))
	if q.top >= 0 {
		vals.Set("$top", strconv.Itoa(q.top-size))
	}
	rel := r.URL.Path
	if rel == s.opts.Prefix || strings.HasPrefix(rel, s.opts.Prefix+"/") {
		rel = rel[len(s.opts.Prefix):]
	}
	return s.serviceRoot(r) + "/" + strings.TrimPrefix(rel, "/") + "?" + encodeQuery(vals)
}

// rollupMiss aborts compiling an $apply against a Rollup that cannot answer
// it; buildApply then compiles it against the set's table.
type rollupMiss struct{}

// keeps reports whether every column expr names on alias t is a key.
func (r *Rollup) keeps(expr string) bool {
	for _, col := range columnsOf(expr) {
		found := false
		for _, k := range r.Keys {
			found = found || k == col
		}
		if !found {
			return false
		}
	}
	return true
}

// mustKeep aborts unless member name of the set's type t reads only kept
// columns: a property over keys, or an N:1 link through a key. Anything else
// (a type cast, a name the compiler resolves otherwise) aborts too.
func (r *Rollup) mustKeep(t *entityType, name string) {
	if p := t.prop(name); p != nil && r.keeps(p.SQL) {
		return
	}
	if n := t.nav(name); n != nil && !n.Many && r.keeps(n.fkOf("t")) {
		return
	}
	panic(rollupMiss{})
}

// rollupAggregate compiles an aggregate over rollup rows: $count is the sum of
// their counts, the sum of a property is the sum of its Sums SQL; anything
// else aborts.
func (c *compiler) rollupAggregate(sc *scope, it *aggregateItem) (string, EdmType) {
	r := sc.rollup
	if it.path == nil {
		return "CAST(COALESCE(SUM(t." + r.Count + "), 0) AS bigint)", EdmInt64
	}
	expr, ok := r.Sums[it.path[0]]
	if len(it.path) != 1 || it.method != "sum" || !ok {
		panic(rollupMiss{})
	}
	p := sc.set.typ.prop(it.path[0])
	x := "(" + expr + ")"
	// Each row's sum as a double before adding them up: the rows are few, and a rollup's exact
	// (numeric) columns add up much more slowly.
	sum := "SUM(CAST(" + x + " AS double precision))"
	if p.Type != EdmDouble {
		sum = "CAST(SUM(" + x + ") AS bigint)"
	}
	if p.NullIsUnknown {
		sum = "CASE WHEN SUM(CASE WHEN " + x + " IS NULL THEN t." + r.Count + " ELSE 0 END) = 0 THEN " + sum + " END"
	}
	return sum, p.Type
}
