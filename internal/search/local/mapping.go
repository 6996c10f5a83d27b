package local

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Passage fields in the bleve index.
const (
	fieldDocID     = "doc_id"    // keyword, stored
	fieldText      = "text"      // title + passage, analyzed by rank.Tokenize, not stored
	fieldBody      = "body"      // the passage as shown, stored only
	fieldTitle     = "title"     // the document's title, stored only (for re-ranking)
	fieldDomains   = "domains"   // the domain and its parents, keyword
	fieldPublished = "published" // date
	fieldUpdated   = "updated"   // date
	fieldLanguage  = "language"  // keyword
)

// passageMapping is the bleve mapping of a passage. Nothing is mapped
// dynamically: every field is declared.
func passageMapping(scoring string) mapping.IndexMapping {
	keywordField := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = store
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	text := bleve.NewTextFieldMapping()
	text.Analyzer = analyzerName
	text.Store = false
	text.IncludeInAll = false
	text.IncludeTermVectors = false
	text.DocValues = false

	storedOnly := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Index = false
		f.Store = true
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}

	date := func() *mapping.FieldMapping {
		f := bleve.NewDateTimeFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fieldDocID, keywordField(true))
	doc.AddFieldMappingsAt(fieldText, text)
	doc.AddFieldMappingsAt(fieldBody, storedOnly())
	doc.AddFieldMappingsAt(fieldTitle, storedOnly())
	doc.AddFieldMappingsAt(fieldDomains, keywordField(false))
	doc.AddFieldMappingsAt(fieldPublished, date())
	doc.AddFieldMappingsAt(fieldUpdated, date())
	doc.AddFieldMappingsAt(fieldLanguage, keywordField(false))

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = analyzerName
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	m.ScoringModel = scoring
	return m
}
