//! Request parameters from a form or a JSON body, parsed once at the boundary.
//!
//! Both encodings become the same flat list of name/value strings. A parameter given twice is
//! refused (RFC 6749 §3.1, §3.2), a JSON body must be one object of strings, and an empty value
//! counts as absent (RFC 6749 §3.1). Names and values must be UTF-8 (RFC 6749 Appendix B), also
//! once percent-decoded: `%FF` is refused, never rewritten to U+FFFD.

use crate::OAuthError;

/// The most parameters a request may carry; more is a malformed request, not work to do.
pub const MAX_PARAMS: usize = 64;
/// The longest parameter value accepted: room for any token this server issues (the JWS
/// verifier caps tokens at 16 KiB) and a 1 KB `state`; a megabyte must not pass.
pub const MAX_VALUE_LEN: usize = 16 * 1024;

/// The parameters that may be given more than once (RFC 8707 §2: `resource`; RFC 8693 §2.1:
/// `audience`). Every other parameter is unique by name.
pub const MULTI_VALUED: &[&str] = &["resource", "audience"];

/// The name/value pairs of an `application/x-www-form-urlencoded` body, in order, repeats kept:
/// the WHATWG URL Standard's parsing, except that a name or value that is not UTF-8 once
/// decoded is refused where that standard would put U+FFFD in its place.
pub fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            Ok((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

/// The parameters of one request, unique by name (except [`MULTI_VALUED`] ones).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// Names only: values may be secrets, codes or tokens.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(name, _)| name)).finish()
    }
}

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
            if !MULTI_VALUED.contains(&name.as_str()) && pairs[..i].iter().any(|(other, _)| other == name) {
                return Err(OAuthError::invalid_request(format!("parameter '{}' is repeated", printable(name))));
            }
        }
        Ok(Self(pairs))
    }

    /// `application/x-www-form-urlencoded` (a body, or the query of an authorization request):
    /// the WHATWG URL Standard's parsing, except that a name or value that is not UTF-8 once
    /// decoded is `invalid_request` where that standard would put U+FFFD in its place.
    pub fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        Self::from_pairs(form_pairs(body)?)
    }

    /// `application/json`: one object whose values are all strings (`null` counts as empty), or
    /// for a [`MULTI_VALUED`] parameter an array of strings. A name given twice is refused here
    /// too, not silently resolved to the last value.
    pub fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let object: JsonObject = serde_json::from_slice(body)
            .map_err(|_| OAuthError::invalid_request("the JSON body must be one object whose values are strings"))?;
        Self::from_pairs(object.0)
    }

    /// The value of `name`, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`, in order (for [`MULTI_VALUED`] parameters).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Whether `name` was sent at all, even empty.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// The parameters form-encoded, in their order (a pushed authorization request is stored so).
    pub fn to_form(&self) -> String {
        serde_urlencoded::to_string(&self.0).unwrap_or_default()
    }

    /// These parameters with `name` set to `value` (replacing any value it had).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A JSON object read member by member, so repeated names survive to be refused.
struct JsonObject(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonObject;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object whose values are strings")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
                let mut pairs = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    match map.next_value::<Member>()? {
                        Member::One(value) => pairs.push((name, value.unwrap_or_default())),
                        Member::Many(values) if MULTI_VALUED.contains(&name.as_str()) => {
                            if values.len() > MAX_PARAMS {
                                return Err(serde::de::Error::custom("too many parameters"));
                            }
                            pairs.extend(values.into_iter().map(|value| (name.clone(), value)));
                        }
                        Member::Many(_) => return Err(serde::de::Error::custom("only resource and audience may be arrays")),
                    }
                    if pairs.len() > MAX_PARAMS {
                        return Err(serde::de::Error::custom("too many parameters"));
                    }
                }
                Ok(JsonObject(pairs))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// One member of a JSON body: a string (or `null`), or an array of strings.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Member {
    One(Option<String>),
    Many(Vec<String>),
}

