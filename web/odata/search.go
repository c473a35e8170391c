package odata

import (
	"fmt"
	"strings"
)

// $search: free-text search over the properties a set declares searchable
// (EntitySet.Search). The expression is OData's searchExpr: words and
// "phrases", NOT, AND (or nothing: "a b" is "a AND b") and OR, loosest
// last, with parentheses. A term matches an entity when any searchable
// property contains it (case-insensitively); the boolean operators then
// combine terms per entity, so "a b" finds entities that have a somewhere
// and b somewhere, and NOT a those that have a nowhere (a NULL property
// contains nothing, so NOT never loses a row to NULL).

// Limits on one $search, far above what a person types.
const (
	maxSearchLength = 1024
	maxSearchTerms  = 32
)

// searchNode is a parsed $search; like a filter it prints back canonically.
type searchNode interface{ String() string }

type searchTerm struct {
	text   string
	phrase bool
}

type searchNot struct{ x searchNode }

type searchBinary struct {
	op          string // AND or OR
	left, right searchNode
}

func (n *searchTerm) String() string {
	if n.phrase || searchKeywords[n.text] || !isSearchWord(n.text) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(n.text) + `"`
	}
	return n.text
}
func (n *searchNot) String() string { return "(NOT " + n.x.String() + ")" }
func (n *searchBinary) String() string {
	return "(" + n.left.String() + " " + n.op + " " + n.right.String() + ")"
}

var searchKeywords = map[string]bool{"AND": true, "OR": true, "NOT": true}

// isSearchWord reports whether s can be written as a bare word.
func isSearchWord(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n()\"")
}

type searchToken struct {
	pos    int
	text   string // a word or phrase's text, or "(" / ")"
	phrase bool
	paren  bool
}

// lexSearch splits a $search into words, phrases and parentheses.
func lexSearch(src string) ([]searchToken, error) {
	var toks []searchToken
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, searchToken{pos: i, text: src[i : i+1], paren: true})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' && j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '\\') {
					j++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, &syntaxError{Pos: i, Msg: "unterminated phrase"}
			}
			if strings.TrimSpace(b.String()) == "" {
				return nil, &syntaxError{Pos: i, Msg: "empty phrase"}
			}
			toks = append(toks, searchToken{pos: i, text: b.String(), phrase: true})
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n()\"", rune(src[j])) {
				j++
			}
			toks = append(toks, searchToken{pos: i, text: src[i:j]})
			i = j
		}
	}
	return toks, nil
}

type searchParser struct {
	toks  []searchToken
	i     int
	terms int
	depth int
}

func (p *searchParser) peek() *searchToken {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *searchParser) keyword(word string) bool {
	t := p.peek()
	return t != nil && !t.phrase && !t.paren && t.text == word
}

func (p *searchParser) fail(format string, args ...any) {
	pos := len(p.toks)
	if t := p.peek(); t != nil {
		pos = t.pos
	}
	panic(bailout{&syntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}})
}

// parseSearch parses a $search expression.
func parseSearch(src string) (n searchNode, err error) {
	if len(src) > maxSearchLength {
		return nil, &syntaxError{Pos: maxSearchLength, Msg: fmt.Sprintf("$search longer than %d bytes", maxSearchLength)}
	}
	toks, err := lexSearch(src)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			if b, ok := r.(bailout); ok {
				n, err = nil, b.err
				return
			}
			n, err = nil, &syntaxError{Msg: fmt.Sprintf("internal search parser error: %v", r)}
		}
	}()
	p := &searchParser{toks: toks}
	if len(toks) == 0 {
		p.fail("empty $search")
	}
	n = p.or()
	if p.peek() != nil {
		p.fail("unexpected %q", p.peek().text)
	}
	return n, nil
}

func (p *searchParser) or() searchNode {
	p.enter()
	defer func() { p.depth-- }()
	left := p.and()
	for p.keyword("OR") {
		p.i++
		left = &searchBinary{op: "OR", left: left, right: p.and()}
	}
	return left
}

// and reads terms joined by AND or by nothing at all.
func (p *searchParser) and() searchNode {
	left := p.not()
	for {
		if p.keyword("AND") {
			p.i++
		} else if t := p.peek(); t == nil || t.paren && t.text == ")" || p.keyword("OR") {
			return left
		}
		left = &searchBinary{op: "AND", left: left, right: p.not()}
	}
}

func (p *searchParser) not() searchNode {
	if p.keyword("NOT") {
		p.i++
		p.enter()
		defer func() { p.depth-- }()
		return &searchNot{x: p.not()}
	}
	return p.primary()
}

func (p *searchParser) primary() searchNode {
	t := p.peek()
	switch {
	case t == nil:
		p.fail("expected a search term")
	case t.paren && t.text == "(":
		p.i++
		n := p.or()
		if t := p.peek(); t == nil || !t.paren || t.text != ")" {
			p.fail("expected ')'")
		}
		p.i++
		return n
	case t.paren || !t.phrase && searchKeywords[t.text]:
		p.fail("expected a search term, found %q", t.text)
	}
	p.i++
	p.terms++
	if p.terms > maxSearchTerms {
		p.fail("more than %d search terms", maxSearchTerms)
	}
	return &searchTerm{text: t.text, phrase: t.phrase}
}

func (p *searchParser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail("$search nested too deeply")
	}
}

// compileSearch compiles a $search over the searchable properties of sc's
// set to a condition that is never NULL.
func compileSearch(b *sqlBuilder, sc *scope, n searchNode) (sql string, err error) {
	defer catchCompile(&err)
	c := &compiler{b: b, option: "$search"}
	if len(sc.set.decl.Search) == 0 {
		panic(compileError{notImplemented("%s cannot be searched: $search is supported on the sets that declare searchable properties", sc.set.name)})
	}
	return c.search(sc, n), nil
}

func (c *compiler) search(sc *scope, n searchNode) string {
	switch n := n.(type) {
	case *searchNot:
		return "NOT " + c.search(sc, n.x)
	case *searchBinary:
		return "(" + c.search(sc, n.left) + " " + n.op + " " + c.search(sc, n.right) + ")"
	case *searchTerm:
		pattern := c.b.bind(EdmString, "%"+escapeLike(n.text)+"%")
		var ors []string
		for _, path := range sc.set.decl.Search {
			r := c.walk(sc, nil, strings.Split(path, "/"))
			x := "COALESCE(" + qualify(r.prop.SQL, r.alias) + ", '')"
			ors = append(ors, c.b.d.iLike(x, pattern))
		}
		return "(" + strings.Join(ors, " OR ") + ")"
	}
	panic(compileError{badRequest("$search", "unsupported search expression")})
}

// checkSearchPaths validates a set's Search declaration against its type:
// each is a path of N:1 navigation properties ending in an Edm.String.
func checkSearchPaths(es *entitySet) error {
	for _, path := range es.decl.Search {
		t := es.typ
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if i == len(segs)-1 {
				if p := t.prop(seg); p == nil || p.Type != EdmString {
					return fmt.Errorf("odata model: set %q: search path %q does not end in a string property", es.name, path)
				}
				break
			}
			nav := t.nav(seg)
			if nav == nil || nav.Many {
				return fmt.Errorf("odata model: set %q: search path %q: %s is not a to-one navigation property", es.name, path, seg)
			}
			t = nav.target.typ
		}
	}
	return nil
}
