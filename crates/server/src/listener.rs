//! Connection dispatch and serving: one acceptor hands accepted connections, round robin, to
//! the HTTP worker threads, each of which runs its own single-threaded runtime. A request is
//! then handled start to finish on one thread (no cross-thread wake-ups on the hot path), and
//! the connections are spread evenly, which `SO_REUSEPORT` hashing does not guarantee.
//!
//! Each worker serves its connections itself (HTTP/1.1 through hyper) rather than through
//! `axum::serve`, because a hostile client must not be able to hold a connection for free: the
//! TLS handshake and the request head each have a deadline (slowloris), the head has a size
//! limit (431), and an idle keep-alive connection is closed after the same deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

/// An accepted connection on its way to a worker.
pub type Accepted = (std::net::TcpStream, SocketAddr);

/// How connections are served: TLS or not, and the limits a client cannot exceed.
#[derive(Clone)]
pub struct ConnectionPolicy {
    /// The TLS configuration new connections are accepted with (`None`: plain HTTP).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Deadline for a TLS handshake, for a request head, and for an idle keep-alive connection.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger gets 431.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more gets 431.
    pub max_headers: usize,
}

/// Whether a request came over native TLS (an extension on every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls(pub bool);

/// Makes `workers` receivers and the future that accepts on `listener` and feeds them.
pub fn dispatch(listener: tokio::net::TcpListener, workers: usize) -> (Vec<mpsc::Receiver<Accepted>>, impl Future<Output = ()>) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers.max(1)).map(|_| mpsc::channel(1024)).unzip();
    let acceptor = async move {
        let mut next = 0usize;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(stream) = stream.into_std() else { continue };
            if senders[next].send((stream, peer)).await.is_err() {
                return;
            }
            next = (next + 1) % senders.len();
        }
    };
    (receivers, acceptor)
}

/// One worker: serves every connection it is handed until `stop` turns true, then lets each
/// connection finish its in-flight request (graceful shutdown) and returns when all are closed.
pub async fn serve_worker(mut connections: mpsc::Receiver<Accepted>, app: Router, policy: ConnectionPolicy, stop: watch::Receiver<bool>) {
    // Each connection task holds a sender; when all are dropped, every connection has closed.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            accepted = connections.recv() => {
                let Some((stream, peer)) = accepted else { break };
                let stream = match tokio::net::TcpStream::from_std(stream) {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not adopt an accepted connection");
                        continue;
                    }
                };
                let (app, policy, stop, open) = (app.clone(), policy.clone(), stop.clone(), open_tx.clone());
                tokio::spawn(async move {
                    serve_connection(stream, peer, app, policy, stop).await;
                    drop(open);
                });
            }
            _ = stopping.wait_for(|stopped| *stopped) => break,
        }
    }
    drop(open_tx);
    let _ = open_rx.recv().await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    policy: ConnectionPolicy,
    stop: watch::Receiver<bool>,
) {
    match policy.tls.clone() {
        None => serve_http(stream, peer, false, app, &policy, stop).await,
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            match tokio::time::timeout(policy.header_read_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => serve_http(stream, peer, true, app, &policy, stop).await,
                Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve_http<Io>(io: Io, peer: SocketAddr, tls: bool, app: Router, policy: &ConnectionPolicy, mut stop: watch::Receiver<bool>)
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
        request.extensions_mut().insert(Tls(tls));
        app.clone().oneshot(request.map(Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(policy.header_read_timeout)
        .max_buf_size(policy.max_header_bytes.max(8192))
        .max_header_size(policy.max_header_bytes)
        .max_headers(policy.max_headers);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    connection.as_mut().graceful_shutdown();
    if let Err(e) = connection.await {
        tracing::debug!(peer = %peer, error = %e, "connection ended with an error while draining");
    }
}

/// The peer address of a connection, for `ConnectInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);
