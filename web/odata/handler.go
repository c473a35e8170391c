package odata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"phaseboard/web/redact"
)

// Options configure a Service. The zero value works.
type Options struct {
	// Prefix is the path the service is mounted at ("/v1/odata" by default).
	// Requests whose path starts with it have it stripped; others are taken
	// as already relative (e.g. behind http.StripPrefix).
	Prefix string
	// ServiceRoot, when set, is the absolute URL used for @odata.nextLink and
	// @odata.id (e.g. "https://api.example.com/v1/odata"). By default it is
	// derived from the request (Host, TLS, X-Forwarded-Proto) and Prefix.
	ServiceRoot string
	// Page sizes for server-driven paging: 100 and 1000 by default.
	DefaultPageSize int
	MaxPageSize     int
	// CurrentEmployee, with EmployeeSet, enables the function import
	// GetCurrentEmployee(): it returns the key of the caller's employee
	// entity in EmployeeSet. Return an *Error (e.g. 401) to refuse.
	CurrentEmployee func(r *http.Request) (key string, err error)
	EmployeeSet     string
	// Logger receives 500s and panics (slog.Default() when nil).
	Logger *slog.Logger
	// Now is the clock behind the now() filter function (time.Now when nil).
	Now func() time.Time
	// QueryTimeout bounds the database work of one request (30s by default;
	// negative for none), so that an expensive filter cannot hold the
	// database.
	QueryTimeout time.Duration
	// MapError, when set, may turn an error the service does not know into an
	// *Error (the application's "database unavailable" as a 503, say); what it
	// returns unchanged is a logged 500.
	MapError func(error) error
	// Atomic, when set, enables $batch: it runs fn in one transaction that
	// every write made with fn's ctx joins (and the Querier reads with, so a
	// change set sees its own writes), committing when fn returns nil.
	Atomic func(ctx context.Context, fn func(ctx context.Context) error) error
	// BeforeBatchRequest, when set, is called for each request of a $batch
	// (its method and headers) before the batch runs, with the batch's
	// context, outside any change set's transaction: return an error to
	// refuse that request (the scope or rate limit a single request meets).
	BeforeBatchRequest func(r *http.Request) error
}

// Service serves the OData v4 protocol for a Model over a database. It is an
// http.Handler; it is safe for concurrent use.
type Service struct {
	schema   *schema
	db       Querier
	dialect  Dialect
	opts     Options
	employee *entitySet
}

// NewService validates the model and returns the handler. db is usually a
// *sql.DB; dialect is PostgreSQL or SQLite.
func NewService(model *Model, db Querier, dialect Dialect, opts Options) (*Service, error) {
	if model == nil || db == nil || dialect == nil {
		return nil, errors.New("odata: NewService needs a model, a database and a dialect")
	}
	sch, err := model.resolve()
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		opts.Prefix = "/v1/odata"
	}
	opts.Prefix = "/" + strings.Trim(opts.Prefix, "/")
	opts.ServiceRoot = strings.TrimSuffix(opts.ServiceRoot, "/")
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = 100
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 1000
	}
	opts.DefaultPageSize = min(opts.DefaultPageSize, opts.MaxPageSize)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	s := &Service{schema: sch, db: db, dialect: dialect, opts: opts}
	if (opts.CurrentEmployee == nil) != (opts.EmployeeSet == "") {
		return nil, errors.New("odata: CurrentEmployee and EmployeeSet go together")
	}
	if opts.EmployeeSet != "" {
		if s.employee = sch.sets[opts.EmployeeSet]; s.employee == nil {
			return nil, fmt.Errorf("odata: EmployeeSet %q is not an entity set of the model", opts.EmployeeSet)
		}
	}
	return s, nil
}

func (s *Service) builder(ctx context.Context) *sqlBuilder {
	return &sqlBuilder{d: s.dialect, now: s.opts.Now(), ctx: ctx}
}

const functionName = "GetCurrentEmployee"

