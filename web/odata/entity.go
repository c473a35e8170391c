package odata

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// fetchOne reads the entity with key from set through plan p, expanded.
// It returns nil when there is none.
func (s *Service) fetchOne(ctx context.Context, p *plan, key string) (*entity, error) {
	st, err := buildSelect(s.builder(ctx), p, selectSpec{extraWhere: keyEquals(key), limit: 1})
	if err != nil {
		return nil, err
	}
	var found *entity
	if err := s.run(ctx, st, func(e *entity) error { found = e; return nil }); err != nil {
		return nil, err
	}
	if found != nil && len(p.expands) > 0 {
		if err := s.expand(ctx, p, []*entity{found}); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// singleOptions refuses collection-only options on single-entity routes.
func singleOptions(q *queryOptions) error {
	if q.filter != nil || q.orderBy != nil || q.top >= 0 || q.skip > 0 || q.count || q.skipToken != "" {
		return badRequest("", "only $select and $expand apply to a single entity")
	}
	return nil
}

func (s *Service) serveEntity(w http.ResponseWriter, r *http.Request, q *queryOptions, set *entitySet, key string) error {
	if err := singleOptions(q); err != nil {
		return err
	}
	p, err := newPlan(set, q)
	if err != nil {
		return err
	}
	e, err := s.fetchOne(r.Context(), p, key)
	if err != nil {
		return err
	}
	if e == nil {
		return notFound("%s(%s) does not exist", set.name, key)
	}
	if e.etag != "" {
		w.Header().Set("ETag", e.etag)
	}
	if done, err := conditionalGet(w, r, set, e); done || err != nil {
		return err
	}
	writeJSON(w, q.out, http.StatusOK, q.out.appendEntity(nil, contextHead(q.out, set.contextName()+p.contextSelect()+"/$entity"), p, e))
	return nil
}

// conditionalGet applies If-Match and If-None-Match to a GET of entity e:
// If-Match that does not match is a 412 (as for writes, on a set without
// ETags only * matches), If-None-Match that matches (or *) a 304 without a
// body. Weak and strong tags compare alike. done tells that the answer is
// written.
func conditionalGet(w http.ResponseWriter, r *http.Request, set *entitySet, e *entity) (done bool, err error) {
	value := strings.TrimSuffix(strings.TrimPrefix(e.etag, `W/"`), `"`)
	pre, err := IfMatch(r)
	if err != nil {
		return false, err
	}
	if pre.Present && !pre.Any && (set.decl.ETag == "" || !pre.Matches(value)) {
		return false, PreconditionFailed("%s(%s) has changed: its ETag is %s", set.name, e.key, e.etag)
	}
	for _, h := range r.Header.Values("If-None-Match") {
		for _, tag := range strings.Split(h, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || set.decl.ETag != "" && tag == `"`+value+`"` {
				w.WriteHeader(http.StatusNotModified)
				return true, nil
			}
		}
	}
	return false, nil
}

// contextHead is the "@odata.context" member of a single-entity answer, ""
// without metadata.
func contextHead(out *output, fragment string) string {
	u := out.context(fragment)
	if u == "" {
		return ""
	}
	return string(appendJSONString([]byte(`"@odata.context":`), u))
}

func (s *Service) requireEntity(ctx context.Context, set *entitySet, key string) error {
	e, err := s.fetchOne(ctx, &plan{set: set, top: -1}, key)
	if err != nil {
		return err
	}
	if e == nil {
		return notFound("%s(%s) does not exist", set.name, key)
	}
	return nil
}

func (s *Service) serveProperty(w http.ResponseWriter, r *http.Request, q *queryOptions, set *entitySet, key string, prop *Property, raw bool) error {
	p := &plan{set: set, props: []*Property{prop}, top: -1}
	e, err := s.fetchOne(r.Context(), p, key)
	if err != nil {
		return err
	}
	if e == nil {
		return notFound("%s(%s) does not exist", set.name, key)
	}
	v := e.values[0]
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if raw {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if str, ok := v.(string); ok {
			io.WriteString(w, str)
		} else {
			w.Write(appendJSONValue(nil, v))
		}
		return nil
	}
	b := q.out.appendContext([]byte{'{'}, set.name+"("+key+")/"+prop.Name)
	b = append(b, `"value":`...)
	b = q.out.appendValue(b, prop.Type, v)
	writeJSON(w, q.out, http.StatusOK, append(b, '}'))
	return nil
}

// serveNavigation answers Set(key)/Nav and Set(key)/Nav/$ref.
func (s *Service) serveNavigation(w http.ResponseWriter, r *http.Request, q *queryOptions, set *entitySet, key string, nav *navProp, refs bool) error {
	if err := s.requireEntity(r.Context(), set, key); err != nil {
		return err
	}
	target := nav.target
	if nav.Many {
		p, err := newPlan(target, q)
		if err != nil {
			return err
		}
		ctxURL := target.name + p.contextSelect()
		if refs {
			ctxURL = "Collection($ref)"
		}
		return s.serveCollection(w, r, q, p, fkEquals(nav.FK, key), ctxURL, refs)
	}
	if err := singleOptions(q); err != nil {
		return err
	}
	// N:1: the parent expanded with the navigation property.
	child, err := newPlan(target, q)
	if err != nil {
		return err
	}
	parent := &plan{set: set, top: -1, expands: []*expandPlan{{nav: nav, plan: child}}}
	e, err := s.fetchOne(r.Context(), parent, key)
	if err != nil {
		return err
	}
	if e == nil {
		return notFound("%s(%s) does not exist", set.name, key)
	}
	linked, _ := e.expanded[0].(*entity)
	if linked == nil {
		if refs {
			return notFound("%s(%s)/%s is not set", set.name, key, nav.Name)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if refs {
		b := q.out.appendContext([]byte{'{'}, "$ref")
		b = append(b, `"@odata.id":`...)
		b = appendJSONString(b, q.out.root+"/"+target.name+"("+linked.key+")")
		writeJSON(w, q.out, http.StatusOK, append(b, '}'))
		return nil
	}
	writeJSON(w, q.out, http.StatusOK, q.out.appendEntity(nil, contextHead(q.out, target.name+child.contextSelect()+"/$entity"), child, linked))
	return nil
}
