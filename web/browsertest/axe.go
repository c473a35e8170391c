package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// The accessibility check: axe-core, the npm package pinned in package-lock.json, read from
// node_modules (never from a CDN) and evaluated in the page through the driver, which the
// page's Content-Security-Policy does not restrict.

var axeSource = sync.OnceValues(func() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return "", fmt.Errorf("axe-core is not installed (%v); %s", err, installHint)
	}
	return string(b), nil
})

// AxeViolation is one rule axe-core found broken, with the elements that break it.
type AxeViolation struct {
	ID, Impact, Help string
	Targets          []string
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// Axe runs axe-core on the page as it is now and returns the violations of impact critical or
// serious (WCAG 2.1 A and AA rules and axe's best practices).
func Axe(t testing.TB, page playwright.Page) []AxeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	if _, err := page.Evaluate(`src => { if (!window.axe) (0, eval)(src); }`, src); err != nil {
		t.Fatalf("browsertest: load axe-core: %v", err)
	}
	got, err := page.Evaluate(`async () => {
		const r = await axe.run(document, { resultTypes: ['violations'] });
		return JSON.stringify(r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious').map(v => ({
			ID: v.id, Impact: v.impact, Help: v.help, Targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\s+/g, ' ') + ']' : '')) })));
	}`)
	if err != nil {
		t.Fatalf("browsertest: run axe-core: %v", err)
	}
	var out []AxeViolation
	if err := json.Unmarshal([]byte(fmt.Sprint(got)), &out); err != nil {
		t.Fatalf("browsertest: axe-core's answer: %v", err)
	}
	return out
}
