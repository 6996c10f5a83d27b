package webtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SearXNG is a fake SearXNG instance: GET or POST /search (and / , which
// redirects there with 308 when a format is given). Like a default
// install, it serves HTML unless format=json is asked for and enabled.
// categories=images answers with the images (SetImages) as its image
// engines report them.
type SearXNG struct {
	server
	jsonDisabled bool
	unresponsive [][2]string
	legacyCount  bool
}

// NewSearXNG starts a fake instance with json enabled; it stops when the
// test ends.
func NewSearXNG(t cleaner) *SearXNG {
	f := &SearXNG{}
	f.start(t, f.serve)
	return f
}

// DisableJSON makes format=json answer 403, as an instance whose
// settings.yml lists only html in search.formats does.
func (f *SearXNG) DisableJSON() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jsonDisabled = true
}

// SetUnresponsive reports engines as unresponsive: [name, message] pairs
// such as {"google", "Suspended: too many requests"}.
func (f *SearXNG) SetUnresponsive(engines ...[2]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unresponsive = engines
}

// SetLegacyCount includes number_of_results, as servers before 2026-05 did.
func (f *SearXNG) SetLegacyCount(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.legacyCount = on
}

var searxngTimeRanges = map[string]bool{"": true, "day": true, "week": true, "month": true, "year": true}

func (f *SearXNG) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/search" && r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	a, ok := f.admit(r)
	if !ok {
		return
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		form, _ := url.ParseQuery(string(a.body))
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	} else if r.Method != http.MethodGet {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	format := params.Get("format")
	if r.URL.Path == "/" && format != "" {
		http.Redirect(w, r, "/search?"+params.Encode(), http.StatusPermanentRedirect)
		return
	}
	if a.limited {
		// The botdetection limiter answers with a bare 429.
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	f.mu.Lock()
	disabled, unresponsive, legacy := f.jsonDisabled, f.unresponsive, f.legacyCount
	f.mu.Unlock()
	switch {
	case format == "" || format == "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>SearXNG</title></head><body></body></html>")
		return
	case format != "json" || disabled:
		// Flask's abort(403): an HTML page, not JSON.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n"+
			"<p>You don&#39;t have the permission to access the requested resource. It is either read-protected or not readable by the server.</p>\n")
		return
	}
	q := strings.TrimSpace(params.Get("q"))
	if q == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "No query"})
		return
	}
	if tr := params.Get("time_range"); !searxngTimeRanges[tr] {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("Invalid value %q for parameter time_range", tr)})
		return
	}
	category := "general"
	if c := params.Get("categories"); c != "" {
		category = strings.Split(c, ",")[0]
	}
	var results []map[string]any
	if category == "images" {
		results = searxngImages(a.images)
	} else {
		results = searxngResults(a.docs, category)
	}
	engines := make([][]string, 0, len(unresponsive))
	for _, e := range unresponsive {
		engines = append(engines, []string{e[0], e[1]})
	}
	resp := map[string]any{
		"query": q, "results": results, "answers": []any{}, "corrections": []string{},
		"infoboxes": []any{}, "suggestions": []string{}, "unresponsive_engines": engines,
	}
	if legacy {
		resp["number_of_results"] = 0
	}
	writeJSON(w, http.StatusOK, resp)
}

// searxngResults renders documents as MainResult.as_dict() does.
func searxngResults(docs []Doc, category string) []map[string]any {
	results := make([]map[string]any, 0, len(docs))
	for i, d := range docs {
		u, _ := url.Parse(d.URL)
		parsed := []string{"", "", "", "", "", ""}
		if u != nil {
			parsed = []string{u.Scheme, u.Host, u.Path, "", u.RawQuery, u.Fragment}
		}
		var published any
		if !d.Published.IsZero() {
			published = d.Published.UTC().Format("2006-01-02T15:04:05")
		}
		score := d.Score
		if score == 0 {
			score = 1 / float64(i+1)
		}
		results = append(results, map[string]any{
			"url": d.URL, "title": d.Title, "content": d.Content,
			"engine": "duckduckgo", "engines": []string{"duckduckgo"}, "positions": []int{i + 1},
			"score": score, "parsed_url": parsed, "template": "default.html", "category": category,
			"publishedDate": published, "pubdate": published, "thumbnail": "", "img_src": "",
			"iframe_src": "", "audio_src": "", "length": nil, "views": nil, "author": nil,
			"metadata": "", "priority": "", "open_group": false, "close_group": false,
		})
	}
	return results
}

// searxngImages renders images as searx.result_types.Image does (the
// images.html template): img_src is the file, url the page, resolution
// "W x H" or empty, img_format as the engine reported it.
func searxngImages(images []Image) []map[string]any {
	results := make([]map[string]any, 0, len(images))
	for i, im := range images {
		resolution := ""
		if im.Width > 0 && im.Height > 0 {
			resolution = fmt.Sprintf("%d x %d", im.Width, im.Height)
		}
		u, _ := url.Parse(im.PageURL)
		parsed := []string{"", "", "", "", "", ""}
		source := ""
		if u != nil {
			parsed = []string{u.Scheme, u.Host, u.Path, "", u.RawQuery, u.Fragment}
			source = u.Host
		}
		results = append(results, map[string]any{
			"url": im.PageURL, "title": im.Title, "content": "", "img_src": im.URL,
			"thumbnail_src": "https://tse.mm.bing.example/th?id=" + fmt.Sprint(i), "resolution": resolution,
			"img_format": im.Format, "source": source, "filesize": "", "formats": []any{},
			"engine": "bing images", "engines": []string{"bing images"}, "positions": []int{i + 1},
			"score": 1 / float64(i+1), "parsed_url": parsed, "template": "images.html", "category": "images",
			"publishedDate": nil, "thumbnail": "", "iframe_src": "", "audio_src": "", "priority": "",
			"open_group": false, "close_group": false,
		})
	}
	return results
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
