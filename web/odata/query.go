package odata

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxExpandDepth bounds $expand nesting ($expand=A($expand=B($expand=C))).
const maxExpandDepth = 3

// queryOptions are the parsed system query options of one request or of one
// nested $expand item. Names are not yet resolved against the model.
type queryOptions struct {
	filter    node
	filterSrc string
	search    searchNode
	compute   []computeItem
	apply     *applyExpr // top level only
	orderBy   []orderItem
	selects   []string // nil means all properties
	expand    []*expandItem
	top       int // -1 when absent
	skip      int
	count     bool
	skipToken string
	format    string
	out       *output // top level only: how the JSON answer is written
	aliases   aliases // the request's parameter aliases, shared by nested options
	levels    int     // $levels inside $expand: how deep to repeat the navigation (0: once)
	id        string  // $id of /$entity
}

type expandItem struct {
	nav  string
	opts *queryOptions
}

func newQueryOptions() *queryOptions { return &queryOptions{top: -1, aliases: aliases{}} }

// systemOptions are the system query options of OData 4.01, supported or not
// (those the service does not support answer 501 in set).
var systemOptions = map[string]bool{
	"$filter": true, "$select": true, "$expand": true, "$orderby": true, "$top": true, "$skip": true, "$count": true,
	"$search": true, "$apply": true, "$compute": true, "$format": true, "$skiptoken": true, "$levels": true,
	"$id": true, "$index": true, "$schemaversion": true, "$deltatoken": true,
}

// optionName is the system query option a query parameter names, or "" for
// a custom option (access_token, ...). As OData 4.01 allows, names are
// case-insensitive and the "$" may be left out: "filter", "$FILTER" and
// "$filter" are one option, so a filter is never silently ignored. Other
// names starting with "$" are unknown system options.
func optionName(name string) string {
	lname := strings.ToLower(name)
	if systemOptions[lname] || systemOptions["$"+lname] {
		return "$" + strings.TrimPrefix(lname, "$")
	}
	if strings.HasPrefix(lname, "$") {
		return lname
	}
	return ""
}

// parseQuery reads the system query options of a request. Custom options
// are ignored; an option given twice (in any spelling) is a 400.
func parseQuery(values url.Values) (*queryOptions, error) {
	q := newQueryOptions()
	for name, vals := range values {
		if strings.HasPrefix(name, "@") {
			if !identRE.MatchString(name[1:]) {
				return nil, badRequest(name, "invalid parameter alias name %q", name)
			}
			if len(vals) > 1 {
				return nil, badRequest(name, "parameter alias %s given more than once", name)
			}
			q.aliases[name] = vals[0]
		}
	}
	seen := map[string]string{}
	for name, vals := range values {
		option := optionName(name)
		if option == "" {
			continue
		}
		if other, dup := seen[option]; dup || len(vals) > 1 {
			if !dup {
				other = name
			}
			return nil, badRequest(option, "query option %s given more than once (as %s and %s)", option, other, name)
		}
		seen[option] = name
		if err := q.set(option, vals[0], 0, true); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// set applies one option. topLevel tells whether request-only options
// ($skiptoken, $format) are allowed.
func (q *queryOptions) set(name, value string, depth int, topLevel bool) error {
	wrap := func(err error) error {
		if se, ok := err.(*syntaxError); ok {
			if se.unsupported {
				e := notImplemented("%s: %s", name, se.Error())
				e.Target = name
				return e
			}
			return badRequest(name, "invalid %s: %s", name, se.Error())
		}
		return err
	}
	switch name {
	case "$filter":
		n, err := parseFilterWith(value, q.aliases)
		if err != nil {
			return wrap(err)
		}
		q.filter, q.filterSrc = n, value
	case "$orderby":
		items, err := parseOrderBy(value)
		if err != nil {
			return wrap(err)
		}
		q.orderBy = items
	case "$select":
		sel, err := parseSelect(value)
		if err != nil {
			return wrap(err)
		}
		q.selects = sel
	case "$expand":
		items, err := parseExpand(value, depth+1, q.aliases)
		if err != nil {
			return wrap(err)
		}
		q.expand = items
	case "$top", "$skip":
		if v, ok := q.aliases[strings.TrimSpace(value)]; ok {
			value = v // $top=@n&@n=10
		}
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || n < 0 || n > math.MaxInt32 {
			return badRequest(name, "%s must be a non-negative integer below 2^31", name)
		}
		if name == "$top" {
			q.top = n
		} else {
			q.skip = n
		}
	case "$count":
		switch value {
		case "true":
			q.count = true
		case "false":
			q.count = false
		default:
			return badRequest(name, "$count must be true or false")
		}
	case "$skiptoken":
		if !topLevel {
			return badRequest(name, "$skiptoken is not allowed inside $expand")
		}
		q.skipToken = value
	case "$format":
		if !topLevel {
			return badRequest(name, "$format is not allowed inside $expand")
		}
		q.format = value
	case "$apply":
		if !topLevel {
			return notImplemented("$apply is not supported inside $expand")
		}
		a, err := parseApplyWith(value, q.aliases)
		if err != nil {
			return wrap(err)
		}
		q.apply = a
	case "$search":
		n, err := parseSearch(value)
		if err != nil {
			return wrap(err)
		}
		q.search = n
	case "$compute":
		items, err := parseCompute(value, q.aliases)
		if err != nil {
			return wrap(err)
		}
		q.compute = items
	case "$levels":
		if topLevel {
			return notImplemented("$levels is only supported inside $expand (Nav($levels=2))")
		}
		if strings.TrimSpace(value) == "max" {
			q.levels = maxExpandDepth
			break
		}
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || n < 1 {
			return badRequest(name, "$levels must be a positive integer or max")
		}
		q.levels = min(n, maxExpandDepth)
	case "$id":
		if !topLevel {
			return badRequest(name, "$id is not allowed inside $expand")
		}
		q.id = value
	case "$index", "$schemaversion", "$deltatoken":
		return notImplemented("the query option %s is not supported", name)
	default:
		return badRequest(name, "unknown query option %s", name)
	}
	return nil
}

// rawQuery parses a query string splitting at "&" only: OData uses ";"
// inside $expand, which url.ParseQuery treats as an error and drops.
//
// A raw "+" is ambiguous: form-encoding clients (Java's URLEncoder,
// Python's urlencode, Go's url.Values) send a space as "+" and a plus as
// "%2B"; clients that encode like a browser or encodeURIComponent send a
// space as "%20" and may leave a plus raw ('A+B', +01:00). So a parameter
// that writes any space as "%20" is taken to be of the second kind, where
// "+" is a plus; any other reads "+" as a space. A plus is always safe as
// "%2B". (A raw "+" in a date-time offset works either way: the lexer reads
// a space there as "+".)
func rawQuery(raw string) (url.Values, error) {
	vals := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		unescape := url.QueryUnescape
		if strings.Contains(pair, "%20") {
			unescape = url.PathUnescape // "+" stays a plus
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := unescape(k)
		val, err2 := unescape(v)
		if err1 != nil || err2 != nil {
			return nil, badRequest("", "malformed query string near %q", pair)
		}
		if pos, problem := textProblem(key); problem != "" {
			return nil, badRequest("", "a query option name has %s at byte %d (after percent-decoding)", problem, pos)
		}
		if pos, problem := textProblem(val); problem != "" {
			return nil, badRequest(key, "%s: the value has %s at byte %d (after percent-decoding)", key, problem, pos)
		}
		vals[key] = append(vals[key], val)
	}
	return vals, nil
}

// textProblem says where s is not text the service takes: invalid UTF-8 or a
// NUL byte, which PostgreSQL refuses in a text parameter (a 500 if it got
// that far) and SQLite would store. Refusing both up front gives one answer,
// a 400 naming the position, on every database. pos is -1 when s is fine.
func textProblem(s string) (pos int, problem string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return i, "invalid UTF-8"
		case r == 0:
			return i, "a NUL byte"
		}
		i += n
	}
	return -1, ""
}

