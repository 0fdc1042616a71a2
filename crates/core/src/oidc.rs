//! OpenID Connect: ID-token claims (OIDC Core §2, §3.1.3.6) and the userinfo answer (§5.3),
//! both filtered by the granted scopes.

use tessera_proto::{AccessTokenClaims, IdTokenClaims, ProfileClaims, UserInfo};

use crate::model::{Client, User};
use crate::scope::ScopeSet;
use crate::token::TokenPolicy;

/// The JOSE `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// What an ID token is about, beyond the user and client.
#[derive(Debug, Clone)]
pub struct IdTokenFacts<'a> {
    pub scope: &'a ScopeSet,
    pub auth_time: i64,
    /// How the user signed in (RFC 8176 values); empty when not known.
    pub amr: &'a [String],
    pub nonce: Option<&'a str>,
    /// Left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6), from the caller.
    pub at_hash: Option<String>,
    pub ttl: u32,
    pub now: i64,
}

/// What the `email` and `profile` scopes release about `user`.
pub fn profile_claims(user: &User, scope: &ScopeSet) -> ProfileClaims {
    let email = scope.contains("email");
    ProfileClaims {
        email: email.then(|| user.email.clone()),
        // True once the user proved they receive mail there (SPEC §11), never assumed.
        email_verified: email.then_some(user.email_verified_at.is_some()),
        preferred_username: scope.contains("profile").then(|| user.email.clone()),
    }
}

/// The authentication context classes Tessera answers with and honours in `acr_values`: a sign-in
/// with a password alone, and one with more than one factor.
pub const ACR_PASSWORD: &str = "pwd";
pub const ACR_MULTI_FACTOR: &str = "mfa";
pub const ACR_VALUES_SUPPORTED: [&str; 2] = [ACR_PASSWORD, ACR_MULTI_FACTOR];

/// The `acr` of a sign-in with these methods.
pub fn acr(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == ACR_MULTI_FACTOR) { ACR_MULTI_FACTOR } else { ACR_PASSWORD }
}

/// The claims of an ID token for `user` at `client`.
pub fn id_token_claims(policy: &TokenPolicy, user: &User, client: &Client, facts: IdTokenFacts<'_>) -> IdTokenClaims {
    IdTokenClaims {
        iss: policy.issuer.clone(),
        sub: user.id.to_string(),
        aud: client.id.to_string(),
        azp: client.id.to_string(),
        exp: facts.now + i64::from(facts.ttl),
        iat: facts.now,
        auth_time: facts.auth_time,
        amr: (!facts.amr.is_empty()).then(|| facts.amr.to_vec()),
        acr: (!facts.amr.is_empty()).then(|| acr(facts.amr).to_owned()),
        nonce: facts.nonce.map(str::to_owned),
        at_hash: facts.at_hash,
        profile: profile_claims(user, facts.scope),
        org_id: user.org_id.to_string(),
    }
}

/// The userinfo answer for an active access token with `openid` (the caller checked both).
pub fn userinfo(claims: &AccessTokenClaims, user: &User, scope: &ScopeSet) -> UserInfo {
    UserInfo {
        sub: user.id.to_string(),
        id: user.id.to_string(),
        org_id: user.org_id.to_string(),
        profile: profile_claims(user, scope),
        role: scope.contains("profile").then(|| user.role.as_str().to_owned()),
        client_id: claims.client_id.clone(),
        scope: claims.scope.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrantType, Role};

    #[test]
    fn claims_follow_the_granted_scopes() {
        let policy = crate::testing::policy();
        let user = crate::testing::user("u1", Role::Member);
        let client = crate::testing::client(&[GrantType::AuthorizationCode], "read");
        let bare = ScopeSet::parse("openid").unwrap();
        let facts = IdTokenFacts { scope: &bare, auth_time: 90, amr: &[], nonce: Some("n"), at_hash: Some("h".into()), ttl: 300, now: 100 };
        let claims = id_token_claims(&policy, &user, &client, facts.clone());
        assert_eq!((claims.sub.as_str(), claims.aud.as_str(), claims.azp.as_str()), ("u1", client.id.as_str(), client.id.as_str()));
        assert_eq!((claims.iat, claims.exp, claims.auth_time), (100, 400, 90));
        assert_eq!(claims.nonce.as_deref(), Some("n"));
        assert_eq!(claims.profile.email, None, "no email without the email scope");
        let wide = ScopeSet::parse("openid email profile").unwrap();
        let claims = id_token_claims(&policy, &user, &client, IdTokenFacts { scope: &wide, nonce: None, ..facts });
        assert_eq!(claims.profile.email.as_deref(), Some(user.email.as_str()));
        assert_eq!(claims.nonce, None);
    }
}
