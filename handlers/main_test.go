package handlers_test

import (
	"os"
	"sync"
	"testing"

	"phaseboard/web/browsertest"
)

// Cleanups of resources shared by several tests or benchmarks (the benchmark server) run once,
// after all of them.
var (
	processCleanupsMu sync.Mutex
	processCleanups   []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Shutdown()
	processCleanupsMu.Lock()
	for i := len(processCleanups) - 1; i >= 0; i-- {
		processCleanups[i]()
	}
	processCleanupsMu.Unlock()
	os.Exit(code)
}

// processTB defers a testing.TB's cleanups to the end of the test binary.
type processTB struct{ testing.TB }

func (processTB) Cleanup(f func()) {
	processCleanupsMu.Lock()
	processCleanups = append(processCleanups, f)
	processCleanupsMu.Unlock()
}
