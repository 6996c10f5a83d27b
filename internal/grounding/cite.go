package grounding

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/answer"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// NoSearchText is the extractive answer when no search ran (disabled or
// classified as unneeded): without an LLM there is nothing to answer from.
const NoSearchText = "No search was run for this question, and without a language model there are no sources to answer it from."

// Grounded is an answer with the citation fields of Perplexity's response.
type Grounded struct {
	// Text is the answer, its [n] markers numbered by Citations: [1] is
	// Citations[0].
	Text string
	// Citations are the URLs the text cites, in order of first citation.
	Citations []string
	// SearchResults are the cited pages in citation order (so [n] is also
	// SearchResults[n-1]), then the other pages of the context.
	SearchResults []SearchResult
	// RelatedQuestions and Images are copied from the Sources.
	RelatedQuestions []string
	Images           []Image
	// Declined is true when the extractive answerer found nothing relevant
	// (or had no sources).
	Declined bool
}

// Extractive answers question from s without an LLM (answer.Extractive),
// with [n] markers numbered by the cited pages.
func (e *Engine) Extractive(question string, s *Sources) *Grounded {
	ps := make([]search.Passage, len(s.Passages))
	for i, p := range s.Passages {
		p.Text = stripFootnotes(p.Text)
		ps[i] = p
	}
	a := answer.Extractive(question, ps, answer.Options{})
	if a.Declined {
		text := a.Text
		if !s.Searched {
			text = NoSearchText
		}
		g := newCiter(s, nil).grounded(text)
		g.Declined = true
		return g
	}
	c := newCiter(s, func(n int) (string, bool) {
		if n < 1 || n > len(a.Sources) {
			return "", false
		}
		return a.Sources[n-1].URL, true
	})
	return c.grounded(c.Write(a.Text) + c.Flush())
}

// Cite post-processes an LLM's answer over s: markers [n] are read as
// s.Passages[n-1], renumbered by cited page in first-use order (passages
// of one page share a number; "[1, 2]" becomes "[1][2]"), and markers
// outside 1..len(s.Passages) are removed. Code spans are left alone.
func Cite(text string, s *Sources) *Grounded {
	c := NewCiter(s)
	return c.grounded(c.Write(text) + c.Flush())
}

// Citer is Cite for a streamed answer: Write takes each delta and returns
// the text to send on, holding back only what might be the start of a
// marker; Flush returns the rest at the end. A Citer is not safe for
// concurrent use.
type Citer struct {
	s       *Sources
	resolve func(n int) (string, bool)
	pending string
	num     map[string]int // URL → citation number
	urls    []string
	// code state: inside ``` fences or `inline code`, markers are text.
	inFence, inCode bool
	// last is the citation number of the marker just written, 0 after any
	// other text, so "[1][2]" over one page becomes "[1]".
	last int
}

// NewCiter returns a Citer over s.
func NewCiter(s *Sources) *Citer {
	return newCiter(s, func(n int) (string, bool) {
		if n < 1 || n > len(s.Passages) {
			return "", false
		}
		return s.Passages[n-1].URL, true
	})
}

func newCiter(s *Sources, resolve func(int) (string, bool)) *Citer {
	return &Citer{s: s, resolve: resolve, num: map[string]int{}}
}

// Write renumbers delta and returns what can be sent now.
func (c *Citer) Write(delta string) string {
	buf := c.pending + delta
	cut := safeLen(buf)
	c.pending = buf[cut:]
	return c.process(buf[:cut])
}

// Flush returns the held-back end of the text.
func (c *Citer) Flush() string {
	out := c.process(c.pending)
	c.pending = ""
	return out
}

// Grounded returns the citation fields for the text written so far;
// text is the whole renumbered answer.
func (c *Citer) Grounded(text string) *Grounded { return c.grounded(text) }

