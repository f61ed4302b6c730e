#!/usr/bin/env python3
# One callgrind run: start the release server under valgrind, seed one user
# with 100 tasks, send K `tasks(first: 20)` requests on one keep-alive
# connection, stop it with SIGTERM, print callgrind's instruction total.
#
#   BIN=target/release/todo-graphql python3 bench/callgrind.py off 1000
#
# Only the K requests are counted (instrumentation is switched on after the
# seeding and off after them): per request = total / K (BENCHMARKS.md).
# `on` sets METRICS_ADDR; LOAD=healthz sends GET /healthz instead, LOAD=typename
# an authenticated `{ __typename }`. KEEP=path keeps callgrind's output there
# (for `callgrind_annotate --inclusive=yes path`). Needs valgrind; takes about
# a minute per run.
import http.client, json, os, re, signal, subprocess, sys, time, tempfile
metrics, k = sys.argv[1] == "on", int(sys.argv[2])
d = tempfile.mkdtemp()
port = int(os.environ.get("PORT", 18200)) + (1 if metrics else 0)
env = dict(PATH=os.environ["PATH"], JWT_SECRET="bench-secret-bench-secret-bench-secret-0000", BCRYPT_COST="4",
           RUST_LOG="warn", BIND_ADDR=f"127.0.0.1:{port}", DATABASE_URL=f"sqlite://{d}/x.db?mode=rwc")
if metrics: env["METRICS_ADDR"] = f"127.0.0.1:{port+100}"
out = f"{d}/cg.out"
# MINT=<todo-graphql binary>: BIN is limit-server; a plain todo-graphql on
# port+50 makes the user and token (same secret), and the load goes to BIN.
mint = None
if os.environ.get("MINT"):
    menv = dict(env, BIND_ADDR=f"127.0.0.1:{port+50}")
    mint = subprocess.Popen([os.environ["MINT"]], env=menv, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
p = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", os.environ.get("BIN") or os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "todo-graphql")],
                     env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
def connect(at):
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", at, timeout=60); conn.request("GET", "/healthz"); conn.getresponse().read(); return conn
        except Exception: time.sleep(0.2)
c = connect(port + 50 if mint else port)
def gql(q, tok=None):
    h = {"content-type": "application/json"}
    if tok: h["authorization"] = "Bearer " + tok
    c.request("POST", "/graphql", json.dumps({"query": q}), h); return json.loads(c.getresponse().read())
tok = gql('mutation { signup(input:{email:"cg@b.co",password:"password1"}){accessToken} }')["data"]["signup"]["accessToken"]
for i in range(100): gql('mutation { createTask(input:{title:"task %d"}){id} }' % i, tok)
if mint: mint.terminate(); c = connect(port)
Q = "{ tasks(first: 20) { edges { node { id title completed updatedAt } } pageInfo { endCursor hasNextPage } totalCount } }"
# Count only the K requests: instrumentation on after seeding, off after them.
subprocess.run(["callgrind_control", "-i", "on", str(p.pid)], check=True, capture_output=True)
if os.environ.get("LOAD") == "healthz":  # the HTTP stack alone
    for i in range(k):
        c.request("GET", "/healthz"); assert c.getresponse().read() == b"ok"
elif os.environ.get("LOAD") == "typename":  # the framework's fixed cost with a caller
    for i in range(k): assert "errors" not in gql("{ __typename }", tok)
else:
    for i in range(k): assert "errors" not in gql(Q, tok)
subprocess.run(["callgrind_control", "-i", "off", str(p.pid)], check=True, capture_output=True)
p.send_signal(signal.SIGTERM); err = p.communicate()[1]
m = re.search(r"Collected : (\d+)", err)
print(sys.argv[1], k, m.group(1) if m else err[-500:])
if os.environ.get("KEEP"): os.replace(out, os.environ["KEEP"])
