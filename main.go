// Command phaseboard serves the Phaseboard sales pipeline board and its OData API.
//
//	phaseboard [serve] [--host H] [--port 8080]   start the server (the default)
//	phaseboard migrate                            apply pending database migrations
//	phaseboard demo --opportunities N             load a demo data set of N opportunities
//	phaseboard user add --email E --role rep|manager|admin [--password P] [--employee-email E]
//	phaseboard user reset-password --email E [--password P]
//	phaseboard client add --name N --scopes read,write [--role R] [--employee-email E] [--redirect-uri U ...]
//
// `phaseboard --help` and `phaseboard COMMAND --help` print the usage (usage below).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/web"
)

// firstRunOpportunities is the size of the demo a newcomer gets on the embedded database.
const firstRunOpportunities = 300

// usage is the top-level help.
const usage = `Usage: phaseboard [command] [flags]

Commands:
  serve                  start the server (the default when no command is given)
  migrate                apply pending database migrations (serve does it too)
  demo                   add demo opportunities
  user add               add a login
  user reset-password    set a login's new password (generated and printed when omitted)
  client add             register an OAuth2 API client (prints its secret once)
  help                   print this help

Run 'phaseboard COMMAND --help' for a command's flags.

Environment:
  DATABASE_URL                  postgres://… for PostgreSQL; unset: the embedded ./phaseboard.db
                                (sqlite:PATH for another file)
  PORT, PHASEBOARD_HOST         where serve listens (see 'phaseboard serve --help')
  PHASEBOARD_ADMIN_EMAIL        the first administrator's login (first start only)
  PHASEBOARD_ADMIN_PASSWORD     its password (default: generated and printed once)
  PHASEBOARD_SECURE_COOKIES=1   mark cookies Secure (behind TLS)
  PHASEBOARD_TRUSTED_PROXIES    load balancers whose X-Forwarded-For names the client
  PHASEBOARD_API_RATE_LIMIT     API calls a client may make a minute (default 1000)
  PHASEBOARD_REP_VISIBILITY     what reps may read: team (default) or own
  PHASEBOARD_SHUTDOWN_TIMEOUT   how long SIGTERM waits for requests in flight (default 20s)
  PHASEBOARD_REPLICA_URLS       PostgreSQL streaming replicas (postgres://…, comma-separated) for
                                forecasts, exports and API reads
  PHASEBOARD_READ_YOUR_WRITES   how long after a write its author reads from the primary (default 5s)
  PHASEBOARD_REPLICA_MAX_LAG    a replica further behind is not read from (default 1s)
  PHASEBOARD_LISTEN_DATABASE_URL  the PostgreSQL URL the change feed LISTENs on: a session
                                connection, not a transaction-mode pooler (default DATABASE_URL)
  PHASEBOARD_WEBHOOK_ALLOWED_HOSTS  the only hosts webhooks may call (comma-separated, *.example.com
                                for subdomains; a listed host may be loopback). Unset: any public host
  PHASEBOARD_WEBHOOK_TIMEOUT    one delivery attempt's limit (default 10s)
  PHASEBOARD_WEBHOOK_RETRY_BASE the first retry's delay, doubled per attempt (default 2s)
  PHASEBOARD_WEBHOOK_MAX_ATTEMPTS  attempts before a webhook is marked failing (default 10)
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && isHelpFlag(args[0]) {
		cmd = "help"
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, log)
	case "migrate":
		err = migrate(args)
	case "demo":
		err = demo(args)
	case "user":
		err = userCommand(args)
	case "client":
		err = clientCommand(args)
	case "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // the usage is printed; asking for help is no failure
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "phaseboard:", err)
		os.Exit(1)
	}
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// flags is a command's flag set whose --help prints "Usage: phaseboard COMMAND …", what the
// command does and its flags, to stdout (help that was asked for is no error).
func flags(command, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "%s\n\n%s\n", strings.TrimSpace("Usage: phaseboard "+command+" "+synopsis), about)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses a command's flags; --help prints the usage to stdout and returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if isHelpFlag(a) {
			fs.SetOutput(os.Stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func openStore() (*models.Store, error) {
	s, err := models.Open(os.Getenv("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func serve(args []string, log *slog.Logger) error {
	fs := flags("serve", "[--host H] [--port N] [--shutdown-timeout D]", "Start the server: the board on /board, the OData API on /v1/odata.")
	host := fs.String("host", os.Getenv("PHASEBOARD_HOST"), "address to listen on (env PHASEBOARD_HOST). Default: 127.0.0.1 with the\nembedded database, whose demo logins are published; all interfaces with PostgreSQL.\nUse 0.0.0.0 to serve the embedded database to other machines.")
	port := fs.String("port", envOr("PORT", "8080"), "port to listen on (env PORT)")
	grace := fs.Duration("shutdown-timeout", envDuration("PHASEBOARD_SHUTDOWN_TIMEOUT", 20*time.Second),
		"on SIGTERM or Ctrl-C, how long to wait for requests in flight (env PHASEBOARD_SHUTDOWN_TIMEOUT)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openStore()
	if err != nil {
		return err
	}
	defer s.Close() // last: after every request in flight has finished
	ctx := context.Background()
	if !s.IsPostgres() {
		empty, err := s.IsEmpty(ctx)
		if err != nil {
			return err
		}
		if empty {
			log.Info("empty embedded database: loading demo data", "opportunities", firstRunOpportunities)
			if err := s.LoadDemo(ctx, firstRunOpportunities, nil, nil); err != nil {
				return err
			}
		}
	}
	if err := firstUsers(ctx, s); err != nil {
		return err
	}
	if v := envOr("PHASEBOARD_REP_VISIBILITY", models.VisibilityTeam); models.ValidVisibility(v) {
		s.RepVisibility = v // what reps may read: the team's activities, or only their own (models.ReadScope)
	} else {
		return fmt.Errorf("PHASEBOARD_REP_VISIBILITY is %q: use %s or %s", v, models.VisibilityTeam, models.VisibilityOwn)
	}
	if err := useReplicas(s, log); err != nil {
		return err
	}
	secure := os.Getenv("PHASEBOARD_SECURE_COOKIES") == "1"
	rateLimit, _ := strconv.Atoi(os.Getenv("PHASEBOARD_API_RATE_LIMIT"))
	proxies, err := web.ParseTrustedProxies(os.Getenv("PHASEBOARD_TRUSTED_PROXIES"))
	if err != nil {
		return err
	}
	app := web.New(web.Config{Store: s, SecureCookies: secure, Logger: log, TrustedProxies: proxies})
	policy := models.WebhookPolicy{AllowedHosts: splitList(os.Getenv("PHASEBOARD_WEBHOOK_ALLOWED_HOSTS"))}
	h := &handlers.Handler{Store: s, SecureCookies: secure, APIRateLimit: rateLimit, Logger: log, WebhookPolicy: policy}
	handlers.Register(app, h)

	// Bind first: "running" is said only once the port is ours.
	addr := listenAddress(*host, *port, s.IsPostgres())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	stopped, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go purgeExpired(stopped, s, log)
	// The weekly forecast snapshot: every instance checks, one takes it (models.SnapshotIfDue).
	go s.RunScheduler(stopped, 10*time.Minute, log)
	// The change feed (live boards, webhooks): LISTEN needs a session connection of its own.
	s.Feed().Start(models.FeedConfig{ListenURL: os.Getenv("PHASEBOARD_LISTEN_DATABASE_URL"), Logger: log})
	// Webhook deliveries: every instance takes part, leases keep each delivery to one at a time.
	maxAttempts, _ := strconv.Atoi(os.Getenv("PHASEBOARD_WEBHOOK_MAX_ATTEMPTS"))
	go s.RunWebhooks(stopped, models.WebhookConfig{Policy: policy, Logger: log, MaxAttempts: maxAttempts,
		Timeout: envDuration("PHASEBOARD_WEBHOOK_TIMEOUT", 10*time.Second), BaseDelay: envDuration("PHASEBOARD_WEBHOOK_RETRY_BASE", 2*time.Second)})
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("Phaseboard is running", "url", boardURL(ln.Addr()), "listen", ln.Addr().String(), "database", s.Dialect)

	select {
	case err := <-served:
		return err
	case <-stopped.Done():
	}
	// Stop accepting, let the requests in flight finish (at most grace), and only then close
	// the database pool (the deferred s.Close): a handler never finds its database gone.
	log.Info("shutting down: finishing requests in flight", "timeout", grace.String())
	h.StopStreams() // live pages' streams never finish by themselves; their pages reconnect elsewhere
	if err := app.ShutdownWithTimeout(*grace); err != nil {
		log.Warn("shutdown: requests still running after the timeout are cut off", "err", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

// splitList is a comma-separated setting's items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// useReplicas adds the read replicas of PHASEBOARD_REPLICA_URLS, if any.
func useReplicas(s *models.Store, log *slog.Logger) error {
	var urls []string
	for _, u := range strings.Split(os.Getenv("PHASEBOARD_REPLICA_URLS"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return nil
	}
	err := s.UseReplicas(models.ReplicaConfig{URLs: urls,
		ReadYourWrites: envDuration("PHASEBOARD_READ_YOUR_WRITES", models.DefaultReadYourWrites),
		MaxLag:         envDuration("PHASEBOARD_REPLICA_MAX_LAG", models.DefaultMaxReplicaLag),
		OnChange: func(url string, usable bool, lag time.Duration, err error) {
			if usable {
				log.Info("read replica in use", "replica", url, "lag", lag.String())
			} else {
				log.Warn("read replica left out: its reads go to the primary", "replica", url, "lag", lag.String(), "err", err)
			}
		}})
	if err != nil {
		return fmt.Errorf("PHASEBOARD_REPLICA_URLS: %w", err)
	}
	for _, r := range s.Replicas() {
		log.Info("read replica", "replica", r.URL, "usable", r.Usable, "lag", r.Lag.String())
	}
	return nil
}

// listenAddress is where serve listens: the host asked for, else loopback for the embedded
// database (its demo passwords are published) and every interface for PostgreSQL.
func listenAddress(host, port string, postgres bool) string {
	if host == "" && !postgres {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// boardURL is the board's address for the start message.
func boardURL(addr net.Addr) string {
	host, port := "localhost", ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
		if !tcp.IP.IsLoopback() && !tcp.IP.IsUnspecified() {
			host = tcp.IP.String()
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/board"
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil && d > 0 {
		return d
	}
	return def
}

func migrate(args []string) error {
	if err := parse(flags("migrate", "", "Apply the pending database migrations of DATABASE_URL (serve does it at start too)."), args); err != nil {
		return err
	}
	s, err := models.Open(os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.Migrate(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("applied %d migration(s)\n", n)
	return nil
}

func demo(args []string) error {
	fs := flags("demo", "[--opportunities N]", "Add demo data: reference data (pipelines, reps, customers) and N opportunities.")
	n := fs.Int("opportunities", 1000, "how many opportunities to add")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 0 {
		return errors.New("--opportunities must not be negative")
	}
	s, err := openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	err = s.LoadDemo(context.Background(), *n, nil, func(done, total int) {
		if done == total || done%10000 == 0 {
			fmt.Printf("\rloaded %d/%d opportunities", done, total)
		}
	})
	fmt.Println()
	if err != nil {
		return err
	}
	fmt.Printf("done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// People and API clients: first start, `phaseboard user add`, `phaseboard client add`.

// firstUsers creates the first admin on a database without users and, on the embedded demo
// database, the demo logins; it prints the credentials this once.
func firstUsers(ctx context.Context, s *models.Store) error {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	admin, err := s.EnsureFirstAdmin(ctx, os.Getenv("PHASEBOARD_ADMIN_EMAIL"), os.Getenv("PHASEBOARD_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	fmt.Println("First start: created the administrator")
	if os.Getenv("PHASEBOARD_ADMIN_PASSWORD") == "" {
		fmt.Printf("  %-32s password %s   (generated: note it now, it is not shown again)\n", admin.Email, admin.Password)
	} else {
		fmt.Printf("  %-32s password from PHASEBOARD_ADMIN_PASSWORD\n", admin.Email)
	}
	demo, err := s.HasDemoData(ctx)
	if err != nil || !demo || s.IsPostgres() {
		return err
	}
	creds, err := s.CreateDemoUsers(ctx)
	if err != nil {
		return fmt.Errorf("demo users: %w", err)
	}
	fmt.Printf("Demo logins (embedded demo database only), all with the password %q:\n", models.DemoPassword)
	for _, c := range creds {
		fmt.Printf("  %-32s %s\n", c.Email, c.Role)
	}
	return nil
}

const userUsage = `Usage: phaseboard user COMMAND [flags]

