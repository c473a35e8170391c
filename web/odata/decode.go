package odata

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The body decoder of writes, derived from the model: the entity type of the set says which
// members a body may carry, their EDM types and whether they may be null; each writable
// member's Bind says where its value goes. There is no second description of the writable
// fields anywhere.
//
// Rules, for every set:
//   - The body is one JSON object; a duplicate key, trailing data or a non-object is a 400.
//   - A name the type does not have is a 400 naming it in target (and, when another type has
//     it, which one). A read-only member is a 400 naming it. A wrong JSON type is a 400.
//     Numbers are read exactly (strconv of the literal); strings are valid UTF-8 without NUL.
//   - null clears a member: a nullable value or link is unset, a string becomes "". A
//     non-nullable number, boolean or a required link cannot be null (400).
//   - Computed members (ID, _Type, Number …) are accepted and ignored whatever their value, so
//     that clients can send back an entity they read (Tribe clients PUT it back). Only ID is
//     read: Body.Key.
//   - Control information ("@odata.etag", "@odata.context", "X@odata.type" …) is ignored. A link
//     is {"Name":{"ID":"<guid>"}} (the seeds' form; other members of the object, as in an
//     expanded entity sent back, are ignored) or "Name@odata.bind":"Set(<guid>)", relative or
//     absolute, naming the link's target set or another set of its type hierarchy. Collection
//     navigation properties are refused, except those declared DeepInsert: an array of new
//     entities of the target set, each decoded by these rules (errors name "Nav[i]/Member").

// Body is what a decoded request body said beside the changes.
type Body struct {
	Key  *string         // the entity's ID when the body names one (lowercase GUID)
	Sent map[string]bool // the names of the members it set
}

// decodeBody decodes body, a JSON object, into dst (from the set's Writer's NewChanges) through
// the Binds of the set's type.
func (s *Service) decodeBody(set *entitySet, body []byte, dst any) (*Body, error) {
	members, err := readObject(body)
	if err != nil {
		return nil, err
	}
	t := set.typ
	out := &Body{Sent: map[string]bool{}}
	for _, m := range members {
		name, raw := m.key, m.raw
		if strings.HasPrefix(name, "@") {
			continue // control information of the entity
		}
		bind := false
		if i := strings.IndexByte(name, '@'); i > 0 {
			if name[i:] != "@odata.bind" {
				continue // an annotation of a member
			}
			name, bind = name[:i], true
		}
		if name == set.key.Name && !bind {
			key, err := decodeKey(name, raw)
			if err != nil {
				return nil, err
			}
			out.Key = key
			continue
		}
		if out.Sent[name] {
			return nil, badRequest(name, "%s is given twice.", name)
		}
		if p := t.prop(name); p != nil && !bind {
			if err := decodeProperty(set, p, raw, dst); err != nil {
				return nil, err
			}
			if p.Access == Writable || p.Access == Immutable {
				out.Sent[name] = true
			}
			continue
		}
		if n := t.nav(name); n != nil {
			if err := s.decodeLink(set, n, raw, bind, dst); err != nil {
				return nil, err
			}
			out.Sent[name] = true
			continue
		}
		return nil, s.unknownMember(set, name)
	}
	return out, nil
}

// unknownMember is the 400 for a name the set's type lacks, saying which type has it if one does
// (Probability sent to an invoice is a sales opportunity's field).
func (s *Service) unknownMember(set *entitySet, name string) error {
	for _, t := range s.schema.typeOrder {
		if t.prop(name) != nil || t.nav(name) != nil {
			if t.root() == set.typ.root() && t != set.typ {
				return badRequest(name, "%s is a property of %s, not of %s (the entities of %s).", name, t.decl.Name, set.typ.decl.Name, set.name)
			}
		}
	}
	return badRequest(name, "%s has no property %s.", set.name, name)
}

