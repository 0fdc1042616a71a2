//! The claims of a DPoP proof (RFC 9449 §4.3), sans-IO.
//!
//! The caller verifies the proof's signature with `tessera_jose::dpop` (which also yields the
//! key's thumbprint), asks [`check`] whether the claims fit the request at `now`, and then
//! consumes the returned `jti` in the store, atomically, until [`Accepted::remember_until`].
//!
//! Window: a proof's `iat` may lie at most [`MAX_AGE`] seconds in the past and [`MAX_SKEW`]
//! seconds in the future; its `jti` is remembered for as long as the proof could pass, so a
//! replay is caught on every node of the store.

use serde::Deserialize;

use crate::model::Client;

/// How old a proof may be (seconds since its `iat`). A proof is made for one request.
pub const MAX_AGE: i64 = 300;

/// How far in the future a proof's `iat` may lie (clock skew of the client).
pub const MAX_SKEW: i64 = 60;

/// A `jti` longer than this is refused: it is stored for the whole window.
pub const MAX_JTI_LEN: usize = 256;

/// Seconds a server nonce is issued for; one is accepted in its slot and the next, so it
/// lives between one and two slots.
pub const NONCE_SLOT: i64 = 300;

/// The name of the proof header and of the nonce response header.
pub const DPOP_HEADER: &str = "DPoP";
pub const NONCE_HEADER: &str = "DPoP-Nonce";

/// Why a proof was refused. [`ProofFailure::UseNonce`] is `use_dpop_nonce`; every other one is
/// `invalid_dpop_proof`. The variant goes to the audit log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofFailure {
    /// Not a JWS, or its claims not a JSON object with the claims' types; or more than one
    /// `DPoP` header (RFC 9449 §4.3 check 1).
    Malformed,
    /// The JOSE layer refused it: `typ`, `alg`, `jwk` or signature.
    Signature,
    /// `jwk` holds a private key.
    PrivateKey,
    WrongMethod,
    WrongUrl,
    MissingIat,
    /// `iat` outside the window.
    Stale,
    MissingJti,
    Replayed,
    /// `ath` missing or not the hash of the access token presented with the proof.
    WrongAth,
    /// The proof's key is not the one the token or refresh token is bound to.
    WrongKey,
    /// No proof, where one is required: the client registered `dpop_bound_access_tokens`
    /// (§5.2), or the refresh token is bound to a key (§5).
    Missing,
    /// The server demands a nonce and the proof carries none, or a stale one.
    UseNonce,
}

impl ProofFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            ProofFailure::Malformed => "dpop_malformed",
            ProofFailure::Signature => "dpop_signature",
            ProofFailure::PrivateKey => "dpop_private_key",
            ProofFailure::WrongMethod => "dpop_wrong_htm",
            ProofFailure::WrongUrl => "dpop_wrong_htu",
            ProofFailure::MissingIat => "dpop_missing_iat",
            ProofFailure::Stale => "dpop_stale_iat",
            ProofFailure::MissingJti => "dpop_missing_jti",
            ProofFailure::Replayed => "dpop_replayed_jti",
            ProofFailure::WrongAth => "dpop_wrong_ath",
            ProofFailure::WrongKey => "dpop_wrong_key",
            ProofFailure::Missing => "dpop_missing",
            ProofFailure::UseNonce => "dpop_nonce",
        }
    }

    /// The RFC 9449 error code the client sees.
    pub fn error_code(self) -> &'static str {
        match self {
            ProofFailure::UseNonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    jti: Option<String>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// What the proof must say about the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The request's method, e.g. `POST`.
    pub method: &'a str,
    /// The request's URL as the client addressed it (scheme, host, port, path; a query or
    /// fragment is ignored).
    pub url: &'a str,
    pub now: i64,
    /// `ath` the proof must carry: the hash of the access token presented with it, if any.
    pub access_token_hash: Option<&'a str>,
    /// The nonces the server currently accepts; `None` when it demands none.
    pub nonces: Option<&'a [String]>,
    /// The key the request must be bound to (a DPoP-bound token or refresh token's `jkt`).
    pub bound_jkt: Option<&'a str>,
    /// The thumbprint of the proof's key, from the signature check.
    pub jkt: &'a str,
}

