package grounding

import (
	"strconv"
	"strings"
)

// instructions tell an LLM how to use the numbered sources.
const instructions = `Answer the user's question using the numbered sources below. ` +
	`After each statement taken from a source, cite it with the source's number in square brackets, such as [1], ` +
	`or [1][3] for several. Cite only numbers listed below, and never invent sources or URLs. ` +
	`If the sources do not answer the question, say so plainly instead of guessing.`

// noSources replaces the instructions when a search found nothing.
const noSources = `A search found no sources for this question. Answer from what you know if you can, ` +
	`say that no sources were found, and do not add citation markers.`

// BuildPrompt returns the system message for an LLM answering from s:
// system (the request's own system prompt, if any), the instructions to
// answer from the sources and cite them as [n], and the sources, each as
// "[n] Title — URL" followed by its passage text. When no search ran it
// returns system unchanged.
func BuildPrompt(s *Sources, system string) string {
	if s == nil || !s.Searched {
		return system
	}
	var b strings.Builder
	if system = strings.TrimSpace(system); system != "" {
		b.WriteString(system)
		b.WriteString("\n\n")
	}
	if len(s.Passages) == 0 {
		b.WriteString(noSources)
		return b.String()
	}
	b.WriteString(instructions)
	b.WriteString("\n\nSources:")
	for i, p := range s.Passages {
		title := strings.TrimSpace(p.Title)
		if title == "" {
			title = p.URL
		}
		b.WriteString("\n\n[" + strconv.Itoa(i+1) + "] " + title + " — " + p.URL)
		if d := day(p.Date); d != "" {
			b.WriteString(" (published " + d + ")")
		}
		b.WriteString("\n")
		b.WriteString(strings.TrimSpace(stripFootnotes(p.Text)))
	}
	return b.String()
}
