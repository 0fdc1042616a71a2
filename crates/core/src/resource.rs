//! Resource indicators (RFC 8707): which resources a client may name with `resource`, and the
//! `aud` of the access tokens that follow.
//!
//! A client registers the resources (absolute URIs) it may ask tokens for. An authorization
//! request may name some of them; the grant records them, and later token requests of that
//! grant may narrow the set, never widen it. A client-credentials request names them directly.
//! With no `resource` at all, tokens carry the server's default audience.

use tessera_proto::Audience;

use crate::message::Message;
use crate::model::Client;
use crate::params::Params;
use crate::{OAuthError, message};

/// The most resources one client may register (and so one token may name).
pub const MAX_RESOURCES: usize = 20;

/// A resource may be registered and requested when it is an absolute URI (RFC 3986 §4.3)
/// without a fragment (RFC 8707 §2), with no spaces or control characters.
pub fn validate_resource_uri(uri: &str) -> Result<(), Message> {
    if uri.is_empty() || uri.len() > 2000 || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(message!("resource-uri-bad-text", "must be a URI of at most 2000 characters without spaces or control characters"));
    }
    if uri.contains('#') {
        return Err(message!("uri-fragment", "must not contain a fragment"));
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(message!("uri-not-absolute", "must be an absolute URI"));
    };
    let mut bytes = scheme.bytes();
    let scheme_ok =
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic()) && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || rest.is_empty() {
        return Err(message!("uri-not-absolute", "must be an absolute URI"));
    }
    Ok(())
}

/// Every problem of a list of resources to register, in order.
pub fn registration_problems(resources: &[String]) -> Vec<Message> {
    let mut problems = Vec::new();
    if resources.len() > MAX_RESOURCES {
        problems.push(message!("resource-too-many", "at most {most} resources may be registered", most = MAX_RESOURCES));
    }
    for (i, uri) in resources.iter().enumerate() {
        if let Err(why) = validate_resource_uri(uri) {
            problems.push(message!("resource-uri-bad", "resource {uri:?}: {why}", uri = uri, why = why));
        } else if resources[..i].contains(uri) {
            problems.push(message!("resource-twice", "resource {uri:?} is listed twice", uri = uri));
        }
    }
    problems
}

/// The resources a request names (`resource`, repeatable), each an absolute URI without a
/// fragment; otherwise `invalid_target` (RFC 8707 §2).
pub fn requested(params: &Params) -> Result<Vec<String>, OAuthError> {
    let mut resources: Vec<String> = Vec::new();
    for uri in params.all("resource") {
        validate_resource_uri(uri).map_err(|_| OAuthError::invalid_target("resource must be an absolute URI without a fragment"))?;
        if !resources.iter().any(|r| r == uri) {
            resources.push(uri.to_owned());
        }
    }
    Ok(resources)
}

/// The resources a token is issued for. Every requested resource must be registered for the
/// client and, when the grant recorded resources at authorization (`granted`), among those: a
/// token request narrows, never widens. Nothing requested: the granted ones (maybe none).
pub fn select(requested: &[String], client: &Client, granted: &[String]) -> Result<Vec<String>, OAuthError> {
    if requested.iter().any(|r| !client.resources.contains(r)) {
        return Err(OAuthError::invalid_target("a requested resource is not registered for this client"));
    }
    if !granted.is_empty() && requested.iter().any(|r| !granted.contains(r)) {
        return Err(OAuthError::invalid_target("a requested resource was not part of the authorization"));
    }
    let selected = if requested.is_empty() { granted } else { requested };
    // A resource the client no longer has registered is not issued any more.
    if selected.iter().any(|r| !client.resources.contains(r)) {
        return Err(OAuthError::invalid_target("a resource of this authorization is no longer registered for this client"));
    }
    Ok(selected.to_vec())
}

/// The `aud` of an access token for `resources`: those, or `default` when there are none.
pub fn audience(resources: &[String], default: &str) -> Audience {
    if resources.is_empty() { Audience::from(default) } else { Audience::new(resources.iter().cloned()) }
}

