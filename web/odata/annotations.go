package odata

import "strings"

// Vocabulary annotations in $metadata, for the tools that read them
// (client generators, CSDL-to-OpenAPI converters, UI5): what each set lets a
// client do (Capabilities), which properties the server owns (Core).

// vocabularies are the references $metadata includes, by alias.
var vocabularies = []struct{ alias, namespace, uri string }{
	{"Capabilities", "Org.OData.Capabilities.V1", "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1"},
	{"Core", "Org.OData.Core.V1", "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1"},
}

// annotation is a term applied with a boolean, a record or an enum member.
type annotation struct {
	term   string // with its vocabulary's alias: "Core.Computed"
	value  *bool
	record []recordValue
	enum   string // "Read" for Core.Permission/Read
}

type recordValue struct {
	property string
	value    *bool
	paths    []string // a collection of property paths
}

func truth(b bool) *bool { return &b }

// dateTimePrecision is the fractional-second digits a DateTimeOffset carries:
// PostgreSQL keeps microseconds, and values are written (from either
// database) to the microsecond.
const dateTimePrecision = 6

// propertyAnnotations says who owns p, a property of a type some writable
// set serves: the server computes it (Core.Computed), it is set on create
// only (Core.Immutable) or it cannot be written at all (Core.Permissions
// Read). The properties of read-only types need none: their sets' Capabilities
// say that nothing is written.
func propertyAnnotations(p *Property, writable bool) []annotation {
	if !writable {
		return nil
	}
	switch p.Access {
	case Computed:
		return []annotation{{term: "Core.Computed", value: truth(true)}}
	case Immutable:
		return []annotation{{term: "Core.Immutable", value: truth(true)}}
	case ReadOnly:
		return []annotation{{term: "Core.Permissions", enum: "Read"}}
	}
	return nil
}

// writableTypes are the types (and their base types) some writable set serves.
func (s *schema) writableTypes() map[*entityType]bool {
	out := map[*entityType]bool{}
	for _, set := range s.setOrder {
		if set.writable() {
			for t := set.typ; t != nil; t = t.base {
				out[t] = true
			}
		}
	}
	return out
}

// setAnnotations are the capabilities of a set: insert, update and delete
// as its Writer allows, the properties $filter and $orderby refuse, and
// whether $search works.
func setAnnotations(set *entitySet) []annotation {
	w := set.writable()
	out := []annotation{
		{term: "Capabilities.InsertRestrictions", record: []recordValue{{property: "Insertable", value: truth(w)}}},
		{term: "Capabilities.UpdateRestrictions", record: []recordValue{{property: "Updatable", value: truth(w)}}},
		{term: "Capabilities.DeleteRestrictions", record: []recordValue{{property: "Deletable", value: truth(w)}}},
	}
	var noFilter, noSort []string
	for _, p := range set.typ.props {
		if p.NoFilter || p.Name == TypeProperty {
			noFilter = append(noFilter, p.Name)
		}
		if p.NoSort {
			noSort = append(noSort, p.Name)
		}
	}
	if len(noFilter) > 0 {
		out = append(out, annotation{term: "Capabilities.FilterRestrictions", record: []recordValue{{property: "NonFilterableProperties", paths: noFilter}}})
	}
	if len(noSort) > 0 {
		out = append(out, annotation{term: "Capabilities.SortRestrictions", record: []recordValue{{property: "NonSortableProperties", paths: noSort}}})
	}
	out = append(out, annotation{term: "Capabilities.SearchRestrictions", record: []recordValue{{property: "Searchable", value: truth(len(set.decl.Search) > 0)}}})
	return out
}

// containerAnnotations: $batch, when the service serves it.
func (s *Service) containerAnnotations() []annotation {
	return []annotation{{term: "Capabilities.BatchSupported", value: truth(s.batchSupported())}}
}

func xmlBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// annotationsXML renders annotations as CSDL XML elements.
func annotationsXML(b *strings.Builder, as []annotation) {
	for _, a := range as {
		b.WriteString("<Annotation" + attr("Term", a.term))
		switch {
		case a.value != nil:
			b.WriteString(attr("Bool", xmlBool(*a.value)) + "/>")
		case a.enum != "":
			vocab, _, _ := strings.Cut(a.term, ".")
			b.WriteString(attr("EnumMember", vocab+".Permission/"+a.enum) + "/>")
		default:
			b.WriteString("><Record>")
			for _, r := range a.record {
				b.WriteString("<PropertyValue" + attr("Property", r.property))
				if r.value != nil {
					b.WriteString(attr("Bool", xmlBool(*r.value)) + "/>")
					continue
				}
				b.WriteString("><Collection>")
				for _, p := range r.paths {
					b.WriteString("<PropertyPath>" + p + "</PropertyPath>")
				}
				b.WriteString("</Collection></PropertyValue>")
			}
			b.WriteString("</Record></Annotation>")
		}
	}
}

// annotationsJSON adds annotations to a CSDL JSON object.
func annotationsJSON(o object, as []annotation) object {
	for _, a := range as {
		var v any
		switch {
		case a.value != nil:
			v = *a.value
		case a.enum != "":
			v = a.enum
		default:
			rec := object{}
			for _, r := range a.record {
				if r.value != nil {
					rec = append(rec, member{r.property, *r.value})
					continue
				}
				paths := make([]object, len(r.paths))
				for i, p := range r.paths {
					paths[i] = object{{"$PropertyPath", p}}
				}
				rec = append(rec, member{r.property, paths})
			}
			v = rec
		}
		o = append(o, member{"@" + a.term, v})
	}
	return o
}
