package answer

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/search"
)

var fixture = []search.Passage{
	{DocID: "eiffel", Title: "Eiffel Tower", Score: 2.0, Text: "The Eiffel Tower is a wrought-iron lattice tower in Paris. " +
		"It was completed in 1889 as the entrance to the World's Fair. The tower is 330 metres tall."},
	{DocID: "fuji", Title: "Mount Fuji", Score: 1.5, Text: "Mount Fuji is the highest mountain in Japan. " +
		"The volcano last erupted in 1707, during the Edo period."},
	{DocID: "banana", Title: "Banana", Score: 1.0, Text: "Bananas are rich in potassium. They grow in tropical regions."},
}

func TestExtractive(t *testing.T) {
	tests := []struct {
		name     string
		question string
		ps       []search.Passage
		wantIn   string   // the answer must contain this
		wantSrc  []string // cited DocIDs in citation order (a prefix is enough)
		declined bool
	}{
		{name: "when", question: "When was the Eiffel Tower completed?", ps: fixture,
			wantIn: "1889", wantSrc: []string{"eiffel"}},
		{name: "renumbered", question: "When did Mount Fuji last erupt?", ps: fixture,
			wantIn: "1707", wantSrc: []string{"fuji"}},
		{name: "how tall", question: "How tall is the Eiffel Tower?", ps: fixture,
			wantIn: "330 metres", wantSrc: []string{"eiffel"}},
		{name: "unrelated", question: "What is the boiling point of mercury?", ps: fixture, declined: true},
		{name: "no terms", question: "What is it?", ps: fixture, declined: true},
		{name: "no passages", question: "When was the Eiffel Tower completed?", declined: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Extractive(tt.question, tt.ps, Options{})
			if got.Declined != tt.declined {
				t.Fatalf("Declined = %v, want %v (text %q)", got.Declined, tt.declined, got.Text)
			}
			if tt.declined {
				if got.Text != DeclineText || len(got.Sources) != 0 {
					t.Errorf("declined answer = %+v", got)
				}
				return
			}
			checkCitations(t, got)
			if !strings.Contains(got.Text, tt.wantIn) {
				t.Errorf("answer %q does not contain %q", got.Text, tt.wantIn)
			}
			var ids []string
			for _, s := range got.Sources {
				ids = append(ids, s.DocID)
			}
			if len(ids) < len(tt.wantSrc) || !slices.Equal(ids[:len(tt.wantSrc)], tt.wantSrc) {
				t.Errorf("sources = %v, want prefix %v", ids, tt.wantSrc)
			}
		})
	}
}

var reCited = regexp.MustCompile(`(.*?)\[(\d+)\]`)

// checkCitations checks the answer's contract: 2–4 sentences, each ending
// in a [n] marker; markers number the sources 1, 2, … in order of first
// use; every source is cited; each sentence is text of the source it cites.
func checkCitations(t *testing.T, a Answer) {
	t.Helper()
	ms := reCited.FindAllStringSubmatch(a.Text, -1)
	if len(ms) < 2 || len(ms) > 4 {
		t.Errorf("%d cited sentences, want 2–4: %q", len(ms), a.Text)
	}
	next := 1
	for _, m := range ms {
		n, _ := strconv.Atoi(m[2])
		if n > next || n < 1 {
			t.Fatalf("marker [%d] out of order in %q", n, a.Text)
		}
		if n == next {
			next++
		}
		if s := strings.TrimSpace(m[1]); !strings.Contains(a.Sources[n-1].Text, s) {
			t.Errorf("sentence %q is not in source %d (%s)", s, n, a.Sources[n-1].DocID)
		}
	}
	if next-1 != len(a.Sources) {
		t.Errorf("%d sources, %d cited", len(a.Sources), next-1)
	}
}

func TestExtractiveTwoSources(t *testing.T) {
	// Fuji is listed first, so its sentences are cited as [1] even though
	// the question puts the tower first.
	ps := []search.Passage{fixture[1], fixture[0]}
	got := Extractive("When was the Eiffel Tower completed and when did Mount Fuji erupt?", ps, Options{MaxSentences: 4})
	if got.Declined {
		t.Fatalf("declined: %q", got.Text)
	}
	checkCitations(t, got)
	if len(got.Sources) != 2 {
		t.Errorf("sources = %d, want 2: %q", len(got.Sources), got.Text)
	}
	for _, want := range []string{"1889", "1707"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("answer %q lacks %q", got.Text, want)
		}
	}
}