/// An accepted proof: consume `jti` in the store until `remember_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jti: String,
    pub remember_until: i64,
}

/// Checks the claims of a proof whose signature the caller has verified (RFC 9449 §4.3,
/// checks 8–12). The replay check (`jti`) is the caller's, with the store.
pub fn check(payload: &[u8], expected: &Expected<'_>) -> Result<Accepted, ProofFailure> {
    let claims: Claims = serde_json::from_slice(payload).map_err(|_| ProofFailure::Malformed)?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(ProofFailure::WrongMethod);
    }
    let same_url = match (claims.htu.as_deref().and_then(normalize_htu), normalize_htu(expected.url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if !same_url {
        return Err(ProofFailure::WrongUrl);
    }
    let iat = claims.iat.ok_or(ProofFailure::MissingIat)?;
    if iat < expected.now.saturating_sub(MAX_AGE) || iat > expected.now.saturating_add(MAX_SKEW) {
        return Err(ProofFailure::Stale);
    }
    let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN).ok_or(ProofFailure::MissingJti)?;
    if let Some(hash) = expected.access_token_hash
        && claims.ath.as_deref() != Some(hash)
    {
        return Err(ProofFailure::WrongAth);
    }
    if let Some(bound) = expected.bound_jkt
        && bound != expected.jkt
    {
        return Err(ProofFailure::WrongKey);
    }
    if let Some(nonces) = expected.nonces
        && !claims.nonce.as_ref().is_some_and(|n| nonces.contains(n))
    {
        return Err(ProofFailure::UseNonce);
    }
    // Past this instant the proof fails the iat check, so its jti need not be remembered.
    Ok(Accepted { jti, remember_until: iat.saturating_add(MAX_AGE).saturating_add(1) })
}

/// RFC 9449 §5.2: a client that registered `dpop_bound_access_tokens` must send a proof with
/// every token request. `proof_jkt` is the key of the request's valid proof, if it had one.
///
/// The RFC names no error code for a missing proof. `invalid_dpop_proof` says exactly what the
/// client must fix, and fits every grant (`invalid_grant`, which node-oidc-provider answers,
/// blames a code or refresh token that is fine, and client credentials have none); `use_dpop_nonce`
/// would suggest a retry with a nonce would do.
pub fn check_required(client: &Client, proof_jkt: Option<&str>) -> Result<(), ProofFailure> {
    match (client.dpop_bound_access_tokens, proof_jkt) {
        (true, None) => Err(ProofFailure::Missing),
        _ => Ok(()),
    }
}

/// RFC 9449 §5: a refresh token bound to a key (`bound_jkt`) is used only with a proof by that
/// key; an unbound one with any proof or none.
pub fn check_binding(bound_jkt: Option<&str>, proof_jkt: Option<&str>) -> Result<(), ProofFailure> {
    match (bound_jkt, proof_jkt) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(ProofFailure::Missing),
        (Some(bound), Some(key)) if bound == key => Ok(()),
        (Some(_), Some(_)) => Err(ProofFailure::WrongKey),
    }
}

/// RFC 9449 §5: the key a grant's refresh-token family is bound to when it starts. Only a
/// public client's: a confidential client authenticates every refresh, so its refresh tokens
/// stay unbound (the RFC leaves that to the server) and only its access tokens are bound.
pub fn refresh_binding<'a>(client: &Client, proof_jkt: Option<&'a str>) -> Option<&'a str> {
    proof_jkt.filter(|_| client.public)
}

