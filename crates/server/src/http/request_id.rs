//! `X-Request-Id` (SPEC §14): taken from a trusted proxy, or made here; the one middleware puts
//! it in the response, in the span every log line of the request carries, and the error table
//! in any 5xx body ([`crate::http::page::request_id`]).

use std::cell::Cell;
use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::http::extract::ProxyPolicy;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a proxy; a longer one is replaced.
const MAX_LEN: usize = 128;

/// The request's id: the one a trusted proxy sent when it is a plain token (so nobody can write
/// into the log through it), else a new one.
pub fn of(headers: &HeaderMap, peer: IpAddr, proxy: &ProxyPolicy) -> HeaderValue {
    if proxy.trusts(peer)
        && let Some(given) = headers.get(&HEADER)
        && acceptable(given.as_bytes())
    {
        return given.clone();
    }
    made_here()
}

fn acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
}

thread_local! {
    /// 64 random bits per thread, then a count: unique across threads, processes and nodes
    /// without a system call or a shared write per request. An id is no secret.
    static NEXT: Cell<(u64, u64)> = Cell::new((thread_prefix(), 0));
}

fn thread_prefix() -> u64 {
    let mut bytes = [0; 8];
    // Without the system's randomness, the time still tells threads of different starts apart.
    if rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes = (nanos as u64).to_le_bytes();
    }
    u64::from_le_bytes(bytes)
}

/// A new id: 32 hexadecimal digits.
fn made_here() -> HeaderValue {
    let (prefix, count) = NEXT.with(|next| {
        let (prefix, count) = next.get();
        next.set((prefix, count.wrapping_add(1)));
        (prefix, count)
    });
    let text = format!("{prefix:016x}{count:016x}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_id_is_taken_only_from_a_trusted_proxy_and_only_when_plain() {
        let proxy = ProxyPolicy { behind_proxy: true, trusted: vec!["10.0.0.0/8".parse().unwrap()] };
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(of(&headers, ip("10.1.2.3"), &proxy), "abc-123");
        assert_ne!(of(&headers, ip("192.0.2.1"), &proxy), "abc-123", "not from an untrusted peer");
        assert_ne!(of(&headers, ip("10.1.2.3"), &ProxyPolicy::default()), "abc-123", "not without --behind-proxy");
        headers.insert(HEADER, HeaderValue::from_static("a b\"c"));
        assert_ne!(of(&headers, ip("10.1.2.3"), &proxy), "a b\"c", "no spaces or quotes into the log");
        headers.insert(HEADER, HeaderValue::from_str(&"x".repeat(129)).unwrap());
        assert_eq!(of(&headers, ip("10.1.2.3"), &proxy).len(), 32, "too long: replaced");
    }

    #[test]
    fn ids_made_here_differ() {
        let (a, b) = (made_here(), made_here());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(acceptable(a.as_bytes()));
        let other = std::thread::spawn(made_here).join().unwrap();
        assert_ne!(a.as_bytes()[..16], other.as_bytes()[..16], "another thread, another prefix");
    }
}
