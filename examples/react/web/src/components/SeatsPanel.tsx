import { useResources } from '@flowglad/react'
import { useState } from 'react'
import { messageOf, useActionReporter, useHookProblem } from '../problems'

const SEATS = 'seats'

/**
 * Resource claims: a plan grants a capacity of "seats" and the app claims and
 * releases them (for example when inviting or removing a team member).
 * Mounted only while the customer has a current subscription, because the
 * server resolves the subscription for claims from it.
 */
export function SeatsPanel() {
  const { resources, isLoading, error, claim, release } = useResources()
  useHookProblem('useResources', error?.message)
  const report = useActionReporter()
  const [pending, setPending] = useState<'claim' | 'release' | null>(null)

  const seats = resources?.find((resource) => resource.resourceSlug === SEATS)
  const known = resources !== undefined
  const capacity = seats?.capacity ?? 0
  const claimed = seats?.claimed ?? 0
  const available = seats?.available ?? 0

  const run = async (kind: 'claim' | 'release') => {
    setPending(kind)
    report(`resources/${kind}`, null)
    try {
      // Both mutations refetch resources/usages themselves on success.
      if (kind === 'claim') await claim({ resourceSlug: SEATS, quantity: 1 })
      else await release({ resourceSlug: SEATS, quantity: 1 })
    } catch (err) {
      report(`resources/${kind}`, messageOf(err))
    } finally {
      setPending(null)
    }
  }

  const value = (n: number) => (known ? String(n) : '–')

  return (
    <section className="card" data-testid="seats-panel" data-state={known ? 'ready' : 'loading'}>
      <h2>Seats</h2>
      <p className="muted">
        <code>useResources()</code> — capacity comes from the plan; claims are made by your app.
      </p>
      <dl className="stats">
        <div>
          <dt>Capacity</dt>
          <dd data-testid="seats-capacity">{value(capacity)}</dd>
        </div>
        <div>
          <dt>Claimed</dt>
          <dd data-testid="seats-claimed">{value(claimed)}</dd>
        </div>
        <div>
          <dt>Available</dt>
          <dd data-testid="seats-available">{value(available)}</dd>
        </div>
      </dl>
      {known && !seats && <p className="muted">Your plan includes no seats.</p>}
      {isLoading && <p className="muted">Loading seats…</p>}
      <div className="actions">
        <button
          type="button"
          className="button"
          data-testid="claim-seat"
          disabled={!seats || available <= 0 || pending !== null}
          onClick={() => run('claim')}
        >
          {pending === 'claim' ? 'Claiming…' : 'Claim seat'}
        </button>
        <button
          type="button"
          className="button button-ghost"
          data-testid="release-seat"
          disabled={!seats || claimed <= 0 || pending !== null}
          onClick={() => run('release')}
        >
          {pending === 'release' ? 'Releasing…' : 'Release seat'}
        </button>
      </div>
    </section>
  )
}
