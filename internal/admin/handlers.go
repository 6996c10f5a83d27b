package admin

import (
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

func (d *Deps) getOrg(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	o, err := d.Service.Org(r.Context(), p)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toOrg(o))
	return nil
}

func (d *Deps) updateOrg(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Name *string `json:"name"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return platform.Invalid("name", "name is required")
	}
	o, err := d.Service.RenameOrg(r.Context(), p, *req.Name)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toOrg(o))
	return nil
}

func (d *Deps) listRoles(w http.ResponseWriter, _ *http.Request, _ platform.Principal) error {
	type roleJSON struct {
		Object      string        `json:"object"`
		Role        platform.Role `json:"role"`
		Description string        `json:"description"`
	}
	httpjson.Encode(w, http.StatusOK, list(platform.Roles, func(r platform.Role) roleJSON {
		return roleJSON{Object: "role", Role: r, Description: r.Description()}
	}))
	return nil
}

func (d *Deps) listMembers(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	ms, err := d.Service.Members(r.Context(), p)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, list(ms, toMember))
	return nil
}

func (d *Deps) addMember(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Email    string        `json:"email"`
		Name     string        `json:"name"`
		Role     platform.Role `json:"role"`
		Password string        `json:"password"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	m, err := d.Service.AddMember(r.Context(), p, governance.NewMember{Email: req.Email, Name: req.Name,
		Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusCreated, toMember(m))
	return nil
}

func (d *Deps) updateMember(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Role platform.Role `json:"role"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	m, err := d.Service.SetMemberRole(r.Context(), p, r.PathValue("user_id"), req.Role)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toMember(m))
	return nil
}

func (d *Deps) removeMember(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.Service.RemoveMember(r.Context(), p, r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Deps) listGroups(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	gs, err := d.Service.Groups(r.Context(), p)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, list(gs, toGroup))
	return nil
}

func (d *Deps) getGroup(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	g, err := d.Service.Group(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toGroup(g))
	return nil
}

func (d *Deps) createGroup(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	g, err := d.Service.CreateGroup(r.Context(), p, req.Name, req.Description)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusCreated, toGroup(g))
	return nil
}

func (d *Deps) updateGroup(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Name        *string               `json:"name"`
		Description *string               `json:"description"`
		Status      *platform.GroupStatus `json:"status"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	g, err := d.Service.UpdateGroup(r.Context(), p, r.PathValue("id"),
		platform.GroupUpdate{Name: req.Name, Description: req.Description, Status: req.Status})
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toGroup(g))
	return nil
}

