// GraphiQL at GET /graphql, driven through its own UI in a real browser:
// Debian's chromium, headless, through puppeteer-core (no browser download).
//
//   cd interop/browser && npm ci && npm test
//
// Which server:
// - default: starts the todo-graphql binary (TODO_GRAPHQL_BIN, else
//   $CARGO_TARGET_DIR/debug/todo-graphql, else target/debug/todo-graphql; see
//   ../server.mjs) on a fresh SQLite file and drives its own /graphql page;
// - GRAPHIQL_DEVSERVER=1: the same binary, behind devserver.mjs, which serves
//   graphiql/dist/ the way the binary is meant to (for a binary that does not
//   embed dist/ yet);
// - TODO_GRAPHQL_URL=http://host:port/graphql: a server already running (the
//   GRAPHIQL=false case is then skipped).
// CHROMIUM_BIN overrides /usr/bin/chromium. UPDATE_DOCS_SCREENSHOT=1 copies
// the tasks screenshot to docs/graphiql-tasks.png.
//
// Fails on any request to another origin, any failed request (network error
// or HTTP status >= 400), any console error or uncaught exception, and any
// CSP violation. Prints the page weight (bytes transferred, compressed, from
// CDP's encodedDataLength) and the time until the editor is ready.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { startApi } from "../server.mjs";
import { DIST, startDevServer } from "./devserver.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SHOTS = join(HERE, "screenshots");
const DOCS_SHOT = fileURLToPath(new URL("../../docs/graphiql-tasks.png", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const MODE = process.env.TODO_GRAPHQL_URL ? "url" : process.env.GRAPHIQL_DEVSERVER === "1" ? "devserver" : "binary";
const INDEX = readFileSync(join(DIST, "index.html"));
const CSP = readFileSync(join(DIST, "csp.txt"), "utf8").trim();
const ASSETS = readdirSync(join(DIST, "assets")).sort();

/** The server under test; resolves with { url, stop }. */
async function startServer({ graphiql = true } = {}) {
  if (MODE === "url") return { url: process.env.TODO_GRAPHQL_URL, stop: async () => {} };
  const api = await startApi({ GRAPHIQL: String(graphiql), RUST_LOG: "warn,todo_graphql=info" });
  if (MODE === "binary") return api;
  const dev = await startDevServer({ backend: api.url, graphiql });
  return { url: dev.url, stop: async () => { await dev.stop(); await api.stop(); } };
}

async function launch(t) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), "graphiql-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    defaultViewport: { width: 1280, height: 800 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

/** Records everything `page` does; `problems` collects what fails the test. */
async function watch(page, origin, label) {
  const w = { problems: [], requests: [], sockets: [], frames: [], bytes: new Map(), closing: false };
  const flag = (what) => { if (!w.closing) w.problems.push(`[${label}] ${what}`); };
  const own = new URL(origin);
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  cdp.on("Network.requestWillBeSent", (e) => {
    w.requests.push({ id: e.requestId, method: e.request.method, url: e.request.url });
    const u = new URL(e.request.url);
    if (u.origin !== own.origin) flag(`request to another origin: ${e.request.method} ${e.request.url}`);
  });
  cdp.on("Network.responseReceived", (e) => {
    if (e.response.status >= 400) flag(`HTTP ${e.response.status}: ${e.response.url}`);
  });
  cdp.on("Network.loadingFinished", (e) => w.bytes.set(e.requestId, e.encodedDataLength));
  cdp.on("Network.loadingFailed", (e) => flag(`request failed (${e.errorText}${e.blockedReason ? `, ${e.blockedReason}` : ""}): ${w.requests.find((r) => r.id === e.requestId)?.url}`));
  cdp.on("Network.webSocketCreated", (e) => {
    w.sockets.push(e.url);
    const u = new URL(e.url);
    const expected = own.protocol === "https:" ? "wss:" : "ws:";
    if (u.host !== own.host || u.protocol !== expected) flag(`WebSocket to another origin: ${e.url}`);
  });
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) => {
    if (e.response.status !== 101) flag(`WebSocket handshake answered ${e.response.status}`);
  });
  cdp.on("Network.webSocketFrameError", (e) => flag(`WebSocket frame error: ${e.errorMessage}`));
  cdp.on("Network.webSocketFrameSent", (e) => w.frames.push({ dir: "sent", data: e.response.payloadData }));
  cdp.on("Network.webSocketFrameReceived", (e) => w.frames.push({ dir: "received", data: e.response.payloadData }));
  page.on("console", (m) => {
    if (m.type() === "error" || /Content.Security.Policy/i.test(m.text())) flag(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => flag(`uncaught: ${e.message}`));
  await page.exposeFunction("__reportCspViolation", (v) => flag(`CSP violation: ${v}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber} ${e.sample}`));
    // When the query editor first exists, relative to navigation start.
    new MutationObserver((_, observer) => {
      if (document.querySelector(".graphiql-query-editor .CodeMirror")) {
        window.__editorReadyAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  w.transferred = () => [...w.bytes.values()].reduce((a, b) => a + b, 0);
  return w;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const QUERY = ".graphiql-query-editor .CodeMirror";
const HEADERS = "section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
const RESULT = ".result-window .CodeMirror";

/** The text of the CodeMirror editor at `selector`. */
const editorText = (page, selector) => page.$eval(selector, (el) => el.CodeMirror.getValue());

/** Clicks into an editor, selects everything and types `text` over it (as
 * one input event, the way a paste or an IME lands: CodeMirror's bracket
 * auto-closing and hints react to key presses, not to inserted text). */
async function typeInto(page, selector, text) {
  await page.click(selector);
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyA");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  await page.keyboard.sendCharacter(text);
  const squash = (s) => s.replace(/\s+/g, "");
  assert.equal(squash(await editorText(page, selector)), squash(text));
  // No pause before the run that follows: GraphiQL learns the operation
  // name a moment after an edit (debounced), and a person presses
  // Ctrl-Enter at once; the IDE's fetcher must send what the editor shows.
}

async function ctrlEnter(page) {
  await page.keyboard.down("Control");
  await page.keyboard.press("Enter");
  await page.keyboard.up("Control");
}

/** Waits until the result pane holds JSON for which `accept` is true. */
async function waitForResult(page, accept, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    last = await editorText(page, RESULT);
    try {
      const json = JSON.parse(last);
      if (accept(json)) return json;
    } catch { /* not JSON yet */ }
    await sleep(100);
  }
  const shot = join(SHOTS, `failed-${what.replace(/\W+/g, "-")}.png`);
  await page.screenshot({ path: shot }).catch(() => {});
  throw new Error(`result pane never showed ${what} (see ${shot}); it shows:\n${last}`);
}

async function showHeaders(page) {
  const [tab] = await page.$$("xpath/.//div[contains(@class,'graphiql-editor-tools')]/button[normalize-space()='Headers']");
  assert.ok(tab, "the Headers tab exists");
  await tab.click();
  await page.waitForSelector("section.graphiql-editor-tool[aria-label='Headers']");
}

async function gql(url, token, query, variables = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

test("the IDE is served as built: graphiql/dist, its CSP, immutable compressed assets", { timeout: 60_000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const page = await fetch(server.url, { headers: { accept: "text/html" } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  assert.equal(page.headers.get("content-security-policy"), CSP);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(Buffer.from(await page.arrayBuffer()).toString(), INDEX.toString(), "GET /graphql serves graphiql/dist/index.html");
  const types = { js: /^text\/javascript/, css: /^text\/css/, svg: /^image\/svg\+xml/, png: /^image\/png/, woff: /^font\/woff$/, woff2: /^font\/woff2$/ };
  for (const file of ASSETS) {
    const res = await fetch(new URL(`/graphiql/assets/${file}`, server.url), { headers: { "accept-encoding": "br, gzip" } });
    assert.equal(res.status, 200, file);
    const ext = file.slice(file.lastIndexOf(".") + 1);
    assert.match(res.headers.get("content-type") ?? "", types[ext], file);
    assert.match(res.headers.get("cache-control") ?? "", /immutable/, file);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", file);
    if (ext === "js" || ext === "css") assert.match(res.headers.get("content-encoding") ?? "", /^(br|gzip|zstd)$/, `${file} is compressed`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(DIST, "assets", file))), `${file} is served as built`);
  }
  const missing = await fetch(new URL("/graphiql/assets/nope.000000000000.js", server.url));
  assert.equal(missing.status, 404);
});

test("GraphiQL in chromium: sign up, headers, create, query, live taskEvents; nothing leaves the origin", { timeout: 180_000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launch(t);
  mkdirSync(SHOTS, { recursive: true });
  const origin = new URL(server.url).origin;

  // --- Tab 1: first contact, on an empty profile (nothing cached).
  const page = await browser.newPage();
  const w1 = await watch(page, origin, "tab 1");
  const nav = await page.goto(server.url, { waitUntil: "load" });
  assert.equal(nav.status(), 200);
  await page.waitForSelector(QUERY);
  // The schema has arrived when the docs explorer can show the root types.
  await page.click("button[aria-label='Show Documentation Explorer']");
  await page.waitForSelector("xpath/.//div[contains(@class,'graphiql-doc-explorer')]//a[normalize-space()='Query']", { timeout: 15_000 });
  const schemaAt = await page.evaluate(() => {
    const gqlFetch = performance.getEntriesByType("resource").find((e) => new URL(e.name).pathname === "/graphql");
    return gqlFetch?.responseEnd;
  });
  const editorAt = await page.evaluate(() => window.__editorReadyAt);
  assert.ok(typeof editorAt === "number" && typeof schemaAt === "number", "editor and schema timings were recorded");
  await page.waitForNetworkIdle({ idleTime: 300 });
  const loadBytes = w1.transferred();
  const loadRequests = w1.requests.length;
  await page.screenshot({ path: join(SHOTS, "01-first-contact.png") });

  // The first-run document teaches the flow.
  const firstRun = await editorText(page, QUERY);
  for (const piece of [/mutation Signup[\s\S]*signup\(input:/, /\{"Authorization": "Bearer <accessToken>"\}/, /Headers/, /query MyTasks[\s\S]*tasks\(/, /subscription TaskEvents[\s\S]*taskEvents/]) {
    assert.match(firstRun, piece);
  }

  // The explorer plugin is there and opens.
  await page.click("button[aria-label='Show GraphiQL Explorer']");
  await page.waitForSelector(".graphiql-explorer-root");
  await page.screenshot({ path: join(SHOTS, "02-explorer.png") });
  await page.click("button[aria-label='Hide GraphiQL Explorer']");
  // A dialog (its scroll lock injects the one style the CSP allows by hash).
  await page.click("button[aria-label='Open settings dialog']");
  await page.waitForSelector(".graphiql-dialog");
  await sleep(200);
  await page.keyboard.press("Escape");

  // 1. Sign up: cursor into the first-run Signup mutation, Ctrl-Enter.
  const line = await page.evaluateHandle(
    (sel) => [...document.querySelectorAll(`${sel} .CodeMirror-line`)].find((l) => l.textContent.trim() === "accessToken"),
    QUERY,
  );
  await line.asElement().click();
  await ctrlEnter(page);
  let auth = await waitForResult(page, (r) => r.data?.signup || r.errors, "the signup result");
  if (auth.errors?.[0]?.extensions?.code === "CONFLICT") {
    // A server that already has you@example.com (TODO_GRAPHQL_URL): log in.
    await typeInto(page, QUERY, 'mutation Login {\n  login(input: {email: "you@example.com", password: "correct horse battery"}) {\n    accessToken\n  }\n}\n');
    await ctrlEnter(page);
    auth = await waitForResult(page, (r) => r.data?.login, "the login result");
  }
  const token = (auth.data.signup ?? auth.data.login).accessToken;
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  // 1b. Select all, type `{ __typename }`, Ctrl-Enter at once: GraphiQL still
  // holds "Signup" as the operation name; what runs is what the editor shows.
  await typeInto(page, QUERY, "{ __typename }");
  await ctrlEnter(page);
  const typename = await waitForResult(page, (r) => r.data?.__typename || r.errors, "the __typename result");
  assert.deepEqual(typename, { data: { __typename: "Query" } });

  // 2. The token into the Headers editor.
  await showHeaders(page);
  await typeInto(page, HEADERS, `{"Authorization": "Bearer ${token}"}`);
  await page.keyboard.press("Home"); // show the start of the line, not the token's end

  // 3. Create a task (run button; the editor holds one operation).
  const title = `Walk through GraphiQL ${Date.now()}`;
  await typeInto(page, QUERY, `mutation CreateTask {\n  createTask(input: {title: "${title}", description: "typed into the IDE"}) {\n    id\n    title\n    completed\n  }\n}\n`);
  // With one operation in the editor the run button runs it (with several it
  // opens a menu of them): wait for GraphiQL to have re-parsed the document.
  await page.waitForSelector("button.graphiql-execute-button:not([aria-haspopup])");
  await page.click("button.graphiql-execute-button");
  const created = await waitForResult(page, (r) => r.data?.createTask || r.errors, "the created task");
  assert.equal(created.errors, undefined, JSON.stringify(created.errors));
  const taskId = created.data.createTask.id;
  assert.equal(created.data.createTask.title, title);

  // 4. Read it back with a tasks query.
  await typeInto(page, QUERY, "query MyTasks {\n  tasks(first: 20) {\n    totalCount\n    nodes {\n      id\n      title\n      completed\n    }\n  }\n}\n");
  await ctrlEnter(page);
  const tasks = await waitForResult(page, (r) => r.data?.tasks || r.errors, "the tasks");
  assert.equal(tasks.errors, undefined, JSON.stringify(tasks.errors));
  assert.ok(tasks.data.tasks.nodes.some((n) => n.id === taskId && n.title === title && n.completed === false));
  assert.ok((await page.$eval(".result-window", (el) => el.innerText)).includes(title), "the title is visible in the result pane");
  await sleep(300); // let the result pane settle before the picture
  await page.screenshot({ path: join(SHOTS, "03-tasks.png") });
  if (process.env.UPDATE_DOCS_SCREENSHOT === "1") {
    mkdirSync(join(DOCS_SHOT, ".."), { recursive: true });
    copyFileSync(join(SHOTS, "03-tasks.png"), DOCS_SHOT);
  }

  // Headers stay out of localStorage (shouldPersistHeaders: false).
  const stored = await page.evaluate(() => Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`).join("\n"));
  assert.ok(!stored.includes(token), `the token was written to localStorage:\n${stored.split("\n").filter((l) => l.includes(token)).map((l) => l.slice(0, 400)).join("\n")}`);
  assert.match(stored, /CreateTask|MyTasks/, "GraphiQL does persist queries and history");

  // --- Tab 2: a taskEvents subscription over the same-origin WebSocket.
  const page2 = await browser.newPage();
  const w2 = await watch(page2, origin, "tab 2");
  await page2.goto(server.url, { waitUntil: "load" });
  await page2.waitForSelector(QUERY);
  await page2.waitForNetworkIdle({ idleTime: 300 });
  const cachedBytes = w2.transferred();
  await showHeaders(page2);
  assert.equal((await editorText(page2, HEADERS)).trim(), "", "headers were not persisted to the new tab");
  await typeInto(page2, HEADERS, `{"Authorization": "Bearer ${token}"}`);
  await typeInto(page2, QUERY, "subscription TaskEvents {\n  taskEvents {\n    kind\n    taskId\n    task {\n      id\n      title\n      completed\n    }\n  }\n}\n");
  await ctrlEnter(page2);
  const subscribed = () => w2.frames.some((f) => f.dir === "sent" && /"type":"subscribe"/.test(f.data));
  for (let i = 0; i < 100 && !subscribed(); i++) await sleep(100);
  assert.ok(subscribed(), `no subscribe frame; frames: ${JSON.stringify(w2.frames)}; requests: ${JSON.stringify(w2.requests.slice(-5))}; result: ${await editorText(page2, RESULT).catch(() => "")}; op: ${await page2.$eval(QUERY, (el) => el.CodeMirror.operationName).catch(() => "?")}`);
  assert.deepEqual(w2.sockets.map((u) => new URL(u).pathname), ["/graphql"]);
  const init = JSON.parse(w2.frames.find((f) => f.dir === "sent" && /connection_init/.test(f.data)).data);
  assert.equal(init.payload.Authorization, `Bearer ${token}`, "the Headers tab becomes the connection_init payload");
  assert.ok(w2.frames.some((f) => f.dir === "received" && /connection_ack/.test(f.data)));

  // Another client (plain fetch from here) completes the task; the event
  // shows up in tab 2's result pane. The server registers the subscription
  // just after the subscribe frame, so a change made in that instant could
  // precede it: toggle again (at most 3 times) until an event shows.
  let event;
  for (let attempt = 0, completed = true; attempt < 3 && !event; attempt++, completed = !completed) {
    const r = await gql(server.url, token, "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { id completed } }", { id: taskId, c: completed });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    event = await waitForResult(page2, (j) => j.data?.taskEvents?.taskId === taskId && j.data.taskEvents.task?.completed === completed, "the taskEvents event", 5_000)
      .catch(() => undefined);
  }
  assert.ok(event, "no taskEvents event reached the IDE");
  assert.equal(event.data.taskEvents.kind, "UPDATED");
  assert.equal(event.data.taskEvents.task.title, title);
  await page2.screenshot({ path: join(SHOTS, "04-subscription-event.png") });

  // Autocompletion from the schema, typed key by key (back in tab 1).
  await page.bringToFront();
  await page.click(QUERY);
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyA");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("{ ta", { delay: 20 });
  await page.waitForSelector(".CodeMirror-hints li");
  const hints = await page.$$eval(".CodeMirror-hints li", (ls) => ls.map((l) => l.textContent.trim()));
  assert.ok(hints.includes("tasks") && hints.includes("task"), `hints: ${hints}`);
  await page.screenshot({ path: join(SHOTS, "05-autocomplete.png") });
  await page.keyboard.press("Escape");

  // Nothing went wrong on either tab, and nothing left the origin.
  const problems = [...w1.problems, ...w2.problems];
  w1.closing = w2.closing = true;
  assert.deepEqual(problems, []);
  const foreign = [...w1.requests, ...w2.requests].filter((r) => new URL(r.url).origin !== origin);
  assert.deepEqual(foreign, []);

  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const report = [
    `server: ${MODE} (${server.url})`,
    `first load (empty cache): ${kib(loadBytes)} transferred in ${loadRequests} requests (page, scripts, styles, fonts, favicon, introspection)`,
    `editor ready (query editor mounted and schema loaded): ${Math.max(editorAt, schemaAt).toFixed(0)} ms after navigation start (editor ${editorAt.toFixed(0)} ms, schema ${schemaAt.toFixed(0)} ms)`,
    `second tab (warm cache): ${kib(cachedBytes)} transferred`,
  ];
  for (const line of report) t.diagnostic(line);
  writeFileSync(join(SHOTS, "metrics.txt"), `${report.join("\n")}\n`);
  assert.ok(loadBytes < 3 * 1024 * 1024, `page weight ${loadBytes} bytes is over 3 MB`);
});

test("GRAPHIQL=false: a browser gets no IDE, and no asset is served", { timeout: 60_000, skip: MODE === "url" && "TODO_GRAPHQL_URL names a server this test cannot restart" }, async (t) => {
  const server = await startServer({ graphiql: false });
  t.after(() => server.stop());
  const res = await fetch(server.url, { headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" } });
  const body = await res.text();
  assert.ok(res.status !== 200 || !/graphiql/i.test(body), `GET /graphql answered ${res.status} with GraphiQL:\n${body.slice(0, 300)}`);
  assert.ok(!body.includes("/graphiql/assets/"));
  for (const file of ASSETS.filter((f) => /^(app|graphiql|react)\.|\.css$/.test(f))) {
    const asset = await fetch(new URL(`/graphiql/assets/${file}`, server.url));
    assert.equal(asset.status, 404, file);
  }
  const legacy = await fetch(new URL("/graphiql/app.js", server.url));
  assert.equal(legacy.status, 404, "/graphiql/app.js");

  const browser = await launch(t);
  const page = await browser.newPage();
  await page.goto(server.url, { waitUntil: "load" });
  await sleep(500);
  assert.equal(await page.$(".graphiql-container"), null, "a GraphiQL UI rendered");
  assert.ok(!/graphiql/i.test(await page.content()));
});