func decodeProperty(set *entitySet, p *Property, raw json.RawMessage, dst any) error {
	switch p.Access {
	case Computed:
		return nil
	case ReadOnly:
		return badRequest(p.Name, "%s of %s cannot be written.", p.Name, set.name)
	}
	target := p.Bind(dst)
	if vs, ok := target.(ValueSetter); ok {
		return setValue(p.Name, p.Type, p.Nullable, raw, vs)
	}
	if string(raw) == "null" {
		if p.Type == EdmString {
			return assign(p.Name, target, "")
		}
		if !p.Nullable {
			return badRequest(p.Name, "%s cannot be null.", p.Name)
		}
		return assignZero(p.Name, target)
	}
	v, err := decodeValue(p.Name, p.Type, raw)
	if err != nil {
		return err
	}
	return assign(p.Name, target, v)
}

// decodeValue reads a JSON value of an EDM type into its canonical Go value: string (Guid
// lowercase, Date "YYYY-MM-DD", DateTimeOffset RFC 3339), float64, int64 or bool.
func decodeValue(name string, t EdmType, raw json.RawMessage) (any, error) {
	str := func(what string) (string, error) {
		var v string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
			return "", badRequest(name, "%s must be %s.", name, what)
		}
		// readObject checked the body is UTF-8; a \u0000 escape can still hide a NUL.
		if strings.ContainsRune(v, 0) {
			return "", badRequest(name, "%s may not contain NUL characters.", name)
		}
		return v, nil
	}
	switch t {
	case EdmString:
		return str("a string")
	case EdmGuid:
		v, err := str("a GUID string")
		if err != nil {
			return nil, err
		}
		id, perr := uuid.Parse(v)
		if perr != nil || len(v) != 36 {
			return nil, badRequest(name, "%s must be a GUID such as 453ee597-6208-4b54-b511-da18fd31569d.", name)
		}
		return id.String(), nil
	case EdmDate:
		v, err := str("a date (YYYY-MM-DD)")
		if err != nil {
			return nil, err
		}
		if _, perr := time.Parse("2006-01-02", v); perr != nil {
			return nil, badRequest(name, "%s must be a date (YYYY-MM-DD).", name)
		}
		return v, nil
	case EdmDateTimeOffset:
		v, err := str("a date and time (RFC 3339)")
		if err != nil {
			return nil, err
		}
		ts, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			return nil, badRequest(name, "%s must be a date and time such as 2026-03-01T09:00:00Z.", name)
		}
		return ts.UTC().Format(time.RFC3339Nano), nil
	case EdmBoolean:
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, badRequest(name, "%s must be true or false.", name)
	case EdmDouble:
		if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return nil, badRequest(name, "%s must be a number.", name)
		}
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return nil, badRequest(name, "%s is out of range.", name)
		}
		return x, nil
	case EdmInt32, EdmInt64:
		x, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || t == EdmInt32 && (x < -1<<31 || x > 1<<31-1) {
			return nil, badRequest(name, "%s must be a whole number in range.", name)
		}
		return x, nil
	}
	return nil, fmt.Errorf("odata: %s: no decoder for %s", name, t)
}

// assign stores the canonical value v in target (see Bind).
func assign(name string, target, v any) error {
	switch p := target.(type) {
	case **string:
		s := v.(string)
		*p = &s
		return nil
	case **float64:
		switch x := v.(type) {
		case float64:
			*p = &x
		case int64:
			f := float64(x)
			*p = &f
		}
		return nil
	case **int64:
		x, ok := v.(int64)
		if !ok {
			return badRequest(name, "%s must be a whole number.", name)
		}
		*p = &x
		return nil
	case **int:
		x, ok := v.(int64)
		if !ok {
			return badRequest(name, "%s must be a whole number.", name)
		}
		i := int(x)
		*p = &i
		return nil
	case **bool:
		b := v.(bool)
		*p = &b
		return nil
	case **uuid.UUID:
		id, err := uuid.Parse(v.(string))
		if err != nil {
			return badRequest(name, "%s must be a GUID.", name)
		}
		*p = &id
		return nil
	}
	// **T where *T unmarshals text (dates).
	rv := reflect.ValueOf(target)
	if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
		elem := reflect.New(rv.Elem().Type().Elem())
		if u, ok := elem.Interface().(encoding.TextUnmarshaler); ok {
			if err := u.UnmarshalText([]byte(fmt.Sprint(v))); err != nil {
				return badRequest(name, "%s: %s", name, strings.TrimSuffix(err.Error(), "."))
			}
			rv.Elem().Set(elem)
			return nil
		}
	}
	panic(fmt.Sprintf("odata: Bind of %s returned %T, which the decoder cannot set", name, target))
}

