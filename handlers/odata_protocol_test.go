package handlers_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// csdlSchemas is the folder of the OASIS CSDL schemas: PHASEBOARD_CSDL_SCHEMAS, else
// shared/standards/odata-csdl-schemas beside the repository (or one of its parents: worktrees
// sit deeper). A missing folder fails the test: the schemas are how CI knows $metadata is valid.
func csdlSchemas(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("PHASEBOARD_CSDL_SCHEMAS"); dir != "" {
		return dir
	}
	var candidates []string
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		candidates = append(candidates, filepath.Join(dir, "shared", "standards", "odata-csdl-schemas"))
	}
	// A fresh clone elsewhere (CI's) finds them where the project's documents live on these
	// machines, beside the main checkout.
	candidates = append(candidates, "/work/shared/standards/odata-csdl-schemas")
	for _, candidate := range candidates {
		if _, err := os.Stat(filepath.Join(candidate, "edmx.xsd")); err == nil {
			return candidate
		}
	}
	t.Fatal("the OASIS CSDL schemas (shared/standards/odata-csdl-schemas) are neither beside the repository nor in /work/shared; set PHASEBOARD_CSDL_SCHEMAS")
	return ""
}

// TestODataMetadataValidatesAgainstCSDLSchemas: $metadata is valid CSDL, the XML form by the
// OASIS XML schemas (xmllint, from Debian's libxml2-utils, which make test installs) and the JSON
// form by the OASIS JSON schema. The document depends on the model (with a custom field of every
// kind on opportunities and on every record type that takes them, which adds members to it)
// only, so one database serves.
func TestODataMetadataValidatesAgainstCSDLSchemas(t *testing.T) {
	dir := csdlSchemas(t)
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed (make test installs Debian's libxml2-utils)")
	}
	srv := newServer(t, "sqlite", 0)
	c := srv.client()
	types := []string{models.SalesOpportunity.Type}
	for _, r := range models.CustomRecordTypes {
		types = append(types, r.Type)
	}
	for _, typ := range types {
		for _, k := range models.CustomKinds {
			in := models.CustomFieldInput{EntityType: typ, Label: k.Label, Kind: k.Kind,
				Choices: []string{"A", "B"}, LinkTarget: models.TypeContact}
			if _, err := srv.store.DefineCustomField(context.Background(), in, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
	}

	code, body := c.get("/v1/odata/$metadata")
	if code != 200 || !strings.HasPrefix(body, "<?xml") {
		t.Fatalf("$metadata: %d %.200s", code, body)
	}
	file := filepath.Join(t.TempDir(), "metadata.xml")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(dir, "edmx.xsd"), file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CSDL XML does not validate: %v\n%s", err, out)
	}
	// The validator must be able to fail: a document with a stray element does not validate.
	broken := strings.Replace(body, "<Key>", "<Colour/><Key>", 1)
	os.WriteFile(file, []byte(broken), 0o600)
	if err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(dir, "edmx.xsd"), file).Run(); err == nil {
		t.Fatal("xmllint accepted an invalid document")
	}

	f, err := os.Open(filepath.Join(dir, "csdl.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	compiler := jsonschema.NewCompiler()
	if err := compiler.AddResource("csdl.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := compiler.Compile("csdl.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	code, body = c.get("/v1/odata/$metadata?$format=json")
	if code != 200 {
		t.Fatalf("$metadata?$format=json: %d %.200s", code, body)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("CSDL JSON does not validate: %v", err)
	}
	var bad map[string]any
	json.Unmarshal([]byte(body), &bad)
	bad["$Version"] = 4
	if err := schema.Validate(bad); err == nil {
		t.Fatal("the JSON schema accepted an invalid document")
	}
}

// TestODataProtocol covers the protocol items of issue 12 that do not touch writes, over the real
// server on both databases: $metadata negotiation, absolute context URLs, number suffixes,
// option spelling and the "+" rule.
func TestODataProtocol(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newODataEnv(t, dialect)
			pipe, phases := fixture(t, e.srv.store)
			subject, ph := "Bolt+Nut deal", phases["Proposal"].ID
			plus, err := e.srv.store.CreateActivity(context.Background(), models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &pipe.ID, PhaseID: &ph}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			e.ids["{plus}"] = plus.ID.String()
			contact, err := e.srv.store.Contact(context.Background(), uuid.MustParse(e.ids["{contact}"]))
			if err != nil {
				t.Fatal(err)
			}
			e.ids["{contact.name}"] = contact.FirstName + " " + contact.LastName
			var phaseCount int64
			e.srv.store.DB.Model(&models.Phase{}).Count(&phaseCount)
			e.ids["{phases}"] = fmt.Sprint(phaseCount)
			for _, c := range odataProtocolCases {
				t.Run(c.name, func(t *testing.T) {
					runODataCase(t, e, c)
				})
			}
		})
	}
}

