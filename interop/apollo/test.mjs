// End-to-end: Apollo Client 4 (auth link + HttpLink, GraphQLWsLink, split)
// and the bare graphql-ws client against todo-graphql's HTTP and
// graphql-transport-ws doors (CONTRACT §3, §6, §9).
// Run with `npm test` (node --test); needs the todo-graphql binary
// (TODO_GRAPHQL_BIN, else $CARGO_TARGET_DIR/debug/todo-graphql, else the
// workspace's target/debug/todo-graphql).
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { startApi } from "../server.mjs";

const PASSWORD = "correct horse battery";

/** One plain HTTP GraphQL request (not through Apollo); throws on errors. */
async function gql_(url, token, query, variables = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (res.status !== 200 || body.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body.data;
}

const AUTH_FIELDS = "accessToken refreshToken expiresIn user { id email }";
const signup = async (url, email) =>
  (await gql_(url, null, `mutation($i: SignupInput!) { signup(input: $i) { ${AUTH_FIELDS} } }`,
    { i: { email, password: PASSWORD, name: email.split("@")[0] } })).signup;
const login = async (url, email) =>
  (await gql_(url, null, `mutation($i: LoginInput!) { login(input: $i) { ${AUTH_FIELDS} } }`,
    { i: { email, password: PASSWORD } })).login;
const refresh = async (url, refreshToken) =>
  (await gql_(url, null, `mutation($r: String!) { refreshToken(refreshToken: $r) { ${AUTH_FIELDS} } }`,
    { r: refreshToken })).refreshToken;
const createTask = async (url, token, title) =>
  (await gql_(url, token, "mutation($t: String!) { createTask(input: {title: $t}) { id title completed } }", { t: title })).createTask;
const setCompleted = async (url, token, id, completed) =>
  (await gql_(url, token, "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { id completed } }", { id, c: completed })).setTaskCompleted;

const jwtExp = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url")).exp;

/** A FIFO of pushed values with a timed `next()`. */
function queue() {
  const items = [];
  const waiters = [];
  return {
    push(x) {
      const w = waiters.shift();
      if (w) w(x); else items.push(x);
    },
    next(ms, what = "an event") {
      if (items.length) return Promise.resolve(items.shift());
      return new Promise((resolve, reject) => {
        const w = (x) => { clearTimeout(timer); resolve(x); };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
        }, ms);
        waiters.push(w);
      });
    },
    get size() { return items.length; },
  };
}

/**
 * graphql-ws sends `subscribe` without any acknowledgement, so before testing
 * delivery, create probe tasks until one's CREATED event comes back. Events
 * are in commit order per user, so once the latest probe arrives no older
 * probe event can still be queued. Anything other than a probe fails.
 */
async function untilLive(events, makeProbe, tries = 20) {
  const probes = new Set();
  for (let i = 0; i < tries; i++) {
    const id = await makeProbe(i);
    probes.add(id);
    const deadline = Date.now() + 500;
    for (;;) {
      let ev;
      try { ev = await events.next(Math.max(1, deadline - Date.now())); } catch { break; }
      assert.ok(probes.has(ev.taskId), `unexpected event while probing: ${JSON.stringify(ev)}`);
      assert.equal(ev.kind, "CREATED");
      if (ev.taskId === id) return;
    }
  }
  throw new Error("the subscription never delivered a probe event");
}

const TASK_EVENTS = "subscription { taskEvents { kind taskId task { id title completed } } }";