/// RFC 9449 §7.1 at a resource: how a token must be presented. A DPoP-bound token (`bound_jkt`)
/// only under the `DPoP` scheme, and then `Ok(Some(jkt))`: a proof by that key must be checked;
/// an unbound one only as `Bearer` (`Ok(None)`). A mismatch is `invalid_token`, described by the
/// `Err`. One rule for Tessera's own resources and for `tessera-guard`.
pub fn presentation(bound_jkt: Option<&str>, as_dpop: bool) -> Result<Option<&str>, &'static str> {
    match (bound_jkt, as_dpop) {
        (None, false) => Ok(None),
        (None, true) => Err("the access token is not DPoP-bound; present it as Bearer"),
        (Some(_), false) => Err("the access token is DPoP-bound; present it as DPoP with a proof"),
        (Some(jkt), true) => Ok(Some(jkt)),
    }
}

/// The `htu` comparison form (RFC 9449 §4.3 check 9, RFC 3986 §6.2.2–6.2.3): scheme and host
/// lowercased, the default port dropped, an empty path made `/`, percent-encodings uppercased
/// and unreserved ones decoded, query and fragment removed. `None` if it is not an absolute
/// `http(s)` URL. Dot segments are not resolved: a client has no reason to send them.
pub fn normalize_htu(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // An IPv6 literal holds colons of its own: the port follows its closing bracket.
    let (host, port) = match authority.strip_prefix('[') {
        Some(_) => {
            let close = authority.find(']')?;
            let (host, after) = authority.split_at(close + 1);
            (host, if after.is_empty() { None } else { Some(after.strip_prefix(':')?) })
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority.as_str(), None),
        },
    };
    let authority = match port {
        None | Some("") => host.to_owned(),
        Some(port) if port == default_port => host.to_owned(),
        Some(port) if port.bytes().all(|b| b.is_ascii_digit()) => format!("{host}:{port}"),
        Some(_) => return None,
    };
    let path = if path.is_empty() { "/" } else { path };
    Some(format!("{scheme}://{authority}{}", normalize_percent(path)?))
}

