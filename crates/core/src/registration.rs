//! Dynamic client registration (RFC 7591) and management (RFC 7592): what a registration
//! request's metadata means, and which RFC 7591 §3.2.2 error a problem of it is. The rules a
//! client must satisfy are `client::registration_problems`, the same for every front end.

use crate::client::Problem;
use crate::error::{ErrorCode, OAuthError};
use crate::model::{GrantType, TokenEndpointAuthMethod};

/// The client metadata of RFC 7591 §2 that Tessera uses; every other member is ignored, as
/// §2 says an unknown one must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Space-separated, as in RFC 6749 §3.3; `None`: every scope the owner may grant.
    pub scope: Option<String>,
    /// A JWK Set (as JSON text) or where to fetch one, for `private_key_jwt`.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof; `None`: not given (false
    /// at registration, unchanged on update).
    pub dpop_bound_access_tokens: Option<bool>,
    /// Whether `grant_types` was given (RFC 7592 §2.2: an omitted value may be left as it is).
    pub grant_types_given: bool,
    pub token_endpoint_auth_method_given: bool,
}

fn metadata_error(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description)
}

fn string_list(body: &serde_json::Value, name: &'static str) -> Result<Option<Vec<String>>, OAuthError> {
    match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| metadata_error(format!("{name} must be an array of strings"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!("{name} must be an array of strings"))),
    }
}

fn string(body: &serde_json::Value, name: &'static str) -> Result<Option<String>, OAuthError> {
    match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

fn boolean(body: &serde_json::Value, name: &'static str) -> Result<Option<bool>, OAuthError> {
    match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(metadata_error(format!("{name} must be true or false"))),
    }
}

