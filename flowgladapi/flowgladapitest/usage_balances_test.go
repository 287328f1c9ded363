package flowgladapitest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsageBalancesFilter: as on the live server (customersRouter's getUsageBalances), the
// subscriptionId filter names one of the customer's subscriptions, whatever its status; any
// other id is 404 NOT_FOUND, the code of an unknown customer too. Without a filter, only
// current subscriptions count.
func TestUsageBalancesFilter(t *testing.T) {
	tests := []struct {
		name     string
		canceled bool // Alice's subscription is canceled first
		query    string
		status   int
		balances int
	}{
		{name: "no filter", status: http.StatusOK, balances: 1},
		{name: "own subscription", query: "?subscriptionId=" + DemoAliceSubscriptionID, status: http.StatusOK, balances: 1},
		{name: "own canceled subscription", canceled: true, query: "?subscriptionId=" + DemoAliceSubscriptionID, status: http.StatusOK, balances: 1},
		{name: "no filter, nothing current", canceled: true, status: http.StatusOK, balances: 0},
		{name: "no such subscription", query: "?subscriptionId=sub_nope", status: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSpecServer(t)
			if tc.canceled {
				require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, StatusCanceled))
			}
			res := call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerAlice+"/usage-balances"+tc.query, nil)
			require.Equal(t, tc.status, res.status, "body: %s", res.body)
			m := res.json(t)
			if tc.status != http.StatusOK {
				assert.Equal(t, "NOT_FOUND", m["code"])
				return
			}
			assert.Len(t, m["usageMeterBalances"], tc.balances)
		})
	}
}
