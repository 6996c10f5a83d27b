package local

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"

	"github.com/tollgate-dev/tollgate/internal/rank"
)

// analyzerName is the bleve analyzer of the text field. It produces the
// terms of rank.Tokenize, so that the index, its exact BM25 re-ranking and
// the answerer's passage scoring all see the same words: a document
// frequency read from the index is the document frequency of the term the
// re-ranker counts.
const analyzerName = "tollgate_rank"

func init() {
	err := registry.RegisterAnalyzer(analyzerName, func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
		return rankAnalyzer{}, nil
	})
	if err != nil {
		panic(err) // only a second registration under the same name can fail
	}
}

// rankAnalyzer is a bleve analyzer over rank.Tokenize. Offsets are not
// kept: the index stores no term vectors and highlights nothing.
type rankAnalyzer struct{}

func (rankAnalyzer) Analyze(input []byte) analysis.TokenStream {
	terms := rank.Tokenize(string(input))
	out := make(analysis.TokenStream, len(terms))
	for i, t := range terms {
		out[i] = &analysis.Token{Term: []byte(t), Position: i + 1, Type: analysis.AlphaNumeric}
	}
	return out
}

// tokenCount is a passage's length as BM25 counts it: the terms of its
// indexed text.
func tokenCount(text string) int { return len(rank.Tokenize(text)) }
