package odata

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// $batch: POST /$batch with a multipart/mixed body (OData 4.0) or a JSON one
// (OData 4.01). Each request of the batch is served like a single request,
// with the batch's identity and context, after Options.BeforeBatchRequest
// (which Phaseboard uses for the same scope checks and rate limit as single
// requests). A change set (multipart) or an atomicity group (JSON) runs in
// one transaction through Options.Atomic: it commits when every request in it
// succeeds and rolls back as a whole when one fails. A request may name an
// entity created earlier in the batch by "$<Content-ID>" (multipart) or
// "$<id>" (JSON), in its URL or as the value of an @odata.bind.
//
// Limits: at most maxBatchRequests requests, and the body limit of single
// requests. Without Prefer: odata.continue-on-error the batch stops at the
// first failed request or change set.

const maxBatchRequests = 100

// errGroupFailed rolls a change set back: one of its requests failed.
var errGroupFailed = errors.New("odata: a request of the change set failed")

// batchRequest is one request of a batch, as parsed.
type batchRequest struct {
	id      string // Content-ID or JSON id; "" when none
	method  string
	url     string
	header  http.Header
	body    []byte
	group   string   // atomicity group (JSON) or change set (multipart) it belongs to
	depends []string // JSON dependsOn
}

// batchResponse is the recorded answer of one request.
type batchResponse struct {
	id     string
	status int
	header http.Header
	body   bytes.Buffer
}

func (b *batchResponse) Header() http.Header { return b.header }
func (b *batchResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
func (b *batchResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (s *Service) batchSupported() bool { return s.opts.Atomic != nil }

// serveBatch answers POST /$batch.
func (s *Service) serveBatch(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "$batch takes POST"}
	}
	if s.opts.Atomic == nil {
		return notImplemented("$batch is not supported by this service")
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Message: "a $batch body is multipart/mixed (with a boundary) or application/json"}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var groups [][]*batchRequest
	switch mt {
	case "multipart/mixed":
		groups, err = parseMultipartBatch(body, params["boundary"])
	case "application/json":
		groups, err = parseJSONBatch(body)
	default:
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Message: "a $batch body is multipart/mixed or application/json, not " + mt}
	}
	if err != nil {
		return err
	}
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	if n > maxBatchRequests {
		return badRequest("", "a $batch holds at most %d requests, this one %d", maxBatchRequests, n)
	}
	continueOnError := preference(r, "odata.continue-on-error") || preference(r, "continue-on-error")
	if continueOnError {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	run := &batchRun{s: s, outer: r, refs: map[string]string{}, refused: map[*batchRequest]error{}}
	if s.opts.BeforeBatchRequest != nil {
		// Checked up front, with the batch's own context: a count or check made inside a change
		// set's transaction would be undone with it.
		for _, g := range groups {
			for _, br := range g {
				check, _ := http.NewRequestWithContext(r.Context(), br.method, "http://batch"+s.opts.Prefix+"/", nil)
				if check == nil {
					continue // a malformed method: refused when the request is built
				}
				check.Header = br.header
				if err := s.opts.BeforeBatchRequest(check); err != nil {
					run.refused[br] = err
				}
			}
		}
	}
	var results [][]*batchResponse
	for _, g := range groups {
		res := run.group(g)
		results = append(results, res)
		if !continueOnError && failed(res) {
			break
		}
	}
	if mt == "application/json" {
		return writeJSONBatch(w, results)
	}
	return writeMultipartBatch(w, groups, results)
}

func failed(res []*batchResponse) bool {
	for _, r := range res {
		if r.status >= 400 {
			return true
		}
	}
	return false
}

// batchRun is the state of one batch: the outer request and the entities
// created so far, by request id.
type batchRun struct {
	s       *Service
	outer   *http.Request
	refs    map[string]string // id → the created entity's URL relative to the service root
	failed  map[string]bool   // ids of requests that failed (JSON dependsOn)
	refused map[*batchRequest]error
}