// ServeHTTP routes an OData request. A panic is recovered, logged and
// answered with a 500 OData error: malformed input must never take the
// process down.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.opts.Logger.Error("odata: panic", "method", r.Method, "url", redact.URL(r.URL), "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "internal server error"})
		}
	}()
	w.Header().Set("OData-Version", "4.0")
	if s.opts.QueryTimeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	if err := s.route(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Service) route(w http.ResponseWriter, r *http.Request) error {
	rel := r.URL.Path
	if rel == s.opts.Prefix || strings.HasPrefix(rel, s.opts.Prefix+"/") {
		rel = rel[len(s.opts.Prefix):]
	}
	rel = strings.Trim(rel, "/")
	if pos, problem := textProblem(rel); problem != "" {
		return badRequest("", "the resource path has %s at byte %d (after percent-decoding)", problem, pos)
	}
	values, err := rawQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	q, err := parseQuery(values)
	if err != nil {
		return err
	}
	if rel == "$batch" {
		return s.serveBatch(w, r)
	}
	if rel != "$metadata" {
		if q.out, err = s.negotiate(r, q, isTextResource(rel)); err != nil {
			return err
		}
	}
	switch rel {
	case "":
		if err := allow(w, r, false); err != nil {
			return err
		}
		return s.serveServiceDocument(w, r, q.out)
	case "$metadata":
		if err := allow(w, r, false); err != nil {
			return err
		}
		return s.serveMetadata(w, r, q)
	case functionName + "()", functionName:
		if s.employee == nil {
			return notFound("%s is not available", functionName)
		}
		if err := allow(w, r, false); err != nil {
			return err
		}
		key, err := s.opts.CurrentEmployee(r)
		if err != nil {
			return err
		}
		return s.serveEntity(w, r, q, s.employee, key)
	case "$entity":
		if err := allow(w, r, false); err != nil {
			return err
		}
		set, key, err := s.resolveID(q.id)
		if err != nil {
			return err
		}
		return s.serveEntity(w, r, q, set, key)
	}
	segs := strings.Split(rel, "/")
	if resource, _, _ := strings.Cut(segs[0], "("); unsupportedResources[resource] {
		return notImplemented("%s is not supported", resource)
	}
	name, keyText, hasKey, err := splitKey(segs[0])
	if err != nil {
		return err
	}
	set := s.schema.sets[name]
	if set == nil {
		return notFound("unknown entity set %s", name)
	}
	// A type-cast segment (Datastore_Phase/Datastore.Phase.ActivityInvoice,
	// Set(key)/Type) narrows the set to a subtype's entities.
	if len(segs) > 1 && strings.Contains(segs[1], ".") {
		typeName, key, castKey, err := splitKey(segs[1])
		if err != nil {
			return err
		}
		if castKey { // Set/Type(key)
			if hasKey {
				return notFound("no resource at %s", rel)
			}
			keyText, hasKey = key, true
		}
		if set, err = s.cast(set, typeName); err != nil {
			return err
		}
		segs = append(segs[:1:1], segs[2:]...)
	}
	if q.apply != nil {
		if hasKey || len(segs) != 1 || r.Method == http.MethodPost {
			return notImplemented("$apply is only supported when reading an entity set (GET %s?$apply=...)", set.name)
		}
		if cond, ok := q.apply.onlyFilters(); ok {
			// $apply=filter(a)/filter(b) is $filter=a and b (and $filter).
			if q.filter != nil {
				cond = &binaryExpr{pos: cond.Pos(), op: "and", left: cond, right: q.filter}
			}
			q.filter, q.apply = cond, nil
		}
	}
	if !hasKey {
		switch {
		case len(segs) == 1:
			if r.Method == http.MethodPost {
				return s.serveCreate(w, r, q, set)
			}
			if err := allow(w, r, set.writable(), http.MethodPost); err != nil {
				return err
			}
			if q.apply != nil {
				return s.serveApply(w, r, q, set)
			}
			p, err := newPlan(set, q)
			if err != nil {
				return err
			}
			return s.serveCollection(w, r, q, p, nil, set.contextName()+p.contextSelect(), false)
		case len(segs) == 2 && segs[1] == "$ref":
			if err := allow(w, r, false); err != nil {
				return err
			}
			p, err := newPlan(set, q)
			if err != nil {
				return err
			}
			return s.serveCollection(w, r, q, p, nil, "Collection($ref)", true)
		case len(segs) == 2 && segs[1] == "$count":
			if err := allow(w, r, false); err != nil {
				return err
			}
			p, err := newPlan(set, q)
			if err != nil {
				return err
			}
			return s.serveCount(w, r, p, nil)
		}
		return notFound("no resource at %s", rel)
	}
	key, err := parseKey(keyText, set)
	if err != nil {
		return err
	}
	if len(segs) == 1 {
		switch r.Method {
		case http.MethodPatch, http.MethodPut, http.MethodDelete:
			return s.serveWrite(w, r, q, set, key)
		}
		if err := allow(w, r, set.writable(), http.MethodPatch, http.MethodPut, http.MethodDelete); err != nil {
			return err
		}
		return s.serveEntity(w, r, q, set, key)
	}
	member, rest := segs[1], segs[2:]
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Writing a property, a link ($ref) or through a navigation is OData
		// the service does not implement; on a read-only set it is not allowed.
		if set.writable() {
			w.Header().Set("Allow", "GET, HEAD")
			return notImplemented("%s on %s is not supported: write the entity itself (PATCH %s(key))", r.Method, rel, set.name)
		}
		return allow(w, r, false)
	}
	if prop := set.typ.prop(member); prop != nil {
		switch {
		case len(rest) == 0:
			return s.serveProperty(w, r, q, set, key, prop, false)
		case len(rest) == 1 && rest[0] == "$value":
			return s.serveProperty(w, r, q, set, key, prop, true)
		}
		return notFound("no resource at %s", rel)
	}
	nav := set.typ.nav(member)
	if nav == nil {
		return notFound("%s has no property %s", set.name, member)
	}
	if len(rest) > 0 && strings.Contains(rest[0], ".") {
		return notImplemented("type-cast segments after a navigation property are not supported: cast on the target's own set")
	}
	switch {
	case len(rest) == 0:
		return s.serveNavigation(w, r, q, set, key, nav, false)
	case len(rest) == 1 && rest[0] == "$ref":
		return s.serveNavigation(w, r, q, set, key, nav, true)
	case len(rest) == 1 && rest[0] == "$count" && nav.Many:
		if err := s.requireEntity(r.Context(), set, key); err != nil {
			return err
		}
		p, err := newPlan(nav.target, q)
		if err != nil {
			return err
		}
		return s.serveCount(w, r, p, fkEquals(nav.FK, key))
	}
	return notFound("no resource at %s", rel)
}

