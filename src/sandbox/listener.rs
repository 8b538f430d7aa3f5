//! The sandbox's TCP listener: TCP_NODELAY on every accepted socket, and a per-connection
//! reset switch for the `drop` and `lost_response` faults.
//!
//! A handler (or the fault middleware) finds its [`Connection`] in the request extensions
//! (`ConnectInfo<Connection>`) and calls [`Connection::reset`]. From then on every read and
//! write on that socket fails and its close is abortive (an RST), so hyper gives up on the
//! response it was about to write and the client sees a reset instead of an answer. This
//! works whatever the handler returns, which is what "applied but response lost" needs: the
//! write has happened, the answer never arrives.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A bound listener whose connections can be reset from a handler.
#[derive(Debug)]
pub struct SandboxListener {
    inner: TcpListener,
}

impl SandboxListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> Self {
        SandboxListener { inner }
    }
}

/// One accepted connection, as seen by handlers.
#[derive(Debug, Clone)]
pub struct Connection {
    reset: Arc<AtomicBool>,
}

impl Connection {
    /// Resets the connection: no response will reach the client.
    pub fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
    }
}

/// A TCP stream that fails every operation once its connection was reset.
#[derive(Debug)]
pub struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    /// `Some(error)` once reset; also makes the eventual close abortive.
    fn check(&self) -> Option<io::Error> {
        if !self.reset.load(Ordering::SeqCst) {
            return None;
        }
        // SO_LINGER 0 turns the close into an RST, the way a crashed server looks.
        let _ = self.inner.set_zero_linger();
        Some(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset by the sandbox",
        ))
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Listener for SandboxListener {
    type Io = ResettableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _peer)) => {
                    // Without TCP_NODELAY loopback request/response pairs stall on delayed
                    // ACKs (~40 ms), and a benchmark would measure the stall.
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "Could not set TCP_NODELAY.");
                    }
                    let reset = Arc::new(AtomicBool::new(false));
                    let conn = Connection {
                        reset: reset.clone(),
                    };
                    return (
                        ResettableStream {
                            inner: stream,
                            reset,
                        },
                        conn,
                    );
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        // axum only asks for this to log it; a connection handle is what it gets.
        self.inner.local_addr()?;
        Ok(Connection {
            reset: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, SandboxListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, SandboxListener>) -> Self {
        stream.remote_addr().clone()
    }
}