func (c *Citer) grounded(text string) *Grounded {
	g := &Grounded{Text: text, RelatedQuestions: c.s.RelatedQuestions, Images: c.s.Images}
	if len(c.urls) > 0 {
		g.Citations = append([]string(nil), c.urls...)
	}
	byURL := map[string]SearchResult{}
	for _, r := range c.s.Results {
		if _, ok := byURL[r.URL]; !ok {
			byURL[r.URL] = r
		}
	}
	for _, p := range c.s.Passages {
		if _, ok := byURL[p.URL]; !ok {
			byURL[p.URL] = resultOf(p)
		}
	}
	cited := map[string]bool{}
	for _, u := range c.urls {
		cited[u] = true
		g.SearchResults = append(g.SearchResults, byURL[u])
	}
	rest := c.s.Results
	if len(rest) == 0 {
		rest = resultsFor(c.s.Passages, nil)
	}
	for _, r := range rest {
		if !cited[r.URL] {
			cited[r.URL] = true
			g.SearchResults = append(g.SearchResults, r)
		}
	}
	return g
}

// maxMarker bounds the bytes of one marker, "[12, 13, 14]", so a stray
// "[" does not hold back a stream.
const maxMarker = 24

// safeLen is how much of buf can be processed now: all but trailing
// backticks (maybe the start of a fence), and a trailing partial marker
// with the blanks before it (removed with the marker if it turns out to
// cite nothing).
func safeLen(buf string) int {
	i := len(buf)
	for i > 0 && buf[i-1] == '`' {
		i--
	}
	if i < len(buf) {
		return i
	}
	if k := strings.LastIndexByte(buf, '['); k >= 0 && len(buf)-k <= maxMarker &&
		strings.Trim(buf[k+1:], "0123456789, ") == "" {
		i = k
	}
	for i > 0 && (buf[i-1] == ' ' || buf[i-1] == '\t') {
		i--
	}
	return i
}

func (c *Citer) process(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == '`':
			j := i
			for j < len(text) && text[j] == '`' {
				j++
			}
			if j-i >= 3 {
				if !c.inCode {
					c.inFence = !c.inFence
				}
			} else if !c.inFence {
				c.inCode = !c.inCode
			}
			b.WriteString(text[i:j])
			c.last = 0
			i = j
		case c.inFence || c.inCode:
			b.WriteByte(ch)
			c.last = 0
			i++
		case ch == ' ' || ch == '\t':
			j := i
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j < len(text) && text[j] == '[' {
				if refs, _, ok := parseMarker(text[j:]); ok && !c.anyValid(refs) {
					i = j // the blanks go with the marker
					continue
				}
			}
			b.WriteString(text[i:j])
			c.last = 0
			i = j
		case ch == '[':
			refs, n, ok := parseMarker(text[i:])
			if !ok {
				b.WriteByte(ch)
				c.last = 0
				i++
				continue
			}
			for _, r := range refs {
				u, ok := c.resolve(r)
				if !ok {
					continue
				}
				id, seen := c.num[u]
				if !seen {
					c.urls = append(c.urls, u)
					id = len(c.urls)
					c.num[u] = id
				}
				if id != c.last {
					b.WriteString("[" + strconv.Itoa(id) + "]")
					c.last = id
				}
			}
			i += n
		default:
			b.WriteByte(ch)
			c.last = 0
			i++
		}
	}
	return b.String()
}

func (c *Citer) anyValid(refs []int) bool {
	for _, r := range refs {
		if _, ok := c.resolve(r); ok {
			return true
		}
	}
	return false
}

// parseMarker reads a citation marker at the start of s: "[3]" or
// "[1, 2]". It returns the numbers and the marker's length.
func parseMarker(s string) ([]int, int, bool) {
	end := strings.IndexByte(s, ']')
	if end < 2 || end > maxMarker {
		return nil, 0, false
	}
	var refs []int
	for part := range strings.SplitSeq(s[1:end], ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(part)
		if err != nil || part == "" || part[0] == '+' || part[0] == '-' {
			return nil, 0, false
		}
		refs = append(refs, n)
	}
	return refs, end + 1, true
}

// footnoteRE matches footnote markers copied from a source ("[3]",
// "[12, 14]"): they refer to the source's own references, and would read
// as citations of ours.
var footnoteRE = regexp.MustCompile(`\s*\[\d+(?:\s*,\s*\d+)*\]`)

func stripFootnotes(s string) string {
	if !strings.Contains(s, "[") {
		return s
	}
	return footnoteRE.ReplaceAllString(s, "")
}
