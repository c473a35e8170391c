package models

// WithoutHooks is s without its change hooks: the writes alone, for the benchmarks that weigh
// what maintaining the aggregates adds to a write.
func WithoutHooks(s *Store) *Store {
	c := *s
	c.changeHooks = nil
	return &c
}
