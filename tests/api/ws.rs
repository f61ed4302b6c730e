//! A minimal `graphql-transport-ws` client over tokio-tungstenite.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server sent.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Json(Value),
    Close(u16),
    /// Nothing within the wait.
    Silence,
}

pub struct Ws {
    stream: Stream,
}

/// The upgrade was refused with this HTTP status.
#[derive(Debug)]
pub struct Refused(pub u16);

impl Ws {
    /// Opens a socket offering `graphql-transport-ws` plus extra headers.
    pub async fn open(app: &TestApp, headers: &[(&str, &str)]) -> Result<Self, Refused> {
        Self::open_with(&format!("ws://{}/graphql", app.addr), Some("graphql-transport-ws"), headers).await
    }

    pub async fn open_with(url: &str, protocol: Option<&str>, headers: &[(&str, &str)]) -> Result<Self, Refused> {
        let mut request = url.into_client_request().unwrap();
        if let Some(p) = protocol {
            request.headers_mut().insert("sec-websocket-protocol", p.parse().unwrap());
        }
        for (k, v) in headers {
            let name: tokio_tungstenite::tungstenite::http::HeaderName = k.parse().unwrap();
            request.headers_mut().append(name, v.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(Refused(response.status().as_u16())),
            Err(e) => panic!("connect failed: {e}"),
        }
    }

    /// Opens and initialises with `Authorization: Bearer <token>` in the payload.
    pub async fn connect(app: &TestApp, token: Option<&str>) -> Self {
        let mut ws = Self::open(app, &[]).await.unwrap();
        let payload = token.map_or(json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
        ws.send(json!({ "type": "connection_init", "payload": payload })).await;
        assert_eq!(ws.next().await, Frame::Json(json!({ "type": "connection_ack" })));
        ws
    }

    pub async fn send(&mut self, v: Value) {
        self.stream.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    /// The next frame within 5 s.
    pub async fn next(&mut self) -> Frame {
        self.within(Duration::from_secs(5)).await
    }

    pub async fn within(&mut self, wait: Duration) -> Frame {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return Frame::Silence,
                Ok(None) => return Frame::Close(1006),
                Ok(Some(Err(_))) => return Frame::Close(1006),
                Ok(Some(Ok(Message::Text(t)))) => return Frame::Json(serde_json::from_str(t.as_str()).unwrap()),
                Ok(Some(Ok(Message::Close(frame)))) => return Frame::Close(frame.map_or(1005, |f| f.code.into())),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query } })).await;
    }

    pub async fn task_events(&mut self, id: &str) {
        self.subscribe(id, "subscription { taskEvents { kind taskId task { id title completed } } }").await;
    }

    /// The next `next` payload for `id` (skipping others), as its `data`.
    pub async fn event(&mut self, id: &str) -> Value {
        loop {
            match self.next().await {
                Frame::Json(v) if v["type"] == "next" && v["id"] == id => return v["payload"].clone(),
                Frame::Json(v) if v["type"] == "next" || (v["type"] == "complete" && v["id"] != id) => continue,
                other => panic!("expected an event for {id}, got {other:?}"),
            }
        }
    }

    /// Waits until the server has the subscription (a round trip).
    pub async fn settle(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        loop {
            match self.next().await {
                Frame::Json(v) if v["type"] == "pong" => {
                    // The subscription's stream starts on the server's next poll.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return;
                }
                Frame::Json(_) => continue,
                other => panic!("expected pong, got {other:?}"),
            }
        }
    }
}
