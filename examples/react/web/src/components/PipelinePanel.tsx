import type { LoadedFlowgladContextValues } from '@flowglad/react'
import { useEffect, useRef, useState } from 'react'
import { type Pipeline, readPipeline } from '../pipeline'

/** How often the panel asks the server where the usage events are. */
const POLL_MS = 500

/**
 * The usage pipeline of POST /api/generate: events queued by the server's
 * usage recorder, being sent, recorded at Flowglad, or refused. Billing shows
 * an event only once it is recorded, so the panel reloads billing then: the
 * balance above drops a moment after a generation, when its batch lands.
 */
export function PipelinePanel({ billing }: { billing: LoadedFlowgladContextValues }) {
  const [pipeline, setPipeline] = useState<Pipeline | null>(null)
  const recorded = useRef<number | null>(null)
  const reload = useRef(billing.reload)
  reload.current = billing.reload

  useEffect(() => {
    const abort = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const poll = async () => {
      try {
        const p = await readPipeline(abort.signal)
        setPipeline(p)
        if (recorded.current !== null && p.recorded > recorded.current) {
          // A batch landed: billing now includes it.
          await reload.current().catch(() => undefined)
        }
        recorded.current = p.recorded
      } catch {
        // The panel is informative: a failed read is tried again at the next tick.
      }
      if (!abort.signal.aborted) timer = setTimeout(poll, POLL_MS)
    }
    void poll()
    return () => {
      abort.abort()
      clearTimeout(timer)
    }
  }, [])

  const cell = (label: string, value: number | undefined, id: string) => (
    <div className="pipeline-cell">
      <span className="pipeline-value" data-testid={id}>
        {value === undefined ? '–' : String(value)}
      </span>
      <span className="muted small">{label}</span>
    </div>
  )

  return (
    <div className="pipeline" data-testid="usage-pipeline">
      <h3 className="subheading">Usage pipeline</h3>
      <p className="muted small">
        The server meters <code>POST /api/generate</code> through a <code>usage.Recorder</code>: the answer does not
        wait for Flowglad, and events go in batches.
      </p>
      <div className="pipeline-cells">
        {cell('queued', pipeline?.queued, 'pipeline-queued')}
        {cell('sending', pipeline?.inFlight, 'pipeline-in-flight')}
        {cell('recorded', pipeline?.recorded, 'pipeline-recorded')}
        {cell('refused', pipeline?.deadLettered, 'pipeline-dead-lettered')}
      </div>
    </div>
  )
}
