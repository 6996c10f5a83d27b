// Package fetch retrieves web pages politely and within bounds: a clear user
// agent, robots.txt, global and per-host concurrency limits, a timeout, a body
// size cap, a content-type allow list, a redirect cap and, by default, no
// requests to private or loopback addresses.
//
// It is used by web search (fetching result pages for extraction) and by the
// local index crawler; it knows nothing about either.
package fetch

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to zero-valued Options fields.
const (
	DefaultUserAgent    = "TollgateBot/1.0 (+https://github.com/tollgate-dev/tollgate)"
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBytes     = 5 << 20
	DefaultMaxRedirects = 5
	DefaultConcurrency  = 8
	DefaultPerHost      = 2
	DefaultRobotsTTL    = time.Hour
)

// DefaultAllowedTypes are the media types Fetch accepts when Options.AllowedTypes is empty.
var DefaultAllowedTypes = []string{"text/html", "text/plain", "text/markdown", "application/xhtml+xml"}

// Options configures a Fetcher. The zero value is a production configuration:
// every zero field takes its default.
type Options struct {
	// UserAgent is sent with every request and matched against robots.txt groups
	// by its product token (the part before the first "/").
	UserAgent string
	// Timeout bounds one Fetch, including robots.txt, redirects and reading the body.
	Timeout time.Duration
	// MaxBytes caps the (decompressed) body; larger bodies fail with ErrTooLarge.
	MaxBytes int64
	// MaxRedirects caps redirects per Fetch; negative means none are followed.
	MaxRedirects int
	// Concurrency caps requests in flight across all hosts; PerHost caps them per host.
	Concurrency int
	PerHost     int
	// AllowedTypes lists accepted media types (parameters ignored).
	AllowedTypes []string
	// IgnoreRobots turns off robots.txt checks. It is phrased negatively so that
	// the zero value respects robots.txt.
	IgnoreRobots bool
	// RobotsTTL is how long a host's robots.txt is cached.
	RobotsTTL time.Duration
	// AllowPrivate permits connections to loopback, private, link-local and
	// unspecified addresses. Off by default so that a URL from a search result
	// cannot reach services inside the operator's network; tests turn it on.
	AllowPrivate bool
	// HTTPClient, when set, is used instead of the built-in client. Its
	// CheckRedirect is replaced (on a copy); its Transport is responsible for
	// refusing private addresses, because the check lives in the built-in dialer.
	HTTPClient *http.Client
}

// Page is a fetched document.
type Page struct {
	URL          string // final URL, after redirects
	Status       int
	ContentType  string // media type without parameters, e.g. "text/html"
	Charset      string // charset parameter of Content-Type, if any
	Body         []byte
	Fetched      time.Time
	LastModified *time.Time
	// Partial is set when a Prefix fetch stopped before the end of the body.
	Partial bool
}

// Fetcher fetches pages. It is safe for concurrent use.
type Fetcher struct {
	opts    Options
	client  *http.Client
	allowed map[string]bool
	agent   string // robots.txt product token
	global  chan struct{}
	robots  *robotsCache

	mu    sync.Mutex
	hosts map[string]*hostSlot
}

type hostSlot struct {
	sem  chan struct{}
	refs int
}

// New returns a Fetcher with opts, defaults filled in.
func New(opts Options) *Fetcher {
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	if len(opts.AllowedTypes) == 0 {
		opts.AllowedTypes = DefaultAllowedTypes
	}
	if opts.RobotsTTL <= 0 {
		opts.RobotsTTL = DefaultRobotsTTL
	}
	f := &Fetcher{
		opts:    opts,
		allowed: make(map[string]bool, len(opts.AllowedTypes)),
		agent:   productToken(opts.UserAgent),
		global:  make(chan struct{}, opts.Concurrency),
		hosts:   make(map[string]*hostSlot),
	}
	for _, t := range opts.AllowedTypes {
		f.allowed[strings.ToLower(strings.TrimSpace(t))] = true
	}
	var c http.Client
	if opts.HTTPClient != nil {
		c = *opts.HTTPClient
	} else {
		c.Transport = newTransport(opts.AllowPrivate)
	}
	c.CheckRedirect = f.checkRedirect
	f.client = &c
	f.robots = newRobotsCache(f, opts.RobotsTTL)
	return f
}

