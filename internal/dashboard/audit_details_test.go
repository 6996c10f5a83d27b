package dashboard

import (
	"reflect"
	"testing"
	"time"
)

func TestAuditDetails(t *testing.T) {
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	groups := map[string]string{"grp_1": "checkout"}
	tests := []struct {
		name string
		in   map[string]string
		want []auditDetail
	}{
		{"role change", map[string]string{"from": "member", "to": "admin"},
			[]auditDetail{{Label: "Role", Value: "member → admin"}}},
		{"ledger transaction", map[string]string{"kind": "topup", "amount_micros": "50000000",
			"balance_after_micros": "999994904", "reference": ""},
			[]auditDetail{{Label: "Kind", Value: "topup"}, {Label: "Amount", Value: "+$50.00"},
				{Label: "Balance after", Value: "$999.99", Title: "$999.994904 exactly"}}},
		{"usage debit", map[string]string{"amount_micros": "-5096"},
			[]auditDetail{{Label: "Amount", Value: "−$0.005096"}}},
		{"key created", map[string]string{"name": "web", "group_id": "grp_1", "hint": "pplx-…a1b2"},
			[]auditDetail{{Label: "Name", Value: "web"}, {Label: "Hint", Value: "pplx-…a1b2", Code: true},
				{Label: "Group", Value: "checkout", Title: "grp_1", Link: "/dashboard/groups/grp_1"}}},
		{"unknown group", map[string]string{"group_id": "grp_2"},
			[]auditDetail{{Label: "Group", Value: "grp_2", Code: true, Link: "/dashboard/groups/grp_2"}}},
		{"key rotated", map[string]string{"successor": "key_2", "old_expires_at": "2026-11-26T16:17:00Z"},
			[]auditDetail{{Label: "New key", Value: "key_2", Code: true},
				{Label: "Old key works until", Value: "Nov 26, 16:17 UTC", Title: "2026-11-26T16:17:00Z"}}},
		{"limit", map[string]string{"model": "", "rpm": "1200", "tpm": "0", "concurrency": "4"},
			[]auditDetail{{Label: "Model", Value: "all models"}, {Label: "RPM", Value: "1,200"},
				{Label: "TPM", Value: "no limit"}, {Label: "In flight", Value: "4"}}},
		{"session ended", map[string]string{"reason": "sign_out"},
			[]auditDetail{{Label: "Reason", Value: "sign out"}}},
		{"unknown keys kept, by key", map[string]string{"zeta": "1", "retry_after": "30s", "name": "x"},
			[]auditDetail{{Label: "Name", Value: "x"}, {Label: "Retry after", Value: "30s"}, {Label: "Zeta", Value: "1"}}},
		{"unparsable amount shown as it is", map[string]string{"monthly_cap_micros": "lots"},
			[]auditDetail{{Label: "Monthly cap", Value: "lots"}}},
		{"a lone from is not a role change", map[string]string{"from": "cli"},
			[]auditDetail{{Label: "From", Value: "cli"}}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auditDetails(tt.in, groups, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
