package models

// WithoutHooks is s without its change hooks: the writes alone, for the benchmarks that weigh
// what maintaining the aggregates adds to a write.
func WithoutHooks(s *Store) *Store {
	c := *s
	c.changeHooks = nil
	return &c
}

// WithoutFeed is s whose writes append nothing to the change feed: the benchmark that weighs
// what the feed adds to a move.
func WithoutFeed(s *Store) *Store {
	c := *s
	c.noFeed = true
	return &c
}
