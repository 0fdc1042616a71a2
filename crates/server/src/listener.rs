//! Connection dispatch: one acceptor hands accepted connections, round robin, to the HTTP
//! worker threads, each of which runs its own single-threaded runtime. A request is then
//! handled start to finish on one thread (no cross-thread wake-ups on the hot path), and the
//! connections are spread evenly, which `SO_REUSEPORT` hashing does not guarantee.

use std::net::SocketAddr;

use tokio::sync::mpsc;

/// The worker side: an `axum::serve` listener fed by the acceptor.
#[derive(Debug)]
pub struct Dispatched {
    connections: mpsc::Receiver<(std::net::TcpStream, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for Dispatched {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some((stream, peer)) = self.connections.recv().await else {
                // The acceptor has stopped: no more connections will come; shutdown ends us.
                std::future::pending::<()>().await;
                continue;
            };
            // Registers the socket with this worker's own runtime.
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => return (stream, peer),
                Err(e) => tracing::warn!(error = %e, "could not adopt an accepted connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Makes `workers` worker listeners and the future that accepts on `listener` and feeds them.
pub fn dispatch(listener: tokio::net::TcpListener, workers: usize) -> std::io::Result<(Vec<Dispatched>, impl Future<Output = ()>)> {
    let local = listener.local_addr()?;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers.max(1)).map(|_| mpsc::channel(1024)).unzip();
    let listeners = receivers.into_iter().map(|connections| Dispatched { connections, local }).collect();
    let acceptor = async move {
        let mut next = 0usize;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
    Ok((listeners, acceptor))
}

/// The peer address of a dispatched connection, for `ConnectInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Dispatched>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Dispatched>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}
