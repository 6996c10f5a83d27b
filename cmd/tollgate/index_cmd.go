package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	bolt "go.etcd.io/bbolt"

	"github.com/tollgate-dev/tollgate/internal/client"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/indexing"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

// indexCmd manages the local search index. By default its commands open
// the index in the data directory themselves, like `admin`; the index takes
// one writer at a time, so while a server runs they go through its API
// instead, when given --url (crawl is offline only).
func indexCmd(e *env) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Manage the local search index (documents, crawls, search)",
		Long: "Manage the local search index in <data_dir>/index: add files and pages, crawl a site,\n" +
			"list, remove, count and search documents.\n\n" +
			"These commands open the index directly, so they need the server stopped: a running\n" +
			"server holds the index. To change it while the server runs, pass --url (and an admin\n" +
			"token) and the commands go through the management API; crawl works offline only.",
	}
	api.register(cmd)
	cmd.AddCommand(indexAddCmd(e, &api), indexCrawlCmd(e, &api), indexListCmd(e, &api),
		indexRmCmd(e, &api), indexStatsCmd(e, &api), indexSearchCmd(e, &api))
	return cmd
}

// indexTarget is where an index command acts: the data directory's index,
// or a server's API.
type indexTarget struct {
	server  serverFlags
	private bool // let add and crawl fetch loopback and private addresses
}

func (f *indexTarget) register(cmd *cobra.Command, fetches bool) {
	f.server.register(cmd, false)
	if fetches {
		cmd.Flags().BoolVar(&f.private, "allow-private", false, "fetch loopback and private-network addresses too (intranet sites)")
	}
}

// remote returns an API client when --url was given, else nil.
func remote(e *env, api *apiFlags) (*client.Client, error) {
	if api.url == "" {
		return nil, nil
	}
	return api.client(e)
}

// offlineIndex opens the index in the data directory for one command.
func offlineIndex(ctx context.Context, e *env, f *indexTarget, fn func(svc *indexing.Service) error) error {
	c, err := f.server.load(e)
	if err != nil {
		return err
	}
	dir := filepath.Join(c.DataDir, "index")
	ix, err := local.Open(dir)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("the index in %s is in use: the server is running and holds the index; "+
				"use the API (tollgate index … --url http://host:port with TOLLGATE_ADMIN_TOKEN) or stop the server", dir)
		}
		return err
	}
	fetcher := fetch.New(fetch.Options{AllowPrivate: f.private})
	err = fn(indexing.New(ix, indexing.Options{Fetcher: fetcher}))
	return errors.Join(err, ix.Close())
}

func indexAddCmd(e *env, api *apiFlags) *cobra.Command {
	var f indexTarget
	cmd := &cobra.Command{
		Use:   "add PATH|URL…",
		Short: "Add or update Markdown, text and HTML files, directories and web pages",
		Long: "Add files (.md, .txt, .html), directories (walked for those files) and http(s) pages to\n" +
			"the index. A document whose content has not changed is reported unchanged and left alone.\n" +
			"Progress goes to standard error, one line per document.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			progress := func(r indexing.Result) { printProgress(e, r) }
			var results []indexing.Result
			c, err := remote(e, api)
			if err != nil {
				return err
			}
			if c != nil {
				results = addRemote(ctx, c, args, progress)
			} else if err := offlineIndex(ctx, e, &f, func(svc *indexing.Service) error {
				results = svc.Add(ctx, args, progress)
				return nil
			}); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := printResults(e, results); err != nil {
				return err
			}
			return failures(results)
		},
	}
	f.register(cmd, true)
	return cmd
}

// addRemote adds sources through the API: pages are fetched by the server,
// files are read here and sent as text.
func addRemote(ctx context.Context, c *client.Client, sources []string, progress indexing.Progress) []indexing.Result {
	var out []indexing.Result
	report := func(r indexing.Result) { out = append(out, r); progress(r) }
	send := func(source string, a client.IndexAdd) {
		r, err := c.AddIndexDocument(ctx, a)
		if err != nil {
			report(indexing.Result{Source: source, URL: a.URL, Status: indexing.StatusFailed, Error: err.Error()})
			return
		}
		report(indexing.Result{Source: source, ID: r.ID, URL: r.URL, Title: r.Title, Status: r.Status})
	}
	for _, src := range sources {
		if ctx.Err() != nil {
			break
		}
		if indexing.IsURL(src) {
			send(src, client.IndexAdd{URL: src})
			continue
		}
		files, err := indexing.Files(src)
		if err != nil {
			report(indexing.Result{Source: src, Status: indexing.StatusFailed, Error: err.Error()})
			continue
		}
		for _, path := range files {
			d, err := indexing.ReadFile(path)
			if err != nil {
				report(indexing.Result{Source: path, Status: indexing.StatusFailed, Error: err.Error()})
				continue
			}
			send(path, client.IndexAdd{URL: d.URL, Title: d.Title, Text: d.Text, Published: d.Published, Language: d.Language})
		}
	}
	return out
}

