// Package odata serves a read-mostly OData v4 API (JSON, minimal metadata)
// over a SQL database, from a declarative description of entity sets. It
// knows neither the web framework nor the application's models: only the
// Model it is given, a database handle and a Dialect.
//
// # Registering entity sets
//
// Describe each entity type once; a property is one line: its OData name,
// EDM type and the SQL (a column or expression over the set's table, which
// is always aliased "t"). Sets map types onto tables; sets that share a table
// are told apart by a fixed Where condition.
//
//	model := &odata.Model{
//		Namespace: "Phaseboard",
//		Types: []odata.EntityType{
//			{Name: "Datastore.Phase", Properties: []odata.Property{
//				odata.Prop("ID", odata.EdmGuid, "t.id").Required(),
//				odata.Prop("_Type", odata.EdmString, "t.type").Required(),
//				odata.Prop("Name", odata.EdmString, "t.name"),
//				odata.Prop("IsTerminal", odata.EdmBoolean, "t.is_terminal").Required(),
//			}, NavProps: []odata.NavProp{
//				odata.One("Pipeline", "Pipeline", "pipeline_id"), // N:1: FK on this table
//			}},
//			{Name: "Datastore.Phase.ActivityInvoice", BaseType: "Datastore.Phase"},
//			{Name: "Activity.SalesOpportunity", Properties: []odata.Property{ /* ... */ },
//				NavProps: []odata.NavProp{
//					odata.Many("ProductLines", "ProductLine", "activity_id"), // 1:N: FK on the target's table
//				}},
//			// ...
//		},
//		Sets: []odata.EntitySet{
//			{Name: "Datastore_Phase", Type: "Datastore.Phase", Table: "phases"},
//			{Name: "Datastore_Phase_ActivityInvoice", Type: "Datastore.Phase.ActivityInvoice",
//				Table: "phases", Where: "t.type = 'Datastore.Phase.ActivityInvoice'"},
//			// ...
//		},
//	}
//	svc, err := odata.NewService(model, db, odata.PostgreSQL, odata.Options{
//		Prefix:          "/v1/odata",
//		CurrentEmployee: func(r *http.Request) (string, error) { /* key of the caller */ },
//		EmployeeSet:     "Relationship_Person_Contact_Employee",
//	})
//	if err != nil { // the model is checked here, never at request time
//		log.Fatal(err)
//	}
//	mux.Handle("/v1/odata/", svc)
//
// Every type has a "_Type" property: declare it with the discriminator
// column when a set spans subtypes, or the model adds a constant naming the
// type. $filter on _Type is refused with a message pointing to the subtype's
// own set. Keys are Edm.Guid ("ID" unless EntitySet.Key says otherwise).
//
// # What is served
//
// GET on the service document, $metadata (CSDL XML unless JSON is asked
// for: $format=json, or an Accept that accepts application/json and no XML
// type; axios's "application/json, text/plain, */*" gets XML), Set,
// Set/$count, Set/$ref, Set(key), Set(key)/Property[/$value], Set(key)/Nav,
// Set(key)/Nav/$ref, Set(key)/Nav/$count, /$entity?$id=<entity URL> and
// GetCurrentEmployee(). A type-cast segment narrows a set to a subtype
// (Datastore_Phase/Datastore.Phase.ActivityInvoice, Set(key)/Type,
// Set/Type(key)) where a set of the model serves that subtype. Query
// options: $filter, $select (* for all), $expand (nested options, up to 3
// levels; * for every navigation property; $levels=n|max on a recursive
// one), $orderby, $top, $skip, $count, $skiptoken, $format, and $apply on
// entity sets (below); parameter aliases (@p=value) in $filter, $apply,
// $top and $skip. $filter also takes isof(Type), isof(expr, Edm.Type),
// cast(expr, Edm.String|Int32|Int64|Double|Decimal) and Nav/$count (also
// in $orderby). Unknown $-options are a 400; other options (access_token,
// ...) are ignored.
//
// $compute=expr as Alias,... adds computed properties (any $filter
// expression: arithmetic, string and date functions, N:1 paths), written
// after the entity's own properties and usable in $select, $filter and
// $orderby (paging included), also inside $expand; not with a groupby or
// aggregate $apply (501).
//
// $search takes OData's search expressions (words, "phrases", NOT, AND or
// juxtaposition, OR, parentheses) over the properties a set declares in
// EntitySet.Search (paths to strings, N:1 navigation allowed): a term
// matches an entity when any of them contains it, case-insensitively, and
// the operators combine terms per entity (a NULL property contains nothing,
// so NOT never drops a row for it); sets without Search answer 501.
//
// # $batch
//
// POST /$batch (with Options.Atomic) takes multipart/mixed (OData 4.0) and
// JSON (4.01) batches of at most 100 requests within the body limit. Each
// request is served like a single one, with the batch's context and after
// Options.BeforeBatchRequest; a change set (or JSON atomicity group) runs in
// one Atomic transaction that commits when all its requests succeed and
// rolls back as one otherwise (the request at fault keeps its error, the
// others of the group answer 424); "$<id>" in a URL or an @odata.bind value
// names an entity created earlier in the batch; JSON dependsOn is honoured.
// Without Prefer: odata.continue-on-error the batch stops at the first
// failure.
//
// # Versions, formats and what is not implemented
//
// Features of the protocol the service does not implement
// ($crossjoin, $all, $index, canonical functions such as
// fractionalseconds, $expand=Nav/$ref, writes to properties and links)
// answer 501, never 404 or 400. As OData 4.01 allows, system query
// option names are case-insensitive and may leave out the "$" ($FILTER,
// filter); one option given twice in any spelling is a 400, so a filter is
// never silently ignored. The service otherwise speaks OData 4.0
// (OData-Version 4.0 and 4.01 requests are taken, older ones or an
// OData-MaxVersion below 4.0 are a 400).
//
// Numbers may carry the type suffixes SDKs send (20D, 2F, 1.5M, 5L, either
// case). A raw "+" in the query string is a plus in a parameter that writes
// its spaces as %20 (as browsers and encodeURIComponent do) and a space in
// one that does not (form encoding: Java, Python, Go's url.Values, which send
// a plus as %2B); %2B is a plus everywhere.
//
// Responses are JSON with odata.metadata=minimal, or full or none as
// $format or Accept ask (full adds @odata.type, @odata.id, @odata.editLink,
// the type of Guid, Date, DateTimeOffset and Int64 values and navigation
// links; none drops @odata.context and @odata.etag), and IEEE754Compatible
// (Int64 values and counts as strings); the Content-Type echoes both. An
// Accept without JSON is a 406. @odata.context, @odata.id and links are
// absolute URLs.
//
// $apply (Data Aggregation) supports filter(cond), groupby((Path,...)) with
// an optional aggregate(...), and aggregate(...): items are
// "Path with sum|average|min|max|countdistinct as Alias" and "$count as
// Alias"; paths may cross N:1 navigation (Phase/Name). filter() steps come
// first, then at most one groupby or aggregate; other transformations
// answer 501. It compiles to one SELECT ... GROUP BY; $filter and $orderby
// (on grouped paths and aliases), $top, $skip and $count apply to its rows,
// which are paged by $skip. Grouped navigation paths nest as objects:
// {"Phase":{"Name":"Proposal"},"Weighted":1234.5}. $select and $expand
// cannot be combined with it (400). An $apply of filter() steps alone is a
// $filter.
//
// $metadata carries the annotations tools read: per set Capabilities
// Insert/Update/DeleteRestrictions (as its Writer allows), Filter- and
// SortRestrictions (the NoFilter and NoSort properties, and _Type) and
// SearchRestrictions; BatchSupported on the container; on the properties of
// writable types Core.Computed (server-owned), Core.Immutable (set on
// create) or Core.Permissions Read; Precision="6" on every DateTimeOffset
// (values are written to the microsecond on both databases); the same
// Nullable in the XML and JSON forms.
//
// Writes go to the set's Writer if it has one, else 405. Every 405 carries
// the resource's true Allow (GET, HEAD, plus POST on a writable collection
// and PATCH, PUT, DELETE on its entities); writing a property, a link or
// through a navigation of a writable set is a 501. A single-entity GET takes
// If-None-Match (304 when it matches or is *) and If-Match (412 when stale);
// HEAD answers every GET resource without a body.
//
// # Writes and concurrency
//
// POST on a set calls Writer.Create (or Upserter.Upsert, whose POST may
// update: 200 instead of 201); PATCH and PUT call Update, DELETE Delete.
// Bodies are bounded (1 MiB, else 413). Prefer: return=minimal answers 204
// (Location / OData-EntityId headers), return=representation the entity read
// back; either is echoed in Preference-Applied. A set with EntitySet.ETag
// (e.g. "t.version") writes "@odata.etag":"W/\"<value>\"" in every entity
// and an ETag header on single-entity GETs and writes; its Writer reads
// If-Match with IfMatch and answers a stale tag with PreconditionFailed
// (412), checking the version in the same transaction as the write. On sets
// without ETag an If-Match other than "*" is a 412.
//
// Collections are paged by the server (Options.DefaultPageSize, at most
// MaxPageSize, or Prefer: odata.maxpagesize) with keyset $skiptoken links, so
// deep pages cost the same as the first. Without $expand rows stream from
// the database to the ResponseWriter as they are read (with $expand a page
// is held to fetch the neighbours in batches); the server in front must
// stream too (Phaseboard's web.HTTPHandler does, with a bounded buffer so
// that a slow client does not hold the rows cursor). With $count=true the
// count and the page are two queries, run at once on PostgreSQL (a *sql.DB
// pool) and one after the other on SQLite.
//
// # Safety
//
// Every literal in a request becomes a bound parameter; SQL identifiers and
// expressions come only from the Model. $filter has hard limits (length,
// depth, node count). Errors are OData error bodies: 400 for syntax errors
// (naming the byte position) and unknown names, 404 for unknown sets and
// keys. A panic is recovered into a logged 500.
//
// Bad input is a 400, never a 500, on every database: the query string and
// the path are refused when, percent-decoded, they hold invalid UTF-8 or a
// NUL byte (PostgreSQL refuses both in text; the message names the option
// and byte); Edm.Date and Edm.DateTimeOffset values are supported from
// 0001-01-01 to 9999-12-31 (in UTC), and literals or $skiptoken values
// outside that range are refused (the ABNF allows year 0000, but PostgreSQL
// has no year 0 and SQLite's text dates sort only with four-digit years);
// what the database itself refuses as the request's fault (a number out of
// range, an expression too deep for SQLite's parser) is a 400 too.
//
// # Storage assumptions
//
// PostgreSQL: uuid keys, date, timestamptz, double precision, boolean.
// SQLite: GUIDs as lowercase text, dates as 'YYYY-MM-DD', timestamps as UTC
// text in Go's "2006-01-02 15:04:05.999999999-07:00" layout, booleans 0/1.
// Bound values use the same formats, so comparisons and ordering agree.
package odata
