package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evalFixture is a tiny SQuAD 2.0 directory: two articles, three
// paragraphs, five questions of which one is unanswerable, and one
// distractor paragraph.
func evalFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"dev-public.json": `{"version": "v2.0", "data": [
 {"title": "Lighthouse_keeping", "paragraphs": [
  {"context": "The Fastnet lighthouse stands on Fastnet Rock off the coast of County Cork in Ireland. Its granite tower was completed in 1904 after seven years of construction.",
   "qas": [
    {"question": "When was the Fastnet lighthouse granite tower completed?", "id": "q1", "answers": [{"text": "1904", "answer_start": 130}], "is_impossible": false},
    {"question": "Off the coast of which county is Fastnet Rock?", "id": "q2", "answers": [{"text": "County Cork", "answer_start": 60}], "is_impossible": false}]},
  {"context": "Lighthouse keepers trimmed the wicks of paraffin lamps every night. Automation with electric lamps ended the profession on most stations by the 1990s.",
   "qas": [
    {"question": "What kind of lamps did lighthouse keepers trim the wicks of?", "id": "q3", "answers": [{"text": "paraffin lamps", "answer_start": 40}], "is_impossible": false},
    {"question": "Which lighthouse keeper trimmed the most paraffin lamp wicks in a single night?", "id": "q4", "answers": [], "is_impossible": true}]}]},
 {"title": "Sourdough", "paragraphs": [
  {"context": "Sourdough bread is leavened by a starter culture of wild yeast and lactobacilli. The lactic acid made by the bacteria gives sourdough its sour taste.",
   "qas": [
    {"question": "What gives sourdough bread its sour taste?", "id": "q5", "answers": [{"text": "lactic acid", "answer_start": 84}, {"text": "The lactic acid", "answer_start": 80}], "is_impossible": false}]}]}]}`,
		"distractors.json": `{"data": [{"title": "Glaciers", "paragraphs": [
  "A glacier is a persistent body of dense ice that moves under its own weight. Glaciers form where snow accumulates faster than it melts over many years."]}]}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEvalSquad(t *testing.T) {
	noEnv := func(string) string { return "" }
	out, err := cli(t, noEnv, "eval", "squad", "--data", evalFixture(t), "--concurrency", "2", "--json")
	if err != nil {
		t.Fatalf("eval squad: %v\n%s", err, out)
	}
	var got evalReport
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	counts := []struct {
		name      string
		got, want int
	}{
		{"documents", got.Documents, 4},
		{"questions", got.Questions, 5},
		{"answerable", got.Answerable, 4},
		{"unanswerable", got.Unanswerable, 1},
		{"concurrency", got.Concurrency, 2},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	rates := []struct {
		name    string
		got, lo float64
	}{
		{"recall_at_5", got.RecallAt5, 1},
		{"recall_at_1", got.RecallAt1, 0.6},
		{"chat_recall_at_5", got.ChatRecallAt5, 0.6},
		{"answer_contained", got.AnswerContained, 0.5},
		{"citation_precision", got.CitationPrecision, 0.3},
		{"answerable_declined", got.AnswerableDeclined, 0},
		{"unanswerable_decline_rate", got.UnanswerableDeclineRate, 0},
	}
	for _, r := range rates {
		if r.got < r.lo || r.got > 1 {
			t.Errorf("%s = %.3f, want in [%.1f, 1]", r.name, r.got, r.lo)
		}
	}
	if got.Cited == 0 || got.LatencyP50Ms <= 0 || got.LatencyP99Ms < got.LatencyP50Ms || got.RecallSource == "" {
		t.Errorf("report = %+v", got)
	}

	// --limit asks only the first questions; the table names every metric.
	out, err = cli(t, noEnv, "eval", "squad", "--data", evalFixture(t), "--limit", "2")
	if err != nil {
		t.Fatalf("eval squad --limit 2: %v\n%s", err, out)
	}
	for _, want := range []string{"4 documents", "2 questions", "recall@5", "answer-contained", "citation precision", "decline rate", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestEvalSquadErrors(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"missing data dir", []string{"--data", filepath.Join(t.TempDir(), "absent")}, "no dev-public.json in", false},
		{"bad concurrency", []string{"--concurrency", "0"}, "--concurrency", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cli(t, noEnv, append([]string{"eval", "squad"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			var ue usageError
			if got := errors.As(err, &ue); got != tt.usage {
				t.Fatalf("usage error = %v, want %v", got, tt.usage)
			}
		})
	}
}
