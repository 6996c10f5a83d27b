package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	answerpkg "github.com/tollgate-dev/tollgate/internal/answer"
	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/squad"
)

// evalRecallSource says where recall is measured: the grounded chat
// response lists the cited results first, which is not retrieval order, so
// recall comes from the Search API, which returns results as ranked.
const evalRecallSource = "POST /search with max_results 5 (retrieval order); chat_recall_* is from the chat response's search_results, cited first"

type evalFlags struct {
	data        string
	limit       int
	concurrency int
}

func evalCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate search-grounded answers through the real HTTP API",
	}
	cmd.AddCommand(evalSquadCmd(e))
	return cmd
}

func evalSquadCmd(e *env) *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "squad",
		Short: "Measure retrieval and answers on SQuAD 2.0 (shared/data/squad)",
		Long: "Start, in this process, a Tollgate with no LLM and only the local index (temporary data\n" +
			"directory, documentation seeds removed), index every paragraph of dev-public.json and\n" +
			"distractors.json, ask each question of dev-public.json as model \"sonar\" through POST\n" +
			"/chat/completions on a 127.0.0.1 port, and report paragraph recall@1/@5, answer-contained rate,\n" +
			"citation precision, the decline rate on unanswerable questions and chat latency.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.limit < 0 || f.concurrency < 1 || f.concurrency > 256 {
				return usageError{errors.New("--limit must not be negative, --concurrency 1 to 256")}
			}
			return runEvalSquad(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", filepath.Join("..", "shared", "data", "squad"), "directory holding dev-public.json and distractors.json")
	fl.IntVar(&f.limit, "limit", 0, "ask only the first N questions (0: all)")
	fl.IntVar(&f.concurrency, "concurrency", 4, "questions in flight at once")
	return cmd
}

// evalQuestion is one SQuAD question with its gold paragraph's URL and
// normalised answers (none when unanswerable).
type evalQuestion struct {
	text       string
	gold       string
	answers    []string
	impossible bool
}

// evalCorpus is what a SQuAD directory turns into.
type evalCorpus struct {
	docs      []local.Document
	normText  map[string]string // URL → normalised paragraph
	questions []evalQuestion
}

func loadEvalCorpus(dir string) (*evalCorpus, error) {
	read := func(name string) (*squad.File, error) {
		d, err := squad.Load(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("eval: no %s in %s: point --data at the SQuAD directory (shared/data/squad beside the module)", name, dir)
		}
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		return d, nil
	}
	dev, err := read("dev-public.json")
	if err != nil {
		return nil, err
	}
	distract, err := read("distractors.json")
	if err != nil {
		return nil, err
	}
	c := &evalCorpus{normText: map[string]string{}}
	add := func(u, title, text string) {
		c.docs = append(c.docs, local.Document{URL: u, Title: strings.ReplaceAll(title, "_", " "), Text: text, Language: "en"})
		c.normText[u] = squad.Normalize(text)
	}
	for _, a := range dev.Data {
		for i, p := range a.Paragraphs {
			u := fmt.Sprintf("squad://%s/%d", url.PathEscape(a.Title), i)
			add(u, a.Title, p.Context)
			for _, qa := range p.QAs {
				q := evalQuestion{text: qa.Question, gold: u, impossible: qa.IsImpossible}
				for _, ans := range qa.Answers {
					q.answers = append(q.answers, squad.Normalize(ans.Text))
				}
				c.questions = append(c.questions, q)
			}
		}
	}
	i := 0
	for _, a := range distract.Data {
		for _, p := range a.Paragraphs {
			add(fmt.Sprintf("squad://distractor/%d", i), a.Title, p.Context)
			i++
		}
	}
	if len(c.questions) == 0 {
		return nil, fmt.Errorf("eval: no questions in %s", filepath.Join(dir, "dev-public.json"))
	}
	return c, nil
}

