package answer

import (
	"os"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/squad"
)

// TestWeightSweep compares sentence-score weightings on the SQuAD data by
// how often the first answer sentence holds a gold answer. It is a tuning
// aid, run only with TOLLGATE_EVAL_SWEEP=1.
func TestWeightSweep(t *testing.T) {
	if os.Getenv("TOLLGATE_EVAL_SWEEP") == "" {
		t.Skip("set TOLLGATE_EVAL_SWEEP=1 to sweep sentence-score weights")
	}
	ps, qs := loadEval(t)
	ix := rank.NewIndex(ps, rank.DefaultK1, rank.DefaultB)
	k, _ := rank.ContextBudget(rank.ContextLow)
	cands := []weights{
		defaultWeights,
		{coverage: 0.35, context: 0.20, proximity: 0.10, cue: 0.20, prior: 0.15},
		{coverage: 0.30, context: 0.25, proximity: 0.10, cue: 0.20, prior: 0.15},
		{coverage: 0.35, context: 0.15, proximity: 0.10, cue: 0.25, prior: 0.15},
		{coverage: 0.40, context: 0.15, proximity: 0.15, cue: 0.15, prior: 0.15},
		{coverage: 0.35, context: 0.15, proximity: 0.05, cue: 0.25, prior: 0.20},
		{coverage: 0.30, context: 0.20, proximity: 0.05, cue: 0.30, prior: 0.15},
	}
	for _, w := range cands {
		first, any, n := 0, 0, 0
		for _, q := range qs {
			if q.impossible {
				continue
			}
			n++
			a := extractive(q.text, ix.Search(q.text, k), Options{Threshold: -1}, w)
			head, _, _ := strings.Cut(a.Text, "[")
			if squad.Contains(squad.Normalize(head), q.answers) {
				first++
			}
			if squad.Contains(squad.Normalize(squad.StripMarkers(a.Text)), q.answers) {
				any++
			}
		}
		t.Logf("%+v: first sentence %.3f, whole answer %.3f", w, float64(first)/float64(n), float64(any)/float64(n))
	}
}
