package dashboard

import (
	"context"
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// groupRow is one line of the groups table.
type groupRow struct {
	Group      *platform.Group
	ActiveKeys int
	Keys       int
}

type groupsView struct {
	Groups []groupRow
}

func (db *Dashboard) groupsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showGroups(w, r, c, http.StatusOK, nil)
}

func (db *Dashboard) showGroups(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *form) error {
	gs, err := db.d.Gov.Groups(r.Context(), c.p)
	if err != nil {
		return err
	}
	ks, err := db.d.Gov.Keys(r.Context(), c.p, "")
	if err != nil {
		return err
	}
	now := db.d.Now()
	count := map[string][2]int{}
	for _, k := range ks {
		n := count[k.GroupID]
		n[1]++
		if s := k.Status(now); s == platform.KeyActive || s == platform.KeyRotating {
			n[0]++
		}
		count[k.GroupID] = n
	}
	v := &groupsView{}
	for _, g := range gs {
		if g.Status == platform.GroupDeleted {
			continue
		}
		v.Groups = append(v.Groups, groupRow{Group: g, ActiveKeys: count[g.ID][0], Keys: count[g.ID][1]})
	}
	pv := db.view(r, c, "api", "API groups", v)
	if f != nil {
		pv.forms = map[string]*form{"create-group": f}
	}
	db.render(w, r, status, "groups", pv)
	return nil
}

func (db *Dashboard) createGroup(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	g, err := db.d.Gov.CreateGroup(r.Context(), c.p, strings.TrimSpace(r.PostForm.Get("name")),
		strings.TrimSpace(r.PostForm.Get("description")))
	if err != nil {
		if !formError(err) {
			return err
		}
		return db.showGroups(w, r, c, statusOf(err), failed(r, err, nil))
	}
	return db.seeOther(w, r, "/dashboard/groups/"+g.ID, "group-created")
}

// formError reports whether err belongs next to the form that caused it
// (a bad value, a name taken) rather than on an error page of its own.
func formError(err error) bool {
	switch platform.ErrorKind(err) {
	case platform.KindInvalid, platform.KindConflict, platform.KindPaymentRequired, platform.KindRateLimited:
		return true
	}
	return false
}

// keyRow is one line of a group's keys table.
type keyRow struct {
	Key       *platform.APIKey
	Status    platform.KeyStatus
	CreatedBy string
}

type groupView struct {
	Group *platform.Group
	Keys  []keyRow
	// Cap is the group's monthly spend cap, when it has one and the role
	// may read billing.
	Cap *billing.Cap
}

func (db *Dashboard) groupPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showGroup(w, r, c, http.StatusOK, "", nil)
}

func (db *Dashboard) showGroup(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, formName string, f *form) error {
	ctx := r.Context()
	g, err := db.d.Gov.Group(ctx, c.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if g.Status == platform.GroupDeleted {
		return platform.Errorf(platform.KindNotFound, "API group %s was deleted.", g.ID)
	}
	ks, err := db.d.Gov.Keys(ctx, c.p, g.ID)
	if err != nil {
		return err
	}
	names := db.actorNames(ctx, c)
	now := db.d.Now()
	v := &groupView{Group: g}
	for _, k := range ks {
		v.Keys = append(v.Keys, keyRow{Key: k, Status: k.Status(now), CreatedBy: nameOr(names, k.CreatedBy)})
	}
	if platform.Can(c.p.Role, platform.ActBillingRead) {
		if caps, err := db.d.Billing.Caps(ctx, c.p); err == nil {
			for _, cp := range caps {
				if cp.Scope.Kind == billing.ScopeGroup && cp.Scope.ID == g.ID {
					v.Cap = cp
				}
			}
		}
	}
	pv := db.view(r, c, "api", g.Name, v)
	if f != nil {
		pv.forms = map[string]*form{formName: f}
	}
	db.render(w, r, status, "group", pv)
	return nil
}

// actorNames maps the organization's members' user IDs to their email, and
// its admin tokens' IDs to "Admin token “name”" when the role may list
// them, to say who created a key or did something in the audit log.
func (db *Dashboard) actorNames(ctx context.Context, c *reqCtx) map[string]string {
	out := map[string]string{}
	if ms, err := db.d.Gov.Members(ctx, c.p); err == nil {
		for _, m := range ms {
			out[m.UserID] = m.Email
		}
	}
	if ts, err := db.d.Gov.AdminTokens(ctx, c.p); err == nil {
		for _, t := range ts {
			out[t.ID] = adminTokenLabel(t.Name)
		}
	}
	return out
}

// adminTokenLabel names an admin token for people.
func adminTokenLabel(name string) string { return "Admin token “" + name + "”" }

func nameOr(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

func (db *Dashboard) updateGroup(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	desc := strings.TrimSpace(r.PostForm.Get("description"))
	_, err := db.d.Gov.UpdateGroup(r.Context(), c.p, r.PathValue("id"), platform.GroupUpdate{Name: &name, Description: &desc})
	if err != nil {
		if !formError(err) {
			return err
		}
		return db.showGroup(w, r, c, statusOf(err), "update-group", failed(r, err, nil))
	}
	return db.seeOther(w, r, "/dashboard/groups/"+r.PathValue("id"), "group-updated")
}

func (db *Dashboard) setGroupStatus(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st := platform.GroupStatus(r.PostForm.Get("status"))
	if _, err := db.d.Gov.UpdateGroup(r.Context(), c.p, r.PathValue("id"), platform.GroupUpdate{Status: &st}); err != nil {
		return err
	}
	done := "group-enabled"
	if st == platform.GroupDisabled {
		done = "group-disabled"
	}
	return db.seeOther(w, r, "/dashboard/groups/"+r.PathValue("id"), done)
}
