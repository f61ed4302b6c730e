// End-to-end: a real Better Auth server (jwt plugin) signs people in, and
// todo-graphql accepts its JWTs through the issuer's JWKS (CONTRACT §8).
// Run with `node --test`; needs the todo-graphql binary (TODO_GRAPHQL_BIN,
// default: the workspace's target/debug/todo-graphql).
import { test } from "node:test";
import assert from "node:assert/strict";
import { startIssuer, signUpAndGetToken } from "./client.mjs";
import { startApi } from "../server.mjs";

/** Starts todo-graphql trusting the Better Auth server at `issuerUrl`. */
function startApiFor(issuerUrl) {
  return startApi({
    AUTH_JWKS_URL: `${issuerUrl}/api/auth/jwks`,
    // Better Auth's iss and aud both default to its baseURL.
    AUTH_EXTERNAL_ISSUER: issuerUrl,
    AUTH_EXTERNAL_AUDIENCE: issuerUrl,
    RUST_LOG: "warn,todo_graphql=info",
  });
}

async function gql(url, token, query, variables = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

for (const alg of ["EdDSA", "ES256", "RS256", "PS256"]) {
  test(`Better Auth ${alg} tokens drive the API, and users stay apart`, async (t) => {
    const issuer = await startIssuer({ alg });
    t.after(() => issuer.stop());
    const api = await startApiFor(issuer.url);
    t.after(() => api.stop());

    const ada = await signUpAndGetToken(issuer.url, { email: `ada-${alg}@example.com`, password: "correct horse battery", name: "Ada" });
    const bob = await signUpAndGetToken(issuer.url, { email: `Bob-${alg}@Example.com`, password: "correct horse battery", name: "Bob" });
    const header = JSON.parse(Buffer.from(ada.split(".")[0], "base64url"));
    assert.equal(header.alg, alg);

    const me = await gql(api.url, ada, "{ me { id email name } }");
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.data.me.email, `ada-${alg.toLowerCase()}@example.com`);
    assert.equal(me.body.data.me.name, "Ada");

    const created = await gql(api.url, ada, "mutation($t: String!) { createTask(input: {title: $t}) { id title completed } }", { t: `from ${alg}` });
    assert.equal(created.body.data.createTask.title, `from ${alg}`);
    const id = created.body.data.createTask.id;

    const mine = await gql(api.url, ada, "{ tasks { totalCount nodes { id } } }");
    assert.deepEqual(mine.body.data.tasks, { totalCount: 1, nodes: [{ id }] });

    // Bob sees nothing of Ada's, and cannot touch it.
    const bobMe = await gql(api.url, bob, "{ me { id email } }");
    assert.equal(bobMe.body.data.me.email, `bob-${alg.toLowerCase()}@example.com`);
    assert.notEqual(bobMe.body.data.me.id, me.body.data.me.id);
    const bobs = await gql(api.url, bob, "{ tasks { totalCount } }");
    assert.equal(bobs.body.data.tasks.totalCount, 0);
    for (const op of [
      "query($id: ID!) { task(id: $id) { id } }",
      "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }",
      "mutation($id: ID!) { deleteTask(id: $id) }",
    ]) {
      const r = await gql(api.url, bob, op, { id });
      assert.equal(r.body.errors[0].extensions.code, "NOT_FOUND", op);
    }
    const still = await gql(api.url, ada, "query($id: ID!) { task(id: $id) { completed } }", { id });
    assert.equal(still.body.data.task.completed, false);

    // A tampered token is refused with 401.
    const [h, p, s] = ada.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    claims.sub = "someone-else";
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    const refused = await gql(api.url, forged, "{ me { id } }");
    assert.equal(refused.status, 401);
    assert.equal(refused.body.errors[0].extensions.code, "UNAUTHENTICATED");
  });
}

test("Better Auth tokens and scopes: default scopes, and a scoped API token made by a Better Auth user", async (t) => {
  const issuer = await startIssuer({ alg: "EdDSA" });
  t.after(() => issuer.stop());
  // Better Auth's jwt plugin sends no scope claim: AUTH_EXTERNAL_DEFAULT_SCOPES decides.
  const readOnly = await startApi({
    AUTH_JWKS_URL: `${issuer.url}/api/auth/jwks`,
    AUTH_EXTERNAL_ISSUER: issuer.url,
    AUTH_EXTERNAL_AUDIENCE: issuer.url,
    AUTH_EXTERNAL_DEFAULT_SCOPES: "tasks:read,profile:read",
    RUST_LOG: "warn,todo_graphql=info",
  });
  t.after(() => readOnly.stop());
  const ada = await signUpAndGetToken(issuer.url, { email: "scoped-ada@example.com", password: "correct horse battery", name: "Ada" });
  const read = await gql(readOnly.url, ada, "{ tasks { totalCount } me { email } }");
  assert.deepEqual(read.body.data, { tasks: { totalCount: 0 }, me: { email: "scoped-ada@example.com" } });
  const write = await gql(readOnly.url, ada, "mutation { createTask(input: {title: \"x\"}) { id } }");
  assert.equal(write.status, 403, JSON.stringify(write.body));
  assert.equal(write.body.errors[0].extensions.code, "FORBIDDEN");
  assert.deepEqual(write.body.errors[0].extensions.requiredScopes, [["tasks:write"]]);

  // With the defaults (all four), the same user makes a read-only API token for a script.
  const api = await startApiFor(issuer.url);
  t.after(() => api.stop());
  const made = await gql(api.url, ada, "mutation { createApiToken(input: {name: \"backup\", scopes: [TASKS_READ]}) { token apiToken { scopes } } }");
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const secret = made.body.data.createApiToken.token;
  assert.match(secret, /^tgq_[A-Za-z0-9_-]{43}$/);
  await gql(api.url, ada, "mutation { createTask(input: {title: \"from Better Auth\"}) { id } }");
  const listed = await gql(api.url, secret, "{ tasks { nodes { title } } }");
  assert.deepEqual(listed.body.data.tasks.nodes, [{ title: "from Better Auth" }]);
  const refused = await gql(api.url, secret, "mutation { createTask(input: {title: \"y\"}) { id } }");
  assert.equal(refused.status, 403);
  assert.equal(refused.body.errors[0].extensions.code, "FORBIDDEN");
});
