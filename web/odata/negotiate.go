package odata

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// output is how one request's JSON answer is written: the format the client
// negotiated ($format or Accept) and the service root that makes
// @odata.context, @odata.id and links absolute.
type output struct {
	metadata string // "minimal" (the default), "full" or "none"
	// ieee754 writes Edm.Int64 values and @odata.count as JSON strings
	// (IEEE754Compatible=true), for clients whose numbers are doubles.
	ieee754 bool
	root    string // absolute service root, no trailing slash
}

const (
	metadataMinimal = "minimal"
	metadataFull    = "full"
	metadataNone    = "none"
)

// contentType echoes the negotiated format, as the protocol asks.
func (o *output) contentType() string {
	return "application/json;odata.metadata=" + o.metadata + ";odata.streaming=true;IEEE754Compatible=" + strconv.FormatBool(o.ieee754) + ";charset=utf-8"
}

// context is the absolute @odata.context URL for a fragment such as
// "Activity_SalesOpportunity(Subject)/$entity"; "" without metadata.
func (o *output) context(fragment string) string {
	if o.metadata == metadataNone {
		return ""
	}
	if fragment == "" {
		return o.root + "/$metadata"
	}
	return o.root + "/$metadata#" + fragment
}

// appendContext appends `"@odata.context":"…"` and a comma when the format
// has one; it returns b unchanged for odata.metadata=none.
func (o *output) appendContext(b []byte, fragment string) []byte {
	u := o.context(fragment)
	if u == "" {
		return b
	}
	b = append(b, `"@odata.context":`...)
	b = appendJSONString(b, u)
	return append(b, ',')
}

func (o *output) appendCount(b []byte, n int64) []byte {
	if o.ieee754 {
		return strconv.AppendQuote(b, strconv.FormatInt(n, 10))
	}
	return strconv.AppendInt(b, n, 10)
}

// negotiate reads the response format of a JSON resource from $format, or
// else from Accept: a client that accepts no JSON gets 406, an unknown
// odata.metadata value 406, a malformed IEEE754Compatible 400. It also
// checks the version headers (OData-Version 4.0 or 4.01, OData-MaxVersion
// at least 4.0; else 400), as Olingo and the ABNF do.
func (s *Service) negotiate(r *http.Request, q *queryOptions, text bool) (*output, error) {
	if err := checkVersions(r); err != nil {
		return nil, err
	}
	o := &output{metadata: metadataMinimal, root: s.serviceRoot(r)}
	var params map[string]string
	if q.format != "" {
		mt, p, err := parseFormat(q.format)
		if err != nil {
			return nil, err
		}
		if mt != "application/json" {
			return nil, &Error{Status: http.StatusNotAcceptable, Code: "NotAcceptable", Message: "$format=" + q.format + " is not supported: use json", Target: "$format"}
		}
		params = p
	} else if accept := r.Header.Values("Accept"); len(accept) > 0 && !text {
		ranges := parseAccept(strings.Join(accept, ","))
		best, ok := bestRange(ranges, "application", "json")
		if !ok || best.q <= 0 {
			return nil, &Error{Status: http.StatusNotAcceptable, Code: "NotAcceptable", Message: "this resource is only served as application/json, which the Accept header does not accept", Target: "Accept"}
		}
		params = best.params
	}
	for k, v := range params {
		switch strings.TrimPrefix(k, "odata.") {
		case "metadata":
			switch strings.ToLower(v) {
			case metadataMinimal, metadataFull, metadataNone:
				o.metadata = strings.ToLower(v)
			default:
				return nil, &Error{Status: http.StatusNotAcceptable, Code: "NotAcceptable", Message: "odata.metadata=" + v + " is not supported: use minimal, full or none"}
			}
		case "ieee754compatible":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, badRequest("", "IEEE754Compatible must be true or false, not %q", v)
			}
			o.ieee754 = b
		}
	}
	return o, nil
}

