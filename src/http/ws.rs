//! The WebSocket door (CONTRACT §9): `graphql-transport-ws` on `/graphql`.
//!
//! This module checks Origin and subprotocol at the upgrade, reads
//! `connection_init` under a 10 s timeout, authenticates through the same
//! function as HTTP (`caller::authenticate`) plus one account read for our
//! own session tokens (account exists, `ver` current), applies the
//! per-user socket cap, then speaks the protocol itself: every `subscribe`
//! passes the document guard and is shaped like an HTTP answer, ids are
//! unique while active (4409), and the socket closes when what opened it
//! ends (sessions, its API token) or its token expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::AbortHandle;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use super::caller::{authenticate as authenticate_token, bearer, bearer_token, client_addr, CallerRejection};
use super::AppState;
use crate::auth::{Caller, Principal};
use crate::graphql::document_guard;
use crate::graphql::error::{server_error, Code};
use crate::graphql::response::{self, Body, Outcome};
use crate::graphql::RequestMeta;

/// The only subprotocol served.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.get("upgrade").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// What the upgrade request's own `Authorization` header offers.
enum HeaderAuth {
    None,
    Token(String),
    /// Several headers, or one that is not `Bearer <token>`.
    Unusable,
}

/// Answers an upgrade request: 403 for a foreign `Origin`, 400 without the
/// `graphql-transport-ws` subprotocol, else the socket.
pub async fn upgrade(state: AppState, mut parts: Parts) -> Response {
    let client = client_addr(&parts, state.trust_proxy_headers);
    if !origin_allowed(&parts.headers, &state.cors_origins) {
        tracing::warn!(target: "security", reason = "foreign origin", client = %client, "WebSocket refused");
        return (StatusCode::FORBIDDEN, "Origin not allowed").into_response();
    }
    let offered = parts
        .headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    if !offered {
        return (StatusCode::BAD_REQUEST, "Only the graphql-transport-ws subprotocol is served").into_response();
    }
    let header_auth = match bearer(parts.headers.get_all(AUTHORIZATION).iter()) {
        Ok(None) => HeaderAuth::None,
        Ok(Some(token)) => HeaderAuth::Token(token.to_owned()),
        Err(CallerRejection::Multiple | CallerRejection::Invalid(_) | CallerRejection::Internal) => {
            HeaderAuth::Unusable
        }
    };
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Small buffers (tungstenite's defaults are 128 KiB each way, per socket)
    // and a bounded write buffer: a reader that cannot keep up is dropped.
    ws.protocols([PROTOCOL])
        .max_message_size(state.max_body_bytes)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .on_upgrade(move |socket| serve(state, socket, header_auth, client))
}

/// A request without `Origin` (not a browser) is served; a browser's must be
/// this server's own or a configured CORS origin.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return headers.get(ORIGIN).is_none();
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let own = [format!("http://{host}"), format!("https://{host}")];
    own.iter().any(|o| o.eq_ignore_ascii_case(origin)) || allowed.iter().any(|a| a == "*" || a == origin)
}