test("Apollo Client: auth link, GraphQLWsLink, split; events update the normalised cache without a refetch", async (t) => {
  const api = await startApi();
  const cleanups = [api.stop];
  t.after(async () => { for (const c of cleanups.reverse()) await c(); });

  let currentToken = null;
  let httpCalls = 0;
  const authLink = new SetContextLink((prev) => ({
    headers: { ...prev.headers, ...(currentToken ? { authorization: `Bearer ${currentToken}` } : {}) },
  }));
  const httpLink = new HttpLink({ uri: api.url, fetch: (...args) => { httpCalls++; return fetch(...args); } });
  const wsClosed = [];
  const wsClient = createClient({
    url: api.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: () => ({ Authorization: `Bearer ${currentToken}` }),
    retryAttempts: 3,
    retryWait: () => sleep(100),
    shouldRetry: () => true,
    on: { closed: (e) => wsClosed.push(e.code) },
  });
  cleanups.push(() => wsClient.dispose());
  const link = ApolloLink.split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === "OperationDefinition" && def.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    authLink.concat(httpLink),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  cleanups.push(() => client.stop());

  // Sign up through Apollo (no token yet: the auth link adds no header).
  const signed = await client.mutate({
    mutation: gql`mutation($i: SignupInput!) { signup(input: $i) { accessToken refreshToken user { id email } } }`,
    variables: { i: { email: "ada@example.com", password: PASSWORD, name: "Ada" } },
  });
  assert.equal(signed.data.signup.user.email, "ada@example.com");
  currentToken = signed.data.signup.accessToken;

  const CREATE = gql`mutation($t: String!) { createTask(input: {title: $t}) { id title completed } }`;
  const a = (await client.mutate({ mutation: CREATE, variables: { t: "write the interop test" } })).data.createTask;
  const b = (await client.mutate({ mutation: CREATE, variables: { t: "run it three times" } })).data.createTask;
  assert.equal(a.completed, false);

  const TASKS = gql`query { tasks(first: 20) { totalCount nodes { id title completed } } }`;
  const listed = await client.query({ query: TASKS, fetchPolicy: "network-only" });
  assert.equal(listed.data.tasks.totalCount, 2);
  assert.deepEqual(new Set(listed.data.tasks.nodes.map((n) => n.id)), new Set([a.id, b.id]));

  // Subscribe through the split link.
  const events = queue();
  const sub = client.subscribe({ query: gql(TASK_EVENTS) }).subscribe({
    next: (r) => events.push(r.error ? { error: r.error } : r.data.taskEvents),
    error: (e) => events.push({ error: e }),
  });
  cleanups.push(() => sub.unsubscribe());
  await untilLive(events, async (i) => (await createTask(api.url, currentToken, `probe ${i}`)).id);

  // A second user's changes (made over plain fetch) must not reach Ada.
  const bob = await signup(api.url, "bob@example.com");
  const bobTask = await createTask(api.url, bob.accessToken, "bob's task");
  await setCompleted(api.url, bob.accessToken, bobTask.id, true);

  // Complete task A with a separate plain fetch, not through Apollo.
  const callsBefore = httpCalls;
  await setCompleted(api.url, currentToken, a.id, true);
  const updated = await events.next(5_000, "the UPDATED event");
  assert.deepEqual(updated, {
    __typename: "TaskEvent", kind: "UPDATED", taskId: a.id,
    task: { __typename: "Task", id: a.id, title: "write the interop test", completed: true },
  }, "the next event after Bob's changes is Ada's own UPDATED");

  // The event has been written into the normalised cache: no refetch.
  const frag = client.readFragment({
    id: client.cache.identify({ __typename: "Task", id: a.id }),
    fragment: gql`fragment T on Task { id title completed }`,
  });
  assert.deepEqual(frag, { __typename: "Task", id: a.id, title: "write the interop test", completed: true });
  const fromCache = await client.query({ query: TASKS, fetchPolicy: "cache-only" });
  const byId = Object.fromEntries(fromCache.data.tasks.nodes.map((n) => [n.id, n.completed]));
  assert.deepEqual(byId, { [a.id]: true, [b.id]: false });
  assert.equal(client.cache.readQuery({ query: TASKS }).tasks.nodes.find((n) => n.id === a.id).completed, true);
  assert.equal(httpCalls, callsBefore, "Apollo made no HTTP request after the change");

  // Once more, the other way round: Bob changes something, then Ada creates.
  await setCompleted(api.url, bob.accessToken, bobTask.id, false);
  const c = await createTask(api.url, currentToken, "third");
  const created = await events.next(5_000, "the CREATED event");
  assert.equal(created.kind, "CREATED");
  assert.equal(created.taskId, c.id);
  await sleep(200);
  assert.equal(events.size, 0, "no stray events (Bob's) queued");
  assert.deepEqual(wsClosed, [], "the socket stayed up");
});

