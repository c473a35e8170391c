package odata

import (
	"context"
	"database/sql"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Querier is what the service needs from the database: *sql.DB, *sql.Tx
// and *sql.Conn all satisfy it. A Querier that routes by ctx (the ambient
// transaction of a $batch change set, see Options.Atomic) may also have
// Pooled(ctx) bool, telling when two queries may run at once.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// expandBatch bounds the keys of one "IN (...)" list when expanding.
const expandBatch = 500

// statement is a compiled SELECT and where to find things in its rows.
type statement struct {
	sql      string
	args     []any
	plan     *plan
	keyCol   int // column of the entity key
	etagCol  int // column of the set's ETag expression, -1 without one
	fkCol    int // first column of the N:1 expand FKs
	orderCol int // first column of the $orderby values (paging)
	order    []orderExpr
	groupCol int // column of the parent key for 1:N expands, -1 otherwise
	typeCol  int // column of the row's _Type when the plan reads it, -1 otherwise
}

// selectSpec says how to build a statement beyond the plan itself.
type selectSpec struct {
	extraWhere func(b *sqlBuilder, sc *scope) string // e.g. the key condition
	afterToken *skipToken                            // keyset paging position
	limit      int                                   // -1: none
	offset     int
	groupFK    string // 1:N expand: FK column (on t) that groups rows by parent
	groupKeys  []string
	perGroup   bool // apply plan.top/skip per group with ROW_NUMBER
}

// planWhere is the conditions every query of the plan shares: the set's own
// (fixed and per-request), $filter and $search.
func planWhere(b *sqlBuilder, sc *scope, p *plan) ([]string, error) {
	var where []string
	if w := sc.setWhere(b); w != "" {
		where = append(where, w)
	}
	if p.filter != nil {
		cond, err := compileFilter(b, sc, p.filter)
		if err != nil {
			return nil, err
		}
		where = append(where, cond)
	}
	if p.search != nil {
		cond, err := compileSearch(b, sc, p.search)
		if err != nil {
			return nil, err
		}
		where = append(where, cond)
	}
	return where, nil
}

// buildSelect compiles the plan to one SELECT with bound arguments.
func buildSelect(b *sqlBuilder, p *plan, spec selectSpec) (*statement, error) {
	sc := newScope(p.set, "t", nil, "")
	sc.computed = p.computed
	where, err := planWhere(b, sc, p)
	if err != nil {
		return nil, err
	}
	if spec.extraWhere != nil {
		where = append(where, spec.extraWhere(b, sc))
	}
	if spec.groupFK != "" {
		where = append(where, inList(b, "t."+spec.groupFK, spec.groupKeys))
	}
	order, err := compileOrderBy(b, sc, p.orderBy)
	if err != nil {
		return nil, err
	}
	// The key breaks ties so that paging is stable.
	order = append(order, orderExpr{sql: "(" + p.set.key.SQL + ")", typ: EdmGuid, name: p.set.key.Name})
	if spec.afterToken != nil {
		cond, err := keysetCondition(b, order, spec.afterToken)
		if err != nil {
			return nil, err
		}
		where = append(where, cond)
	}

	st := &statement{plan: p, order: order, groupCol: -1}
	var cols []string
	for _, prop := range p.props {
		// A property in a side table is read through the same join a filter or an order on it
		// made: the database can then sort and cut the page before it reads anything else.
		cols = append(cols, propSQL(b, sc, "t", prop))
	}
	for _, cp := range p.outComputed {
		v, err := compileValue(b, sc, cp.expr, "$compute")
		if err != nil {
			return nil, err
		}
		cols = append(cols, "("+v.sql+")")
	}
	st.keyCol = len(cols)
	cols = append(cols, "("+p.set.key.SQL+")")
	st.etagCol = -1
	if p.set.decl.ETag != "" {
		st.etagCol = len(cols)
		cols = append(cols, "("+p.set.decl.ETag+")")
	}
	st.typeCol = -1
	if tp := p.set.typ.prop(TypeProperty); p.readType && tp != nil {
		st.typeCol = len(cols)
		cols = append(cols, "("+tp.SQL+")")
	}
	st.fkCol = len(cols)
	for _, ex := range p.expands {
		if !ex.nav.Many {
			cols = append(cols, ex.nav.fkOf("t"))
		}
	}
	st.orderCol = len(cols)
	for _, o := range order {
		cols = append(cols, o.sql)
	}
	if spec.groupFK != "" {
		st.groupCol = len(cols)
		cols = append(cols, "t."+spec.groupFK)
	}

	var orderSQL []string
	for i, o := range order {
		if i == len(order)-1 {
			// The key breaking ties is never NULL: without a NULLS clause PostgreSQL can
			// walk the primary key (or an index ending in it) instead of sorting every row.
			orderSQL = append(orderSQL, o.sql+" ASC")
			continue
		}
		orderSQL = append(orderSQL, orderTerm(o.sql, o.desc))
	}
	var sb strings.Builder
	size := 256 // the FROM, WHERE and ORDER BY, mostly
	for _, c := range cols {
		size += len(c) + 10
	}
	sb.Grow(size) // one allocation for the select list, however long its expressions
	sb.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(c)
		sb.WriteString(" AS c")
		sb.WriteString(strconv.Itoa(i))
	}
	if spec.perGroup && (p.top >= 0 || p.skip > 0) {
		sb.WriteString(", ROW_NUMBER() OVER (PARTITION BY t." + spec.groupFK + " ORDER BY " + strings.Join(orderSQL, ", ") + ") AS rn")
	}
	sb.WriteString(" FROM " + sc.from())
	if len(where) > 0 {
		sb.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if spec.perGroup && (p.top >= 0 || p.skip > 0) {
		// Per-parent $top/$skip: number the rows of each parent, keep a window.
		inner := sb.String()
		sb.Reset()
		sb.WriteString("SELECT * FROM (" + inner + ") AS w WHERE rn > " + strconv.Itoa(p.skip))
		if p.top >= 0 {
			sb.WriteString(" AND rn <= " + strconv.Itoa(p.skip+p.top))
		}
		sb.WriteString(" ORDER BY c" + strconv.Itoa(st.groupCol) + ", rn")
	} else {
		sb.WriteString(" ORDER BY " + strings.Join(orderSQL, ", "))
		if spec.limit >= 0 {
			sb.WriteString(" LIMIT " + strconv.Itoa(spec.limit))
		}
		if spec.offset > 0 && spec.limit >= 0 { // SQLite needs a LIMIT before OFFSET
			sb.WriteString(" OFFSET " + strconv.Itoa(spec.offset))
		}
	}
	st.sql, st.args = sb.String(), b.args
	return st, nil
}

// constantSQL matches SQL that PostgreSQL reads as a bare constant, which it
// refuses in ORDER BY ("non-integer constant") or takes as a column number.
var constantSQL = regexp.MustCompile(`^\(*(TRUE|FALSE|NULL|'([^']|'')*'|-?[0-9.]+)\)*$`)

// orderTerm sorts NULLs first ascending and last descending on both
// databases (PostgreSQL's default is the opposite), so results and keyset
// paging agree.
func orderTerm(expr string, desc bool) string {
	if constantSQL.MatchString(expr) {
		expr = "COALESCE(" + expr + ", " + expr + ")" // still the constant, no longer a bare one
	}
	if desc {
		return expr + " DESC NULLS LAST"
	}
	return expr + " ASC NULLS FIRST"
}

// inList renders "expr IN (...)" over GUID keys.
func inList(b *sqlBuilder, expr string, keys []string) string {
	if len(keys) == 0 {
		return "1 = 0"
	}
	ph := make([]string, len(keys))
	for i, k := range keys {
		ph[i] = b.bind(EdmGuid, k)
	}
	return expr + " IN (" + strings.Join(ph, ", ") + ")"
}

// buildCount compiles SELECT COUNT(*) with the plan's filter.
func buildCount(b *sqlBuilder, p *plan, extraWhere func(*sqlBuilder, *scope) string, groupFK string, groupKeys []string) (string, error) {
	sc := newScope(p.set, "t", nil, "")
	sc.computed = p.computed
	where, err := planWhere(b, sc, p)
	if err != nil {
		return "", err
	}
	if extraWhere != nil {
		where = append(where, extraWhere(b, sc))
	}
	sel := "SELECT COUNT(*)"
	if groupFK != "" {
		where = append(where, inList(b, "t."+groupFK, groupKeys))
		sel = "SELECT t." + groupFK + ", COUNT(*)"
	}
	q := sel + " FROM " + sc.from()
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if groupFK != "" {
		q += " GROUP BY t." + groupFK
	}
	return q, nil
}

// scanRows reads st's rows one at a time and hands each to fn, so that a
// page streams from the database to the client.
func scanRows(rows *sql.Rows, st *statement, fn func(*entity) error) error {
	defer rows.Close()
	n, err := rows.Columns()
	if err != nil {
		return err
	}
	raw := make([]any, len(n))
	ptrs := make([]any, len(n))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	p := st.plan
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		out := p.columns()
		e := &entity{values: make([]any, len(out)), expanded: make([]any, len(p.expands)), counts: make([]int64, len(p.expands))}
		for i, prop := range out {
			if tm, ok := raw[i].(time.Time); ok && prop.Type == EdmDateTimeOffset {
				e.values[i] = tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) // as toPrecision, without reparsing
				continue
			}
			if e.values[i], err = normalize(prop.Type, raw[i]); err != nil {
				return err
			}
			if prop.Type == EdmDateTimeOffset {
				e.values[i] = toPrecision(e.values[i])
			}
		}
		k, err := normalize(EdmGuid, raw[st.keyCol])
		if err != nil {
			return err
		}
		e.key, _ = k.(string)
		if st.typeCol >= 0 {
			if v, err := normalize(EdmString, raw[st.typeCol]); err == nil && v != nil {
				e.typeName = v.(string)
			}
		}
		if st.etagCol >= 0 && raw[st.etagCol] != nil {
			v, err := normalize(EdmString, raw[st.etagCol])
			if err != nil {
				return err
			}
			e.etag = ETag(v.(string))
		}
		col := st.fkCol
		for _, ex := range p.expands {
			if ex.nav.Many {
				continue
			}
			fk, err := normalize(EdmGuid, raw[col])
			if err != nil {
				return err
			}
			e.fks = append(e.fks, fk)
			col++
		}
		for i, o := range st.order {
			v, err := normalize(o.typ, raw[st.orderCol+i])
			if err != nil {
				return err
			}
			e.order = append(e.order, v)
		}
		if st.groupCol >= 0 {
			g, err := normalize(EdmGuid, raw[st.groupCol])
			if err != nil {
				return err
			}
			e.fks = append(e.fks, g) // the last fk is the parent key
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Service) run(ctx context.Context, st *statement, fn func(*entity) error) error {
	rows, err := s.db.QueryContext(ctx, st.sql, st.args...)
	if err != nil {
		return err
	}
	return scanRows(rows, st, fn)
}

// expand fills in the expanded neighbours of parents, one query per
// expanded navigation property and batch of keys (never one per row), then
// recurses into nested $expand with all children at once.
func (s *Service) expand(ctx context.Context, p *plan, parents []*entity) error {
	fkIndex := 0
	for i, ex := range p.expands {
		var keys []string
		seen := map[string]bool{}
		add := func(k any) {
			if ks, ok := k.(string); ok && !seen[ks] {
				seen[ks] = true
				keys = append(keys, ks)
			}
		}
		if ex.nav.Many {
			for _, e := range parents {
				add(e.key)
				e.expanded[i] = []*entity{}
			}
		} else {
			for _, e := range parents {
				add(e.fks[fkIndex])
				e.expanded[i] = (*entity)(nil)
			}
		}
		var children []*entity
		byKey := map[string]*entity{}
		byParent := map[string][]*entity{}
		counts := map[string]int64{}
		for start := 0; start < len(keys); start += expandBatch {
			batch := keys[start:min(start+expandBatch, len(keys))]
			b := s.builder(ctx)
			spec := selectSpec{limit: -1}
			if ex.nav.Many {
				spec.groupFK, spec.groupKeys, spec.perGroup = ex.nav.FK, batch, true
			} else {
				spec.extraWhere = func(b *sqlBuilder, sc *scope) string { return inList(b, "("+sc.set.key.SQL+")", batch) }
			}
			st, err := buildSelect(b, ex.plan, spec)
			if err != nil {
				return err
			}
			err = s.run(ctx, st, func(e *entity) error {
				children = append(children, e)
				if ex.nav.Many {
					parent, _ := e.fks[len(e.fks)-1].(string)
					e.fks = e.fks[:len(e.fks)-1]
					byParent[parent] = append(byParent[parent], e)
				} else {
					byKey[e.key] = e
				}
				return nil
			})
			if err != nil {
				return err
			}
			if ex.count {
				cb := s.builder(ctx)
				q, err := buildCount(cb, ex.plan, nil, ex.nav.FK, batch)
				if err != nil {
					return err
				}
				rows, err := s.db.QueryContext(ctx, q, cb.args...)
				if err != nil {
					return err
				}
				for rows.Next() {
					var k any
					var n int64
					if err := rows.Scan(&k, &n); err != nil {
						rows.Close()
						return err
					}
					ks, _ := normalize(EdmGuid, k)
					if s, ok := ks.(string); ok {
						counts[s] = n
					}
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
			}
		}
		for _, e := range parents {
			if ex.nav.Many {
				if kids := byParent[e.key]; kids != nil {
					e.expanded[i] = kids
				}
				e.counts[i] = counts[e.key]
			} else {
				if k, ok := e.fks[fkIndex].(string); ok && byKey[k] != nil {
					e.expanded[i] = byKey[k]
				}
			}
		}
		if !ex.nav.Many {
			fkIndex++
		}
		if len(ex.plan.expands) > 0 && len(children) > 0 {
			if err := s.expand(ctx, ex.plan, children); err != nil {
				return err
			}
		}
	}
	return nil
}
