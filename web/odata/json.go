package odata

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// normalize converts a value scanned from either driver into the canonical
// Go value for its EDM type: string (Guid lowercase, Date "YYYY-MM-DD",
// DateTimeOffset RFC 3339 in UTC), float64, int64, bool or nil. Drivers
// differ (SQLite returns text or time.Time for dates, PostgreSQL time.Time;
// uuid comes as string, []byte or [16]byte), so the EDM type decides.
func normalize(t EdmType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok && t != EdmGuid {
		v = string(b)
	}
	switch t {
	case EdmString:
		switch x := v.(type) {
		case string:
			return x, nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
		return fmt.Sprint(v), nil
	case EdmGuid:
		switch x := v.(type) {
		case string:
			return strings.ToLower(x), nil
		case [16]byte:
			return uuid.UUID(x).String(), nil
		case []byte:
			if len(x) == 16 {
				return uuid.UUID(x).String(), nil
			}
			return strings.ToLower(string(x)), nil
		case fmt.Stringer:
			return strings.ToLower(x.String()), nil
		}
	case EdmDouble:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case EdmInt32, EdmInt64:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case float64:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case EdmBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case EdmDate:
		switch x := v.(type) {
		case time.Time:
			// A date has no zone: keep the calendar day the driver read.
			return x.Format(time.DateOnly), nil
		case string:
			if len(x) >= 10 {
				if _, err := time.Parse(time.DateOnly, x[:10]); err == nil {
					return x[:10], nil
				}
			}
		}
	case EdmDateTimeOffset:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case string:
			if tm, err := parseTimestamp(x); err == nil {
				return tm.UTC().Format(time.RFC3339Nano), nil
			}
		}
	}
	return nil, fmt.Errorf("odata: cannot read %T %v as %s", v, v, t)
}

// toPrecision cuts a normalized DateTimeOffset to the microsecond, the
// Precision $metadata declares: PostgreSQL keeps microseconds (the driver
// cuts what it sends), SQLite the nanoseconds Go wrote: both read alike.
func toPrecision(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return v
	}
	return t.Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

var timestampLayouts = []string{
	sqliteTimeLayout,
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	time.DateOnly,
}

func parseTimestamp(s string) (time.Time, error) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("odata: unreadable timestamp %q", s)
}

// appendJSONValue appends a normalized value as JSON.
func appendJSONValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return append(b, `"NaN"`...)
		case math.IsInf(x, 1):
			return append(b, `"INF"`...)
		case math.IsInf(x, -1):
			return append(b, `"-INF"`...)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return appendJSONString(b, x)
	}
	out, _ := json.Marshal(v)
	return append(b, out...)
}

// appendJSONString appends s as a JSON string, byte for byte as encoding/json writes it (HTML
// characters, U+2028 and U+2029 escaped; invalid UTF-8 as U+FFFD), without json.Marshal's
// reflection and allocation: every name and string value of every response passes here.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// entity is one row read for the response, with its expanded neighbours.
type entity struct {
	values   []any // normalized, aligned with plan.props
	key      string
	etag     string // W/"…" when the set declares an ETag
	typeName string // the row's _Type, when the plan reads it (full metadata)
	fks      []any  // per N:1 expand: the target key or nil
	order    []any  // normalized $orderby values, for $skiptoken
	expanded []any  // per expand: *entity (or nil) for N:1, []*entity for 1:N
	counts   []int64
}

// appendValue appends a property value of type t in the negotiated format:
// with IEEE754Compatible=true an Edm.Int64 is a string.
func (o *output) appendValue(b []byte, t EdmType, v any) []byte {
	if i, ok := v.(int64); ok && o.ieee754 && t == EdmInt64 {
		return strconv.AppendQuote(b, strconv.FormatInt(i, 10))
	}
	return appendJSONValue(b, v)
}

// typeAnnotated are the types whose values JSON cannot tell apart from a
// string or a number: full metadata annotates them ("Prop@odata.type").
var typeAnnotated = map[EdmType]bool{EdmGuid: true, EdmDate: true, EdmDateTimeOffset: true, EdmInt64: true}

// appendEntity writes e as a JSON object: the selected properties in model
// order, then the expanded navigation properties. head, when not empty, is
// written first (the "@odata.context" of a single entity response). Full
// metadata adds @odata.type, @odata.id, @odata.editLink, the types JSON
// cannot carry and a navigation link per navigation property; none drops
// the ETag.
func (o *output) appendEntity(b []byte, head string, p *plan, e *entity) []byte {
	b = append(b, '{')
	b = append(b, head...)
	first := head == ""
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	full := o.metadata == metadataFull
	if e.etag != "" && o.metadata != metadataNone {
		sep()
		b = append(b, `"@odata.etag":`...)
		b = appendJSONString(b, e.etag)
	}
	idPath := p.set.name + "(" + e.key + ")"
	if full {
		sep()
		b = append(b, `"@odata.type":`...)
		b = appendJSONString(b, "#"+p.entityType(e).decl.Name)
		b = append(b, `,"@odata.id":`...)
		b = appendJSONString(b, o.root+"/"+idPath)
		b = append(b, `,"@odata.editLink":`...)
		b = appendJSONString(b, idPath)
	}
	for i, prop := range p.columns() {
		sep()
		if full && typeAnnotated[prop.Type] && e.values[i] != nil {
			b = appendJSONString(b, prop.Name+"@odata.type")
			b = append(b, ':')
			b = appendJSONString(b, "#"+strings.TrimPrefix(string(prop.Type), "Edm."))
			b = append(b, ',')
		}
		b = appendJSONString(b, prop.Name)
		b = append(b, ':')
		b = o.appendValue(b, prop.Type, e.values[i])
	}
	if full {
		for _, nav := range p.linkedNavs() {
			sep()
			b = appendJSONString(b, nav.Name+"@odata.navigationLink")
			b = append(b, ':')
			b = appendJSONString(b, idPath+"/"+nav.Name)
		}
	}
	for i, ex := range p.expands {
		if ex.count {
			sep()
			b = appendJSONString(b, ex.nav.Name+"@odata.count")
			b = append(b, ':')
			b = o.appendCount(b, e.counts[i])
		}
		sep()
		b = appendJSONString(b, ex.nav.Name)
		b = append(b, ':')
		switch x := e.expanded[i].(type) {
		case *entity:
			if x == nil {
				b = append(b, "null"...)
			} else {
				b = o.appendEntity(b, "", ex.plan, x)
			}
		case []*entity:
			b = append(b, '[')
			for j, child := range x {
				if j > 0 {
					b = append(b, ',')
				}
				b = o.appendEntity(b, "", ex.plan, child)
			}
			b = append(b, ']')
		default:
			if ex.nav.Many {
				b = append(b, "[]"...)
			} else {
				b = append(b, "null"...)
			}
		}
	}
	return append(b, '}')
}
