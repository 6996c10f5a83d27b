package local

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// SeedScheme starts the URL of every seeded documentation page:
// "tollgate://docs/keys.md".
const SeedScheme = "tollgate://docs/"

// SeedDocs indexes every Markdown file of fsys (Tollgate's embedded
// documentation) and returns how many were added or updated. Unchanged
// pages are skipped, so calling it on every start is cheap.
func SeedDocs(ctx context.Context, ix *Index, fsys fs.FS) (int, error) {
	n := 0
	err := fs.WalkDir(fsys, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || path.Ext(name) != ".md" {
			return nil
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		title, text := StripMarkdown(string(src))
		if title == "" {
			title = strings.TrimSuffix(path.Base(name), ".md")
		}
		status, err := ix.Put(ctx, Document{
			URL:      SeedScheme + name,
			Title:    title,
			Text:     text,
			Language: "en",
		})
		if err != nil {
			return err
		}
		if status != StatusUnchanged {
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("local index: seed docs: %w", err)
	}
	return n, nil
}
