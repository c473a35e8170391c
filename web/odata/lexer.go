package odata

import (
	"fmt"
	"strings"
)

// tokenKind tells what a token is. Keywords such as "eq" or "and" are
// identifiers to the lexer; the parser gives them meaning by position, so a
// property may be called "Number" or even "in".
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString   // 'it''s' (text holds the raw literal including quotes)
	tokInt      // 42
	tokDecimal  // 4.2, 1e10
	tokDate     // 2024-01-01
	tokDateTime // 2024-01-01T10:00:00Z
	tokGuid     // 01234567-89ab-cdef-0123-456789abcdef
	tokLParen
	tokRParen
	tokComma
	tokSlash
	tokColon
	tokMinus
	tokAlias // @p, a parameter alias
)

var tokenNames = map[tokenKind]string{
	tokEOF: "end of input", tokIdent: "identifier", tokString: "string", tokInt: "integer",
	tokDecimal: "decimal", tokDate: "date", tokDateTime: "date-time", tokGuid: "guid",
	tokLParen: "'('", tokRParen: "')'", tokComma: "','", tokSlash: "'/'", tokColon: "':'", tokMinus: "'-'", tokAlias: "parameter alias",
}

func (k tokenKind) String() string { return tokenNames[k] }

type token struct {
	kind tokenKind
	pos  int // byte offset in the input
	text string
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of input"
	}
	return fmt.Sprintf("%q", t.text)
}

// lex splits src into tokens. It is synchronous and returns all tokens at
// once: filters are short (bounded by maxFilterLength) and the parser then
// gets cheap unlimited look-ahead.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
			i++
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tokEOF, pos: i})
			return toks, nil
		}
		start := i
		c := src[i]
		if k, ok := punctuation[c]; ok {
			toks = append(toks, token{kind: k, pos: i, text: src[i : i+1]})
			i++
			continue
		}
		if n := guidLen(src[i:]); n > 0 {
			toks = append(toks, token{kind: tokGuid, pos: i, text: src[i : i+n]})
			i += n
			continue
		}
		switch {
		case c == '\'':
			n, err := stringLen(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, pos: i, text: src[i : i+n]})
			i += n
		case isDigit(c):
			kind, n, err := numberOrDate(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: kind, pos: i, text: src[i : i+n]})
			i += n
		case c == '@' && i+1 < len(src) && isIdentStart(src[i+1]):
			i++
			for i < len(src) && isIdentByte(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tokAlias, pos: start, text: src[start:i]})
		case isIdentStart(c) || c == '$':
			i++
			for i < len(src) && (isIdentByte(src[i]) || src[i] == '.' && i+1 < len(src) && isIdentStart(src[i+1])) {
				i++ // a dot inside a word joins a qualified name: Datastore.Phase.ActivityInvoice, Edm.String
			}
			word := src[start:i]
			// Legacy typed literals: guid'...'.
			if word == "guid" && i < len(src) && src[i] == '\'' {
				n := guidLen(src[i+1:])
				if n != 36 || i+1+n >= len(src) || src[i+1+n] != '\'' {
					return nil, &syntaxError{Pos: start, Msg: "malformed guid literal"}
				}
				toks = append(toks, token{kind: tokGuid, pos: start, text: src[i+1 : i+1+n]})
				i += n + 2
				continue
			}
			toks = append(toks, token{kind: tokIdent, pos: start, text: word})
		default:
			return nil, &syntaxError{Pos: i, Msg: fmt.Sprintf("unexpected character %q", rune(c))}
		}
	}
}

var punctuation = map[byte]tokenKind{'(': tokLParen, ')': tokRParen, ',': tokComma, '/': tokSlash, ':': tokColon, '-': tokMinus}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHex(c byte) bool        { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// guidLen returns 36 when s starts with a GUID not followed by an identifier
// character, else 0.
func guidLen(s string) int {
	if len(s) < 36 {
		return 0
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return 0
			}
		} else if !isHex(s[i]) {
			return 0
		}
	}
	if len(s) > 36 && isIdentByte(s[36]) {
		return 0
	}
	return 36
}

