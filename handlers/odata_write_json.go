package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/odata"
)

// The JSON side of the OData writers: one strict mapper from an entity's JSON body onto a Go
// "changes" struct of the models (pointer fields; nil is "not sent"), shared by every writer, so
// that no field is written twice. A changes struct field maps to the API name of the same name;
// a *uuid.UUID field "XID" is the link "X" ({"X":{"ID":"…"}} or "X@odata.bind"); ImportID is
// "ImportId".
//
// Rules, for every set:
//   - The body is one JSON object; a duplicate key, trailing data or a non-object is a 400.
//   - An unknown name is a 400 naming it in target. A wrong JSON type is a 400 naming the field.
//     Numbers are read exactly (strconv.ParseFloat of the literal); strings may not hold NUL.
//   - null clears a nullable value: a string becomes "", a date or a link is unset. A required
//     link (an opportunity's Phase) or a number or boolean cannot be null (400).
//   - Server-owned names (ID, _Type, _Name, Number, WeightedAmount, CreationDate,
//     LastMutationDate and the set's other computed fields) are accepted and ignored, whatever
//     their value, so that clients can PUT back an entity they read (Tribe clients do). Only ID
//     is read: it picks the entity to update on POST, and must equal the URL's key on PATCH/PUT.
//   - Control information ("@odata.etag", "@odata.context", "X@odata.type" …) is ignored;
//     collection navigation properties (deep inserts) are refused with a 400.

// bodySchema is the JSON shape of one writable entity set.
type bodySchema struct {
	set      string
	fields   map[string]bodyField // API name → field of the changes struct
	readOnly map[string]bool      // server-owned: ignored
	refused  map[string]string    // names that cannot be written here → why
}

type bodyField struct {
	index    int
	link     bool
	targets  []string // entity sets an @odata.bind may name
	required bool     // a link that cannot be cleared
}

// schemaSpec declares a bodySchema; see newBodySchema.
type schemaSpec struct {
	set      string
	changes  any                 // a value of the changes struct, e.g. models.OpportunityChanges{}
	exclude  []string            // Go fields that are not API fields (positions, versions …)
	links    map[string][]string // link API name → sets its binds may name
	required []string            // links that cannot be null
	readOnly []string            // server-owned API names besides the standard ones
	refused  map[string]string
}

// standardReadOnly are the server-owned fields of every entity (the seeds' standard fields).
var standardReadOnly = []string{"ID", "_Type", "_Name", "SortIndex", "CreationDate", "LastMutationDate", "IsClosed"}

// newBodySchema builds a schema by reflection over spec.changes: it panics on a programming
// error (a link without targets), at start-up, never per request.
func newBodySchema(spec schemaSpec) *bodySchema {
	s := &bodySchema{set: spec.set, fields: map[string]bodyField{}, readOnly: map[string]bool{}, refused: spec.refused}
	for _, n := range standardReadOnly {
		s.readOnly[n] = true
	}
	for _, n := range spec.readOnly {
		s.readOnly[n] = true
	}
	t := reflect.TypeOf(spec.changes)
	uuidPtr := reflect.TypeOf((*uuid.UUID)(nil))
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer || containsString(spec.exclude, f.Name) {
			continue
		}
		name, bf := f.Name, bodyField{index: i}
		switch {
		case f.Name == "ImportID":
			name = "ImportId"
		case f.Type == uuidPtr && strings.HasSuffix(f.Name, "ID"):
			name = strings.TrimSuffix(f.Name, "ID")
			bf.link = true
			bf.targets = spec.links[name]
			bf.required = containsString(spec.required, name)
			if len(bf.targets) == 0 {
				panic("odata writer " + spec.set + ": link " + name + " has no target sets")
			}
		}
		if s.readOnly[name] {
			continue // computed even though the domain has a field for it
		}
		s.fields[name] = bf
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decodedBody is what a body said beside the changes: the ID it named, if any, and which API
// names it set.
type decodedBody struct {
	id   *uuid.UUID
	sent map[string]bool
}

func fieldError(field, format string, args ...any) *odata.Error {
	return &odata.Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...), Target: field}
}

