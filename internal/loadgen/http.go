package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Post is a request to send again and again: a JSON POST whose answer must
// be a 200 and, when Stream is set, a server-sent event stream ending in
// "data: [DONE]".
type Post struct {
	Client *http.Client
	URL    string
	// Header is shared by every request and must not change once shooting
	// starts.
	Header http.Header
	Body   []byte
	Stream bool
}

// NewClient is an HTTP/1.1 client for loopback load: enough idle
// connections that none churn, no compression, no proxy, and a timeout
// that bounds every request.
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

var done = []byte("data: [DONE]")

// Shot sends the request once.
func (p *Post) Shot(ctx context.Context) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(p.Body))
	if err != nil {
		return time.Time{}, err
	}
	req.Header = p.Header
	resp, err := p.Client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	var (
		first time.Time
		total int
		tail  [64]byte // the last bytes read, to find the stream's terminator
		tn    int
	)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if total == 0 {
				first = time.Now()
			}
			total += n
			if p.Stream {
				tn = keepTail(&tail, tn, buf[:n])
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return time.Time{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	case total == 0:
		return time.Time{}, errors.New("empty response body")
	case p.Stream && !bytes.Contains(tail[:tn], done):
		return time.Time{}, errors.New("stream did not end with data: [DONE]")
	}
	return first, nil
}

// keepTail appends b to the tn bytes held in tail, keeping the last
// len(tail), and returns how many it holds.
func keepTail(tail *[64]byte, tn int, b []byte) int {
	if len(b) >= len(tail) {
		return copy(tail[:], b[len(b)-len(tail):])
	}
	keep := min(tn, len(tail)-len(b))
	copy(tail[:keep], tail[tn-keep:tn])
	return keep + copy(tail[keep:], b)
}