fn normalize_percent(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            let ch = path[i..].chars().next()?;
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "https://id.example/oauth2/token";

    fn check_claims(claims: serde_json::Value, edit: impl FnOnce(&mut Expected<'_>), expected: Result<(), ProofFailure>) {
        let nonces = ["n1".to_owned(), "n0".to_owned()];
        let mut e =
            Expected { method: "POST", url: URL, now: 10_000, access_token_hash: None, nonces: None, bound_jkt: None, jkt: "key-a" };
        edit(&mut e);
        let e = Expected { nonces: e.nonces.map(|_| &nonces[..]), ..e };
        assert_eq!(check(claims.to_string().as_bytes(), &e).map(drop), expected, "{claims}");
    }

    #[test]
    fn proof_claims() {
        use ProofFailure::*;
        let ok = || json!({"htm": "POST", "htu": URL, "iat": 10_000, "jti": "j1"});
        let with = |key: &str, value: serde_json::Value| {
            let mut c = ok();
            c[key] = value;
            c
        };
        let same = |_: &mut Expected<'_>| {};
        check_claims(ok(), same, Ok(()));
        check_claims(with("htm", json!("GET")), same, Err(WrongMethod));
        check_claims(with("htm", json!("post")), same, Err(WrongMethod));
        check_claims(with("htu", json!("https://id.example/oauth2/introspect")), same, Err(WrongUrl));
        check_claims(with("htu", json!("https://ID.example:443/oauth2/token?x=1#f")), same, Ok(()));
        check_claims(with("htu", json!("http://id.example/oauth2/token")), same, Err(WrongUrl));
        check_claims(with("htu", json!("https://id.example:8443/oauth2/token")), same, Err(WrongUrl));
        check_claims(with("htu", json!(42)), same, Err(Malformed));
        check_claims(with("iat", json!(10_000 - MAX_AGE)), same, Ok(()));
        check_claims(with("iat", json!(10_000 - MAX_AGE - 1)), same, Err(Stale));
        check_claims(with("iat", json!(10_000 + MAX_SKEW)), same, Ok(()));
        check_claims(with("iat", json!(10_000 + MAX_SKEW + 1)), same, Err(Stale));
        check_claims(json!({"htm": "POST", "htu": URL, "jti": "j"}), same, Err(MissingIat));
        check_claims(json!({"htm": "POST", "htu": URL, "iat": 10_000}), same, Err(MissingJti));
        check_claims(with("jti", json!("j".repeat(257))), same, Err(MissingJti));
        let with_ath = |e: &mut Expected<'_>| e.access_token_hash = Some("h1");
        check_claims(with("ath", json!("h1")), with_ath, Ok(()));
        check_claims(with("ath", json!("h2")), with_ath, Err(WrongAth));
        check_claims(ok(), with_ath, Err(WrongAth));
        check_claims(ok(), |e| e.bound_jkt = Some("key-b"), Err(WrongKey));
        check_claims(ok(), |e| e.bound_jkt = Some("key-a"), Ok(()));
        let demand = |e: &mut Expected<'_>| e.nonces = Some(&[]);
        check_claims(ok(), demand, Err(UseNonce));
        check_claims(with("nonce", json!("old")), demand, Err(UseNonce));
        check_claims(with("nonce", json!("n0")), demand, Ok(()));
    }

    #[test]
    fn a_bound_token_only_as_dpop_an_unbound_one_only_as_bearer() {
        assert_eq!(presentation(None, false), Ok(None));
        assert_eq!(presentation(Some("k"), true), Ok(Some("k")));
        assert!(presentation(None, true).is_err());
        assert!(presentation(Some("k"), false).is_err());
    }

    #[test]
    fn required_proofs_and_bound_refresh_tokens() {
        use ProofFailure::*;
        let mut client = crate::testing::client(&[], "read");
        assert_eq!(check_required(&client, None), Ok(()));
        client.dpop_bound_access_tokens = true;
        assert_eq!(check_required(&client, None), Err(Missing));
        assert_eq!(check_required(&client, Some("k")), Ok(()));

        assert_eq!(check_binding(None, None), Ok(()));
        assert_eq!(check_binding(None, Some("k")), Ok(()));
        assert_eq!(check_binding(Some("k"), None), Err(Missing));
        assert_eq!(check_binding(Some("k"), Some("other")), Err(WrongKey));
        assert_eq!(check_binding(Some("k"), Some("k")), Ok(()));

        client.public = false;
        assert_eq!(refresh_binding(&client, Some("k")), None);
        client.public = true;
        assert_eq!(refresh_binding(&client, Some("k")), Some("k"));
        assert_eq!(refresh_binding(&client, None), None);
    }

    #[test]
    fn jti_is_remembered_while_the_proof_could_pass() {
        let claims = json!({"htm": "GET", "htu": URL, "iat": 9_990, "jti": "j"});
        let e = Expected { method: "GET", url: URL, now: 10_000, access_token_hash: None, nonces: None, bound_jkt: None, jkt: "k" };
        let accepted = check(claims.to_string().as_bytes(), &e).unwrap();
        assert_eq!(accepted, Accepted { jti: "j".into(), remember_until: 9_990 + MAX_AGE + 1 });
    }

    #[test]
    fn htu_normalisation() {
        let check = |a: &str, b: Option<&str>| assert_eq!(normalize_htu(a).as_deref(), b, "{a}");
        check("HTTPS://Id.Example", Some("https://id.example/"));
        check("https://id.example:443/a?b#c", Some("https://id.example/a"));
        check("http://127.0.0.1:8080/token", Some("http://127.0.0.1:8080/token"));
        check("http://127.0.0.1:80/token", Some("http://127.0.0.1/token"));
        check("https://id.example/%7euser/%2f", Some("https://id.example/~user/%2F"));
        check("https://[::1]:8443/x", Some("https://[::1]:8443/x"));
        check("https://[::1]/x", Some("https://[::1]/x"));
        check("ftp://id.example/", None);
        check("/oauth2/token", None);
        check("https://user@id.example/", None);
        check("https://id.example:x/", None);
        check("https://id.example/%zz", None);
    }
}