// group serves one request alone, or a change set in one transaction.
func (b *batchRun) group(g []*batchRequest) []*batchResponse {
	if g[0].group == "" {
		return []*batchResponse{b.serve(b.outer.Context(), g[0])}
	}
	var out []*batchResponse
	err := b.s.opts.Atomic(b.outer.Context(), func(ctx context.Context) error {
		out = out[:0]
		for _, req := range g {
			res := b.serve(ctx, req)
			out = append(out, res)
			if res.status >= 400 {
				return errGroupFailed
			}
		}
		return nil
	})
	if err != nil {
		// Rolled back: what the group created does not exist, and every
		// request of it failed with it. out ends with the request at fault
		// (its own answer); the ones before it are rolled back, the ones
		// after it never ran.
		for _, req := range g {
			delete(b.refs, req.id)
			b.markFailed(req.id)
		}
		if !errors.Is(err, errGroupFailed) { // the transaction itself failed
			res := &batchResponse{id: g[len(g)-1].id, header: http.Header{}}
			b.s.writeError(res, b.outer, err)
			out = append(out[:0:0], make([]*batchResponse, len(g)-1)...)
			out = append(out, res)
		}
		for i := 0; i < len(out)-1; i++ {
			out[i] = failedDependency(g[i].id, "the change set was rolled back: another request of it failed")
		}
		for i := len(out); i < len(g); i++ {
			out = append(out, failedDependency(g[i].id, "the change set was rolled back before this request ran"))
		}
	}
	return out
}

func (b *batchRun) markFailed(id string) {
	if id == "" {
		return
	}
	if b.failed == nil {
		b.failed = map[string]bool{}
	}
	b.failed[id] = true
}

func failedDependency(id, msg string) *batchResponse {
	res := &batchResponse{id: id, status: http.StatusFailedDependency, header: http.Header{"Content-Type": {"application/json;charset=utf-8"}}}
	b := []byte(`{"error":{"code":"FailedDependency","message":`)
	b = appendJSONString(b, msg)
	res.body.Write(append(b, `,"target":null,"details":[]}}`...))
	return res
}

// serve runs one request of the batch with ctx (the transaction's, in a
// change set).
func (b *batchRun) serve(ctx context.Context, br *batchRequest) *batchResponse {
	res := &batchResponse{id: br.id, header: http.Header{}}
	for _, d := range br.depends {
		if b.failed[d] {
			b.markFailed(br.id)
			return failedDependency(br.id, "request "+d+" that this one depends on failed")
		}
	}
	err := b.refused[br]
	var req *http.Request
	if err == nil {
		req, err = b.request(ctx, br)
	}
	if err != nil {
		b.s.writeError(res, b.outer, err)
		b.markFailed(br.id)
		return res
	}
	b.s.ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	if res.status >= 400 {
		b.markFailed(br.id)
	}
	if br.id != "" && res.status < 300 {
		for _, h := range []string{"Location", "OData-EntityId"} {
			if loc := res.header.Get(h); loc != "" {
				b.refs[br.id] = strings.TrimPrefix(strings.TrimPrefix(loc, b.s.serviceRoot(b.outer)), "/")
				break
			}
		}
	}
	return res
}

// refRE finds "$id" references: at the start of a URL, or as a JSON string.
var refRE = regexp.MustCompile(`^\$([A-Za-z0-9_.\-]+)`)

