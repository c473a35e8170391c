package odata

import (
	"strings"
)

// node is a $filter expression. Every node knows its byte position in the
// input and prints itself back in a canonical, fully parenthesised form, so
// that parse(print(parse(s))) == parse(s): golden tests and fuzzing rely on it.
type node interface {
	Pos() int
	String() string
}

type binaryExpr struct {
	pos         int
	op          string // or and eq ne gt ge lt le in add sub mul div mod
	left, right node
}

type unaryExpr struct {
	pos int
	op  string // "not" or "-"
	x   node
}

type literalKind int

const (
	litNull literalKind = iota
	litBool
	litString
	litInt
	litDecimal
	litDate
	litDateTime
	litGuid
)

type literal struct {
	pos  int
	kind literalKind
	text string // canonical source text; for strings, the unescaped value
}

// memberExpr is a property path such as Subject, Phase/Code or p/Amount
// (where p is a lambda variable).
type memberExpr struct {
	pos      int
	segments []string
}

type callExpr struct {
	pos  int
	name string
	args []node
}

// lambdaExpr is Path/any(v: body) or Path/all(v: body); any() has no
// variable and no body.
type lambdaExpr struct {
	pos      int
	path     []string
	op       string // any or all
	variable string
	body     node
}

// listExpr is the right-hand side of "in".
type listExpr struct {
	pos   int
	items []node
}

func (n *binaryExpr) Pos() int { return n.pos }
func (n *unaryExpr) Pos() int  { return n.pos }
func (n *literal) Pos() int    { return n.pos }
func (n *memberExpr) Pos() int { return n.pos }
func (n *callExpr) Pos() int   { return n.pos }
func (n *lambdaExpr) Pos() int { return n.pos }
func (n *listExpr) Pos() int   { return n.pos }

func (n *binaryExpr) String() string {
	return "(" + n.left.String() + " " + n.op + " " + n.right.String() + ")"
}

func (n *unaryExpr) String() string {
	if n.op == "not" {
		return "(not " + n.x.String() + ")"
	}
	return "(-" + n.x.String() + ")"
}

func (n *literal) String() string {
	if n.kind == litString {
		return "'" + strings.ReplaceAll(n.text, "'", "''") + "'"
	}
	return n.text
}

func (n *memberExpr) String() string { return strings.Join(n.segments, "/") }

func (n *callExpr) String() string {
	parts := make([]string, len(n.args))
	for i, a := range n.args {
		parts[i] = a.String()
	}
	return n.name + "(" + strings.Join(parts, ",") + ")"
}

func (n *lambdaExpr) String() string {
	s := strings.Join(n.path, "/") + "/" + n.op + "("
	if n.body != nil {
		s += n.variable + ":" + n.body.String()
	}
	return s + ")"
}

func (n *listExpr) String() string {
	parts := make([]string, len(n.items))
	for i, a := range n.items {
		parts[i] = a.String()
	}
	return "(" + strings.Join(parts, ",") + ")"
}
