// Command phaseboard serves the Phaseboard sales pipeline board and its OData API.
//
//	phaseboard [serve] [--port 8080]     start the server (the default)
//	phaseboard migrate                   apply pending database migrations
//	phaseboard demo --opportunities N    load a demo data set of N opportunities
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
	"syscall"
	"time"

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
	case "help", "-h", "--help":
		fmt.Println("usage: phaseboard [serve [--port N] | migrate | demo --opportunities N]")
	default:
		err = fmt.Errorf("unknown command %q (try: serve, migrate, demo)", cmd)
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
	app := web.New(web.Config{Store: s, SecureCookies: os.Getenv("PHASEBOARD_SECURE_COOKIES") == "1", Logger: log})
	handlers.Register(app, &handlers.Handler{Store: s})

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
