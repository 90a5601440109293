//! The accept loop and the per-connection request loop (HTTP/1.1 keep-alive).
//!
//! Connections live in a `JoinSet` owned by the accept task, so aborting that one task (as
//! `MockUpstream`'s `Drop` does) ends every connection with it.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::http::{self, Conn, ReadError};
use crate::protocols::{self, Protocol};
use crate::record::State;
use crate::respond::{self, Next};

pub(crate) async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, Arc::clone(&state)));
                }
                // Out of file descriptors or similar: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn connection(stream: TcpStream, state: Arc<State>) {
    // Best effort: without it events would still arrive, just later.
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(stream);
    loop {
        let req = match conn.read_request().await {
            Ok(req) => req,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, message)) => {
                let body = protocols::error_body(Protocol::Chat, status, Some(message));
                http::head(
                    &mut conn.out,
                    status,
                    "application/json",
                    Some(body.len()),
                    None,
                    false,
                );
                conn.out.extend_from_slice(&body);
                let _ = conn.write_out().await;
                return;
            }
        };
        match respond::handle(&mut conn, &state, req).await {
            Next::KeepAlive => {}
            Next::Close => return,
            Next::Reset => return conn.reset(),
        }
    }
}