// assignZero sets target to a pointer to its type's zero value: "clear" to the writers.
func assignZero(name string, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Pointer {
		panic(fmt.Sprintf("odata: Bind of %s returned %T, not a pointer to a pointer", name, target))
	}
	rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
	return nil
}

func (s *Service) decodeLink(set *entitySet, n *navProp, raw json.RawMessage, bind bool, dst any) error {
	if n.Many && n.Bind != nil && !bind {
		return s.decodeDeepInsert(n, raw, dst)
	}
	if n.Many {
		return badRequest(n.Name, "%s cannot be written in the body of %s: write those entities through their own set.", n.Name, set.name)
	}
	switch n.Access {
	case Computed:
		return nil
	case ReadOnly:
		return badRequest(n.Name, "The link %s of %s cannot be written.", n.Name, set.name)
	}
	target := n.Bind(dst)
	if string(raw) == "null" {
		if n.Required {
			return badRequest(n.Name, "%s is required; it cannot be cleared.", n.Name)
		}
		if vs, ok := target.(ValueSetter); ok {
			vs.SetODataValue(nil)
			return nil
		}
		return assignZero(n.Name, target)
	}
	var key string
	var err error
	if bind {
		key, err = s.decodeBind(n, raw)
	} else {
		key, err = decodeLinkObject(n.Name, raw)
	}
	if err != nil {
		return err
	}
	if vs, ok := target.(ValueSetter); ok {
		vs.SetODataValue(key)
		return nil
	}
	return assign(n.Name, target, key)
}

// ValueSetter is a Bind target that takes the decoded value itself rather than a pointer
// field: for members whose null must stay apart from a zero value (custom fields, where 0 and
// false are values and null clears). It receives the canonical value (see decodeValue; a
// link's target key as a GUID string), or nil for null.
type ValueSetter interface {
	SetODataValue(v any)
}

// setValue decodes raw for a ValueSetter: null (when the property may be null) or a value of
// the property's type.
func setValue(name string, t EdmType, nullable bool, raw json.RawMessage, vs ValueSetter) error {
	if string(raw) == "null" {
		if !nullable {
			return badRequest(name, "%s cannot be null.", name)
		}
		vs.SetODataValue(nil)
		return nil
	}
	v, err := decodeValue(name, t, raw)
	if err != nil {
		return err
	}
	vs.SetODataValue(v)
	return nil
}

// decodeKey reads the body's ID (null: none).
func decodeKey(name string, raw json.RawMessage) (*string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	v, err := decodeValue(name, EdmGuid, raw)
	if err != nil {
		return nil, err
	}
	k := v.(string)
	return &k, nil
}

// decodeLinkObject reads the seeds' {"ID":"<guid>"} form.
func decodeLinkObject(name string, raw json.RawMessage) (string, error) {
	bad := badRequest(name, `%s must be an object with the linked entity's ID, e.g. {"ID":"453ee597-6208-4b54-b511-da18fd31569d"}, or null.`, name)
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return "", bad
	}
	idRaw, ok := obj["ID"]
	if !ok {
		return "", bad
	}
	key, err := decodeKey(name, idRaw)
	if err != nil || key == nil {
		return "", bad
	}
	return *key, nil
}

