package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/password"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

var (
	// errBadLogin is the one answer to a wrong email or a wrong password.
	errBadLogin = platform.Errorf(platform.KindUnauthenticated, "invalid email or password")
	// errNoSession is the one answer to a cookie that signs nobody in.
	errNoSession = platform.Errorf(platform.KindUnauthenticated, "your session has ended; sign in again")
	// errNoOrg is for a right password whose user belongs to no organization.
	errNoOrg = platform.Errorf(platform.KindForbidden,
		"your account is not a member of any organization; ask an owner to invite you")
)

// Reasons recorded when a session ends.
const (
	reasonSignOut    = "sign_out"
	reasonMemberGone = "membership_removed"
)

const (
	// touchEvery is how stale LastSeenAt may get before Resolve writes it.
	touchEvery = time.Minute
	// systemActorSource marks the changes the service makes on its own.
	systemActorSource = "session"
)

// Login checks email and password and starts a session in the user's
// oldest organization. It returns the session's secret, once. A wrong email
// or password is unauthenticated, too many attempts rate_limited (with
// RetryAfter), and a right password whose user belongs to no organization
// forbidden.
func (s *Service) Login(ctx context.Context, email, pw, clientIP string) (string, *Session, error) {
	now := s.now()
	if err := s.maybePurge(ctx, now); err != nil {
		return "", nil, err
	}
	addr, valid := normalizeEmail(email)
	keys := throttleKeys(addr, clientIP)
	if err := s.takeAttempt(ctx, keys, now); err != nil {
		return "", nil, err
	}
	var u *platform.User
	if valid {
		var err error
		if u, err = s.st.GetUserByEmail(ctx, addr); err != nil && platform.ErrorKind(err) != platform.KindNotFound {
			return "", nil, fmt.Errorf("sign in: %w", err)
		}
	}
	if err := s.checkPassword(u, pw); err != nil {
		return "", nil, err // the attempt stays counted
	}
	if err := s.succeeded(ctx, keys); err != nil {
		return "", nil, err
	}
	ms, err := s.st.UserMemberships(ctx, u.ID)
	if err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	if len(ms) == 0 {
		return "", nil, errNoOrg
	}
	secret, rec := s.newSession(ms[0], clientIP, now)
	if err := s.st.CreateSession(ctx, rec, signedIn(rec)); err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	return secret, fromRecord(rec, ms[0]), nil
}

// checkPassword checks pw against u's password. With no user or no
// password it checks against a dummy hash and fails, so that every failure
// costs the same argon2id work and reads the same.
func (s *Service) checkPassword(u *platform.User, pw string) error {
	if u == nil || u.PasswordHash == "" {
		dummy, err := s.dummy()
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		_ = password.Check(dummy, pw)
		return errBadLogin
	}
	if err := password.Check(u.PasswordHash, pw); err != nil {
		if errors.Is(err, password.ErrMismatch) {
			return errBadLogin
		}
		// A stored hash we cannot read: the user sees the usual answer,
		// the log (through Err) the cause.
		return &platform.Error{Kind: platform.KindUnauthenticated, Message: errBadLogin.Message,
			Err: fmt.Errorf("user %s: %w", u.ID, err)}
	}
	return nil
}

// normalizeEmail returns the address as stored, and whether it is valid.
// An invalid one is still throttled, in the form the user typed.
func normalizeEmail(email string) (string, bool) {
	if e, err := platform.NormalizeEmail(email); err == nil {
		return e, true
	}
	return strings.ToLower(strings.TrimSpace(email)), false
}

// attemptKeys are the throttling keys of one sign-in: its email and, when
// known, its client network.
type attemptKeys struct {
	email, network []byte
}

func (k attemptKeys) all() [][]byte {
	if k.network == nil {
		return [][]byte{k.email}
	}
	return [][]byte{k.email, k.network}
}

// throttleKeys hashes the email and the client's network: the store never
// holds what someone typed (a password pasted in the email field, say).
// IPv6 clients are counted per /64, what one host usually has to itself.
func throttleKeys(email, clientIP string) attemptKeys {
	k := attemptKeys{email: keyHash("email", email)}
	if clientIP == "" {
		return k
	}
	network := clientIP
	if ap, err := netip.ParseAddrPort(clientIP); err == nil {
		network = ap.Addr().Unmap().String()
	}
	if a, err := netip.ParseAddr(network); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.Prefix(64) // never fails for an IPv6 address
			network = p.String()
		} else {
			network = a.String()
		}
	}
	k.network = keyHash("network", network)
	return k
}

func keyHash(kind, value string) []byte {
	h := sha256.Sum256([]byte("tollgate sign-in " + kind + "\x00" + value))
	return h[:]
}

