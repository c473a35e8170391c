package odata

import (
	"fmt"
	"strings"
)

// Hard limits that keep a hostile $filter from costing much. They are far
// above what a real client sends.
const (
	maxFilterLength = 8 << 10
	// maxDepth bounds the depth of the syntax tree. A chain of 100 "or"s is
	// 100 deep, so this is not small.
	maxDepth = 100
	// maxRecursion bounds the parser's own recursion. The printed form of a
	// tree of depth d needs at most 2d+2 levels (every binary and unary node
	// prints its parentheses), so any accepted filter's printed form is
	// accepted too.
	maxRecursion = 2*maxDepth + 8
	maxNodes     = 400
	// maxLambdaDepth bounds nested any/all: each level is a correlated
	// subquery whose cost multiplies.
	maxLambdaDepth = 3
)

// Binary operator precedences, loosest first. "not" sits between "and" and the
// comparisons: "not a eq b" is "not (a eq b)".
var binaryPrec = map[string]int{
	"or":  1,
	"and": 2,
	"eq":  4, "ne": 4, "gt": 4, "ge": 4, "lt": 4, "le": 4, "in": 4,
	"add": 5, "sub": 5,
	"mul": 6, "div": 6, "mod": 6, "divby": 6, // divby: OData 4.01's division that never truncates
	"has": 4, // enumeration flags: the model has no enumerations, so it compiles to a 501
}

const notPrec = 3

// functionArity lists the supported canonical functions with their minimum
// and maximum number of arguments.
var functionArity = map[string][2]int{
	"contains": {2, 2}, "startswith": {2, 2}, "endswith": {2, 2},
	"tolower": {1, 1}, "toupper": {1, 1}, "trim": {1, 1}, "length": {1, 1},
	"indexof": {2, 2}, "substring": {2, 3}, "concat": {2, 2},
	"year": {1, 1}, "month": {1, 1}, "day": {1, 1}, "hour": {1, 1}, "minute": {1, 1}, "second": {1, 1},
	"date": {1, 1}, "now": {0, 0}, "round": {1, 1}, "floor": {1, 1}, "ceiling": {1, 1},
	"isof": {1, 2}, "cast": {1, 2},
}

// unsupportedFunctions are canonical functions of the specification that the
// service knows but does not implement: they answer 501, not 400.
var unsupportedFunctions = map[string]bool{
	"fractionalseconds": true, "totaloffsetminutes": true, "totalseconds": true, "maxdatetime": true,
	"mindatetime": true, "time": true, "matchespattern": true, "hassubset": true, "hassubsequence": true,
	"case": true, "geo.distance": true, "geo.intersects": true, "geo.length": true,
}

type parser struct {
	toks  []token
	i     int
	depth int
	nodes int
	vars  []string // lambda variables in scope
	// aliases are the request's parameter aliases (@p=value); nil inside an
	// alias's own value, which may not use another alias.
	aliases aliases
}

// aliases maps a parameter alias ("@p") to its value, as the query string
// gives them.
type aliases map[string]string

// bailout carries a *syntaxError through panics inside the parser; parse
// recovers it. Any other panic is turned into an error too, so that none ever
// escapes the package.
type bailout struct{ err *syntaxError }

func (p *parser) errorf(pos int, format string, args ...any) {
	panic(bailout{&syntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}})
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// accept consumes the next token if it has the given kind.
func (p *parser) accept(kind tokenKind) bool {
	if p.peek().kind == kind {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(kind tokenKind) token {
	t := p.next()
	if t.kind != kind {
		p.errorf(t.pos, "expected %s, found %s", kind, t)
	}
	return t
}

// expectCommaOrClose continues an argument list; ')' was already tried.
func (p *parser) expectCommaOrClose() {
	if t := p.next(); t.kind != tokComma {
		p.errorf(t.pos, "expected ')', found %s", t)
	}
}

func (p *parser) isWord(word string) bool {
	t := p.peek()
	return t.kind == tokIdent && t.text == word
}

// countNode enforces maxNodes.
func (p *parser) countNode(pos int) {
	p.nodes++
	if p.nodes > maxNodes {
		p.errorf(pos, "expression too complex (more than %d nodes)", maxNodes)
	}
}

// runParser runs fn with the recovery that turns parse failures (and any
// unexpected panic) into an error.
func runParser(src string, al aliases, fn func(p *parser)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if b, ok := r.(bailout); ok {
				err = b.err
				return
			}
			err = &syntaxError{Pos: 0, Msg: fmt.Sprintf("internal parser error: %v", r)}
		}
	}()
	toks, lexErr := lex(src)
	if lexErr != nil {
		return lexErr
	}
	fn(&parser{toks: toks, aliases: al})
	return nil
}

// parseFilter parses a $filter expression without parameter aliases.
func parseFilter(src string) (n node, err error) { return parseFilterWith(src, aliases{}) }

