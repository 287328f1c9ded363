package flowgladapi_test

import (
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpersOnSeveralCurrentSubscriptions: a customer on Pro with a newer Free
// subscription. A toggle feature is granted when any current subscription grants it (as
// features/access lists them); a usage balance is the first current subscription's
// (newest first) that has the meter.
func TestHelpersOnSeveralCurrentSubscriptions(t *testing.T) {
	t.Parallel()
	b, err := flowgladapi.DecodeBilling([]byte(`{
	  "currentSubscriptions": [
	    {"id": "sub_free", "experimental": {
	      "featureItems": [{"slug": "basic", "type": "toggle"}, {"slug": "premium", "type": "usage_credit_grant"}],
	      "usageMeterBalances": [{"slug": "api-calls", "availableBalance": 100, "subscriptionId": "sub_free"}]}},
	    {"id": "sub_pro", "experimental": {
	      "featureItems": [{"slug": "premium", "type": "toggle"}],
	      "usageMeterBalances": [{"slug": "api-calls", "availableBalance": 1000, "subscriptionId": "sub_pro"},
	                             {"slug": "gpu-minutes", "availableBalance": 7, "subscriptionId": "sub_pro"}]}}
	  ]}`))
	require.NoError(t, err)

	tests := []struct {
		slug      string
		feature   bool
		usageSub  string  // "" for none
		available float64 // when usageSub is set
	}{
		{"premium", true, "", 0},              // granted by the older Pro only
		{"basic", true, "", 0},                // by the newer Free only
		{"sso", false, "", 0},                 // by none
		{"api-calls", false, "sub_free", 100}, // both have it: the newest
		{"gpu-minutes", false, "sub_pro", 7},  // only the older one has it
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			assert.Equal(t, tc.feature, b.CheckFeatureAccess(tc.slug))
			sub := b.UsageSubscription(tc.slug)
			bal := b.CheckUsageBalance(tc.slug)
			if tc.usageSub == "" {
				assert.Nil(t, sub)
				assert.Nil(t, bal)
				return
			}
			require.NotNil(t, sub)
			require.NotNil(t, bal)
			assert.Equal(t, tc.usageSub, sub.ID)
			assert.InDelta(t, tc.available, bal.AvailableBalance, 0)
		})
	}
	assert.False(t, b.CheckFeatureAccessFor("sub_free", "premium"), "a usage grant named like a toggle is not one")
	assert.True(t, b.CheckFeatureAccessFor("sub_pro", "premium"))

	var none *flowgladapi.Billing
	assert.False(t, none.CheckFeatureAccess("premium"))
	assert.Nil(t, none.UsageSubscription("api-calls"))
	assert.Nil(t, none.CheckUsageBalance("api-calls"))
}
