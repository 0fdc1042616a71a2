//! Authorization-code redemption (RFC 6749 §4.1.3, RFC 7636 §4.6): the rules a code must pass at
//! the token endpoint. Single use and family revocation on reuse are the store's part: a code is
//! consumed atomically before these checks run, so a failed check still uses it up (C03, P06).

use crate::OAuthError;
use crate::authorize::{CodeChallenge, is_valid_verifier};
use crate::issue::{self, Refusal, UserGrantInput, UserIssue};
use crate::model::ClientId;
use crate::scope::ScopeSet;

/// How long an authorization code lives, in seconds (SPEC §3).
pub const CODE_TTL: i64 = 60;

/// What was recorded when a code was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub client_id: ClientId,
    /// The redirect URI named in the authorization request, if it named one.
    pub redirect_uri: Option<String>,
    pub scope: ScopeSet,
    pub code_challenge: Option<CodeChallenge>,
    pub nonce: Option<String>,
    pub issued_at: i64,
}

/// What the token request presents along with the code.
#[derive(Debug, Clone, Copy)]
pub struct Redemption<'a> {
    pub client_id: &'a ClientId,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub now: i64,
}

/// Checks a redemption. `s256` is BASE64URL(SHA-256(input)), supplied by the caller so that the
/// core needs no hash implementation of its own.
pub fn redeem(code: &IssuedCode, redemption: &Redemption<'_>, s256: impl Fn(&str) -> String) -> Result<(), OAuthError> {
    let invalid = |description: &'static str| Err(OAuthError::new(crate::ErrorCode::InvalidGrant, description));
    if redemption.now >= code.issued_at + CODE_TTL {
        return invalid("the authorization code has expired");
    }
    if code.client_id != *redemption.client_id {
        return invalid("the authorization code was issued to another client");
    }
    // Required and identical when the authorization request named one (R10); absent when not.
    if code.redirect_uri.as_deref() != redemption.redirect_uri {
        return invalid("redirect_uri does not match the authorization request");
    }
    match (&code.code_challenge, redemption.code_verifier) {
        (None, None) => Ok(()),
        // A verifier without a challenge is a downgrade attempt (P08).
        (None, Some(_)) => invalid("no code_challenge was sent with the authorization request"),
        (Some(_), None) => invalid("code_verifier is required"),
        (Some(challenge), Some(verifier)) => {
            if is_valid_verifier(verifier) && s256(verifier) == challenge.as_str() {
                Ok(())
            } else {
                invalid("code_verifier does not match the code_challenge")
            }
        }
    }
}

/// Decides a code redemption: the code's own rules ([`redeem`]), then what its grant issues
/// ([`issue::decide`]). The code is spent either way (the store consumed it first).
pub fn decide(
    code: &IssuedCode,
    redemption: &Redemption<'_>,
    grant: &UserGrantInput<'_>,
    s256: impl Fn(&str) -> String,
) -> Result<UserIssue, Refusal> {
    redeem(code, redemption, s256)?;
    issue::decide(grant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{AuthorizeError, validate};
    use crate::model::{Client, GrantType, Pkce};
    use crate::params::Params;

    const VERIFIER: &str = "the-verifier-the-verifier-the-verifier-1234";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    /// A stand-in for BASE64URL(SHA-256(·)) that maps VERIFIER to CHALLENGE and nothing else to
    /// it; the rule under test is the comparison, the hash is the caller's.
    fn fake_s256(input: &str) -> String {
        if input == VERIFIER { CHALLENGE.into() } else { format!("hash-of-{input}") }
    }

    /// A code issued to a client registered with `pkce` optional, so that codes without a
    /// challenge exist (P08).
    fn issued(challenge: bool, redirect_uri: Option<&str>) -> IssuedCode {
        let client = Client { pkce: Pkce::Optional, ..crate::testing::client(&[GrantType::AuthorizationCode], "read") };
        let mut query = "response_type=code&client_id=app".to_owned();
        if let Some(uri) = redirect_uri {
            query.push_str(&format!("&redirect_uri={}", uri.replace(':', "%3A").replace('/', "%2F")));
        }
        if challenge {
            query.push_str(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"));
        }
        let request = validate(&Params::from_form(query.as_bytes()).unwrap(), Some(&client), None)
            .map_err(|e| matches!(e, AuthorizeError::Page(_)))
            .unwrap();
        IssuedCode {
            client_id: ClientId::new(request.client_id),
            redirect_uri: request.redirect_uri_sent.then_some(request.redirect_uri),
            scope: request.scope,
            code_challenge: request.code_challenge,
            nonce: None,
            issued_at: 1000,
        }
    }

    fn check(code: &IssuedCode, client: &str, redirect_uri: Option<&str>, verifier: Option<&str>, now: i64, ok: bool) {
        let client = ClientId::new(client);
        let redemption = Redemption { client_id: &client, redirect_uri, code_verifier: verifier, now };
        assert_eq!(redeem(code, &redemption, fake_s256).is_ok(), ok, "{client} {redirect_uri:?} {verifier:?} at {now}");
    }

    #[test]
    fn c03_c04_r10_p06_p07_p08_p09_redemption_rules() {
        let uri = "https://app.example/cb";
        let plain = issued(false, Some(uri));
        check(&plain, "app", Some(uri), None, 1030, true);
        check(&plain, "app", Some(uri), None, 1060, false); // C04: 60 s lifetime
        check(&plain, "other", Some(uri), None, 1030, false); // C03
        check(&plain, "app", None, None, 1030, false); // R10: omitted although sent at authorize
        check(&plain, "app", Some("https://app.example/cb2"), None, 1030, false); // R10
        check(&plain, "app", Some(uri), Some(VERIFIER), 1030, false); // P08
        let omitted = issued(false, None);
        check(&omitted, "app", None, None, 1030, true);
        let pkce = issued(true, Some(uri));
        check(&pkce, "app", Some(uri), Some(VERIFIER), 1030, true);
        check(&pkce, "app", Some(uri), None, 1030, false); // P07
        check(&pkce, "app", Some(uri), Some(&"b".repeat(43)), 1030, false); // P06
        check(&pkce, "app", Some(uri), Some(&"b".repeat(42)), 1030, false); // P09
    }
}
