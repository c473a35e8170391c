// Package browsertest starts a real Chromium through playwright-go for the
// browser tests, without downloading anything.
//
// The driver is Node plus the npm package playwright-core pinned in
// package-lock.json (the version playwright-go expects); the browser is
// Debian's Chromium (/usr/bin/chromium) or the executable named by the
// environment variable PHASEBOARD_CHROMIUM. `make test` installs both.
// playwright.Install() is never called: it downloads from a CDN.
//
// One driver and one browser serve the whole test binary. Every test gets
// its own browser context (cookies, storage) from NewPage, closed when the
// test ends. Call Main from TestMain, or Shutdown after m.Run, to stop the
// browser and the driver when the tests are done:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
package browsertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/playwright-community/playwright-go"
)

// PlaywrightVersion is the playwright-core version that playwright-go
// v0.5200.1 drives. package.json pins the same version.
const PlaywrightVersion = "1.52.0"

// ChromiumEnv names the environment variable that may point at a Chromium
// executable to use instead of /usr/bin/chromium.
const ChromiumEnv = "PHASEBOARD_CHROMIUM"

// DefaultTimeout is the default timeout, in milliseconds, of the actions and
// navigations of the pages that NewPage returns.
const DefaultTimeout = 10_000

// chromiumArgs: --no-sandbox because tests run as root in CI; the rest keep
// Chromium from reaching for hosts that are closed on the build machines.
var chromiumArgs = []string{
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
}

const installHint = "run `make test` (or `npm ci` for the driver and `make browser` for Chromium)"

var (
	once      sync.Once
	mu        sync.Mutex
	pw        *playwright.Playwright
	browser   playwright.Browser
	driverDir string
	startErr  error
)

// Launch returns the shared headless Chromium, starting the driver and the
// browser on first use. A missing driver, Node or Chromium fails the test
// (never skips it) with a message saying what to install.
//
// With go test -short the browser tests are skipped (make test runs them).
func Launch(t testing.TB) playwright.Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the browser test (make test runs it)")
	}
	once.Do(func() { startErr = start() })
	if startErr != nil {
		t.Fatalf("browsertest: %v", startErr)
	}
	mu.Lock()
	defer mu.Unlock()
	if browser == nil {
		t.Fatalf("browsertest: the browser was shut down")
	}
	return browser
}

// NewPage opens a page in a fresh browser context of the shared browser:
// 1920x1080, en-US, UTC, prefers-reduced-motion. The context is closed when
// the test ends. Uncaught page errors and console errors and warnings are
// written to the test log.
func NewPage(t testing.TB) playwright.Page {
	t.Helper()
	return NewPageWith(t, Viewport{Width: 1920, Height: 1080})
}

// Viewport is the size of a test page and whether it is a touch phone.
type Viewport struct {
	Name          string // "desktop", "phone": for subtest names
	Width, Height int
	Phone         bool // a mobile browser with touch (IsMobile, HasTouch)
}

// The two sizes the issues ask about: a laptop and a 390 px phone.
var (
	Desktop = Viewport{Name: "desktop", Width: 1440, Height: 900}
	Phone   = Viewport{Name: "phone", Width: 390, Height: 844, Phone: true}
	Sizes   = []Viewport{Desktop, Phone}
)

// NewPageWith is NewPage at another size (see Desktop and Phone).
//
// Every page records the Content-Security-Policy violations it sees (the
// securitypolicyviolation event and Chromium's "Refused to ..." console
// messages); CSPViolations reads them.
func NewPageWith(t testing.TB, v Viewport) playwright.Page {
	t.Helper()
	b := Launch(t)
	opts := playwright.BrowserNewContextOptions{
		Locale:     playwright.String("en-US"),
		TimezoneId: playwright.String("UTC"),
		Viewport:   &playwright.Size{Width: v.Width, Height: v.Height},
		// No animations: app.js then turns Sortable's off, and drags are
		// deterministic.
		ReducedMotion: playwright.ReducedMotionReduce,
	}
	if v.Phone {
		opts.IsMobile = playwright.Bool(true)
		opts.HasTouch = playwright.Bool(true)
		opts.DeviceScaleFactor = playwright.Float(2)
	}
	ctx, err := b.NewContext(opts)
	if err != nil {
		t.Fatalf("browsertest: new browser context: %v", err)
	}
	log := &testLog{t: t}
	t.Cleanup(func() {
		log.stop()
		_ = ctx.Close()
	})
	ctx.SetDefaultTimeout(DefaultTimeout)
	ctx.SetDefaultNavigationTimeout(DefaultTimeout)
	if err := ctx.AddInitScript(playwright.Script{Content: playwright.String(cspRecorder)}); err != nil {
		t.Fatalf("browsertest: init script: %v", err)
	}
	page, err := ctx.NewPage()
	if err != nil {
		t.Fatalf("browsertest: new page: %v", err)
	}
	violations := &cspLog{}
	pageViolations.Store(page, violations)
	t.Cleanup(func() { pageViolations.Delete(page) })
	page.OnPageError(func(err error) { log.logf("browser: uncaught error: %v", err) })
	page.OnConsole(func(m playwright.ConsoleMessage) {
		if m.Type() == "error" || m.Type() == "warning" {
			log.logf("browser console %s: %s", m.Type(), m.Text())
		}
		if strings.Contains(m.Text(), "Content Security Policy") || strings.HasPrefix(m.Text(), "Refused to ") {
			violations.add(m.Text())
		}
	})
	return page
}

