package handlers

import (
	"strings"
	"testing"

	"phaseboard/migrations"
)

// Every property that reads a relation's field by subquery is read through its join in lists
// (relationJoins): a field added with personOf(col) for a column the joins lack fails here.
func TestRelationSubqueriesHaveJoins(t *testing.T) {
	m := odataModel(nil, nil, migrations.Postgres, nil)
	n := 0
	for _, typ := range m.Types {
		for _, p := range typ.Properties {
			if !strings.Contains(p.SQL, "FROM relations") {
				continue
			}
			n++
			if p.Join == nil {
				t.Errorf("%s.%s reads %s by a subquery per row, with no join", typ.Name, p.Name, p.SQL)
			}
		}
	}
	if n == 0 {
		t.Fatal("no property reads a relation's field: the test checks nothing")
	}
}
