package storetest

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store"
)

var sessionTests = []test{
	{"CreateByHash", testSessionCreateByHash},
	{"Touch", testSessionTouch},
	{"End", testSessionEnd},
	{"Purge", testSessionPurge},
	{"UserMemberships", testUserMemberships},
	{"LoginAttempts", testLoginAttempts},
	{"LoginAttemptsAllOrNothing", testLoginAttemptsAllOrNothing},
	{"LoginAttemptsRefundClearPurge", testLoginAttemptsRefundClearPurge},
	{"LoginAttemptsConcurrent", testLoginAttemptsConcurrent},
}

// sessions returns the store's SessionStore; every backend must offer it.
func (e *env) sessions() store.SessionStore {
	e.t.Helper()
	ss, ok := e.s.(store.SessionStore)
	if !ok {
		e.t.Fatalf("%T does not implement store.SessionStore", e.s)
	}
	return ss
}

// newSession returns a session of u in orgID, created now, that is not
// stored yet.
func (e *env) newSession(orgID string, u *platform.User) *store.Session {
	now := e.clock.Now()
	return &store.Session{
		ID:         platform.NewID("ses_"),
		SecretHash: randomHash(),
		UserID:     u.ID,
		OrgID:      orgID,
		CSRFToken:  rand.Text(),
		SourceIP:   alice.SourceIP,
		CreatedAt:  now,
		ExpiresAt:  now.Add(12 * time.Hour),
		LastSeenAt: now,
	}
}

// session stores a new session.
func (e *env) session(orgID string, u *platform.User) *store.Session {
	e.t.Helper()
	s := e.newSession(orgID, u)
	if err := e.sessions().CreateSession(e.ctx, s, alice); err != nil {
		e.t.Fatalf("CreateSession: %v", err)
	}
	return s
}

// getSession reads a session that must exist.
func (e *env) getSession(hash []byte) *store.Session {
	e.t.Helper()
	s, err := e.sessions().SessionByHash(e.ctx, hash)
	if err != nil {
		e.t.Fatalf("SessionByHash: %v", err)
	}
	return s
}

func testSessionCreateByHash(t *testing.T, e *env) {
	acme := e.org("Acme")
	u := e.user("ada@example.com")
	e.member(acme.ID, u, platform.RoleAdmin)
	s := e.session(acme.ID, u)

	checkEqual(t, "SessionByHash", e.getSession(s.SecretHash), s)
	_, err := e.sessions().SessionByHash(e.ctx, randomHash())
	wantNotFound(t, "SessionByHash of an unknown hash", err)

	dup := e.newSession(acme.ID, u)
	dup.SecretHash = s.SecretHash
	wantDuplicate(t, "CreateSession with another session's hash", e.sessions().CreateSession(e.ctx, dup, alice))

	evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditSessionCreated})
	if len(evs) != 1 {
		t.Fatalf("session.created events = %d, want 1: %s", len(evs), show(evs))
	}
	checkEvent(t, evs[0], wantEvent{OrgID: acme.ID, Actor: alice, Action: platform.AuditSessionCreated,
		TargetType: "session", TargetID: s.ID, At: start})
}