Commands:
  add               add a login
  reset-password    set a login's new password; its sessions end

Run 'phaseboard user COMMAND --help' for the flags.
`

func userCommand(args []string) error {
	if len(args) == 0 || isHelpFlag(args[0]) || args[0] == "help" {
		fmt.Print(userUsage)
		if len(args) == 0 {
			return errors.New("user: name a command")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "add":
		return userAdd(args[1:])
	case "reset-password":
		return userResetPassword(args[1:])
	}
	fmt.Fprint(os.Stderr, userUsage)
	return fmt.Errorf("unknown user command %q", args[0])
}

func userAdd(args []string) error {
	fs := flags("user add", "--email E [--role rep|manager|admin] [--password P] [--employee-email E]", "Add a login. Without --password one is generated and printed once.")
	email := fs.String("email", "", "the login email")
	role := fs.String("role", models.RoleRep, "rep, manager or admin")
	password := fs.String("password", "", "the password (default: generated and printed)")
	employee := fs.String("employee-email", "", "the email of the employee (sales rep) the user is")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	empID, err := employeeID(ctx, s, *employee)
	if err != nil {
		return err
	}
	pw, generated := *password, false
	if pw == "" {
		pw, generated = models.RandomPassword(), true
	}
	u, err := s.CreateUser(ctx, models.NewUser{Email: *email, Password: pw, Role: *role, EmployeeID: empID}, models.Actor{})
	if err != nil {
		return cliError(err)
	}
	fmt.Printf("created %s user %s\n", u.Role, u.Email)
	if generated {
		fmt.Printf("password: %s   (note it now, it is not shown again)\n", pw)
	}
	return nil
}

// userResetPassword is the way back in when a password is lost, the first administrator's
// generated one included.
func userResetPassword(args []string) error {
	fs := flags("user reset-password", "--email E [--password P]",
		"Set a login's new password and end its sessions. Without --password one is generated and printed once.")
	email := fs.String("email", "", "the login email")
	password := fs.String("password", "", "the new password (default: generated and printed)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return errors.New("--email is required")
	}
	s, err := openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	u, err := s.UserByEmail(ctx, *email)
	if err != nil {
		return cliError(err)
	}
	pw, generated := *password, false
	if pw == "" {
		pw, generated = models.RandomPassword(), true
	}
	if err := s.SetUserPassword(ctx, u.ID, pw, models.Actor{}); err != nil {
		return cliError(err)
	}
	fmt.Printf("new password set for %s user %s; its sessions have ended\n", u.Role, u.Email)
	if generated {
		fmt.Printf("password: %s   (note it now, it is not shown again)\n", pw)
	}
	if !u.IsActive {
		fmt.Println("note: this login is deactivated; an administrator can activate it on /admin/users")
	}
	return nil
}

const clientUsage = `Usage: phaseboard client COMMAND [flags]

