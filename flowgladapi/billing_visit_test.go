package flowgladapi_test

import (
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subscriptionIDs is a visitor reading what a billing index reads: the customer's id and
// each subscription's id and status, in the pass that checks the body.
type subscriptionIDs struct {
	starts   int
	in       string
	customer string
	subs     []string
	elements int
}

func (s *subscriptionIDs) visitor() *flowgladapi.BodyVisitor {
	return &flowgladapi.BodyVisitor{
		Start: func() { *s = subscriptionIDs{starts: s.starts + 1} },
		Descend: func(k []byte) bool {
			s.in = string(k)
			return s.in == "customer" || s.in == "subscriptions"
		},
		Field: func(k, v []byte) {
			switch {
			case s.in == "customer" && string(k) == "id":
				s.customer = string(v)
			case s.in == "subscriptions" && (string(k) == "id" || string(k) == "status"):
				s.subs = append(s.subs, string(k)+"="+string(v))
			}
		},
		Element: func([]byte) { s.elements++ },
	}
}

const visitBody = `{"customer":{"id":"c1","name":"A"},"subscriptions":[{"id":"s1","status":"active","items":[{"id":"i1"}]},{"id":"s2","status":"canceled"}],"pricingModel":{"id":"pm"}}`

// TestGetBillingBodyVisit: the visitor hears the body the call returns, in the pass that
// checks it; a garbled answer that is retried is forgotten at Start.
func TestGetBillingBodyVisit(t *testing.T) {
	t.Parallel()
	c, s := newStub(t, sequence(
		jsonReply(200, `{"customer":{"id":"gone"},"subscriptions":[{"id":"s0"`),
		jsonReply(200, visitBody),
	))
	recordWaits(c)
	var got subscriptionIDs
	body, err := c.GetBillingBodyVisit(t.Context(), "u1", got.visitor())
	require.NoError(t, err)
	assert.Len(t, s.requests(), 2, "the garbled answer was retried")
	assert.Equal(t, 2, got.starts)
	assert.Equal(t, `"c1"`, got.customer)
	assert.Equal(t, []string{`id="s1"`, `status="active"`, `id="s2"`, `status="canceled"`}, got.subs)
	assert.Equal(t, 2, got.elements)
	assert.Equal(t, visitBody, string(body.JSON()))
	assert.Equal(t, `{"id":"pm"}`, string(body.Member("pricingModel")), "members are located too")

	body, err = c.GetBillingBodyVisit(t.Context(), "u1", nil)
	require.NoError(t, err)
	assert.Equal(t, visitBody, string(body.JSON()), "a nil visitor asks for nothing")
}

// TestParseBillingBodyVisit: cached bytes are checked and read in one pass as well; a body
// that is not one JSON object is refused whatever the visitor heard.
func TestParseBillingBodyVisit(t *testing.T) {
	t.Parallel()
	var got subscriptionIDs
	var members []string
	v := got.visitor()
	v.Member = func(k, _ []byte) { members = append(members, string(k)) }
	body, err := flowgladapi.ParseBillingBodyVisit([]byte(visitBody), v)
	require.NoError(t, err)
	assert.Equal(t, 1, got.starts)
	assert.Equal(t, `"c1"`, got.customer)
	assert.Len(t, got.subs, 4)
	assert.Equal(t, []string{"customer", "subscriptions", "pricingModel"}, members)
	assert.Equal(t, `{"id":"c1","name":"A"}`, string(body.Member("customer")))

	for _, bad := range []string{`{"subscriptions":[{"id":"s1"}]`, `[{"id":"s1"}]`, `{"subscriptions":[{"id":"s1",}]}`, ``} {
		_, err := flowgladapi.ParseBillingBodyVisit([]byte(bad), got.visitor())
		assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse, "%q", bad)
	}
	_, err = flowgladapi.ParseBillingBodyVisit([]byte(visitBody), nil)
	assert.NoError(t, err)
	_, err = flowgladapi.ParseBillingBodyVisit([]byte(visitBody), &flowgladapi.BodyVisitor{})
	assert.NoError(t, err, "every func may be nil")
}
