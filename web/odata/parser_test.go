package odata

import (
	"strings"
	"testing"
)

func TestParseFilterPrints(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Name eq 'x'", "(Name eq 'x')"},
		{"Name eq 'it''s'", "(Name eq 'it''s')"},
		{"a eq 1 or b eq 2 and c eq 3", "((a eq 1) or ((b eq 2) and (c eq 3)))"},
		{"not a eq 1 and b", "((not (a eq 1)) and b)"},
		{"not (a eq 1 or b eq 2)", "(not ((a eq 1) or (b eq 2)))"},
		{"a add b mul c sub d", "((a add (b mul c)) sub d)"},
		{"a div b mod c", "((a div b) mod c)"},
		{"-a eq -5", "((-a) eq -5)"},
		{"- -5 eq 5", "((--5) eq 5)"},
		{"Amount gt 1.5e3", "(Amount gt 1.5e3)"},
		{"Amount gt -0.25", "(Amount gt -0.25)"},
		{"IsClosed eq true", "(IsClosed eq true)"},
		{"Phase eq null", "(Phase eq null)"},
		{"ExpectedOrderDate lt 2024-01-01", "(ExpectedOrderDate lt 2024-01-01)"},
		{"CreationDate gt 2024-01-01T00:00:00+01:00", "(CreationDate gt 2024-01-01T00:00:00+01:00)"},
		{"CreationDate gt 2024-01-01T10:20:30.123456Z", "(CreationDate gt 2024-01-01T10:20:30.123456Z)"},
		{"CreationDate gt 2024-01-01T10:20Z", "(CreationDate gt 2024-01-01T10:20Z)"},
		{"CreationDate gt 2024-01-01T10:20:00 01:00", "(CreationDate gt 2024-01-01T10:20:00+01:00)"},
		{"ID eq 453EE597-6208-4b54-b511-da18fd31569d", "(ID eq 453ee597-6208-4b54-b511-da18fd31569d)"},
		{"ID eq guid'453ee597-6208-4b54-b511-da18fd31569d'", "(ID eq 453ee597-6208-4b54-b511-da18fd31569d)"},
		{"ID eq 12345678-1234-1234-1234-123456789012", "(ID eq 12345678-1234-1234-1234-123456789012)"},
		{"contains(Subject, 'abc')", "contains(Subject,'abc')"},
		{"substring(Name, 1, 2) eq 'x'", "(substring(Name,1,2) eq 'x')"},
		{"year(now()) ge 2024", "(year(now()) ge 2024)"},
		{"Phase/Code eq 'WON'", "(Phase/Code eq 'WON')"},
		{"Phase/Pipeline/Name eq 'x'", "(Phase/Pipeline/Name eq 'x')"},
		{"ProductLines/any(p: p/Amount gt 100)", "ProductLines/any(p:(p/Amount gt 100))"},
		{"ProductLines/any()", "ProductLines/any()"},
		{"Lines/all(l: l/Items/any(i: i/Qty gt 1 and l/X eq 2))", "Lines/all(l:l/Items/any(i:((i/Qty gt 1) and (l/X eq 2))))"},
		{"Code in ('A', 'B')", "(Code in ('A','B'))"},
		{"Number eq '2026-00001'", "(Number eq '2026-00001')"},
		{"  Name   eq\t'x'  ", "(Name eq 'x')"},
		{"(((a)))", "a"},
		{"ProductLines/$count gt 1", "(ProductLines/$count gt 1)"},
		{"isof(Datastore.Phase.ActivityInvoice)", "isof(Datastore.Phase.ActivityInvoice)"},
		{"cast(Amount, Edm.Int64) eq 5L", "(cast(Amount,Edm.Int64) eq 5L)"},
		{"Amount gt @missing", "(Amount gt null)"},
	}
	for _, tt := range tests {
		n, err := parseFilter(tt.in)
		if err != nil {
			t.Errorf("parseFilter(%q): %v", tt.in, err)
			continue
		}
		if got := n.String(); got != tt.want {
			t.Errorf("parseFilter(%q) = %s, want %s", tt.in, got, tt.want)
		}
		again, err := parseFilter(n.String())
		if err != nil || again.String() != n.String() {
			t.Errorf("round trip of %q: %v, %v", tt.in, again, err)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "position 0: empty expression"},
		{"Name eq", "position 7: expected an operand"},
		{"contains(Subject, 'x'", "position 21: expected ')'"},
		{"Name eq 'x", "position 8: unterminated string"},
		{"Name eq 'x' xor b", "position 12: unknown operator \"xor\""},
		{"Name eq 'x')", "position 11: unexpected \")\""},
		{"foo(1)", "position 0: unknown function \"foo\""},
		{"contains(Name)", "function contains takes 2 arguments, got 1"},
		{"Date eq 2024-1-01", "position 8: malformed date"},
		{"T eq 2024-01-01T10:00", "needs a time zone"},
		{"Amount gt 1e", "malformed number"},
		{"Amount gt 12abc", "malformed number"},
		{"Name eq #", "position 8: unexpected character '#'"},
		{"X/all()", "all() needs a lambda expression"},
		{"A/any(a: a/B/any(b: b/C/any(c: c/D/any(d: true))))", "position 35: any/all nested deeper than 3 levels"},
		{"X/any(p: X/any(p: true))", "lambda variable \"p\" already in use"},
		{"Code in 'A'", "expected '('"},
		{"ID eq guid'123'", "malformed guid"},
		{strings.Repeat("(", 300) + "a" + strings.Repeat(")", 300), "nested too deeply"},
		{strings.Repeat("-", 150) + "a", "nested too deeply"},
		{strings.Repeat("not ", 101) + "a", "nested too deeply"},
		{strings.Repeat("a eq 1 or ", 150) + "a eq 1", "too complex"},
		{strings.Repeat("x", maxFilterLength+1), "longer than"},
	}
	for _, tt := range tests {
		_, err := parseFilter(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFilter(%.40q) error = %v, want %q", tt.in, err, tt.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "syntax error at position ") {
			t.Errorf("parseFilter(%.40q) error %q does not name the position", tt.in, err)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	items, err := parseOrderBy("Name desc, Phase/Code asc,ID")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.String())
	}
	if strings.Join(got, ",") != "Name desc,Phase/Code,ID" {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"", "Name up", "Name,", "Name desc desc", "1"} {
		if _, err := parseOrderBy(bad); err == nil {
			t.Errorf("parseOrderBy(%q): no error", bad)
		}
	}
}

