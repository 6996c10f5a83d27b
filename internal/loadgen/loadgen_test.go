package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url string, stream bool) *Post {
	t.Helper()
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	if stream {
		body = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
	}
	return &Post{Client: NewClient(5 * time.Second), URL: url + "/v1/chat/completions",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body), Stream: stream}
}

func TestUpstreamSpeaksOpenAI(t *testing.T) {
	up := NewUpstream()
	srv := httptest.NewServer(up)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || got.Object != "chat.completion" || len(got.Choices) != 1 ||
		len(strings.Fields(got.Choices[0].Message.Content)) != 12 || got.Usage.CompletionTokens != 12 {
		t.Fatalf("completion = %+v, %v", got, err)
	}

	resp, err = http.Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var datas []string
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		datas = append(datas, d)
		var c struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if d != "[DONE]" {
			if err := json.Unmarshal([]byte(d), &c); err != nil {
				t.Fatalf("event %q: %v", d, err)
			}
			if len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
	}
	// role, 12 words, finish, usage, [DONE]
	if len(datas) != 16 || datas[15] != "[DONE]" || !strings.Contains(datas[14], `"usage"`) ||
		text.String() != got.Choices[0].Message.Content {
		t.Fatalf("stream = %q (text %q)", datas, text.String())
	}
	if up.Served() != 2 {
		t.Fatalf("served = %d, want 2", up.Served())
	}
}

func TestOpenLoopKeepsTheSchedule(t *testing.T) {
	srv := httptest.NewServer(NewUpstream())
	defer srv.Close()
	for _, stream := range []bool{false, true} {
		// Room for every request at once: a loaded CI machine answering slowly
		// must not turn into drops; drops have their own test below.
		r := OpenLoop(context.Background(), 400, 250*time.Millisecond, 100, post(t, srv.URL, stream).Shot)
		s := Summarize(r)
		if s.Requests != 100 || s.OK != 100 || s.Errors != 0 || s.Dropped != 0 {
			t.Fatalf("stream %v: %+v", stream, s)
		}
		if r.Elapsed < 250*time.Millisecond || s.RPS > 400.5 || s.SendLag == nil || s.Latency.P50 <= 0 || s.FirstByte.P99 > s.Latency.Max {
			t.Fatalf("stream %v: elapsed %v, summary %+v", stream, r.Elapsed, s)
		}
	}
}

func TestOpenLoopCountsFailuresAndDrops(t *testing.T) {
	release := make(chan struct{})
	block := func(ctx context.Context) (time.Time, error) {
		<-release
		return time.Time{}, errors.New("refused")
	}
	go func() { time.Sleep(time.Second); close(release) }() // long after the last is due
	// 20 due in 100ms, at most 5 outstanding: 15 dropped, 5 failed.
	s := Summarize(OpenLoop(context.Background(), 200, 100*time.Millisecond, 5, block))
	if s.Requests != 20 || s.Dropped != 15 || s.Errors != 5 || s.OK != 0 || s.FirstError != "refused" {
		t.Fatalf("summary = %+v", s)
	}
}

func TestClosedLoopFindsThroughput(t *testing.T) {
	srv := httptest.NewServer(NewUpstream())
	defer srv.Close()
	bad := post(t, srv.URL, false)
	bad.URL = srv.URL + "/nowhere"
	for _, tc := range []struct {
		name     string
		p        *Post
		ok, errs bool
	}{{"ok", post(t, srv.URL, false), true, false}, {"404", bad, false, true}} {
		s := Summarize(ClosedLoop(context.Background(), 4, 100*time.Millisecond, tc.p.Shot))
		if (s.OK > 0) != tc.ok || (s.Errors > 0) != tc.errs || (tc.ok && s.RPS <= 0) {
			t.Fatalf("%s: %+v", tc.name, s)
		}
		if tc.errs && s.FirstError != "HTTP 404" {
			t.Fatalf("%s: first error %q", tc.name, s.FirstError)
		}
	}
}

func TestStreamMustEnd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {}\n\n"))
	}))
	defer srv.Close()
	if _, err := post(t, srv.URL, true).Shot(context.Background()); err == nil {
		t.Fatal("a stream without data: [DONE] passed")
	}
}

func TestKeepTail(t *testing.T) {
	var tail [64]byte
	n := 0
	var all []byte
	for _, chunk := range []string{"data: a\n\n", strings.Repeat("x", 70), "da", "ta: [DO", "NE]\n\n"} {
		n = keepTail(&tail, n, []byte(chunk))
		all = append(all, chunk...)
		if want := all[max(0, len(all)-64):]; !bytes.Equal(tail[:n], want) {
			t.Fatalf("tail = %q, want %q", tail[:n], want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(d)
	if want := (Percentiles{P50: 50, P90: 90, P99: 99, Max: 100}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := Compare(Summary{CPUPerRequest: 80, RPS: 50, Latency: got}, Summary{CPUPerRequest: 30, RPS: 100}); got.CPUPerRequest != 50 || got.RPSRatio != 0.5 || got.P99 != 99 {
		t.Fatalf("compare = %+v", got)
	}
}