// runODataCase sends one case and checks its answer (status, exact body, values, substrings,
// headers given as "Header: value" in has).
func runODataCase(t *testing.T, e *odataEnv, c odataCase) {
	t.Helper()
	method := c.method
	if method == "" {
		method = "GET"
	}
	status, header, body := e.do(method, c.path, c.header...)
	if status != c.status {
		t.Fatalf("%s %s: status %d, want %d: %.500s", method, c.path, status, c.status, body)
	}
	if c.exact != "" {
		if want := e.expand(c.exact); body != want {
			t.Fatalf("body\n got %s\nwant %s", body, want)
		}
	}
	if c.values != "" {
		field, list, _ := strings.Cut(c.values, ": ")
		var got []string
		for _, v := range decodeList(t, body) {
			s, _ := json.Marshal(v[field])
			got = append(got, strings.Trim(string(s), `"`))
		}
		if strings.Join(got, ", ") != list {
			t.Fatalf("%s: got %q, want %s", field, got, list)
		}
	}
	for _, h := range c.has {
		h = e.expand(h)
		if name, value, ok := strings.Cut(h, ": "); ok && !strings.ContainsAny(name, `{"`) {
			if got := header.Get(name); got != value {
				t.Fatalf("header %s = %q, want %q", name, got, value)
			}
			continue
		}
		if !strings.Contains(body, h) {
			t.Fatalf("body lacks %s: %.800s", h, body)
		}
	}
	if c.check != nil {
		c.check(t, e, body)
	}
}

const jsonMinimal = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

