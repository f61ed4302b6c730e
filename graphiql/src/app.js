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
  var baseFetcher = GraphiQL.createFetcher({
    url: window.location.pathname,
    subscriptionUrl: wsScheme + window.location.host + window.location.pathname,
  });

  // The operations a document defines, as {type, name} (name null for an
  // anonymous one): a scan of its top level, skipping strings, comments,
  // variable definitions and fragment definitions.
  function operations(text) {
    var names = [];
    var type = 'query';
    var depth = 0;
    var parens = 0;
    var state = 'none'; // 'op': after query/mutation/subscription; 'def': inside a definition's head
    var i = 0;
    var n = text.length;
    while (i < n) {
      var c = text[i];
      if (c === '#') {
        while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
        continue;
      }
      if (c === '"') {
        if (text.startsWith('"""', i)) {
          i += 3;
          while (i < n && !text.startsWith('"""', i)) i += text[i] === '\\' ? 2 : 1;
          i += 3;
        } else {
          i++;
          while (i < n && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
          i++;
        }
        continue;
      }
      if (c === '(') parens++;
      else if (c === ')') parens = Math.max(0, parens - 1);
      else if (parens === 0 && c === '{') {
        if (depth === 0 && state === 'none') names.push({ type: 'query', name: null });
        if (depth === 0 && state === 'op') names.push({ type: type, name: null });
        depth++;
      } else if (parens === 0 && c === '}') {
        depth = Math.max(0, depth - 1);
        if (depth === 0) state = 'none';
      } else if (depth === 0 && parens === 0 && /[_A-Za-z]/.test(c)) {
        var start = i;
        while (i < n && /[_0-9A-Za-z]/.test(text[i])) i++;
        var word = text.slice(start, i);
        if (state === 'none' && (word === 'query' || word === 'mutation' || word === 'subscription')) {
          state = 'op';
          type = word;
        } else if (state === 'none' && word === 'fragment') state = 'def';
        else if (state === 'op') {
          names.push({ type: type, name: word });
          state = 'def';
        }
        continue;
      } else if (depth === 0 && state === 'op' && c === '@') {
        names.push({ type: type, name: null });
        state = 'def';
      }
      i++;
    }
    return names;
  }

  // GraphiQL learns which operation is under the cursor, and parses the
  // document it hands the fetcher, a moment after each edit (debounced;
  // graphql/graphiql#1807, #3632). A run right after typing can carry the
  // name of an operation the editor no longer holds (which the server
  // refuses: OPERATION_RESOLUTION_FAILURE) and the old document, by which
  // GraphiQL picks HTTP or the WebSocket. The IDE runs what the editor
  // shows: a document of one operation runs under that operation's name
  // (none for an anonymous one), and the transport follows the text sent.
  function fetcher(params, opts) {
    if (params && typeof params.query === 'string' && params.operationName !== 'IntrospectionQuery') {
      var ops = operations(params.query);
      var only = ops.length === 1 ? ops[0].name || undefined : params.operationName;
      if (only !== params.operationName) params = Object.assign({}, params, { operationName: only });
      var documentAST = {
        kind: 'Document',
        definitions: ops.map(function (op) {
          return {
            kind: 'OperationDefinition',
            operation: op.type,
            name: op.name ? { kind: 'Name', value: op.name } : undefined,
            variableDefinitions: [],
            directives: [],
            selectionSet: { kind: 'SelectionSet', selections: [] },
          };
        }),
      };
      opts = Object.assign({}, opts, { documentAST: documentAST });
    }
    return baseFetcher(params, opts);
  }

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
