package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestExampleFileMatchesDefaults(t *testing.T) {
	// docs/tollgate.example.yaml documents every setting with its default;
	// loading it must change nothing, or the docs lie.
	got, err := Load(filepath.Join("..", "..", "docs", "tollgate.example.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("example file differs from defaults:\n got %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestExampleFileNamesEveryEnvVar(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "tollgate.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range EnvNames() {
		if !strings.Contains(string(b), name) {
			t.Errorf("docs/tollgate.example.yaml does not mention %s", name)
		}
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:9000\ndata_dir: from-file\nkeys:\n  rotation_grace: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "db-url")
	if err := os.WriteFile(secret, []byte("postgres://u:p@db:5432/t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, env(map[string]string{
		"TOLLGATE_DATA_DIR":          "from-env",
		"TOLLGATE_DATABASE_URL_FILE": secret,
		"TOLLGATE_ROTATION_GRACE":    "0s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"file over default", c.Listen, "127.0.0.1:9000"},
		{"env over file", c.DataDir, "from-env"},
		{"env _FILE", c.DatabaseURL, "postgres://u:p@db:5432/t"},
		{"env zero duration", c.Keys.RotationGrace, time.Duration(0)},
		{"default kept", c.Keys.Prefix, "pplx-"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestTOLLGATECONFIGSelectsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("listen: :7000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", env(map[string]string{"TOLLGATE_CONFIG": file}))
	if err != nil || c.Listen != ":7000" {
		t.Fatalf("Load = %v, %v; want listen :7000", c.Listen, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), nil, "read config file"},
		{"unknown key", write("u.yaml", "lisen: :80\n"), nil, "lisen"},
		{"bad yaml", write("b.yaml", "listen: [\n"), nil, "config file"},
		{"bad duration", "", map[string]string{"TOLLGATE_ROTATION_GRACE": "soon"}, "TOLLGATE_ROTATION_GRACE"},
		{"bad bool", "", map[string]string{"TOLLGATE_TRUST_PROXY": "maybe"}, "TOLLGATE_TRUST_PROXY"},
		{"bad int", "", map[string]string{"TOLLGATE_MAX_BODY_BYTES": "1MB"}, "TOLLGATE_MAX_BODY_BYTES"},
		{"missing secret file", "", map[string]string{"TOLLGATE_DATABASE_URL_FILE": filepath.Join(dir, "none")}, "TOLLGATE_DATABASE_URL_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.file, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"any interface", func(c *Config) { c.Listen = ":8080" }, ""},
		{"postgres", func(c *Config) { c.DatabaseURL = "postgresql://h/db" }, ""},
		{"zero grace", func(c *Config) { c.Keys.RotationGrace = 0 }, ""},
		{"listen", func(c *Config) { c.Listen = "8080" }, "listen"},
		{"port", func(c *Config) { c.Listen = "127.0.0.1:99999" }, "listen"},
		{"database url", func(c *Config) { c.DatabaseURL = "mysql://x" }, "database_url"},
		{"base path", func(c *Config) { c.BasePath = "api" }, "base_path"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"key prefix", func(c *Config) { c.Keys.Prefix = "PPLX" }, "keys.prefix"},
		{"same prefixes", func(c *Config) { c.Keys.AdminPrefix = "pplx-" }, "keys.admin_prefix"},
		{"grace", func(c *Config) { c.Keys.RotationGrace = 31 * 24 * time.Hour }, "keys.rotation_grace"},
		{"cache ttl", func(c *Config) { c.Keys.CacheTTL = 0 }, "keys.cache_ttl"},
		{"cache size", func(c *Config) { c.Keys.CacheSize = 0 }, "keys.cache_size"},
		{"flush", func(c *Config) { c.Keys.LastUsedFlush = time.Millisecond }, "keys.last_used_flush"},
		{"body", func(c *Config) { c.HTTP.MaxBodyBytes = 10 }, "http.max_body_bytes"},
		{"model id", func(c *Config) { c.Models = append(c.Models, ModelConfig{ID: "sonar"}) }, "models[4].id"},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.field != "" && (err == nil || !strings.Contains(err.Error(), tt.field+":")):
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}