func indexCrawlCmd(e *env, api *apiFlags) *cobra.Command {
	var (
		f     indexTarget
		o     indexing.CrawlOptions
		delay time.Duration
	)
	cmd := &cobra.Command{
		Use:   "crawl URL",
		Short: "Crawl a site (same host, robots.txt obeyed) into the index",
		Args:  exactArgs("URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if api.url != "" {
				return usageError{errors.New("crawl works offline only: stop the server, then run it without --url")}
			}
			if o.Depth < 0 || o.MaxPages < 1 {
				return usageError{errors.New("--depth must be 0 or more and --max-pages 1 or more")}
			}
			o.Delay = delay
			ctx := cmd.Context()
			return offlineIndex(ctx, e, &f, func(svc *indexing.Service) error {
				rep, err := svc.Crawl(ctx, args[0], o, func(r indexing.Result) { printProgress(e, r) })
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(rep)
				}
				fmt.Fprintf(e.stdout, "Crawled %s: %d added, %d updated, %d unchanged, %d failed.\n", rep.Start,
					rep.Counts[indexing.StatusAdded], rep.Counts[indexing.StatusUpdated],
					rep.Counts[indexing.StatusUnchanged], rep.Counts[indexing.StatusFailed])
				return nil
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().IntVar(&o.Depth, "depth", 1, "how many links away from the start page to follow")
	cmd.Flags().IntVar(&o.MaxPages, "max-pages", 100, "most pages to fetch")
	cmd.Flags().DurationVar(&delay, "delay", time.Second, "wait between requests (robots.txt Crawl-delay may raise it)")
	return cmd
}

func indexListCmd(e *env, api *apiFlags) *cobra.Command {
	var f indexTarget
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the indexed documents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var docs []client.IndexDocument
			c, err := remote(e, api)
			if err != nil {
				return err
			}
			if c != nil {
				for cursor := ""; ; {
					p, err := c.IndexDocuments(ctx, cursor, 1000)
					if err != nil {
						return explain(err, "", "")
					}
					docs = append(docs, p.Data...)
					if !p.HasMore {
						break
					}
					cursor = p.NextCursor
				}
			} else if err := offlineIndex(ctx, e, &f, func(svc *indexing.Service) error {
				ds, _, err := svc.List(ctx, 0, 0)
				for _, d := range ds {
					docs = append(docs, client.IndexDocument{ID: d.ID, Object: "index_document", URL: d.URL, Title: d.Title,
						Domain: d.Domain, Published: d.Published, Updated: d.Updated, Language: d.Language,
						Passages: d.Passages, Hash: d.Hash})
				}
				return err
			}); err != nil {
				return err
			}
			if docs == nil {
				docs = []client.IndexDocument{}
			}
			if e.jsonOut {
				return e.printJSON(docs)
			}
			rows := make([][]string, 0, len(docs))
			for _, d := range docs {
				rows = append(rows, []string{d.ID, d.Title, d.URL, strconv.Itoa(d.Passages), when(d.Updated)})
			}
			return e.printTable([]string{"ID", "TITLE", "URL", "PASSAGES", "UPDATED"}, rows)
		},
	}
	f.register(cmd, false)
	return cmd
}

func indexRmCmd(e *env, api *apiFlags) *cobra.Command {
	var f indexTarget
	cmd := &cobra.Command{
		Use:   "rm ID|URL…",
		Short: "Remove documents by ID or URL",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := remote(e, api)
			if err != nil {
				return err
			}
			del := func(svc *indexing.Service) error {
				var removed []string
				for _, ref := range args {
					var err error
					if c != nil {
						id := ref
						if !strings.HasPrefix(id, local.PrefixDocument) {
							id = local.DocID(ref)
						}
						err = explain(c.DeleteIndexDocument(ctx, id), ref, "tollgate index list")
					} else {
						err = svc.Delete(ctx, ref)
					}
					if err != nil {
						return fmt.Errorf("%w (see `tollgate index list`)", err)
					}
					removed = append(removed, ref)
					if !e.jsonOut {
						fmt.Fprintf(e.stdout, "Removed %s.\n", ref)
					}
				}
				if e.jsonOut {
					return e.printJSON(map[string]any{"removed": removed})
				}
				return nil
			}
			if c != nil {
				return del(nil)
			}
			return offlineIndex(ctx, e, &f, del)
		},
	}
	f.register(cmd, false)
	return cmd
}

