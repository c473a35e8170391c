package odata

import (
	"fmt"
	"strings"
)

// $compute=Amount mul 2 as Double,concat(Subject,'!') as Loud adds
// computed properties: any $filter expression (arithmetic, string and date
// functions, navigation paths) named by an alias. They are written after the
// entity's own properties (all of them without $select, else the selected
// ones) and can be used by name in $filter and $orderby.

const maxComputed = 16

// computeItem is one "expr as Alias" of $compute.
type computeItem struct {
	expr  node
	alias string
}

func (c computeItem) String() string { return c.expr.String() + " as " + c.alias }

// parseCompute parses a $compute value.
func parseCompute(src string, al aliases) (items []computeItem, err error) {
	if len(src) > maxFilterLength {
		return nil, &syntaxError{Pos: maxFilterLength, Msg: fmt.Sprintf("$compute longer than %d bytes", maxFilterLength)}
	}
	err = runParser(src, al, func(p *parser) {
		for {
			expr := p.expr(1)
			if depth(expr) > maxDepth {
				p.errorf(expr.Pos(), "expression nested too deeply (more than %d levels)", maxDepth)
			}
			p.expectWord("as")
			alias := p.expect(tokIdent)
			if !identRE.MatchString(alias.text) {
				p.errorf(alias.pos, "invalid alias %q", alias.text)
			}
			items = append(items, computeItem{expr: expr, alias: alias.text})
			if len(items) > maxComputed {
				p.errorf(alias.pos, "too many computed properties (more than %d)", maxComputed)
			}
			if p.peek().kind == tokEOF {
				return
			}
			p.expect(tokComma)
		}
	})
	return items, err
}

// computedProp is a computed property of a plan: its expression, and a
// Property (name and type, no SQL of its own) for the JSON writer.
type computedProp struct {
	computeItem
	prop *Property
}

// resolveCompute checks $compute against set: aliases that clash with the
// type's members or each other are a 400, and each expression is compiled
// once here to learn its type (the statements compile it again with their
// own bind arguments).
func resolveCompute(set *entitySet, items []computeItem) ([]*computedProp, error) {
	var out []*computedProp
	seen := map[string]bool{}
	for _, it := range items {
		if set.typ.prop(it.alias) != nil || set.typ.nav(it.alias) != nil || seen[it.alias] {
			return nil, badRequest("$compute", "the alias %s of $compute is already a property of %s or another alias", it.alias, set.name)
		}
		seen[it.alias] = true
		cp := &computedProp{computeItem: it}
		out = append(out, cp)
	}
	b := &sqlBuilder{d: SQLite}
	sc := newScope(set, "t", nil, "")
	sc.computed = out
	for _, cp := range out {
		v, err := compileValue(b, sc, cp.expr, "$compute")
		if err != nil {
			return nil, err
		}
		if v.typ == "" || v.navFK {
			return nil, badRequest("$compute", "%s of $compute has no type (null or a navigation property)", cp.alias)
		}
		cp.prop = &Property{Name: cp.alias, Type: v.typ, Nullable: true}
	}
	return out, nil
}

// compileValue compiles n as a value for option (a computed property).
func compileValue(b *sqlBuilder, sc *scope, n node, option string) (v typed, err error) {
	defer catchCompile(&err)
	c := &compiler{b: b, option: option}
	return c.value(sc, n, ""), nil
}

// computedNamed is the computed property a member path names in the scope's
// query, or nil: "Alias" or "$it/Alias".
func (s *scope) computedNamed(segs []string) *computedProp {
	root := s.root()
	if root.computed == nil {
		return nil
	}
	if len(segs) == 2 && segs[0] == "$it" {
		segs = segs[1:]
	}
	if len(segs) != 1 {
		return nil
	}
	for _, cp := range root.computed {
		if cp.alias == segs[0] {
			return cp
		}
	}
	return nil
}

// computeAliases lists aliases for error messages.
func computeAliases(items []*computedProp) string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.alias
	}
	return strings.Join(names, ", ")
}