// cspRecorder keeps every securitypolicyviolation event of the page in
// window.__cspViolations (installed before any of the page's scripts run).
const cspRecorder = `(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0));
  });
})();`

type cspLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *cspLog) add(m string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, m)
}

var pageViolations sync.Map // playwright.Page → *cspLog

// CSPViolations returns the Content-Security-Policy violations the page has
// reported so far: console messages since it opened and the current
// document's securitypolicyviolation events.
func CSPViolations(t testing.TB, page playwright.Page) []string {
	t.Helper()
	var out []string
	if l, ok := pageViolations.Load(page); ok {
		l := l.(*cspLog)
		l.mu.Lock()
		out = append(out, l.msgs...)
		l.mu.Unlock()
	}
	got, err := page.Evaluate(`() => window.__cspViolations || []`)
	if err != nil {
		t.Fatalf("browsertest: read CSP violations: %v", err)
	}
	if list, ok := got.([]any); ok {
		for _, v := range list {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

// Main runs the tests and then Shutdown; use it as TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown closes the browser and stops the driver. It is safe to call when
// nothing was started, and more than once.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	if browser != nil {
		_ = browser.Close()
		browser = nil
	}
	if pw != nil {
		_ = pw.Stop()
		pw = nil
	}
	if driverDir != "" {
		_ = os.RemoveAll(driverDir)
		driverDir = ""
	}
}

func start() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	pkg := filepath.Join(root, "node_modules", "playwright-core")
	if err := checkPlaywrightCore(pkg); err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node is not on PATH; playwright-go's driver needs Node.js (Debian: apt-get install nodejs npm); %s", installHint)
	}
	exe, err := chromiumExecutable()
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "phaseboard-playwright-driver-")
	if err != nil {
		return fmt.Errorf("driver directory: %w", err)
	}
	if err := os.Symlink(pkg, filepath.Join(dir, "package")); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("driver directory: %w", err)
	}
	// playwright-go reads the Node executable from the environment only.
	if err := os.Setenv("PLAYWRIGHT_NODEJS_PATH", node); err != nil {
		_ = os.RemoveAll(dir)
		return err
	}

	p, err := playwright.Run(&playwright.RunOptions{
		DriverDirectory:     dir,
		SkipInstallBrowsers: true,
		Verbose:             false,
		Stdout:              os.Stderr,
		Stderr:              os.Stderr,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("start playwright driver (node %s, %s): %w; %s", node, pkg, err, installHint)
	}
	b, err := p.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(exe),
		Headless:       playwright.Bool(true),
		Args:           chromiumArgs,
	})
	if err != nil {
		_ = p.Stop()
		_ = os.RemoveAll(dir)
		return fmt.Errorf("launch Chromium %s: %w; install Debian's chromium (`make browser`) or set %s", exe, err, ChromiumEnv)
	}

	mu.Lock()
	pw, browser, driverDir = p, b, dir
	mu.Unlock()
	return nil
}

// repoRoot walks up from the working directory (the package directory under
// go test) to the directory that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory")
		}
		dir = parent
	}
}

func checkPlaywrightCore(pkg string) error {
	data, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return fmt.Errorf("playwright-core %s is not installed in %s; %s", PlaywrightVersion, pkg, installHint)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(pkg, "package.json"), err)
	}
	if meta.Version != PlaywrightVersion {
		return fmt.Errorf("%s is playwright-core %s but playwright-go needs %s; run `npm ci`", pkg, meta.Version, PlaywrightVersion)
	}
	if _, err := os.Stat(filepath.Join(pkg, "cli.js")); err != nil {
		return fmt.Errorf("%s has no cli.js; run `npm ci`", pkg)
	}
	return nil
}

func chromiumExecutable() (string, error) {
	if exe := os.Getenv(ChromiumEnv); exe != "" {
		if _, err := os.Stat(exe); err != nil {
			return "", fmt.Errorf("%s=%s: %v", ChromiumEnv, exe, err)
		}
		return exe, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	if exe, err := exec.LookPath("chromium"); err == nil {
		return exe, nil
	}
	return "", fmt.Errorf("no Chromium found: install Debian's chromium (`make browser` runs apt-get install chromium) or set %s to a Chromium executable", ChromiumEnv)
}

// testLog forwards browser messages to the test log until the test ends
// (testing.T panics on Log after the test has completed).
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *testLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf(format, args...)
	}
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}
