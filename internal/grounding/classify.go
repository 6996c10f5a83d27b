package grounding

import (
	"regexp"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/rank"
)

var (
	// arithmeticRE matches a question that is only a calculation: "2+2",
	// "what is 12 * (3 - 1)?", "calculate 7/3".
	arithmeticRE = regexp.MustCompile(`^(?:(?:what(?:'s| is)|how much is|calculate|compute|solve|evaluate)\s+)?[\d\s.,+\-*/×÷^%()=x]+\??$`)
	// taskRE matches requests to transform text the user supplies, which no
	// search would help with.
	taskRE = regexp.MustCompile(`^(?:please\s+|can you\s+|could you\s+)?(?:translate|rewrite|rephrase|paraphrase|summari[sz]e this|proofread|correct the grammar|fix the grammar|reword|spell[- ]check)\b`)
	// chitchat are whole messages of small talk.
	chitchat = map[string]bool{
		"hi": true, "hello": true, "hey": true, "hiya": true, "yo": true, "howdy": true, "greetings": true,
		"good morning": true, "good afternoon": true, "good evening": true, "good night": true,
		"thanks": true, "thank you": true, "thx": true, "ty": true, "cheers": true, "ok": true, "okay": true,
		"cool": true, "great": true, "nice": true, "bye": true, "goodbye": true, "see you": true,
		"how are you": true, "how are you doing": true, "how's it going": true, "what's up": true, "sup": true,
		"who are you": true, "what are you": true, "what can you do": true,
	}
)

// NeedsSearch is the search classifier of enable_search_classifier: a
// cheap rule that says no for greetings and small talk, pure arithmetic,
// and requests to translate or rewrite given text, and yes otherwise.
func NeedsSearch(question string) bool {
	q := strings.ToLower(strings.TrimSpace(question))
	q = strings.Join(strings.Fields(q), " ")
	if q == "" {
		return false
	}
	bare := strings.TrimRight(q, "!?.,;: ")
	for _, prefix := range []string{"hi ", "hello ", "hey ", "thanks ", "thank you "} {
		// "hello there", "thanks a lot": a greeting plus a word or two.
		if strings.HasPrefix(bare, prefix) && len(strings.Fields(bare)) <= 3 {
			return false
		}
	}
	switch {
	case chitchat[bare]:
		return false
	case arithmeticRE.MatchString(q) && strings.ContainsAny(q, "0123456789"):
		return false
	case taskRE.MatchString(q):
		return false
	}
	// A message with no content word at all ("and you?", "why not") has
	// nothing to search for.
	return len(rank.Tokenize(q)) > 0
}