// unsupportedResources are resources of the protocol the service does not
// serve: 501, not 404.
var unsupportedResources = map[string]bool{"$crossjoin": true, "$all": true, "$root": true, "$query": true,
	"$entity": true} // $entity alone is served; /$entity/Type is not

// cast resolves a type-cast segment on set: set itself for its own type, the
// subtype's entities for a derived type (the rows the subtype's own set
// serves, named as set), 404 for an unknown or unrelated type.
func (s *Service) cast(set *entitySet, typeName string) (*entitySet, error) {
	t := s.schema.typeNamed(typeName)
	if t == nil || !t.derivesFrom(set.typ) {
		return nil, notFound("%s has no entities of type %s", set.name, typeName)
	}
	if t == set.typ {
		return set, nil
	}
	sub := set.subtypeSet(t)
	if sub == nil {
		return nil, notImplemented("the type cast to %s is not supported on %s: no entity set serves that type", typeName, set.name)
	}
	c := *set
	c.typ, c.cast = t, typeName
	c.where = sub.where
	if set.where != "" {
		c.where = "(" + set.where + ") AND (" + sub.where + ")"
	}
	return &c, nil
}

// resolveID reads the $id of /$entity?$id=...: an entity's URL, absolute
// (as @odata.id writes it) or relative to the service root.
func (s *Service) resolveID(id string) (*entitySet, string, error) {
	if id == "" {
		return nil, "", badRequest("$id", "/$entity needs $id=<entity URL>")
	}
	rel := id
	if i := strings.Index(rel, s.opts.Prefix+"/"); i >= 0 {
		rel = rel[i+len(s.opts.Prefix)+1:]
	}
	rel = strings.TrimPrefix(strings.TrimPrefix(rel, "../"), "/")
	name, keyText, hasKey, err := splitKey(rel)
	if err != nil || !hasKey || strings.Contains(name, "/") {
		return nil, "", badRequest("$id", "$id %q is not the URL of an entity (Set(key))", id)
	}
	set := s.schema.sets[name]
	if set == nil {
		return nil, "", notFound("unknown entity set %s", name)
	}
	key, err := parseKey(keyText, set)
	return set, key, err
}