// decode reads body into dst (a pointer to the schema's changes struct).
func (s *bodySchema) decode(body []byte, dst any) (*decodedBody, error) {
	obj, err := readObject(body)
	if err != nil {
		return nil, err
	}
	out := &decodedBody{sent: map[string]bool{}}
	v := reflect.ValueOf(dst).Elem()
	for _, kv := range obj {
		name, raw := kv.key, kv.raw
		if name == "ID" {
			id, err := decodeGUID("ID", raw)
			if err != nil {
				return nil, err
			}
			out.id = id
			continue
		}
		if strings.HasPrefix(name, "@") {
			continue // control information of the entity (@odata.etag, @odata.context …)
		}
		bind := false
		if i := strings.IndexByte(name, '@'); i > 0 {
			if name[i:] != "@odata.bind" {
				continue // an annotation of a property
			}
			name, bind = name[:i], true
		}
		if why, ok := s.refused[name]; ok {
			return nil, fieldError(name, "%s", why)
		}
		f, ok := s.fields[name]
		if !ok {
			if s.readOnly[name] && !bind {
				continue
			}
			return nil, fieldError(name, "%s has no writable property %s.", s.set, name)
		}
		if bind && !f.link {
			return nil, fieldError(name, "%s is not a navigation property; @odata.bind does not apply.", name)
		}
		if out.sent[name] {
			return nil, fieldError(name, "%s is given twice.", name)
		}
		out.sent[name] = true
		if err := decodeField(name, f, raw, bind, v.Field(f.index)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type member struct {
	key string
	raw json.RawMessage
}

// readObject splits a JSON object into its members, in order, refusing duplicates, trailing
// data and anything but an object.
func readObject(body []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	notObject := fieldError("", "The request body must be one JSON object.")
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fieldError("", "The request body is not valid JSON.")
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fieldError(key, "%s is given twice.", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fieldError(key, "The value of %s is not valid JSON.", key)
		}
		out = append(out, member{key, raw})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fieldError("", "The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fieldError("", "The request body must be one JSON object, without anything after it.")
	}
	return out, nil
}

var (
	dateType = reflect.TypeOf(models.Date{})
	uuidType = reflect.TypeOf(uuid.UUID{})
)

// decodeField sets dst (a nil pointer field) from raw.
func decodeField(name string, f bodyField, raw json.RawMessage, bind bool, dst reflect.Value) error {
	isNull := string(raw) == "null"
	elem := dst.Type().Elem()
	val := reflect.New(elem)
	switch {
	case f.link:
		if isNull {
			if f.required {
				return fieldError(name, "%s is required; it cannot be cleared.", name)
			}
			break // uuid.Nil clears the link
		}
		var id uuid.UUID
		var err error
		if bind {
			id, err = decodeBind(name, f.targets, raw)
		} else {
			id, err = decodeLinkObject(name, raw)
		}
		if err != nil {
			return err
		}
		val.Elem().Set(reflect.ValueOf(id))
	case elem == dateType:
		if !isNull {
			var s string
			if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
				return fieldError(name, "%s must be a date (YYYY-MM-DD) or null.", name)
			}
			d, err := models.ParseDate(s)
			if err != nil {
				return fieldError(name, "%s must be a date (YYYY-MM-DD) or null.", name)
			}
			val.Elem().Set(reflect.ValueOf(d))
		}
	case elem.Kind() == reflect.String:
		if !isNull {
			var s string
			if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
				return fieldError(name, "%s must be a string.", name)
			}
			if strings.ContainsRune(s, 0) {
				return fieldError(name, "%s may not contain NUL characters.", name)
			}
			val.Elem().SetString(s)
		}
	case elem.Kind() == reflect.Float64:
		if isNull || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return fieldError(name, "%s must be a number.", name)
		}
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return fieldError(name, "%s is out of range.", name)
		}
		val.Elem().SetFloat(x)
	case elem.Kind() == reflect.Bool:
		switch string(raw) {
		case "true":
			val.Elem().SetBool(true)
		case "false":
		default:
			return fieldError(name, "%s must be true or false.", name)
		}
	default:
		panic("odata writer: unsupported field type " + elem.String())
	}
	dst.Set(val)
	return nil
}

func decodeGUID(name string, raw json.RawMessage) (*uuid.UUID, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, fieldError(name, "%s must be a GUID string.", name)
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return nil, fieldError(name, "%s must be a GUID such as 453ee597-6208-4b54-b511-da18fd31569d.", name)
	}
	return &id, nil
}

// decodeLinkObject reads the seeds' {"ID":"<guid>"} form. Other members (an entity read with
// $expand and sent back) are ignored: only the key links.
func decodeLinkObject(name string, raw json.RawMessage) (uuid.UUID, error) {
	bad := fieldError(name, `%s must be an object with the linked entity's ID, e.g. {"ID":"453ee597-6208-4b54-b511-da18fd31569d"}, or null.`, name)
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return uuid.Nil, bad
	}
	idRaw, ok := obj["ID"]
	if !ok {
		return uuid.Nil, bad
	}
	id, err := decodeGUID(name, idRaw)
	if err != nil || id == nil {
		return uuid.Nil, bad
	}
	return *id, nil
}

// decodeBind reads "X@odata.bind": "Set(<guid>)", relative or absolute URL ending in it
// ("…/v1/odata/Set(<guid>)"), with the key bare or quoted. Set must be one of targets.
func decodeBind(name string, targets []string, raw json.RawMessage) (uuid.UUID, error) {
	bad := fieldError(name, "%s@odata.bind must be an entity URL such as %s(453ee597-6208-4b54-b511-da18fd31569d).", name, targets[0])
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return uuid.Nil, bad
	}
	if u, err := url.Parse(s); err == nil && u.Path != "" {
		s = u.Path
	}
	s = s[strings.LastIndexByte(s, '/')+1:]
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return uuid.Nil, bad
	}
	set, key := s[:open], s[open+1:len(s)-1]
	if !containsString(targets, set) {
		return uuid.Nil, fieldError(name, "%s links to %s, not to %s.", name, strings.Join(targets, " or "), set)
	}
	key = strings.TrimPrefix(key, "ID=")
	key = strings.Trim(strings.TrimPrefix(key, "guid"), "'")
	id, err := uuid.Parse(key)
	if err != nil || len(key) != 36 {
		return uuid.Nil, bad
	}
	return id, nil
}
