//! Request parameters from a form or a JSON body, parsed once at the boundary.
//!
//! Both encodings become the same flat list of name/value strings. A parameter given twice is
//! refused (RFC 6749 §3.1, §3.2), a JSON body must be one object of strings, and an empty value
//! counts as absent (RFC 6749 §3.1).

use crate::OAuthError;

/// The most parameters a request may carry; more is a malformed request, not work to do.
pub const MAX_PARAMS: usize = 64;
/// The longest parameter value accepted (a 1 KB `state` must pass, a megabyte must not).
pub const MAX_VALUE_LEN: usize = 8 * 1024;

/// The parameters of one request, unique by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Builds parameters from name/value pairs, refusing duplicates and oversized input.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        if pairs.len() > MAX_PARAMS {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        for (i, (name, value)) in pairs.iter().enumerate() {
            if value.len() > MAX_VALUE_LEN || name.len() > 128 {
                return Err(OAuthError::invalid_request("parameter too long"));
            }
            if pairs[..i].iter().any(|(other, _)| other == name) {
                return Err(OAuthError::invalid_request(format!("parameter '{}' is repeated", printable(name))));
            }
        }
        Ok(Self(pairs))
    }

    /// `application/x-www-form-urlencoded`.
    pub fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| OAuthError::invalid_request("the form body is malformed"))?;
        Self::from_pairs(pairs)
    }

    /// `application/json`: one object whose values are all strings.
    pub fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| OAuthError::invalid_request("the JSON body is malformed"))?;
        let serde_json::Value::Object(map) = value else {
            return Err(OAuthError::invalid_request("the JSON body must be an object"));
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (name, value) in map {
            match value {
                serde_json::Value::String(s) => pairs.push((name, s)),
                serde_json::Value::Null => {}
                _ => {
                    return Err(OAuthError::invalid_request(format!("parameter '{}' must be a string", printable(&name))));
                }
            }
        }
        Self::from_pairs(pairs)
    }

    /// The value of `name`, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Whether `name` was sent at all, even empty.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// A parameter name made safe to echo in an error description.
fn printable(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_give_the_same_params() {
        let form = Params::from_form(b"grant_type=client_credentials&scope=a+b").unwrap();
        let json = Params::from_json(br#"{"grant_type":"client_credentials","scope":"a b"}"#).unwrap();
        assert_eq!(form, json);
        assert_eq!(form.get("scope"), Some("a b"));
    }

    #[test]
    fn malformed_bodies_are_invalid_request() {
        for body in [&br#"{"grant_type":"#[..], b"[1,2]", br#"{"code":5}"#, br#"{"a":{"b":"c"}}"#, b"\xff\xfe"] {
            let err = Params::from_json(body).unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::InvalidRequest, "{body:?}");
        }
        let err = Params::from_form(b"grant_type=a&grant_type=b").unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidRequest);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let params = Params::from_form(b"scope=&grant_type=x").unwrap();
        assert_eq!(params.get("scope"), None);
        assert!(params.contains("scope"));
    }
}
