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
// service parses the URL and reads the body (bounded by maxBodySize); the
// Writer validates and stores. Return an *Error to choose the status and
// message (e.g. 400 for invalid fields, 404 for an unknown key).
type Writer interface {
	// Create stores a new entity from a JSON body and returns its key; the
	// service answers 201 with the stored entity read back.
	Create(r *http.Request, body []byte) (key string, err error)
	// Update changes the entity with key: PATCH (replace false) changes the
	// given fields only, PUT (replace true) all of them. The service answers 204.
	Update(r *http.Request, key string, body []byte, replace bool) error
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

func writesNotAllowed(w http.ResponseWriter, set *entitySet, method string) error {
	w.Header().Set("Allow", "GET")
	return &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: fmt.Sprintf("%s does not accept %s", set.name, method)}
}

func (s *Service) serveCreate(w http.ResponseWriter, r *http.Request, set *entitySet) error {
	if set.decl.Writer == nil {
		return writesNotAllowed(w, set, r.Method)
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	key, err := set.decl.Writer.Create(r, body)
	if err != nil {
		return err
	}
	if _, perr := uuid.Parse(key); perr != nil {
		return fmt.Errorf("odata: Writer.Create of %s returned an invalid key %q", set.name, key)
	}
	key = strings.ToLower(key)
	p, err := newPlan(set, newQueryOptions())
	if err != nil {
		return err
	}
	e, err := s.fetchOne(r.Context(), p, key)
	if err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("odata: created %s(%s) cannot be read back", set.name, key)
	}
	w.Header().Set("Location", s.serviceRoot(r)+"/"+set.name+"("+key+")")
	writeJSON(w, http.StatusCreated, appendEntity(nil, contextHead("$metadata#"+set.name+"/$entity"), p, e))
	return nil
}

func (s *Service) serveWrite(w http.ResponseWriter, r *http.Request, set *entitySet, key string) error {
	if set.decl.Writer == nil {
		return writesNotAllowed(w, set, r.Method)
	}
	var err error
	if r.Method == http.MethodDelete {
		err = set.decl.Writer.Delete(r, key)
	} else {
		var body []byte
		if body, err = readBody(r); err != nil {
			return err
		}
		err = set.decl.Writer.Update(r, key, body, r.Method == http.MethodPut)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
