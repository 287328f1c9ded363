package rediscache_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/cache/rediscache"
	"github.com/flowglad-go/flowglad/webhook"
)

// Share billing between the instances of a deployment: each keeps a customer's billing for
// up to a minute in Redis, and a mutation or webhook on any instance is seen by every
// instance's next read. (No Output: it needs a Redis server.)
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "localhost:6379",
		ContextTimeoutEnabled: true, // a timed-out call stops waiting for Redis
	})
	defer rdb.Close()
	cache, err := rediscache.New(rdb, rediscache.WithPrefix("myapp:billing:"))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	h, err := flowglad.NewHandler(flowglad.Config{
		Auth: flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
			return flowglad.Customer{}, flowglad.ErrUnauthenticated // your session lookup
		}),
		// The longest an instance cut off from Redis can leave others reading stale billing.
		BillingCacheTTL: time.Minute,
		BillingCache:    cache,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/api/flowglad/", h)
}

// Connect by URL (redis://, rediss:// or unix://); Close then closes the connection too.
func ExampleNewFromURL() {
	cache, err := rediscache.NewFromURL("redis://localhost:6379/0", rediscache.WithTimeout(100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	_ = flowglad.Config{BillingCacheTTL: time.Minute, BillingCache: cache}
}

// Handle each webhook once across the instances of a deployment: every instance's handler
// claims the delivery's id in Redis. (No Output: it needs a Redis server.)
func ExampleNewWebhookStore() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store := rediscache.NewWebhookStore(rdb, rediscache.WithWebhookPrefix("myapp:webhook:"))

	onCanceled := func(ctx context.Context, e webhook.Event) error {
		return nil // stop the customer's workers, say; an error makes Flowglad retry
	}
	h, err := webhook.NewHandler(os.Getenv("FLOWGLAD_WEBHOOK_SECRET_SUBSCRIPTION_CANCELED"), onCanceled,
		webhook.WithEventType(webhook.SubscriptionCanceled),
		webhook.WithStore(store), // the same store on every endpoint of every instance
	)
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/flowglad/subscription-canceled", h)
}
