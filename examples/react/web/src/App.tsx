import { FlowgladProvider, usePricingModel } from '@flowglad/react'
import { useCallback, useEffect, useState } from 'react'
import { BillingDashboard } from './components/BillingDashboard'
import { CheckoutStatus } from './components/CheckoutStatus'
import { DemoSignIn } from './components/DemoSignIn'
import { ErrorBanner } from './components/ErrorBanner'
import { ErrorBoundary } from './components/ErrorBoundary'
import { PricingTable } from './components/PricingTable'
import { type DemoUser, fetchSession, fetchUsers, login, logout } from './demoAuth'
import { messageOf, ProblemsProvider, useHookProblem } from './problems'

type Session = { state: 'loading' } | { state: 'ready'; user: DemoUser | null }

export function App() {
  return (
    <ProblemsProvider>
      <Page />
    </ProblemsProvider>
  )
}

function Page() {
  const [session, setSession] = useState<Session>({ state: 'loading' })
  const [users, setUsers] = useState<DemoUser[]>([])
  const [authError, setAuthError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  useHookProblem('demo sign-in', authError)

  useEffect(() => {
    let live = true
    Promise.allSettled([fetchSession(), fetchUsers()]).then(([sessionResult, usersResult]) => {
      if (!live) return
      const failures: string[] = []
      if (sessionResult.status === 'fulfilled') {
        setSession({ state: 'ready', user: sessionResult.value })
      } else {
        setSession({ state: 'ready', user: null })
        failures.push(messageOf(sessionResult.reason))
      }
      if (usersResult.status === 'fulfilled') setUsers(usersResult.value)
      else failures.push(messageOf(usersResult.reason))
      setAuthError(failures.length ? failures.join('; ') : null)
    })
    return () => {
      live = false
    }
  }, [])

  // @flowglad/react keeps one QueryClient for the whole page, so billing
  // cached for the previous user would survive a client-side switch. A fresh
  // page load after any sign-in change is the simplest correct answer (and
  // drops ?checkout=... from the URL).
  const switchUser = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true)
    try {
      await action()
      window.location.replace('/')
    } catch (err) {
      setAuthError(messageOf(err))
      setBusy(false)
    }
  }, [])

  const user = session.state === 'ready' ? session.user : null

  return (
    <>
      <header className="topbar">
        <div className="topbar-inner">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true">
              F
            </span>
            <div>
              <strong>flowglad-go</strong>
              <span className="muted"> · React example</span>
            </div>
          </div>
          <DemoSignIn
            users={users}
            user={user}
            busy={busy || session.state === 'loading'}
            onLogin={(userId) => switchUser(() => login(userId))}
            onLogout={() => switchUser(logout)}
          />
        </div>
      </header>
      <main className="container">
        <CheckoutStatus />
        <ErrorBanner />
        <ErrorBoundary>
          {/* No baseURL: the SDK calls /api/flowglad/<action> on this origin,
              where the Go server mounts flowglad-go's handler. */}
          <FlowgladProvider>
            {session.state === 'loading' ? (
              <section className="card">
                <p className="muted">Checking your session…</p>
              </section>
            ) : user ? (
              // key: remount per user so no component state leaks across users.
              <BillingDashboard key={user.id} />
            ) : (
              <SignedOut />
            )}
          </FlowgladProvider>
        </ErrorBoundary>
        <footer className="footer muted">
          Served by Go: <code>/api/flowglad/*</code> is flowglad-go's handler; this page uses the
          published <code>@flowglad/react</code>.
        </footer>
      </main>
    </>
  )
}

/** Signed out: no useBilling (it needs a customer), only the public pricing. */
function SignedOut() {
  const pricingModel = usePricingModel()
  return (
    <>
      <section className="card hero" data-testid="signed-out">
        <h1>Billing, served from Go</h1>
        <p>
          Pick a demo user above to see their plan, feature access, usage and seats. Signed out, the
          pricing below still loads: <code>pricing-models/retrieve</code> answers anonymous visitors
          with the default pricing model.
        </p>
      </section>
      <PricingTable pricingModel={pricingModel} />
    </>
  )
}
