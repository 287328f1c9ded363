package flowgladapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/google/uuid"
)

// UsageEventParams record usage against a subscription. Give exactly one of
// PriceID, PriceSlug, UsageMeterID and UsageMeterSlug.
type UsageEventParams struct {
	SubscriptionID string `json:"subscriptionId"`
	// Amount must be positive.
	Amount int64 `json:"amount"`
	// TransactionID is Flowglad's idempotency key for the event: a repeat
	// with the same id on the same meter is recorded once (the same id on
	// another meter is another event). Empty means a random UUID, chosen
	// once before the first attempt so retries reuse it.
	TransactionID string `json:"transactionId"`
	// UsageDate is epoch milliseconds; nil means now.
	UsageDate *int64 `json:"usageDate,omitempty"`
	// Properties feed count_distinct_properties meters.
	Properties     map[string]any `json:"properties,omitempty"`
	PriceID        string         `json:"priceId,omitempty"`
	PriceSlug      string         `json:"priceSlug,omitempty"`
	UsageMeterID   string         `json:"usageMeterId,omitempty"`
	UsageMeterSlug string         `json:"usageMeterSlug,omitempty"`
}

// CreateUsageEvent calls POST /api/v1/usage-events with {"usageEvent": p}
// and returns the body, {"usageEvent": {...}}. Because the transactionId is
// fixed before the first attempt, the call is retried like a GET.
func (c *Client) CreateUsageEvent(ctx context.Context, p UsageEventParams) (json.RawMessage, error) {
	if p.TransactionID == "" {
		p.TransactionID = uuid.NewString()
	}
	return c.do(ctx, request{
		op: "usageEvents-create", method: http.MethodPost, idempotent: true, want: '{',
		path: pathf("usage-events"),
		body: struct {
			UsageEvent UsageEventParams `json:"usageEvent"`
		}{p},
	})
}

// BulkCreateUsageEvents calls POST /api/v1/usage-events/bulk with
// {"usageEvents": [...]} and returns the body, {"usageEvents": [...]}. Events
// without a TransactionID get a random one before the first attempt (events
// is not modified), so the call is retried like a GET.
//
// The events may be of several customers, each naming its subscription.
// Flowglad inserts them in one transaction: one event it refuses (an unknown
// subscription, meter or price, an archived customer) refuses the batch, and
// nothing is recorded. An event whose TransactionID and meter are recorded
// already is skipped and left out of the answer, which lists only the
// events the successful attempt inserted: match it by TransactionID, never
// by position. So a nil error means every event is at Flowglad, inserted by
// this call or before it (an answer lost on the way back and retried comes
// back empty).
func (c *Client) BulkCreateUsageEvents(ctx context.Context, events []UsageEventParams) (json.RawMessage, error) {
	filled := make([]UsageEventParams, len(events))
	copy(filled, events)
	for i := range filled {
		if filled[i].TransactionID == "" {
			filled[i].TransactionID = uuid.NewString()
		}
	}
	return c.do(ctx, request{
		op: "usageEvents-bulkInsert", method: http.MethodPost, idempotent: true, want: '{',
		path: pathf("usage-events", "bulk"),
		body: struct {
			UsageEvents []UsageEventParams `json:"usageEvents"`
		}{filled},
	})
}
