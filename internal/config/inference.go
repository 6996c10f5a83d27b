package config

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// ModelConfig is one model of the catalog: what users ask for by name.
type ModelConfig struct {
	ID      string   `yaml:"id"`
	Aliases []string `yaml:"aliases"`
	// Kind is chat, search, reasoning or deep-research.
	Kind             string `yaml:"kind"`
	OwnedBy          string `yaml:"owned_by"`
	ContextWindow    int    `yaml:"context_window"`
	DefaultMaxTokens int    `yaml:"default_max_tokens"` // sent when a request has none; 0: the upstream's default
	MaxOutputTokens  int    `yaml:"max_output_tokens"`
	// Routes are the deployments that serve the model, by weight.
	Routes []RouteConfig `yaml:"routes"`
	// Fallbacks are models tried, in order, when every route fails.
	Fallbacks []string `yaml:"fallbacks"`
	// Ground answers a search model's LLM route from a search: the LLM
	// gets the numbered sources and the response keeps the citations it
	// uses. Off for a Perplexity upstream, which searches itself.
	Ground bool `yaml:"ground"`
}

// RouteConfig sends a model to an upstream.
type RouteConfig struct {
	Upstream string `yaml:"upstream"`
	Model    string `yaml:"model"` // the upstream's name for it; default: the model's ID
	Weight   int    `yaml:"weight"`
}

// UpstreamConfig is one LLM server Tollgate calls.
type UpstreamConfig struct {
	Name string `yaml:"name"`
	// Provider is "openai" (any OpenAI-compatible server: vLLM, Ollama,
	// llama.cpp, LM Studio, OpenAI, OpenRouter), "perplexity" (OpenAI
	// format, every request option passed through) or "anthropic".
	Provider string            `yaml:"provider"`
	BaseURL  string            `yaml:"base_url"`
	Headers  map[string]string `yaml:"headers"`
	// APIKeyEnv and APIKeyFile name where the upstream's key is; the key
	// itself never sits in the file.
	APIKeyEnv  string        `yaml:"api_key_env"`
	APIKeyFile string        `yaml:"api_key_file"`
	Timeout    time.Duration `yaml:"timeout"`
	// APIKey is resolved from APIKeyEnv or APIKeyFile at load time.
	APIKey string `yaml:"-"`
}