// parseFilterWith parses a $filter expression whose parameter aliases are
// al. An alias is replaced by its parsed value, so the tree (and its printed
// form) holds no aliases; an alias the request does not give is null, as the
// specification says.
func parseFilterWith(src string, al aliases) (n node, err error) {
	if len(src) > maxFilterLength {
		return nil, &syntaxError{Pos: maxFilterLength, Msg: fmt.Sprintf("filter longer than %d bytes", maxFilterLength)}
	}
	err = runParser(src, al, func(p *parser) {
		if p.peek().kind == tokEOF {
			p.errorf(0, "empty expression")
		}
		n = p.expr(1)
		if t := p.peek(); t.kind != tokEOF {
			p.errorf(t.pos, "unexpected %s", t)
		}
		if depth(n) > maxDepth {
			p.errorf(0, "expression nested too deeply (more than %d levels)", maxDepth)
		}
	})
	return n, err
}

// expr parses a binary expression whose operators bind at least as tightly
// as minPrec (precedence climbing).
func (p *parser) expr(minPrec int) node {
	p.enter()
	defer func() { p.depth-- }()
	left := p.unary()
	for {
		t := p.peek()
		if t.kind != tokIdent {
			return left
		}
		prec, ok := binaryPrec[t.text]
		if !ok {
			if t.kind == tokIdent && t.text != "asc" && t.text != "desc" && t.text != "as" {
				p.errorf(t.pos, "unknown operator %s", t)
			}
			return left
		}
		if prec < minPrec {
			return left
		}
		p.next()
		p.countNode(t.pos)
		var right node
		if t.text == "in" {
			right = p.list()
		} else {
			right = p.expr(prec + 1) // left-associative
		}
		left = &binaryExpr{pos: t.pos, op: t.text, left: left, right: right}
	}
}

func (p *parser) unary() node {
	t := p.peek()
	switch {
	case t.kind == tokMinus:
		p.next()
		p.countNode(t.pos)
		x := p.unaryOperand()
		// Fold "-5" into a negative literal so that numbers print back as typed.
		if lit, ok := x.(*literal); ok && (lit.kind == litInt || lit.kind == litDecimal) && !strings.HasPrefix(lit.text, "-") {
			return &literal{pos: t.pos, kind: lit.kind, text: "-" + lit.text}
		}
		return &unaryExpr{pos: t.pos, op: "-", x: x}
	case t.kind == tokIdent && t.text == "not":
		p.next()
		p.countNode(t.pos)
		return &unaryExpr{pos: t.pos, op: "not", x: p.expr(notPrec)}
	}
	return p.primary()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxRecursion {
		p.errorf(p.peek().pos, "expression nested too deeply (more than %d levels)", maxDepth)
	}
}

// unaryOperand guards the depth of "- - - - x" chains.
func (p *parser) unaryOperand() node {
	p.enter()
	defer func() { p.depth-- }()
	return p.unary()
}

func (p *parser) primary() node {
	t := p.next()
	if t.kind == tokLParen { // parentheses are not nodes: they do not count
		n := p.expr(1)
		p.expect(tokRParen)
		return n
	}
	p.countNode(t.pos)
	switch t.kind {
	case tokString:
		return &literal{pos: t.pos, kind: litString, text: strings.ReplaceAll(t.text[1:len(t.text)-1], "''", "'")}
	case tokInt:
		return &literal{pos: t.pos, kind: litInt, text: canonicalNumber(t.text)}
	case tokDecimal:
		return &literal{pos: t.pos, kind: litDecimal, text: canonicalNumber(t.text)}
	case tokDate:
		return &literal{pos: t.pos, kind: litDate, text: t.text}
	case tokDateTime:
		return &literal{pos: t.pos, kind: litDateTime, text: strings.Replace(t.text, " ", "+", 1)}
	case tokGuid:
		return &literal{pos: t.pos, kind: litGuid, text: strings.ToLower(t.text)}
	case tokAlias:
		return p.alias(t)
	case tokIdent:
		switch t.text {
		case "true", "false":
			return &literal{pos: t.pos, kind: litBool, text: t.text}
		case "null":
			return &literal{pos: t.pos, kind: litNull, text: t.text}
		}
		if p.peek().kind == tokLParen {
			return p.call(t)
		}
		return p.path(t)
	}
	p.errorf(t.pos, "expected an operand, found %s", t)
	return nil
}

// canonicalNumber writes a number's type suffix in capitals (20d prints 20D).
func canonicalNumber(text string) string {
	if n := len(text); n > 0 && !isDigit(text[n-1]) {
		return text[:n-1] + strings.ToUpper(text[n-1:])
	}
	return text
}

// alias parses the value of the parameter alias t where it is used.
func (p *parser) alias(t token) node {
	if p.aliases == nil {
		p.errorf(t.pos, "the value of a parameter alias cannot use another alias (%s)", t.text)
	}
	value, ok := p.aliases[t.text]
	if !ok {
		return &literal{pos: t.pos, kind: litNull, text: "null"}
	}
	n, err := parseFilterWith(value, nil)
	if err != nil {
		se, _ := err.(*syntaxError)
		if se == nil {
			se = &syntaxError{Msg: err.Error()}
		}
		p.errorf(t.pos, "in the value of %s: %s (at position %d of it)", t.text, se.Msg, se.Pos)
	}
	p.countNode(t.pos)
	return n
}

