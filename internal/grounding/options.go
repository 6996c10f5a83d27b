package grounding

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
)

// Limits of Perplexity's search parameters.
const (
	MaxDomains   = 20
	MaxLanguages = 10
	// MaxImageFilters is the most entries image_domain_filter and
	// image_format_filter each take, as Perplexity documents.
	MaxImageFilters = 10
	// MaxImages is the most num_images Tollgate accepts (Perplexity
	// documents no bound); DefaultImages is the count when it is absent.
	MaxImages     = 20
	DefaultImages = multi.DefaultImages
)

// imageFormats are the values image_format_filter accepts: Perplexity
// documents gif, jpg, png and webp; jpeg is taken for jpg, as Perplexity's
// Agent API writes it.
var imageFormats = []string{"avif", "bmp", "gif", "jpg", "png", "svg", "tiff", "webp"}

// Options are the search parameters of one chat request, validated.
type Options struct {
	Filters search.Filters
	// ContextSize is web_search_options.search_context_size: low, medium or
	// high ("" when absent, which means low).
	ContextSize string
	// DisableSearch skips search; EnableClassifier lets NeedsSearch skip it
	// for questions that need none.
	DisableSearch, EnableClassifier bool
	// ReturnImages and ReturnRelatedQuestions ask for images[] and
	// related_questions[] in the response.
	ReturnImages, ReturnRelatedQuestions bool
	// Images are image_domain_filter and image_format_filter; NumImages is
	// num_images (0 when absent: DefaultImages).
	Images    search.ImageFilters
	NumImages int
	// Country is web_search_options.user_location.country, upper case
	// ISO 3166 alpha-2.
	Country string
}

// dateLayout is Perplexity's MM/DD/YYYY; Go's "1" and "2" also accept one
// digit, so M/D/YYYY parses too.
const dateLayout = "1/2/2006"