// parseSelect parses "ID,Name". "*" selects everything.
func parseSelect(src string) ([]string, error) {
	var out []string
	pos := 0
	for _, part := range strings.Split(src, ",") {
		name := strings.TrimSpace(part)
		if name == "*" {
			return nil, nil
		}
		if !identRE.MatchString(name) {
			return nil, &syntaxError{Pos: pos, Msg: fmt.Sprintf("invalid property %q in $select", name)}
		}
		out = append(out, name)
		pos += len(part) + 1
	}
	return out, nil
}

// parseExpand parses "Phase($select=ID,Name),Relationship($select=Name;$expand=Contact)".
func parseExpand(src string, depth int, al aliases) ([]*expandItem, error) {
	if depth > maxExpandDepth {
		return nil, &syntaxError{Pos: 0, Msg: fmt.Sprintf("$expand nested deeper than %d levels", maxExpandDepth)}
	}
	if len(src) > maxFilterLength {
		return nil, &syntaxError{Pos: maxFilterLength, Msg: "$expand too long"}
	}
	var items []*expandItem
	for _, part := range splitTopLevel(src, ',') {
		text := part.text
		lead := len(text) - len(strings.TrimLeft(text, " "))
		text = strings.TrimSpace(text)
		start := part.pos + lead
		name, rest := text, ""
		if i := strings.IndexByte(text, '('); i >= 0 {
			name, rest = text[:i], text[i:]
			if !strings.HasSuffix(rest, ")") {
				return nil, &syntaxError{Pos: start + len(text), Msg: "expected ')'"}
			}
			rest = rest[1 : len(rest)-1]
		}
		switch {
		case name == "*/$ref" || strings.HasSuffix(name, "/$ref"):
			return nil, notImplemented("$expand with $ref is not supported: expand the entities")
		case name != "*" && !identRE.MatchString(name):
			return nil, &syntaxError{Pos: start, Msg: fmt.Sprintf("invalid navigation property %q in $expand", name)}
		}
		item := &expandItem{nav: name, opts: newQueryOptions()}
		item.opts.aliases = al
		if rest != "" {
			for _, opt := range splitTopLevel(rest, ';') {
				o := strings.TrimSpace(opt.text)
				eq := strings.IndexByte(o, '=')
				if eq < 0 {
					return nil, &syntaxError{Pos: start + len(name) + 1 + opt.pos, Msg: "expected $option=value"}
				}
				optName := optionName(strings.TrimSpace(o[:eq]))
				if optName == "" {
					return nil, &syntaxError{Pos: start + len(name) + 1 + opt.pos, Msg: fmt.Sprintf("unknown option %q in $expand", strings.TrimSpace(o[:eq]))}
				}
				if err := item.opts.set(optName, o[eq+1:], depth, false); err != nil {
					return nil, err
				}
			}
		}
		items = append(items, item)
	}
	return items, nil
}

type piece struct {
	pos  int
	text string
}

// splitTopLevel splits s at sep outside parentheses and string literals.
func splitTopLevel(s string, sep byte) []piece {
	var out []piece
	depth, start := 0, 0
	inString := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inString = !inString
		case inString:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, piece{start, s[start:i]})
			start = i + 1
		}
	}
	return append(out, piece{start, s[start:]})
}
