package odata

import "strings"

// plan is a request's query options resolved against one entity set: what
// to select, which neighbours to expand and how.
type plan struct {
	set   *entitySet
	props []*Property // output properties, in model order
	// computed are the $compute properties; the selected ones are written
	// after props (outComputed).
	computed    []*computedProp
	outComputed []*computedProp
	selects     []string // $select as given (nil: all), for the context URL
	expands     []*expandPlan
	filter      node
	search      searchNode
	orderBy     []orderItem
	top         int // -1: no $top
	skip        int
	count       bool
	// readType reads each row's _Type even when it is not selected: full
	// metadata writes the row's own type (a subtype of the set's).
	readType bool
}

type expandPlan struct {
	nav   *navProp
	plan  *plan
	count bool
}

// newPlan resolves q against set. Unknown names are 400s naming them.
func newPlan(set *entitySet, q *queryOptions) (*plan, error) {
	p := &plan{set: set, filter: q.filter, search: q.search, orderBy: q.orderBy, top: q.top, skip: q.skip, count: q.count, selects: q.selects}
	t := set.typ
	if q.compute != nil {
		var err error
		if p.computed, err = resolveCompute(set, q.compute); err != nil {
			return nil, err
		}
	}
	isComputed := func(name string) bool {
		for _, cp := range p.computed {
			if cp.alias == name {
				return true
			}
		}
		return false
	}
	if q.selects == nil {
		p.props = t.props
		p.outComputed = p.computed
	} else {
		wanted := map[string]bool{}
		for _, name := range q.selects {
			switch {
			case t.prop(name) != nil, isComputed(name):
				wanted[name] = true
			case t.nav(name) != nil:
				// Selecting a navigation property is allowed and adds nothing
				// in minimal metadata.
			default:
				return nil, badRequest("$select", "unknown property %s in $select on %s", name, set.name)
			}
		}
		for _, prop := range t.props {
			if wanted[prop.Name] {
				p.props = append(p.props, prop)
			}
		}
		for _, cp := range p.computed {
			if wanted[cp.alias] {
				p.outComputed = append(p.outComputed, cp)
			}
		}
	}
	for _, ex := range expandItems(t, q.expand) {
		nav := t.nav(ex.nav)
		if nav == nil {
			if t.prop(ex.nav) != nil {
				return nil, badRequest("$expand", "%s is not a navigation property of %s", ex.nav, set.name)
			}
			return nil, badRequest("$expand", "unknown navigation property %s in $expand on %s", ex.nav, set.name)
		}
		o := ex.opts
		if !nav.Many && (o.top >= 0 || o.skip > 0 || o.orderBy != nil || o.count) {
			return nil, badRequest("$expand", "$top, $skip, $orderby and $count are not allowed when expanding the single-valued %s", ex.nav)
		}
		if o.levels > 1 {
			// Nav($levels=n) is Nav($expand=Nav(... n deep)): only for a
			// navigation that leads back to a type that has it.
			if nav.target.typ.nav(nav.Name) == nil {
				return nil, badRequest("$expand", "$levels applies to a recursive navigation property; %s of %s is not", nav.Name, set.name)
			}
			o = levelled(nav.Name, o)
		}
		child, err := newPlan(nav.target, o)
		if err != nil {
			return nil, err
		}
		p.expands = append(p.expands, &expandPlan{nav: nav, plan: child, count: o.count})
	}
	if q.out != nil && q.out.metadata == metadataFull {
		p.readTypes()
	}
	return p, nil
}

// readTypes marks p and its expansions to read the row types (full metadata).
func (p *plan) readTypes() {
	p.readType = true
	for _, ex := range p.expands {
		ex.plan.readTypes()
	}
}

// levelled is o for one level of Nav($levels=n): o's own options, plus Nav
// expanded again with them and one level less.
func levelled(nav string, o *queryOptions) *queryOptions {
	inner := *o
	inner.levels = o.levels - 1
	out := *o
	out.levels = 0
	out.expand = append(append([]*expandItem{}, o.expand...), &expandItem{nav: nav, opts: &inner})
	return &out
}

// expandItems resolves $expand=*: every navigation property of t, each
// with the options given to the star.
func expandItems(t *entityType, items []*expandItem) []*expandItem {
	var out []*expandItem
	for _, it := range items {
		if it.nav != "*" {
			out = append(out, it)
			continue
		}
		for _, nav := range t.navs {
			out = append(out, &expandItem{nav: nav.Name, opts: it.opts})
		}
	}
	return out
}

// contextSelect renders the select list of a context URL ("(ID,Name,Phase())")
// or "" when everything is selected and nothing expanded.
func (p *plan) contextSelect() string {
	var parts []string
	parts = append(parts, p.selects...)
	for _, ex := range p.expands {
		inner := ex.plan.contextSelect()
		if inner == "" {
			inner = "()"
		}
		parts = append(parts, ex.nav.Name+inner)
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// columns are the values an entity of the plan carries: the properties, then
// the selected computed ones.
func (p *plan) columns() []*Property {
	if len(p.outComputed) == 0 {
		return p.props
	}
	out := append([]*Property{}, p.props...)
	for _, cp := range p.outComputed {
		out = append(out, cp.prop)
	}
	return out
}

// entityType is the type of entity e of the plan's set: the subtype its
// _Type names when the set spans subtypes and _Type was read, else the
// set's type.
func (p *plan) entityType(e *entity) *entityType {
	if e.typeName != "" {
		if t := p.set.schema.types[e.typeName]; t != nil && t.derivesFrom(p.set.typ) {
			return t
		}
	}
	for i, prop := range p.props {
		if prop.Name != TypeProperty {
			continue
		}
		if name, ok := e.values[i].(string); ok {
			if t := p.set.schema.types[name]; t != nil && t.derivesFrom(p.set.typ) {
				return t
			}
		}
	}
	return p.set.typ
}

// linkedNavs are the navigation properties full metadata links: all of the
// type's without $select, else the selected and expanded ones.
func (p *plan) linkedNavs() []*navProp {
	if p.selects == nil {
		return p.set.typ.navs
	}
	var out []*navProp
	for _, nav := range p.set.typ.navs {
		want := false
		for _, name := range p.selects {
			want = want || name == nav.Name
		}
		for _, ex := range p.expands {
			want = want || ex.nav == nav
		}
		if want {
			out = append(out, nav)
		}
	}
	return out
}