async fn close(socket: &mut (impl SinkExt<Message> + Unpin), code: u16, reason: &str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

async fn serve(state: AppState, socket: WebSocket, header_auth: HeaderAuth, client: String) {
    let _open = Gauged::new(&state.metrics, crate::telemetry::Metrics::ws_connection);
    let (mut sink, mut stream) = socket.split();

    // 1. connection_init, within 10 s (pings are answered meanwhile).
    let init = tokio::time::timeout(state.ws_init_timeout, async {
        while let Some(Ok(message)) = stream.next().await {
            let Message::Text(text) = message else {
                if let Message::Close(_) = message {
                    return Err(None);
                }
                continue;
            };
            if document_guard::check_json_nesting(text.as_bytes()).is_err() {
                return Err(Some(Close::INVALID_MESSAGE));
            }
            let Ok(message) = serde_json::from_str::<ClientMessage>(text.as_str()) else {
                return Err(Some(Close::INVALID_MESSAGE));
            };
            match message {
                ClientMessage::ConnectionInit { payload } => return Ok(payload),
                ClientMessage::Ping {} => {
                    let _ = sink.send(ServerMessage::Pong.into()).await;
                }
                ClientMessage::Pong {} => {}
                ClientMessage::Subscribe { .. } => return Err(Some(Close(4401, "Unauthorized".into()))),
                ClientMessage::Complete { .. } => return Err(Some(Close::INVALID_MESSAGE)),
            }
        }
        Err(None)
    })
    .await;
    let payload = match init {
        Ok(Ok(payload)) => payload,
        Ok(Err(Some(Close(code, reason)))) => return close(&mut sink, code, &reason).await,
        Ok(Err(None)) => return,
        Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
    };

    // 2. Who is it? A token in the payload wins over the upgrade header.
    let refuse = |reason: String| {
        tracing::warn!(target: "security", %reason, client = %client, "WebSocket connection refused");
    };
    let (principal, version) = match authenticate(&state, &payload, header_auth).await {
        Ok(Some((principal, version))) => (Some(principal), version),
        Ok(None) => (None, None),
        Err(reason) => {
            refuse(reason);
            state.metrics.auth_failure("ws_refused");
            return close(&mut sink, 4403, "Forbidden").await;
        }
    };

    // 3. At most N sockets per user on this replica. The place is taken
    // before the account is read, so a logout committed meanwhile still
    // reaches this socket. The ticket is declared before the GraphQL socket
    // so it is dropped after it.
    let mut ticket = match &principal {
        Some(p) => match state.hub.register_socket(p.user_id, p.api_token) {
            Ok(ticket) => Some(ticket),
            Err(_) => {
                tracing::warn!(target: "security", reason = "too many sockets", client = %client, "WebSocket refused");
                state.metrics.rate_limited("ws_sockets");
                return close(&mut sink, 4429, "Too many sockets").await;
            }
        },
        None => None,
    };
    // Unlike stateless HTTP, the account is read once: it must exist and
    // its token version must be the token's.
    if let (Some(p), Some(version)) = (&principal, version) {
        match state.accounts.me(p.user_id).await {
            Ok(user) if user.token_version == version => {}
            Ok(_) => {
                refuse("token issued before the last logout".into());
                state.metrics.auth_failure("ws_refused");
                return close(&mut sink, 4403, "Forbidden").await;
            }
            Err(_) => {
                refuse("unknown user".into());
                state.metrics.auth_failure("ws_refused");
                return close(&mut sink, 4403, "Forbidden").await;
            }
        }
    }

    // 4. The protocol itself: our own loop, so every `subscribe` passes the
    // same document guard as HTTP and every payload the same shaping.
    let caller = principal.clone().map_or(Caller::Anonymous, Caller::User);
    let mut data = Data::default();
    data.insert(caller);
    data.insert(RequestMeta { client: client.clone(), operation: None });
    let session = Arc::new(data);
    if !send_within(&mut sink, ServerMessage::ConnectionAck.into()).await {
        return;
    }

    // The token's `exp` to the millisecond: no leeway on an open socket.
    let expiry = principal.as_ref().map(|p| {
        let left_ms = p.expires_at.saturating_mul(1000).saturating_sub(crate::service::now_ms());
        tokio::time::Instant::now() + Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
    });
    let session_end = async {
        match ticket.as_mut() {
            Some(t) => t.ended().await,
            None => std::future::pending::<()>().await,
        }
    };
    let token_end = async {
        match expiry {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(session_end, token_end);
    let mut operations = Operations::default();
    loop {
        let step = tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => operations.receive(&state, &session, text.as_str()),
                Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                    Ok(text) => operations.receive(&state, &session, text),
                    Err(_) => Step::Close(Close::INVALID_MESSAGE),
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => Step::Nothing,
            },
            Some((id, response)) = operations.running.next(), if !operations.running.is_empty() => {
                operations.emit(id, response)
            }
            () = &mut session_end => Step::Close(Close::FORBIDDEN),
            () = &mut token_end => Step::Close(Close::FORBIDDEN),
        };
        match step {
            Step::Nothing => {}
            Step::Send(messages) => {
                for message in messages {
                    if !send_within(&mut sink, Message::Text(message.into())).await {
                        return;
                    }
                }
            }
            Step::Close(Close(code, reason)) => {
                close(&mut sink, code, &reason).await;
                break;
            }
        }
    }
    // Dropped in reverse order: the operations (and their subscriptions)
    // before the ticket that holds the user's place.
}

/// A close code of `graphql-transport-ws` with its reason.
struct Close(u16, std::borrow::Cow<'static, str>);

impl Close {
    const INVALID_MESSAGE: Close = Close(4400, std::borrow::Cow::Borrowed("Invalid message"));
    const FORBIDDEN: Close = Close(4403, std::borrow::Cow::Borrowed("Forbidden"));
}

/// What the loop does after one event.
enum Step {
    Nothing,
    Send(Vec<String>),
    Close(Close),
}

/// Messages a client sends (`graphql-transport-ws`).
#[derive(serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Value,
    },
    Ping {},
    Pong {},
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
}

