package storetest

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

var orgTests = []test{
	{"CreateGetList", testOrgCreateGetList},
	{"Rename", testOrgRename},
	{"NotFound", testOrgNotFound},
}

func testOrgCreateGetList(t *testing.T, e *env) {
	got, err := e.s.ListOrgs(e.ctx)
	if err != nil {
		t.Fatalf("ListOrgs: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ListOrgs on an empty store = %s, want none", show(got))
	}

	acme := e.org("Acme")
	e.clock.Advance(time.Second)
	globex := e.org("Globex")
	for _, want := range []*platform.Org{acme, globex} {
		got, err := e.s.GetOrg(e.ctx, want.ID)
		if err != nil {
			t.Fatalf("GetOrg(%s): %v", want.Name, err)
		}
		checkEqual(t, "GetOrg", got, want)
	}

	got, err = e.s.ListOrgs(e.ctx)
	if err != nil {
		t.Fatalf("ListOrgs: %v", err)
	}
	checkEqual(t, "ListOrgs (oldest first)", got, []*platform.Org{acme, globex})
}

func testOrgRename(t *testing.T, e *env) {
	acme := e.org("Acme")
	other := e.org("Other")

	got, err := e.s.RenameOrg(e.ctx, acme.ID, "Acme Corp", alice)
	if err != nil {
		t.Fatalf("RenameOrg: %v", err)
	}
	want := *acme
	want.Name = "Acme Corp"
	checkEqual(t, "RenameOrg result", got, &want)

	got, err = e.s.GetOrg(e.ctx, acme.ID)
	if err != nil {
		t.Fatalf("GetOrg: %v", err)
	}
	checkEqual(t, "GetOrg after rename", got, &want)

	got, err = e.s.GetOrg(e.ctx, other.ID)
	if err != nil {
		t.Fatalf("GetOrg(other): %v", err)
	}
	checkEqual(t, "the other org after rename", got, other)
}

func testOrgNotFound(t *testing.T, e *env) {
	e.org("Acme")
	tests := []struct {
		name string
		call func() error
	}{
		{"GetOrg", func() error { _, err := e.s.GetOrg(e.ctx, "org_missing"); return err }},
		{"RenameOrg", func() error { _, err := e.s.RenameOrg(e.ctx, "org_missing", "X", alice); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name, tt.call())
		})
	}
	if n := len(e.audit("org_missing", platform.AuditFilter{})); n != 0 {
		t.Errorf("a failed rename wrote %d audit events, want 0", n)
	}
}

var userTests = []test{
	{"CreateGet", testUserCreateGet},
	{"DuplicateEmail", testUserDuplicateEmail},
	{"NotFound", testUserNotFound},
	{"SetPassword", testUserSetPassword},
}

func testUserCreateGet(t *testing.T, e *env) {
	ada := e.user("ada@example.com")
	e.user("grace@example.com")

	got, err := e.s.GetUser(e.ctx, ada.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	checkEqual(t, "GetUser", got, ada)

	got, err = e.s.GetUserByEmail(e.ctx, ada.Email)
	if err != nil {
		t.Fatalf("GetUserByEmail: %v", err)
	}
	checkEqual(t, "GetUserByEmail", got, ada)
}

func testUserDuplicateEmail(t *testing.T, e *env) {
	ada := e.user("ada@example.com")
	dup := e.newUser("ada@example.com")
	wantDuplicate(t, "CreateUser with a used email", e.s.CreateUser(e.ctx, dup, system))

	if _, err := e.s.GetUser(e.ctx, dup.ID); err == nil {
		t.Errorf("the refused user %s was stored", dup.ID)
	}
	got, err := e.s.GetUserByEmail(e.ctx, ada.Email)
	if err != nil {
		t.Fatalf("GetUserByEmail: %v", err)
	}
	checkEqual(t, "GetUserByEmail after the refused duplicate", got, ada)
}

func testUserNotFound(t *testing.T, e *env) {
	acme := e.org("Acme")
	e.user("ada@example.com")
	tests := []struct {
		name string
		call func() error
	}{
		{"GetUser", func() error { _, err := e.s.GetUser(e.ctx, "usr_missing"); return err }},
		{"GetUserByEmail", func() error { _, err := e.s.GetUserByEmail(e.ctx, "nobody@example.com"); return err }},
		{"SetPassword", func() error { return e.s.SetPassword(e.ctx, acme.ID, "usr_missing", "hash", alice) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name, tt.call())
		})
	}
}

func testUserSetPassword(t *testing.T, e *env) {
	acme := e.org("Acme")
	ada := e.user("ada@example.com")
	grace := e.user("grace@example.com")

	if err := e.s.SetPassword(e.ctx, acme.ID, ada.ID, "$argon2id$new", alice); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	got, err := e.s.GetUser(e.ctx, ada.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	want := *ada
	want.PasswordHash = "$argon2id$new"
	checkEqual(t, "GetUser after SetPassword", got, &want)

	got, err = e.s.GetUser(e.ctx, grace.ID)
	if err != nil {
		t.Fatalf("GetUser(grace): %v", err)
	}
	checkEqual(t, "another user after SetPassword", got, grace)
}
