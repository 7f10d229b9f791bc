//! Connections the simulator can cut: a [`Listener`] whose connections all fail at once when
//! its kill token is cancelled (reads and writes return `ConnectionReset`, so hyper drops the
//! connection mid-request, mid-response or mid-watch, as when the API server process dies).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Accepts TCP connections that die together when `kill` is cancelled.
pub struct KillableListener {
    inner: TcpListener,
    kill: CancellationToken,
}

impl KillableListener {
    /// Wraps `inner`; every connection it accepts is cut when `kill` is cancelled.
    pub fn new(inner: TcpListener, kill: CancellationToken) -> Self {
        Self { inner, kill }
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (KillableStream::new(stream, self.kill.clone()), addr);
                }
                // Aborted handshakes and running out of descriptors pass; try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails every read and write once its kill token is cancelled.
pub struct KillableStream {
    inner: TcpStream,
    kill: CancellationToken,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl KillableStream {
    fn new(inner: TcpStream, kill: CancellationToken) -> Self {
        let killed = Box::pin(kill.clone().cancelled_owned());
        Self { inner, kill, killed }
    }

    /// `Ready(Err)` once killed; otherwise registers the waker for the kill.
    fn poll_killed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.kill.is_cancelled() || self.killed.as_mut().poll(cx).is_ready() {
            Poll::Ready(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "kube-sim: connection cut",
            ))
        } else {
            Poll::Pending
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(e) = this.poll_killed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Poll::Ready(e) = this.poll_killed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(e) = this.poll_killed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