func indexStatsCmd(e *env, api *apiFlags) *cobra.Command {
	var f indexTarget
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count documents and passages and measure the index on disk",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var st client.IndexStats
			c, err := remote(e, api)
			if err != nil {
				return err
			}
			if c != nil {
				s, err := c.IndexStats(ctx)
				if err != nil {
					return explain(err, "", "")
				}
				st = *s
			} else if err := offlineIndex(ctx, e, &f, func(svc *indexing.Service) error {
				s, err := svc.Stats(ctx)
				st = client.IndexStats{Object: "index_stats", Documents: s.Documents, Passages: s.Passages, DiskBytes: s.DiskBytes}
				return err
			}); err != nil {
				return err
			}
			if e.jsonOut {
				return e.printJSON(st)
			}
			fmt.Fprintf(e.stdout, "%d documents, %d passages, %.1f MiB on disk\n", st.Documents, st.Passages, float64(st.DiskBytes)/(1<<20))
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

func indexSearchCmd(e *env, api *apiFlags) *cobra.Command {
	var (
		f     indexTarget
		limit int
	)
	cmd := &cobra.Command{
		Use:   "search QUERY…",
		Short: "Search the index",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			query := strings.Join(args, " ")
			if limit < 1 || limit > 50 {
				return usageError{errors.New("--limit must be from 1 to 50")}
			}
			var hits []client.IndexHit
			c, err := remote(e, api)
			if err != nil {
				return err
			}
			if c != nil {
				if hits, err = c.SearchIndex(ctx, query, limit); err != nil {
					return explain(err, "", "")
				}
			} else if err := offlineIndex(ctx, e, &f, func(svc *indexing.Service) error {
				rs, err := svc.Search(ctx, search.Query{Text: query, Max: limit})
				for _, r := range rs {
					hits = append(hits, client.IndexHit{Title: r.Title, URL: r.URL, Snippet: r.Snippet,
						Date: r.Date, LastUpdated: r.LastUpdated, Score: r.Score})
				}
				return err
			}); err != nil {
				return err
			}
			if hits == nil {
				hits = []client.IndexHit{}
			}
			if e.jsonOut {
				return e.printJSON(hits)
			}
			if len(hits) == 0 {
				fmt.Fprintln(e.stdout, "No documents match.")
			}
			for i, h := range hits {
				fmt.Fprintf(e.stdout, "%d. %s\n   %s\n   %s\n\n", i+1, h.Title, h.URL, oneLine(h.Snippet, 200))
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().IntVar(&limit, "limit", 10, "most results to show (1-50)")
	return cmd
}

// printProgress writes one line per document to standard error.
func printProgress(e *env, r indexing.Result) {
	switch {
	case r.Status == indexing.StatusFailed:
		fmt.Fprintf(e.stderr, "%-9s %s: %s\n", r.Status, r.Source, r.Error)
	case r.Title != "":
		fmt.Fprintf(e.stderr, "%-9s %s (%s)\n", r.Status, r.Source, r.Title)
	default:
		fmt.Fprintf(e.stderr, "%-9s %s\n", r.Status, r.Source)
	}
}

func printResults(e *env, rs []indexing.Result) error {
	if rs == nil {
		rs = []indexing.Result{}
	}
	if e.jsonOut {
		return e.printJSON(rs)
	}
	counts := map[string]int{}
	for _, r := range rs {
		counts[r.Status]++
	}
	fmt.Fprintf(e.stdout, "%d added, %d updated, %d unchanged, %d failed.\n", counts[indexing.StatusAdded],
		counts[indexing.StatusUpdated], counts[indexing.StatusUnchanged], counts[indexing.StatusFailed])
	return nil
}

// failures makes the command fail when any source did, after the report.
func failures(rs []indexing.Result) error {
	n := 0
	for _, r := range rs {
		if r.Status == indexing.StatusFailed {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%d of %d sources failed (see the lines above)", n, len(rs))
	}
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