Commands:
  add    register an OAuth2 API client (client credentials; with --redirect-uri also the
         authorization code flow, acting for the users who allow it); prints its id and secret once

Run 'phaseboard client add --help' for the flags.
`

func clientCommand(args []string) error {
	if len(args) == 0 || isHelpFlag(args[0]) || args[0] == "help" {
		fmt.Print(clientUsage)
		if len(args) == 0 {
			return errors.New("client: name a command")
		}
		return flag.ErrHelp
	}
	if args[0] != "add" {
		fmt.Fprint(os.Stderr, clientUsage)
		return fmt.Errorf("unknown client command %q", args[0])
	}
	fs := flags("client add", "--name N [--scopes read,write] [--role R] [--employee-email E] [--redirect-uri U ...]", "Register an OAuth2 API client; its id and secret are printed once.")
	name := fs.String("name", "", "what the client is (shown to admins)")
	scopes := fs.String("scopes", "read", "read, write (comma-separated)")
	role := fs.String("role", models.RoleManager, "the role the client acts with: rep, manager or admin")
	employee := fs.String("employee-email", "", "the email of the employee the client acts as (GetCurrentEmployee)")
	var redirects stringList
	fs.Var(&redirects, "redirect-uri", "a redirect URI of the authorization code flow (https, or http to localhost); repeat for more")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	s, err := openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	empID, err := employeeID(ctx, s, *employee)
	if err != nil {
		return err
	}
	c, secret, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: *name, Scopes: strings.Split(*scopes, ","), Role: *role, EmployeeID: empID, RedirectURIs: redirects}, models.Actor{})
	if err != nil {
		return cliError(err)
	}
	fmt.Printf("client_id:     %s\nclient_secret: %s   (note it now, it is not shown again)\nscopes:        %s\n", c.ID, secret, c.Scopes)
	for _, u := range c.RedirectURIList() {
		fmt.Printf("redirect_uri:  %s\n", u)
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func employeeID(ctx context.Context, s *models.Store, email string) (*uuid.UUID, error) {
	if email == "" {
		return nil, nil
	}
	e, err := s.EmployeeByEmail(ctx, email)
	if err != nil {
		return nil, cliError(err)
	}
	return &e.ID, nil
}

// cliError shows a domain error's message (the CLI user is the operator, but keep it tidy).
func cliError(err error) error {
	if models.ErrorCode(err) != models.EInternal {
		return errors.New(models.ErrorMessage(err))
	}
	return err
}

// purgeExpired deletes expired sessions, access tokens, OAuth codes and refresh tokens, kv_store
// keys and finished rate-limit windows every ten minutes, so the tables do not grow without
// bound, until ctx ends.
func purgeExpired(ctx context.Context, s *models.Store, log *slog.Logger) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.PurgeExpiredSessions(ctx); err != nil {
			log.Warn("purge expired sessions", "err", err)
		}
		if err := s.KV("").PurgeExpired(); err != nil {
			log.Warn("purge expired keys", "err", err)
		}
		if err := s.PurgeRateCounters(ctx); err != nil {
			log.Warn("purge rate counters", "err", err)
		}
	}
}