/// Parses a registration (or RFC 7592 update) request body. Defaults per RFC 7591 §2:
/// `grant_types` `["authorization_code"]`, `token_endpoint_auth_method` `client_secret_basic`;
/// `response_types` must agree with the grants (`code` ↔ `authorization_code`, `token` ↔
/// `implicit`).
pub fn parse_metadata(body: &serde_json::Value) -> Result<ClientMetadata, OAuthError> {
    if !body.is_object() {
        return Err(metadata_error("the registration request must be a JSON object"));
    }
    let grant_names = string_list(body, "grant_types")?;
    let grant_types_given = grant_names.is_some();
    let mut grant_types = Vec::new();
    for name in grant_names.unwrap_or_else(|| vec!["authorization_code".into()]) {
        let grant = match name.as_str() {
            crate::device::GRANT_TYPE => Some(GrantType::DeviceCode),
            "device_code" => None,
            // Token exchange is granted by an operator or an org's people, never self-registered.
            crate::exchange::GRANT_TYPE | "token_exchange" => None,
            other => GrantType::parse(other),
        };
        match grant {
            Some(grant) if !grant_types.contains(&grant) => grant_types.push(grant),
            Some(_) => {}
            None => return Err(metadata_error(format!("grant type {name:?} is not supported"))),
        }
    }
    if let Some(response_types) = string_list(body, "response_types")? {
        for response_type in &response_types {
            let needs = match response_type.as_str() {
                "code" => GrantType::AuthorizationCode,
                "token" => GrantType::Implicit,
                other => return Err(metadata_error(format!("response type {other:?} is not supported"))),
            };
            if !grant_types.contains(&needs) {
                return Err(metadata_error(format!("response type {response_type:?} needs the grant type {}", needs.as_str())));
            }
        }
    }
    let method_name = string(body, "token_endpoint_auth_method")?;
    let token_endpoint_auth_method_given = method_name.is_some();
    let token_endpoint_auth_method = match method_name {
        Some(name) => TokenEndpointAuthMethod::parse(&name)
            .ok_or_else(|| metadata_error(format!("token_endpoint_auth_method {name:?} is not supported")))?,
        None => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    let jwks = match body.get("jwks") {
        None | Some(serde_json::Value::Null) => None,
        Some(jwks @ serde_json::Value::Object(_)) => Some(jwks.to_string()),
        Some(_) => return Err(metadata_error("jwks must be a JWK Set object")),
    };
    Ok(ClientMetadata {
        client_name: string(body, "client_name")?,
        redirect_uris: string_list(body, "redirect_uris")?.unwrap_or_default(),
        grant_types,
        token_endpoint_auth_method,
        scope: string(body, "scope")?,
        jwks,
        jwks_uri: string(body, "jwks_uri")?,
        dpop_bound_access_tokens: boolean(body, "dpop_bound_access_tokens")?,
        grant_types_given,
        token_endpoint_auth_method_given,
    })
}

/// The RFC 7591 §3.2.2 error for a problem found by `client::registration_problems`: a bad
/// redirect URI is `invalid_redirect_uri`, anything else `invalid_client_metadata`.
pub fn error_for(problem: &Problem) -> OAuthError {
    let code = if problem.field == "redirect_uris" { ErrorCode::InvalidRedirectUri } else { ErrorCode::InvalidClientMetadata };
    OAuthError::new(code, problem.message.english.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: serde_json::Value, expected: Result<(&[GrantType], TokenEndpointAuthMethod), ErrorCode>) {
        let actual = parse_metadata(&body).map(|m| (m.grant_types, m.token_endpoint_auth_method)).map_err(|e| e.code);
        assert_eq!(actual, expected.map(|(g, m)| (g.to_vec(), m)), "{body}");
    }

    #[test]
    fn metadata_defaults_and_errors() {
        use GrantType as G;
        use TokenEndpointAuthMethod as M;
        check(json!({}), Ok((&[G::AuthorizationCode], M::ClientSecretBasic)));
        check(json!({"unknown": 1, "logo_uri": "x"}), Ok((&[G::AuthorizationCode], M::ClientSecretBasic)));
        check(
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
            Ok((&[G::ClientCredentials], M::ClientSecretPost)),
        );
        check(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"]}), Ok((&[G::DeviceCode], M::ClientSecretBasic)));
        check(json!({"response_types": ["code"]}), Ok((&[G::AuthorizationCode], M::ClientSecretBasic)));
        check(json!([]), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"grant_types": ["password"]}), Err(ErrorCode::InvalidClientMetadata));
        // Token exchange is never self-registered, by its URN or its registration name.
        check(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"grant_types": ["token_exchange"]}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"grant_types": "client_credentials"}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"response_types": ["token"]}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"response_types": ["id_token"]}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"token_endpoint_auth_method": "tls_client_auth"}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"redirect_uris": [1]}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"jwks": "x"}), Err(ErrorCode::InvalidClientMetadata));
        check(json!({"dpop_bound_access_tokens": "yes"}), Err(ErrorCode::InvalidClientMetadata));
    }

    #[test]
    fn dpop_bound_access_tokens_is_read() {
        let read = |body| parse_metadata(&body).map(|m| m.dpop_bound_access_tokens).ok();
        assert_eq!(read(json!({})), Some(None));
        assert_eq!(read(json!({"dpop_bound_access_tokens": null})), Some(None));
        assert_eq!(read(json!({"dpop_bound_access_tokens": true})), Some(Some(true)));
        assert_eq!(read(json!({"dpop_bound_access_tokens": false})), Some(Some(false)));
    }

    #[test]
    fn redirect_uri_problems_are_invalid_redirect_uri() {
        let problem = Problem { field: "redirect_uris", message: crate::Message { id: "m", english: "m".into(), args: vec![] } };
        assert_eq!(error_for(&problem).code, ErrorCode::InvalidRedirectUri);
        let problem = Problem { field: "scopes", message: crate::Message { id: "m", english: "m".into(), args: vec![] } };
        assert_eq!(error_for(&problem).code, ErrorCode::InvalidClientMetadata);
    }
}