test("graphql-ws retry: a refreshed token reconnects, a logged-out one is refused", async (t) => {
  const cleanups = [];
  t.after(async () => { for (const c of cleanups.reverse()) await c(); });

  await t.test("expired access token: 4403, then a reconnect with a refreshed token", async (st) => {
    const api = await startApi({ ACCESS_TOKEN_TTL: "3" });
    cleanups.push(api.stop);
    let tokens = await signup(api.url, "eve@example.com");
    assert.equal(tokens.expiresIn, 3);
    const firstExp = jwtExp(tokens.accessToken);
    let refreshes = 0;
    const log = []; // { what, code?, at }
    const events = queue();
    const client = createClient({
      url: api.wsUrl,
      webSocketImpl: WebSocket,
      // What an app does: hand out the current token, refreshing it first
      // once its exp has passed.
      connectionParams: async () => {
        if (Date.now() / 1000 >= jwtExp(tokens.accessToken)) {
          tokens = await refresh(api.url, tokens.refreshToken);
          refreshes++;
        }
        return { Authorization: `Bearer ${tokens.accessToken}` };
      },
      retryAttempts: 5,
      retryWait: () => sleep(100),
      shouldRetry: () => true,
      on: {
        connected: () => log.push({ what: "connected", at: Date.now() }),
        closed: (e) => log.push({ what: "closed", code: e.code, at: Date.now() }),
      },
    });
    cleanups.push(() => client.dispose());
    const unsubscribe = client.subscribe({ query: TASK_EVENTS }, {
      next: (r) => events.push(r.errors ? { error: r.errors } : r.data.taskEvents),
      error: (e) => events.push({ error: e }),
      complete: () => events.push({ complete: true }),
    });
    cleanups.push(() => unsubscribe());
    await untilLive(events, async (i) => (await createTask(api.url, tokens.accessToken, `probe ${i}`)).id);

    // Wait for the server to close the socket at exp, and for the reconnect.
    const deadline = Date.now() + 10_000;
    while (log.filter((l) => l.what === "connected").length < 2 && Date.now() < deadline) await sleep(50);
    const close = log.find((l) => l.what === "closed");
    assert.ok(close, `no close observed: ${JSON.stringify(log)}`);
    assert.equal(close.code, 4403);
    st.diagnostic(`closed ${close.at - firstExp * 1000} ms after exp; events: ${JSON.stringify(log.map((l) => [l.code ?? l.what, l.at - firstExp * 1000]))}`);
    assert.ok(close.at >= firstExp * 1000 && close.at < firstExp * 1000 + 1500,
      `closed at ${close.at}, exp ${firstExp * 1000}`);
    assert.deepEqual(log.slice(0, 3).map((l) => l.code ?? l.what), ["connected", 4403, "connected"]);
    assert.equal(refreshes, 1);
    assert.ok(jwtExp(tokens.accessToken) > firstExp);

    // The re-subscribed operation delivers events again.
    await untilLive(events, async (i) => (await createTask(api.url, tokens.accessToken, `after ${i}`)).id);
    const task = await createTask(api.url, tokens.accessToken, "after the reconnect");
    const ev = await events.next(2_000, "the event after the reconnect");
    assert.equal(ev.kind, "CREATED");
    assert.equal(ev.taskId, task.id);
    await client.dispose();
  });

  await t.test("logout: 4403 within a second, and the pre-logout token is refused on retry", async (st) => {
    const api = await startApi(); // default TTL: the old token stays unexpired
    cleanups.push(api.stop);
    const tokens = await signup(api.url, "mallory@example.com");
    const log = [];
    let opened = 0;
    const events = queue();
    const client = createClient({
      url: api.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: () => ({ Authorization: `Bearer ${tokens.accessToken}` }),
      retryAttempts: 2,
      retryWait: () => sleep(100),
      shouldRetry: () => true,
      on: {
        opened: () => opened++,
        connected: () => log.push({ what: "connected", at: Date.now() }),
        closed: (e) => log.push({ what: "closed", code: e.code, at: Date.now() }),
      },
    });
    cleanups.push(() => client.dispose());
    let terminal = null;
    const done = new Promise((resolve) => {
      const unsubscribe = client.subscribe({ query: TASK_EVENTS }, {
        next: (r) => events.push(r.errors ? { error: r.errors } : r.data.taskEvents),
        error: (e) => { terminal = e; resolve(); },
        complete: () => { terminal = "complete"; resolve(); },
      });
      cleanups.push(() => unsubscribe());
    });
    await untilLive(events, async (i) => (await createTask(api.url, tokens.accessToken, `probe ${i}`)).id);

    const t0 = Date.now();
    assert.equal((await gql_(api.url, tokens.accessToken, "mutation { logout }")).logout, true);
    const deadline = Date.now() + 5_000;
    while (!log.some((l) => l.what === "closed") && Date.now() < deadline) await sleep(20);
    const first = log.find((l) => l.what === "closed");
    assert.ok(first, "the socket was not closed after logout");
    assert.equal(first.code, 4403);
    st.diagnostic(`closed ${first.at - t0} ms after logout was sent`);
    assert.ok(first.at - t0 <= 1_000 + 250, `closed ${first.at - t0} ms after logout`);

    // Each retry presents the pre-logout (unexpired) token and is refused.
    await Promise.race([done, sleep(5_000, undefined, { ref: false })]);
    assert.ok(terminal, "the client did not give up");
    assert.equal(terminal.code, 4403, `subscription ended with ${terminal?.code ?? terminal}`);
    assert.deepEqual(log.map((l) => l.code ?? l.what), ["connected", 4403, 4403, 4403]);
    assert.equal(opened, 3, "two retries actually opened sockets");
    assert.ok(jwtExp(tokens.accessToken) > Date.now() / 1000 + 60, "the refused token had not expired");

    // A fresh login (new token version) connects again.
    const again = await login(api.url, "mallory@example.com");
    let connected = false;
    const fresh = createClient({
      url: api.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${again.accessToken}` },
      retryAttempts: 0,
      on: { connected: () => { connected = true; } },
    });
    cleanups.push(() => fresh.dispose());
    const freshEvents = queue();
    fresh.subscribe({ query: TASK_EVENTS }, {
      next: (r) => freshEvents.push(r.data?.taskEvents ?? { error: r.errors }),
      error: (e) => freshEvents.push({ error: e }),
      complete: () => {},
    });
    await untilLive(freshEvents, async (i) => (await createTask(api.url, again.accessToken, `fresh ${i}`)).id);
    assert.ok(connected);
  });
});
