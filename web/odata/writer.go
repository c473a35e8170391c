package odata

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Writer handles writes to one entity set; set EntitySet.Writer to enable
// POST, PATCH, PUT and DELETE there (without one they answer 405). The
// service parses the URL, reads the body (bounded by maxBodySize) and
// decodes it through the model into a fresh changes value (NewChanges, then
// the Binds of the set's writable members: see decode.go); the Writer
// validates and stores. Return an *Error to choose the status and message
// (e.g. 400 for invalid fields, 404 for an unknown key, 412 from
// PreconditionFailed when If-Match does not match).
//
// The answers follow Prefer: return=minimal (204, with Preference-Applied)
// or return=representation (the entity read back). Without a preference,
// POST answers 201 with the entity and PATCH/PUT 204. On sets with an ETag,
// every successful write answers with the entity's new ETag header.
type Writer interface {
	// NewChanges returns the empty value a body is decoded into.
	NewChanges() any
	// Create stores a new entity and returns its key. As Tribe's POST does,
	// it may instead update an existing entity (one the body names by key,
	// or by a client import key seen before): created false then answers 200
	// (or 204 with Prefer: return=minimal) instead of 201.
	Create(r *http.Request, changes any, body *Body) (key string, created bool, err error)
	// Update changes the entity with key: the members the body sent, for
	// PATCH and PUT alike (Tribe clients send partial bodies with PUT). A
	// key in the body has been checked to be the URL's.
	Update(r *http.Request, key string, changes any, body *Body) error
	// Delete removes the entity with key. The service answers 204.
	Delete(r *http.Request, key string) error
}

// maxBodySize bounds request bodies handed to a Writer.
const maxBodySize = 1 << 20

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodySize+1))
	if err != nil {
		return nil, badRequest("", "cannot read the request body")
	}
	if len(body) > maxBodySize {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "PayloadTooLarge", Message: "request body too large"}
	}
	return body, nil
}

// ETag formats an entity tag the way the service writes it: W/"value".
func ETag(value string) string { return `W/"` + value + `"` }

// Precondition is the If-Match header of a write request.
type Precondition struct {
	Present bool     // the request has an If-Match header
	Any     bool     // If-Match: * (any current entity matches)
	Values  []string // the opaque values of the listed tags (W/ and quotes removed)
}

// Matches reports whether an entity whose ETag value is v satisfies the
// precondition. Without If-Match everything matches. Weak and strong tags
// compare alike (OData clients echo the weak @odata.etag).
func (p Precondition) Matches(v string) bool {
	if !p.Present || p.Any {
		return true
	}
	for _, x := range p.Values {
		if x == v {
			return true
		}
	}
	return false
}

// IfMatch parses r's If-Match header: "*" or a comma-separated list of
// entity tags, weak (W/"v") or strong ("v"). A malformed header is a 400.
func IfMatch(r *http.Request) (Precondition, error) {
	var p Precondition
	for _, h := range r.Header.Values("If-Match") {
		p.Present = true
		for _, tag := range strings.Split(h, ",") {
			tag = strings.TrimSpace(tag)
			switch {
			case tag == "":
				continue
			case tag == "*":
				p.Any = true
				continue
			}
			tag = strings.TrimPrefix(tag, "W/")
			if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' || strings.Contains(tag[1:len(tag)-1], `"`) {
				return Precondition{}, badRequest("If-Match", "malformed entity tag %q in If-Match", tag)
			}
			p.Values = append(p.Values, tag[1:len(tag)-1])
		}
	}
	if p.Present && !p.Any && len(p.Values) == 0 {
		return Precondition{}, badRequest("If-Match", "empty If-Match header")
	}
	return p, nil
}

// PreconditionFailed is the 412 a Writer returns when If-Match does not match
// the entity's current ETag; nothing must have been written.
func PreconditionFailed(format string, args ...any) *Error {
	return &Error{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed", Message: fmt.Sprintf(format, args...), Target: "If-Match"}
}

// Return preferences (Prefer: return=...).
const (
	returnDefault = iota
	returnMinimal
	returnRepresentation
)

// returnPreference reads Prefer: return=minimal|representation.
func returnPreference(r *http.Request) int {
	out := returnDefault
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "return") {
				continue
			}
			switch strings.ToLower(strings.Trim(strings.TrimSpace(v), `"`)) {
			case "minimal":
				out = returnMinimal
			case "representation":
				out = returnRepresentation
			}
		}
	}
	return out
}

func writesNotAllowed(w http.ResponseWriter, set *entitySet, method string) error {
	w.Header().Set("Allow", "GET, HEAD")
	return &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: fmt.Sprintf("%s does not accept %s", set.name, method)}
}

