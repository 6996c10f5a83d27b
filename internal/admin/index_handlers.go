package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/indexing"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

// IndexService is the local search index as the management API uses it;
// *indexing.Service implements it.
type IndexService interface {
	List(ctx context.Context, offset, limit int) ([]local.Document, int, error)
	AddURL(ctx context.Context, rawURL string) (indexing.Result, error)
	AddText(ctx context.Context, t indexing.Text) (indexing.Result, error)
	Delete(ctx context.Context, idOrURL string) error
	Stats(ctx context.Context) (local.Stats, error)
	Search(ctx context.Context, q search.Query) ([]search.Result, error)
}

var _ IndexService = (*indexing.Service)(nil)

// The local index's routes are registered by Register. Any member of the
// organization may read the index; adding and deleting documents takes an
// owner or admin (group.manage), since the index is shared by every group.
// A nil Deps.Index answers every route with 503 (after the role check).

// indexReady checks the caller may perform a and that the index is enabled.
func (d *Deps) indexReady(p platform.Principal, a platform.Action) error {
	if err := platform.Authorize(p.Role, a); err != nil {
		return err
	}
	if d.Index == nil {
		return platform.Errorf(platform.KindUnavailable, "the local search index is not enabled on this server")
	}
	return nil
}

type indexDocJSON struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	URL       string     `json:"url"`
	Title     string     `json:"title"`
	Domain    string     `json:"domain,omitempty"`
	Published *time.Time `json:"published,omitempty"`
	Updated   *time.Time `json:"updated,omitempty"`
	Language  string     `json:"language,omitempty"`
	Passages  int        `json:"passages"`
	Hash      string     `json:"hash"`
}

func toIndexDoc(d local.Document) indexDocJSON {
	return indexDocJSON{ID: d.ID, Object: "index_document", URL: d.URL, Title: d.Title, Domain: d.Domain,
		Published: d.Published, Updated: d.Updated, Language: d.Language, Passages: d.Passages, Hash: d.Hash}
}

type indexResultJSON struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	URL    string `json:"url"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

// list pages through documents in URL order; the cursor is an offset.
func (d *Deps) listIndexDocuments(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.indexReady(p, platform.ActOrgRead); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "cursor", 0, 0, 1<<30)
	if err != nil {
		return platform.Invalid("cursor", "cursor must be the next_cursor of a previous page")
	}
	docs, total, err := d.Index.List(r.Context(), offset, limit)
	if err != nil {
		return err
	}
	out := struct {
		listJSON[indexDocJSON]
		Total int `json:"total"`
	}{list(docs, toIndexDoc), total}
	if offset+len(docs) < total {
		out.HasMore, out.NextCursor = true, strconv.Itoa(offset+len(docs))
	}
	httpjson.Encode(w, http.StatusOK, out)
	return nil
}

// add fetches a URL, or stores the text given, as one document: 201 when
// it is new, 200 when it updated or matched the stored version.
func (d *Deps) addIndexDocument(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.indexReady(p, platform.ActGroupManage); err != nil {
		return err
	}
	var req struct {
		URL       string     `json:"url"`
		Title     string     `json:"title"`
		Text      string     `json:"text"`
		Published *time.Time `json:"published"`
		Language  string     `json:"language"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.URL) == "" {
		return platform.Invalid("url", "url is required: the page to fetch, or the URL the given text is cited as")
	}
	var (
		res indexing.Result
		err error
	)
	if strings.TrimSpace(req.Text) == "" {
		if req.Title != "" || req.Published != nil || req.Language != "" {
			return platform.Invalid("text", "title, published and language go with text; to fetch a page send only url")
		}
		if !indexing.IsURL(req.URL) {
			return platform.Invalid("url", "url must be an http(s) URL to fetch, or send text with it")
		}
		res, err = d.Index.AddURL(r.Context(), req.URL)
	} else {
		res, err = d.Index.AddText(r.Context(), indexing.Text{URL: req.URL, Title: req.Title, Text: req.Text,
			Published: req.Published, Language: req.Language})
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Status == indexing.StatusAdded {
		status = http.StatusCreated
	}
	httpjson.Encode(w, status, indexResultJSON{ID: res.ID, Object: "index_result", URL: res.URL, Title: res.Title, Status: res.Status})
	return nil
}

func (d *Deps) deleteIndexDocument(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.indexReady(p, platform.ActGroupManage); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := d.Index.Delete(r.Context(), id); err != nil {
		if platform.ErrorKind(err) == platform.KindNotFound {
			return notFound("no document %q in the index (see GET /api/v1/index/documents)", id)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Deps) getIndexStats(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.indexReady(p, platform.ActOrgRead); err != nil {
		return err
	}
	st, err := d.Index.Stats(r.Context())
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, struct {
		Object    string `json:"object"`
		Documents int    `json:"documents"`
		Passages  int    `json:"passages"`
		DiskBytes int64  `json:"disk_bytes"`
	}{"index_stats", st.Documents, st.Passages, st.DiskBytes})
	return nil
}

type indexHitJSON struct {
	Title       string     `json:"title"`
	URL         string     `json:"url"`
	Snippet     string     `json:"snippet"`
	Date        *time.Time `json:"date,omitempty"`
	LastUpdated *time.Time `json:"last_updated,omitempty"`
	Score       float64    `json:"score"`
}

func (d *Deps) searchIndex(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.indexReady(p, platform.ActOrgRead); err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		return platform.Invalid("q", "q is required: the words to search the index for")
	}
	limit, err := queryInt(r, "limit", 10, 1, 50)
	if err != nil {
		return err
	}
	rs, err := d.Index.Search(r.Context(), search.Query{Text: q, Max: limit})
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, list(rs, func(s search.Result) indexHitJSON {
		return indexHitJSON{Title: s.Title, URL: s.URL, Snippet: s.Snippet, Date: s.Date, LastUpdated: s.LastUpdated, Score: s.Score}
	}))
	return nil
}
