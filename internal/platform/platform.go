package platform

import (
	"crypto/rand"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// ID prefixes: every ID is opaque, random and says what it names.
const (
	PrefixOrg        = "org_"
	PrefixUser       = "usr_"
	PrefixGroup      = "grp_"
	PrefixKey        = "key_"
	PrefixAdminToken = "adt_"
	PrefixAudit      = "aud_"
	PrefixLedgerTxn  = "ltx_"
	PrefixPrice      = "price_"
)

// NewID returns a fresh opaque ID with the given prefix (128 random bits).
func NewID(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}

// Org is an organization: the unit that owns groups, members and (later)
// billing.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Validate checks the fields a caller may set.
func (o *Org) Validate() error { return validName("name", o.Name, 100) }

// User is a person who signs in. A user belongs to organizations through
// memberships.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string // argon2id PHC string; never the password
	CreatedAt    time.Time
}

// NormalizeEmail lower-cases and trims an address and checks its syntax.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || len(e) > 254 {
		return "", Invalid("email", "%q is not a valid email address", email)
	}
	return e, nil
}

// Membership ties a user to an organization with a role.
type Membership struct {
	OrgID     string
	UserID    string
	Email     string // filled on reads, for display
	Name      string // filled on reads, for display
	Role      Role
	CreatedAt time.Time
}

// GroupStatus says whether a group's keys may be used.
type GroupStatus string

// Group statuses. A disabled group's keys are refused until it is enabled
// again; a deleted group is gone for good and its keys are revoked.
const (
	GroupActive   GroupStatus = "active"
	GroupDisabled GroupStatus = "disabled"
	GroupDeleted  GroupStatus = "deleted"
)

// Group is an API group: a workspace of keys for one application, inside an
// organization.
type Group struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	Status      GroupStatus
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Validate checks the fields a caller may set.
func (g *Group) Validate() error {
	if err := validName("name", g.Name, 100); err != nil {
		return err
	}
	if utf8.RuneCountInString(g.Description) > 1000 {
		return Invalid("description", "description is longer than 1000 characters")
	}
	switch g.Status {
	case GroupActive, GroupDisabled:
	default:
		return Invalid("status", "status must be \"active\" or \"disabled\"")
	}
	return nil
}

// GroupUpdate holds the fields of a group to change; nil means unchanged.
type GroupUpdate struct {
	Name        *string
	Description *string
	Status      *GroupStatus
}

// KeyStatus is derived from a key's timestamps at a given instant.
type KeyStatus string

// Key statuses as shown to users.
const (
	KeyActive   KeyStatus = "active"
	KeyRotating KeyStatus = "rotating" // replaced; works until its grace period ends
	KeyExpired  KeyStatus = "expired"
	KeyRevoked  KeyStatus = "revoked"
)

// APIKey is the stored record of an inference API key. It never holds the
// key itself: only its SHA-256 and a display hint.
type APIKey struct {
	ID          string
	OrgID       string
	GroupID     string
	Name        string
	Hash        []byte // SHA-256 of the whole key
	Hint        string // e.g. "pplx-…a1b2"
	CreatedBy   string // actor ID (user, admin token or key)
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	RotatedFrom string // ID of the key this one replaced
	RotatedTo   string // ID of the key that replaced this one
}

// Status reports the key's status at now.
func (k *APIKey) Status(now time.Time) KeyStatus {
	switch {
	case k.RevokedAt != nil:
		return KeyRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return KeyExpired
	case k.RotatedTo != "":
		return KeyRotating
	}
	return KeyActive
}

// Validate checks the fields a caller may set.
func (k *APIKey) Validate() error { return validName("name", k.Name, 100) }

// AdminToken authenticates calls to the management API on behalf of an
// organization, with a role. Like keys it is stored only as a hash.
type AdminToken struct {
	ID         string
	OrgID      string
	Name       string
	Role       Role
	Hash       []byte
	Hint       string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// Usable reports whether the token may authenticate at now.
func (t *AdminToken) Usable(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Validate checks the fields a caller may set.
func (t *AdminToken) Validate() error {
	if err := validName("name", t.Name, 100); err != nil {
		return err
	}
	return t.Role.Validate()
}

func validName(param, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return Invalid(param, "%s must not be empty", param)
	}
	if utf8.RuneCountInString(s) > max {
		return Invalid(param, "%s is longer than %d characters", param, max)
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n") {
		return Invalid(param, "%s must be one line of valid UTF-8", param)
	}
	return nil
}

// Principal is an authenticated caller of the management API: an admin
// token or a signed-in user, acting inside one organization with a role.
type Principal struct {
	OrgID string
	Role  Role
	Actor Actor
}
