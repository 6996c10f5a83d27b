package answer

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/tollgate-dev/tollgate/internal/rank"
)

// answerType is what kind of phrase a question asks for, from its
// wh-words (Ravichandran and Hovy's surface patterns, reduced to cues).
type answerType int

const (
	typeNone   answerType = iota
	typeNumber            // how many, how much, what percentage
	typeDate              // when, what year, which century
	typeEntity            // who, whom, whose
	typePlace             // where, which country/city
)

var (
	reNumberQ = regexp.MustCompile(`\bhow (many|much|long|far|old|large|big|high|tall)\b|\bwhat (number|percentage|percent|proportion|amount)\b`)
	reDateQ   = regexp.MustCompile(`\bwhen\b|\b(what|which) (year|years|decade|century|date|day|month|time|period)\b|\bhow long ago\b`)
	reEntityQ = regexp.MustCompile(`\bwho\b|\bwhom\b|\bwhose\b|\b(what|which) (person|people|man|woman|king|queen|emperor|leader|company|group|organization|tribe|family|dynasty)\b`)
	rePlaceQ  = regexp.MustCompile(`\bwhere\b|\b(what|which) (country|countries|city|cities|region|state|place|location|continent|island|river|town|province|area)\b`)

	reYear   = regexp.MustCompile(`\b(1[0-9]{3}|20[0-9]{2})s?\b|\b\d{1,2}(st|nd|rd|th) (century|centuries)\b|\b(january|february|march|april|may|june|july|august|september|october|november|december)\b`)
	reNumber = regexp.MustCompile(`\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|half|third|quarter)\b`)
)

// questionType maps a question to the answer type it expects. Order
// matters: "how many years" wants a number, "what year" a date.
func questionType(q string) answerType {
	q = strings.ToLower(q)
	switch {
	case reNumberQ.MatchString(q):
		return typeNumber
	case reDateQ.MatchString(q):
		return typeDate
	case reEntityQ.MatchString(q):
		return typeEntity
	case rePlaceQ.MatchString(q):
		return typePlace
	}
	return typeNone
}

// hasCue reports whether sentence s contains a phrase of type t that the
// question does not already contain: an answer adds something new.
// qwords holds the question's lowercase words.
func hasCue(t answerType, s string, qwords map[string]bool) bool {
	switch t {
	case typeNumber:
		return anyNew(reNumber.FindAllString(strings.ToLower(s), -1), qwords)
	case typeDate:
		return anyNew(reYear.FindAllString(strings.ToLower(s), -1), qwords)
	case typeEntity, typePlace:
		return hasNewName(s, qwords)
	}
	return false
}

func anyNew(found []string, qwords map[string]bool) bool {
	for _, f := range found {
		for _, w := range rank.Words(f) {
			if !qwords[w] {
				return true
			}
		}
	}
	return false
}

// hasNewName reports whether s has a capitalised word, other than its
// first, that is neither a stopword nor in the question: a cheap stand-in
// for a named entity.
func hasNewName(s string, qwords map[string]bool) bool {
	for i, w := range strings.Fields(s) {
		if i == 0 {
			continue
		}
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
		if w == "" {
			continue
		}
		r := []rune(w)
		if !unicode.IsUpper(r[0]) {
			continue
		}
		lw := strings.ToLower(w)
		lw = strings.TrimSuffix(lw, "'s")
		if rank.IsStopword(lw) || qwords[lw] {
			continue
		}
		return true
	}
	return false
}