// RoutingConfig tunes retries, breakers and streaming.
type RoutingConfig struct {
	Retries         int           `yaml:"retries"`
	Backoff         time.Duration `yaml:"backoff"`
	BreakerFailures int           `yaml:"breaker_failures"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
	// StreamKeepAlive is how long a stream waits for its first token before
	// committing a 200 and sending keep-alive comments at this interval.
	StreamKeepAlive time.Duration `yaml:"stream_keepalive"`
}

// AsyncConfig tunes async chat completions.
type AsyncConfig struct {
	Workers int           `yaml:"workers"`
	TTL     time.Duration `yaml:"ttl"`
}

func defaultModels() []ModelConfig {
	return []ModelConfig{
		{ID: "sonar", Kind: "search", OwnedBy: "tollgate", ContextWindow: 128_000, MaxOutputTokens: 8_192},
		{ID: "sonar-pro", Kind: "search", OwnedBy: "tollgate", ContextWindow: 200_000, MaxOutputTokens: 8_192},
		{ID: "sonar-reasoning-pro", Kind: "reasoning", OwnedBy: "tollgate", ContextWindow: 128_000, MaxOutputTokens: 32_768},
		{ID: "sonar-deep-research", Kind: "deep-research", OwnedBy: "tollgate", ContextWindow: 128_000, MaxOutputTokens: 32_768},
	}
}

// resolveSecrets reads upstream API keys from the environment or files.
func (c *Config) resolveSecrets(getenv func(string) string) error {
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		switch {
		case u.APIKeyEnv != "" && u.APIKeyFile != "":
			return fmt.Errorf("upstreams[%d] (%s): set api_key_env or api_key_file, not both", i, u.Name)
		case u.APIKeyEnv != "":
			u.APIKey = getenv(u.APIKeyEnv)
			if u.APIKey == "" {
				return fmt.Errorf("upstreams[%d] (%s): environment variable %s is empty", i, u.Name, u.APIKeyEnv)
			}
		case u.APIKeyFile != "":
			b, err := os.ReadFile(u.APIKeyFile)
			if err != nil {
				return fmt.Errorf("upstreams[%d] (%s): api_key_file: %w", i, u.Name, err)
			}
			u.APIKey = strings.TrimSpace(string(b))
		}
	}
	for i := range c.Search.Providers {
		p := &c.Search.Providers[i]
		switch {
		case p.APIKeyEnv != "" && p.APIKeyFile != "":
			return fmt.Errorf("search.providers[%d] (%s): set api_key_env or api_key_file, not both", i, p.Name)
		case p.APIKeyEnv != "":
			if p.APIKey = getenv(p.APIKeyEnv); p.APIKey == "" {
				return fmt.Errorf("search.providers[%d] (%s): environment variable %s is empty", i, p.Name, p.APIKeyEnv)
			}
		case p.APIKeyFile != "":
			b, err := os.ReadFile(p.APIKeyFile)
			if err != nil {
				return fmt.Errorf("search.providers[%d] (%s): api_key_file: %w", i, p.Name, err)
			}
			p.APIKey = strings.TrimSpace(string(b))
		}
	}
	return nil
}

var modelIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)

func (c *Config) validateInference(bad func(field, format string, args ...any)) {
	ups := map[string]bool{}
	for i, u := range c.Upstreams {
		f := fmt.Sprintf("upstreams[%d]", i)
		switch {
		case u.Name == "":
			bad(f+".name", "must not be empty")
		case ups[u.Name]:
			bad(f+".name", "%q is used twice", u.Name)
		}
		ups[u.Name] = true
		switch u.Provider {
		case "openai", "perplexity", "anthropic":
		default:
			bad(f+".provider", "%q is not openai, perplexity or anthropic", u.Provider)
		}
		if pu, err := url.Parse(u.BaseURL); u.BaseURL != "" && (err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "") {
			bad(f+".base_url", "%q is not an http(s) URL", u.BaseURL)
		} else if u.BaseURL == "" && u.Provider != "anthropic" {
			bad(f+".base_url", "must be set (e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama)")
		}
		if u.Timeout < 0 {
			bad(f+".timeout", "must not be negative")
		}
	}
	names := map[string]bool{}
	for i, m := range c.Models {
		f := fmt.Sprintf("models[%d]", i)
		for _, n := range append([]string{m.ID}, m.Aliases...) {
			switch {
			case !modelIDRE.MatchString(n):
				bad(f+".id", "%q is not a model name (letters, digits and ._:/- , up to 128)", n)
			case names[n]:
				bad(f+".id", "%q is listed twice (as an ID or alias)", n)
			}
			names[n] = true
		}
		switch m.Kind {
		case "chat", "search", "reasoning", "deep-research":
		default:
			bad(f+".kind", "%q is not chat, search, reasoning or deep-research", m.Kind)
		}
		if m.ContextWindow < 0 || m.MaxOutputTokens < 0 || m.DefaultMaxTokens < 0 {
			bad(f, "token limits must not be negative")
		}
		if m.MaxOutputTokens > 0 && m.DefaultMaxTokens > m.MaxOutputTokens {
			bad(f+".default_max_tokens", "exceeds max_output_tokens")
		}
		for j, r := range m.Routes {
			if !ups[r.Upstream] {
				bad(fmt.Sprintf("%s.routes[%d].upstream", f, j), "no upstream is named %q", r.Upstream)
			}
			if r.Weight < 0 {
				bad(fmt.Sprintf("%s.routes[%d].weight", f, j), "must not be negative")
			}
		}
	}
	for i, m := range c.Models {
		for _, fb := range m.Fallbacks {
			if !names[fb] || fb == m.ID {
				bad(fmt.Sprintf("models[%d].fallbacks", i), "%q is not another model of the catalog", fb)
			}
		}
	}
	r := c.Routing
	if r.Retries < 0 || r.Retries > 10 {
		bad("routing.retries", "must be between 0 and 10")
	}
	if r.BreakerFailures < 1 {
		bad("routing.breaker_failures", "must be at least 1")
	}
	if r.BreakerCooldown <= 0 || r.Backoff <= 0 {
		bad("routing", "backoff and breaker_cooldown must be above 0")
	}
	if r.StreamKeepAlive < 100*time.Millisecond {
		bad("routing.stream_keepalive", "must be at least 100ms")
	}
	if c.Async.Workers < 1 || c.Async.Workers > 1024 {
		bad("async.workers", "must be between 1 and 1024")
	}
	if c.Async.TTL < time.Hour {
		bad("async.ttl", "must be at least 1h")
	}
}
