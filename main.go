// Command phaseboard serves the Phaseboard sales pipeline board and its OData API.
//
//	phaseboard [serve] [--port 8080]     start the server (the default)
//	phaseboard migrate                   apply pending database migrations
//	phaseboard demo --opportunities N    load a demo data set of N opportunities
//	phaseboard user add --email E --role rep|manager|admin [--password P] [--employee-email E]
//	phaseboard client add --name N --scopes read,write [--role R] [--employee-email E]
//
// On a first start (no user yet) PHASEBOARD_ADMIN_EMAIL and PHASEBOARD_ADMIN_PASSWORD create
// the first admin; without a password a random one is generated and printed once. The
// embedded demo database also gets demo logins (password models.DemoPassword), printed at start.
// PHASEBOARD_API_RATE_LIMIT sets the API calls a client may make a minute (default 1000).
//
// DATABASE_URL selects the database: a postgres:// URL for PostgreSQL; unset, the embedded
// single-file database ./phaseboard.db, which gets demo data on first start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
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

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, log)
	case "migrate":
		err = migrate()
	case "demo":
		err = demo(args)
	case "user":
		err = userCommand(args)
	case "client":
		err = clientCommand(args)
	case "help", "-h", "--help":
		fmt.Println("usage: phaseboard [serve [--port N] | migrate | demo --opportunities N | user add … | client add …]")
	default:
		err = fmt.Errorf("unknown command %q (try: serve, migrate, demo, user, client)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "phaseboard:", err)
		os.Exit(1)
	}
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
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.String("port", envOr("PORT", "8080"), "port to listen on (env PORT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := openStore()
	if err != nil {
		return err
	}
	defer s.Close()
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
	secure := os.Getenv("PHASEBOARD_SECURE_COOKIES") == "1"
	rateLimit, _ := strconv.Atoi(os.Getenv("PHASEBOARD_API_RATE_LIMIT"))
	proxies, err := web.ParseTrustedProxies(os.Getenv("PHASEBOARD_TRUSTED_PROXIES"))
	if err != nil {
		return err
	}
	app := web.New(web.Config{Store: s, SecureCookies: secure, Logger: log, TrustedProxies: proxies})
	handlers.Register(app, &handlers.Handler{Store: s, SecureCookies: secure, APIRateLimit: rateLimit, Logger: log})

	go purgeExpired(s, log)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		log.Info("shutting down")
		_ = app.ShutdownWithTimeout(10 * time.Second)
	}()
	log.Info("Phaseboard is running", "url", "http://localhost:"+*port+"/board", "database", s.Dialect)
	return app.Listen(":" + *port)
}

func migrate() error {
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
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("opportunities", 1000, "how many opportunities to add")
	if err := fs.Parse(args); err != nil {
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

func userCommand(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: phaseboard user add --email E --role rep|manager|admin [--password P] [--employee-email E]")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	email := fs.String("email", "", "the login email")
	role := fs.String("role", models.RoleRep, "rep, manager or admin")
	password := fs.String("password", "", "the password (default: generated and printed)")
	employee := fs.String("employee-email", "", "the email of the employee (sales rep) the user is")
	if err := fs.Parse(args[1:]); err != nil {
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

func clientCommand(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: phaseboard client add --name N --scopes read,write [--role manager] [--employee-email E]")
	}
	fs := flag.NewFlagSet("client add", flag.ContinueOnError)
	name := fs.String("name", "", "what the client is (shown to admins)")
	scopes := fs.String("scopes", "read", "read, write (comma-separated)")
	role := fs.String("role", models.RoleManager, "the role the client acts with: rep, manager or admin")
	employee := fs.String("employee-email", "", "the email of the employee the client acts as (GetCurrentEmployee)")
	if err := fs.Parse(args[1:]); err != nil {
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
	c, secret, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: *name, Scopes: strings.Split(*scopes, ","), Role: *role, EmployeeID: empID}, models.Actor{})
	if err != nil {
		return cliError(err)
	}
	fmt.Printf("client_id:     %s\nclient_secret: %s   (note it now, it is not shown again)\nscopes:        %s\n", c.ID, secret, c.Scopes)
	return nil
}

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

// purgeExpired deletes expired sessions, access tokens and kv_store keys (CSRF tokens, rate
// counters) every ten minutes, so the tables do not grow without bound.
func purgeExpired(s *models.Store, log *slog.Logger) {
	kv := s.KV("")
	for range time.Tick(10 * time.Minute) {
		if err := s.PurgeExpiredSessions(context.Background()); err != nil {
			log.Warn("purge expired sessions", "err", err)
		}
		if err := kv.PurgeExpired(); err != nil {
			log.Warn("purge expired keys", "err", err)
		}
	}
}