/// Messages the server sends.
#[derive(serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    ConnectionAck,
    Pong,
    Next { id: &'a str, payload: Body<'a> },
    Error { id: &'a str, payload: &'a [async_graphql::ServerError] },
    Complete { id: &'a str },
}

impl ServerMessage<'_> {
    fn text(&self) -> String {
        // Serialising these plain structs cannot fail; an empty text would
        // be refused by the client, never silently accepted.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl From<ServerMessage<'_>> for Message {
    fn from(message: ServerMessage<'_>) -> Self {
        Message::Text(message.text().into())
    }
}

type Running = futures_util::stream::SelectAll<futures_util::stream::BoxStream<'static, (String, Option<Outcome>)>>;

/// The operations of one socket: at most `ws_max_subscriptions` at once,
/// ids unique while active.
#[derive(Default)]
struct Operations {
    active: HashMap<String, Active>,
    running: Running,
}

/// One running operation: its abort handle, and its place in the
/// `ws_subscriptions` gauge, given back when it is dropped.
struct Active {
    handle: AbortHandle,
    _counted: Gauged,
}

/// +1 on a gauge while alive, -1 when dropped, whichever way it ends.
struct Gauged {
    metrics: crate::telemetry::Metrics,
    change: fn(&crate::telemetry::Metrics, i64),
}

impl Gauged {
    fn new(metrics: &crate::telemetry::Metrics, change: fn(&crate::telemetry::Metrics, i64)) -> Self {
        change(metrics, 1);
        Self { metrics: metrics.clone(), change }
    }
}

impl Drop for Gauged {
    fn drop(&mut self) {
        (self.change)(&self.metrics, -1);
    }
}

