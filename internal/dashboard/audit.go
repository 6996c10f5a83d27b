package dashboard

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// auditPageSize is how many events a page of the audit log shows.
const auditPageSize = 50

// auditActions are the actions the filter offers.
var auditActions = platform.AuditActions()

type auditRow struct {
	E *platform.AuditEvent
	// Actor names who acted (an email, "Admin token “ci”"). ActorID is
	// the ID of an actor that is no person: shown when it has no name,
	// else in a tooltip.
	Actor, ActorID string
	Named          bool
	Details        []auditDetail
	// Link leads to the target when the dashboard has a page for it.
	Link string
}

type auditView struct {
	Events  []auditRow
	Actors  []option
	Actions []string
	Filter  struct{ Actor, Action, Target, From, To string }
	Older   string
}

func (db *Dashboard) auditPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	if err := platform.Authorize(c.p.Role, platform.ActAuditRead); err != nil {
		return err
	}
	q := r.URL.Query()
	v := &auditView{Actions: auditActions}
	v.Filter.Actor, v.Filter.Action, v.Filter.Target = q.Get("actor"), q.Get("action"), strings.TrimSpace(q.Get("target"))
	v.Filter.From, v.Filter.To = q.Get("from"), q.Get("to")
	f := platform.AuditFilter{ActorID: v.Filter.Actor, Action: v.Filter.Action, TargetID: v.Filter.Target,
		Before: q.Get("before"), Limit: auditPageSize + 1}
	var ferr error
	if v.Filter.From != "" {
		if f.Since, ferr = time.Parse("2006-01-02", v.Filter.From); ferr != nil {
			ferr = platform.Invalid("from", "Enter the first day as a date (YYYY-MM-DD).")
		}
	}
	if v.Filter.To != "" && ferr == nil {
		t, err := time.Parse("2006-01-02", v.Filter.To)
		if err != nil {
			ferr = platform.Invalid("to", "Enter the last day as a date (YYYY-MM-DD).")
		}
		f.Until = t.Add(24 * time.Hour)
	}
	var events []*platform.AuditEvent
	if ferr == nil {
		events, ferr = db.d.Gov.Audit(ctx, c.p, f)
		if ferr != nil && platform.ErrorKind(ferr) != platform.KindInvalid {
			return ferr
		}
	}
	names := db.actorNames(ctx, c)
	for id, email := range names {
		v.Actors = append(v.Actors, option{Value: id, Label: email})
	}
	// Groups are named too (names holds people and admin tokens); a role
	// that may not list them sees their IDs.
	groups := map[string]string{}
	if gs, err := db.d.Gov.Groups(ctx, c.p); err == nil {
		for _, g := range gs {
			groups[g.ID] = g.Name
		}
	}
	sort.Slice(v.Actors, func(i, j int) bool { return v.Actors[i].Label < v.Actors[j].Label })
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		older := url.Values{}
		for k, val := range map[string]string{"actor": v.Filter.Actor, "action": v.Filter.Action, "target": v.Filter.Target,
			"from": v.Filter.From, "to": v.Filter.To} {
			if val != "" {
				older.Set(k, val)
			}
		}
		older.Set("before", events[len(events)-1].ID)
		v.Older = older.Encode()
	}
	for _, e := range events {
		row := auditRow{E: e, Details: auditDetails(e.Details, groups, db.d.Now())}
		row.Actor, row.ActorID, row.Named = actorLabel(e, names)
		switch e.TargetType {
		case "group":
			row.Link = "/dashboard/groups/" + e.TargetID
		}
		v.Events = append(v.Events, row)
	}
	pv := db.view(r, c, "audit", "Audit log", v)
	status := http.StatusOK
	if ferr != nil {
		status = statusOf(ferr)
		pv.forms = map[string]*form{"audit": {Values: q, errors: map[string]string{platform.ErrorParam(ferr): platform.ErrorMessage(ferr)}}}
	}
	db.render(w, r, status, "audit", pv)
	return nil
}

// actorLabel names who acted: a person by email, an admin token by name;
// id is the ID of an actor that is no person, and named reports whether
// label names it.
func actorLabel(e *platform.AuditEvent, names map[string]string) (label, id string, named bool) {
	switch e.ActorType {
	case platform.ActorUser:
		return nameOr(names, e.ActorID), "", true
	case platform.ActorAdminToken:
		if n, ok := names[e.ActorID]; ok {
			return n, e.ActorID, true
		}
		return "Admin token", e.ActorID, false
	case platform.ActorAPIKey:
		return "API key", e.ActorID, false
	}
	return string(e.ActorType), "", true
}
