package main

import (
	"strings"
	"testing"
)

func TestAdminSetPrice(t *testing.T) {
	dir := t.TempDir()
	quiet := func(k string) string {
		if k == "TOLLGATE_LOG_LEVEL" {
			return "warn"
		}
		return ""
	}
	var got struct {
		ID           string           `json:"id"`
		Model        string           `json:"model"`
		Input        int64            `json:"input_per_1m_micros"`
		Output       int64            `json:"output_per_1m_micros"`
		RequestPer1K map[string]int64 `json:"request_per_1k_micros"`
	}
	mustUnmarshal(t, mustCLIOffline(t, "admin", "set-price", "--json", "--data-dir", dir, "--model", "sonar",
		"--input", "0.15", "--output", "$0.6", "--request-low", "5", "--effective-from", "2027-01-01T00:00:00Z"), &got)
	if got.Model != "sonar" || got.Input != 150_000 || got.Output != 600_000 || got.RequestPer1K["low"] != 5_000_000 ||
		!strings.HasPrefix(got.ID, "price_") {
		t.Fatalf("price = %+v", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "sonar", "--input", "-1"}, "must not be negative"},
		{[]string{"--model", "sonar", "--output", "0.0000001"}, "more than six decimals"},
		{[]string{"--model", "sonar", "--request-high", "2000000"}, "largest price"},
		{[]string{"--model", "sonar", "--input", "abc"}, "not a dollar amount"},
		{[]string{"--model", "sonar", "--effective-from", "tomorrow"}, "RFC 3339"},
		{[]string{"--model", "sonar", "--input", "1", "--effective-from", "2027-01-01T00:00:00Z"}, "conflict"},
		{[]string{"--input", "1"}, "model"},
	} {
		out, err := cli(t, quiet, append([]string{"admin", "set-price", "--data-dir", dir}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set-price %v = %q, %v; want an error about %q", tc.args, out, err, tc.want)
		}
	}
}