// checkVersions refuses version headers the service cannot answer.
func checkVersions(r *http.Request) error {
	for _, h := range []string{"OData-Version", "OData-MaxVersion"} {
		v := strings.TrimSpace(r.Header.Get(h))
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || strings.Count(v, ".") != 1 {
			return badRequest(h, "malformed %s header %q: expected a version such as 4.0", h, v)
		}
		switch {
		case n < 4:
			return badRequest(h, "%s %s is not supported: this service speaks OData 4.0", h, v)
		case h == "OData-Version" && n > 4.01:
			return badRequest(h, "OData-Version %s is not supported: send 4.0 or 4.01", v)
		}
	}
	return nil
}

// parseFormat reads a $format value: json, xml, or a media type with
// parameters. Parameter names are lowercase.
func parseFormat(f string) (string, map[string]string, error) {
	f = strings.TrimSpace(f)
	name, rest, _ := strings.Cut(f, ";")
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "json":
		name = "application/json"
	case "xml":
		name = "application/xml"
	case "atom":
		name = "application/atom+xml"
	}
	if rest != "" {
		name += ";" + rest
	}
	mt, params, err := mime.ParseMediaType(name)
	if err != nil {
		return "", nil, badRequest("$format", "malformed $format %q", f)
	}
	return mt, params, nil
}

// mediaRange is one element of an Accept header.
type mediaRange struct {
	typ, sub string
	q        float64
	params   map[string]string // without q; names lowercase
}

// parseAccept parses an Accept header; malformed elements are skipped, as
// RFC 9110 lets a server do.
func parseAccept(h string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(h, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		m := mediaRange{typ: typ, sub: sub, q: 1, params: params}
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				m.q = f
			}
			delete(params, "q")
		}
		out = append(out, m)
	}
	return out
}

// bestRange is the most specific range that matches typ/sub (RFC 9110
// 12.5.1: type/sub over type/* over */*); among equally specific ones the
// highest q.
func bestRange(ranges []mediaRange, typ, sub string) (mediaRange, bool) {
	var best mediaRange
	bestRank := -1
	for _, m := range ranges {
		rank := -1
		switch {
		case m.typ == typ && m.sub == sub:
			rank = 2
		case m.typ == typ && m.sub == "*":
			rank = 1
		case m.typ == "*" && m.sub == "*":
			rank = 0
		}
		if rank > bestRank || rank == bestRank && rank >= 0 && m.q > best.q {
			best, bestRank = m, rank
		}
	}
	return best, bestRank >= 0
}

// quality is the q the Accept ranges give typ/sub, 0 when none matches.
func quality(ranges []mediaRange, typ, sub string) float64 {
	if m, ok := bestRange(ranges, typ, sub); ok {
		return m.q
	}
	return 0
}

// metadataAsJSON decides the $metadata format: CSDL XML unless JSON is asked
// for, by $format=json or by an Accept that accepts application/json and no
// XML type at all. A generic "application/json, text/plain, */*" (axios)
// accepts XML through */* and gets XML: client generators that send it
// expect the CSDL XML every service has. Accepting neither is a 406.
func metadataAsJSON(r *http.Request, q *queryOptions) (bool, error) {
	if q.format != "" {
		mt, _, err := parseFormat(q.format)
		if err != nil {
			return false, err
		}
		switch mt {
		case "application/json":
			return true, nil
		case "application/xml":
			return false, nil
		}
		return false, &Error{Status: http.StatusNotAcceptable, Code: "NotAcceptable", Message: "$format=" + q.format + " is not supported for $metadata: use xml or json", Target: "$format"}
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return false, nil
	}
	ranges := parseAccept(strings.Join(accept, ","))
	xml := max(quality(ranges, "application", "xml"), quality(ranges, "text", "xml"))
	json := quality(ranges, "application", "json")
	switch {
	case xml > 0:
		return false, nil
	case json > 0:
		return true, nil
	}
	return false, &Error{Status: http.StatusNotAcceptable, Code: "NotAcceptable", Message: "$metadata is served as application/xml or application/json; the Accept header accepts neither", Target: "Accept"}
}
