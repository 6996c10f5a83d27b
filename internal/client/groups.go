package client

import (
	"context"
	"net/http"
	"time"
)

// GroupStatus says whether a group's keys may be used.
type GroupStatus string

// Group statuses a caller may set. Deleted groups are not returned.
const (
	GroupActive   GroupStatus = "active"
	GroupDisabled GroupStatus = "disabled"
)

// Group is an API group: a workspace of keys for one application.
type Group struct {
	ID          string      `json:"id"`
	Object      string      `json:"object"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Status      GroupStatus `json:"status"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// GroupUpdate holds the fields of a group to change; nil means unchanged.
type GroupUpdate struct {
	Name        *string      `json:"name,omitempty"`
	Description *string      `json:"description,omitempty"`
	Status      *GroupStatus `json:"status,omitempty"`
}

// ListGroups lists the organization's groups, by name.
func (c *Client) ListGroups(ctx context.Context) ([]Group, error) {
	var l list[Group]
	if err := c.do(ctx, http.MethodGet, "/groups", nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []Group{}
	}
	return l.Data, nil
}

// GetGroup reads one group.
func (c *Client) GetGroup(ctx context.Context, id string) (*Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodGet, "/groups/"+pathID(id), nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// CreateGroup creates an active group; names are unique in an organization.
func (c *Client) CreateGroup(ctx context.Context, name, description string) (*Group, error) {
	req := struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}{name, description}
	var g Group
	if err := c.do(ctx, http.MethodPost, "/groups", req, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// UpdateGroup renames, re-describes, disables or enables a group. A
// disabled group's keys are refused until it is enabled again.
func (c *Client) UpdateGroup(ctx context.Context, id string, u GroupUpdate) (*Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodPatch, "/groups/"+pathID(id), u, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// DeleteGroup deletes a group for good and revokes every key in it.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/groups/"+pathID(id), nil, nil)
}