var (
	languageRE = regexp.MustCompile(`^[a-z]{2}$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
	hostRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	dateRE     = regexp.MustCompile(`^\d{1,2}/\d{1,2}/\d{4}$`)
)

// ParseOptions reads Perplexity's search parameters from a chat request's
// extra fields (as chat.Request.Options holds them). now anchors
// search_recency_filter. An invalid value is a *platform.Error of kind
// invalid naming the field and the form it accepts.
func ParseOptions(opts map[string]json.RawMessage, now time.Time) (Options, error) {
	var o Options
	f := &o.Filters
	var err error

	if f.Domains, f.ExcludeDomains, err = parseDomains("search_domain_filter", MaxDomains, opts["search_domain_filter"]); err != nil {
		return Options{}, err
	}

	var recency string
	if err := decode(opts, "search_recency_filter", &recency, "one of hour, day, week, month or year"); err != nil {
		return Options{}, err
	}
	switch recency {
	case "":
	case "hour":
		f.PublishedAfter = now.Add(-time.Hour)
	case "day":
		f.PublishedAfter = now.AddDate(0, 0, -1)
	case "week":
		f.PublishedAfter = now.AddDate(0, 0, -7)
	case "month":
		f.PublishedAfter = now.AddDate(0, -1, 0)
	case "year":
		f.PublishedAfter = now.AddDate(-1, 0, 0)
	default:
		return Options{}, platform.Invalid("search_recency_filter",
			"search_recency_filter must be one of hour, day, week, month or year, not %q", recency)
	}

	dates := []struct {
		name string
		dst  *time.Time
		max  bool // an "after" bound: keep the later of it and the recency bound
	}{
		{"search_after_date_filter", &f.PublishedAfter, true},
		{"search_before_date_filter", &f.PublishedBefore, false},
		{"last_updated_after_filter", &f.UpdatedAfter, true},
		{"last_updated_before_filter", &f.UpdatedBefore, false},
	}
	for _, d := range dates {
		t, err := parseDate(opts, d.name)
		if err != nil {
			return Options{}, err
		}
		if t.IsZero() {
			continue
		}
		if !d.max || t.After(*d.dst) {
			*d.dst = t
		}
	}
	if !f.PublishedAfter.IsZero() && !f.PublishedBefore.IsZero() && f.PublishedAfter.After(f.PublishedBefore) {
		return Options{}, platform.Invalid("search_before_date_filter",
			"search_before_date_filter is earlier than search_after_date_filter (or search_recency_filter): no date could pass both")
	}
	if !f.UpdatedAfter.IsZero() && !f.UpdatedBefore.IsZero() && f.UpdatedAfter.After(f.UpdatedBefore) {
		return Options{}, platform.Invalid("last_updated_before_filter",
			"last_updated_before_filter is earlier than last_updated_after_filter: no date could pass both")
	}

	if err := decode(opts, "search_mode", &f.Mode, "one of web, academic or sec"); err != nil {
		return Options{}, err
	}
	switch f.Mode {
	case "", "web", "academic", "sec":
	default:
		return Options{}, platform.Invalid("search_mode", "search_mode must be one of web, academic or sec, not %q", f.Mode)
	}

	if f.Languages, err = parseLanguages(opts["search_language_filter"]); err != nil {
		return Options{}, err
	}

	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"return_images", &o.ReturnImages},
		{"return_related_questions", &o.ReturnRelatedQuestions},
		{"disable_search", &o.DisableSearch},
		{"enable_search_classifier", &o.EnableClassifier},
	} {
		if err := decode(opts, b.name, b.dst, "true or false"); err != nil {
			return Options{}, err
		}
	}

	if err := parseImageOptions(opts, &o); err != nil {
		return Options{}, err
	}
	if err := parseWebSearchOptions(opts["web_search_options"], &o); err != nil {
		return Options{}, err
	}
	return o, nil
}

// parseImageOptions reads image_domain_filter, image_format_filter and
// num_images. They are checked whether or not return_images is set, as
// every other parameter is.
func parseImageOptions(opts map[string]json.RawMessage, o *Options) error {
	var err error
	if o.Images.Domains, o.Images.ExcludeDomains, err = parseDomains("image_domain_filter", MaxImageFilters, opts["image_domain_filter"]); err != nil {
		return err
	}
	const fname = "image_format_filter"
	var formats []string
	if err := decode(opts, fname, &formats, `an array of file types, such as ["png", "jpg"]`); err != nil {
		return err
	}
	if len(formats) > MaxImageFilters {
		return platform.Invalid(fname, "%s holds %d formats; at most %d are allowed", fname, len(formats), MaxImageFilters)
	}
	for _, raw := range formats {
		f := search.ImageFormat(raw)
		if !slices.Contains(imageFormats, f) {
			return platform.Invalid(fname, "%s entry %q is not an image format: use one of %s (lower case, no dot)",
				fname, raw, strings.Join(imageFormats, ", "))
		}
		if !slices.Contains(o.Images.Formats, f) {
			o.Images.Formats = append(o.Images.Formats, f)
		}
	}
	const nname = "num_images"
	if v, ok := opts[nname]; ok && !isNull(v) {
		var n int
		if err := json.Unmarshal(v, &n); err != nil || n < 1 || n > MaxImages {
			return platform.Invalid(nname, "%s must be a whole number from 1 to %d", nname, MaxImages)
		}
		o.NumImages = n
	}
	return nil
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(bytes.TrimSpace(v)) == "null" }

// decode unmarshals opts[name] into dst, leaving dst alone when the field
// is absent or null; want says what the field accepts.
func decode(opts map[string]json.RawMessage, name string, dst any, want string) error {
	v, ok := opts[name]
	if !ok || isNull(v) {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return platform.Invalid(name, "%s must be %s", name, want)
	}
	return nil
}

func parseDate(opts map[string]json.RawMessage, name string) (time.Time, error) {
	var s string
	if err := decode(opts, name, &s, "a date string in MM/DD/YYYY form, such as \"03/01/2025\""); err != nil {
		return time.Time{}, err
	}
	if s == "" {
		return time.Time{}, nil
	}
	s = strings.TrimSpace(s)
	t, err := time.Parse(dateLayout, s)
	if err != nil || !dateRE.MatchString(s) {
		return time.Time{}, platform.Invalid(name, "%s must be a date in MM/DD/YYYY form, such as \"03/01/2025\", not %q", name, s)
	}
	return t, nil
}

// parseDomains splits a domain filter (search_domain_filter,
// image_domain_filter) of at most limit entries into allowed and denied
// hosts.
func parseDomains(name string, limit int, v json.RawMessage) (allow, deny []string, err error) {
	if isNull(v) {
		return nil, nil, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, nil, platform.Invalid(name, "%s must be an array of domain names, such as [\"wikipedia.org\"] or [\"-reddit.com\"]", name)
	}
	if len(list) > limit {
		return nil, nil, platform.Invalid(name, "%s holds %d domains; at most %d are allowed", name, len(list), limit)
	}
	for _, raw := range list {
		entry := strings.TrimSpace(raw)
		denied := strings.HasPrefix(entry, "-")
		host, ok := domainHost(strings.TrimPrefix(entry, "-"))
		if !ok {
			return nil, nil, platform.Invalid(name,
				"%s entry %q is not a domain: use a bare domain such as \"example.com\", a URL, or \"-example.com\" to exclude one", name, raw)
		}
		if denied {
			deny = append(deny, host)
		} else {
			allow = append(allow, host)
		}
	}
	if len(allow) > 0 && len(deny) > 0 {
		return nil, nil, platform.Invalid(name,
			"%s must be all allowed domains or all excluded (\"-\") domains, not a mix", name)
	}
	return allow, deny, nil
}

// domainHost turns a bare domain or a URL into a lower-case host without
// "www.", a port, a path or a trailing dot.
func domainHost(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", false
		}
		s = u.Hostname()
	} else {
		s, _, _ = strings.Cut(s, "/")
		if h, _, found := strings.Cut(s, ":"); found {
			s = h
		}
	}
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "*."), "."), ".")
	s = strings.TrimPrefix(s, "www.")
	if s == "" || !hostRE.MatchString(s) {
		return "", false
	}
	return s, true
}

func parseLanguages(v json.RawMessage) ([]string, error) {
	const name = "search_language_filter"
	if isNull(v) {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, platform.Invalid(name, "%s must be an array of ISO 639-1 language codes, such as [\"en\", \"fr\"]", name)
	}
	if len(list) > MaxLanguages {
		return nil, platform.Invalid(name, "%s holds %d languages; at most %d are allowed", name, len(list), MaxLanguages)
	}
	out := make([]string, 0, len(list))
	for _, l := range list {
		code := strings.ToLower(strings.TrimSpace(l))
		if !languageRE.MatchString(code) {
			return nil, platform.Invalid(name, "%s entry %q is not an ISO 639-1 code: use two letters, such as \"en\"", name, l)
		}
		out = append(out, code)
	}
	return out, nil
}

func parseWebSearchOptions(v json.RawMessage, o *Options) error {
	const name = "web_search_options"
	if isNull(v) {
		return nil
	}
	var w struct {
		Size         *string         `json:"search_context_size"`
		SearchType   *string         `json:"search_type"`
		UserLocation json.RawMessage `json:"user_location"`
		Enhanced     *bool           `json:"image_results_enhanced_relevance"`
	}
	if err := json.Unmarshal(v, &w); err != nil {
		return platform.Invalid(name, "%s must be an object such as {\"search_context_size\":\"low\"}; %s", name, fieldHint(err))
	}
	if w.Size != nil {
		switch *w.Size {
		case rank.ContextLow, rank.ContextMedium, rank.ContextHigh:
			o.ContextSize = *w.Size
		default:
			return platform.Invalid(name+".search_context_size",
				"%s.search_context_size must be one of low, medium or high, not %q", name, *w.Size)
		}
	}
	if w.SearchType != nil {
		switch *w.SearchType {
		case "fast", "pro", "auto":
		default:
			return platform.Invalid(name+".search_type", "%s.search_type must be one of fast, pro or auto, not %q", name, *w.SearchType)
		}
	}
	if isNull(w.UserLocation) {
		return nil
	}
	var loc struct {
		Country   *string  `json:"country"`
		City      *string  `json:"city"`
		Region    *string  `json:"region"`
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	}
	if err := json.Unmarshal(w.UserLocation, &loc); err != nil {
		return platform.Invalid(name+".user_location",
			"%s.user_location must be an object such as {\"country\":\"US\",\"city\":\"Boston\"}; %s", name, fieldHint(err))
	}
	if loc.Country != nil && *loc.Country != "" {
		c := strings.ToUpper(strings.TrimSpace(*loc.Country))
		if !countryRE.MatchString(c) {
			return platform.Invalid(name+".user_location.country",
				"%s.user_location.country must be a two-letter ISO 3166 country code, such as \"US\", not %q", name, *loc.Country)
		}
		o.Country = c
	}
	if l := loc.Latitude; l != nil && (*l < -90 || *l > 90) {
		return platform.Invalid(name+".user_location.latitude", "%s.user_location.latitude must be from -90 to 90", name)
	}
	if l := loc.Longitude; l != nil && (*l < -180 || *l > 180) {
		return platform.Invalid(name+".user_location.longitude", "%s.user_location.longitude must be from -180 to 180", name)
	}
	return nil
}

// fieldHint names the inner field a JSON type error is about, without
// echoing Go type names to the client.
func fieldHint(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "field " + te.Field + " has the wrong type"
	}
	return "it is not a valid object"
}