func TestParseExpand(t *testing.T) {
	items, err := parseExpand("Phase($select=ID,Name),Relationship($select=Name;$expand=Contact($select=ID)),ProductLines($filter=Amount gt 1;$orderby=Amount desc;$top=2;$skip=1;$count=true)", 1, aliases{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].nav != "Phase" || strings.Join(items[0].opts.selects, ",") != "ID,Name" {
		t.Fatalf("items[0] = %+v", items[0])
	}
	rel := items[1]
	if rel.nav != "Relationship" || len(rel.opts.expand) != 1 || rel.opts.expand[0].nav != "Contact" || rel.opts.expand[0].opts.selects[0] != "ID" {
		t.Errorf("nested expand wrong: %+v", rel.opts)
	}
	pl := items[2].opts
	if pl.filter.String() != "(Amount gt 1)" || pl.top != 2 || pl.skip != 1 || !pl.count || !pl.orderBy[0].desc {
		t.Errorf("ProductLines options wrong: %+v", pl)
	}
	for _, bad := range []string{"A($expand=B($expand=C($expand=D)))", "A(", "A($select=)", "A($foo=1)", "A(x)", "1A", "A($skiptoken=x)"} {
		if _, err := parseExpand(bad, 1, aliases{}); err == nil {
			t.Errorf("parseExpand(%q): no error", bad)
		}
	}
}

// FuzzParseFilter checks the parsers alone (no database): never a panic or an internal error,
// and printing is a fixed point. Its seeds also run through FuzzServeFilter and FuzzServeApply
// on both databases.
func FuzzParseFilter(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The same input as a $search.
		if n, err := parseSearch(s); err != nil {
			if strings.Contains(err.Error(), "internal") {
				t.Fatalf("internal error for $search %q: %v", s, err)
			}
		} else if again, err := parseSearch(n.String()); err != nil || again.String() != n.String() {
			t.Fatalf("$search not a fixed point: %q -> %q -> %v %v", s, n, again, err)
		}
		// The same input as a $apply: never a panic, and printing is a fixed point.
		if a, err := parseApply(s); err != nil {
			if strings.Contains(err.Error(), "internal") {
				t.Fatalf("internal error for $apply %q: %v", s, err)
			}
		} else {
			printed := a.String()
			again, err := parseApply(printed)
			if err != nil {
				t.Fatalf("printed form %q of $apply %q does not parse: %v", printed, s, err)
			}
			if again.String() != printed {
				t.Fatalf("$apply not a fixed point: %q -> %q -> %q", s, printed, again.String())
			}
		}
		n, err := parseFilter(s)
		if err != nil {
			if strings.Contains(err.Error(), "internal") {
				t.Fatalf("internal error for %q: %v", s, err)
			}
			return
		}
		printed := n.String()
		again, err := parseFilter(printed)
		if err != nil {
			t.Fatalf("printed form %q of %q does not parse: %v", printed, s, err)
		}
		if again.String() != printed {
			t.Fatalf("not a fixed point: %q -> %q -> %q", s, printed, again.String())
		}
	})
}

