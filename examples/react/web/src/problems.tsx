// One place to collect every error the page knows about, so they all end up
// in a single visible banner instead of a console line or a blank card.
//
// Hook errors (useBilling().errors, useUsageMeters().error, ...) are reported
// with useHookProblem and disappear when the hook recovers; errors from button
// actions are reported with reportAction and stay until dismissed.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react'

export interface Problem {
  /** Who failed: a hook or action name, shown in the banner. */
  source: string
  message: string
  dismissible: boolean
}

interface ProblemsApi {
  problems: Problem[]
  set: (source: string, message: string | null, dismissible?: boolean) => void
}

const ProblemsContext = createContext<ProblemsApi | null>(null)

export function ProblemsProvider({ children }: { children: ReactNode }) {
  const [problems, setProblems] = useState<Problem[]>([])
  const set = useCallback((source: string, message: string | null, dismissible = false) => {
    setProblems((current) => {
      const others = current.filter((p) => p.source !== source)
      return message ? [...others, { source, message, dismissible }] : others
    })
  }, [])
  const value = useMemo(() => ({ problems, set }), [problems, set])
  return <ProblemsContext.Provider value={value}>{children}</ProblemsContext.Provider>
}

function useProblemsApi(): ProblemsApi {
  const api = useContext(ProblemsContext)
  if (!api) throw new Error('ProblemsProvider is missing')
  return api
}

export function useProblems(): ProblemsApi {
  return useProblemsApi()
}

/** Mirrors a hook's current error into the banner (null clears it). */
export function useHookProblem(source: string, message: string | null | undefined) {
  const { set } = useProblemsApi()
  useEffect(() => {
    set(source, message ?? null)
  }, [set, source, message])
  // Clear it when the component that owns the hook unmounts.
  useEffect(() => () => set(source, null), [set, source])
}

/** Reports (or clears, with null) the outcome of a button action. */
export function useActionReporter() {
  const { set } = useProblemsApi()
  return useCallback(
    (action: string, message: string | null) => set(action, message, true),
    [set],
  )
}

/** Best-effort message from anything a promise may reject with. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error)
  } catch {
    return String(error)
  }
}

/**
 * The SDK's action results carry `{error: {code, json}}`; our Go handler puts
 * the human sentence in json.message (and in message).
 */
export function sdkErrorMessage(error: { code?: string; json?: Record<string, unknown>; message?: unknown }): string {
  const jsonMessage = error.json?.message
  if (typeof jsonMessage === 'string' && jsonMessage) return jsonMessage
  if (typeof error.message === 'string' && error.message) return error.message
  return error.code ? `error code ${error.code}` : 'unknown error'
}
