package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// The forms whose answer reveals a secret (generate a key, rotate a key,
// create an admin token, invite a member) carry a one-time nonce, so the
// secret is shown once even when the browser resubmits: reloading the
// answer, or going back to it, posts the form again, and a nonce already
// used gets a "this was already submitted" page instead of a second key.
//
// A nonce is "random.expiry.mac", the MAC keyed by the session's CSRF token
// (a per-session secret every replica can read from the database), so any
// replica can check a nonce another one issued and no other session can use
// it. Which nonces were used is remembered in this process for their
// lifetime: behind a load balancer without sticky sessions a resubmission
// that reaches another replica could create a second secret (shown once
// too); the first one is never shown again either way.
type nonces struct {
	mu   sync.Mutex
	used map[string]time.Time // nonce → its expiry, after which it is forgotten
	now  func() time.Time
}

// nonceTTL is how long a form that reveals a secret stays usable.
const nonceTTL = 2 * time.Hour

// maxUsedNonces bounds the memory of used nonces (each is a signed-in
// member's form submission, so reaching it means abuse).
const maxUsedNonces = 200_000

var (
	errResubmitted = platform.Errorf(platform.KindConflict,
		"This form was already submitted. What it created was shown once and is never shown again: "+
			"if you did not copy the secret, revoke it and create a new one.")
	errStaleForm = platform.Errorf(platform.KindInvalid,
		"This form has expired, so nothing was created. Go back, reload the page and submit it again.")
)

func newNonces(now func() time.Time) *nonces {
	return &nonces{used: map[string]time.Time{}, now: now}
}

// issue returns a fresh nonce for a form of purpose in session s.
func (n *nonces) issue(s *Session, purpose string) string {
	body := strings.ToLower(rand.Text()) + "." + strconv.FormatInt(n.now().Add(nonceTTL).Unix(), 10)
	return body + "." + nonceMAC(s, purpose, body)
}

func nonceMAC(s *Session, purpose, body string) string {
	m := hmac.New(sha256.New, []byte(s.CSRFToken))
	m.Write([]byte("tollgate-form-nonce\x00" + purpose + "\x00" + s.ID + "\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// consume accepts nonce once: it must be one this session was given for
// purpose, not expired and not used before.
func (n *nonces) consume(s *Session, purpose, nonce string) error {
	random, rest, ok1 := strings.Cut(nonce, ".")
	exp, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || random == "" {
		return errStaleForm
	}
	want := nonceMAC(s, purpose, random+"."+exp)
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return errStaleForm
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	now := n.now()
	if err != nil || !now.Before(time.Unix(unix, 0)) {
		return errStaleForm
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, seen := n.used[nonce]; seen {
		return errResubmitted
	}
	if len(n.used) >= maxUsedNonces/2 {
		for k, e := range n.used {
			if !now.Before(e) {
				delete(n.used, k)
			}
		}
	}
	if len(n.used) >= maxUsedNonces {
		return platform.Errorf(platform.KindUnavailable, "Too many forms in flight; try again in a minute.")
	}
	n.used[nonce] = time.Unix(unix, 0)
	return nil
}
