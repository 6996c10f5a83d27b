// Package docs embeds Tollgate's own documentation so that a fresh install
// can seed its local search index and answer questions about itself offline.
package docs

import "embed"

// FS holds every Markdown page of this directory, named by file name
// ("keys.md"), for seeding the local search index.
//
//go:embed *.md
var FS embed.FS
