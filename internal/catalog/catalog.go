// Package catalog holds the models Tollgate serves: the names clients ask
// for (IDs and aliases), what kind of model each is, and its token limits.
// Which upstream serves a model is routing's business (package upstream).
package catalog

import "time"

// Kind says what a model does.
type Kind string

// Model kinds.
const (
	KindChat         Kind = "chat"
	KindSearch       Kind = "search"
	KindReasoning    Kind = "reasoning"
	KindDeepResearch Kind = "deep-research"
)

// Model is one entry of the catalog.
type Model struct {
	ID               string
	Aliases          []string
	Kind             Kind
	OwnedBy          string
	ContextWindow    int // 0: unknown, not checked
	DefaultMaxTokens int // 0: leave it to the upstream
	MaxOutputTokens  int // 0: not checked
	// Ground sends a search model's LLM route the numbered sources of a
	// search and keeps the citations it uses. Without a route a search
	// model is always answered from a search, by the extractive engine.
	Ground  bool
	Created time.Time
}

// Catalog resolves model names.
type Catalog struct {
	models []*Model
	byName map[string]*Model
}

// New returns a catalog of models; names are assumed unique (the config
// validates them).
func New(models []Model) *Catalog {
	c := &Catalog{byName: map[string]*Model{}}
	for i := range models {
		m := &models[i]
		c.models = append(c.models, m)
		c.byName[m.ID] = m
		for _, a := range m.Aliases {
			c.byName[a] = m
		}
	}
	return c
}

// Resolve finds a model by ID or alias.
func (c *Catalog) Resolve(name string) (*Model, bool) {
	m, ok := c.byName[name]
	return m, ok
}

// List returns the models in catalog order.
func (c *Catalog) List() []*Model { return c.models }

// IDs returns the model IDs, for error messages.
func (c *Catalog) IDs() []string {
	out := make([]string, 0, len(c.models))
	for _, m := range c.models {
		out = append(out, m.ID)
	}
	return out
}
