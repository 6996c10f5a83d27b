package grounding

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search"
)

func raw(t *testing.T, kv map[string]string) map[string]json.RawMessage {
	t.Helper()
	out := make(map[string]json.RawMessage, len(kv))
	for k, v := range kv {
		if !json.Valid([]byte(v)) {
			t.Fatalf("%s: invalid JSON %s", k, v)
		}
		out[k] = json.RawMessage(v)
	}
	return out
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseOptions(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		in    map[string]string
		check func(t *testing.T, o Options)
	}{
		{"empty", nil, func(t *testing.T, o Options) {
			if o.ContextSize != "" || o.DisableSearch || len(o.Filters.Domains) > 0 || !o.Filters.PublishedAfter.IsZero() {
				t.Errorf("got %+v, want zero options", o)
			}
		}},
		{"allow domains, URLs and www reduced to hosts", map[string]string{
			"search_domain_filter": `["wikipedia.org", "https://www.Example.com/path?q=1", "docs.go.dev/doc", "news.ycombinator.com:443"]`,
		}, func(t *testing.T, o Options) {
			want := []string{"wikipedia.org", "example.com", "docs.go.dev", "news.ycombinator.com"}
			if !slices.Equal(o.Filters.Domains, want) || o.Filters.ExcludeDomains != nil {
				t.Errorf("domains %q / %q, want %q", o.Filters.Domains, o.Filters.ExcludeDomains, want)
			}
		}},
		{"deny domains", map[string]string{"search_domain_filter": `["-reddit.com", "-https://pinterest.com/"]`}, func(t *testing.T, o Options) {
			if want := []string{"reddit.com", "pinterest.com"}; !slices.Equal(o.Filters.ExcludeDomains, want) || o.Filters.Domains != nil {
				t.Errorf("exclude %q, want %q", o.Filters.ExcludeDomains, want)
			}
		}},
		{"twenty domains", map[string]string{"search_domain_filter": domains(20)}, func(t *testing.T, o Options) {
			if len(o.Filters.Domains) != 20 {
				t.Errorf("got %d domains, want 20", len(o.Filters.Domains))
			}
		}},
		{"recency hour", map[string]string{"search_recency_filter": `"hour"`}, wantAfter(now.Add(-time.Hour))},
		{"recency day", map[string]string{"search_recency_filter": `"day"`}, wantAfter(now.AddDate(0, 0, -1))},
		{"recency week", map[string]string{"search_recency_filter": `"week"`}, wantAfter(now.AddDate(0, 0, -7))},
		{"recency month", map[string]string{"search_recency_filter": `"month"`}, wantAfter(now.AddDate(0, -1, 0))},
		{"recency year", map[string]string{"search_recency_filter": `"year"`}, wantAfter(now.AddDate(-1, 0, 0))},
		{"recency and a later after date: the later wins", map[string]string{
			"search_recency_filter": `"year"`, "search_after_date_filter": `"03/01/2026"`,
		}, wantAfter(date(2026, 3, 1))},
		{"four date filters, MM/DD/YYYY and M/D/YYYY", map[string]string{
			"search_after_date_filter": `"01/02/2024"`, "search_before_date_filter": `"3/4/2025"`,
			"last_updated_after_filter": `"5/6/2024"`, "last_updated_before_filter": `"12/31/2025"`,
		}, func(t *testing.T, o Options) {
			f := o.Filters
			if !f.PublishedAfter.Equal(date(2024, 1, 2)) || !f.PublishedBefore.Equal(date(2025, 3, 4)) ||
				!f.UpdatedAfter.Equal(date(2024, 5, 6)) || !f.UpdatedBefore.Equal(date(2025, 12, 31)) {
				t.Errorf("dates %v %v %v %v", f.PublishedAfter, f.PublishedBefore, f.UpdatedAfter, f.UpdatedBefore)
			}
		}},
		{"search modes", map[string]string{"search_mode": `"academic"`}, func(t *testing.T, o Options) {
			if o.Filters.Mode != "academic" {
				t.Errorf("mode %q", o.Filters.Mode)
			}
		}},
		{"languages lowercased", map[string]string{"search_language_filter": `["en", "FR", " de "]`}, func(t *testing.T, o Options) {
			if want := []string{"en", "fr", "de"}; !slices.Equal(o.Filters.Languages, want) {
				t.Errorf("languages %q, want %q", o.Filters.Languages, want)
			}
		}},
		{"flags", map[string]string{
			"return_images": `true`, "return_related_questions": `true`, "disable_search": `true`, "enable_search_classifier": `true`,
		}, func(t *testing.T, o Options) {
			if !o.ReturnImages || !o.ReturnRelatedQuestions || !o.DisableSearch || !o.EnableClassifier {
				t.Errorf("flags %+v", o)
			}
		}},
		{"null flags are false", map[string]string{"return_images": `null`, "disable_search": `false`}, func(t *testing.T, o Options) {
			if o.ReturnImages || o.DisableSearch {
				t.Errorf("flags %+v", o)
			}
		}},
		{"web_search_options", map[string]string{
			"web_search_options": `{"search_context_size":"high","search_type":"pro","user_location":{"country":"us","city":"Boston","latitude":42.36,"longitude":-71.06}}`,
		}, func(t *testing.T, o Options) {
			if o.ContextSize != "high" || o.Country != "US" {
				t.Errorf("context %q country %q", o.ContextSize, o.Country)
			}
		}},
		{"null user_location", map[string]string{"web_search_options": `{"search_context_size":"medium","user_location":null}`}, func(t *testing.T, o Options) {
			if o.ContextSize != "medium" || o.Country != "" {
				t.Errorf("context %q country %q", o.ContextSize, o.Country)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOptions(raw(t, tt.in), now)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestParseOptionsInvalid(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, field, value string
		wantParam          string
	}{
		{"mixed allow and deny", "search_domain_filter", `["example.com", "-reddit.com"]`, "search_domain_filter"},
		{"21 domains", "search_domain_filter", domains(21), "search_domain_filter"},
		{"domain not a string array", "search_domain_filter", `"example.com"`, "search_domain_filter"},
		{"empty domain", "search_domain_filter", `[""]`, "search_domain_filter"},
		{"bare dash", "search_domain_filter", `["-"]`, "search_domain_filter"},
		{"domain with spaces", "search_domain_filter", `["not a domain"]`, "search_domain_filter"},
		{"unknown recency", "search_recency_filter", `"fortnight"`, "search_recency_filter"},
		{"recency not a string", "search_recency_filter", `7`, "search_recency_filter"},
		{"ISO date", "search_after_date_filter", `"2025-03-01"`, "search_after_date_filter"},
		{"day first", "search_before_date_filter", `"31/12/2025"`, "search_before_date_filter"},
		{"two-digit year", "last_updated_after_filter", `"03/01/25"`, "last_updated_after_filter"},
		{"date not a string", "last_updated_before_filter", `20250301`, "last_updated_before_filter"},
		{"bad mode", "search_mode", `"news"`, "search_mode"},
		{"language too long", "search_language_filter", `["eng"]`, "search_language_filter"},
		{"language with region", "search_language_filter", `["en-US"]`, "search_language_filter"},
		{"11 languages", "search_language_filter", `["en","fr","de","es","it","pt","nl","sv","da","fi","no"]`, "search_language_filter"},
		{"return_images string", "return_images", `"yes"`, "return_images"},
		{"return_related_questions number", "return_related_questions", `1`, "return_related_questions"},
		{"disable_search string", "disable_search", `"true"`, "disable_search"},
		{"enable_search_classifier object", "enable_search_classifier", `{}`, "enable_search_classifier"},
		{"bad context size", "web_search_options", `{"search_context_size":"huge"}`, "web_search_options.search_context_size"},
		{"context size not a string", "web_search_options", `{"search_context_size":3}`, "web_search_options"},
		{"web_search_options not an object", "web_search_options", `"high"`, "web_search_options"},
		{"bad search_type", "web_search_options", `{"search_type":"deep"}`, "web_search_options.search_type"},
		{"mixed image domains", "image_domain_filter", `["wikimedia.org", "-gettyimages.com"]`, "image_domain_filter"},
		{"11 image domains", "image_domain_filter", domains(11), "image_domain_filter"},
		{"image domain not a domain", "image_domain_filter", `["not a domain"]`, "image_domain_filter"},
		{"image domains not an array", "image_domain_filter", `"wikimedia.org"`, "image_domain_filter"},
		{"unknown image format", "image_format_filter", `["tga"]`, "image_format_filter"},
		{"image format a MIME type of no image", "image_format_filter", `["text/html"]`, "image_format_filter"},
		{"image formats not an array", "image_format_filter", `"png"`, "image_format_filter"},
		{"11 image formats", "image_format_filter", `["png","png","png","png","png","png","png","png","png","png","png"]`, "image_format_filter"},
		{"num_images zero", "num_images", `0`, "num_images"},
		{"num_images negative", "num_images", `-3`, "num_images"},
		{"num_images too many", "num_images", `21`, "num_images"},
		{"num_images fractional", "num_images", `2.5`, "num_images"},
		{"num_images string", "num_images", `"5"`, "num_images"},
		{"bad country", "web_search_options", `{"user_location":{"country":"USA"}}`, "web_search_options.user_location.country"},
		{"bad latitude", "web_search_options", `{"user_location":{"latitude":91}}`, "web_search_options.user_location.latitude"},
		{"user_location not an object", "web_search_options", `{"user_location":"Boston"}`, "web_search_options.user_location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOptions(raw(t, map[string]string{tt.field: tt.value}), now)
			var pe *platform.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *platform.Error", err)
			}
			if pe.Kind != platform.KindInvalid || pe.Param != tt.wantParam || pe.Message == "" {
				t.Errorf("got kind %q param %q message %q; want invalid, param %q", pe.Kind, pe.Param, pe.Message, tt.wantParam)
			}
			t.Log(pe.Message)
		})
	}

	t.Run("after later than before", func(t *testing.T) {
		_, err := ParseOptions(raw(t, map[string]string{
			"search_after_date_filter": `"06/01/2025"`, "search_before_date_filter": `"01/01/2025"`,
		}), now)
		if platform.ErrorKind(err) != platform.KindInvalid {
			t.Errorf("err = %v, want invalid", err)
		}
	})
}

func wantAfter(want time.Time) func(*testing.T, Options) {
	return func(t *testing.T, o Options) {
		t.Helper()
		if !o.Filters.PublishedAfter.Equal(want) {
			t.Errorf("PublishedAfter = %v, want %v", o.Filters.PublishedAfter, want)
		}
	}
}

func domains(n int) string {
	list := make([]string, n)
	for i := range list {
		list[i] = "site" + string(rune('a'+i)) + ".example"
	}
	b, _ := json.Marshal(list)
	return string(b)
}

func TestParseImageOptions(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   map[string]string
		want Options
	}{
		{"absent", nil, Options{}},
		{"nulls", map[string]string{"image_domain_filter": "null", "image_format_filter": "null", "num_images": "null"}, Options{}},
		{"allowed domains", map[string]string{"image_domain_filter": `["wikimedia.org", "https://www.NASA.gov/images"]`},
			Options{Images: search.ImageFilters{Domains: []string{"wikimedia.org", "nasa.gov"}}}},
		{"denied domains", map[string]string{"image_domain_filter": `["-gettyimages.com", "-shutterstock.com"]`},
			Options{Images: search.ImageFilters{ExcludeDomains: []string{"gettyimages.com", "shutterstock.com"}}}},
		{"formats normalized and deduplicated", map[string]string{"image_format_filter": `["gif", "JPEG", "jpg", ".png", "webp"]`},
			Options{Images: search.ImageFilters{Formats: []string{"gif", "jpg", "png", "webp"}}}},
		{"num_images", map[string]string{"num_images": `12`, "return_images": `true`},
			Options{ReturnImages: true, NumImages: 12}},
		{"image filters do not touch the search filters", map[string]string{
			"image_domain_filter": `["wikimedia.org"]`, "search_domain_filter": `["-reddit.com"]`},
			Options{Filters: search.Filters{ExcludeDomains: []string{"reddit.com"}},
				Images: search.ImageFilters{Domains: []string{"wikimedia.org"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(raw(t, tt.in), now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
