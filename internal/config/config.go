// Package config loads Tollgate's configuration: defaults, then a YAML file,
// then TOLLGATE_* environment variables (with *_FILE variants for secrets),
// then command-line flags, and validates the result once at start-up with
// errors that name the field at fault.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-dev/tollgate/internal/keys"
)

// Config is the whole configuration of a Tollgate server.
type Config struct {
	// Listen is the address to serve on.
	Listen string `yaml:"listen"`
	// DataDir holds the SQLite database and other local state.
	DataDir string `yaml:"data_dir"`
	// DatabaseURL selects PostgreSQL (postgres://…); empty means SQLite in
	// DataDir.
	DatabaseURL string `yaml:"database_url"`
	// BasePath mounts every route under a prefix, e.g. "/tollgate".
	BasePath string `yaml:"base_path"`
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry, the one the (single) trusted proxy in front of Tollgate added.
	TrustProxy bool `yaml:"trust_proxy"`

	Log       LogConfig        `yaml:"log"`
	Keys      KeysConfig       `yaml:"keys"`
	HTTP      HTTPConfig       `yaml:"http"`
	Bootstrap BootstrapConfig  `yaml:"bootstrap"`
	Models    []ModelConfig    `yaml:"models"`
	Upstreams []UpstreamConfig `yaml:"upstreams"`
	Routing   RoutingConfig    `yaml:"routing"`
	Async     AsyncConfig      `yaml:"async"`
	Limits    LimitsConfig     `yaml:"limits"`
	Redis     RedisConfig      `yaml:"redis"`
	Billing   BillingConfig    `yaml:"billing"`
	Search    SearchConfig     `yaml:"search"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// KeysConfig tunes API keys and admin tokens.
type KeysConfig struct {
	Prefix        string        `yaml:"prefix"`
	AdminPrefix   string        `yaml:"admin_prefix"`
	RotationGrace time.Duration `yaml:"rotation_grace"`
	CacheSize     int           `yaml:"cache_size"`
	CacheTTL      time.Duration `yaml:"cache_ttl"`
	LastUsedFlush time.Duration `yaml:"last_used_flush"`
}

// HTTPConfig bounds requests and shutdown.
type HTTPConfig struct {
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
}

// BootstrapConfig names the organization and owner created on first start.
type BootstrapConfig struct {
	OrgName    string `yaml:"org_name"`
	OwnerEmail string `yaml:"owner_email"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "tollgate-data",
		Log:     LogConfig{Level: "info", Format: "text"},
		Keys: KeysConfig{
			Prefix: keys.DefaultKeyPrefix, AdminPrefix: keys.DefaultAdminPrefix,
			RotationGrace: 24 * time.Hour, CacheSize: 10_000, CacheTTL: 10 * time.Second,
			LastUsedFlush: 15 * time.Second,
		},
		HTTP: HTTPConfig{
			MaxBodyBytes: 1 << 20, ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout: 120 * time.Second, ShutdownTimeout: 30 * time.Second,
		},
		Bootstrap: BootstrapConfig{OrgName: "Default organization", OwnerEmail: "admin@localhost.localdomain"},
		Models:    defaultModels(),
		Routing: RoutingConfig{Retries: 2, Backoff: 200 * time.Millisecond, BreakerFailures: 5,
			BreakerCooldown: 30 * time.Second, StreamKeepAlive: 10 * time.Second},
		Async:   AsyncConfig{Workers: 4, TTL: 7 * 24 * time.Hour},
		Limits:  defaultLimits(),
		Billing: defaultBilling(),
		Search:  defaultSearch(),
	}
}

// SQLitePath is where the embedded database lives.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "tollgate.db") }

// DatabaseTarget is the URL or file the store opens.
func (c *Config) DatabaseTarget() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return c.SQLitePath()
}

// Load builds a Config from defaults, the YAML file at path (if any; else
// TOLLGATE_CONFIG) and the environment. Flags are applied by the caller
// afterwards, then Validate.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	if path == "" {
		path = getenv("TOLLGATE_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		return c, err
	}
	if err := c.resolveSecrets(getenv); err != nil {
		return c, err
	}
	return c, nil
}

// envVar binds one environment variable to a field.
type envVar struct {
	name string
	set  func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func dur(name string, p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration such as 30s or 24h", name, v)
		}
		*p(c) = d
		return nil
	}
}

func integer(name string, p func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", name, v)
		}
		*p(c) = n
		return nil
	}
}

