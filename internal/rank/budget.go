package rank

// Context sizes of Perplexity's web_search_options.search_context_size.
const (
	ContextLow    = "low"
	ContextMedium = "medium"
	ContextHigh   = "high"
)

// ContextBudget reports how many passages, and roughly how many tokens of
// passage text in all, go into an answer's context for a
// search_context_size. Perplexity's default is low, so an empty or unknown
// size gets low's budget; validating the value is the API's job.
func ContextBudget(size string) (passages int, tokens int) {
	switch size {
	case ContextHigh:
		return 10, 6000
	case ContextMedium:
		return 6, 3000
	default:
		return 3, 1500
	}
}
