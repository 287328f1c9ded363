// Client for the example server's DEMO sign-in (/demo/*).
//
// This stands in for your application's real authentication. Flowglad never
// sees it directly: the Go handler's Authenticator reads the same session
// cookie and turns it into a Flowglad customer (external id = user id).
// Replace this file with your own login flow.

export interface DemoUser {
  id: string
  name: string
  email: string
  /** A hint shown in the picker ("Pro plan", "new customer", ...). */
  note?: string
}

interface SessionResponse {
  user: DemoUser | null
}

interface UsersResponse {
  users: DemoUser[]
}

async function demoFetch<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { 'Content-Type': 'application/json', ...init?.headers },
    credentials: 'same-origin',
  })
  if (!response.ok) {
    throw new Error(`${init?.method ?? 'GET'} ${path} failed: HTTP ${response.status}`)
  }
  // /demo/logout may answer with an empty body.
  const text = await response.text()
  return (text ? JSON.parse(text) : {}) as T
}

export async function fetchSession(): Promise<DemoUser | null> {
  const body = await demoFetch<SessionResponse>('/demo/session')
  return body.user ?? null
}

export async function fetchUsers(): Promise<DemoUser[]> {
  const body = await demoFetch<UsersResponse>('/demo/users')
  return Array.isArray(body.users) ? body.users : []
}

export async function login(userId: string): Promise<DemoUser | null> {
  const body = await demoFetch<SessionResponse>('/demo/login', {
    method: 'POST',
    body: JSON.stringify({ userId }),
  })
  return body.user ?? null
}

export async function logout(): Promise<void> {
  await demoFetch<unknown>('/demo/logout', { method: 'POST', body: '{}' })
}
