package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzSSEStream feeds arbitrary upstream stream bodies to the SSE parser:
// whatever an upstream sends, Recv must end with io.EOF or an *Error, never
// a panic or an endless loop.
func FuzzSSEStream(f *testing.F) {
	for _, s := range []string{
		"data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n",
		"event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n",
		": keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
		"data: not json\n\n", "data:\n\n", "garbage", "",
		"data: {\"choices\":[{\"delta\":{\"content\":null},\"finish_reason\":null}],\"citations\":[\"u\"]}\n",
	} {
		f.Add(s)
	}
	o := NewOpenAI(OpenAIConfig{Name: "fuzz"})
	f.Fuzz(func(t *testing.T, body string) {
		sc := bufio.NewScanner(strings.NewReader(body))
		sc.Buffer(make([]byte, 4096), 1<<20)
		s := &sseStream{ctx: context.Background(), o: o, body: io.NopCloser(strings.NewReader("")), sc: sc}
		for i := 0; ; i++ {
			if i > len(body)+2 {
				t.Fatalf("Recv did not end on %q", body)
			}
			_, err := s.Recv()
			if err == nil {
				continue
			}
			if err == io.EOF {
				return
			}
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("Recv error %v is not an *Error", err)
			}
			return
		}
	})
}
