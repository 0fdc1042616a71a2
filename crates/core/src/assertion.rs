//! The claims of a client assertion (RFC 7523 §3, OIDC Core §9 `private_key_jwt`), sans-IO.
//!
//! The service checks the signature with `tessera-jose` against the client's registered keys,
//! then asks [`check`] whether the claims hold at `now`, then consumes the `jti` in the store.
//! Every failure here is an `invalid_client` to the client; the [`AssertionFailure`] goes to
//! the audit log only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;

/// The only `client_assertion_type` (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far in the future `exp` may lie (seconds past `now`, leeway added). An assertion is
/// meant for one request; this bounds how long its `jti` must be remembered.
pub const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// The clock skew allowed on an assertion's times, at most (the configured leeway applies up
/// to this): an assertion is made just before it is sent.
pub const MAX_LEEWAY: i64 = 60;

/// A `jti` longer than this is refused: it is stored until the assertion expires.
pub const MAX_JTI_LEN: usize = 256;

/// Why an assertion was refused (audit log only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionFailure {
    /// Not a JWT, or its payload not a JSON object with the claims' types.
    Malformed,
    /// No key of the client has the `kid`, or no single key fits an assertion without one.
    UnknownKey,
    /// `alg` is none, HMAC, unknown, or does not fit the key.
    Algorithm,
    /// A header the policy refuses (`jku`, `x5u`, `jwk`, `x5c`, `crit`) or a wrong `typ`.
    Header,
    BadSignature,
    /// `iss` or `sub` is not the client id.
    WrongIssuer,
    /// `aud` names neither the issuer nor the endpoint.
    WrongAudience,
    MissingExpiry,
    Expired,
    /// `exp` lies more than [`MAX_ASSERTION_LIFETIME`] ahead.
    ExpiresTooLate,
    /// `nbf` or `iat` lies in the future.
    NotYetValid,
    MissingJti,
    /// The `jti` was used before (within its assertion's lifetime).
    Replayed,
    /// The client's `jwks_uri` could not be fetched or held no usable key set.
    KeysUnavailable,
}

impl AssertionFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AssertionFailure::Malformed => "assertion_malformed",
            AssertionFailure::UnknownKey => "assertion_unknown_key",
            AssertionFailure::Algorithm => "assertion_algorithm",
            AssertionFailure::Header => "assertion_header",
            AssertionFailure::BadSignature => "assertion_bad_signature",
            AssertionFailure::WrongIssuer => "assertion_wrong_issuer",
            AssertionFailure::WrongAudience => "assertion_wrong_audience",
            AssertionFailure::MissingExpiry => "assertion_missing_exp",
            AssertionFailure::Expired => "assertion_expired",
            AssertionFailure::ExpiresTooLate => "assertion_exp_too_far",
            AssertionFailure::NotYetValid => "assertion_not_yet_valid",
            AssertionFailure::MissingJti => "assertion_missing_jti",
            AssertionFailure::Replayed => "assertion_replayed",
            AssertionFailure::KeysUnavailable => "assertion_keys_unavailable",
        }
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

/// What an accepted assertion leaves to be done: consume `jti` until `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jti: String,
    pub exp: i64,
}

/// What the claims must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// The values `aud` may contain: the issuer and the URL(s) of the endpoint called.
    pub audiences: &'a [String],
    pub now: i64,
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: i64,
}

/// Checks the claims of an assertion whose signature the caller has verified.
pub fn check(payload: &[u8], expected: &Expected<'_>) -> Result<Accepted, AssertionFailure> {
    let claims: Claims = serde_json::from_slice(payload).map_err(|_| AssertionFailure::Malformed)?;
    let is_client = |v: &Option<String>| v.as_deref() == Some(expected.client_id);
    if !is_client(&claims.iss) || !is_client(&claims.sub) {
        return Err(AssertionFailure::WrongIssuer);
    }
    let audience_ok = match &claims.aud {
        Some(Audience::One(aud)) => expected.audiences.contains(aud),
        Some(Audience::Many(auds)) => auds.iter().any(|a| expected.audiences.contains(a)),
        None => false,
    };
    if !audience_ok {
        return Err(AssertionFailure::WrongAudience);
    }
    let exp = claims.exp.ok_or(AssertionFailure::MissingExpiry)?;
    let now = expected.now;
    if exp.saturating_add(expected.leeway) <= now {
        return Err(AssertionFailure::Expired);
    }
    if exp > now.saturating_add(MAX_ASSERTION_LIFETIME).saturating_add(expected.leeway) {
        return Err(AssertionFailure::ExpiresTooLate);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now.saturating_add(expected.leeway));
    if future(claims.nbf) || future(claims.iat) {
        return Err(AssertionFailure::NotYetValid);
    }
    let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN).ok_or(AssertionFailure::MissingJti)?;
    // Remembered until it can no longer pass, leeway included.
    Ok(Accepted { jti, exp: exp.saturating_add(expected.leeway) })
}

