package odata

import (
	"strings"
	"testing"
)

// The body decoder follows the model: writable members decode through their Binds, computed
// ones are ignored, anything else is a 400 naming the member.
func TestDecodeBodyFollowsTheModel(t *testing.T) {
	d := openSQLite(t)
	s, err := NewService(testModel(), d.db, d.dialect, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := s.schema.sets["Activity_SalesOpportunity"]
	phase := guid(11)

	var ch testChanges
	body, err := s.decodeBody(set, []byte(`{"@odata.etag":"W/\"3\"","ID":"`+strings.ToUpper(guid(101))+`",
		"Subject":"Deal","Amount":12.5,"Quantity":3,"ExpectedOrderDate":"2026-03-31",
		"Number":"ignored","_Name":"ignored","CreationDate":"2020-01-01T00:00:00Z","IsClosed":true,
		"Phase":{"ID":"`+phase+`","Name":"expanded members are ignored"},"Subject@odata.type":"#String"}`), &ch)
	if err != nil {
		t.Fatal(err)
	}
	if body.Key == nil || *body.Key != guid(101) {
		t.Fatalf("key %v", body.Key)
	}
	if *ch.Subject != "Deal" || *ch.Amount != 12.5 || *ch.Quantity != 3 || ch.ExpectedOrderDate.Format("2006-01-02") != "2026-03-31" ||
		ch.PhaseID.String() != phase || ch.PipelineID != nil {
		t.Fatalf("decoded %+v", ch)
	}
	if !body.Sent["Subject"] || !body.Sent["Phase"] || body.Sent["Number"] {
		t.Fatalf("sent %v", body.Sent)
	}

	// Binds: the target set, a set of its type hierarchy, absolute URLs; never another set.
	for _, ref := range []string{"Datastore_Phase_ActivitySalesOpportunity(" + phase + ")", "Datastore_Phase(" + phase + ")",
		"https://x.example/v1/odata/Datastore_Phase_ActivitySalesOpportunity(guid'" + phase + "')"} {
		var ch testChanges
		if _, err := s.decodeBody(set, []byte(`{"Phase@odata.bind":"`+ref+`"}`), &ch); err != nil || ch.PhaseID.String() != phase {
			t.Errorf("bind %s: %v %v", ref, ch.PhaseID, err)
		}
	}

	// null clears: a string to "", a nullable value to its zero; not a required one.
	var cleared testChanges
	if _, err := s.decodeBody(set, []byte(`{"Subject":null,"ExpectedOrderDate":null,"Phase":null}`), &cleared); err != nil {
		t.Fatal(err)
	}
	if *cleared.Subject != "" || !cleared.ExpectedOrderDate.IsZero() || cleared.PhaseID == nil || *cleared.PhaseID != [16]byte{} {
		t.Fatalf("cleared %+v", cleared)
	}

	for _, c := range []struct{ body, target, msg string }{
		{`{"Probability":50}`, "Probability", "cannot be written"},
		{`{"Bogus":1}`, "Bogus", "has no property Bogus"},
		{`{"Amount":null}`, "Amount", "cannot be null"},
		{`{"Pipeline":null}`, "Pipeline", "cannot be cleared"},
		{`{"Amount":"12"}`, "Amount", "must be a number"},
		{`{"Quantity":1.5}`, "Quantity", "whole number"},
		{`{"Subject":"a\u0000b"}`, "Subject", "NUL"},
		{`{"ExpectedOrderDate":"1800-01-01"}`, "ExpectedOrderDate", "before 1900"},
		{`{"ExpectedOrderDate":"31/03/2026"}`, "ExpectedOrderDate", "YYYY-MM-DD"},
		{`{"Phase@odata.bind":"Pipeline(` + guid(1) + `)"}`, "Phase", "links to Datastore_Phase_ActivitySalesOpportunity"},
		{`{"Phase":{"Name":"x"}}`, "Phase", "linked entity's ID"},
		{`{"ProductLines":[]}`, "ProductLines", "own set"},
		{`{"Subject":"a","Subject":"b"}`, "Subject", "twice"},
		{`{"ID":"not-a-guid"}`, "ID", "GUID"},
		{`[]`, "", "one JSON object"},
		{`{"Subject":"a"} {}`, "", "without anything after it"},
		{"{\"Subject\":\"\xff\"}", "", "UTF-8"},
	} {
		var ch testChanges
		_, err := s.decodeBody(set, []byte(c.body), &ch)
		e, ok := err.(*Error)
		if !ok || e.Status != 400 || e.Target != c.target || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s: got %#v", c.body, err)
		}
	}
}
