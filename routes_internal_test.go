package flowglad

import "testing"

// TestRouteTable: one row per key, none twice, every row runnable.
func TestRouteTable(t *testing.T) {
	t.Parallel()
	if got := len(routeTable()); got != len(routes) {
		t.Fatalf("%d rows but %d distinct keys: a key is listed twice", len(routes), got)
	}
	for _, rt := range routes {
		if rt.key == "" || rt.run == nil {
			t.Errorf("incomplete row %+v", rt.key)
		}
	}
}
