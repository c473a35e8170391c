package handlers

import (
	"testing"

	"phaseboard/web/odata"
)

// TestODataWritableFieldsAreInTheModel keeps the write side honest: every name a writer takes
// (a convention over the models' changes structs) is a property or navigation property of the
// set's type in the read model, so nothing is writable that cannot be read back.
func TestODataWritableFieldsAreInTheModel(t *testing.T) {
	h := &Handler{}
	writers := h.odataWriters()
	m := odataModel(writers)
	types := map[string]odata.EntityType{}
	for _, typ := range m.Types {
		types[typ.Name] = typ
	}
	members := func(typ string) map[string]bool {
		out := map[string]bool{}
		for typ != "" {
			et := types[typ]
			for _, p := range et.Properties {
				out[p.Name] = true
			}
			for _, n := range et.NavProps {
				out[n.Name] = true
			}
			typ = et.BaseType
		}
		return out
	}
	checked := 0
	for _, set := range m.Sets {
		w := writers[set.Name]
		if w == nil {
			continue
		}
		var schema *bodySchema
		switch x := w.(type) {
		case *opportunityWriter:
			schema = x.schema
		case interface{ bodySchema() *bodySchema }:
			schema = x.bodySchema()
		default:
			t.Fatalf("%s: unknown writer %T", set.Name, w)
		}
		have := members(set.Type)
		for name := range schema.fields {
			if !have[name] {
				t.Errorf("%s: writable %s is not in the read model", set.Name, name)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d fields checked", checked)
	}
}
