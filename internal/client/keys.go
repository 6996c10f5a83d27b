package client

import (
	"context"
	"net/http"
	"time"
)

// KeyStatus is a key's status when the server answered.
type KeyStatus string

// Key statuses.
const (
	KeyActive   KeyStatus = "active"
	KeyRotating KeyStatus = "rotating" // replaced; works until its grace period ends
	KeyExpired  KeyStatus = "expired"
	KeyRevoked  KeyStatus = "revoked"
)

// Key is an inference API key. Secret is set only in the responses of
// CreateKey and RotateKey: the server never returns it again.
type Key struct {
	ID          string     `json:"id"`
	Object      string     `json:"object"`
	Name        string     `json:"name"`
	GroupID     string     `json:"group_id"`
	Hint        string     `json:"hint"`
	Status      KeyStatus  `json:"status"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	RotatedFrom string     `json:"rotated_from,omitempty"`
	RotatedTo   string     `json:"rotated_to,omitempty"`
	Secret      string     `json:"key,omitempty"`
}

// NewKey describes a key to create. Set at most one of ExpiresAt and
// ExpiresInSeconds; neither means the key does not expire.
type NewKey struct {
	Name             string     `json:"name"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	ExpiresInSeconds *int64     `json:"expires_in_seconds,omitempty"`
}

// Rotation is the outcome of RotateKey: the successor, with its secret,
// and the previous key, whose ExpiresAt says when it stops working.
type Rotation struct {
	Key
	Previous Key `json:"previous"`
}

// ListKeys lists the organization's keys, or one group's when groupID is
// not empty (an unknown group is a 404).
func (c *Client) ListKeys(ctx context.Context, groupID string) ([]Key, error) {
	path := "/keys"
	if groupID != "" {
		path = "/groups/" + pathID(groupID) + "/keys"
	}
	var l list[Key]
	if err := c.do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []Key{}
	}
	return l.Data, nil
}

// GetKey reads one key (never its secret).
func (c *Client) GetKey(ctx context.Context, id string) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodGet, "/keys/"+pathID(id), nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// CreateKey creates a key in an active group and returns it with its
// secret, which is shown this once.
func (c *Client) CreateKey(ctx context.Context, groupID string, nk NewKey) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodPost, "/groups/"+pathID(groupID)+"/keys", nk, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RenameKey changes a key's name.
func (c *Client) RenameKey(ctx context.Context, id, name string) (*Key, error) {
	req := struct {
		Name string `json:"name"`
	}{name}
	var k Key
	if err := c.do(ctx, http.MethodPatch, "/keys/"+pathID(id), req, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RevokeKey stops a key for good, from its next request.
func (c *Client) RevokeKey(ctx context.Context, id string) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodPost, "/keys/"+pathID(id)+"/revoke", nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RotateKey issues a successor for key id. The old key keeps working for
// graceSeconds (the server's default, 24h unless configured, when nil;
// 0 stops it at once).
func (c *Client) RotateKey(ctx context.Context, id string, graceSeconds *int64) (*Rotation, error) {
	var body any
	if graceSeconds != nil {
		body = struct {
			GracePeriodSeconds int64 `json:"grace_period_seconds"`
		}{*graceSeconds}
	}
	var r Rotation
	if err := c.do(ctx, http.MethodPost, "/keys/"+pathID(id)+"/rotate", body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