// stringLen returns the length of the quoted string starting at src[i],
// where a doubled quote is an escaped quote.
func stringLen(src string, i int) (int, error) {
	j := i + 1
	for {
		k := strings.IndexByte(src[j:], '\'')
		if k < 0 {
			return 0, &syntaxError{Pos: i, Msg: "unterminated string literal"}
		}
		j += k + 1
		if j < len(src) && src[j] == '\'' {
			j++
			continue
		}
		return j - i, nil
	}
}

// numberOrDate scans an integer, decimal, date or date-time literal.
func numberOrDate(src string, i int) (tokenKind, int, error) {
	start := i
	digits := func() int {
		n := 0
		for i < len(src) && isDigit(src[i]) {
			i++
			n++
		}
		return n
	}
	n := digits()
	if n == 4 && i < len(src) && src[i] == '-' {
		// Date: YYYY-MM-DD, optionally followed by a time.
		if !fixedDigits(src, i+1, 2) || i+3 >= len(src) || src[i+3] != '-' || !fixedDigits(src, i+4, 2) {
			return 0, 0, &syntaxError{Pos: start, Msg: "malformed date literal"}
		}
		i += 6
		if i >= len(src) || src[i] != 'T' {
			if i < len(src) && isIdentByte(src[i]) {
				return 0, 0, &syntaxError{Pos: start, Msg: "malformed date literal"}
			}
			return tokDate, i - start, nil
		}
		i++ // 'T'
		if !fixedDigits(src, i, 2) || i+2 >= len(src) || src[i+2] != ':' || !fixedDigits(src, i+3, 2) {
			return 0, 0, &syntaxError{Pos: start, Msg: "malformed date-time literal"}
		}
		i += 5
		if i < len(src) && src[i] == ':' {
			if !fixedDigits(src, i+1, 2) {
				return 0, 0, &syntaxError{Pos: start, Msg: "malformed date-time literal"}
			}
			i += 3
			if i < len(src) && src[i] == '.' {
				i++
				if digits() == 0 {
					return 0, 0, &syntaxError{Pos: start, Msg: "malformed date-time literal"}
				}
			}
		}
		switch {
		case i < len(src) && src[i] == 'Z':
			i++
		// A space stands for "+": an unencoded "+" in a URL query decodes to
		// a space, and clients often forget to encode it.
		case i < len(src) && (src[i] == '+' || src[i] == '-' || src[i] == ' ') && fixedDigits(src, i+1, 2) && i+3 < len(src) && src[i+3] == ':' && fixedDigits(src, i+4, 2):
			i += 6
		default:
			return 0, 0, &syntaxError{Pos: start, Msg: "date-time literal needs a time zone (Z or +hh:mm)"}
		}
		if i < len(src) && isIdentByte(src[i]) {
			return 0, 0, &syntaxError{Pos: start, Msg: "malformed date-time literal"}
		}
		return tokDateTime, i - start, nil
	}
	kind := tokInt
	if i < len(src) && src[i] == '.' {
		i++
		if digits() == 0 {
			return 0, 0, &syntaxError{Pos: start, Msg: "malformed number"}
		}
		kind = tokDecimal
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, 0, &syntaxError{Pos: start, Msg: "malformed number"}
		}
		kind = tokDecimal
	}
	// Type suffixes, as SDKs send them for every Double, Single, Decimal and
	// Int64 value (20D, 2F, 1.5M, 5L; either case).
	if i < len(src) && strings.IndexByte("dDfFmMlL", src[i]) >= 0 && (i+1 == len(src) || !isIdentByte(src[i+1])) {
		switch src[i] {
		case 'l', 'L':
			if kind != tokInt {
				return 0, 0, &syntaxError{Pos: start, Msg: "the suffix L needs an integer"}
			}
		default:
			kind = tokDecimal
		}
		i++
	}
	if i < len(src) && isIdentByte(src[i]) {
		return 0, 0, &syntaxError{Pos: start, Msg: "malformed number"}
	}
	return kind, i - start, nil
}

// numberSuffixes are the type suffixes a numeric literal may carry.
const numberSuffixes = "DFML"

// withoutSuffix is a numeric literal's text without its type suffix.
func withoutSuffix(text string) string { return strings.TrimRight(text, numberSuffixes) }

func fixedDigits(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}
