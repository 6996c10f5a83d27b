package config

import (
	"fmt"
	"net/url"
	"time"
)

// SearchConfig selects where search-grounded models search.
type SearchConfig struct {
	// LocalIndex keeps a persistent index in data_dir/index, seeded with
	// Tollgate's own documentation on first start, so a fresh install
	// answers offline.
	LocalIndex bool `yaml:"local_index"`
	// Providers are web search APIs searched beside the local index.
	Providers []SearchProviderConfig `yaml:"providers"`
	// Timeout bounds each provider; one that is late is left out.
	Timeout  time.Duration `yaml:"timeout"`
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// FetchPages fetches and extracts web results that came without their
	// content (robots.txt respected).
	FetchPages bool `yaml:"fetch_pages"`
}

// SearchProviderConfig is one web search API.
type SearchProviderConfig struct {
	// Name is searxng, brave or tavily.
	Name    string `yaml:"name"`
	BaseURL string `yaml:"base_url"` // SearXNG's address; Brave and Tavily default to their public APIs
	// APIKeyEnv and APIKeyFile name where the key is (Brave, Tavily).
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	APIKey     string `yaml:"-"`
}

func defaultSearch() SearchConfig {
	return SearchConfig{LocalIndex: true, Timeout: 5 * time.Second, CacheTTL: 5 * time.Minute, FetchPages: true}
}

func (c *Config) validateSearch(bad func(field, format string, args ...any)) {
	if c.Search.Timeout <= 0 || c.Search.Timeout > time.Minute {
		bad("search.timeout", "must be above 0 and at most 1m")
	}
	if c.Search.CacheTTL < 0 || c.Search.CacheTTL > 24*time.Hour {
		bad("search.cache_ttl", "must be between 0 (no cache) and 24h")
	}
	for i, p := range c.Search.Providers {
		field := fmt.Sprintf("search.providers[%d]", i)
		switch p.Name {
		case "searxng":
			if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(field+".base_url", "SearXNG needs its address, e.g. http://127.0.0.1:8888")
			}
		case "brave", "tavily":
			if p.APIKeyEnv == "" && p.APIKeyFile == "" {
				bad(field, "%s needs api_key_env or api_key_file", p.Name)
			}
			if p.BaseURL != "" {
				if u, err := url.Parse(p.BaseURL); err != nil || u.Host == "" {
					bad(field+".base_url", "%q is not a URL", p.BaseURL)
				}
			}
		default:
			bad(field+".name", "%q is not searxng, brave or tavily", p.Name)
		}
	}
}
