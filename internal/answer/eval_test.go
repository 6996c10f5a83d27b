package answer

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/squad"
)

// TestSquadEval measures retrieval and extractive answering on the SQuAD
// 2.0 files in the shared data directory (../shared/data/squad beside the
// module root; see its README): every paragraph of dev-public.json and
// distractors.json is a passage, each question of dev-public.json is
// ranked with BM25 over all of them, and Extractive answers from the top
// passages of the default (low) context budget.
//
// It runs in ordinary test runs (about 4 s) and is skipped when the data is
// absent. Under the race detector the full run takes about 30 s, so there
// it evaluates every 5th question unless TOLLGATE_EVAL_FULL=1 is set; race
// latencies are not representative either way. It fails only on gross regressions; the
// targets (recall@5 ≥ 0.90, answer-contained ≥ 0.60, p50 < 20 ms) are
// reported, not enforced, so it stays honest without being flaky. Set
// TOLLGATE_EVAL_SWEEP=1 to also log decline rates across thresholds, for
// recalibrating DefaultThreshold.
func TestSquadEval(t *testing.T) {
	ps, qs := loadEval(t)
	sampled := raceEnabled && os.Getenv("TOLLGATE_EVAL_FULL") == ""
	if sampled {
		var every5th []evalQuestion
		for i := 0; i < len(qs); i += 5 {
			every5th = append(every5th, qs[i])
		}
		qs = every5th
	}

	start := time.Now()
	ix := rank.NewIndex(ps, rank.DefaultK1, rank.DefaultB)
	indexTime := time.Since(start)
	k, _ := rank.ContextBudget(rank.ContextLow)
	sweep := os.Getenv("TOLLGATE_EVAL_SWEEP") != ""

	var (
		hit1, hit5                 int
		answerable, contained      int
		answeredAnswerable         int
		falseDeclines              int
		unanswerable, declines     int
		cited, citedGood           int
		lat                        []time.Duration
		topAnswerable, topImpossib []float64
	)
	for _, q := range qs {
		t0 := time.Now()
		top := ix.Search(q.text, 5)
		ans := Extractive(q.text, top[:k], Options{})
		lat = append(lat, time.Since(t0))

		for r, p := range top {
			if p.DocID == q.gold {
				if r == 0 {
					hit1++
				}
				hit5++
			}
		}
		if sweep {
			s := bestScore(q.text, top[:k])
			if q.impossible {
				topImpossib = append(topImpossib, s)
			} else {
				topAnswerable = append(topAnswerable, s)
			}
		}
		if q.impossible {
			unanswerable++
			if ans.Declined {
				declines++
			}
			continue
		}
		answerable++
		if ans.Declined {
			falseDeclines++
			continue
		}
		answeredAnswerable++
		if squad.Contains(squad.Normalize(squad.StripMarkers(ans.Text)), q.answers) {
			contained++
		}
		for _, src := range ans.Sources {
			cited++
			if squad.Contains(squad.Normalize(src.Text), q.answers) {
				citedGood++
			}
		}
	}

	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	recall5 := ratio(hit5, len(qs))
	containedRate := ratio(contained, answerable)
	t.Logf("SQuAD 2.0 eval: %d passages (index built in %v), %d questions (%d answerable, %d unanswerable), top-%d passages to the answerer, race detector: %v, every 5th question only: %v",
		len(ps), indexTime.Round(time.Millisecond), len(qs), answerable, unanswerable, k, raceEnabled, sampled)
	t.Logf("  retrieval  recall@1 %.3f  recall@5 %.3f (target ≥ 0.90)", ratio(hit1, len(qs)), recall5)
	t.Logf("  answerable answer-contained %.3f (target ≥ 0.60; %.3f of those answered), false declines %.3f",
		containedRate, ratio(contained, answeredAnswerable), ratio(falseDeclines, answerable))
	t.Logf("  citations  precision %.3f (cited passages holding a gold answer)", ratio(citedGood, cited))
	t.Logf("  unanswerable decline rate %.3f", ratio(declines, unanswerable))
	t.Logf("  latency per question (BM25 + answer) p50 %v  p99 %v (target p50 < 20ms)", pct(0.50), pct(0.99))
	if sweep {
		for _, th := range []float64{0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6} {
			t.Logf("  threshold %.2f: declines answerable %.3f, unanswerable %.3f", th,
				below(topAnswerable, th), below(topImpossib, th))
		}
	}

	// Gross regressions only; the targets above are reported, not enforced.
	if recall5 < 0.5 {
		t.Errorf("recall@5 = %.3f, want ≥ 0.5", recall5)
	}
	if containedRate < 0.3 {
		t.Errorf("answer-contained = %.3f, want ≥ 0.3", containedRate)
	}
	if !raceEnabled && pct(0.50) > 200*time.Millisecond {
		t.Errorf("p50 latency = %v, want < 200ms", pct(0.50))
	}
}

type evalQuestion struct {
	text       string
	gold       string // DocID of its paragraph
	answers    []string
	impossible bool
}

// loadEval turns every paragraph of both files into a passage and every
// question of dev-public.json into an evalQuestion.
func loadEval(t *testing.T) ([]search.Passage, []evalQuestion) {
	t.Helper()
	dir := squadDir(t)
	dev := loadSquad(t, filepath.Join(dir, "dev-public.json"))
	distract := loadSquad(t, filepath.Join(dir, "distractors.json"))

	var ps []search.Passage
	var qs []evalQuestion
	for _, f := range []*squad.File{dev, distract} {
		for _, a := range f.Data {
			for i, p := range a.Paragraphs {
				id := "https://en.wikipedia.org/wiki/" + url.PathEscape(strings.ReplaceAll(a.Title, " ", "_")) + fmt.Sprintf("#p%d", i)
				ps = append(ps, search.Passage{DocID: id, URL: id, Title: strings.ReplaceAll(a.Title, "_", " "), Text: p.Context})
				for _, qa := range p.QAs {
					q := evalQuestion{text: qa.Question, gold: id, impossible: qa.IsImpossible}
					for _, ans := range qa.Answers {
						q.answers = append(q.answers, squad.Normalize(ans.Text))
					}
					qs = append(qs, q)
				}
			}
		}
	}
	if len(qs) == 0 {
		t.Fatal("no questions loaded")
	}

	return ps, qs
}

func bestScore(q string, ps []search.Passage) float64 {
	terms := distinct(rank.Tokenize(q))
	if len(terms) == 0 {
		return 0
	}
	best := 0.0
	for _, s := range score(q, terms, ps, defaultWeights) {
		best = max(best, s.score)
	}
	return best
}

func below(xs []float64, th float64) float64 {
	n := 0
	for _, x := range xs {
		if x < th {
			n++
		}
	}
	return float64(n) / float64(max(len(xs), 1))
}

// squadDir finds ../shared/data/squad beside the module root (the nearest
// directory upward holding go.mod), skipping the test when it is absent.
func squadDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("SQuAD eval skipped: no go.mod found above the package directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data", "squad")
	if _, err := os.Stat(filepath.Join(d, "dev-public.json")); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("SQuAD eval skipped: %s not found (it lives beside the module root as ../shared/data/squad)", "dev-public.json")
	}
	return d
}

func loadSquad(t *testing.T, path string) *squad.File {
	t.Helper()
	f, err := squad.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
