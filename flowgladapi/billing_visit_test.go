package flowgladapi_test

import (
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subscriptionIDs is a BodyVisitor reading what a billing index reads: the customer's id and
// each subscription's id and status, in the pass that checks the body.
type subscriptionIDs struct {
	starts   int
	in       string
	customer string
	subs     []string
	elements int
	members  *[]string // when set, the top-level keys are appended to it
}

func (s *subscriptionIDs) Start() { *s = subscriptionIDs{starts: s.starts + 1, members: s.members} }

func (s *subscriptionIDs) Descend(k []byte) bool {
	s.in = string(k)
	return s.in == "customer" || s.in == "subscriptions"
}

func (s *subscriptionIDs) Field(k, v []byte) {
	switch {
	case s.in == "customer" && string(k) == "id":
		s.customer = string(v)
	case s.in == "subscriptions" && (string(k) == "id" || string(k) == "status"):
		s.subs = append(s.subs, string(k)+"="+string(v))
	}
}

func (s *subscriptionIDs) Element([]byte) { s.elements++ }

func (s *subscriptionIDs) Member(k, _ []byte) {
	if s.members != nil {
		*s.members = append(*s.members, string(k))
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
	body, err := c.GetBillingBodyVisit(t.Context(), "u1", &got)
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
	var members []string
	got := subscriptionIDs{members: &members}
	body, err := flowgladapi.ParseBillingBodyVisit([]byte(visitBody), &got)
	require.NoError(t, err)
	assert.Equal(t, 1, got.starts)
	assert.Equal(t, `"c1"`, got.customer)
	assert.Len(t, got.subs, 4)
	assert.Equal(t, []string{"customer", "subscriptions", "pricingModel"}, members)
	assert.Equal(t, `{"id":"c1","name":"A"}`, string(body.Member("customer")))

	for _, bad := range []string{`{"subscriptions":[{"id":"s1"}]`, `[{"id":"s1"}]`, `{"subscriptions":[{"id":"s1",}]}`, ``} {
		_, err := flowgladapi.ParseBillingBodyVisit([]byte(bad), &got)
		assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse, "%q", bad)
	}
	_, err = flowgladapi.ParseBillingBodyVisit([]byte(visitBody), nil)
	assert.NoError(t, err)
}

// TestParseBillingBodyVisitAllocations: visiting costs no allocation of its own: the pass
// that checks the body tells the visitor (one value the caller made) what it asks for.
func TestParseBillingBodyVisitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	raw := []byte(visitBody)
	v := &countFields{}
	plain := testing.AllocsPerRun(100, func() {
		_, err := flowgladapi.ParseBillingBody(raw)
		require.NoError(t, err)
	})
	visited := testing.AllocsPerRun(100, func() {
		_, err := flowgladapi.ParseBillingBodyVisit(raw, v)
		require.NoError(t, err)
	})
	assert.Equal(t, plain, visited)
	assert.Positive(t, v.fields)
}

// countFields counts the fields of every member's objects, allocating nothing.
type countFields struct{ fields int }

func (c *countFields) Start()                {}
func (c *countFields) Descend(k []byte) bool { return true }
func (c *countFields) Field(k, v []byte)     { c.fields++ }
func (c *countFields) Element(e []byte)      {}
func (c *countFields) Member(k, v []byte)    {}