func (p *parser) call(name token) node {
	arity, ok := functionArity[name.text]
	if !ok {
		if unsupportedFunctions[strings.ToLower(name.text)] {
			panic(bailout{&syntaxError{Pos: name.pos, Msg: fmt.Sprintf("the function %s is not supported", name.text), unsupported: true}})
		}
		p.errorf(name.pos, "unknown function %q", name.text)
	}
	p.expect(tokLParen)
	var args []node
	if !p.accept(tokRParen) {
		for {
			args = append(args, p.expr(1))
			if p.accept(tokRParen) {
				break
			}
			p.expectCommaOrClose()
		}
	}
	if len(args) < arity[0] || len(args) > arity[1] {
		p.errorf(name.pos, "function %s takes %s, got %d", name.text, arityText(arity), len(args))
	}
	return &callExpr{pos: name.pos, name: name.text, args: args}
}

func arityText(a [2]int) string {
	switch {
	case a[0] == a[1] && a[0] == 1:
		return "1 argument"
	case a[0] == a[1]:
		return fmt.Sprintf("%d arguments", a[0])
	}
	return fmt.Sprintf("%d to %d arguments", a[0], a[1])
}

// path parses Seg/Seg/... and a trailing any(...) or all(...).
func (p *parser) path(first token) node {
	segs := []string{first.text}
	for p.accept(tokSlash) {
		t := p.expect(tokIdent)
		if (t.text == "any" || t.text == "all") && p.peek().kind == tokLParen {
			return p.lambda(first.pos, segs, t)
		}
		segs = append(segs, t.text)
	}
	return &memberExpr{pos: first.pos, segments: segs}
}

func (p *parser) lambda(pos int, path []string, op token) node {
	p.expect(tokLParen)
	n := &lambdaExpr{pos: pos, path: path, op: op.text}
	if p.accept(tokRParen) {
		if op.text == "all" {
			p.errorf(op.pos, "all() needs a lambda expression")
		}
		return n
	}
	if len(p.vars) >= maxLambdaDepth {
		p.errorf(op.pos, "any/all nested deeper than %d levels", maxLambdaDepth)
	}
	v := p.expect(tokIdent)
	for _, existing := range p.vars {
		if existing == v.text {
			p.errorf(v.pos, "lambda variable %q already in use", v.text)
		}
	}
	if _, isOp := binaryPrec[v.text]; isOp || v.text == "not" || v.text == "true" || v.text == "false" || v.text == "null" {
		p.errorf(v.pos, "invalid lambda variable %q", v.text)
	}
	p.expect(tokColon)
	p.vars = append(p.vars, v.text)
	n.variable = v.text
	n.body = p.expr(1)
	p.vars = p.vars[:len(p.vars)-1]
	p.expect(tokRParen)
	return n
}

func (p *parser) list() node {
	open := p.expect(tokLParen)
	l := &listExpr{pos: open.pos}
	for {
		l.items = append(l.items, p.expr(1))
		if p.accept(tokRParen) {
			return l
		}
		p.expectCommaOrClose()
	}
}

// orderItem is one key of $orderby.
type orderItem struct {
	path []string
	desc bool
}

func (o orderItem) String() string {
	s := strings.Join(o.path, "/")
	if o.desc {
		return s + " desc"
	}
	return s
}

// parseOrderBy parses "Name desc, Phase/Code asc".
func parseOrderBy(src string) (items []orderItem, err error) {
	if len(src) > maxFilterLength {
		return nil, &syntaxError{Pos: maxFilterLength, Msg: "$orderby too long"}
	}
	err = runParser(src, nil, func(p *parser) {
		for {
			t := p.expect(tokIdent)
			item := orderItem{path: []string{t.text}}
			for p.accept(tokSlash) {
				item.path = append(item.path, p.expect(tokIdent).text)
			}
			if p.isWord("desc") {
				p.next()
				item.desc = true
			} else if p.isWord("asc") {
				p.next()
			}
			items = append(items, item)
			if len(items) > 16 {
				p.errorf(t.pos, "too many $orderby keys")
			}
			if p.peek().kind == tokEOF {
				return
			}
			p.expect(tokComma)
		}
	})
	return items, err
}

// depth is the height of the syntax tree.
func depth(n node) int {
	d := 0
	switch n := n.(type) {
	case *binaryExpr:
		d = max(depth(n.left), depth(n.right))
	case *unaryExpr:
		d = depth(n.x)
	case *callExpr:
		for _, a := range n.args {
			d = max(d, depth(a))
		}
	case *lambdaExpr:
		if n.body != nil {
			d = depth(n.body)
		}
	case *listExpr:
		for _, a := range n.items {
			d = max(d, depth(a))
		}
	}
	return d + 1
}
