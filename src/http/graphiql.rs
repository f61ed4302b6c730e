//! The GraphiQL IDE page served at `GET /graphql` to browsers.

use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>todo-graphql · GraphiQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="https://unpkg.com/react@18.3.1/umd/react.production.min.js" crossorigin></script>
  <script src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js" crossorigin></script>
  <script src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js" crossorigin></script>
  <script src="/graphiql/app.js"></script>
</body>
</html>
"#;

/// The page's own script, served from this origin so the CSP needs no
/// inline script.
const SCRIPT: &str = r#"    // Same origin for subscriptions too: ws:// or wss:// follows the page,
    // so the IDE works behind a TLS-terminating proxy.
    const wsScheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    const fetcher = GraphiQL.createFetcher({
      url: window.location.pathname,
      subscriptionUrl: wsScheme + window.location.host + window.location.pathname,
    });
    const defaultQuery = `# Welcome to todo-graphql.
#
# 1. Run the signup mutation below.
# 2. Copy its accessToken into the Headers tab as
#    {"Authorization": "Bearer <accessToken>"}
# 3. Run MyTasks.

mutation Signup {
  signup(input: {email: "you@example.com", password: "correct horse battery"}) {
    accessToken
    user { id email }
  }
}

query MyTasks {
  tasks(first: 20) {
    totalCount
    nodes { id title completed updatedAt }
    pageInfo { hasNextPage endCursor }
  }
}

# Live updates: run this, then change a task from another tab.
subscription TaskEvents {
  taskEvents { kind taskId task { id title completed } }
}
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery, shouldPersistHeaders: false }));
"#;

/// Where the IDE may load from: this origin (its WebSocket included), and
/// the pinned CDN files.
fn csp(host: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' https://unpkg.com; \
         style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; \
         font-src 'self' data: https://unpkg.com; connect-src 'self' ws://{host} wss://{host}; \
         worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// The IDE page, for a request to `host`.
pub async fn page(host: &str) -> Response {
    // A Host that is not a plain authority gets a policy without WebSocket hosts.
    let host = if host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)) { host } else { "" };
    ([(CONTENT_TYPE, "text/html; charset=utf-8".to_owned()), (CONTENT_SECURITY_POLICY, csp(host))], PAGE)
        .into_response()
}

/// The IDE page's script.
pub async fn script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}