// allow answers 405 with the resource's true Allow header for a method the
// resource does not take: GET and HEAD always, the write methods when the
// set is writable.
func allow(w http.ResponseWriter, r *http.Request, writable bool, writes ...string) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	methods := []string{http.MethodGet, http.MethodHead}
	if writable {
		methods = append(methods, writes...)
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	return &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: fmt.Sprintf("method %s is not allowed here (allowed: %s)", r.Method, strings.Join(methods, ", "))}
}

// isTextResource tells the routes answered in text/plain ($count, $value),
// where Accept need not accept JSON.
func isTextResource(rel string) bool {
	return strings.HasSuffix(rel, "/$count") || strings.HasSuffix(rel, "/$value")
}

// splitKey splits "Set(key)" into "Set" and "key".
func splitKey(seg string) (name, key string, hasKey bool, err error) {
	i := strings.IndexByte(seg, '(')
	if i < 0 {
		return seg, "", false, nil
	}
	if !strings.HasSuffix(seg, ")") {
		return "", "", false, badRequest("", "malformed key in %s", seg)
	}
	return seg[:i], seg[i+1 : len(seg)-1], true, nil
}

// parseKey accepts 0123…, guid'0123…', '0123…' and ID=0123….
func parseKey(text string, set *entitySet) (string, error) {
	text = strings.TrimSpace(text)
	if k, v, ok := strings.Cut(text, "="); ok {
		if strings.TrimSpace(k) != set.key.Name {
			return "", badRequest("", "unknown key property %s", k)
		}
		text = strings.TrimSpace(v)
	}
	text = strings.TrimPrefix(text, "guid")
	if len(text) >= 2 && text[0] == '\'' && text[len(text)-1] == '\'' {
		text = text[1 : len(text)-1]
	}
	if guidLen(text) != 36 || len(text) != 36 {
		return "", badRequest("", "malformed key %q: expected a GUID", text)
	}
	return strings.ToLower(text), nil
}

func keyEquals(key string) func(*sqlBuilder, *scope) string {
	return func(b *sqlBuilder, sc *scope) string {
		return "(" + sc.set.key.SQL + ") = " + b.bind(EdmGuid, key)
	}
}

func fkEquals(fk, key string) func(*sqlBuilder, *scope) string {
	return func(b *sqlBuilder, sc *scope) string { return "t." + fk + " = " + b.bind(EdmGuid, key) }
}

// serviceRoot is the absolute URL of the service, without a trailing slash.
func (s *Service) serviceRoot(r *http.Request) string {
	if s.opts.ServiceRoot != "" {
		return s.opts.ServiceRoot
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + s.opts.Prefix
}

func (s *Service) serveServiceDocument(w http.ResponseWriter, r *http.Request, out *output) error {
	b := out.appendContext([]byte{'{'}, "")
	b = append(b, `"value":[`...)
	for i, set := range s.schema.setOrder {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, set.name)
		b = append(b, `,"kind":"EntitySet","url":`...)
		b = appendJSONString(b, set.name)
		b = append(b, '}')
	}
	if s.employee != nil {
		b = append(b, `,{"name":"`+functionName+`","kind":"FunctionImport","url":"`+functionName+`"}`...)
	}
	b = append(b, "]}"...)
	writeJSON(w, out, http.StatusOK, b)
	return nil
}

func writeJSON(w http.ResponseWriter, out *output, status int, body []byte) {
	w.Header().Set("Content-Type", out.contentType())
	w.WriteHeader(status)
	w.Write(body)
}
