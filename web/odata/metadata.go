package odata

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// containerName is the entity container's name within Model.Namespace.
const containerName = "Container"

// splitQualified splits "Datastore.Phase.ActivityInvoice" into the CSDL
// schema namespace "Datastore.Phase" and name "ActivityInvoice". Names without
// a dot live in the model's namespace.
func (s *schema) splitQualified(name string) (ns, simple string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return s.model.Namespace, name
}

func (s *schema) qualified(name string) string {
	ns, simple := s.splitQualified(name)
	return ns + "." + simple
}

// namespaces lists schema namespaces in first-use order, the model's first.
func (s *schema) namespaces() []string {
	out := []string{s.model.Namespace}
	seen := map[string]bool{s.model.Namespace: true}
	for _, t := range s.typeOrder {
		ns, _ := s.splitQualified(t.decl.Name)
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

func (s *Service) serveMetadata(w http.ResponseWriter, r *http.Request, q *queryOptions) error {
	if err := checkVersions(r); err != nil {
		return err
	}
	asJSON, err := metadataAsJSON(r, q)
	if err != nil {
		return err
	}
	if asJSON {
		body, err := json.Marshal(s.csdlJSON())
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return nil
	}
	w.Header().Set("Content-Type", "application/xml;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(s.csdlXML())
	return nil
}

func attr(name, value string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(value))
	return " " + name + `="` + strings.ReplaceAll(b.String(), `"`, "&quot;") + `"`
}

// csdlXML renders the model as CSDL XML: one Schema per namespace, types with
// their own (not inherited) members, the key on the root type.
func (s *Service) csdlXML() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">`)
	for _, v := range vocabularies {
		b.WriteString("<edmx:Reference" + attr("Uri", v.uri+".xml") + "><edmx:Include" + attr("Namespace", v.namespace) + attr("Alias", v.alias) + "/></edmx:Reference>")
	}
	b.WriteString("<edmx:DataServices>")
	writable := s.schema.writableTypes()
	for _, ns := range s.schema.namespaces() {
		b.WriteString(`<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm"` + attr("Namespace", ns) + ">")
		for _, t := range s.schema.typeOrder {
			tns, name := s.schema.splitQualified(t.decl.Name)
			if tns != ns {
				continue
			}
			b.WriteString("<EntityType" + attr("Name", name))
			if t.base != nil {
				b.WriteString(attr("BaseType", s.schema.qualified(t.base.decl.Name)))
			}
			if t.decl.Abstract {
				b.WriteString(attr("Abstract", "true"))
			}
			b.WriteString(">")
			if t.base == nil && t.key != nil {
				b.WriteString("<Key><PropertyRef" + attr("Name", t.key.Name) + "/></Key>")
			}
			for _, p := range t.ownProps {
				b.WriteString("<Property" + attr("Name", p.Name) + attr("Type", string(p.Type)))
				if !p.Nullable || p == t.key {
					b.WriteString(attr("Nullable", "false"))
				}
				if p.Type == EdmDateTimeOffset {
					b.WriteString(attr("Precision", strconv.Itoa(dateTimePrecision)))
				}
				if as := propertyAnnotations(p, writable[t]); len(as) > 0 {
					b.WriteString(">")
					annotationsXML(&b, as)
					b.WriteString("</Property>")
				} else {
					b.WriteString("/>")
				}
			}
			for _, n := range t.ownNavs {
				typ := s.schema.qualified(n.target.typ.decl.Name)
				if n.Many {
					typ = "Collection(" + typ + ")"
				}
				b.WriteString("<NavigationProperty" + attr("Name", n.Name) + attr("Type", typ))
				if n.Required {
					b.WriteString(attr("Nullable", "false"))
				}
				b.WriteString("/>")
			}
			b.WriteString("</EntityType>")
		}
		if ns == s.schema.model.Namespace {
			if s.employee != nil {
				b.WriteString(`<Function Name="` + functionName + `"><ReturnType` + attr("Type", s.schema.qualified(s.employee.typ.decl.Name)) + attr("Nullable", "false") + "/></Function>")
			}
			b.WriteString("<EntityContainer" + attr("Name", containerName) + ">")
			annotationsXML(&b, s.containerAnnotations())
			for _, set := range s.schema.setOrder {
				b.WriteString("<EntitySet" + attr("Name", set.name) + attr("EntityType", s.schema.qualified(set.typ.decl.Name)) + ">")
				for _, n := range set.typ.navs {
					b.WriteString("<NavigationPropertyBinding" + attr("Path", n.Name) + attr("Target", n.target.name) + "/>")
				}
				annotationsXML(&b, setAnnotations(set))
				b.WriteString("</EntitySet>")
			}
			if s.employee != nil {
				b.WriteString(`<FunctionImport Name="` + functionName + `"` + attr("Function", ns+"."+functionName) + attr("EntitySet", s.employee.name) + "/>")
			}
			b.WriteString("</EntityContainer>")
		}
		b.WriteString("</Schema>")
	}
	b.WriteString("</edmx:DataServices></edmx:Edmx>")
	return []byte(b.String())
}

// object is a JSON object that keeps its keys in insertion order (CSDL JSON
// readers do not care, people do).
type object []member

type member struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// csdlJSON renders the model as CSDL JSON (OData 4.01 format, version 4.0).
func (s *Service) csdlJSON() object {
	sch := s.schema
	doc := object{{"$Version", "4.0"}, {"$EntityContainer", sch.model.Namespace + "." + containerName}}
	refs := object{}
	for _, v := range vocabularies {
		refs = append(refs, member{v.uri + ".json", object{{"$Include", []object{{{"$Namespace", v.namespace}, {"$Alias", v.alias}}}}}})
	}
	doc = append(doc, member{"$Reference", refs})
	writable := sch.writableTypes()
	for _, ns := range sch.namespaces() {
		schemaObj := object{}
		for _, t := range sch.typeOrder {
			tns, name := sch.splitQualified(t.decl.Name)
			if tns != ns {
				continue
			}
			to := object{{"$Kind", "EntityType"}}
			if t.base != nil {
				to = append(to, member{"$BaseType", sch.qualified(t.base.decl.Name)})
			}
			if t.decl.Abstract {
				to = append(to, member{"$Abstract", true})
			}
			if t.base == nil && t.key != nil {
				to = append(to, member{"$Key", []string{t.key.Name}})
			}
			for _, p := range t.ownProps {
				po := object{}
				if p.Type != EdmString {
					po = append(po, member{"$Type", string(p.Type)})
				}
				if p.Nullable && p != t.key {
					po = append(po, member{"$Nullable", true})
				}
				if p.Type == EdmDateTimeOffset {
					po = append(po, member{"$Precision", dateTimePrecision})
				}
				to = append(to, member{p.Name, annotationsJSON(po, propertyAnnotations(p, writable[t]))})
			}
			for _, n := range t.ownNavs {
				no := object{{"$Kind", "NavigationProperty"}, {"$Type", sch.qualified(n.target.typ.decl.Name)}}
				if n.Many {
					no = append(no, member{"$Collection", true})
				} else if !n.Required {
					no = append(no, member{"$Nullable", true})
				}
				to = append(to, member{n.Name, no})
			}
			schemaObj = append(schemaObj, member{name, to})
		}
		if ns == sch.model.Namespace {
			if s.employee != nil {
				fn := object{{"$Kind", "Function"}, {"$ReturnType", object{{"$Type", sch.qualified(s.employee.typ.decl.Name)}}}} // $Nullable false is the default
				schemaObj = append(schemaObj, member{functionName, []object{fn}})
			}
			container := annotationsJSON(object{{"$Kind", "EntityContainer"}}, s.containerAnnotations())
			for _, set := range sch.setOrder {
				so := object{{"$Collection", true}, {"$Type", sch.qualified(set.typ.decl.Name)}}
				if len(set.typ.navs) > 0 {
					bindings := object{}
					for _, n := range set.typ.navs {
						bindings = append(bindings, member{n.Name, n.target.name})
					}
					so = append(so, member{"$NavigationPropertyBinding", bindings})
				}
				container = append(container, member{set.name, annotationsJSON(so, setAnnotations(set))})
			}
			if s.employee != nil {
				container = append(container, member{functionName, object{{"$Function", ns + "." + functionName}, {"$EntitySet", s.employee.name}}})
			}
			schemaObj = append(schemaObj, member{containerName, container})
		}
		doc = append(doc, member{ns, schemaObj})
	}
	return doc
}
