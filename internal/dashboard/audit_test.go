package dashboard_test

import (
	"net/http"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// TestAuditDetailsReadable checks that the audit log writes its events'
// details for people: a role change as "member → admin", amounts in
// dollars (rounded to the cent, exact in a tooltip), instants on one line
// with their RFC 3339 form in a tooltip, and never as raw key=value pairs.
func TestAuditDetailsReadable(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	m := must(h.gov.AddMember(ctx, h.owner, governance.NewMember{Email: "ada@acme.test", Role: platform.RoleMember}))
	must(h.gov.SetMemberRole(ctx, h.owner, m.UserID, platform.RoleAdmin))
	must(h.bill.Post(ctx, h.owner, billing.PostRequest{Kind: billing.KindTopUp, Amount: 1_234_567_891, Memo: "invoice 9"}))
	g := h.group("prod")
	k, _ := h.key(g, "web")
	must(h.gov.RotateKey(ctx, h.owner, k, nil))

	b := h.browser()
	b.signIn(h.email, h.passwd)
	p := b.must(http.StatusOK, "/dashboard/audit")
	// html/template writes "+" as &#43;.
	contains(t, "audit", p.body,
		"<dt>Role</dt> <dd>member → admin</dd>",
		`<dt>Amount</dt> <dd title="&#43;$1,234.567891 exactly">&#43;$1,234.57</dd>`,
		`<dt>Balance after</dt> <dd title="$1,234.567891 exactly">$1,234.57</dd>`,
		`<dt>Kind</dt> <dd>topup</dd>`,
		// The group is named and linked; the rotation says until when.
		`<a href="/dashboard/groups/`+g+`">prod</a>`,
		"<dt>Old key works until</dt>",
		`<td class="nowrap" data-label="When"><time datetime="`,
		"<code>member.<wbr>role_changed</code>")
	lacks(t, "audit", p.body, "amount_micros", "balance_after_micros", "=member", "from=", "old_expires_at")
}

// TestAuditFilterOffersEveryAction: the action filter lists every action
// the log can hold (billing, sign-in and invitations included), and
// filtering by a billing action finds its event.
func TestAuditFilterOffersEveryAction(t *testing.T) {
	h := newHarness(t)
	must(h.bill.Post(t.Context(), h.owner, billing.PostRequest{Kind: billing.KindTopUp, Amount: 5_000_000, Memo: "filter"}))
	b := h.browser()
	b.signIn(h.email, h.passwd)
	p := b.must(http.StatusOK, "/dashboard/audit")
	for _, a := range platform.AuditActions() {
		contains(t, "audit filter", p.body, `<option value="`+a+`"`)
	}
	f := b.must(http.StatusOK, "/dashboard/audit?action="+platform.AuditBillingPosted)
	contains(t, "filtered audit", f.body, "<dt>Kind</dt> <dd>topup</dd>")
	lacks(t, "filtered audit", f.body, "<code>session.<wbr>created</code>")
}

// TestKeyCreatorNamed: a key created through the management API with an
// admin token says so by the token's name, on the group's page and in the
// audit log, for a role that may list admin tokens.
func TestKeyCreatorNamed(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	tok, _, err := h.gov.CreateAdminToken(ctx, h.owner, "ci deploys", platform.RoleAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	byToken := platform.Principal{OrgID: h.owner.OrgID, Role: platform.RoleAdmin,
		Actor: platform.Actor{Type: platform.ActorAdminToken, ID: tok.ID}}
	g := h.group("prod")
	if _, _, err := h.gov.CreateKey(ctx, byToken, g, "deploy", nil); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.signIn(h.email, h.passwd)
	page := b.must(http.StatusOK, "/dashboard/groups/"+g)
	contains(t, "group page", page.body, "Admin token “ci deploys”")
	lacks(t, "group page", page.body, ">"+tok.ID+"<")
	audit := b.must(http.StatusOK, "/dashboard/audit")
	contains(t, "audit actor filter", audit.body, `<option value="`+tok.ID+`">Admin token “ci deploys”</option>`)
}