// takeAttempt counts a sign-in attempt before the password is checked, so
// concurrent guesses cannot all slip under the limit.
func (s *Service) takeAttempt(ctx context.Context, k attemptKeys, now time.Time) error {
	retryAt, err := s.st.TakeLoginAttempt(ctx, k.all(), now, s.cfg.Window, s.cfg.MaxAttempts)
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if retryAt.IsZero() {
		return nil
	}
	wait := retryAt.Sub(now)
	return &platform.Error{Kind: platform.KindRateLimited, RetryAfter: wait,
		Message: "too many failed sign-ins; try again in " + humanWait(wait)}
}

// succeeded takes back the attempt of a sign-in that worked: the email's
// count starts over (its owner proved who they are), the network's loses
// this one attempt (others there may still be guessing).
func (s *Service) succeeded(ctx context.Context, k attemptKeys) error {
	if err := s.st.ClearLoginAttempts(ctx, k.email); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if k.network != nil {
		if err := s.st.RefundLoginAttempt(ctx, k.network); err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
	}
	return nil
}

// humanWait says a wait the way a person reads it, rounded up.
func humanWait(d time.Duration) string {
	if d <= time.Minute {
		n := max(int((d+time.Second-1)/time.Second), 1)
		return plural(n, "second")
	}
	return plural(int((d+time.Minute-1)/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// signedIn is the user of a new session, from where they signed in.
func signedIn(r *store.Session) platform.Actor {
	return platform.Actor{Type: platform.ActorUser, ID: r.UserID, SourceIP: r.SourceIP}
}

// newSession builds a session of m's user in m's organization.
func (s *Service) newSession(m *platform.Membership, clientIP string, now time.Time) (string, *store.Session) {
	secret, hash := newSecret(secretPrefix)
	return secret, &store.Session{
		ID:         platform.NewID(prefixSession),
		SecretHash: hash,
		UserID:     m.UserID,
		OrgID:      m.OrgID,
		CSRFToken:  randomText(),
		SourceIP:   clientIP,
		CreatedAt:  now,
		ExpiresAt:  now.Add(s.cfg.TTL),
		LastSeenAt: now,
	}
}

func fromRecord(r *store.Session, m *platform.Membership) *Session {
	return &Session{
		ID: r.ID, UserID: r.UserID, OrgID: r.OrgID, Email: m.Email, Name: m.Name, Role: m.Role,
		CSRFToken: r.CSRFToken, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastSeenAt: r.LastSeenAt,
	}
}

// Resolve returns the live session of a cookie's secret, with the role the
// membership has now. Unknown, expired, idle, signed-out sessions and those
// whose membership is gone are unauthenticated.
func (s *Service) Resolve(ctx context.Context, secret string) (*Session, error) {
	hash, ok := hashSecret(secret, secretPrefix)
	if !ok {
		return nil, errNoSession
	}
	rec, err := s.st.SessionByHash(ctx, hash)
	if platform.ErrorKind(err) == platform.KindNotFound {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("resolve session: %w", err)
	}
	now := s.now()
	if rec.RevokedAt != nil || !now.Before(rec.ExpiresAt) || !now.Before(rec.LastSeenAt.Add(s.cfg.IdleTimeout)) {
		return nil, errNoSession
	}
	m, err := s.st.GetMember(ctx, rec.OrgID, rec.UserID)
	if platform.ErrorKind(err) == platform.KindNotFound {
		// End it, so that adding the user back later does not revive it.
		if err := s.st.EndSession(ctx, rec.ID, now, reasonMemberGone, platform.SystemActor(systemActorSource)); err != nil {
			return nil, fmt.Errorf("end session of a removed member: %w", err)
		}
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("resolve session: %w", err)
	}
	// A write per request would be the dashboard's main load; a minute's
	// precision is plenty for an idle timeout counted in hours.
	if now.Sub(rec.LastSeenAt) >= touchEvery {
		if err := s.st.TouchSession(ctx, rec.ID, now); err != nil {
			return nil, fmt.Errorf("resolve session: %w", err)
		}
		rec.LastSeenAt = now
	}
	return fromRecord(rec, m), nil
}

// Logout ends the session of secret. A secret that signs nobody in is
// already signed out, which is not an error.
func (s *Service) Logout(ctx context.Context, secret string) error {
	hash, ok := hashSecret(secret, secretPrefix)
	if !ok {
		return nil
	}
	rec, err := s.st.SessionByHash(ctx, hash)
	if platform.ErrorKind(err) == platform.KindNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	if rec.RevokedAt != nil {
		return nil
	}
	by := platform.Actor{Type: platform.ActorUser, ID: rec.UserID}
	if err := s.st.EndSession(ctx, rec.ID, s.now(), reasonSignOut, by); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}