// request builds the http.Request of br: its URL resolved against the
// service root (absolute, absolute-path, relative or "$id/..."), the batch's
// context, its own headers and body.
func (b *batchRun) request(ctx context.Context, br *batchRequest) (*http.Request, error) {
	u := br.url
	if m := refRE.FindStringSubmatch(u); m != nil && !strings.HasPrefix(u, "$metadata") && !strings.HasPrefix(u, "$batch") && !strings.HasPrefix(u, "$entity") {
		ref, ok := b.refs[m[1]]
		if !ok {
			return nil, badRequest("", "%s refers to no entity created earlier in the batch", m[0])
		}
		u = ref + u[len(m[0]):]
	}
	root := b.s.serviceRoot(b.outer)
	switch {
	case strings.HasPrefix(u, root+"/") || u == root:
		u = b.s.opts.Prefix + u[len(root):]
	case strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://"):
		return nil, badRequest("", "the URL %s is not of this service", u)
	case strings.HasPrefix(u, b.s.opts.Prefix+"/") || u == b.s.opts.Prefix:
	default:
		u = b.s.opts.Prefix + "/" + strings.TrimPrefix(u, "/")
	}
	parsed, err := url.ParseRequestURI(u)
	if err != nil {
		return nil, badRequest("", "malformed URL %q in the batch", br.url)
	}
	if strings.TrimPrefix(parsed.Path, b.s.opts.Prefix) == "/$batch" {
		return nil, badRequest("", "a $batch cannot contain another $batch")
	}
	body := br.body
	for id, ref := range b.refs { // "Nav@odata.bind": "$1"
		body = bytes.ReplaceAll(body, []byte(`"$`+id+`"`), []byte(strconv.Quote(ref)))
	}
	req, err := http.NewRequestWithContext(ctx, br.method, "http://batch"+parsed.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, badRequest("", "malformed request %s %s in the batch", br.method, br.url)
	}
	req.URL.Path, req.URL.RawPath = parsed.Path, parsed.RawPath
	req.Host = b.outer.Host
	req.TLS = b.outer.TLS
	req.RemoteAddr = b.outer.RemoteAddr
	for k, vs := range br.header {
		req.Header[k] = vs
	}
	if p := b.outer.Header.Get("X-Forwarded-Proto"); p != "" && req.Header.Get("X-Forwarded-Proto") == "" {
		req.Header.Set("X-Forwarded-Proto", p) // absolute URLs as the outer request's
	}
	if req.Header.Get("Content-Type") == "" && len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// parseMultipartBatch reads a multipart/mixed batch: each part is one
// request (application/http) or a change set (a nested multipart/mixed).
func parseMultipartBatch(body []byte, boundary string) ([][]*batchRequest, error) {
	if boundary == "" {
		return nil, badRequest("", "the multipart/mixed $batch has no boundary")
	}
	var groups [][]*batchRequest
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("", "malformed $batch body: %v", err)
		}
		mt, params, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch mt {
		case "multipart/mixed":
			raw, err := io.ReadAll(part)
			if err != nil {
				return nil, badRequest("", "malformed change set: %v", err)
			}
			var set []*batchRequest
			cr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
			for {
				inner, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, badRequest("", "malformed change set: %v", err)
				}
				req, err := readHTTPPart(inner)
				if err != nil {
					return nil, err
				}
				if req.method == http.MethodGet || req.method == http.MethodHead {
					return nil, badRequest("", "a change set holds only changes, not %s %s", req.method, req.url)
				}
				req.group = "changeset" + strconv.Itoa(n)
				set = append(set, req)
				if len(set) > maxBatchRequests {
					return nil, badRequest("", "a $batch holds at most %d requests", maxBatchRequests)
				}
			}
			if len(set) == 0 {
				return nil, badRequest("", "empty change set")
			}
			groups = append(groups, set)
		case "application/http":
			req, err := readHTTPPart(part)
			if err != nil {
				return nil, err
			}
			groups = append(groups, []*batchRequest{req})
		default:
			return nil, badRequest("", "a $batch part is application/http or a multipart/mixed change set, not %q", part.Header.Get("Content-Type"))
		}
		if len(groups) > maxBatchRequests {
			return nil, badRequest("", "a $batch holds at most %d requests", maxBatchRequests)
		}
	}
	return groups, nil
}

// readHTTPPart reads an application/http part: "METHOD URL HTTP/1.1",
// headers and a body.
func readHTTPPart(part *multipart.Part) (*batchRequest, error) {
	raw, err := io.ReadAll(io.LimitReader(part, maxBodySize+1))
	if err != nil {
		return nil, badRequest("", "malformed $batch part: %v", err)
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	line, err := tp.ReadLine()
	for err == nil && strings.TrimSpace(line) == "" { // blank lines before the request line
		line, err = tp.ReadLine()
	}
	if err != nil {
		return nil, badRequest("", "a $batch part has no request line")
	}
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return nil, badRequest("", "malformed request line %q in the $batch", line)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, badRequest("", "malformed headers in the $batch part %q", line)
	}
	rest, _ := io.ReadAll(tp.R)
	return &batchRequest{
		id:     part.Header.Get("Content-ID"),
		method: strings.ToUpper(fields[0]),
		url:    fields[1],
		header: http.Header(mh),
		body:   bytes.TrimRight(rest, "\r\n"),
	}, nil
}

// jsonBatch is the 4.01 JSON batch format.
type jsonBatch struct {
	Requests []struct {
		ID             string            `json:"id"`
		Method         string            `json:"method"`
		URL            string            `json:"url"`
		Headers        map[string]string `json:"headers"`
		Body           json.RawMessage   `json:"body"`
		AtomicityGroup string            `json:"atomicityGroup"`
		DependsOn      []string          `json:"dependsOn"`
	} `json:"requests"`
}