// envVars lists every environment variable Tollgate reads.
var envVars = []envVar{
	{"TOLLGATE_LISTEN", str(func(c *Config) *string { return &c.Listen })},
	{"TOLLGATE_DATA_DIR", str(func(c *Config) *string { return &c.DataDir })},
	{"TOLLGATE_DATABASE_URL", str(func(c *Config) *string { return &c.DatabaseURL })},
	{"TOLLGATE_BASE_PATH", str(func(c *Config) *string { return &c.BasePath })},
	{"TOLLGATE_TRUST_PROXY", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("TOLLGATE_TRUST_PROXY: %q is not true or false", v)
		}
		c.TrustProxy = b
		return nil
	}},
	{"TOLLGATE_LOG_LEVEL", str(func(c *Config) *string { return &c.Log.Level })},
	{"TOLLGATE_LOG_FORMAT", str(func(c *Config) *string { return &c.Log.Format })},
	{"TOLLGATE_KEY_PREFIX", str(func(c *Config) *string { return &c.Keys.Prefix })},
	{"TOLLGATE_ADMIN_TOKEN_PREFIX", str(func(c *Config) *string { return &c.Keys.AdminPrefix })},
	{"TOLLGATE_ROTATION_GRACE", dur("TOLLGATE_ROTATION_GRACE", func(c *Config) *time.Duration { return &c.Keys.RotationGrace })},
	{"TOLLGATE_AUTH_CACHE_TTL", dur("TOLLGATE_AUTH_CACHE_TTL", func(c *Config) *time.Duration { return &c.Keys.CacheTTL })},
	{"TOLLGATE_AUTH_CACHE_SIZE", func(c *Config, v string) error {
		var n int64
		if err := integer("TOLLGATE_AUTH_CACHE_SIZE", func(*Config) *int64 { return &n })(c, v); err != nil {
			return err
		}
		c.Keys.CacheSize = int(n)
		return nil
	}},
	{"TOLLGATE_LAST_USED_FLUSH", dur("TOLLGATE_LAST_USED_FLUSH", func(c *Config) *time.Duration { return &c.Keys.LastUsedFlush })},
	{"TOLLGATE_MAX_BODY_BYTES", integer("TOLLGATE_MAX_BODY_BYTES", func(c *Config) *int64 { return &c.HTTP.MaxBodyBytes })},
	{"TOLLGATE_SHUTDOWN_TIMEOUT", dur("TOLLGATE_SHUTDOWN_TIMEOUT", func(c *Config) *time.Duration { return &c.HTTP.ShutdownTimeout })},
	{"TOLLGATE_ASYNC_WORKERS", func(c *Config, v string) error {
		var n int64
		if err := integer("TOLLGATE_ASYNC_WORKERS", func(*Config) *int64 { return &n })(c, v); err != nil {
			return err
		}
		c.Async.Workers = int(n)
		return nil
	}},
	{"TOLLGATE_ASYNC_TTL", dur("TOLLGATE_ASYNC_TTL", func(c *Config) *time.Duration { return &c.Async.TTL })},
	{"TOLLGATE_STREAM_KEEPALIVE", dur("TOLLGATE_STREAM_KEEPALIVE", func(c *Config) *time.Duration { return &c.Routing.StreamKeepAlive })},
	{"TOLLGATE_LIMITS_BACKEND", str(func(c *Config) *string { return &c.Limits.Backend })},
	{"TOLLGATE_REDIS_URL", str(func(c *Config) *string { return &c.Redis.URL })},
	{"TOLLGATE_REQUIRE_CREDITS", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("TOLLGATE_REQUIRE_CREDITS: %q is not true or false", v)
		}
		c.Billing.RequireCredits = b
		return nil
	}},
	{"TOLLGATE_BOOTSTRAP_ORG", str(func(c *Config) *string { return &c.Bootstrap.OrgName })},
	{"TOLLGATE_BOOTSTRAP_EMAIL", str(func(c *Config) *string { return &c.Bootstrap.OwnerEmail })},
}

// EnvNames lists the environment variables Tollgate reads.
func EnvNames() []string {
	out := make([]string, 0, len(envVars))
	for _, e := range envVars {
		out = append(out, e.name)
	}
	return out
}

func applyEnv(c *Config, getenv func(string) string) error {
	for _, e := range envVars {
		v := getenv(e.name)
		if f := getenv(e.name + "_FILE"); f != "" && v == "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("%s_FILE: %w", e.name, err)
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			continue
		}
		if err := e.set(c, v); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks every field and reports all problems at once.
func (c *Config) Validate() error {
	var errs []string
	bad := func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("listen", "port %q is not a number from 0 to 65535", port)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		bad("data_dir", "must be set when database_url is empty (SQLite lives there)")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database_url", "must be a postgres:// URL, or empty for the embedded SQLite database")
	}
	if c.BasePath != "" && (!strings.HasPrefix(c.BasePath, "/") || strings.ContainsAny(c.BasePath, " ?#")) {
		bad("base_path", "%q must start with '/' and be a plain path", c.BasePath)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if err := keys.ValidatePrefix(c.Keys.Prefix); err != nil {
		bad("keys.prefix", "%v", err)
	}
	if err := keys.ValidatePrefix(c.Keys.AdminPrefix); err != nil {
		bad("keys.admin_prefix", "%v", err)
	}
	if c.Keys.Prefix == c.Keys.AdminPrefix ||
		strings.HasPrefix(c.Keys.Prefix, c.Keys.AdminPrefix) || strings.HasPrefix(c.Keys.AdminPrefix, c.Keys.Prefix) {
		bad("keys.admin_prefix", "must differ from keys.prefix so a key is never taken for an admin token")
	}
	if c.Keys.RotationGrace < 0 || c.Keys.RotationGrace > 30*24*time.Hour {
		bad("keys.rotation_grace", "must be between 0 and 720h")
	}
	if c.Keys.CacheSize < 1 || c.Keys.CacheSize > 10_000_000 {
		bad("keys.cache_size", "must be between 1 and 10000000")
	}
	if c.Keys.CacheTTL <= 0 || c.Keys.CacheTTL > time.Hour {
		bad("keys.cache_ttl", "must be above 0 and at most 1h (it bounds how long another replica may honour a revoked key)")
	}
	if c.Keys.LastUsedFlush < 100*time.Millisecond || c.Keys.LastUsedFlush > time.Hour {
		bad("keys.last_used_flush", "must be between 100ms and 1h")
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 1<<30 {
		bad("http.max_body_bytes", "must be between 1024 and 1073741824")
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		bad("http.shutdown_timeout", "must be above 0")
	}
	if c.HTTP.ReadHeaderTimeout <= 0 {
		bad("http.read_header_timeout", "must be above 0")
	}
	if strings.TrimSpace(c.Bootstrap.OrgName) == "" {
		bad("bootstrap.org_name", "must not be empty")
	}
	c.validateInference(bad)
	c.validateBilling(bad)
	c.validateSearch(bad)
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}
