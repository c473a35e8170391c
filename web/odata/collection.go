package odata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"phaseboard/web/redact"
)

// pageSize applies Prefer: odata.maxpagesize=N within the configured maximum.
func (s *Service) pageSize(w http.ResponseWriter, r *http.Request) int {
	size := s.opts.DefaultPageSize
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "odata.maxpagesize") {
				continue
			}
			if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`)); err == nil && n > 0 {
				size = min(n, s.opts.MaxPageSize)
				w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
			}
		}
	}
	return size
}

// shape identifies what a $skiptoken's values mean: the set, filter and order.
func shape(p *plan, extra string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%v\x00%v\x00%s", p.set.name, p.filter, p.search, p.orderBy, extra)
	return strconv.FormatUint(h.Sum64(), 36)
}

// serveCollection answers a collection request. Without $expand, rows stream
// from the database cursor to the client; with $expand one page (at most
// MaxPageSize rows) is held to fetch the neighbours in batches.
func (s *Service) serveCollection(w http.ResponseWriter, r *http.Request, q *queryOptions, p *plan, extraWhere func(*sqlBuilder, *scope) string, contextURL string, refs bool) error {
	ctx := r.Context()
	size := s.pageSize(w, r)
	tokenShape := shape(p, r.URL.Path)
	var token *skipToken
	if q.skipToken != "" {
		var err error
		if token, err = decodeSkipToken(q.skipToken, tokenShape); err != nil {
			return err
		}
	}
	var count int64 = -1
	awaitCount := func() error { return nil }
	if p.count {
		b := s.builder(r.Context())
		cq, err := buildCount(b, p, extraWhere, "", nil)
		if err != nil {
			return err
		}
		awaitCount = s.startCount(ctx, cq, b.args, &count)
	}
	spec := selectSpec{extraWhere: extraWhere, afterToken: token, limit: size + 1}
	if p.top >= 0 && p.top <= size {
		spec.limit = p.top // the whole answer fits one page: no next link
	}
	if token == nil {
		spec.offset = p.skip
	}
	st, err := buildSelect(s.builder(r.Context()), p, spec)
	if err != nil {
		awaitCount()
		return err
	}
	rows, err := s.db.QueryContext(ctx, st.sql, st.args...)
	if cerr := awaitCount(); err == nil && cerr != nil {
		rows.Close()
		err = cerr
	}
	if err != nil {
		return err
	}
	out := q.out
	head := out.appendContext([]byte{'{'}, contextURL)
	if count >= 0 {
		head = append(head, `"@odata.count":`...)
		head = out.appendCount(head, count)
		head = append(head, ',')
	}
	head = append(head, `"value":[`...)

	written := 0
	var last *entity
	hasMore := false
	var page []*entity
	started := false
	flush := func(e *entity) {
		if !started {
			w.Header().Set("Content-Type", out.contentType())
			w.WriteHeader(http.StatusOK)
			w.Write(head)
			started = true
		}
		var b []byte
		if written > 0 {
			b = append(b, ',')
		}
		if refs {
			b = append(b, `{"@odata.id":`...)
			b = appendJSONString(b, out.root+"/"+p.set.name+"("+e.key+")")
			b = append(b, '}')
		} else {
			b = out.appendEntity(b, "", p, e)
		}
		w.Write(b)
		written++
	}
	err = scanRows(rows, st, func(e *entity) error {
		if written+len(page) == size {
			hasMore = true
			return nil
		}
		last = e
		if len(p.expands) > 0 && !refs {
			page = append(page, e)
			return nil
		}
		flush(e)
		return nil
	})
	if err == nil && len(page) > 0 {
		err = s.expand(ctx, p, page)
		if err == nil {
			for _, e := range page {
				flush(e)
			}
		}
	}
	if err != nil {
		if !started {
			return err
		}
		// The status is sent; all we can do is log and cut the body short so
		// that the client sees invalid JSON rather than a silently short page.
		s.opts.Logger.Error("odata: streaming failed", "url", redact.URL(r.URL), "err", err)
		return nil
	}
	if !started {
		w.Header().Set("Content-Type", out.contentType())
		w.WriteHeader(http.StatusOK)
		w.Write(head)
	}
	tail := []byte{']'}
	if hasMore && last != nil {
		tail = append(tail, `,"@odata.nextLink":`...)
		tail = appendJSONString(tail, s.nextLink(r, p, encodeSkipToken(last.order, tokenShape), size))
	}
	w.Write(append(tail, '}'))
	return nil
}

// nextLink is the request URL with $skiptoken set, $skip dropped (the token
// already lies past it), $top reduced by the page just sent and credentials
// (access_token) dropped: the client sends them again as it sent them first.
func (s *Service) nextLink(r *http.Request, p *plan, token string, size int) string {
	vals, _ := rawQuery(r.URL.RawQuery) // it parsed before
	for k := range vals {
		switch strings.ToLower(k) {
		case "$skip", "$skiptoken":
			delete(vals, k)
		case "$top":
			delete(vals, k)
		default:
			if redact.IsCredential(k) { // never echo a token into a link
				delete(vals, k)
			}
		}
	}
	if p.top >= 0 {
		vals.Set("$top", strconv.Itoa(p.top-size))
	}
	vals.Set("$skiptoken", token)
	rel := r.URL.Path
	if rel == s.opts.Prefix || strings.HasPrefix(rel, s.opts.Prefix+"/") {
		rel = rel[len(s.opts.Prefix):]
	}
	return s.serviceRoot(r) + "/" + strings.TrimPrefix(rel, "/") + "?" + encodeQuery(vals)
}

// encodeQuery is url.Values.Encode that leaves the "$" of option names
// readable.
func encodeQuery(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		name := strings.ReplaceAll(url.QueryEscape(k), "%24", "$")
		for _, val := range v[k] {
			parts = append(parts, name+"="+strings.ReplaceAll(url.QueryEscape(val), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}

// startCount runs the $count query of a page, concurrently with the page's
// own query where the database serves several connections (PostgreSQL), so
// the answer costs the longer of the two rather than their sum; on SQLite,
// whose pool is one connection that the page's cursor then holds, and on a
// transaction or single connection, it runs first. The returned function
// waits for it.
func (s *Service) startCount(ctx context.Context, q string, args []any, dest *int64) func() error {
	if !s.pooled(ctx) || !s.dialect.concurrent() {
		err := s.queryScalar(ctx, q, args, dest)
		return func() error { return err }
	}
	done := make(chan error, 1)
	go func() { done <- s.queryScalar(ctx, q, args, dest) }()
	return func() error { return <-done }
}

// pooled reports whether the Querier can run two queries of ctx at once: a
// *sql.DB can, a Querier that says so (Pooled) can, anything else (a
// transaction, one connection) cannot.
func (s *Service) pooled(ctx context.Context) bool {
	switch q := s.db.(type) {
	case *sql.DB:
		return true
	case interface{ Pooled(context.Context) bool }:
		return q.Pooled(ctx)
	}
	return false
}

func (s *Service) queryScalar(ctx context.Context, q string, args []any, dest *int64) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errors.New("odata: count returned no row")
	}
	if err := rows.Scan(dest); err != nil {
		return err
	}
	return rows.Close()
}

func (s *Service) serveCount(w http.ResponseWriter, r *http.Request, p *plan, extraWhere func(*sqlBuilder, *scope) string) error {
	b := s.builder(r.Context())
	q, err := buildCount(b, p, extraWhere, "", nil)
	if err != nil {
		return err
	}
	var n int64
	if err := s.queryScalar(r.Context(), q, b.args, &n); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, strconv.FormatInt(n, 10))
	return nil
}
