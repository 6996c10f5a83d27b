package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// serverFlags are the flags of commands that open the database themselves
// (serve, migrate, admin); they override the file and the environment.
type serverFlags struct {
	configPath  string
	listen      string
	dataDir     string
	databaseURL string
	logLevel    string
}

func (f *serverFlags) register(cmd *cobra.Command, withListen bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "YAML config file (env TOLLGATE_CONFIG)")
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory for the embedded SQLite database (env TOLLGATE_DATA_DIR, default ./tollgate-data)")
	fl.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL URL, postgres://… (env TOLLGATE_DATABASE_URL); empty uses SQLite")
	fl.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (env TOLLGATE_LOG_LEVEL)")
	if withListen {
		fl.StringVar(&f.listen, "listen", "", "address to serve on (env TOLLGATE_LISTEN, default 127.0.0.1:8080)")
	}
}

// load builds the validated configuration: defaults < file < env < flags.
func (f *serverFlags) load(e *env) (config.Config, error) {
	c, err := config.Load(f.configPath, e.getenv)
	if err != nil {
		return c, err
	}
	for _, o := range []struct {
		v   string
		dst *string
	}{{f.listen, &c.Listen}, {f.dataDir, &c.DataDir}, {f.databaseURL, &c.DatabaseURL}, {f.logLevel, &c.Log.Level}} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	return c, c.Validate()
}

func newLogger(w io.Writer, c config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore connects to the configured database and applies pending
// migrations, logging each one.
func openStore(ctx context.Context, c config.Config, log *slog.Logger) (*sqlstore.Store, error) {
	s, err := sqlstore.Open(ctx, c.DatabaseTarget())
	if err != nil {
		if c.DatabaseURL != "" {
			return nil, fmt.Errorf("%w\n(check TOLLGATE_DATABASE_URL, or unset it to use the embedded SQLite database)", err)
		}
		return nil, err
	}
	n, err := s.Migrate(ctx, func(v int64, name string, took time.Duration) {
		log.Info("applied migration", "version", v, "name", name, "took", took.Round(time.Millisecond))
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	log.Debug("database ready", "backend", s.Backend(), "migrations_applied", n)
	return s, nil
}