/// One name or value of a form: `+` is a space, `%XX` a byte (a `%` not followed by two hex
/// digits stays as it is), and the bytes must be UTF-8.
fn form_decode(raw: &[u8]) -> Result<String, OAuthError> {
    // `+` is a space; a `%` without two hex digits after it stays as it is (WHATWG).
    let spaced: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| OAuthError::invalid_request("parameters must be UTF-8 text (also where percent-encoded)"))
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
        let err = Params::from_json(br#"{"scope":"read","scope":"admin"}"#).unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidRequest);
        assert_eq!(Params::from_json(br#"{"scope":null,"a":"b"}"#).unwrap().get("scope"), None);
        let err = Params::from_form(b"grant_type=a&grant_type=b").unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidRequest);
    }

    #[test]
    fn resource_may_repeat_in_both_encodings() {
        let form = Params::from_form(b"resource=https%3A%2F%2Fa.test&resource=https%3A%2F%2Fb.test&scope=x").unwrap();
        let json = Params::from_json(br#"{"resource":["https://a.test","https://b.test"],"scope":"x"}"#).unwrap();
        assert_eq!(form, json);
        assert_eq!(form.all("resource").collect::<Vec<_>>(), ["https://a.test", "https://b.test"]);
        let one = Params::from_json(br#"{"resource":"https://a.test"}"#).unwrap();
        assert_eq!(one.all("resource").collect::<Vec<_>>(), ["https://a.test"]);
        assert!(Params::from_json(br#"{"scope":["a","b"]}"#).is_err());
        assert!(Params::from_json(br#"{"resource":[1]}"#).is_err());
    }

    /// `expected`: the pairs, or `None` for `invalid_request` because the input is not UTF-8.
    fn check_form(body: &[u8], expected: Option<&[(&str, &str)]>) {
        let actual = Params::from_form(body).map(|p| p.0);
        match expected {
            Some(pairs) => {
                let pairs: Vec<(String, String)> = pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
                assert_eq!(actual, Ok(pairs), "{body:?}");
            }
            None => {
                let error = actual.unwrap_err();
                assert!(error.code == crate::ErrorCode::InvalidRequest && error.description.contains("UTF-8"), "{body:?}");
            }
        }
    }

    #[test]
    fn form_decoding_follows_the_url_standard_but_refuses_what_is_not_utf8() {
        check_form(b"", Some(&[]));
        check_form(b"a=1&&b=2&", Some(&[("a", "1"), ("b", "2")]));
        check_form(b"a&b=", Some(&[("a", ""), ("b", "")]));
        check_form(b"a=x=y", Some(&[("a", "x=y")]));
        check_form(b"s=a+b%2Bc%20d", Some(&[("s", "a b+c d")]));
        check_form(b"s=%C3%A9t%C3%A9", Some(&[("s", "\u{e9}t\u{e9}")]));
        check_form("s=\u{e9}".as_bytes(), Some(&[("s", "\u{e9}")]));
        check_form(b"s=100%&t=%zz%4&u=%%41", Some(&[("s", "100%"), ("t", "%zz%4"), ("u", "%A")]));
        check_form(b"s=%e2%82%ac", Some(&[("s", "\u{20ac}")]));
        // Not UTF-8 once decoded, in a value or a name, percent-encoded or raw: refused, never U+FFFD.
        check_form(b"state=%FF", None);
        check_form(b"state=ok&scope=read%C3", None);
        check_form(b"%FF=x", None);
        check_form(b"s=%C3%28", None);
        check_form(b"s=%ED%A0%80", None);
        check_form(b"s=\xff", None);
        check_form(b"s=\xc3", None);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let params = Params::from_form(b"scope=&grant_type=x").unwrap();
        assert_eq!(params.get("scope"), None);
        assert!(params.contains("scope"));
    }
}
