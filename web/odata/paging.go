package odata

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// skipToken is the keyset position after the last row of a page: that row's
// $orderby values and key, plus a digest of the options that shaped the
// order, so a token is not replayed against a different query. Paging by
// position (WHERE (order, key) > token) stays fast at any depth, unlike
// OFFSET.
type skipToken struct {
	Values []any  `json:"v"`
	Shape  string `json:"s"`
}

func encodeSkipToken(values []any, shape string) string {
	raw, _ := json.Marshal(skipToken{Values: values, Shape: shape})
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeSkipToken(s, shape string) (*skipToken, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, badRequest("$skiptoken", "invalid $skiptoken")
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var t skipToken
	if err := dec.Decode(&t); err != nil || t.Shape != shape {
		return nil, badRequest("$skiptoken", "invalid $skiptoken")
	}
	return &t, nil
}

// keysetCondition renders "the row comes after the token" for the ordering
// order (whose last key is the unique entity key), consistent with
// orderTerm's NULL placement: (o1 after v1) OR (o1 = v1 AND o2 after v2) ...
func keysetCondition(b *sqlBuilder, order []orderExpr, t *skipToken) (string, error) {
	if len(t.Values) != len(order) {
		return "", badRequest("$skiptoken", "invalid $skiptoken")
	}
	bound := make([]string, len(order))
	for i, o := range order {
		if t.Values[i] == nil {
			continue
		}
		v, ok := tokenValue(o.typ, t.Values[i])
		if !ok {
			return "", badRequest("$skiptoken", "invalid $skiptoken")
		}
		bound[i] = b.bind(o.typ, v)
	}
	var ors []string
	for i, o := range order {
		var after string
		switch {
		case bound[i] == "" && !o.desc: // NULLs come first: after NULL is any value
			after = o.sql + " IS NOT NULL"
		case bound[i] == "": // NULLs come last: nothing is strictly after NULL
			continue
		case !o.desc:
			after = o.sql + " > " + bound[i]
		default:
			after = "(" + o.sql + " < " + bound[i] + " OR " + o.sql + " IS NULL)"
		}
		terms := []string{}
		for j := 0; j < i; j++ {
			if bound[j] == "" {
				terms = append(terms, order[j].sql+" IS NULL")
			} else {
				terms = append(terms, order[j].sql+" = "+bound[j])
			}
		}
		terms = append(terms, after)
		ors = append(ors, "("+strings.Join(terms, " AND ")+")")
	}
	if len(ors) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", nil
}

// tokenValue turns a JSON-decoded token value back into the Go value the
// dialect binds for type t.
func tokenValue(t EdmType, v any) (any, bool) {
	switch t {
	case EdmString:
		s, ok := v.(string)
		if pos, _ := textProblem(s); pos >= 0 {
			return nil, false
		}
		return s, ok
	case EdmGuid:
		s, ok := v.(string)
		return s, ok && len(s) == 36 && guidLen(s) == 36
	case EdmBoolean:
		b, ok := v.(bool)
		return b, ok
	case EdmDouble:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		f, err := n.Float64()
		return f, err == nil
	case EdmInt32, EdmInt64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		i, err := n.Int64()
		return i, err == nil
	case EdmDate:
		s, _ := v.(string)
		d, err := time.Parse(time.DateOnly, s)
		return d, err == nil && inDateRange(d)
	case EdmDateTimeOffset:
		s, _ := v.(string)
		d, err := time.Parse(time.RFC3339Nano, s)
		return d, err == nil && inDateRange(d)
	}
	return nil, false
}
