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
const SCRIPT: &str = r#"    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
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
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery, shouldPersistHeaders: false }));
"#;

/// Where the IDE may load from: this origin, and the pinned CDN files.
const CSP: &str = "default-src 'self'; script-src 'self' https://unpkg.com; \
    style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; font-src 'self' data: https://unpkg.com; \
    connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The IDE page.
pub async fn page() -> Response {
    ([(CONTENT_TYPE, "text/html; charset=utf-8"), (CONTENT_SECURITY_POLICY, CSP)], PAGE).into_response()
}

/// The IDE page's script.
pub async fn script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}