/// Whether an access token's `aud` is one this server issues for `client`: the default
/// audience alone, or resources all still registered for the client.
pub fn audience_allowed(aud: &Audience, client: &Client, default: &str) -> bool {
    aud.single() == Some(default) || aud.values().iter().all(|a| client.resources.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::model::GrantType;

    fn client(resources: &[&str]) -> Client {
        Client {
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            ..crate::testing::client(&[GrantType::ClientCredentials], "read")
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn resource_uris() {
        let check = |uri: &str, ok: bool| assert_eq!(validate_resource_uri(uri).is_ok(), ok, "{uri}");
        check("https://api.example.com", true);
        check("https://api.example.com/v1?x=1", true);
        check("urn:example:api", true);
        check("http://127.0.0.1:9000/", true);
        check("/api", false);
        check("api.example.com", false);
        check("https://api.example.com/#top", false);
        check("https://api.example.com#", false);
        check("", false);
        check("https://a b", false);
        check("1https://x", false);
        check("https:", false);
    }

    #[test]
    fn requested_resources_are_checked_and_deduplicated() {
        let check = |body: &str, expected: Result<Vec<String>, ErrorCode>| {
            let params = Params::from_form(body.as_bytes()).unwrap();
            assert_eq!(requested(&params).map_err(|e| e.code), expected, "{body}");
        };
        check("", Ok(vec![]));
        check("resource=https%3A%2F%2Fa.test", Ok(strings(&["https://a.test"])));
        check("resource=https%3A%2F%2Fa.test&resource=urn%3Ab&resource=https%3A%2F%2Fa.test", Ok(strings(&["https://a.test", "urn:b"])));
        check("resource=%2Frelative", Err(ErrorCode::InvalidTarget));
        check("resource=https%3A%2F%2Fa.test%23frag", Err(ErrorCode::InvalidTarget));
    }

    #[test]
    fn selection_narrows_never_widens() {
        let c = client(&["https://a.test", "https://b.test", "https://c.test"]);
        let check = |requested: &[&str], granted: &[&str], expected: Result<Vec<String>, ErrorCode>| {
            assert_eq!(select(&strings(requested), &c, &strings(granted)).map_err(|e| e.code), expected, "{requested:?} of {granted:?}");
        };
        check(&[], &[], Ok(vec![]));
        check(&["https://a.test"], &[], Ok(strings(&["https://a.test"])));
        check(&["https://x.test"], &[], Err(ErrorCode::InvalidTarget));
        check(&["https://a.test", "https://x.test"], &[], Err(ErrorCode::InvalidTarget));
        check(&[], &["https://a.test", "https://b.test"], Ok(strings(&["https://a.test", "https://b.test"])));
        check(&["https://b.test"], &["https://a.test", "https://b.test"], Ok(strings(&["https://b.test"])));
        check(&["https://c.test"], &["https://a.test"], Err(ErrorCode::InvalidTarget));
        check(&[], &["https://gone.test"], Err(ErrorCode::InvalidTarget));
    }

    #[test]
    fn audiences() {
        let c = client(&["https://a.test", "https://b.test"]);
        assert_eq!(serde_json::to_value(audience(&[], "https://id.test")).unwrap(), serde_json::json!("https://id.test"));
        assert_eq!(serde_json::to_value(audience(&strings(&["https://a.test"]), "d")).unwrap(), serde_json::json!("https://a.test"));
        let two = audience(&strings(&["https://a.test", "https://b.test"]), "d");
        assert_eq!(serde_json::to_value(&two).unwrap(), serde_json::json!(["https://a.test", "https://b.test"]));
        assert!(audience_allowed(&two, &c, "https://id.test"));
        assert!(audience_allowed(&Audience::from("https://id.test"), &c, "https://id.test"));
        assert!(!audience_allowed(&Audience::from("https://x.test"), &c, "https://id.test"));
        assert!(!audience_allowed(&audience(&strings(&["https://a.test", "https://x.test"]), "d"), &c, "https://id.test"));
    }
}