var odataProtocolCases = []odataCase{
	// $metadata: XML unless JSON is asked for and XML is not accepted.
	{name: "metadata: no Accept is XML", path: "/v1/odata/$metadata", status: 200, has: []string{"Content-Type: application/xml;charset=utf-8", "<edmx:Edmx"}},
	{name: "metadata: axios's Accept is XML", path: "/v1/odata/$metadata", header: []string{"Accept", "application/json, text/plain, */*"}, status: 200,
		has: []string{"Content-Type: application/xml;charset=utf-8"}},
	{name: "metadata: JSON preferred but XML accepted is XML", path: "/v1/odata/$metadata", header: []string{"Accept", "application/json, application/xml;q=0.5"}, status: 200,
		has: []string{"Content-Type: application/xml;charset=utf-8"}},
	{name: "metadata: Accept JSON only", path: "/v1/odata/$metadata", header: []string{"Accept", "application/json;q=0.9, text/html"}, status: 200,
		has: []string{"Content-Type: application/json;charset=utf-8", `"$Version":"4.0"`}},
	{name: "metadata: XML refused, JSON accepted", path: "/v1/odata/$metadata", header: []string{"Accept", "application/xml;q=0, text/xml;q=0, */*"}, status: 200,
		has: []string{"Content-Type: application/json;charset=utf-8"}},
	{name: "metadata: $format=json wins over Accept", path: "/v1/odata/$metadata?$format=json", header: []string{"Accept", "application/xml"}, status: 200,
		has: []string{"Content-Type: application/json;charset=utf-8"}},
	{name: "metadata: $format=application/xml", path: "/v1/odata/$metadata?$format=application/xml", status: 200, has: []string{"Content-Type: application/xml;charset=utf-8"}},
	{name: "metadata: nothing acceptable is 406", path: "/v1/odata/$metadata", header: []string{"Accept", "text/html"}, status: 406, has: []string{`"code":"NotAcceptable"`}},
	{name: "metadata: $format=atom is 406", path: "/v1/odata/$metadata?$format=atom", status: 406},

	// Absolute context URLs for every kind of resource, with and without the trailing slash.
	{name: "context: service document", path: "/v1/odata", status: 200, has: []string{`{"@odata.context":"{base}/v1/odata/$metadata","value":[`}},
	{name: "context: service document (slash)", path: "/v1/odata/", status: 200, has: []string{`{"@odata.context":"{base}/v1/odata/$metadata","value":[`}},
	{name: "context: collection", path: "/v1/odata/Datastore_Phase_ActivityInvoice?$select=Code&$orderby=Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase_ActivityInvoice(Code)","value":[{"Code":"DRAFT"},{"Code":"PAID"},{"Code":"SENT"}]}`},
	{name: "context: entity", path: "/v1/odata/Datastore_Phase({qual})?$select=Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(Code)/$entity","Code":"QUAL"}`},
	{name: "context: property", path: "/v1/odata/Datastore_Phase({qual})/Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase({qual})/Code","value":"QUAL"}`},
	{name: "context: to-one navigation", path: "/v1/odata/Datastore_Phase({qual})/Pipeline?$select=Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Pipeline(Name)/$entity","Name":"Sales"}`},
	{name: "context: to-many navigation", path: "/v1/odata/Activity_SalesOpportunity({alpha})/ProductLines?$select=Description&$orderby=Description", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#ProductLine(Description)","value":[{"Description":"Licences"},{"Description":"Training"}]}`},
	{name: "context: to-one $ref", path: "/v1/odata/Datastore_Phase({qual})/Pipeline/$ref", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#$ref","@odata.id":"{base}/v1/odata/Pipeline({pipeline})"}`},
	{name: "context: to-many $ref", path: "/v1/odata/Activity_SalesOpportunity({charlie})/ProductLines/$ref", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Collection($ref)","value":[{"@odata.id":"{base}/v1/odata/ProductLine({line3})"}]}`},
	{name: "context: $apply", path: "/v1/odata/Activity_SalesOpportunity?$apply=aggregate($count as N)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(N)","value":[{"N":6}]}`},
	{name: "context: function import", path: "/v1/odata/GetCurrentEmployee()?$select=_Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Relationship_Person_Contact_Employee(_Name)/$entity","_Name":"Anna de Vries"}`},

	// Numeric literals with type suffixes, either case.
	{name: "suffix D", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount gt 50000D&$select=Subject", status: 200, values: "Subject: Charlie licence"},
	{name: "suffix d, M, F, L", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount ge 50000d and EstimatedAmount le 80000.0M and Probability ge 0F and length(Subject) gt 1L&$select=Subject&$orderby=Subject", status: 200,
		values: "Subject: Bravo renewal, Charlie licence"},
	{name: "suffix m and l", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount eq 5000.00m or EstimatedAmount eq 10000l&$select=Subject&$orderby=Subject", status: 200,
		values: "Subject: Alpha CRM rollout, Echo won deal"},
	{name: "suffix L on a decimal is a 400", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount gt 1.5L", status: 400, has: []string{"suffix L"}},

	// System query options: case-insensitive, and without "$" as OData 4.01 allows.
	{name: "options: $FILTER and $Select", path: "/v1/odata/Activity_SalesOpportunity?$FILTER=EstimatedAmount gt 50000&$Select=Subject", status: 200, values: "Subject: Charlie licence"},
	{name: "options: without $", path: "/v1/odata/Activity_SalesOpportunity?filter=EstimatedAmount gt 50000&select=Subject&orderby=Subject&top=1", status: 200, values: "Subject: Charlie licence"},
	{name: "options: inside $expand without $", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject&$expand=ProductLines(select=Description;orderby=Description desc;TOP=1)", status: 200,
		has: []string{`"ProductLines":[{"Description":"Training"}]`}},
	{name: "options: one option twice is a 400", path: "/v1/odata/Activity_SalesOpportunity?filter=true&$filter=false", status: 400, has: []string{"more than once"}},
	{name: "options: custom options stay ignored", path: "/v1/odata/Activity_SalesOpportunity?colour=red&$select=Subject&$filter=EstimatedAmount gt 50000", status: 200, values: "Subject: Charlie licence"},

	// A raw "+": a plus where the parameter writes spaces as %20, a space where it uses "+" for them.
	{name: "plus: raw + with %20 spaces is a plus", path: "/v1/odata/Activity_SalesOpportunity?$filter=Subject eq 'Bolt+Nut deal'&$select=Subject", status: 200, values: "Subject: Bolt+Nut deal"},
	{name: "plus: form encoding, + is a space", path: "/v1/odata/Activity_SalesOpportunity?$filter=Subject+eq+'Bravo+renewal'&$select=Subject", status: 200, values: "Subject: Bravo renewal"},
	{name: "plus: form encoding, %2B is a plus", path: "/v1/odata/Activity_SalesOpportunity?$filter=Subject+eq+'Bolt%2BNut+deal'&$select=Subject", status: 200, values: "Subject: Bolt+Nut deal"},
	{name: "plus: raw + in a date-time offset", path: "/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-03-05T10:30:00+01:00&$select=Subject", status: 200, values: "Subject: Echo won deal"},
	{name: "plus: form-encoded date-time offset", path: "/v1/odata/Activity_SalesOpportunity?$filter=CreationDate+gt+2026-03-05T10:30:00%2B01:00&$select=Subject", status: 200, values: "Subject: Echo won deal"},

	// odata.metadata, IEEE754Compatible, $format, Accept and the version headers.
	// Full metadata names each row's own type, the subtype of a base set's, even when _Type is not selected.
	{name: "metadata=full", path: "/v1/odata/Datastore_Phase({qual})?$select=ID,Code&$format=application/json;odata.metadata=full", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(ID,Code)/$entity","@odata.type":"#Datastore.Phase.ActivitySalesOpportunity","@odata.id":"{base}/v1/odata/Datastore_Phase({qual})",` +
			`"@odata.editLink":"Datastore_Phase({qual})","ID@odata.type":"#Guid","ID":"{qual}","Code":"QUAL"}`,
		has: []string{"Content-Type: application/json;odata.metadata=full;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"}},
	{name: "metadata=full links navigation properties", path: "/v1/odata/Pipeline({pipeline})?$select=Name&$expand=Phases($select=Code;$filter=Code eq 'QUAL')", header: []string{"Accept", "application/json;odata.metadata=full"}, status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Pipeline(Name,Phases(Code))/$entity","@odata.type":"#Pipeline","@odata.id":"{base}/v1/odata/Pipeline({pipeline})","@odata.editLink":"Pipeline({pipeline})",` +
			`"Name":"Sales","Phases@odata.navigationLink":"Pipeline({pipeline})/Phases","Phases":[{"@odata.type":"#Datastore.Phase.ActivitySalesOpportunity","@odata.id":"{base}/v1/odata/Datastore_Phase({qual})","@odata.editLink":"Datastore_Phase({qual})","Code":"QUAL"}]}`},
	{name: "metadata=full on a collection", path: "/v1/odata/Activity_SalesOpportunity?$select=Subject,ExpectedOrderDate&$filter=Subject eq 'Bravo renewal'", header: []string{"Accept", "application/json;odata.metadata=full"}, status: 200,
		has: []string{`"@odata.etag":"W/\"1\"","@odata.type":"#Activity.SalesOpportunity","@odata.id":"{base}/v1/odata/Activity_SalesOpportunity({bravo})","@odata.editLink":"Activity_SalesOpportunity({bravo})","Subject":"Bravo renewal","ExpectedOrderDate@odata.type":"#Date","ExpectedOrderDate":"2026-06-30"`}},
	{name: "metadata=none", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject", header: []string{"Accept", "application/json;odata.metadata=none"}, status: 200,
		exact: `{"Subject":"Alpha CRM rollout"}`, has: []string{"Content-Type: application/json;odata.metadata=none;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"}},
	{name: "metadata=none keeps count and next link", path: "/v1/odata/Datastore_Phase?$select=Code&$count=true&$format=application/json;odata.metadata=none", header: []string{"Prefer", "odata.maxpagesize=1"}, status: 200,
		has: []string{`{"@odata.count":{phases},"value":[{"Code":`, `"@odata.nextLink":"{base}/v1/odata/Datastore_Phase?`}},
	{name: "metadata=minimal is the default", path: "/v1/odata/Datastore_Phase({qual})?$select=Code", status: 200, has: []string{"Content-Type: " + jsonMinimal}},
	{name: "IEEE754Compatible: Int64 and counts as strings", path: "/v1/odata/Activity_SalesOpportunity?$apply=aggregate($count as N)&$count=true", header: []string{"Accept", "application/json;IEEE754Compatible=true"}, status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(N)","@odata.count":"1","value":[{"N":"6"}]}`,
		has:   []string{"Content-Type: application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=true;charset=utf-8"}},
	{name: "IEEE754Compatible in $format", path: "/v1/odata/Datastore_Phase?$top=0&$count=true&$format=application/json;IEEE754Compatible=true", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase","@odata.count":"{phases}","value":[]}`},
	{name: "IEEE754Compatible malformed", path: "/v1/odata/Datastore_Phase", header: []string{"Accept", "application/json;IEEE754Compatible=maybe"}, status: 400},
	{name: "Accept without JSON is a 406", path: "/v1/odata/Datastore_Phase", header: []string{"Accept", "application/xml, text/html"}, status: 406, has: []string{`"code":"NotAcceptable"`}},
	{name: "Accept with JSON at q=0 is a 406", path: "/v1/odata/Datastore_Phase", header: []string{"Accept", "application/json;q=0, */*;q=0.1"}, status: 406},
	{name: "Accept */* is JSON", path: "/v1/odata/Datastore_Phase?$top=1&$select=Code&$orderby=Code", header: []string{"Accept", "*/*"}, status: 200, has: []string{"Content-Type: " + jsonMinimal}},
	{name: "unknown odata.metadata is a 406", path: "/v1/odata/Datastore_Phase", header: []string{"Accept", "application/json;odata.metadata=verbose"}, status: 406},
	{name: "$format=xml on data is a 406", path: "/v1/odata/Datastore_Phase?$format=xml", status: 406},
	{name: "$count is text/plain whatever Accept says", path: "/v1/odata/Datastore_Phase/$count", header: []string{"Accept", "text/plain"}, status: 200, exact: "{phases}"},
	{name: "OData-Version 4.01 is taken", path: "/v1/odata/Datastore_Phase/$count", header: []string{"OData-Version", "4.01", "OData-MaxVersion", "4.01"}, status: 200, has: []string{"OData-Version: 4.0"}},
	{name: "OData-MaxVersion above 4.01 is taken", path: "/v1/odata/Datastore_Phase/$count", header: []string{"OData-MaxVersion", "5.0"}, status: 200},
	{name: "OData-Version 3.0 is a 400", path: "/v1/odata/Datastore_Phase", header: []string{"OData-Version", "3.0"}, status: 400, has: []string{"OData 4.0"}},
	{name: "OData-MaxVersion 3.0 is a 400", path: "/v1/odata/$metadata", header: []string{"OData-MaxVersion", "3.0"}, status: 400},
	{name: "OData-Version malformed is a 400", path: "/v1/odata/Datastore_Phase", header: []string{"OData-Version", "four"}, status: 400},

	// 405 with the true Allow; conditional GETs; HEAD.
	{name: "405: read-only collection", method: "POST", path: "/v1/odata/Datastore_Phase", status: 405, has: []string{"Allow: GET, HEAD"}},
	{name: "405: read-only entity", method: "PATCH", path: "/v1/odata/Datastore_Phase({qual})", status: 405, has: []string{"Allow: GET, HEAD"}},
	{name: "405: writable collection", method: "PUT", path: "/v1/odata/Activity_SalesOpportunity", status: 405, has: []string{"Allow: GET, HEAD, POST"}},
	{name: "405: writable entity", method: "POST", path: "/v1/odata/Activity_SalesOpportunity({alpha})", status: 405, has: []string{"Allow: GET, HEAD, PATCH, PUT, DELETE"}},
	{name: "405: $metadata", method: "DELETE", path: "/v1/odata/$metadata", status: 405, has: []string{"Allow: GET, HEAD"}},
	{name: "405: service document", method: "POST", path: "/v1/odata/", status: 405, has: []string{"Allow: GET, HEAD"}},
	{name: "405: $count", method: "POST", path: "/v1/odata/Activity_SalesOpportunity/$count", status: 405, has: []string{"Allow: GET, HEAD"}},
	{name: "405: property of a read-only set", method: "PUT", path: "/v1/odata/Datastore_Phase({qual})/Name", status: 405, has: []string{"Allow: GET, HEAD"}},
	{name: "501: writing a property", method: "PUT", path: "/v1/odata/Activity_SalesOpportunity({alpha})/Subject", status: 501, has: []string{"Allow: GET, HEAD", `"code":"NotImplemented"`}},
	{name: "501: writing a link", method: "PUT", path: "/v1/odata/Activity_SalesOpportunity({alpha})/Phase/$ref", status: 501},
	{name: "If-None-Match current is 304", path: "/v1/odata/Activity_SalesOpportunity({alpha})", header: []string{"If-None-Match", `W/"1"`}, status: 304, exact: "", has: []string{`ETag: W/"1"`}},
	{name: "If-None-Match strong form of the tag is 304", path: "/v1/odata/Activity_SalesOpportunity({alpha})", header: []string{"If-None-Match", `"1"`}, status: 304},
	{name: "If-None-Match * is 304", path: "/v1/odata/Activity_SalesOpportunity({alpha})", header: []string{"If-None-Match", `*`}, status: 304},
	{name: "If-None-Match stale is 200", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject", header: []string{"If-None-Match", `W/"0", W/"7"`}, status: 200, has: []string{`"Subject":"Alpha CRM rollout"`}},
	{name: "If-Match stale on GET is 412", path: "/v1/odata/Activity_SalesOpportunity({alpha})", header: []string{"If-Match", `W/"2"`}, status: 412, has: []string{`"code":"PreconditionFailed"`}},
	{name: "If-Match current on GET is 200", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject", header: []string{"If-Match", `W/"1"`}, status: 200},
	{name: "If-Match * on GET is 200", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject", header: []string{"If-Match", `*`}, status: 200},
	{name: "If-Match on a set without ETags is 412", path: "/v1/odata/Datastore_Phase({qual})", header: []string{"If-Match", `W/"1"`}, status: 412},
	{name: "If-Match malformed is 400", path: "/v1/odata/Activity_SalesOpportunity({alpha})", header: []string{"If-Match", `1`}, status: 400},
	{name: "HEAD on a collection", method: "HEAD", path: "/v1/odata/Datastore_Phase", status: 200, exact: "", has: []string{"Content-Type: " + jsonMinimal}},
	{name: "HEAD on an entity", method: "HEAD", path: "/v1/odata/Activity_SalesOpportunity({alpha})", status: 200, has: []string{`ETag: W/"1"`}},
	{name: "HEAD on $metadata", method: "HEAD", path: "/v1/odata/$metadata", status: 200, has: []string{"Content-Type: application/xml;charset=utf-8"}},

	// URL features of the Intermediate level.
	{name: "alias in $filter", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount gt @p&@p=50000&$select=Subject", status: 200, values: "Subject: Charlie licence"},
	{name: "alias with a string, used twice", path: "/v1/odata/Activity_SalesOpportunity?$filter=Subject eq @s or Subject eq @s&@s='Bravo renewal'&$select=Subject", status: 200, values: "Subject: Bravo renewal"},
	{name: "alias not given is null", path: "/v1/odata/Activity_SalesOpportunity?$filter=Probability eq @missing&$select=Subject", status: 200, exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject)","value":[]}`},
	{name: "alias in $top and inside $expand", path: "/v1/odata/Activity_SalesOpportunity?$top=@t&@t=1&$orderby=Subject&$select=Subject&$expand=ProductLines($filter=Amount gt @a;$select=Description)&@a=100", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject,ProductLines(Description))","value":[{"@odata.etag":"W/\"1\"","Subject":"Alpha CRM rollout","ProductLines":[{"Description":"Training"}]}]}`},
	{name: "alias in $apply", path: "/v1/odata/Activity_SalesOpportunity?$apply=filter(EstimatedAmount ge @min)/aggregate($count as N)&@min=50000", status: 200, has: []string{`"value":[{"N":2}]`}},
	{name: "alias using an alias is a 400", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount gt @p&@p=@q&@q=1", status: 400, has: []string{"cannot use another alias"}},
	{name: "type cast on a collection", path: "/v1/odata/Datastore_Phase/Datastore.Phase.ActivityInvoice?$select=Code&$orderby=Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase/Datastore.Phase.ActivityInvoice(Code)","value":[{"Code":"DRAFT"},{"Code":"PAID"},{"Code":"SENT"}]}`},
	{name: "type cast, $count", path: "/v1/odata/Datastore_Phase/Datastore.Phase.ActivityInvoice/$count", status: 200, exact: "3"},
	{name: "type cast on an entity", path: "/v1/odata/Datastore_Phase({draft})/Datastore.Phase.ActivityInvoice?$select=Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase/Datastore.Phase.ActivityInvoice(Code)/$entity","Code":"DRAFT"}`},
	{name: "type cast with the key after it", path: "/v1/odata/Datastore_Phase/Datastore.Phase.ActivityInvoice({draft})/Code", status: 200, has: []string{`"value":"DRAFT"`}},
	{name: "type cast to another subtype is a 404", path: "/v1/odata/Datastore_Phase({qual})/Datastore.Phase.ActivityInvoice", status: 404},
	{name: "type cast to an unrelated type is a 404", path: "/v1/odata/Datastore_Phase/Activity.SalesOpportunity", status: 404},
	{name: "type cast on the activity base set", path: "/v1/odata/Activity/Activity.SalesOpportunity/$count", status: 200, exact: "6"},
	{name: "isof(Type)", path: "/v1/odata/Datastore_Phase?$filter=isof(Datastore.Phase.ActivityInvoice)&$select=Code&$orderby=Code", status: 200, values: "Code: DRAFT, PAID, SENT"},
	{name: "isof('Type') and isof($it, Type)", path: "/v1/odata/Datastore_Phase/$count?$filter=isof('Datastore.Phase.ActivityInvoice') or isof($it, Datastore.Phase.ActivitySalesOpportunity)", status: 200, exact: "12"},
	{name: "isof of the set's own type", path: "/v1/odata/Datastore_Phase/$count?$filter=isof(Datastore.Phase)", status: 200, exact: "{phases}"},
	{name: "isof of an unrelated type", path: "/v1/odata/Datastore_Phase/$count?$filter=isof(Pipeline) or isof(Phaseboard.Pipeline)", status: 200, exact: "0"},
	{name: "isof of a value", path: "/v1/odata/Activity_SalesOpportunity/$count?$filter=isof(EstimatedAmount, Edm.Double) and not isof(Subject, Edm.Int64)", status: 200, exact: "6"},
	{name: "cast of a value", path: "/v1/odata/Activity_SalesOpportunity?$filter=cast(EstimatedAmount, Edm.Int64) eq 50000 and cast(cast(EstimatedAmount, Edm.Int32), 'Edm.String') ne 'x'&$select=Subject", status: 200, values: "Subject: Bravo renewal"},
	{name: "cast to an unsupported type is a 501", path: "/v1/odata/Activity_SalesOpportunity?$filter=cast(Subject, Edm.Boolean)", status: 501},
	{name: "cast of the entity is a 501", path: "/v1/odata/Datastore_Phase?$filter=cast(Datastore.Phase.ActivityInvoice) ne null", status: 501},
	{name: "$expand=*", path: "/v1/odata/Datastore_Phase({qual})?$select=Code&$expand=*", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(Code,Pipeline())/$entity","Code":"QUAL","Pipeline":{"ID":"{pipeline}","_Type":"Pipeline","_Name":"Sales","SortIndex":1,` + stamped + `,"ImportId":"demo:pipeline:sales","Name":"Sales","ActivityType":"Activity.SalesOpportunity"}}`},
	{name: "$expand=* with options", path: "/v1/odata/Activity_SalesOpportunity({charlie})?$select=Subject&$expand=*($select=ID)", status: 200,
		has: []string{`"ProductLines":[{"ID":"{line3}"}]`, `"Phase":{"ID":"{nego}"}`, `"Relationship":null`}},
	{name: "$select=*", path: "/v1/odata/Datastore_Phase({qual})?$select=*", status: 200, has: []string{`"Code":"QUAL"`, `"DefaultProbability":10`}},
	{name: "$levels", path: "/v1/odata/Activity({alpha})?$select=Subject&$expand=LinkedActivities($select=Subject;$levels=2)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity(Subject,LinkedActivities(Subject,LinkedActivities(Subject)))/$entity",` + etag1 + `"Subject":"Alpha CRM rollout","LinkedActivities":[{` + etag1 + `"Subject":"Echo won deal","LinkedActivities":[]}]}`},
	{name: "$levels=max", path: "/v1/odata/Activity({alpha})?$select=Subject&$expand=LinkedActivities($select=Subject;$levels=max)", status: 200, has: []string{`"Subject":"Echo won deal","LinkedActivities":[]`}},
	{name: "$levels on a navigation that does not recur", path: "/v1/odata/Pipeline?$expand=Phases($levels=2)", status: 400, has: []string{"recursive"}},
	{name: "$levels at the top level is a 501", path: "/v1/odata/Pipeline?$levels=2", status: 501},
	{name: "Nav/$count in $filter", path: "/v1/odata/Activity_SalesOpportunity?$filter=ProductLines/$count gt 1&$select=Subject", status: 200, values: "Subject: Alpha CRM rollout"},
	{name: "Nav/$count in $orderby", path: "/v1/odata/Activity_SalesOpportunity?$orderby=ProductLines/$count desc,Subject&$select=Subject&$top=3", status: 200,
		values: "Subject: Alpha CRM rollout, Charlie licence, Bolt+Nut deal"},
	{name: "Nav/$count through a to-one path", path: "/v1/odata/Datastore_Phase/$count?$filter=Pipeline/Phases/$count eq 5", status: 200, exact: "5"},
	{name: "$ref of a to-many navigation", path: "/v1/odata/Activity_SalesOpportunity({alpha})/ProductLines/$ref?$orderby=Description", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Collection($ref)","value":[{"@odata.id":"{base}/v1/odata/ProductLine({line1})"},{"@odata.id":"{base}/v1/odata/ProductLine({line2})"}]}`},
	{name: "$ref of a to-one navigation", path: "/v1/odata/Activity_SalesOpportunity({alpha})/Phase/$ref", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#$ref","@odata.id":"{base}/v1/odata/Datastore_Phase_ActivitySalesOpportunity({qual})"}`},
	{name: "$ref of a set", path: "/v1/odata/Datastore_Phase_ActivityInvoice/$ref?$filter=Code eq 'DRAFT'", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Collection($ref)","value":[{"@odata.id":"{base}/v1/odata/Datastore_Phase_ActivityInvoice({draft})"}]}`},
	{name: "$entity with an absolute $id", path: "/v1/odata/$entity?$id={base}/v1/odata/Datastore_Phase({qual})&$select=Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(Code)/$entity","Code":"QUAL"}`},
	{name: "$entity with a relative $id", path: "/v1/odata/$entity?$id=Pipeline({pipeline})&$select=Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Pipeline(Name)/$entity","Name":"Sales"}`},
	{name: "$entity without $id is a 400", path: "/v1/odata/$entity", status: 400},

	// Unsupported features answer 501, not 404 or 400.
	{name: "$batch without a body type is a 415", method: "POST", path: "/v1/odata/$batch", status: 415},
	{name: "$batch takes only POST", path: "/v1/odata/$batch", status: 405, has: []string{"Allow: POST"}},
	{name: "501: $crossjoin", path: "/v1/odata/$crossjoin(Pipeline,Datastore_Phase)", status: 501},
	{name: "501: $all", path: "/v1/odata/$all", status: 501},
	{name: "501: $entity with a type cast", path: "/v1/odata/$entity/Pipeline?$id=Pipeline({pipeline})", status: 501},
	{name: "501: a canonical function not implemented", path: "/v1/odata/Activity_SalesOpportunity?$filter=fractionalseconds(CreationDate) eq 0", status: 501, has: []string{`"target":"$filter"`}},
	{name: "501: $expand with $ref", path: "/v1/odata/Activity_SalesOpportunity?$expand=ProductLines/$ref", status: 501},
	{name: "501: $index", path: "/v1/odata/Activity_SalesOpportunity?$index=1", status: 501},
	{name: "501: cast after a navigation", path: "/v1/odata/Pipeline({pipeline})/Phases/Datastore.Phase.ActivityInvoice", status: 501},
	{name: "400: an unknown function stays a 400", path: "/v1/odata/Activity_SalesOpportunity?$filter=frobnicate(Subject)", status: 400},

	// $search: real boolean semantics over subject, number, customer and contact names.
	{name: "search: a customer name", path: "/v1/odata/Activity_SalesOpportunity?$search=acme&$select=Subject&$count=true", status: 200, values: "Subject: Alpha CRM rollout", has: []string{`"@odata.count":1,`}},
	{name: "search: a contact's name as a phrase", path: "/v1/odata/Activity_SalesOpportunity?$search=\"{contact.name}\"&$select=Subject", status: 200, values: "Subject: Alpha CRM rollout"},
	{name: "search: a number", path: "/v1/odata/Activity_SalesOpportunity?$search={bravo.number}&$select=Subject", status: 200, values: "Subject: Bravo renewal"},
	{name: "search: two terms are AND", path: "/v1/odata/Activity_SalesOpportunity?$search=deal won&$select=Subject&$count=true", status: 200, values: "Subject: Echo won deal", has: []string{`"@odata.count":1,`}},
	{name: "search: AND across fields", path: "/v1/odata/Activity_SalesOpportunity?$search=acme AND rollout&$select=Subject", status: 200, values: "Subject: Alpha CRM rollout"},
	{name: "search: OR", path: "/v1/odata/Activity_SalesOpportunity?$search=renewal OR licence&$select=Subject&$orderby=Subject&$count=true", status: 200,
		values: "Subject: Bravo renewal, Charlie licence", has: []string{`"@odata.count":2,`}},
	{name: "search: NOT", path: "/v1/odata/Activity_SalesOpportunity?$search=NOT deal&$select=Subject&$orderby=Subject&$count=true", status: 200,
		values: "Subject: Alpha CRM rollout, Bravo renewal, Charlie licence", has: []string{`"@odata.count":3,`}},
	{name: "search: NOT with a phrase and parentheses", path: "/v1/odata/Activity_SalesOpportunity?$search=(deal OR renewal) NOT \"won deal\"&$select=Subject&$orderby=Subject", status: 200,
		values: "Subject: Bolt+Nut deal, Bravo renewal, Delta lost deal"},
	{name: "search: $count", path: "/v1/odata/Activity_SalesOpportunity/$count?$search=deal", status: 200, exact: "3"},
	{name: "search: on the Activity base set", path: "/v1/odata/Activity?$search=acme&$select=Subject", status: 200, values: "Subject: Alpha CRM rollout"},
	{name: "search: malformed", path: "/v1/odata/Activity_SalesOpportunity?$search=deal AND", status: 400, has: []string{`"target":"$search"`}},

	// $compute: arithmetic and string functions, usable in $select, $filter and $orderby.
	{name: "compute: arithmetic", path: "/v1/odata/Activity_SalesOpportunity?$compute=EstimatedAmount mul Probability div 100 as W&$select=Subject,W,WeightedAmount&$filter=W gt 5000&$orderby=W desc", status: 200,
		has: []string{`"value":[{` + etag1 + `"Subject":"Charlie licence","WeightedAmount":48000,"W":48000},{` + etag1 + `"Subject":"Bravo renewal","WeightedAmount":15000,"W":15000}]`}},
	{name: "compute: string functions over a navigation path", path: "/v1/odata/Activity_SalesOpportunity?$compute=concat(concat(Subject,' / '),toupper(Phase/Name)) as Label&$select=Label&$filter=startswith(Label,'Alpha')", status: 200,
		has: []string{`"Label":"Alpha CRM rollout / QUALIFICATION"`}},
	{name: "compute: inside $expand", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject&$expand=ProductLines($compute=Amount mul 2 as Twice;$select=Twice;$orderby=Twice)", status: 200,
		has: []string{`"ProductLines":[{"Twice":100},{"Twice":300}]`}},
	{name: "compute: alias clash", path: "/v1/odata/Activity_SalesOpportunity?$compute=1 as Subject", status: 400},
	{name: "divby never truncates", path: "/v1/odata/Activity_SalesOpportunity/$count?$filter=length(Subject) divby 2 eq 7.5", status: 200, exact: "2"},
	{name: "501: the has operator", path: "/v1/odata/Activity_SalesOpportunity?$filter=Subject has 'x'", status: 501},
}

// TestODataMetadataAnnotations: the capabilities and ownership that tools read from $metadata,
// the same in the XML and JSON forms, and nullability that agrees between them.
func TestODataMetadataAnnotations(t *testing.T) {
	srv := newServer(t, "sqlite", 0)
	c := srv.client()
	_, x := c.get("/v1/odata/$metadata")
	_, j := c.get("/v1/odata/$metadata?$format=json")
	setXML := func(name string) string {
		m := regexp.MustCompile(`<EntitySet Name="` + name + `" [^>]*>(.*?)</EntitySet>`).FindStringSubmatch(x)
		if m == nil {
			t.Fatalf("no set %s", name)
		}
		return m[1]
	}
	for set, want := range map[string][]string{
		"Activity": {`<Annotation Term="Capabilities.InsertRestrictions"><Record><PropertyValue Property="Insertable" Bool="false"/></Record></Annotation>`,
			`<PropertyValue Property="Updatable" Bool="false"/>`, `<PropertyValue Property="Deletable" Bool="false"/>`, `<PropertyValue Property="Searchable" Bool="true"/>`},
		"Activity_SalesOpportunity": {`<PropertyValue Property="Insertable" Bool="true"/>`, `<PropertyValue Property="Updatable" Bool="true"/>`, `<PropertyValue Property="Deletable" Bool="true"/>`,
			`<Annotation Term="Capabilities.FilterRestrictions"><Record><PropertyValue Property="NonFilterableProperties"><Collection><PropertyPath>_Type</PropertyPath></Collection></PropertyValue></Record></Annotation>`},
		"Datastore_Phase": {`<PropertyValue Property="Insertable" Bool="false"/>`, `<PropertyValue Property="Searchable" Bool="false"/>`},
	} {
		body := setXML(set)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s: %s", set, w, body)
			}
		}
	}
	for _, w := range []string{
		`<edmx:Reference Uri="https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml"><edmx:Include Namespace="Org.OData.Capabilities.V1" Alias="Capabilities"/></edmx:Reference>`,
		`<edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/>`,
		`<EntityContainer Name="Container"><Annotation Term="Capabilities.BatchSupported" Bool="true"/>`,
		`<Property Name="CreationDate" Type="Edm.DateTimeOffset" Nullable="false" Precision="6"><Annotation Term="Core.Computed" Bool="true"/></Property>`,
		`<Property Name="Number" Type="Edm.String" Nullable="false"><Annotation Term="Core.Computed" Bool="true"/></Property>`,
		`<ReturnType Type="Relationship.Person.Contact.Employee" Nullable="false"/>`,
	} {
		if !strings.Contains(x, w) {
			t.Errorf("$metadata lacks %s", w)
		}
	}
	for _, w := range []string{`"$Reference":{"https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.json":{"$Include":[{"$Namespace":"Org.OData.Capabilities.V1","$Alias":"Capabilities"}]}`,
		`"@Capabilities.BatchSupported":true`, `"CreationDate":{"$Type":"Edm.DateTimeOffset","$Precision":6,"@Core.Computed":true}`,
		`"@Capabilities.InsertRestrictions":{"Insertable":true}`, `"@Capabilities.FilterRestrictions":{"NonFilterableProperties":[{"$PropertyPath":"_Type"}]}`} {
		if !strings.Contains(j, w) {
			t.Errorf("CSDL JSON lacks %s", w)
		}
	}

	// Nullable agrees: XML's Nullable="false" is JSON's missing $Nullable, and the other way round.
	var doc struct {
		Schemas []struct {
			Namespace string `xml:"Namespace,attr"`
			Types     []struct {
				Name  string `xml:"Name,attr"`
				Props []struct {
					Name     string `xml:"Name,attr"`
					Nullable string `xml:"Nullable,attr"`
				} `xml:"Property"`
				Navs []struct {
					Name     string `xml:"Name,attr"`
					Type     string `xml:"Type,attr"`
					Nullable string `xml:"Nullable,attr"`
				} `xml:"NavigationProperty"`
			} `xml:"EntityType"`
		} `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal([]byte(x), &doc); err != nil {
		t.Fatal(err)
	}
	var js map[string]json.RawMessage
	mustJSON(t, j, &js)
	checked := 0
	for _, s := range doc.Schemas {
		var schema map[string]json.RawMessage
		mustJSON(t, string(js[s.Namespace]), &schema)
		for _, ty := range s.Types {
			var members map[string]json.RawMessage
			mustJSON(t, string(schema[ty.Name]), &members)
			nullableJSON := func(name string) bool {
				var m struct {
					Nullable bool `json:"$Nullable"`
				}
				mustJSON(t, string(members[name]), &m)
				return m.Nullable
			}
			for _, p := range ty.Props {
				if (p.Nullable != "false") != nullableJSON(p.Name) {
					t.Errorf("%s.%s/%s: XML Nullable=%q, JSON $Nullable=%v", s.Namespace, ty.Name, p.Name, p.Nullable, nullableJSON(p.Name))
				}
				checked++
			}
			for _, n := range ty.Navs {
				if !strings.HasPrefix(n.Type, "Collection(") && (n.Nullable != "false") != nullableJSON(n.Name) {
					t.Errorf("%s.%s/%s: XML Nullable=%q, JSON $Nullable=%v", s.Namespace, ty.Name, n.Name, n.Nullable, nullableJSON(n.Name))
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d members compared", checked)
	}
}
