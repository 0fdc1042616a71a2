//! The checks on a token, sans-IO: signature and header (through `tessera-jose`), then the
//! claims against the issuer, the audience and the clock. `now` is given, never read here.

use tessera_core::token::{self, Lifetime};
use tessera_jose::{JoseError, VerifyingKey};
use tessera_proto::AccessTokenClaims;

/// RFC 9068 §2.1: access tokens carry `typ: at+jwt`.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Why a token was refused. Callers answer every one of them with the same `invalid_token`;
/// the reason is for metrics and logs only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Not a well-formed JWS, or a header we refuse (`jku`, `x5u`, `jwk`, `x5c`, `crit`).
    Malformed,
    /// No key with the token's `kid` among the issuer's keys for the pinned algorithms.
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key (or not a pinned one).
    Algorithm,
    /// The signature does not verify.
    BadSignature,
    /// `typ` is not `at+jwt`.
    WrongType,
    /// The claims do not parse.
    Claims,
    /// `iss` is not the configured issuer.
    Issuer,
    /// `aud` is not the configured audience.
    Audience,
    /// `exp` plus the leeway has passed.
    Expired,
    /// `nbf` or `iat` lies further ahead than the leeway.
    NotYetValid,
    /// Revoked by its `jti` or through its grant.
    Revoked,
    /// Its client is OFF or deleted, or the client's owner or run-as user is disabled.
    ClientDisabled,
    /// Its user is disabled.
    UserDisabled,
    /// Issued before its user's role was lowered.
    UserChanged,
    /// Issued before a scope or the run-as user was taken from its client's registration.
    ClientChanged,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Reason::Malformed,
        Reason::UnknownKey,
        Reason::Algorithm,
        Reason::BadSignature,
        Reason::WrongType,
        Reason::Claims,
        Reason::Issuer,
        Reason::Audience,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::Revoked,
        Reason::ClientDisabled,
        Reason::UserDisabled,
        Reason::UserChanged,
        Reason::ClientChanged,
    ];

    /// The label used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::UnknownKey => "unknown_key",
            Reason::Algorithm => "algorithm",
            Reason::BadSignature => "bad_signature",
            Reason::WrongType => "wrong_type",
            Reason::Claims => "claims",
            Reason::Issuer => "issuer",
            Reason::Audience => "audience",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Revoked => "revoked",
            Reason::ClientDisabled => "client_disabled",
            Reason::UserDisabled => "user_disabled",
            Reason::UserChanged => "user_changed",
            Reason::ClientChanged => "client_changed",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl From<JoseError> for Reason {
    fn from(e: JoseError) -> Self {
        match e {
            JoseError::UnknownKey => Reason::UnknownKey,
            JoseError::AlgorithmMismatch => Reason::Algorithm,
            JoseError::BadSignature => Reason::BadSignature,
            JoseError::WrongType => Reason::WrongType,
            JoseError::Malformed | JoseError::UnsupportedHeader | JoseError::InvalidKey | JoseError::Signing => Reason::Malformed,
        }
    }
}

/// What a token must say about where it comes from and whom it is for.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub issuer: String,
    pub audience: String,
    /// Allowed clock skew, in seconds.
    pub leeway: i64,
}

/// Verifies the signature with a key found by `kid`, then the claims at `now` (Unix seconds).
pub fn verify<'k>(
    token: &str,
    expect: &Expectations,
    now: i64,
    find_key: impl Fn(&str) -> Option<&'k VerifyingKey>,
) -> Result<AccessTokenClaims, Reason> {
    let verified = tessera_jose::verify(token, ACCESS_TOKEN_TYP, find_key)?;
    let claims: AccessTokenClaims = serde_json::from_slice(&verified.payload).map_err(|_| Reason::Claims)?;
    check_claims(&claims, expect, now)?;
    Ok(claims)
}

/// The claim checks of RFC 9068 §4 (signature aside): issuer, audience and lifetime.
pub fn check_claims(claims: &AccessTokenClaims, expect: &Expectations, now: i64) -> Result<(), Reason> {
    if claims.iss != expect.issuer {
        return Err(Reason::Issuer);
    }
    // RFC 9068 §4, RFC 8707: `aud` may name several resources; this API must be one of them.
    if !claims.aud.contains(&expect.audience) {
        return Err(Reason::Audience);
    }
    // The server's own lifetime rule, so the guard and introspection never disagree.
    let leeway = u32::try_from(expect.leeway.max(0)).unwrap_or(u32::MAX);
    token::check_lifetime(claims, now, leeway).map_err(|problem| match problem {
        Lifetime::Expired => Reason::Expired,
        Lifetime::NotYetValid => Reason::NotYetValid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://id.test".into(),
            sub: "u".into(),
            aud: "https://api.test".into(),
            exp: 2000,
            iat: 1000,
            nbf: None,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "read".into(),
            org_id: "o".into(),
            grant_id: None,
            cnf: None,
            act: None,
        }
    }

    fn check(change: impl FnOnce(&mut AccessTokenClaims), now: i64, expected: Result<(), Reason>) {
        let expect = Expectations { issuer: "https://id.test".into(), audience: "https://api.test".into(), leeway: 30 };
        let mut c = claims();
        change(&mut c);
        assert_eq!(check_claims(&c, &expect, now), expected);
    }

    #[test]
    fn issuer_audience_and_lifetime_with_leeway() {
        check(|_| {}, 1500, Ok(()));
        check(|c| c.iss = "https://evil.test".into(), 1500, Err(Reason::Issuer));
        check(|c| c.aud = "https://other.test".into(), 1500, Err(Reason::Audience));
        let both = tessera_proto::Audience::new(["https://other.test".to_owned(), "https://api.test".to_owned()]);
        check(move |c| c.aud = both, 1500, Ok(()));
        check(|_| {}, 2030, Ok(()));
        check(|_| {}, 2031, Err(Reason::Expired));
        check(|_| {}, 970, Ok(()));
        check(|_| {}, 969, Err(Reason::NotYetValid));
        check(|c| c.nbf = Some(1600), 1569, Err(Reason::NotYetValid));
        check(|c| c.nbf = Some(1600), 1570, Ok(()));
        check(|c| c.exp = i64::MAX, i64::MAX, Ok(()));
    }
}
