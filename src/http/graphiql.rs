//! The GraphiQL IDE page served at `GET /graphql` to browsers.

use axum::http::header::CONTENT_TYPE;
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
  <script>
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
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
  </script>
</body>
</html>
"#;

/// The IDE page.
pub async fn page() -> Response {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}
