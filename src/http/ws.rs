//! The WebSocket door (CONTRACT §9): `graphql-transport-ws` on `/graphql`.
//!
//! This module checks Origin and subprotocol at the upgrade, reads
//! `connection_init` itself under a 10 s timeout, authenticates through the
//! same [`Verifier`](crate::auth::Verifier) as HTTP plus one account read
//! (account exists, `ver` current), applies the per-user socket cap, then
//! hands the stream to async-graphql's `WebSocket`, counting subscriptions
//! and closing the socket when the user's sessions end or the token expires.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{WebSocket as GqlSocket, WsMessage};
use async_graphql::Data;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::caller::{bearer, bearer_token, client_addr, external_principal, CallerRejection};
use super::AppState;
use crate::auth::{Caller, Principal, Verified};
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

async fn close(socket: &mut (impl SinkExt<Message> + Unpin), code: u16, reason: &'static str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

async fn serve(state: AppState, socket: WebSocket, header_auth: HeaderAuth, client: String) {
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
            let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                return Err(Some((4400, "Invalid message")));
            };
            match value["type"].as_str() {
                Some("connection_init") => return Ok((text.to_string(), value)),
                Some("ping") => {
                    let _ = sink.send(Message::Text(json!({ "type": "pong" }).to_string().into())).await;
                }
                Some("pong") => {}
                Some("subscribe") => return Err(Some((4401, "Unauthorized"))),
                _ => return Err(Some((4400, "Invalid message"))),
            }
        }
        Err(None)
    })
    .await;
    let (init_text, init) = match init {
        Ok(Ok(init)) => init,
        Ok(Err(Some((code, reason)))) => return close(&mut sink, code, reason).await,
        Ok(Err(None)) => return,
        Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
    };

    // 2. Who is it? A token in the payload wins over the upgrade header.
    let refuse = |reason: String| {
        tracing::warn!(target: "security", %reason, client = %client, "WebSocket connection refused");
    };
    let (principal, version) = match authenticate(&state, &init["payload"], header_auth).await {
        Ok(Some((principal, version))) => (Some(principal), version),
        Ok(None) => (None, None),
        Err(reason) => {
            refuse(reason);
            return close(&mut sink, 4403, "Forbidden").await;
        }
    };

    // 3. At most N sockets per user on this replica. The place is taken
    // before the account is read, so a logout committed meanwhile still
    // reaches this socket. The ticket is declared before the GraphQL socket
    // so it is dropped after it.
    let mut ticket = match &principal {
        Some(p) => match state.hub.register_socket(p.user_id) {
            Ok(ticket) => Some(ticket),
            Err(_) => {
                tracing::warn!(target: "security", reason = "too many sockets", client = %client, "WebSocket refused");
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
                return close(&mut sink, 4403, "Forbidden").await;
            }
            Err(_) => {
                refuse("unknown user".into());
                return close(&mut sink, 4403, "Forbidden").await;
            }
        }
    }

    // 4. Hand the stream to async-graphql, counting subscriptions.
    let caller = principal.clone().map_or(Caller::Anonymous, Caller::User);
    let mut data = Data::default();
    data.insert(caller);
    data.insert(RequestMeta { client: client.clone(), operation: None });
    let active: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (refusals, mut refused) = mpsc::channel::<Out>(32);
    let max = state.ws_max_subscriptions;
    let counted = active.clone();
    let incoming = futures_util::stream::iter([init_text]).chain(
        stream
            .take_while(|m| futures_util::future::ready(matches!(m, Ok(m) if !matches!(m, Message::Close(_)))))
            .filter_map(move |message| {
                let out = match message {
                    Ok(Message::Text(text)) => admit(text.to_string(), &counted, max, &refusals),
                    Ok(Message::Binary(bytes)) => {
                        String::from_utf8(bytes.to_vec()).ok().and_then(|t| admit(t, &counted, max, &refusals))
                    }
                    _ => None,
                };
                futures_util::future::ready(out)
            }),
    );
    let mut gql = Box::pin(
        GqlSocket::new(state.schema.clone(), incoming, async_graphql::http::WebSocketProtocols::GraphQLWS)
            .connection_data(data),
    );

    // The token's `exp` to the millisecond: no leeway on an open socket.
    let expiry = principal.as_ref().map(|p| {
        let left_ms = p.expires_at.saturating_mul(1000).saturating_sub(crate::service::now_ms());
        tokio::time::Instant::now() + Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
    });
    let session_end = async {
        match ticket.as_mut() {
            Some(t) => {
                let _ = t.ended.recv().await;
            }
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
    loop {
        tokio::select! {
            out = gql.next() => match out {
                Some(WsMessage::Text(text)) => {
                    release(&text, &active);
                    if !send_within(&mut sink, Message::Text(text.into())).await {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                None => break,
            },
            Some(out) = refused.recv() => match out {
                Out::Text(text) => {
                    if !send_within(&mut sink, Message::Text(text.into())).await {
                        break;
                    }
                }
                Out::Close(code, reason) => {
                    close(&mut sink, code, reason).await;
                    break;
                }
            },
            () = &mut session_end => {
                close(&mut sink, 4403, "Forbidden").await;
                break;
            }
            () = &mut token_end => {
                close(&mut sink, 4403, "Forbidden").await;
                break;
            }
        }
    }
    // Dropped in reverse order: the GraphQL socket (and its subscriptions)
    // before the ticket that holds the user's place.
}

/// What the socket sends besides async-graphql's own messages.
enum Out {
    Text(String),
    Close(u16, &'static str),
}

/// How long one write may wait for a client that stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one message; `false` when the client is gone or does not read.
async fn send_within(sink: &mut (impl SinkExt<Message> + Unpin), message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await, Ok(Ok(())))
}

/// Lets a client message through, unless it is a `subscribe` beyond the
/// per-socket cap (answered with an `error` and dropped) or not a
/// `graphql-transport-ws` message at all (the socket is closed with 4400;
/// this also refuses the legacy protocol's `start`, which would dodge the cap).
fn admit(text: String, active: &Mutex<HashSet<String>>, max: usize, out: &mpsc::Sender<Out>) -> Option<String> {
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        let _ = out.try_send(Out::Close(4400, "Invalid message"));
        return None;
    };
    let id = value["id"].as_str().map(str::to_owned);
    let mut active = active.lock().unwrap_or_else(|p| p.into_inner());
    match (value["type"].as_str(), id) {
        (Some("subscribe"), Some(id)) if !active.contains(&id) && active.len() >= max => {
            let error = json!({ "type": "error", "id": id, "payload": [{
                "message": format!("At most {max} active subscriptions per socket"),
                "extensions": { "code": crate::graphql::error::code::TOO_MANY_REQUESTS } }] });
            let _ = out.try_send(Out::Text(error.to_string()));
            None
        }
        (Some("subscribe"), Some(id)) => {
            active.insert(id);
            Some(text)
        }
        (Some("complete"), Some(id)) => {
            active.remove(&id);
            Some(text)
        }
        (Some("connection_init" | "ping" | "pong"), _) => Some(text),
        _ => {
            let _ = out.try_send(Out::Close(4400, "Invalid message"));
            None
        }
    }
}

/// A finished or failed operation frees its slot.
fn release(text: &str, active: &Mutex<HashSet<String>>) {
    if !(text.contains("\"complete\"") || text.contains("\"error\"")) {
        return;
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        if matches!(value["type"].as_str(), Some("complete" | "error")) {
            if let Some(id) = value["id"].as_str() {
                active.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
            }
        }
    }
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
    let now = i64::try_from(crate::auth::tokens::now_secs()).unwrap_or(i64::MAX);
    match state.verifier.verify(&token).await.map_err(|e| e.to_string())? {
        Verified::Own(principal) => {
            if principal.expires_at <= now {
                return Err("expired".into());
            }
            let version = principal.token_version.ok_or("no ver claim")?;
            Ok(Some((principal, Some(version))))
        }
        Verified::External(identity) => {
            if identity.expires_at <= now {
                return Err("expired".into());
            }
            let principal = external_principal(state, &identity).await.map_err(|e| match e {
                CallerRejection::Invalid(reason) => reason.to_string(),
                _ => "mapping the external identity failed".to_owned(),
            })?;
            Ok(Some((principal, None)))
        }
    }
}