func TestExtractiveDeterministic(t *testing.T) {
	q := "When was the Eiffel Tower completed?"
	want := Extractive(q, fixture, Options{})
	for range 50 {
		if got := Extractive(q, fixture, Options{}); !reflect.DeepEqual(got, want) {
			t.Fatalf("answers differ:\n%+v\n%+v", got, want)
		}
	}
}

func TestExtractiveNoRepeats(t *testing.T) {
	p := search.Passage{DocID: "dup", Score: 1, Text: "The Eiffel Tower was completed in 1889. " +
		"The Eiffel Tower was completed in 1889! The Eiffel Tower is in Paris."}
	got := Extractive("When was the Eiffel Tower completed?", []search.Passage{p}, Options{})
	if strings.Count(got.Text, "completed in 1889") != 1 {
		t.Errorf("repeated sentence in %q", got.Text)
	}
}

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "One is here. Two is there! Three? Yes.", []string{"One is here.", "Two is there!", "Three?", "Yes."}},
		{"abbreviations", "Dr. Smith met J. R. Tolkien in the U.S. Army. He left in 1919.",
			[]string{"Dr. Smith met J. R. Tolkien in the U.S. Army.", "He left in 1919."}},
		{"decimals and lowercase", "It costs 3.5 dollars. e.g. this stays. Then 1990 came.",
			[]string{"It costs 3.5 dollars. e.g. this stays.", "Then 1990 came."}},
		{"quotes", `He said "Stop." Then he left.`, []string{`He said "Stop."`, "Then he left."}},
		{"blank lines", "Heading\n\nBody text\nwraps here.", []string{"Heading", "Body text wraps here."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitSentences(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuestionType(t *testing.T) {
	tests := []struct {
		q    string
		want answerType
	}{
		{"How many people live in Paris?", typeNumber},
		{"When did the war end?", typeDate},
		{"In what year was it built?", typeDate},
		{"Who ruled the Yuan dynasty?", typeEntity},
		{"Where is Normandy?", typePlace},
		{"In what country is Normandy located?", typePlace},
		{"What is packet switching?", typeNone},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			if got := questionType(tt.q); got != tt.want {
				t.Errorf("questionType = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestExtractiveDocumentation: in technical documentation the sentence
// that matches a question best is often not an answer: a FAQ's own
// question, or a line of JSON or YAML. The answer quotes the prose.
func TestExtractiveDocumentation(t *testing.T) {
	tests := []struct {
		name, question, text string
		want, notWant        string
	}{
		{
			name:     "a FAQ's question is not quoted",
			question: "How do I rotate an API key?",
			text: "How do I rotate an API key? Run tollgate keys rotate KEY to get a successor key. " +
				"The old key keeps working for the grace period.",
			want:    "Run tollgate keys rotate KEY",
			notWant: "How do I rotate",
		},
		{
			name:     "prose wins over a line of JSON saying the same",
			question: "Why is a request refused when credits run out?",
			text: `{"error":{"message":"The request is refused when credits run out.","code":402}}` + "\n\n" +
				"The request is refused when credits run out.",
			want: "The request is refused when credits run out.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := []search.Passage{{DocID: "d", URL: "https://example.com/faq", Text: tt.text, Score: 1}}
			got := Extractive(tt.question, ps, Options{})
			if got.Declined {
				t.Fatalf("declined: %+v", got)
			}
			if !strings.HasPrefix(got.Text, tt.want) {
				t.Errorf("answer %q, want it to start with %q", got.Text, tt.want)
			}
			if tt.notWant != "" && strings.Contains(got.Text, tt.notWant) {
				t.Errorf("answer %q quotes %q", got.Text, tt.notWant)
			}
		})
	}
}

func TestCodeLike(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{`{"error":{"message":"out of credits","code":402}}`, true},
		{"models: [{id: sonar, routes: [{upstream: ollama}]}]", true},
		{`curl -s $TOLLGATE/v1/key -H "Authorization: Bearer $KEY"`, true},
		{"Run tollgate keys rotate KEY, or call POST /api/v1/keys/{id}/rotate.", false},
		{"Set keys.rotation_grace in tollgate.yaml to change the default grace period.", false},
		{"The Normans were the people who in the 10th and 11th centuries gave their name to Normandy.", false},
	}
	for _, tt := range tests {
		if got := codeLike(tt.s); got != tt.want {
			t.Errorf("codeLike(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
