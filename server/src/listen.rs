//! Accepting connections so that no client can exhaust the process. Every connection must send
//! a whole request head within the header timeout, also between requests on a kept-alive
//! connection (hyper's header-read timer starts again after each answer), or it is closed;
//! connections are capped per client address and in total, below the file descriptors the
//! process has, so the database, the health probes and outgoing requests always find one. Over
//! a cap a connection gets a short 503 and is closed at once; over the total cap a small
//! reserve still answers `/healthz` and `/readyz`, so a load balancer sees why.
//!
//! HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a reverse proxy in front of us
//! ends (README, production notes), and cleartext HTTP/2 would bring idle streams that no
//! header timeout covers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// File descriptors kept back from connections: the database's files and pool, outgoing
/// requests to partners and price sources, logs.
const FD_RESERVE_MIN: u64 = 512;
/// Connections beyond the cap that may still ask `/healthz` and `/readyz`.
const PROBE_RESERVE: usize = 32;
/// A probe connection must send its request head within this long.
const PROBE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// What a connection over a cap is told before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
Retry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n\r\nToo many connections now.";

/// How many connections, for how long.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Per client address (IPv4) or /64 network (IPv6); `None` behind a trusted proxy, whose
    /// one address every client shares (the proxy limits its clients itself).
    pub per_address: Option<usize>,
}

/// Raises the process's soft limit of open files to its hard limit, and returns it.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "could not raise the open-files limit");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the open-files limit");
            1024
        }
    }
}

/// The connections a process with `fd_limit` open files may serve at once: all but a reserve
/// (a quarter of the descriptors, at least 512) kept for everything else.
pub fn connections_for(fd_limit: u64) -> usize {
    let reserve = (fd_limit / 4).max(FD_RESERVE_MIN);
    fd_limit.saturating_sub(reserve).max(16) as usize
}

/// Counts connections per client address.
#[derive(Default)]
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A client's key: its IPv4 address, or its IPv6 /64 (one household's whole network).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// One connection of a client; gives its place back when dropped.
struct AddressSlot {
    counts: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    // This count is of this process's own sockets: another process has its own.
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let key = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            counts: self.clone(),
            key,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Tells a connection over a cap so, without waiting for it, and closes it.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(OVER_CAPACITY);
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = tokio::time::timeout(Duration::from_millis(100), stream.shutdown()).await;
    });
}

/// Serves `router` on `listener` until `stop`; then stops accepting, lets the open requests
/// finish and closes idle connections (long-lived answers end on the app's own shutdown
/// token).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    probes: Router,
    limits: Limits,
    stop: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut probe_http = http.clone();
    probe_http
        .header_read_timeout(PROBE_HEADER_TIMEOUT)
        .keep_alive(false);
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(PROBE_RESERVE));
    let per_address = Arc::new(PerAddress::default());
    let graceful = GracefulShutdown::new();
    let mut refused_since_log = 0u64;
    let mut last_log = tokio::time::Instant::now();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (should not happen below the cap) or a connection
                    // reset before it was accepted: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // No Nagle delay: live events are small writes that must go out at once.
        let _ = stream.set_nodelay(true);
        let slot = match limits.per_address {
            Some(cap) => match per_address.take(peer.ip(), cap) {
                Some(slot) => Some(slot),
                None => {
                    refused_since_log += 1;
                    refuse(stream);
                    continue;
                }
            },
            None => None,
        };
        let (permit, probes_only) = match total.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(_) => match reserve.clone().try_acquire_owned() {
                Ok(permit) => (permit, true),
                Err(_) => {
                    refused_since_log += 1;
                    refuse(stream);
                    continue;
                }
            },
        };
        if refused_since_log > 0 && last_log.elapsed() >= Duration::from_secs(10) {
            tracing::warn!(
                refused = refused_since_log,
                "connections over the caps were refused"
            );
            refused_since_log = 0;
            last_log = tokio::time::Instant::now();
        }
        let app = if probes_only { &probes } else { &router };
        let service =
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                app.clone(),
                move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            ));
        let builder = if probes_only { &probe_http } else { &http };
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The router for connections over the total cap: the health probes, and a 503 for the rest.
pub fn probes_only(health: Router) -> Router {
    health.fallback(|| async {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [
                (axum::http::header::CONNECTION, "close"),
                (axum::http::header::RETRY_AFTER, "1"),
            ],
            "Too many connections now.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::tiny(1024, 512)]
    #[case::debian_default(4096, 3072)]
    #[case::container(1_048_576, 786_432)]
    #[case::below_the_reserve(256, 16)]
    fn connections_leave_a_reserve_of_descriptors(#[case] fds: u64, #[case] want: usize) {
        assert_eq!(connections_for(fds), want);
    }

    #[rstest]
    #[case::v4("192.0.2.7", "192.0.2.7")]
    #[case::v6_same_network("2001:db8:1:2:aaaa::1", "2001:db8:1:2::")]
    #[case::v6_mapped("::ffff:192.0.2.7", "192.0.2.7")]
    fn clients_are_counted_by_address_or_network(#[case] ip: &str, #[case] key: &str) {
        assert_eq!(
            client_key(ip.parse().unwrap()),
            key.parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn an_address_gets_its_places_back() {
        let counts = Arc::new(PerAddress::default());
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let a = counts.take(ip, 2).unwrap();
        let _b = counts.take(ip, 2).unwrap();
        assert!(counts.take(ip, 2).is_none(), "a third over a cap of two");
        assert!(counts.take("192.0.2.8".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(counts.take(ip, 2).is_some(), "a place freed is free");
    }
}
