package fetch

import (
	"errors"
	"fmt"
)

// Errors returned by Fetch, wrapped with the URL; test with errors.Is.
var (
	ErrInvalidURL       = errors.New("invalid URL")
	ErrScheme           = errors.New("unsupported URL scheme")
	ErrPrivateAddress   = errors.New("refusing private, loopback or link-local address (set AllowPrivate to permit)")
	ErrDisallowed       = errors.New("disallowed by robots.txt")
	ErrTooLarge         = errors.New("response too large")
	ErrContentType      = errors.New("content type not allowed")
	ErrTooManyRedirects = errors.New("too many redirects")
	ErrOffHost          = errors.New("redirect leaves the host")
)

// DisallowedError reports a URL that robots.txt forbids this agent to fetch.
// It matches ErrDisallowed with errors.Is.
type DisallowedError struct {
	URL    string
	Agent  string
	Reason string // why the rules say no when it is not a plain Disallow, e.g. "robots.txt returned 503"
}

func (e *DisallowedError) Error() string {
	msg := fmt.Sprintf("fetch %s: %s for agent %q", e.URL, ErrDisallowed, e.Agent)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is reports whether target is ErrDisallowed.
func (e *DisallowedError) Is(target error) bool { return target == ErrDisallowed }

// StatusError reports a response whose status is not 2xx.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fetch %s: HTTP status %d", e.URL, e.Code)
}
