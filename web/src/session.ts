// The session: the access token in this module's memory only, the refresh
// token in localStorage (so a reload stays signed in), a proactive refresh
// before the access token expires, one shared refresh on an HTTP 401, and a
// sign-out that reaches every tab (BroadcastChannel and the storage event).
import { ApolloClient, ApolloLink, HttpLink, split } from "@apollo/client/core";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { print } from "graphql";
import { createClient } from "graphql-ws";
import { createCache } from "./cache";
import type { SessionFieldsFragment } from "./gql/graphql";
import { LogoutDocument, RefreshDocument } from "./operations";

export type User = SessionFieldsFragment["user"];
export type SessionState =
  | { status: "loading" }
  | { status: "signedOut"; notice?: string; alert?: string }
  | { status: "signedIn"; user: User };

const REFRESH_KEY = "todo-graphql.refreshToken";
const CHANNEL = "todo-graphql.session";
export const ENDED = "Your session has ended. Please sign in again.";

// --- The one place the access token lives: module memory.
let accessToken: string | null = null;
let expiresAt = 0; // ms since epoch
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | null = null;
let generation = 0; // bumped on every sign-in and sign-out, so late answers are ignored
let loggingOut = false;

let state: SessionState = readRefreshToken() ? { status: "loading" } : { status: "signedOut" };
const listeners = new Set<() => void>();
export const getState = () => state;
export function subscribe(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function setState(next: SessionState) {
  state = next;
  for (const fn of listeners) fn();
}

function readRefreshToken(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}
function writeRefreshToken(token: string | null) {
  try {
    if (token) localStorage.setItem(REFRESH_KEY, token);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    /* storage unavailable: the session then ends with the tab */
  }
}

/** Takes a new token pair (signup, login or refresh) into use. */
export function startSession(payload: SessionFieldsFragment) {
  const wasSignedIn = state.status === "signedIn";
  accessToken = payload.accessToken;
  const lifetime = Math.max(1, payload.expiresIn) * 1000;
  expiresAt = Date.now() + lifetime;
  writeRefreshToken(payload.refreshToken);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh(), Math.max(1000, lifetime * 0.7));
  if (wasSignedIn) {
    // A reconnect carries the fresh token (connectionParams reads it):
    // restart the socket now rather than when the server closes it at exp.
    restarting = true;
    wsClient.terminate();
  } else {
    generation++;
    setState({ status: "signedIn", user: payload.user });
  }
  if (wasSignedIn && state.status === "signedIn" && state.user.email !== payload.user.email) {
    setState({ status: "signedIn", user: payload.user });
  }
}

/** Ends the session in this tab; `alert` is shown on the sign-in form. */
function endSession(opts: { alert?: string; notice?: string; broadcast?: boolean } = {}) {
  generation++;
  accessToken = null;
  expiresAt = 0;
  clearTimeout(refreshTimer);
  refreshing = null;
  writeRefreshToken(null);
  if (opts.broadcast) channel?.postMessage({ type: "logout" });
  const old = wsClient;
  wsClient = createWsClient();
  void old.dispose();
  void client.clearStore();
  setState({ status: "signedOut", alert: opts.alert, notice: opts.notice });
}

/** POSTs one operation with plain fetch (used for refresh: no auth link). */
async function post(operationName: string, query: string, variables: Record<string, unknown>, token?: string | null) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ operationName, query, variables }),
  });
  return (await res.json()) as { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** Trades the refresh token for a new pair; one refresh in flight at a time.
 * Resolves true when a fresh access token is in memory. */
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  const token = readRefreshToken();
  if (!token) {
    if (state.status !== "signedOut") endSession({ alert: ENDED });
    return Promise.resolve(false);
  }
  const gen = generation;
  const holder: { attempt?: Promise<boolean> } = {};
  const attempt = (async () => {
    try {
      const result = await post("Refresh", print(RefreshDocument), { refreshToken: token });
      if (gen !== generation) return false;
      const payload = result.data?.refreshToken as SessionFieldsFragment | undefined;
      if (payload) {
        startSession(payload);
        return true;
      }
      endSession({ alert: ENDED });
      return false;
    } catch {
      // The server is unreachable: keep the session, try again shortly.
      if (gen === generation && state.status !== "signedOut") {
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(() => void refresh(), 5000);
        if (state.status === "loading") endSession({ alert: "The server cannot be reached. Please try again." });
      }
      return false;
    } finally {
      if (refreshing === holder.attempt) refreshing = null;
    }
  })();
  holder.attempt = attempt;
  refreshing = attempt;
  return attempt;
}

