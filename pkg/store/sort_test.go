package store

import (
	"strings"
	"testing"
)

func TestSortWhitelist(t *testing.T) {
	for _, f := range SortFields() {
		if _, err := (Sort{Field: SortField(f), Desc: true}).orderBy(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := (Sort{Field: "id; DROP TABLE ntp_clients"}).orderBy(); err == nil {
		t.Error("a sort field outside the whitelist reached SQL")
	}
	// Filter values never reach the SQL text.
	f := ClientFilter{IPContains: "10%' OR 1=1 --", Interfaces: []string{"eth0' --"}}
	where, args := f.where()
	text := strings.ReplaceAll(where, `ESCAPE '\'`, "")
	if strings.ContainsAny(text, "'%") || strings.Contains(text, "--") || strings.Contains(text, "eth0") {
		t.Errorf("values in the SQL text: %s", where)
	}
	if len(args) != 2 || args[0] != `%10\%' OR 1=1 --%` {
		t.Errorf("args %q", args)
	}
}