func (d *Deps) deleteGroup(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := d.Service.DeleteGroup(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Deps) listKeys(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	groupID := r.PathValue("id")
	if groupID == "" {
		groupID = r.URL.Query().Get("group_id")
	}
	ks, err := d.Service.Keys(r.Context(), p, groupID)
	if err != nil {
		return err
	}
	now := d.Now()
	httpjson.Encode(w, http.StatusOK, list(ks, func(k *platform.APIKey) keyJSON { return toKey(k, now) }))
	return nil
}

func (d *Deps) getKey(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	k, err := d.Service.Key(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toKey(k, d.Now()))
	return nil
}

func (d *Deps) createKey(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Name             string     `json:"name"`
		ExpiresAt        *time.Time `json:"expires_at"`
		ExpiresInSeconds *int64     `json:"expires_in_seconds"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	exp, err := d.expiry(req.ExpiresAt, req.ExpiresInSeconds)
	if err != nil {
		return err
	}
	k, secret, err := d.Service.CreateKey(r.Context(), p, r.PathValue("id"), req.Name, exp)
	if err != nil {
		return err
	}
	out := toKey(k, d.Now())
	out.Key = secret
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Encode(w, http.StatusCreated, out)
	return nil
}

func (d *Deps) renameKey(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	k, err := d.Service.RenameKey(r.Context(), p, r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toKey(k, d.Now()))
	return nil
}

func (d *Deps) revokeKey(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := httpjson.Decode(w, r, &struct{}{}, httpjson.DecodeOptions{MaxBytes: d.MaxBody, Strict: true, AllowEmpty: true}); err != nil {
		return err
	}
	k, err := d.Service.RevokeKey(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toKey(k, d.Now()))
	return nil
}

func (d *Deps) rotateKey(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		GracePeriodSeconds *int64 `json:"grace_period_seconds"`
	}
	if err := httpjson.Decode(w, r, &req, httpjson.DecodeOptions{MaxBytes: d.MaxBody, Strict: true, AllowEmpty: true}); err != nil {
		return err
	}
	var grace *time.Duration
	if req.GracePeriodSeconds != nil {
		if *req.GracePeriodSeconds < 0 || *req.GracePeriodSeconds > int64(governance.MaxRotationGrace/time.Second) {
			return platform.Invalid("grace_period_seconds", "grace_period_seconds must be between 0 and %d",
				int64(governance.MaxRotationGrace/time.Second))
		}
		g := time.Duration(*req.GracePeriodSeconds) * time.Second
		grace = &g
	}
	rot, err := d.Service.RotateKey(r.Context(), p, r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	now := d.Now()
	out := toKey(rot.New, now)
	out.Key = rot.Secret
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Encode(w, http.StatusCreated, struct {
		keyJSON
		Previous keyJSON `json:"previous"`
	}{out, toKey(rot.Old, now)})
	return nil
}

func (d *Deps) listTokens(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	ts, err := d.Service.AdminTokens(r.Context(), p)
	if err != nil {
		return err
	}
	now := d.Now()
	httpjson.Encode(w, http.StatusOK, list(ts, func(t *platform.AdminToken) tokenJSON { return toToken(t, now) }))
	return nil
}

func (d *Deps) createToken(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	var req struct {
		Name             string        `json:"name"`
		Role             platform.Role `json:"role"`
		ExpiresAt        *time.Time    `json:"expires_at"`
		ExpiresInSeconds *int64        `json:"expires_in_seconds"`
	}
	if err := d.decode(w, r, &req); err != nil {
		return err
	}
	exp, err := d.expiry(req.ExpiresAt, req.ExpiresInSeconds)
	if err != nil {
		return err
	}
	t, secret, err := d.Service.CreateAdminToken(r.Context(), p, req.Name, req.Role, exp)
	if err != nil {
		return err
	}
	out := toToken(t, d.Now())
	out.Token = secret
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Encode(w, http.StatusCreated, out)
	return nil
}

func (d *Deps) revokeToken(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	if err := httpjson.Decode(w, r, &struct{}{}, httpjson.DecodeOptions{MaxBytes: d.MaxBody, Strict: true, AllowEmpty: true}); err != nil {
		return err
	}
	t, err := d.Service.RevokeAdminToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Encode(w, http.StatusOK, toToken(t, d.Now()))
	return nil
}

func (d *Deps) listAudit(w http.ResponseWriter, r *http.Request, p platform.Principal) error {
	q := r.URL.Query()
	f := platform.AuditFilter{ActorID: q.Get("actor_id"), Action: q.Get("action"), TargetID: q.Get("target_id"),
		Before: q.Get("before")}
	var err error
	if f.Since, err = queryTime(r, "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(r, "until"); err != nil {
		return err
	}
	if f.Limit, err = queryInt(r, "limit", 100, 1, 1000); err != nil {
		return err
	}
	// Ask for one more than the page to learn whether another page exists.
	want := f.Limit
	f.Limit++
	evs, err := d.Service.Audit(r.Context(), p, f)
	if err != nil {
		return err
	}
	more := len(evs) > want
	if more {
		evs = evs[:want]
	}
	out := list(evs, toAudit)
	out.HasMore = more
	if more {
		out.NextCursor = evs[len(evs)-1].ID
	}
	httpjson.Encode(w, http.StatusOK, out)
	return nil
}