impl Operations {
    /// One client message.
    fn receive(&mut self, state: &AppState, session: &Arc<Data>, text: &str) -> Step {
        if document_guard::check_json_nesting(text.as_bytes()).is_err() {
            return Step::Close(Close::INVALID_MESSAGE);
        }
        let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
            return Step::Close(Close::INVALID_MESSAGE);
        };
        match message {
            ClientMessage::ConnectionInit { .. } => Step::Close(Close(4429, "Too many initialisation requests".into())),
            ClientMessage::Ping {} => Step::Send(vec![ServerMessage::Pong.text()]),
            ClientMessage::Pong {} => Step::Nothing,
            ClientMessage::Complete { id } => {
                if let Some(active) = self.active.remove(&id) {
                    active.handle.abort();
                }
                Step::Nothing
            }
            ClientMessage::Subscribe { id, payload } => self.subscribe(state, session, id, *payload),
        }
    }

    fn subscribe(
        &mut self,
        state: &AppState,
        session: &Arc<Data>,
        id: String,
        mut request: async_graphql::Request,
    ) -> Step {
        if self.active.contains_key(&id) {
            return Step::Close(Close(4409, format!("Subscriber for {id} already exists").into()));
        }
        let max = state.ws_max_subscriptions;
        if self.active.len() >= max {
            let error = server_error(format!("At most {max} active subscriptions per socket"), Code::TooManyRequests);
            state.metrics.rate_limited("ws_subscriptions");
            state.metrics.error(Code::TooManyRequests.as_str());
            return Step::Send(vec![ServerMessage::Error { id: &id, payload: &[error] }.text()]);
        }
        let prepared = match state.guard.prepare(&mut request) {
            Ok(prepared) => prepared,
            Err(refusal) => {
                let outcome = Outcome::refused(refusal);
                response::count_errors(&state.metrics, &outcome);
                return Step::Send(vec![ServerMessage::Error { id: &id, payload: outcome.errors() }.text()]);
            }
        };
        let kind = response::operation_type(&prepared);
        state.metrics.operation(kind, prepared.name());
        // The operation's span covers its whole life on the socket.
        let span = response::operation_span(kind, prepared.name());
        let guard = state.guard.clone();
        let metrics = state.metrics.clone();
        let mut stream = state.schema.execute_stream_with_session_data(request, session.clone());
        let responses = futures_util::stream::poll_fn(move |cx| {
            let _entered = span.enter();
            stream.poll_next_unpin(cx)
        })
        .map(move |r| {
            let outcome = Outcome::of(r, &prepared, guard.shape());
            response::count_errors(&metrics, &outcome);
            outcome
        });
        let (responses, handle) = futures_util::stream::abortable(responses);
        let tag = id.clone();
        let end = futures_util::stream::once(futures_util::future::ready((id.clone(), None)));
        self.running.push(Box::pin(responses.map(move |r| (tag.clone(), Some(r))).chain(end)));
        let counted = Gauged::new(&state.metrics, crate::telemetry::Metrics::ws_subscription);
        self.active.insert(id, Active { handle, _counted: counted });
        Step::Nothing
    }

    /// One result of a running operation, or its end.
    fn emit(&mut self, id: String, response: Option<Outcome>) -> Step {
        if !self.active.contains_key(&id) {
            return Step::Nothing; // completed by the client meanwhile
        }
        let Some(response) = response else {
            self.active.remove(&id);
            return Step::Send(vec![ServerMessage::Complete { id: &id }.text()]);
        };
        match response {
            Outcome::Refused(errors) | Outcome::BadRequest(errors) => {
                if let Some(active) = self.active.remove(&id) {
                    active.handle.abort();
                }
                Step::Send(vec![ServerMessage::Error { id: &id, payload: &errors }.text()])
            }
            outcome => Step::Send(vec![ServerMessage::Next { id: &id, payload: outcome.body() }.text()]),
        }
    }
}

/// How long one write may wait for a client that stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one message; `false` when the client is gone or does not read.
async fn send_within(sink: &mut (impl SinkExt<Message> + Unpin), message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await, Ok(Ok(())))
}

/// The caller of a socket and, for our own tokens, the token version the
/// account must still have: `None` without any token; an error (the reason,
/// for the log) for a bad or expired one.
async fn authenticate(
    state: &AppState,
    payload: &Value,
    header: HeaderAuth,
) -> Result<Option<(Principal, Option<i32>)>, String> {
    // `null`, empty or blank counts as no token; any other non-string is a bad one.
    let from_payload = payload.as_object().and_then(|o| {
        o.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).and_then(|(_, v)| match v {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.as_str()),
            _ => Some("not a token"),
        })
    });
    let token = match (from_payload, header) {
        (Some(value), _) => bearer_token(value.as_bytes()).ok_or("malformed token")?.to_owned(),
        (None, HeaderAuth::Token(token)) => token,
        (None, HeaderAuth::Unusable) => return Err("unusable Authorization header".into()),
        (None, HeaderAuth::None) => return Ok(None),
    };
    let principal = authenticate_token(state, &token).await.map_err(|e| match e {
        CallerRejection::Invalid(reason) => reason.to_string(),
        _ => "resolving the token failed".to_owned(),
    })?;
    // No leeway on a socket: `exp` must still be ahead.
    let now = i64::try_from(crate::auth::tokens::now_secs()).unwrap_or(i64::MAX);
    if principal.expires_at <= now {
        return Err("expired".into());
    }
    // Our own session tokens carry the user's token version; the account
    // is read once to check it (external and API tokens have none).
    let own_session = !principal.external && principal.api_token.is_none();
    let version = match (own_session, principal.token_version) {
        (true, None) => return Err("no ver claim".into()),
        (_, version) => version,
    };
    Ok(Some((principal, version)))
}