func newTransport(allowPrivate bool) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		// Checking the address being dialled, not the name in the URL, also
		// covers DNS names that resolve to private addresses and redirects.
		d.Control = refusePrivate
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // a proxy would dial on our behalf and bypass the address check
	t.DialContext = d.DialContext
	t.MaxIdleConnsPerHost = DefaultPerHost
	return t
}

// callKey carries per-call settings to checkRedirect through the request context.
type callKey struct{}

type call struct {
	sameHost   string // non-empty: redirects must stay on this host
	skipRobots bool   // robots.txt requests themselves
	prefix     int64  // > 0: read only the first prefix bytes of the body
}

// A CallOption adjusts one Fetch.
type CallOption func(*call)

// SameHost makes Fetch refuse, with ErrOffHost, a redirect that leaves the
// host of the requested URL. The crawler uses it so that it never leaves a site.
func SameHost() CallOption {
	return func(c *call) { c.sameHost = "*" }
}

// Prefix makes Fetch read only the first n bytes of the body (asking for
// no more with a Range header) and return them, with Page.Partial set when
// the body went on, instead of failing a larger body with ErrTooLarge. It
// is for reading a file's header, such as an image's dimensions.
func Prefix(n int64) CallOption {
	return func(c *call) { c.prefix = n }
}

// Fetch retrieves rawURL. It returns a *Page for 2xx responses of an allowed
// type within the size cap; otherwise an error that matches one of the Err…
// values (or is a *StatusError) with errors.Is / errors.As.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, opts ...CallOption) (*Page, error) {
	u, err := f.checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	c := &call{}
	for _, o := range opts {
		o(c)
	}
	if c.sameHost != "" {
		c.sameHost = HostKey(u)
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, callKey{}, c)

	if err := f.robotsAllow(ctx, u); err != nil {
		return nil, err
	}
	release, err := f.acquire(ctx, u.Host)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer release()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", f.acceptHeader())
	limit := f.opts.MaxBytes
	if c.prefix > 0 {
		limit = min(limit, c.prefix)
		// A server that ignores Range sends the whole body, of which only
		// limit bytes are read before the connection is dropped.
		req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", limit-1))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL.String()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{URL: final, Code: resp.StatusCode}
	}
	if c.prefix <= 0 && resp.ContentLength > f.opts.MaxBytes {
		return nil, fmt.Errorf("fetch %s: %w: Content-Length %d exceeds %d bytes", final, ErrTooLarge, resp.ContentLength, f.opts.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read body: %w", final, err)
	}
	partial := false
	if int64(len(body)) > limit {
		if c.prefix <= 0 {
			return nil, fmt.Errorf("fetch %s: %w: body exceeds %d bytes", final, ErrTooLarge, f.opts.MaxBytes)
		}
		body, partial = body[:limit], true
	}
	if c.prefix > 0 && resp.StatusCode == http.StatusPartialContent && int64(len(body)) == limit {
		// The server sent the range asked for; the file may go on.
		partial = true
	}
	mediaType, charset := parseContentType(resp.Header.Get("Content-Type"), body)
	if !f.allowed[mediaType] {
		return nil, fmt.Errorf("fetch %s: %w: %q", final, ErrContentType, mediaType)
	}
	p := &Page{
		URL:         final,
		Status:      resp.StatusCode,
		ContentType: mediaType,
		Charset:     charset,
		Body:        body,
		Fetched:     time.Now(),
		Partial:     partial,
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		p.LastModified = &lm
	}
	return p, nil
}