func testSessionTouch(t *testing.T, e *env) {
	acme := e.org("Acme")
	u := e.user("ada@example.com")
	e.member(acme.ID, u, platform.RoleAdmin)
	s := e.session(acme.ID, u)

	tests := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"forward", start.Add(time.Hour), start.Add(time.Hour)},
		{"backwards is ignored", start.Add(time.Minute), start.Add(time.Hour)},
		{"forward again", start.Add(2 * time.Hour), start.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.sessions().TouchSession(e.ctx, s.ID, tt.at); err != nil {
				t.Fatalf("TouchSession: %v", err)
			}
			if got := e.getSession(s.SecretHash).LastSeenAt; !got.Equal(tt.want) {
				t.Fatalf("LastSeenAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func testSessionEnd(t *testing.T, e *env) {
	acme := e.org("Acme")
	u := e.user("ada@example.com")
	e.member(acme.ID, u, platform.RoleAdmin)
	s := e.session(acme.ID, u)
	ss := e.sessions()

	end := e.clock.Advance(time.Hour)
	for range 2 { // the second end changes nothing
		if err := ss.EndSession(e.ctx, s.ID, end, "sign_out", alice); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
	}
	if err := ss.EndSession(e.ctx, s.ID, end.Add(time.Hour), "sign_out", alice); err != nil {
		t.Fatalf("EndSession of an ended session: %v", err)
	}
	want := *s
	want.RevokedAt, want.ExpiresAt = &end, end
	checkEqual(t, "the ended session", e.getSession(s.SecretHash), &want)

	evs := e.audit(acme.ID, platform.AuditFilter{Action: platform.AuditSessionEnded})
	if len(evs) != 1 {
		t.Fatalf("session.ended events = %d, want 1: %s", len(evs), show(evs))
	}
	checkEvent(t, evs[0], wantEvent{OrgID: acme.ID, Actor: alice, Action: platform.AuditSessionEnded,
		TargetType: "session", TargetID: s.ID, At: end, Details: map[string]string{"reason": "sign_out"}})

	wantNotFound(t, "EndSession of an unknown session", ss.EndSession(e.ctx, "ses_nope", end, "sign_out", alice))
}

func testSessionPurge(t *testing.T, e *env) {
	acme := e.org("Acme")
	u := e.user("ada@example.com")
	e.member(acme.ID, u, platform.RoleAdmin)
	ss := e.sessions()

	// Four sessions that died at start+1h…start+4h, one ended early, one alive.
	var dead []*store.Session
	for i := range 4 {
		s := e.newSession(acme.ID, u)
		s.ExpiresAt = start.Add(time.Duration(i+1) * time.Hour)
		if err := ss.CreateSession(e.ctx, s, alice); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		dead = append(dead, s)
	}
	ended := e.session(acme.ID, u)
	if err := ss.EndSession(e.ctx, ended.ID, start.Add(30*time.Minute), "sign_out", alice); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	alive := e.session(acme.ID, u)

	tests := []struct {
		name   string
		before time.Time
		limit  int
		want   int
	}{
		{"bounded by limit", start.Add(10 * time.Hour), 2, 2}, // the ended one and the first dead
		{"nothing old enough", start.Add(time.Hour), 100, 0},  // the next one died at 2h
		{"the rest of the dead", start.Add(10 * time.Hour), 100, 3},
		{"nothing left", start.Add(10 * time.Hour), 100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ss.PurgeSessions(e.ctx, tt.before, tt.limit)
			if err != nil {
				t.Fatalf("PurgeSessions: %v", err)
			}
			if got != tt.want {
				t.Fatalf("PurgeSessions(%v, %d) = %d, want %d", tt.before, tt.limit, got, tt.want)
			}
		})
	}
	for _, s := range append(dead, ended) {
		_, err := ss.SessionByHash(e.ctx, s.SecretHash)
		wantNotFound(t, "SessionByHash of a purged session", err)
	}
	e.getSession(alive.SecretHash)
}

func testUserMemberships(t *testing.T, e *env) {
	acme := e.org("Acme")
	globex := e.org("Globex")
	initech := e.org("Initech")
	u := e.user("ada@example.com")
	other := e.user("bob@example.com")
	mGlobex := e.member(globex.ID, u, platform.RoleViewer)
	e.clock.Advance(time.Second)
	mAcme := e.member(acme.ID, u, platform.RoleOwner)
	e.member(initech.ID, other, platform.RoleOwner)

	tests := []struct {
		name   string
		userID string
		want   []*platform.Membership
	}{
		{"oldest first", u.ID, []*platform.Membership{mGlobex, mAcme}},
		{"no membership", "usr_nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.sessions().UserMemberships(e.ctx, tt.userID)
			if err != nil {
				t.Fatalf("UserMemberships: %v", err)
			}
			checkEqual(t, "UserMemberships", got, tt.want)
		})
	}
}

// take counts an attempt and returns its retryAt (zero: admitted).
func (e *env) take(keys [][]byte, at time.Time, window time.Duration, maxAttempts int) time.Time {
	e.t.Helper()
	r, err := e.sessions().TakeLoginAttempt(e.ctx, keys, at, window, maxAttempts)
	if err != nil {
		e.t.Fatalf("TakeLoginAttempt: %v", err)
	}
	return r
}

func testLoginAttempts(t *testing.T, e *env) {
	const window = 15 * time.Minute
	key := randomHash()
	steps := []struct {
		name string
		at   time.Duration // after start
		want time.Duration // retryAt after start; 0: admitted
	}{
		{"1st", 0, 0},
		{"2nd", time.Minute, 0},
		{"3rd", 2 * time.Minute, 0},
		{"4th refused", 3 * time.Minute, window},
		{"still refused at the window's end", window - time.Microsecond, window},
		{"a new window opens", window, 0},
		{"2nd of the new window", window + time.Minute, 0},
		{"3rd of the new window", window + 2*time.Minute, 0},
		{"refused until the new window ends", window + 3*time.Minute, 2 * window},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got := e.take([][]byte{key}, start.Add(st.at), window, 3)
			var want time.Time
			if st.want != 0 {
				want = start.Add(st.want)
			}
			if !got.Equal(want) {
				t.Fatalf("retryAt = %v, want %v", got, want)
			}
		})
	}
}

