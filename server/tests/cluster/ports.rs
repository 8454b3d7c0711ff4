//! Free loopback ports for child processes.
//!
//! Binding port 0 and handing the number to a child races: between our check and the
//! child's bind, any process's outgoing connection may be given that port, because port 0
//! draws from the kernel's ephemeral range. Ports picked here lie below that range, where
//! the kernel never assigns local ports on its own; a bind check skips ports in use, and a
//! process-wide cursor (offset by the process id) keeps one test process — or two test
//! binaries running at once — from handing out the same port twice.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out.
const FLOOR: u32 = 10_000;

static CURSOR: AtomicU32 = AtomicU32::new(0);

/// The first port of the kernel's ephemeral range (Linux default 32768 if unreadable).
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A loopback address no one listens on now, outside the ephemeral range when the range
/// leaves room below it (else any free port, with the race described above).
pub fn free_addr() -> SocketAddr {
    let low = ephemeral_low();
    if low <= FLOOR + 1_000 {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port");
    }
    let span = low - FLOOR;
    let offset = std::process::id().wrapping_mul(7_919);
    for _ in 0..span {
        let n = CURSOR.fetch_add(1, Ordering::Relaxed);
        let port = FLOOR + offset.wrapping_add(n) % span;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port as u16));
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free loopback port in {FLOOR}..{low}");
}

#[test]
fn ports_are_distinct_bindable_and_below_the_ephemeral_range() {
    let addrs: Vec<SocketAddr> = (0..50).map(|_| free_addr()).collect();
    let mut ports: Vec<u16> = addrs.iter().map(SocketAddr::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), addrs.len());
    if ephemeral_low() > FLOOR + 1_000 {
        assert!(ports.iter().all(|&p| u32::from(p) < ephemeral_low()));
    }
    for a in addrs {
        TcpListener::bind(a).unwrap();
    }
}
