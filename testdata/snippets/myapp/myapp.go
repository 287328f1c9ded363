// Package myapp stands for the application around a documentation snippet: its users and
// sessions. Snippets call it as myapp.X; the harness signs Alice in with WithUser.
package myapp

import "context"

// User is a signed-in user of the application.
type User struct{ ID, Name, Email string }

type userKey struct{}

// WithUser returns ctx with u signed in, as the application's session middleware would.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFromContext returns the signed-in user, the application's session lookup.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}
