package storetest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
)

// Cluster is a PostgreSQL server of the test's own, which it may stop, start or crash: tests of
// outages must never touch the shared server on 5432. It is made with Debian's pg_createcluster
// (as root, as on the development machines and CI) on a free port and dropped at cleanup.
type Cluster struct {
	t       testing.TB
	Version string
	Name    string
	Port    int
	// URL is the cluster's postgres database.
	URL string
}

// NewCluster creates and starts a cluster. Without pg_createcluster the test fails: CI must run
// the outage tests.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no PostgreSQL cluster of its own")
	}
	if _, err := exec.LookPath("pg_createcluster"); err != nil {
		t.Fatal("pg_createcluster is missing (Debian's postgresql-common): the outage tests need a PostgreSQL cluster of their own")
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(versions) == 0 {
		t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql")
	}
	dropAbandonedClusters(t)
	c := &Cluster{t: t, Version: filepath.Base(filepath.Dir(filepath.Dir(versions[len(versions)-1]))),
		Name: fmt.Sprintf("%s%d_%s", clusterPrefix, os.Getpid(), strings.ReplaceAll(uuid.NewString(), "-", "")[:8]), Port: freePort(t)}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	// fsync off: the tests crash Phaseboard and restart PostgreSQL, never the machine, and the
	// write-ahead log still reaches the OS at every commit (synchronous_commit stays on).
	c.run("pg_createcluster", c.Version, c.Name, "--port", fmt.Sprint(c.Port),
		"-o", "fsync=off", "-o", "max_connections=60", "--", "--auth=trust")
	t.Cleanup(func() {
		out, err := exec.Command("pg_dropcluster", c.Version, c.Name, "--stop").CombinedOutput()
		if err != nil {
			t.Logf("pg_dropcluster %s: %v\n%s", c.Name, err, out)
		}
	})
	c.Start()
	return c
}

// clusterPrefix names the test clusters: pbtest_<pid of the test process>_<random>.
const clusterPrefix = "pbtest_"

// dropAbandonedClusters drops the test clusters of test processes that no longer run (killed
// before their cleanup), so that they do not pile up on the machine. Clusters of running
// processes, other engineers' parallel runs included, are left alone.
func dropAbandonedClusters(t testing.TB) {
	out, err := exec.Command("pg_lsclusters", "--no-header").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], clusterPrefix) {
			continue
		}
		pid, _, _ := strings.Cut(strings.TrimPrefix(f[1], clusterPrefix), "_")
		if _, err := os.Stat("/proc/" + pid); pid == "" || err == nil {
			continue
		}
		if out, err := exec.Command("pg_dropcluster", f[0], f[1], "--stop").CombinedOutput(); err != nil {
			t.Logf("dropping abandoned cluster %s: %v\n%s", f[1], err, out)
		}
	}
}

// Start starts the cluster and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctlcluster", "--skip-systemctl-redirect", c.Version, c.Name, "start")
	c.waitReady()
}

// Stop shuts the cluster down (fast: open connections are cut, as in a restart for maintenance).
func (c *Cluster) Stop() {
	c.t.Helper()
	c.run("pg_ctlcluster", "--skip-systemctl-redirect", c.Version, c.Name, "stop", "-m", "fast")
}

// Crash stops the cluster the way a power cut would (immediate: no checkpoint, recovery at start).
func (c *Cluster) Crash() {
	c.t.Helper()
	c.run("pg_ctlcluster", "--skip-systemctl-redirect", c.Version, c.Name, "stop", "-m", "immediate")
}

func (c *Cluster) waitReady() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := sql.Open("pgx", c.URL)
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster %s on port %d did not come up: %v", c.Name, c.Port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NewOn returns a migrated Store on a fresh schema of the given PostgreSQL server (a Cluster's
// URL, say), dropped at cleanup.
func NewOn(t testing.TB, base string) *models.Store {
	t.Helper()
	return Open(t, SchemaURL(t, base))
}

// Replica is a streaming read replica of a Cluster: a cluster of its own made from the primary
// with pg_basebackup -R (it follows the primary until dropped, at cleanup, before the primary).
type Replica struct {
	*Cluster
	primary *Cluster
}

// NewReplica makes a streaming replica of primary and waits until it accepts connections.
func NewReplica(t testing.TB, primary *Cluster) *Replica {
	t.Helper()
	r := &Replica{primary: primary, Cluster: &Cluster{t: t, Version: primary.Version,
		Name: fmt.Sprintf("%s%d_%s", clusterPrefix, os.Getpid(), strings.ReplaceAll(uuid.NewString(), "-", "")[:8]), Port: freePort(t)}}
	c := r.Cluster
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	c.run("pg_createcluster", c.Version, c.Name, "--port", fmt.Sprint(c.Port),
		"-o", "fsync=off", "-o", "max_connections=60", "-o", "hot_standby_feedback=on", "--", "--auth=trust")
	// Registered after the primary's cleanup, so run before it: the replica goes first.
	t.Cleanup(func() {
		out, err := exec.Command("pg_dropcluster", c.Version, c.Name, "--stop").CombinedOutput()
		if err != nil {
			t.Logf("pg_dropcluster %s: %v\n%s", c.Name, err, out)
		}
	})
	data := filepath.Join("/var/lib/postgresql", c.Version, c.Name)
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatalf("replica data directory: %v", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// As the postgres user, who owns the data directory; -R writes standby.signal and the
	// primary's address, -X stream copies the WAL written meanwhile.
	c.run("su", "postgres", "-s", "/bin/sh", "-c", fmt.Sprintf("pg_basebackup -h 127.0.0.1 -p %d -U postgres -D %s -R -X stream -w", primary.Port, data))
	c.Start()
	return r
}

// WaitReplayed waits until the replica has replayed everything the primary has written so far.
func (r *Replica) WaitReplayed() {
	r.t.Helper()
	pri, err := sql.Open("pgx", r.primary.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	defer pri.Close()
	var lsn string
	if err := pri.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		r.t.Fatal(err)
	}
	rep, err := sql.Open("pgx", r.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rep.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var done bool
		err := rep.QueryRow(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn).Scan(&done)
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("replica %s did not replay up to %s: %v", r.Name, lsn, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PauseReplay stops the replica applying what it receives (it goes on receiving): reads there
// see the past, which tells a read served by it from one served by the primary.
func (r *Replica) PauseReplay() { r.exec(`SELECT pg_wal_replay_pause()`) }

// ResumeReplay lets the replica catch up again.
func (r *Replica) ResumeReplay() { r.exec(`SELECT pg_wal_replay_resume()`) }

func (r *Replica) exec(q string) {
	r.t.Helper()
	db, err := sql.Open("pgx", r.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
}

// On returns url (a Cluster's, with a test schema's search_path) pointed at the replica.
func (r *Replica) On(url string) string {
	return strings.Replace(url, fmt.Sprintf("127.0.0.1:%d/", r.primary.Port), fmt.Sprintf("127.0.0.1:%d/", r.Port), 1)
}