func parseJSONBatch(body []byte) ([][]*batchRequest, error) {
	var jb jsonBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jb); err != nil {
		return nil, badRequest("", "malformed JSON $batch: %v", err)
	}
	if len(jb.Requests) > maxBatchRequests {
		return nil, badRequest("", "a $batch holds at most %d requests, this one %d", maxBatchRequests, len(jb.Requests))
	}
	var groups [][]*batchRequest
	seen := map[string]bool{}
	closed := map[string]bool{}
	for i, jr := range jb.Requests {
		if jr.ID == "" || seen[jr.ID] {
			return nil, badRequest("", "request %d of the $batch needs an id of its own", i)
		}
		seen[jr.ID] = true
		for _, d := range jr.DependsOn {
			if !seen[d] || d == jr.ID {
				return nil, badRequest("", "request %s depends on %s, which does not come before it", jr.ID, d)
			}
		}
		if jr.Method == "" || jr.URL == "" {
			return nil, badRequest("", "request %s of the $batch needs a method and a url", jr.ID)
		}
		req := &batchRequest{id: jr.ID, method: strings.ToUpper(jr.Method), url: jr.URL, header: http.Header{}, depends: jr.DependsOn, group: jr.AtomicityGroup}
		for k, v := range jr.Headers {
			req.header.Set(k, v)
		}
		if len(jr.Body) > 0 && string(jr.Body) != "null" {
			req.body = jr.Body
			if jr.Body[0] == '"' && !strings.Contains(req.header.Get("Content-Type"), "json") { // a text body
				var s string
				json.Unmarshal(jr.Body, &s)
				req.body = []byte(s)
			}
		}
		last := len(groups) - 1
		switch {
		case req.group != "" && last >= 0 && groups[last][0].group == req.group:
			groups[last] = append(groups[last], req)
		case req.group != "" && closed[req.group]:
			return nil, badRequest("", "the requests of atomicity group %s must be adjacent", req.group)
		default:
			if last >= 0 && groups[last][0].group != "" {
				closed[groups[last][0].group] = true
			}
			groups = append(groups, []*batchRequest{req})
		}
	}
	return groups, nil
}

// writeMultipartBatch answers in multipart/mixed: a part per request, a
// nested multipart per change set that committed, one part with the error
// for a change set that rolled back.
func writeMultipartBatch(w http.ResponseWriter, groups [][]*batchRequest, results [][]*batchResponse) error {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, res := range results {
		if groups[i][0].group == "" || failed(res) {
			r := res[0]
			if failed(res) {
				for _, x := range res {
					if x.status >= 400 && x.status != http.StatusFailedDependency {
						r = x
					}
				}
			}
			if err := writeHTTPPart(mw, r); err != nil {
				return err
			}
			continue
		}
		var inner bytes.Buffer
		cw := multipart.NewWriter(&inner)
		for _, r := range res {
			if err := writeHTTPPart(cw, r); err != nil {
				return err
			}
		}
		cw.Close()
		h := textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}}
		p, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		p.Write(inner.Bytes())
	}
	mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

func writeHTTPPart(mw *multipart.Writer, r *batchResponse) error {
	h := textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}}
	if r.id != "" {
		h["Content-ID"] = []string{r.id} // as the protocol spells it (Set would write Content-Id)
	}
	p, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	fmt.Fprintf(p, "HTTP/1.1 %d %s\r\n", r.status, http.StatusText(r.status))
	r.header.Write(p)
	io.WriteString(p, "\r\n")
	p.Write(r.body.Bytes())
	return nil
}

// writeJSONBatch answers {"responses":[{"id","status","headers","body"}]}.
func writeJSONBatch(w http.ResponseWriter, results [][]*batchResponse) error {
	b := []byte(`{"responses":[`)
	first := true
	for _, res := range results {
		for _, r := range res {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"id":`...)
			b = appendJSONString(b, r.id)
			b = append(b, `,"status":`...)
			b = strconv.AppendInt(b, int64(r.status), 10)
			b = append(b, `,"headers":{`...)
			i := 0
			for k := range r.header {
				if i > 0 {
					b = append(b, ',')
				}
				i++
				b = appendJSONString(b, strings.ToLower(k))
				b = append(b, ':')
				b = appendJSONString(b, r.header.Get(k))
			}
			b = append(b, '}')
			if body := r.body.Bytes(); len(body) > 0 {
				b = append(b, `,"body":`...)
				if json.Valid(body) {
					b = append(b, body...)
				} else {
					b = appendJSONString(b, string(body))
				}
			}
			b = append(b, '}')
		}
	}
	b = append(b, "]}"...)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// preference reports whether a Prefer header holds the given preference.
func preference(r *http.Request, name string) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			if k, _, _ := strings.Cut(strings.TrimSpace(p), "="); strings.EqualFold(strings.TrimSpace(k), name) {
				return true
			}
		}
	}
	return false
}