// evalOutcome is what the server answered to one question.
type evalOutcome struct {
	answer    string
	citations []string
	chatURLs  []string // search_results of the chat response, in order
	searchURL []string // results of POST /search, in order
	latency   time.Duration
}

func runEvalSquad(ctx context.Context, e *env, f evalFlags) error {
	corpus, err := loadEvalCorpus(f.data)
	if err != nil {
		return err
	}
	qs := corpus.questions
	if f.limit > 0 && f.limit < len(qs) {
		qs = qs[:f.limit]
	}
	base, key, ix, stop, err := startEvalTollgate(ctx)
	if err != nil {
		return err
	}
	defer stop()

	start := time.Now()
	for i, d := range corpus.docs {
		if _, err := ix.Put(ctx, d); err != nil {
			return fmt.Errorf("eval: index %s: %w", d.URL, err)
		}
		if n := i + 1; n%100 == 0 || n == len(corpus.docs) {
			fmt.Fprintf(e.stderr, "indexed %d/%d\n", n, len(corpus.docs))
		}
	}
	indexTime := time.Since(start)

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: f.concurrency}}
	defer client.CloseIdleConnections()
	outs := make([]evalOutcome, len(qs))
	var asked atomic.Int64
	each := func(phase string, ask func(ctx context.Context, q evalQuestion, o *evalOutcome) error) error {
		asked.Store(0)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(f.concurrency)
		for i, q := range qs {
			g.Go(func() error {
				if err := ask(gctx, q, &outs[i]); err != nil {
					return err
				}
				if n := asked.Add(1); n%100 == 0 || int(n) == len(qs) {
					fmt.Fprintf(e.stderr, "%s %d/%d\n", phase, n, len(qs))
				}
				return nil
			})
		}
		return g.Wait()
	}
	post := func(ctx context.Context, path string, body, into any) error {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("eval: POST %s: %w", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("eval: POST %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(msg))
		}
		return json.NewDecoder(resp.Body).Decode(into)
	}
	err = each("asked", func(ctx context.Context, q evalQuestion, o *evalOutcome) error {
		var r struct {
			Choices []struct {
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
			Citations     []string `json:"citations"`
			SearchResults []struct {
				URL string `json:"url"`
			} `json:"search_results"`
		}
		t0 := time.Now()
		err := post(ctx, "/chat/completions", map[string]any{"model": "sonar",
			"messages": []map[string]string{{"role": "user", "content": q.text}}}, &r)
		o.latency = time.Since(t0)
		if err != nil {
			return err
		}
		if len(r.Choices) > 0 {
			o.answer = r.Choices[0].Message.Content
		}
		o.citations = r.Citations
		for _, s := range r.SearchResults {
			o.chatURLs = append(o.chatURLs, s.URL)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = each("searched", func(ctx context.Context, q evalQuestion, o *evalOutcome) error {
		var r struct {
			Results []struct {
				URL string `json:"url"`
			} `json:"results"`
		}
		if err := post(ctx, "/search", map[string]any{"query": q.text, "max_results": 5}, &r); err != nil {
			return err
		}
		for _, s := range r.Results {
			o.searchURL = append(o.searchURL, s.URL)
		}
		return nil
	})
	if err != nil {
		return err
	}

	rep := scoreEval(qs, outs, corpus.normText)
	rep.Documents, rep.Concurrency = len(corpus.docs), f.concurrency
	rep.IndexSeconds = indexTime.Seconds()
	if e.jsonOut {
		return e.printJSON(rep)
	}
	return rep.print(e)
}

// evalReport is what `tollgate eval squad` prints, with --json as is.
type evalReport struct {
	Documents               int     `json:"documents"`
	IndexSeconds            float64 `json:"index_seconds"`
	Questions               int     `json:"questions"`
	Answerable              int     `json:"answerable"`
	Unanswerable            int     `json:"unanswerable"`
	RecallAt1               float64 `json:"recall_at_1"`
	RecallAt5               float64 `json:"recall_at_5"`
	ChatRecallAt1           float64 `json:"chat_recall_at_1"`
	ChatRecallAt5           float64 `json:"chat_recall_at_5"`
	RecallSource            string  `json:"recall_source"`
	AnswerContained         float64 `json:"answer_contained"`
	AnswerableDeclined      float64 `json:"answerable_declined"`
	Cited                   int     `json:"cited"`
	CitationPrecision       float64 `json:"citation_precision"`
	UnanswerableDeclineRate float64 `json:"unanswerable_decline_rate"`
	LatencyP50Ms            float64 `json:"latency_p50_ms"`
	LatencyP99Ms            float64 `json:"latency_p99_ms"`
	Concurrency             int     `json:"concurrency"`
	CitationPrecisionScope  string  `json:"citation_precision_scope"`
}

func scoreEval(qs []evalQuestion, outs []evalOutcome, normText map[string]string) *evalReport {
	var hit1, hit5, chat1, chat5, contained, falseDeclines, declines, cited, citedGood int
	r := &evalReport{Questions: len(qs), RecallSource: evalRecallSource,
		CitationPrecisionScope: "citations of answerable questions whose paragraph holds a gold answer"}
	lat := make([]time.Duration, 0, len(outs))
	rankOf := func(urls []string, gold string) int {
		if i := slices.Index(urls, gold); i >= 0 && i < 5 {
			return i
		}
		return -1
	}
	for i, q := range qs {
		o := outs[i]
		lat = append(lat, o.latency)
		if k := rankOf(o.searchURL, q.gold); k >= 0 {
			hit5++
			if k == 0 {
				hit1++
			}
		}
		if k := rankOf(o.chatURLs, q.gold); k >= 0 {
			chat5++
			if k == 0 {
				chat1++
			}
		}
		declined := strings.TrimSpace(o.answer) == answerpkg.DeclineText || len(o.citations) == 0
		if q.impossible {
			r.Unanswerable++
			if declined {
				declines++
			}
			continue
		}
		r.Answerable++
		if declined {
			falseDeclines++
		}
		if squad.Contains(squad.Normalize(squad.StripMarkers(o.answer)), q.answers) {
			contained++
		}
		for _, u := range o.citations {
			cited++
			if squad.Contains(normText[u], q.answers) {
				citedGood++
			}
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	r.RecallAt1, r.RecallAt5 = ratio(hit1, len(qs)), ratio(hit5, len(qs))
	r.ChatRecallAt1, r.ChatRecallAt5 = ratio(chat1, len(qs)), ratio(chat5, len(qs))
	r.AnswerContained, r.AnswerableDeclined = ratio(contained, r.Answerable), ratio(falseDeclines, r.Answerable)
	r.Cited, r.CitationPrecision = cited, ratio(citedGood, cited)
	r.UnanswerableDeclineRate = ratio(declines, r.Unanswerable)
	slices.Sort(lat)
	if len(lat) > 0 {
		pct := func(p float64) float64 {
			return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
		}
		r.LatencyP50Ms, r.LatencyP99Ms = pct(0.50), pct(0.99)
	}
	return r
}

func (r *evalReport) print(e *env) error {
	f3 := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	fmt.Fprintf(e.stdout, "SQuAD 2.0 through the HTTP API: %d documents (indexed in %.1fs), %d questions (%d answerable, %d unanswerable), concurrency %d\n\n",
		r.Documents, r.IndexSeconds, r.Questions, r.Answerable, r.Unanswerable, r.Concurrency)
	if err := e.printTable([]string{"METRIC", "VALUE", "TARGET"}, [][]string{
		{"recall@1", f3(r.RecallAt1), ""},
		{"recall@5", f3(r.RecallAt5), "≥ 0.90"},
		{"chat search_results recall@1", f3(r.ChatRecallAt1), ""},
		{"chat search_results recall@5", f3(r.ChatRecallAt5), ""},
		{"answer-contained (answerable)", f3(r.AnswerContained), "≥ 0.60"},
		{"declined (answerable)", f3(r.AnswerableDeclined), ""},
		{fmt.Sprintf("citation precision (%d cited)", r.Cited), f3(r.CitationPrecision), ""},
		{"decline rate (unanswerable)", f3(r.UnanswerableDeclineRate), ""},
		{"chat latency p50 ms", fmt.Sprintf("%.2f", r.LatencyP50Ms), "< 20"},
		{"chat latency p99 ms", fmt.Sprintf("%.2f", r.LatencyP99Ms), ""},
	}); err != nil {
		return err
	}
	_, err := fmt.Fprintf(e.stdout, "\nRecall: %s.\n", r.RecallSource)
	return err
}

// startEvalTollgate wires a real Tollgate as bench does (temporary data
// directory, an organization, group and key) but with no upstream, no
// credit requirement, no tier limits and only the local index, emptied of
// its seeded documentation; it serves it on a 127.0.0.1 port.
func startEvalTollgate(ctx context.Context) (base, key string, ix *local.Index, stop func(), err error) {
	dir, err := os.MkdirTemp("", "tollgate-eval-")
	if err != nil {
		return "", "", nil, nil, err
	}
	c := config.Default()
	c.DataDir = dir
	c.Upstreams = nil
	c.Billing.RequireCredits = false
	c.Limits.TierRPM = map[string][]int64{"*": {0, 0, 0, 0, 0, 0}}
	c.Search.LocalIndex, c.Search.Providers, c.Search.FetchPages = true, nil, false
	lg := newLogger(io.Discard, c)
	st, err := openStore(ctx, c, lg)
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", "", nil, nil, fmt.Errorf("eval: start Tollgate: %w", err)
	}
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stops = append(stops, func() { st.Close(); os.RemoveAll(dir) })
	fail := func(err error) (string, string, *local.Index, func(), error) {
		stop()
		return "", "", nil, nil, fmt.Errorf("eval: start Tollgate: %w", err)
	}
	a, err := newApp(c, st, lg, func() time.Time { return time.Now().UTC() })
	if err != nil {
		return fail(err)
	}
	stops = append(stops, a.close)
	ix = a.search.index
	if ix == nil {
		return fail(errors.New("the local index is off"))
	}
	if err := dropSeededDocs(ctx, ix); err != nil {
		return fail(err)
	}
	boot, err := a.svc.CreateOrg(ctx, platform.SystemActor("eval"), "Eval", "eval@example.test")
	if err != nil {
		return fail(err)
	}
	owner := platform.Principal{OrgID: boot.Org.ID, Role: platform.RoleOwner, Actor: platform.SystemActor("eval")}
	g, err := a.svc.CreateGroup(ctx, owner, "eval", "")
	if err != nil {
		return fail(err)
	}
	_, key, err = a.svc.CreateKey(ctx, owner, g.ID, "eval", nil)
	if err != nil {
		return fail(err)
	}
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { auth.RunFlusher(workers, c.Keys.LastUsedFlush, lg, a.keyAuth, a.adminAuth) })
	stops = append(stops, func() { stopWorkers(); wg.Wait() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	var swg sync.WaitGroup
	swg.Go(func() { _ = srv.Serve(ln) })
	stops = append(stops, func() { _ = srv.Close(); swg.Wait() })
	return "http://" + ln.Addr().String(), key, ix, stop, nil
}

// dropSeededDocs deletes Tollgate's own documentation from the index, so
// only the evaluated corpus is searched.
func dropSeededDocs(ctx context.Context, ix *local.Index) error {
	docs, _, err := ix.List(ctx, 0, 0)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if strings.HasPrefix(d.URL, local.SeedScheme) {
			if err := ix.Delete(ctx, d.ID); err != nil {
				return fmt.Errorf("drop seeded %s: %w", d.URL, err)
			}
		}
	}
	return nil
}
