package indexing

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/extract"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

// MaxFileBytes bounds a file read for the index; larger files fail rather
// than filling memory.
const MaxFileBytes = 16 << 20

// kinds maps file extensions to how they are read.
var kinds = map[string]string{
	".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
	".txt": "text", ".text": "text",
	".html": "html", ".htm": "html", ".xhtml": "html",
}

// Files lists the indexable files at path: path itself if it is a file, or
// every file with a known extension under it (hidden directories skipped)
// if it is a directory. A file named directly must have a known extension.
func Files(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !info.IsDir() {
		if _, ok := kinds[strings.ToLower(filepath.Ext(path))]; !ok {
			return nil, unsupported(path)
		}
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != path && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if _, ok := kinds[strings.ToLower(filepath.Ext(p))]; ok && e.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, platform.Invalid("path", "%s holds no Markdown, text or HTML files (.md, .txt, .html)", path)
	}
	return out, nil
}

func unsupported(path string) error {
	return platform.Invalid("path", "%s: unsupported file type %q; the index reads .md, .markdown, .txt, .html and .htm files",
		path, filepath.Ext(path))
}

// ReadFile reads a Markdown, plain-text or HTML file into a document whose
// URL is the file's absolute file:// URL, so re-adding the same file updates
// the same document. The file's modification time is its update date.
func ReadFile(path string) (local.Document, error) {
	kind, ok := kinds[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return local.Document{}, unsupported(path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return local.Document{}, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return local.Document{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return local.Document{}, err
	}
	if info.Size() > MaxFileBytes {
		return local.Document{}, platform.Invalid("path", "%s is larger than %d MiB", path, MaxFileBytes>>20)
	}
	body, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return local.Document{}, fmt.Errorf("%s: %w", path, err)
	}
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	mod := info.ModTime().UTC().Truncate(time.Second)
	d := local.Document{URL: u, Updated: &mod}

	switch kind {
	case "markdown":
		// Front matter gives title, date and language; StripMarkdown gives the
		// text, as for the bundled documentation, so both chunk alike.
		meta := extract.Markdown(body)
		title, text := local.StripMarkdown(withoutFrontMatter(body))
		d.Title, d.Text, d.Published, d.Language = title, text, meta.Published, meta.Language
		if hasFrontMatter(body) && meta.Title != "" {
			d.Title = meta.Title
		}
	case "text":
		doc := extract.Plain(body)
		d.Title, d.Text = doc.Title, doc.Text
	case "html":
		pu, _ := url.Parse(u)
		doc, err := extract.HTML(body, pu)
		if err != nil {
			return local.Document{}, platform.Invalid("path", "%s: %v", path, err)
		}
		d.Title, d.Text, d.Published, d.Language = doc.Title, doc.Text, doc.Published, doc.Language
	}
	if strings.TrimSpace(d.Title) == "" {
		d.Title = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if strings.TrimSpace(d.Text) == "" {
		return local.Document{}, platform.Invalid("path", "%s has no text to index", path)
	}
	return d, nil
}

func hasFrontMatter(body []byte) bool {
	b := bytes.ReplaceAll(bytes.TrimPrefix(body, []byte("\uFEFF")), []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(b, []byte("---\n")) {
		return false
	}
	return bytes.Contains(b[4:], []byte("\n---\n"))
}

func withoutFrontMatter(body []byte) string {
	s := strings.ReplaceAll(strings.TrimPrefix(string(body), "\uFEFF"), "\r\n", "\n")
	if rest, ok := strings.CutPrefix(s, "---\n"); ok {
		if _, after, ok := strings.Cut(rest, "\n---\n"); ok {
			return after
		}
	}
	return s
}
