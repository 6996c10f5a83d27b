// Package keys defines the format of Tollgate's secrets (inference API keys
// and admin tokens): prefix + 43 base62 characters from crypto/rand (256
// bits) + a 6-character base62 CRC32 checksum of those 43 characters.
//
// The checksum lets the server reject a mistyped or forged secret without a
// store lookup, and lets secret scanners validate candidates offline, as
// GitHub's tokens do. It is not a MAC: anyone can compute it, so it only
// filters noise; the SHA-256 lookup is what authenticates.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// BodyLen is the number of random base62 characters: 62^43 > 2^256.
	BodyLen = 43
	// ChecksumLen is the number of base62 characters of the CRC32.
	ChecksumLen = 6
	// MaxPrefixLen bounds configurable prefixes.
	MaxPrefixLen = 16
	// DefaultKeyPrefix is Perplexity's prefix, so existing clients and secret
	// scanners recognise Tollgate keys.
	DefaultKeyPrefix = "pplx-"
	// DefaultAdminPrefix marks management-API tokens.
	DefaultAdminPrefix = "tgadm-"
)

// Parse errors. They are distinct so the API can say what is wrong with a
// presented secret without consulting the store.
var (
	ErrPrefix   = errors.New("wrong prefix")
	ErrLength   = errors.New("wrong length")
	ErrCharset  = errors.New("invalid character")
	ErrChecksum = errors.New("checksum mismatch")
)

// b62 maps a byte to its base62 value, or -1.
var b62 = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// ValidatePrefix checks a configured prefix: 1–16 characters of [a-z0-9],
// ending in '-' or '_' so the secret's start is unambiguous.
func ValidatePrefix(p string) error {
	if len(p) < 2 || len(p) > MaxPrefixLen {
		return fmt.Errorf("prefix %q must be 2 to %d characters", p, MaxPrefixLen)
	}
	last := p[len(p)-1]
	if last != '-' && last != '_' {
		return fmt.Errorf("prefix %q must end with '-' or '_'", p)
	}
	for i := 0; i < len(p)-1; i++ {
		c := p[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("prefix %q may only hold lower-case letters and digits before its final separator", p)
		}
	}
	return nil
}

// Generate returns a new secret with the given prefix.
func Generate(prefix string) (string, error) {
	buf := make([]byte, len(prefix)+BodyLen+ChecksumLen)
	copy(buf, prefix)
	body := buf[len(prefix) : len(prefix)+BodyLen]
	var rnd [64]byte
	n := 0
	for i := 0; i < BodyLen; {
		if n == 0 {
			if _, err := rand.Read(rnd[:]); err != nil {
				return "", fmt.Errorf("keys: read random: %w", err)
			}
			n = len(rnd)
		}
		n--
		// Rejection sampling keeps every character uniform: 248 = 4×62.
		if b := rnd[n]; b < 248 {
			body[i] = alphabet[b%62]
			i++
		}
	}
	putChecksum(buf[len(prefix)+BodyLen:], crc32.ChecksumIEEE(body))
	return string(buf), nil
}

func putChecksum(dst []byte, sum uint32) {
	for i := ChecksumLen - 1; i >= 0; i-- {
		dst[i] = alphabet[sum%62]
		sum /= 62
	}
}

// Len returns the length of a secret with the given prefix.
func Len(prefix string) int { return len(prefix) + BodyLen + ChecksumLen }

// Parse checks that s is a well-formed secret with the given prefix and a
// correct checksum. It does not allocate.
func Parse(s, prefix string) error {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return ErrPrefix
	}
	if len(s) != Len(prefix) {
		return ErrLength
	}
	body := s[len(prefix) : len(prefix)+BodyLen]
	for i := len(prefix); i < len(s); i++ {
		if b62[s[i]] < 0 {
			return ErrCharset
		}
	}
	var want uint32
	for i := len(prefix) + BodyLen; i < len(s); i++ {
		want = want*62 + uint32(b62[s[i]])
	}
	if crc32.Update(0, crc32.IEEETable, stringBytes(body)) != want {
		return ErrChecksum
	}
	return nil
}

// Hash returns the SHA-256 of the whole secret, the only form ever stored.
func Hash(s string) [32]byte { return sha256.Sum256(stringBytes(s)) }

// Hint returns the display form of a secret: prefix, an ellipsis and the last
// four characters, e.g. "pplx-…a1b2".
func Hint(s, prefix string) string {
	if len(s) < len(prefix)+4 {
		return prefix + "…"
	}
	return prefix + "…" + s[len(s)-4:]
}
