package local

import "testing"

func TestStripMarkdown(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantTitle string
		wantText  string
	}{
		{
			name:      "heading and paragraph",
			src:       "# API keys\n\nKeys are **secret** and\n*never* logged.\n",
			wantTitle: "API keys",
			wantText:  "API keys\n\nKeys are secret and never logged.",
		},
		{
			name:     "links keep text, drop URL",
			src:      "See [the guide](https://example.com/guide) and ![logo](logo.png) or <https://example.com>.",
			wantText: "See the guide and logo or .",
		},
		{
			name:     "code spans keep words, snake_case survives",
			src:      "Set `keys.rotation_grace` to _zero_ with `tollgate keys rotate KEY`.",
			wantText: "Set keys.rotation_grace to zero with tollgate keys rotate KEY.",
		},
		{
			name:     "code block lines kept",
			src:      "Run:\n\n```sh\ncurl -s $TOLLGATE/v1/key\n  -H x\n```\nDone.",
			wantText: "Run:\n\ncurl -s $TOLLGATE/v1/key\n\n-H x\n\nDone.",
		},
		{
			name:     "table rows become lines labelled by the header",
			src:      "| Action | CLI | API |\n|---|:---:|---|\n| Rotate | `tollgate keys rotate` | `POST /rotate` |\n| Rename | | `PATCH` |\n\nAfter.",
			wantText: "Rotate — CLI: tollgate keys rotate; API: POST /rotate\n\nRename — API: PATCH\n\nAfter.",
		},
		{
			name:     "a table without a header row joins cells",
			src:      "| a | b |\n| c | d |\n",
			wantText: "a; b\n\nc; d",
		},
		{
			name:     "a header applies to its own table only",
			src:      "| H | X |\n|---|---|\n| r | 1 |\n\n| s | 2 |\n",
			wantText: "r — X: 1\n\ns; 2",
		},
		{
			name:     "lists and quotes",
			src:      "* one\n* two\n  continued\n1. three\n> quoted\n---\n",
			wantText: "one\n\ntwo continued\n\nthree quoted",
		},
		{
			name:      "second heading is not the title",
			src:       "Intro.\n\n## Setup ##\ntext\n\n[ref]: https://example.com\n<!-- hidden -->",
			wantTitle: "Setup",
			wantText:  "Intro.\n\nSetup\n\ntext",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, text := StripMarkdown(tt.src)
			if title != tt.wantTitle {
				t.Errorf("title %q, want %q", title, tt.wantTitle)
			}
			if text != tt.wantText {
				t.Errorf("text:\n got %q\nwant %q", text, tt.wantText)
			}
		})
	}
}
