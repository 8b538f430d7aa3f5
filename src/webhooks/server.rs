//! Serving the receiver: bind, TCP_NODELAY on every accepted socket (without it, loopback
//! request/response pairs stall on delayed ACKs), and a graceful stop.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Binds `addr` (port 0 picks a free port).
///
/// # Errors
/// When the address cannot be bound (in use, not local).
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `app` on `listener` until `stop` completes, then finishes the requests in flight.
///
/// # Errors
/// An accept-loop failure.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "Cannot set TCP_NODELAY on a webhook connection.");
        }
    });
    // The peer's address goes with each request: the console believes a proxy's user
    // header only from the proxy's addresses.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
}

/// A receiver serving in the background.
#[derive(Debug)]
pub struct Listening {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Listening {
    /// Starts serving `app` on `listener` in a background task.
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub fn start(listener: TcpListener, app: Router) -> io::Result<Listening> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            if let Err(error) = serve_until(listener, app, stop).await {
                tracing::error!(%error, "The webhook receiver stopped.");
            }
        });
        Ok(Listening { addr, stop, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes the requests in flight, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
