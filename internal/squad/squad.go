// Package squad reads SQuAD 2.0 files and scores answers the way SQuAD's
// own evaluation does. The answer engine is measured on it, in the
// answerer's tests and through the HTTP API (tollgate eval squad).
package squad

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// File is a SQuAD 2.0 file.
type File struct {
	Data []struct {
		Title      string      `json:"title"`
		Paragraphs []Paragraph `json:"paragraphs"`
	} `json:"data"`
}

// Paragraph is a SQuAD paragraph; the distractor file reduces one to its
// context string.
type Paragraph struct {
	Context string `json:"context"`
	QAs     []struct {
		Question string `json:"question"`
		Answers  []struct {
			Text string `json:"text"`
		} `json:"answers"`
		IsImpossible bool `json:"is_impossible"`
	} `json:"qas"`
}

// UnmarshalJSON accepts a full paragraph or a bare context string.
func (p *Paragraph) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &p.Context)
	}
	type plain Paragraph
	return json.Unmarshal(b, (*plain)(p))
}

// Load reads a SQuAD file; a missing file's error wraps fs.ErrNotExist.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return &f, nil
}

var (
	reMarker   = regexp.MustCompile(`\[\d+\]`)
	rePunct    = regexp.MustCompile(`[^\p{L}\p{N}\s]`)
	reArticles = regexp.MustCompile(`\b(a|an|the)\b`)
)

// StripMarkers removes [n] citation markers from an answer.
func StripMarkers(s string) string { return reMarker.ReplaceAllString(s, " ") }

// Normalize is SQuAD's answer normalisation: lower case, no punctuation,
// no articles, single spaces.
func Normalize(s string) string {
	s = strings.ToLower(s)
	s = rePunct.ReplaceAllString(s, "")
	s = reArticles.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(s), " ")
}

// Contains reports whether a normalised gold answer occurs in normalised
// text on word boundaries ("1" is not found in "1973").
func Contains(text string, golds []string) bool {
	text = " " + text + " "
	for _, g := range golds {
		if g != "" && strings.Contains(text, " "+g+" ") {
			return true
		}
	}
	return false
}
