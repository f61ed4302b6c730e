// todo-graphql's GraphiQL page script. Loaded after the UMD builds of React,
// ReactDOM, GraphiQL and the explorer plugin, which define the globals
// React, ReactDOM, GraphiQL and GraphiQLPluginExplorer. Served from the
// server's own origin, so the page's CSP needs no inline script.
(function () {
  'use strict';

  // Same origin for subscriptions too: ws:// or wss:// follows the page,
  // so the IDE works behind a TLS-terminating proxy. GraphiQL's UMD build
  // bundles the graphql-ws client (graphql-transport-ws subprotocol); the
  // headers from the Headers tab become its connection_init payload.
  var wsScheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
  var fetcher = GraphiQL.createFetcher({
    url: window.location.pathname,
    subscriptionUrl: wsScheme + window.location.host + window.location.pathname,
  });

  var defaultQuery = `# Welcome to todo-graphql.
#
# 1. Run the Signup mutation below (put the cursor in it, press Ctrl-Enter).
# 2. Paste {"Authorization": "Bearer <accessToken>"} into Headers
#    (below this editor), with the accessToken from the result.
# 3. Run MyTasks. Headers are not saved in this browser unless you turn
#    that on in the settings (a token at rest is a risk).

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

  // GraphiQL's own storage, with one change. shouldPersistHeaders: false
  // keeps headers out of the saved tabs, but GraphiQL 3 also saves every
  // run's headers in its history (graphiql:queries, graphiql:favorites),
  // which would leave the Authorization token in localStorage. Those are
  // dropped here unless the user turns "Persist headers" on in the settings
  // (GraphiQL writes graphiql:shouldPersistHeaders only when they do).
  var storage = (function () {
    var local;
    try {
      local = window.localStorage;
    } catch (e) {
      return null; // storage blocked: GraphiQL then keeps nothing
    }
    var prefix = 'graphiql:';
    var persistHeaders = false;
    function withoutHeaders(value) {
      try {
        var parsed = JSON.parse(value);
        if (parsed && Array.isArray(parsed.queries)) {
          parsed.queries.forEach(function (q) {
            if (q && typeof q === 'object') delete q.headers;
          });
          return JSON.stringify(parsed);
        }
      } catch (e) { /* not ours to fix */ }
      return value;
    }
    return {
      getItem: function (key) { return local.getItem(key); },
      setItem: function (key, value) {
        if (key === prefix + 'shouldPersistHeaders') persistHeaders = value === 'true';
        if (!persistHeaders && (key === prefix + 'queries' || key === prefix + 'favorites')) value = withoutHeaders(value);
        local.setItem(key, value);
      },
      removeItem: function (key) { local.removeItem(key); },
      clear: function () {
        Object.keys(local).forEach(function (key) {
          if (key.indexOf(prefix) === 0) local.removeItem(key);
        });
      },
      get length() {
        return Object.keys(local).filter(function (key) { return key.indexOf(prefix) === 0; }).length;
      },
    };
  })();

  // Created once: the plugin object must stay the same across renders.
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
      storage: storage,
      plugins: [explorer],
    }),
  );
})();