// decodeBind reads "Name@odata.bind": "Set(<guid>)", relative or absolute URL ending in it,
// with the key bare, quoted or as ID=…. Set must be the link's target or a set of its type
// hierarchy (a phase link accepts Datastore_Phase(…) as well as the subtype's set).
func (s *Service) decodeBind(n *navProp, raw json.RawMessage) (string, error) {
	bad := badRequest(n.Name, "%s@odata.bind must be an entity URL such as %s(453ee597-6208-4b54-b511-da18fd31569d).", n.Name, n.target.name)
	var ref string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &ref) != nil {
		return "", bad
	}
	if u, err := url.Parse(ref); err == nil && u.Path != "" {
		ref = u.Path
	}
	ref = ref[strings.LastIndexByte(ref, '/')+1:]
	open := strings.IndexByte(ref, '(')
	if open < 0 || !strings.HasSuffix(ref, ")") {
		return "", bad
	}
	name, key := ref[:open], ref[open+1:len(ref)-1]
	set := s.schema.sets[name]
	if set == nil || !related(set.typ, n.target.typ) {
		return "", badRequest(n.Name, "%s links to %s, not to %s.", n.Name, n.target.name, name)
	}
	key = strings.TrimPrefix(key, "ID=")
	key = strings.Trim(strings.TrimPrefix(key, "guid"), "'")
	id, err := uuid.Parse(key)
	if err != nil || len(key) != 36 {
		return "", bad
	}
	return id.String(), nil
}

// related reports whether a is b or one derives from the other.
func related(a, b *entityType) bool {
	for t := a; t != nil; t = t.base {
		if t == b {
			return true
		}
	}
	for t := b; t != nil; t = t.base {
		if t == a {
			return true
		}
	}
	return false
}

type bodyMember struct {
	key string
	raw json.RawMessage
}

// readObject splits a JSON object into its members, in order, refusing duplicates, trailing
// data, invalid UTF-8 and anything but an object.
func readObject(body []byte) ([]bodyMember, error) {
	if !utf8.Valid(body) {
		return nil, badRequest("", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	notObject := badRequest("", "The request body must be one JSON object.")
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	var out []bodyMember
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badRequest("", "The request body is not valid JSON.")
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, badRequest(key, "%s is given twice.", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, badRequest(key, "The value of %s is not valid JSON.", key)
		}
		out = append(out, bodyMember{key, raw})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, badRequest("", "The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("", "The request body must be one JSON object, without anything after it.")
	}
	return out, nil
}

// maxDeepInsert bounds the entities one deep insert creates (as a $batch its requests).
const maxDeepInsert = 100

// decodeDeepInsert decodes the array of new entities of a DeepInsert navigation property into
// the slice its Bind points to.
func (s *Service) decodeDeepInsert(n *navProp, raw json.RawMessage, dst any) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return badRequest(n.Name, "%s must be an array of new %s entities.", n.Name, n.target.name)
	}
	if len(elems) > maxDeepInsert {
		return badRequest(n.Name, "%s holds %d entities; at most %d are created with one request.", n.Name, len(elems), maxDeepInsert)
	}
	slice := reflect.ValueOf(n.Bind(dst))
	if slice.Kind() != reflect.Pointer || slice.Elem().Kind() != reflect.Slice {
		panic(fmt.Sprintf("odata: Bind of %s returned %T, not a pointer to a slice", n.Name, n.Bind(dst)))
	}
	// The link back to the entity being created is the target's N:1 over the same column.
	var back string
	for _, tn := range n.target.typ.navs {
		if !tn.Many && tn.FK == n.FK {
			back = tn.Name
		}
	}
	out := reflect.MakeSlice(slice.Elem().Type(), 0, len(elems))
	for i, elem := range elems {
		v := reflect.New(slice.Elem().Type().Elem())
		body, err := s.decodeBody(n.target, elem, v.Interface())
		where := fmt.Sprintf("%s[%d]", n.Name, i)
		if err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				oe.Target = strings.TrimSuffix(where+"/"+oe.Target, "/")
			}
			return err
		}
		switch {
		case body.Key != nil:
			return badRequest(where+"/"+n.target.key.Name, "%s creates new entities; leave %s out.", n.Name, n.target.key.Name)
		case back != "" && body.Sent[back]:
			return badRequest(where+"/"+back, "%s belongs to the entity being created; leave %s out.", n.Name, back)
		}
		out = reflect.Append(out, v.Elem())
	}
	slice.Elem().Set(out)
	return nil
}