// checkWrite refuses a write the set cannot take: no Writer (405), a
// malformed If-Match (400), or an If-Match naming tags on a set that has no
// ETag (412: nothing can match).
func checkWrite(w http.ResponseWriter, r *http.Request, set *entitySet) error {
	if set.decl.Writer == nil {
		return writesNotAllowed(w, set, r.Method)
	}
	pre, err := IfMatch(r)
	if err != nil {
		return err
	}
	if set.decl.ETag == "" && pre.Present && !pre.Any {
		return PreconditionFailed("%s has no entity tags; If-Match can only be *", set.name)
	}
	return nil
}

func (s *Service) serveCreate(w http.ResponseWriter, r *http.Request, q *queryOptions, set *entitySet) error {
	if err := checkWrite(w, r, set); err != nil {
		return err
	}
	changes, body, err := s.readChanges(r, set)
	if err != nil {
		return err
	}
	key, created, err := set.decl.Writer.Create(r, changes, body)
	if err != nil {
		return err
	}
	if _, perr := uuid.Parse(key); perr != nil {
		return fmt.Errorf("odata: Writer of %s returned an invalid key %q", set.name, key)
	}
	key = strings.ToLower(key)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", s.serviceRoot(r)+"/"+set.name+"("+key+")")
	}
	return s.answerWrite(w, r, q.out, set, key, status, returnRepresentation, deepInserted(set, body)...)
}

// deepInserted expands the answer to a create by the 1:N navigation properties its body
// created entities through (OData 4.0 §11.4.2.2: the answer to a deep insert is expanded at
// least as deep as the request was), so a client reads back the IDs of what it created.
func deepInserted(set *entitySet, body *Body) []*expandItem {
	var out []*expandItem
	for _, n := range set.typ.navs {
		if n.Many && body.Sent[n.Name] {
			out = append(out, &expandItem{nav: n.Name, opts: newQueryOptions()})
		}
	}
	return out
}

func (s *Service) serveWrite(w http.ResponseWriter, r *http.Request, q *queryOptions, set *entitySet, key string) error {
	if err := checkWrite(w, r, set); err != nil {
		return err
	}
	if r.Method == http.MethodDelete {
		if err := set.decl.Writer.Delete(r, key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	changes, body, err := s.readChanges(r, set)
	if err != nil {
		return err
	}
	if body.Key != nil && *body.Key != key {
		return badRequest(set.key.Name, "The %s in the body (%s) differs from the key in the URL (%s).", set.key.Name, *body.Key, key)
	}
	if err := set.decl.Writer.Update(r, key, changes, body); err != nil {
		return err
	}
	return s.answerWrite(w, r, q.out, set, key, http.StatusOK, returnMinimal)
}

// readChanges reads and decodes a write's body into the set's Writer's changes value.
func (s *Service) readChanges(r *http.Request, set *entitySet) (any, *Body, error) {
	raw, err := readBody(r)
	if err != nil {
		return nil, nil, err
	}
	changes := set.decl.Writer.NewChanges()
	body, err := s.decodeBody(set, raw, changes)
	if err != nil {
		return nil, nil, err
	}
	return changes, body, nil
}

// answerWrite answers a successful POST, PATCH or PUT of the entity with key:
// the entity read back (status) or 204, as Prefer asks, else as def says.
// The read back sees the entity as stored, possibly already changed by a
// later write; its ETag is then the later one, which a client's next If-Match
// correctly refuses.
// out was negotiated before the write, so that a format the client cannot
// take is refused before anything changes.
func (s *Service) answerWrite(w http.ResponseWriter, r *http.Request, out *output, set *entitySet, key string, status, def int, expand ...*expandItem) error {
	pref := returnPreference(r)
	if pref != returnDefault {
		w.Header().Set("Preference-Applied", map[int]string{returnMinimal: "return=minimal", returnRepresentation: "return=representation"}[pref])
	} else {
		pref = def
	}
	if pref == returnMinimal && set.decl.ETag == "" {
		w.Header().Set("OData-EntityId", s.serviceRoot(r)+"/"+set.name+"("+key+")")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	q := newQueryOptions()
	q.out, q.expand = out, expand
	p, err := newPlan(set, q)
	if err != nil {
		return err
	}
	e, err := s.fetchOne(r.Context(), p, key)
	if err != nil {
		return err
	}
	if e == nil {
		if pref == returnMinimal {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return fmt.Errorf("odata: written %s(%s) cannot be read back", set.name, key)
	}
	if e.etag != "" {
		w.Header().Set("ETag", e.etag)
	}
	if pref == returnMinimal {
		w.Header().Set("OData-EntityId", s.serviceRoot(r)+"/"+set.name+"("+key+")")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, out, status, out.appendEntity(nil, contextHead(out, set.name+p.contextSelect()+"/$entity"), p, e))
	return nil
}
