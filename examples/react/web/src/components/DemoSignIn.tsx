import type { DemoUser } from '../demoAuth'

interface Props {
  users: DemoUser[]
  user: DemoUser | null
  busy: boolean
  onLogin: (userId: string) => void
  onLogout: () => void
}

/**
 * The example's stand-in for real authentication. In your app the user is
 * already signed in; the Go handler's Authenticator reads your session.
 */
export function DemoSignIn({ users, user, busy, onLogin, onLogout }: Props) {
  return (
    <section className="demo-auth" aria-label="Demo sign-in" data-testid="demo-auth">
      <p className="demo-auth-label">
        Demo sign-in — replace with your app's auth
      </p>
      <div className="demo-auth-row">
        <span className="demo-auth-current" data-testid="current-user">
          {user ? (
            <>
              Signed in as <strong>{user.name}</strong>
              <span className="muted"> ({user.id})</span>
            </>
          ) : (
            'Signed out'
          )}
        </span>
        <div className="demo-auth-users" role="group" aria-label="Sign in as">
          {users.map((candidate) => {
            const active = candidate.id === user?.id
            return (
              <button
                key={candidate.id}
                type="button"
                className={active ? 'chip chip-active' : 'chip'}
                data-testid={`login-${candidate.id}`}
                aria-pressed={active}
                disabled={busy || active}
                title={candidate.note ? `${candidate.email} · ${candidate.note}` : candidate.email}
                onClick={() => onLogin(candidate.id)}
              >
                {candidate.name}
                {candidate.note && <span className="chip-note">{candidate.note}</span>}
              </button>
            )
          })}
        </div>
        {user && (
          <button
            type="button"
            className="button button-ghost"
            data-testid="logout"
            disabled={busy}
            onClick={onLogout}
          >
            Sign out
          </button>
        )}
      </div>
    </section>
  )
}
