// Package password hashes and checks user passwords with argon2id, stored as
// PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so parameters can be
// raised later without invalidating old hashes.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters follow OWASP's argon2id recommendation (19 MiB, 2 passes).
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
	// MinLength is the shortest password accepted.
	MinLength = 12
)

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("password does not match")

// Hash returns the PHC-encoded argon2id hash of pw.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum := argon2.IDKey([]byte(pw), salt, passes, memoryKiB, lanes, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// Check compares pw with a PHC hash in constant time.
func Check(hash, pw string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return fmt.Errorf("password: unsupported hash format")
	}
	var (
		version    int
		mem, t     uint32
		p          uint8
		enc        = base64.RawStdEncoding
		salt, want []byte
		err1, err2 error
	)
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return fmt.Errorf("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return fmt.Errorf("password: bad parameters: %w", err)
	}
	salt, err1 = enc.DecodeString(parts[4])
	want, err2 = enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return fmt.Errorf("password: bad encoding")
	}
	got := argon2.IDKey([]byte(pw), salt, t, mem, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// Generate returns a random password for bootstrap and resets: 24 base32
// characters (120 bits), easy to copy from a terminal.
func Generate() string { return strings.ToLower(rand.Text()[:24]) }
