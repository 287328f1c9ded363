package webhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/flowglad-go/flowglad/webhook"
)

// exampleSecret is an endpoint's signing secret as Flowglad shows it.
const exampleSecret = "whsec_Zmxvd2dsYWQtZ28gZXhhbXBsZSBrZXku"

// Verify a delivery by hand: the raw body and the request's headers.
func ExampleVerify() {
	body := []byte(`{"id":"sub_1","object":"subscription","customer":{"id":"cus_1","externalId":"user_42"},"pricingModelId":"pm_1"}`)
	sent := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	headers, _ := webhook.Sign(exampleSecret, "msg_2mF1", sent, body) // what Flowglad sends

	now := webhook.WithClock(func() time.Time { return sent.Add(30 * time.Second) }) // arrives 30 s later
	fmt.Println(webhook.Verify(body, headers, exampleSecret, now))

	tampered := []byte(strings.Replace(string(body), "user_42", "user_43", 1))
	fmt.Println(webhook.Verify(tampered, headers, exampleSecret, now))

	late := webhook.WithClock(func() time.Time { return sent.Add(time.Hour) })
	fmt.Println(webhook.Verify(body, headers, exampleSecret, late))
	// Output:
	// <nil>
	// webhook: no valid signature
	// webhook: timestamp too old
}

// Sign a body as Flowglad would, to post it to your handler in a test.
func ExampleSign() {
	body := []byte(`{"id":"cus_1","object":"customer","customer":{"id":"cus_1","externalId":"user_42"}}`)
	h, err := webhook.Sign(exampleSecret, "msg_2mF1", time.Unix(1767268800, 0), body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"svix-id", "svix-timestamp", "svix-signature"} {
		fmt.Println(name+":", h.Get(name))
	}
	// Output:
	// svix-id: msg_2mF1
	// svix-timestamp: 1767268800
	// svix-signature: v1,2YUXAM2dqOtTPMv55CiKRW+/5h+iWeyipmlXZ70j4+s=
}

// One endpoint, registered in Flowglad for subscription.canceled, mounted on
// a mux. A redelivery of the same message is acknowledged without running
// the function again.
func ExampleHandler() {
	onCanceled := func(ctx context.Context, e webhook.Event) error {
		fmt.Println("canceled:", e.ObjectID, "of", e.CustomerExternalID)
		return nil // an error makes Flowglad deliver the event again
	}
	sent := time.Now()
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/flowglad/subscription-canceled", webhook.Handler(exampleSecret, onCanceled,
		webhook.WithEventType(webhook.SubscriptionCanceled),
		webhook.WithLogger(slog.New(slog.DiscardHandler)),
	))

	body := `{"id":"sub_1","object":"subscription","customer":{"id":"cus_1","externalId":"user_42"},"pricingModelId":"pm_1"}`
	headers, _ := webhook.Sign(exampleSecret, "msg_2mF1", sent, []byte(body))
	for range 2 {
		r := httptest.NewRequest("POST", "/webhooks/flowglad/subscription-canceled", strings.NewReader(body))
		maps.Copy(r.Header, headers)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	// Output:
	// canceled: sub_1 of user_42
	// 204
	// 204
}

// Check the endpoint's secret at startup: a secret pasted wrong stops the
// program with an error that says what is wrong and quotes none of it.
func ExampleNewHandler() {
	onEvent := func(ctx context.Context, e webhook.Event) error { return nil }
	for _, secret := range []string{exampleSecret, "sk_test_pasted_the_api_key"} {
		h, err := webhook.NewHandler(secret, onEvent, webhook.WithEventType(webhook.SubscriptionCanceled))
		if err != nil {
			fmt.Println(err) // log.Fatal(err) in main
			continue
		}
		http.NewServeMux().Handle("POST /webhooks/flowglad/subscription-canceled", h)
		fmt.Println("mounted")
	}
	// Output:
	// mounted
	// webhook: invalid signing secret: want whsec_ followed by the standard base64 key Flowglad shows
}
