//! Whether an issued access token is still active (RFC 7662), and what the caller may learn.
//!
//! One rule serves introspection, userinfo and the revocation feed: a token stops working at
//! once when revoked, when its client is OFF or gone, when its user or the client's owner is
//! disabled or gone, or when its scopes are no longer allowed for the user's role (Q07).

use tessera_proto::{AccessTokenClaims, IntrospectionResponse};

use crate::model::{Client, ClientStatus, ScopeDef, User};
use crate::scope::{self, ScopeSet};
use crate::token;

/// The live state a token is judged against, loaded by the caller.
#[derive(Debug, Clone)]
pub struct TokenState<'a> {
    pub revoked: bool,
    pub client: Option<&'a Client>,
    pub subject: Option<&'a User>,
    pub owner: Option<&'a User>,
    pub catalogue: &'a [ScopeDef],
}

/// Whether a token with valid signature and `claims` still works at `now`.
pub fn is_active(claims: &AccessTokenClaims, state: &TokenState<'_>, issuer: &str, now: i64, leeway: u32) -> bool {
    let (Some(client), Some(subject), Some(owner)) = (state.client, state.subject, state.owner) else {
        return false;
    };
    let Ok(scopes) = ScopeSet::parse(&claims.scope) else {
        return false;
    };
    claims.iss == issuer
        && !state.revoked
        && token::within_lifetime(claims, now, leeway)
        && client.status == ClientStatus::On
        && client.id.as_str() == claims.client_id
        && subject.is_active()
        && owner.is_active()
        && subject.org_id.as_str() == claims.org_id
        && scope::still_allowed(&scopes, subject.role, state.catalogue)
}

/// The introspection answer for `caller_org`: tokens of other organizations are reported
/// inactive, exactly like unknown ones (V07).
pub fn respond(claims: &AccessTokenClaims, active: bool, caller_org: &str) -> IntrospectionResponse {
    if !active || claims.org_id != caller_org {
        return IntrospectionResponse::inactive();
    }
    IntrospectionResponse {
        active: true,
        scope: Some(claims.scope.clone()),
        client_id: Some(claims.client_id.clone()),
        sub: Some(claims.sub.clone()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: claims.nbf,
        iss: Some(claims.iss.clone()),
        aud: Some(claims.aud.clone()),
        jti: Some(claims.jti.clone()),
        token_type: Some("Bearer".into()),
        org_id: Some(claims.org_id.clone()),
    }
}