func testLoginAttemptsAllOrNothing(t *testing.T, e *env) {
	const window = time.Hour
	email, ip := randomHash(), randomHash()
	for i := range 2 {
		if r := e.take([][]byte{ip}, start.Add(time.Duration(i)*time.Minute), window, 2); !r.IsZero() {
			t.Fatalf("attempt %d on ip refused until %v", i, r)
		}
	}
	// ip is full: an attempt on both keys is refused, and email not charged.
	for range 3 {
		if r := e.take([][]byte{email, ip}, start.Add(5*time.Minute), window, 2); !r.Equal(start.Add(window)) {
			t.Fatalf("attempt on email and ip: retryAt %v, want %v", r, start.Add(window))
		}
	}
	for i := range 2 {
		if r := e.take([][]byte{email}, start.Add(6*time.Minute), window, 2); !r.IsZero() {
			t.Fatalf("attempt %d on email alone refused until %v: the refused attempts were charged to it", i, r)
		}
	}
	// Both full: retryAt is the later of the two windows' ends.
	if r := e.take([][]byte{ip, email}, start.Add(7*time.Minute), window, 2); !r.Equal(start.Add(6*time.Minute + window)) {
		t.Fatalf("both full: retryAt %v, want %v", r, start.Add(6*time.Minute+window))
	}
}

func testLoginAttemptsRefundClearPurge(t *testing.T, e *env) {
	const window = time.Hour
	ss := e.sessions()
	a, b := randomHash(), randomHash()
	for range 2 {
		e.take([][]byte{a, b}, start, window, 2)
	}
	if r := e.take([][]byte{a}, start, window, 2); r.IsZero() {
		t.Fatal("a third attempt on a was admitted")
	}
	if err := ss.RefundLoginAttempt(e.ctx, a); err != nil {
		t.Fatalf("RefundLoginAttempt: %v", err)
	}
	if r := e.take([][]byte{a}, start, window, 2); !r.IsZero() {
		t.Fatalf("after a refund, an attempt on a was refused until %v", r)
	}
	if err := ss.ClearLoginAttempts(e.ctx, b); err != nil {
		t.Fatalf("ClearLoginAttempts: %v", err)
	}
	for i := range 2 {
		if r := e.take([][]byte{b}, start.Add(time.Minute), window, 2); !r.IsZero() {
			t.Fatalf("after clearing, attempt %d on b refused until %v", i, r)
		}
	}

	// a's window opened at start, b's at start+1m.
	n, err := ss.PurgeLoginAttempts(e.ctx, start.Add(time.Second), 100)
	if err != nil || n != 1 {
		t.Fatalf("PurgeLoginAttempts = %d, %v; want 1 (a's window)", n, err)
	}
	if r := e.take([][]byte{a}, start.Add(2*time.Minute), window, 2); !r.IsZero() {
		t.Fatalf("after the purge, an attempt on a was refused until %v", r)
	}
	if r := e.take([][]byte{b}, start.Add(2*time.Minute), window, 2); r.IsZero() {
		t.Fatal("the purge forgot b, whose window had not ended")
	}
}

func testLoginAttemptsConcurrent(t *testing.T, e *env) {
	const (
		n           = 30
		maxAttempts = 5
	)
	for round := range rounds {
		email, ip := randomHash(), randomHash()
		admitted := make([]bool, n)
		errs := make([]error, n)
		var fns []func()
		for i := range n {
			fns = append(fns, func() {
				// Half list the keys the other way round: no deadlock either way.
				keys := [][]byte{email, ip}
				if i%2 == 1 {
					keys = [][]byte{ip, email}
				}
				var r time.Time
				r, errs[i] = e.sessions().TakeLoginAttempt(e.ctx, keys, start, time.Hour, maxAttempts)
				admitted[i] = errs[i] == nil && r.IsZero()
			})
		}
		race(fns...)
		got := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: TakeLoginAttempt: %v", round, errs[i])
			}
			if admitted[i] {
				got++
			}
		}
		if got != maxAttempts {
			t.Fatalf("round %d: %d of %d concurrent attempts admitted, want exactly %d", round, got, n, maxAttempts)
		}
	}
}
