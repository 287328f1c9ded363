package main

// DEMO sign-in. Everything in this file stands in for your application's own
// authentication: it lets a visitor pick one of three fixed users, with no password. Your
// app already knows who is signed in; all flowglad-go needs from it is the Authenticator
// in main.go. The session handling is still done properly (a random id in an HttpOnly,
// SameSite=Lax cookie, the user kept on the server) so the example does not teach bad
// habits.

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

const (
	// sessionCookie names the demo session cookie.
	sessionCookie = "flowglad_demo_session"
	// sessionTTL is how long a demo session lasts.
	sessionTTL = 12 * time.Hour
	// maxLoginBody caps the body of POST /demo/login.
	maxLoginBody = 4 << 10
)

// demoUser is one of the demo's users, in the shape web/src/demoAuth.ts reads.
type demoUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Note is a hint shown in the picker.
	Note string `json:"note,omitempty"`
}

// demoUsers are the users of the demo. Alice and Bob exist in the fake Flowglad API's demo
// seed (on Pro and on Free); Carol does not, so her Flowglad customer is created the first
// time billing is loaded for her.
func demoUsers() []demoUser {
	return []demoUser{
		{ID: "user_alice", Name: "Alice Example", Email: "alice@example.com", Note: "Pro plan"},
		{ID: "user_bob", Name: "Bob Example", Email: "bob@example.com", Note: "Free plan"},
		{ID: "user_carol", Name: "Carol Example", Email: "carol@example.com", Note: "new customer: created on first visit"},
	}
}

// demoAuth serves /demo/* and keeps the sessions. The cookie holds only a random session
// id; the user it stands for is kept here, so a visitor cannot become another user by
// editing the cookie.
type demoAuth struct {
	users []demoUser
	now   func() time.Time

	mu       sync.Mutex
	sessions map[string]demoSession
}

type demoSession struct {
	userID  string
	expires time.Time
}

func newDemoAuth(users []demoUser) *demoAuth {
	return &demoAuth{users: users, now: time.Now, sessions: map[string]demoSession{}}
}

// register mounts the demo routes. The state-changing ones refuse cross-origin browser
// requests (a forged sign-in from another site), as flowglad-go's handler does for its own.
func (d *demoAuth) register(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /demo/users", d.listUsers)
	mux.HandleFunc("GET /demo/session", d.session)
	mux.Handle("POST /demo/login", cop.Handler(http.HandlerFunc(d.login)))
	mux.Handle("POST /demo/logout", cop.Handler(http.HandlerFunc(d.logout)))
	mux.HandleFunc("/demo/", func(w http.ResponseWriter, _ *http.Request) {
		errorJSON(w, http.StatusNotFound, "not found")
	})
}

// GET /demo/users -> {"users": [...]}
func (d *demoAuth) listUsers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"users": d.users})
}

// GET /demo/session -> {"user": {...}} or {"user": null}
func (d *demoAuth) session(w http.ResponseWriter, r *http.Request) {
	u, ok := d.userFrom(r)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"user": nil})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// POST /demo/login {"userId": "..."} -> {"user": {...}}, with a new session cookie.
func (d *demoAuth) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"userId"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody)).Decode(&in); err != nil {
		errorJSON(w, http.StatusBadRequest, "body must be {\"userId\": \"...\"}")
		return
	}
	u, ok := d.user(in.UserID)
	if !ok {
		errorJSON(w, http.StatusBadRequest, "unknown demo user")
		return
	}
	// rand.Text: 128 random bits, more than enough to be unguessable.
	id := rand.Text()
	now := d.now()
	d.mu.Lock()
	// A sign-in always gets a fresh id (no session fixation) and ends the previous session.
	if c, err := r.Cookie(sessionCookie); err == nil {
		delete(d.sessions, c.Value)
	}
	for sid, s := range d.sessions {
		if !now.Before(s.expires) {
			delete(d.sessions, sid)
		}
	}
	d.sessions[id] = demoSession{userID: u.ID, expires: now.Add(sessionTTL)}
	d.mu.Unlock()

	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// POST /demo/logout -> {"user": null}, ending the session and clearing the cookie.
func (d *demoAuth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		d.mu.Lock()
		delete(d.sessions, c.Value)
		d.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusOK, map[string]any{"user": nil})
}

// userFrom returns the user of the request's session, if it has a live one.
func (d *demoAuth) userFrom(r *http.Request) (demoUser, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return demoUser{}, false
	}
	d.mu.Lock()
	s, ok := d.sessions[c.Value]
	d.mu.Unlock()
	if !ok || !d.now().Before(s.expires) {
		return demoUser{}, false
	}
	return d.user(s.userID)
}

func (d *demoAuth) user(id string) (demoUser, bool) {
	for _, u := range d.users {
		if u.ID == id {
			return u, true
		}
	}
	return demoUser{}, false
}

// writeJSON writes v as a JSON answer that no cache keeps (it depends on the session).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
