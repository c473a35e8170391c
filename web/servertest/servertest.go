// Package servertest builds the phaseboard binary and runs it as a subprocess, for the tests
// that only a real process can make: signals, kill -9, ports, the command line.
//
//	bin := servertest.Build(t)
//	p := servertest.Start(t, bin, []string{"DATABASE_URL=" + url}, "serve", "--port", "0")
//	p.WaitListening()            // the address from the "Phaseboard is running" log line
//	p.Signal(syscall.SIGTERM); code := p.Wait(10 * time.Second)
package servertest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// binPrefix names the build folders: phaseboard-bin-<pid of the test process>.
const binPrefix = "phaseboard-bin-"

// Build compiles the phaseboard command once per test binary and returns its path. The folder
// it builds into outlives the test process (no hook runs at its end); the next Build removes
// the folders of test processes that have ended.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		removeAbandonedBuilds()
		buildDir = filepath.Join(os.TempDir(), binPrefix+strconv.Itoa(os.Getpid()))
		if buildErr = os.MkdirAll(buildDir, 0o755); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "phaseboard"), "phaseboard")
		cmd.Dir = moduleRoot()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build phaseboard: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(buildDir, "phaseboard")
}

func removeAbandonedBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binPrefix+"*"))
	for _, d := range dirs {
		pid := strings.TrimPrefix(filepath.Base(d), binPrefix)
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			os.RemoveAll(d)
		}
	}
}

// moduleRoot is the repository root (two folders above this file).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Process is a running phaseboard.
type Process struct {
	t    testing.TB
	Cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
	// URL is the base URL once WaitListening has returned.
	URL string
}

// Start runs bin with args and the environment env added to the test's. Stdout and stderr are
// kept (Output) and the process is killed at cleanup if still running.
func Start(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, Cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

var listening = regexp.MustCompile(`msg="Phaseboard is running".* listen=(\S+)`)

// WaitListening waits for the "Phaseboard is running" line and sets URL from its listen
// address; the test fails if the process ends first or takes longer than 60 seconds.
func (p *Process) WaitListening() string {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(p.Output()); m != nil {
			addr := m[1]
			if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
				addr = "127.0.0.1:" + addr[strings.LastIndex(addr, ":")+1:]
			}
			p.URL = "http://" + addr
			return m[1]
		}
		select {
		case <-p.done:
			p.t.Fatalf("phaseboard exited before listening (%v):\n%s", p.Cmd.ProcessState, p.Output())
		case <-deadline:
			p.t.Fatalf("phaseboard did not start listening in 60 s:\n%s", p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end and returns its exit code (-1 for a signal); past timeout
// the test fails.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("phaseboard still running after %s:\n%s", timeout, p.Output())
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Output is everything the process has written so far (stdout and stderr).
func (p *Process) Output() string { return p.out.String() }

// Run runs bin to its end and returns its exit code and output.
func Run(t testing.TB, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	p := Start(t, bin, env, args...)
	code := p.Wait(2 * time.Minute)
	return code, p.Output()
}

// Buffer collects output that several goroutines write (a process's, a test logger's).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