/// The `sub` of an assertion, read without verifying anything: only to find which client's
/// keys to verify it with when the request names no `client_id` (RFC 7521 §4.2).
pub fn unverified_subject(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Subject {
        sub: Option<String>,
    }
    let payload = assertion.split('.').nth(1)?;
    if payload.len() > crate::credentials::MAX_ASSERTION_LEN {
        return None;
    }
    let bytes = B64.decode(payload).ok()?;
    serde_json::from_slice::<Subject>(&bytes).ok()?.sub
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_claims(claims: serde_json::Value, expected: Result<(), AssertionFailure>) {
        let audiences = ["https://id.example".to_owned(), "https://id.example/oauth2/token".to_owned()];
        let e = Expected { client_id: "app", audiences: &audiences, now: 10_000, leeway: 30 };
        let actual = check(claims.to_string().as_bytes(), &e).map(drop);
        assert_eq!(actual, expected, "{claims}");
    }

    #[test]
    fn assertion_claims() {
        use AssertionFailure::*;
        use serde_json::json;
        let ok = || json!({"iss": "app", "sub": "app", "aud": "https://id.example/oauth2/token", "exp": 10_060, "jti": "j1"});
        let with = |key: &str, value: serde_json::Value| {
            let mut c = ok();
            c[key] = value;
            c
        };
        let without = |key: &str| {
            let mut c = ok();
            c.as_object_mut().unwrap().remove(key);
            c
        };
        check_claims(ok(), Ok(()));
        check_claims(with("aud", json!(["x", "https://id.example"])), Ok(()));
        check_claims(with("aud", json!("https://id.example/oauth2/introspect")), Err(WrongAudience));
        check_claims(with("aud", json!([])), Err(WrongAudience));
        check_claims(without("aud"), Err(WrongAudience));
        check_claims(with("iss", json!("other")), Err(WrongIssuer));
        check_claims(with("sub", json!("other")), Err(WrongIssuer));
        check_claims(without("sub"), Err(WrongIssuer));
        check_claims(without("exp"), Err(MissingExpiry));
        check_claims(with("exp", json!(9_970)), Err(Expired));
        check_claims(with("exp", json!(9_971)), Ok(()));
        check_claims(with("exp", json!(10_000 + 3600 + 30)), Ok(()));
        check_claims(with("exp", json!(10_000 + 3600 + 31)), Err(ExpiresTooLate));
        check_claims(with("nbf", json!(10_031)), Err(NotYetValid));
        check_claims(with("iat", json!(10_031)), Err(NotYetValid));
        check_claims(with("iat", json!(10_030)), Ok(()));
        check_claims(without("jti"), Err(MissingJti));
        check_claims(with("jti", json!("")), Err(MissingJti));
        check_claims(with("jti", json!("j".repeat(257))), Err(MissingJti));
        check_claims(with("exp", json!("soon")), Err(Malformed));
    }

    #[test]
    fn subject_is_read_without_verification() {
        let payload = B64.encode(br#"{"sub":"app"}"#);
        assert_eq!(unverified_subject(&format!("e30.{payload}.sig")).as_deref(), Some("app"));
        assert_eq!(unverified_subject("nodots"), None);
        assert_eq!(unverified_subject("e30.!!!.x"), None);
    }
}

/// Whether `ip` is an address inside a private network or this host: loopback, RFC 1918 and
/// RFC 4193 ranges, link-local (169.254/16 holds the cloud metadata services), shared
/// address space (100.64/10), unspecified, multicast, broadcast and reserved ranges, and
/// IPv4 addresses embedded in IPv6 (mapped, NAT64) that are any of these. A client's
/// `jwks_uri` is fetched by the server, from inside the company's network: a client that may
/// register one must not be able to make the server send requests to internal hosts (blind
/// server-side request forgery), unless the operator allows it.
pub fn is_internal_address(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    let v4_internal = |v4: Ipv4Addr| {
        let [a, b, ..] = v4.octets();
        v4.is_loopback()
            || v4.is_private()
            || v4.is_link_local()
            || v4.is_unspecified()
            || v4.is_broadcast()
            || v4.is_multicast()
            || a == 0
            || (a == 100 && (64..128).contains(&b))
            || (a == 198 && (b == 18 || b == 19))
            || a >= 240
    };
    match ip {
        IpAddr::V4(v4) => v4_internal(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_internal(v4);
            }
            let segments = v6.segments();
            // NAT64 (RFC 6052 well-known prefix 64:ff9b::/96) reaches the IPv4 address it embeds.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., hi, lo] = segments;
                return v4_internal(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        }
    }
}

#[cfg(test)]
mod internal_address_tests {
    use super::is_internal_address;

    #[test]
    fn internal_and_public_addresses() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fc12::3",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fec0::1",
        ] {
            assert!(is_internal_address(internal.parse().unwrap()), "{internal} is internal");
        }
        for public in
            ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]
        {
            assert!(!is_internal_address(public.parse().unwrap()), "{public} is public");
        }
    }
}