func TestNumberSuffixes(t *testing.T) {
	for in, want := range map[string]string{
		"Amount gt 20D": "(Amount gt 20D)", "Amount gt 20d": "(Amount gt 20D)", "Quantity eq 5L": "(Quantity eq 5L)",
		"Quantity eq 5l": "(Quantity eq 5L)", "Amount eq 1.5M": "(Amount eq 1.5M)", "Amount eq 1.5m": "(Amount eq 1.5M)",
		"Probability gt 2F": "(Probability gt 2F)", "Amount gt -1.5e3d": "(Amount gt -1.5e3D)", "Amount gt 1e10F": "(Amount gt 1e10F)",
	} {
		n, err := parseFilter(in)
		if err != nil || n.String() != want {
			t.Errorf("parseFilter(%q) = %v, %v; want %s", in, n, err, want)
		}
	}
	for _, bad := range []string{"Amount gt 1.5L", "Amount gt 20DD", "Amount gt 20Dx", "Amount gt 20X"} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("parseFilter(%q): no error", bad)
		}
	}
}

func TestParameterAliases(t *testing.T) {
	al := aliases{"@p": "100", "@s": "'it''s'", "@e": "Amount add 1", "@bad": "(", "@nested": "@p"}
	for in, want := range map[string]string{
		"Amount gt @p":                   "(Amount gt 100)",
		"Subject eq @s or Name eq @s":    "((Subject eq 'it''s') or (Name eq 'it''s'))",
		"@e mul 2 gt @p":                 "(((Amount add 1) mul 2) gt 100)",
		"Amount eq @unknown":             "(Amount eq null)",
		"contains(Subject,@s)":           "contains(Subject,'it''s')",
		"ProductLines/any(p: p/A gt @p)": "ProductLines/any(p:(p/A gt 100))",
	} {
		n, err := parseFilterWith(in, al)
		if err != nil || n.String() != want {
			t.Errorf("parseFilterWith(%q) = %v, %v; want %s", in, n, err, want)
		}
	}
	for in, want := range map[string]string{"Amount gt @bad": "in the value of @bad", "Amount gt @nested": "cannot use another alias"} {
		if _, err := parseFilterWith(in, al); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseFilterWith(%q): %v, want %q", in, err, want)
		}
	}
}
