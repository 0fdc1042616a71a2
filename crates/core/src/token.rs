//! Access-token claims (RFC 9068) and the lifetime rules.

use tessera_proto::AccessTokenClaims;

use crate::model::{Client, OrgId, UserId};
use crate::scope::ScopeSet;

/// The JOSE `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Token policy from configuration and profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The issuer, exactly as discovery publishes it (S06).
    pub issuer: String,
    /// The default `aud` of access tokens: the API the tokens are for when a request names no
    /// `resource` (RFC 8707).
    pub audience: String,
    pub access_token_ttl: u32,
    /// Per-client lifetimes are capped at this.
    pub max_access_token_ttl: u32,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`, in seconds (0 allowed).
    pub leeway: u32,
}

impl TokenPolicy {
    /// The client's own lifetime if it has one, else the default; never above the cap.
    pub fn access_token_ttl(&self, client: &Client) -> u32 {
        client.access_token_ttl.unwrap_or(self.access_token_ttl).min(self.max_access_token_ttl).max(1)
    }
}

/// What an access token states: who it acts for, through which client, in which organization,
/// with which scope, for which resources and for how long.
#[derive(Debug, Clone, Copy)]
pub struct AccessGrant<'a> {
    pub subject: &'a UserId,
    pub client: &'a Client,
    pub org: &'a OrgId,
    pub scope: &'a ScopeSet,
    /// RFC 8707: they become the token's `aud`; none: the default audience.
    pub resources: &'a [String],
    pub ttl: u32,
}

/// The claims of one access token.
pub fn access_token_claims(policy: &TokenPolicy, grant: &AccessGrant<'_>, jti: String, now: i64) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: policy.issuer.clone(),
        sub: grant.subject.to_string(),
        aud: crate::resource::audience(grant.resources, &policy.audience),
        exp: now + i64::from(grant.ttl),
        iat: now,
        nbf: None,
        jti,
        client_id: grant.client.id.to_string(),
        scope: grant.scope.to_string(),
        org_id: grant.org.to_string(),
        grant_id: None,
        cnf: None,
        act: None,
    }
}

/// Why a token is outside its validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// `exp + leeway` has passed.
    Expired,
    /// `iat` or `nbf` lies further ahead than the leeway.
    NotYetValid,
}

/// The one lifetime rule, for the server and the guard alike: refused once `exp + leeway` has
/// passed, or when `iat`/`nbf` lie further ahead than `leeway`.
pub fn check_lifetime(claims: &AccessTokenClaims, now: i64, leeway: u32) -> Result<(), Lifetime> {
    let leeway = i64::from(leeway);
    if now > claims.exp.saturating_add(leeway) {
        return Err(Lifetime::Expired);
    }
    let horizon = now.saturating_add(leeway);
    if claims.iat > horizon || claims.nbf.is_some_and(|nbf| nbf > horizon) {
        return Err(Lifetime::NotYetValid);
    }
    Ok(())
}

/// Whether claims are within their validity window at `now` ([`check_lifetime`]).
pub fn within_lifetime(claims: &AccessTokenClaims, now: i64, leeway: u32) -> bool {
    check_lifetime(claims, now, leeway).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: i64, exp: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp,
            iat,
            nbf: None,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "x".into(),
            org_id: "o".into(),
            grant_id: None,
            cnf: None,
            act: None,
        }
    }

    #[test]
    fn lifetime_with_leeway() {
        let check = |iat, exp, now, leeway, expected| {
            assert_eq!(within_lifetime(&claims(iat, exp), now, leeway), expected, "iat {iat} exp {exp} now {now} leeway {leeway}")
        };
        check(100, 200, 150, 60, true);
        check(100, 200, 260, 60, true);
        check(100, 200, 261, 60, false);
        check(100, 200, 201, 0, false);
        check(130, 300, 100, 60, true);
        check(190, 300, 100, 60, false);
    }
}
