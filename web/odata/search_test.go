package odata

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestParseSearchPrints(t *testing.T) {
	for in, want := range map[string]string{
		"website":                     "website",
		"a b":                         "(a AND b)",
		"a AND b":                     "(a AND b)",
		"a OR b c":                    "(a OR (b AND c))",
		"a b OR c":                    "((a AND b) OR c)",
		"NOT a b":                     "((NOT a) AND b)",
		"NOT (a OR b)":                "(NOT (a OR b))",
		`"web site" relaunch`:         `("web site" AND relaunch)`,
		`"AND"`:                       `"AND"`,
		`"say \"hi\""`:                `"say \"hi\""`,
		"2026-00001":                  "2026-00001",
		"a  (b OR c)  NOT d":          "((a AND (b OR c)) AND (NOT d))",
		"50% ünïcödé":                 "(50% AND ünïcödé)",
		"and or":                      "(and AND or)", // keywords are upper case only
		"NOT NOT a":                   "(NOT (NOT a))",
		`"a\\b"`:                      `"a\\b"`,
		"((a))":                       "a",
		"a OR b OR c":                 "((a OR b) OR c)",
		"x AND y AND z":               "((x AND y) AND z)",
		`"one two" OR "three" four`:   `("one two" OR ("three" AND four))`,
		"NOT \"phrase with NOT\" x":   `((NOT "phrase with NOT") AND x)`,
		"café-au-lait O'Brien":        "(café-au-lait AND O'Brien)",
		"tab\tseparated\nterms":       "((tab AND separated) AND terms)",
		"(a OR b) AND (c OR NOT d)":   "((a OR b) AND (c OR (NOT d)))",
		"a OR (b AND NOT (c OR d)) e": "(a OR ((b AND (NOT (c OR d))) AND e))",
	} {
		n, err := parseSearch(in)
		if err != nil {
			t.Errorf("parseSearch(%q): %v", in, err)
			continue
		}
		if got := n.String(); got != want {
			t.Errorf("parseSearch(%q) = %s, want %s", in, got, want)
		}
		again, err := parseSearch(n.String())
		if err != nil || again.String() != n.String() {
			t.Errorf("round trip of %q: %v, %v", in, again, err)
		}
	}
	for in, want := range map[string]string{
		"": "empty $search", "   ": "empty $search", "a AND": "expected a search term", "OR a": "expected a search term",
		"(a": "expected ')'", "a)": `unexpected ")"`, `"open`: "unterminated phrase", `""`: "empty phrase", "NOT": "expected a search term",
		strings.Repeat("a ", 40): "more than 32 search terms", strings.Repeat("x", maxSearchLength+1): "longer than",
		strings.Repeat("(", 150) + "a" + strings.Repeat(")", 150): "nested too deeply", strings.Repeat("NOT ", 150) + "a": "nested too deeply",
	} {
		if _, err := parseSearch(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSearch(%.40q) error = %v, want %q", in, err, want)
		}
	}
}

// TestSearchSemantics: terms match in any searchable property (Subject, Number, Phase/Name),
// the operators combine them per entity, a NULL never hides a row from NOT, and LIKE wildcards
// match literally; the same on both databases, counts included.
func TestSearchSemantics(t *testing.T) {
	tests := []struct{ search, numbers string }{
		{"website", "2026-00001,2026-00004"},
		{"WEBSITE relaunch", "2026-00001"},
		{"website AND hosting", "2026-00004"},
		{"relaunch OR hosting", "2026-00001,2026-00004"},
		{"NOT website", "2026-00002,2026-00003"},
		{"website NOT relaunch", "2026-00004"},
		{`"website relaunch"`, "2026-00001"},
		{`"relaunch website"`, ""},
		{"qualification", "2026-00001"},                  // through Phase/Name
		{"won deal", "2026-00002"},                       // "won" in the phase name, "deal" in the subject
		{"NOT lost", "2026-00001,2026-00002,2026-00003"}, // 2026-00003 has no phase: NULL contains nothing
		{"50%", "2026-00002"},
		{"%", "2026-00002"},
		{"_", ""},
		{"2026-00003", "2026-00003"},
		{"it's", "2026-00003"},
		{"(website OR complicated) NOT hosting", "2026-00001,2026-00003"},
		{"NOT (website OR deal OR complicated)", ""},
	}
	for _, s := range bothDatabases(t, Options{}) {
		for _, tt := range tests {
			res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$select=Number&$orderby=Number&$count=true&$search="+url.QueryEscape(tt.search))
			if res.status != 200 {
				t.Errorf("%s $search=%s: %d %s", s.dialect.Name(), tt.search, res.status, res.body)
				continue
			}
			var got []string
			for _, part := range strings.Split(res.body, `"Number":"`)[1:] {
				got = append(got, part[:10])
			}
			n := len(got)
			if strings.Join(got, ",") != tt.numbers || !strings.Contains(res.body, `"@odata.count":`+itoa(n)+",") {
				t.Errorf("%s $search=%s: %s, want %s", s.dialect.Name(), tt.search, res.body, tt.numbers)
			}
			if c := do(s, "GET", "/v1/odata/Activity_SalesOpportunity/$count?$search="+url.QueryEscape(tt.search)); c.body != itoa(n) {
				t.Errorf("%s $count with $search=%s: %s, want %d", s.dialect.Name(), tt.search, c.body, n)
			}
		}
		// With $filter, inside $apply and in an expanded collection's set (not searchable: 501).
		if res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$select=Number&$search=website&$filter=IsClosed eq true"); !strings.Contains(res.body, `"value":[{"Number":"2026-00004"}]`) {
			t.Errorf("%s $search with $filter: %s", s.dialect.Name(), res.body)
		}
		if res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$apply=aggregate($count as N)&$search=website"); !strings.Contains(res.body, `"value":[{"N":2}]`) {
			t.Errorf("%s $search with $apply: %s", s.dialect.Name(), res.body)
		}
		if res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$expand=ProductLines($search=x)"); res.status != 501 {
			t.Errorf("%s $search in an expanded set without searchable properties: %d %s", s.dialect.Name(), res.status, res.body)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSearchPathsAreChecked(t *testing.T) {
	for path, want := range map[string]string{"Amount": "does not end in a string property", "ProductLines/Description": "not a to-one navigation", "Nope": "does not end"} {
		m := testModel()
		m.Sets[4].Search = []string{path}
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Search %q: %v, want %q", path, err, want)
		}
	}
}