// CrawlDelay returns the Crawl-delay robots.txt asks of this fetcher's agent on
// rawURL's host (zero if none, or if robots.txt is ignored).
func (f *Fetcher) CrawlDelay(ctx context.Context, rawURL string) (time.Duration, error) {
	if f.opts.IgnoreRobots {
		return 0, nil
	}
	u, err := f.checkURL(rawURL)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	r, err := f.robots.get(ctx, u)
	if err != nil {
		return 0, err
	}
	return r.crawlDelay(f.agent), nil
}

func (f *Fetcher) checkURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w: %w", ErrInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("fetch %s: %w %q", rawURL, ErrScheme, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("fetch %s: %w: no host", rawURL, ErrInvalidURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("fetch %s: %w: credentials in URL", rawURL, ErrInvalidURL)
	}
	// Literal addresses are refused here as well as in the dialer, so that the
	// error is immediate and does not depend on the transport.
	if !f.opts.AllowPrivate && isPrivateHost(u.Hostname()) {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, ErrPrivateAddress)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	c, _ := req.Context().Value(callKey{}).(*call)
	if f.opts.MaxRedirects < 0 || len(via) > f.opts.MaxRedirects {
		return fmt.Errorf("%w (%d)", ErrTooManyRedirects, max(f.opts.MaxRedirects, 0))
	}
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("redirect to %s: %w %q", u, ErrScheme, u.Scheme)
	}
	if !f.opts.AllowPrivate && isPrivateHost(u.Hostname()) {
		return fmt.Errorf("redirect to %s: %w", u, ErrPrivateAddress)
	}
	if c == nil || c.skipRobots {
		return nil
	}
	if c.sameHost != "" && HostKey(u) != c.sameHost {
		return fmt.Errorf("redirect to %s: %w", u, ErrOffHost)
	}
	return f.robotsAllow(req.Context(), u)
}

func (f *Fetcher) robotsAllow(ctx context.Context, u *url.URL) error {
	if f.opts.IgnoreRobots {
		return nil
	}
	r, err := f.robots.get(ctx, u)
	if err != nil {
		return err
	}
	if !r.allow(f.agent, robotsPath(u)) {
		return &DisallowedError{URL: u.String(), Agent: f.agent, Reason: r.reason}
	}
	return nil
}

// acquire takes a global and a per-host slot, in that order, honouring ctx.
func (f *Fetcher) acquire(ctx context.Context, host string) (func(), error) {
	select {
	case f.global <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	s := f.hosts[host]
	if s == nil {
		s = &hostSlot{sem: make(chan struct{}, f.opts.PerHost)}
		f.hosts[host] = s
	}
	s.refs++
	f.mu.Unlock()
	done := func() {
		f.mu.Lock()
		if s.refs--; s.refs == 0 {
			delete(f.hosts, host)
		}
		f.mu.Unlock()
		<-f.global
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
	return func() { <-s.sem; done() }, nil
}

func (f *Fetcher) acceptHeader() string {
	var b strings.Builder
	for i, t := range f.opts.AllowedTypes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t)
	}
	return b.String()
}

// parseContentType returns the media type and charset of a response, sniffing
// the body when the header is missing or unparsable.
func parseContentType(header string, body []byte) (mediaType, charset string) {
	if header == "" {
		header = http.DetectContentType(body)
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		mt, params, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	return strings.ToLower(mt), params["charset"]
}

// HostKey is the comparable identity of a URL's host: lower-case host name
// plus port, with the scheme's default port dropped. Two URLs are on the same
// host when their HostKeys are equal.
func HostKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		return host
	}
	return net.JoinHostPort(host, port)
}

func productToken(ua string) string {
	tok, _, _ := strings.Cut(ua, "/")
	tok, _, _ = strings.Cut(tok, " ")
	if tok == "" {
		return ua
	}
	return tok
}

// robotsPath is what robots.txt rules are matched against: the escaped path and query.
func robotsPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}