/** Signs out: `logout` ends every session of the user on the server (all
 * refresh tokens die), then this tab and every other one forget theirs. */
export async function logout() {
  const token = accessToken;
  loggingOut = true;
  try {
    if (token) await authFetch("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ operationName: "Logout", query: print(LogoutDocument) }) });
  } catch {
    /* signed out locally all the same */
  }
  endSession({ broadcast: true, notice: "You are signed out." });
  loggingOut = false;
}

// --- Other tabs.
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
channel?.addEventListener("message", (e: MessageEvent) => {
  if (e.data?.type === "logout" && state.status !== "signedOut") endSession({ notice: "You signed out in another tab." });
});
window.addEventListener("storage", (e) => {
  if ((e.key === REFRESH_KEY || e.key === null) && e.newValue === null && state.status === "signedIn") {
    endSession({ notice: "You signed out in another tab." });
  }
});

// --- HTTP: the current token on every request; a 401 refreshes once and retries.
export async function authFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const send = (token: string | null) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    else headers.delete("authorization");
    return fetch(input, { ...init, headers });
  };
  const sent = accessToken;
  const res = await send(sent);
  if (res.status !== 401 || !sent) return res;
  // Another request may already have refreshed: use its token, else refresh.
  const ok = accessToken !== sent ? true : await refresh();
  if (!ok || !accessToken) return res;
  return send(accessToken);
}

// --- WebSocket: connectionParams reads the CURRENT token at every (re)connect.
let reconnectListener: (() => void) | null = null;
let restarting = false; // the socket is being restarted for a fresh token
export const onReconnect = (fn: (() => void) | null) => void (reconnectListener = fn);

/** A WebSocket that, closed while still connecting, closes once open
 * instead (closing a connecting socket is an error in browsers). */
class PatientWebSocket extends WebSocket {
  close(code?: number, reason?: string) {
    if (this.readyState === WebSocket.CONNECTING) {
      this.addEventListener("open", () => super.close(code, reason), { once: true });
      return;
    }
    super.close(code, reason);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let authCheck: Promise<boolean> | null = null; // a refresh after the socket was refused

function createWsClient() {
  return createClient({
    url: () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`,
    webSocketImpl: PatientWebSocket,
    lazy: true,
    connectionParams: async () => {
      if (accessToken && expiresAt - Date.now() < 1000) await refresh();
      return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
    },
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => state.status === "signedIn" && !loggingOut,
    retryWait: async (retries) => {
      if (authCheck) await authCheck;
      await sleep(retries === 0 ? 0 : Math.min(30_000, 250 * 2 ** retries));
    },
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry && !restarting) reconnectListener?.();
        restarting = false;
      },
      closed: (event) => {
        // 4403: the server refused the token (expired, or every session was
        // ended elsewhere). Refresh before reconnecting: a new token
        // reconnects, a refused refresh ends the session. A moment's wait
        // lets a sign-out broadcast by the tab that logged out arrive first.
        if ((event as CloseEvent | undefined)?.code !== 4403 || loggingOut || state.status !== "signedIn" || authCheck) return;
        const gen = generation;
        const check = sleep(500).then(() => (gen === generation && !loggingOut && state.status === "signedIn" ? refresh() : false));
        authCheck = check.finally(() => {
          if (authCheck === guarded) authCheck = null;
        });
        const guarded = authCheck;
      },
    },
  });
}
let wsClient = createWsClient();

const httpLink = new HttpLink({ uri: "/graphql", fetch: authFetch });
// The socket of the current session (each session gets its own client).
const wsLink = new ApolloLink((operation) => new GraphQLWsLink(wsClient).request(operation));

export const client = new ApolloClient({
  cache: createCache(),
  link: split(({ query }) => {
    const def = getMainDefinition(query);
    return def.kind === "OperationDefinition" && def.operation === "subscription";
  }, wsLink, httpLink),
  defaultOptions: { watchQuery: { errorPolicy: "none" } },
});

/** On load: a stored refresh token brings the session back. */
export function boot() {
  if (state.status === "loading") void refresh();
}
