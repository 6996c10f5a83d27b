// Package auth turns an Authorization header into a principal: inference API
// keys through a bounded in-memory cache (the hot path), admin tokens for
// the management API. It also coalesces last-used timestamps so a busy key
// costs one write per flush interval, not one per request.
package auth

import (
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Authentication failures. Each has its own message so a caller learns what
// is wrong with the credential it holds, and nothing about any other.
var (
	ErrMissing = platform.Errorf(platform.KindUnauthenticated,
		"Missing API key. Send it in the header 'Authorization: Bearer <key>'.")
	ErrMalformedHeader = platform.Errorf(platform.KindUnauthenticated,
		"Malformed Authorization header. Expected 'Authorization: Bearer <key>'.")
	ErrMalformed = platform.Errorf(platform.KindUnauthenticated,
		"Malformed API key. Keys look like 'pplx-' followed by 49 letters and digits; check that it was copied whole.")
	ErrChecksum = platform.Errorf(platform.KindUnauthenticated,
		"Invalid API key: its checksum does not match, so it was mistyped or truncated.")
	ErrUnknown = platform.Errorf(platform.KindUnauthenticated,
		"Invalid API key. Check the key, or create a new one in your API group.")
	ErrRevoked = platform.Errorf(platform.KindUnauthenticated,
		"This API key has been revoked. Create a new key in its API group.")
	ErrExpired = platform.Errorf(platform.KindUnauthenticated,
		"This API key has expired. Use its successor or create a new key in its API group.")
	ErrGroupDisabled = platform.Errorf(platform.KindUnauthenticated,
		"This API key's API group is disabled. Ask an admin of your organization to enable it.")
)

// maxHeader bounds what we look at; real keys are far shorter.
const maxHeader = 512

// ParseBearer extracts the credential from an Authorization header value.
// The scheme is case-insensitive, as RFC 9110 says. It does not allocate.
func ParseBearer(h string) (string, error) {
	if h == "" {
		return "", ErrMissing
	}
	if len(h) > maxHeader || len(h) < 7 || !equalFoldASCII(h[:7], "bearer ") {
		return "", ErrMalformedHeader
	}
	tok := trimSpace(h[7:])
	if tok == "" {
		return "", ErrMissing
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return "", ErrMalformed
		}
	}
	return tok, nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
