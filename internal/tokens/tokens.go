// Package tokens counts tokens with a real BPE tokenizer (OpenAI's
// cl100k_base through tiktoken-go, with its vocabulary embedded in the
// binary so nothing is downloaded at run time). Tollgate counts only when an
// upstream reports no usage; the count is then marked as an estimate, since
// the upstream's own tokenizer may differ.
package tokens

import (
	"fmt"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Counter counts tokens. The vocabulary loads on first use (about 0.2 s)
// and is shared by every Counter in the process.
type Counter struct{}

// New returns a Counter.
func New() *Counter { return &Counter{} }

// The encoding is process-wide: tiktoken-go's loader setting is a package
// variable, so two Counters loading at once would race on it.
var (
	sharedOnce sync.Once
	sharedEnc  *tiktoken.Tiktoken
	sharedErr  error
)

func (c *Counter) load() error {
	sharedOnce.Do(func() {
		// The offline loader reads the embedded vocabulary instead of
		// fetching it.
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		sharedEnc, sharedErr = tiktoken.GetEncoding("cl100k_base")
		if sharedErr != nil {
			sharedErr = fmt.Errorf("load tokenizer: %w", sharedErr)
		}
	})
	return sharedErr
}

// Count returns the number of tokens in text, or a rough estimate (one
// token per four bytes) if the tokenizer cannot load.
func (c *Counter) Count(text string) int {
	if text == "" {
		return 0
	}
	if c.load() != nil {
		return (len(text) + 3) / 4
	}
	return len(sharedEnc.EncodeOrdinary(text))
}

// Message is what CountChat needs of a message.
type Message struct {
	Role, Name, Text string
}

// CountChat counts a chat prompt the way OpenAI's chat format spends
// tokens: 3 per message for its framing, 1 more for a name, and 3 to prime
// the reply.
func (c *Counter) CountChat(msgs []Message) int {
	n := 3
	for _, m := range msgs {
		n += 3 + c.Count(m.Role) + c.Count(m.Text)
		if m.Name != "" {
			n += 1 + c.Count(m.Name)
		}
	}
	return n
}
