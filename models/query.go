package models

import (
	"context"
	"database/sql"
)

// QueryContext runs a read in ctx's transaction (InTx), else on a replica when ctx allows it
// (ReplicaReads, replicas.go), else on the primary's pool. Code outside models that reads with
// its own SQL (the OData service) reads through it, so that the reads of a composed change (an
// OData $batch change set) see its writes, on SQLite, whose pool is one connection, do not wait
// for the connection the transaction holds, and every read follows the Store's own routing.
func (s *Store) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.readPool(ctx).QueryContext(ctx, query, args...)
}

// Pooled reports whether ctx's reads go to the pool (no transaction), where two may run at once.
func (s *Store) Pooled(ctx context.Context) bool {
	_, inTx := ambientTx(ctx)
	return !inTx
}
