package rank

// IsStopword reports whether the lowercase word w is an English stopword:
// function words, auxiliaries, pronouns and the question words, which carry
// no topic of their own for ranking.
func IsStopword(w string) bool {
	_, ok := stopwords[w]
	return ok
}

var stopwords = func() map[string]struct{} {
	m := make(map[string]struct{}, len(stopwordList))
	for _, w := range stopwordList {
		m[w] = struct{}{}
	}
	return m
}()

var stopwordList = []string{
	"a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
	"aren't", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
	"by", "can", "can't", "cannot", "could", "couldn't", "did", "didn't", "do", "does", "doesn't", "doing",
	"don't", "down", "during", "each", "few", "for", "from", "further", "had", "hadn't", "has", "hasn't",
	"have", "haven't", "having", "he", "he'd", "he'll", "her", "here", "hers", "herself", "him",
	"himself", "his", "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it",
	"it's", "its", "itself", "let's", "me", "more", "most", "much", "many", "must", "my", "myself", "no",
	"nor", "not", "of", "off", "on", "once", "only", "or", "other", "ought", "our", "ours", "ourselves",
	"out", "over", "own", "same", "shall", "she", "she'd", "she'll", "should", "shouldn't", "so", "some",
	"such", "than", "that", "that's", "the", "their", "theirs", "them", "themselves", "then", "there",
	"there's", "these", "they", "they'd", "they'll", "they're", "they've", "this", "those", "through", "to",
	"too", "under", "until", "up", "upon", "us", "very", "was", "wasn't", "we", "we'd", "we'll", "we're",
	"we've", "were", "weren't", "what", "what's", "when", "where", "which", "while", "who", "who's",
	"whom", "whose", "why", "will", "with", "won't", "would", "wouldn't", "you", "you'd", "you'll",
	"you're", "you've", "your", "yours", "yourself", "yourselves", "within", "without", "via", "per",
	"whether", "yet", "may", "might", "one's", "however", "thus", "onto", "among", "amongst",
}
