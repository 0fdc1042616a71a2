//! The device authorization grant (RFC 8628): what a device may ask for, the user code it shows
//! (short, unambiguous, case-insensitive), and how the token endpoint answers a device's polling
//! (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`, or tokens).

use crate::model::{Client, ClientId, GrantType, UserId};
use crate::params::Params;
use crate::scope::{self, ScopeSet};
use crate::{ErrorCode, OAuthError};

/// The `grant_type` of the device grant at the token endpoint (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The user code's alphabet (RFC 8628 §6.1): 20 consonants, so no 0/O, 1/I/L confusion, no
/// vowels (no words), and the same letters whatever case the user types.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code: 20^8 ≈ 2^34.6 codes, against [`USER_CODE_FAILURE_LIMIT`] guesses.
pub const USER_CODE_LENGTH: usize = 8;

/// Seconds a device waits between polls unless told to slow down (RFC 8628 §3.2 `interval`).
pub const DEFAULT_INTERVAL: i64 = 5;
/// What each `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;
/// Seconds a device code lives (RFC 8628 §3.2 `expires_in`).
pub const DEFAULT_LIFETIME: i64 = 600;

/// Wrong user codes one signed-in user may enter within [`USER_CODE_FAILURE_WINDOW`].
pub const USER_CODE_FAILURE_LIMIT: u32 = 10;
/// Wrong user codes one address may enter within the window (users behind one NAT).
pub const USER_CODE_ADDRESS_LIMIT: u32 = 50;
/// The window of the user-code limits, in seconds.
pub const USER_CODE_FAILURE_WINDOW: i64 = 900;

/// A user code from random bytes (rejection sampling: only bytes below 240, a multiple of 20,
/// so every letter is equally likely); `None` when the bytes ran out (ask again with more).
pub fn user_code_from_random(random: &[u8]) -> Option<String> {
    let code: String =
        random.iter().filter(|b| **b < 240).map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b % 20)])).take(USER_CODE_LENGTH).collect();
    (code.len() == USER_CODE_LENGTH).then_some(code)
}

/// How a user code is shown: `BCDF-GHJK`.
pub fn display_user_code(code: &str) -> String {
    match code.get(..4).zip(code.get(4..)) {
        Some((head, tail)) if code.len() == USER_CODE_LENGTH => format!("{head}-{tail}"),
        _ => code.to_owned(),
    }
}

/// The canonical form of a user code as typed: case, dashes and spaces do not matter; anything
/// else that is not of the alphabet, or the wrong length, is no code of ours.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).map(|c| c.to_ascii_uppercase()).collect();
    let ours = code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ours.then_some(code)
}

/// Validates a device authorization request (RFC 8628 §3.1) by `client` (authenticated as at
/// the token endpoint): the client must be registered for the grant; the scope is what it
/// asked (or all it registered) among its registered and the built-in OpenID scopes.
pub fn validate_request(params: &Params, client: &Client) -> Result<ScopeSet, OAuthError> {
    if !client.has_grant(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client("this client may not use the device authorization grant"));
    }
    let scope = match params.get("scope").map(ScopeSet::parse).transpose()? {
        Some(requested) => scope::registered_part(&requested, &client.scopes),
        None => client.scopes.clone(),
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope("none of the requested scopes is registered for this client"));
    }
    Ok(scope)
}

/// Where a device authorization is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved; the next poll gets tokens.
    Approved,
    Denied,
    /// Tokens were issued: the device code is spent.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(DeviceStatus::Pending),
            "approved" => Some(DeviceStatus::Approved),
            "denied" => Some(DeviceStatus::Denied),
            "consumed" => Some(DeviceStatus::Consumed),
            _ => None,
        }
    }
}

/// A device authorization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub client_id: ClientId,
    pub scope: ScopeSet,
    pub created_at: i64,
    pub expires_at: i64,
    /// Seconds the device must wait between polls (raised by `slow_down`).
    pub interval: i64,
    pub last_polled_at: Option<i64>,
    pub status: DeviceStatus,
    /// Who approved it, when they last entered their password and how they signed in (RFC 8176
    /// methods; empty when not known), for the ID token.
    pub user_id: Option<UserId>,
    pub auth_time: Option<i64>,
    pub amr: Vec<String>,
}

/// What to do with a poll that is not refused outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Record the poll and answer `authorization_pending`.
    Pending,
    /// Record the poll with this (raised) interval and answer `slow_down`.
    SlowDown { interval: i64 },
    /// Consume the device code and issue tokens.
    Issue,
}

/// Decides a poll of `device` by `client_id` at `now` (RFC 8628 §3.4, §3.5). Polling faster
/// than the interval while the user has not decided is `slow_down`, which raises the interval
/// by [`SLOW_DOWN_STEP`] for this and every later poll.
pub fn poll(device: &DeviceAuthorization, client_id: &ClientId, now: i64) -> Result<Poll, OAuthError> {
    if &device.client_id != client_id {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, "this device code was issued to another client"));
    }
    if device.status == DeviceStatus::Consumed {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, "this device code has been used already"));
    }
    if now >= device.expires_at {
        return Err(OAuthError::new(ErrorCode::ExpiredToken, "the device code has expired"));
    }
    match device.status {
        DeviceStatus::Denied => Err(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request")),
        DeviceStatus::Approved => Ok(Poll::Issue),
        _ if device.last_polled_at.is_some_and(|last| now.saturating_sub(last) < device.interval) => {
            Ok(Poll::SlowDown { interval: device.interval.saturating_add(SLOW_DOWN_STEP) })
        }
        _ => Ok(Poll::Pending),
    }
}

/// The answer to a poll that found the user undecided.
pub fn pending() -> OAuthError {
    OAuthError::new(ErrorCode::AuthorizationPending, "the user has not yet approved the request")
}

/// The answer to a poll that came too soon.
pub fn slow_down() -> OAuthError {
    OAuthError::new(ErrorCode::SlowDown, "polling too fast: wait the interval, which is now 5 seconds longer")
}

/// Whether the user may still decide on `device` at `now`.
pub fn decidable(device: &DeviceAuthorization, now: i64) -> bool {
    device.status == DeviceStatus::Pending && now < device.expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_unambiguous_case_insensitive_and_uniform() {
        let code = user_code_from_random(&[0, 19, 20, 239, 240, 255, 100, 7, 8, 9]).unwrap();
        assert_eq!(code, "BZBZBKLM", "bytes of 240 and above are skipped");
        assert_eq!(user_code_from_random(&[250; 30]), None);
        assert_eq!(display_user_code("BZBZKJKL"), "BZBZ-KJKL");
        for typed in ["BZBZ-KJKL", "bzbz-kjkl", " bzbzkjkl", "BZBZ KJKL"] {
            assert_eq!(normalize_user_code(typed).as_deref(), Some("BZBZKJKL"), "{typed}");
        }
        for wrong in ["BZBZ-KJK", "BZBZ-KJKLM", "B0BZ-KJKL", "BIBZ-KJKL", "BOBZ-KJKL", "B1BZ-KJKL", "AEIU-KJKL", "BZBZ_KJKL", ""] {
            assert_eq!(normalize_user_code(wrong), None, "{wrong}");
        }
        for letter in USER_CODE_ALPHABET {
            assert!(!b"AEIOU01".contains(letter));
        }
    }

    fn device(status: DeviceStatus, last_polled_at: Option<i64>) -> DeviceAuthorization {
        DeviceAuthorization {
            client_id: ClientId::new("app"),
            scope: ScopeSet::parse("read").unwrap(),
            created_at: 1000,
            expires_at: 1600,
            interval: 5,
            last_polled_at,
            status,
            user_id: None,
            auth_time: None,
            amr: vec![],
        }
    }

    fn check(device: &DeviceAuthorization, client: &str, now: i64) -> Result<Poll, &'static str> {
        poll(device, &ClientId::new(client), now).map_err(|e| e.code.as_str())
    }

    #[test]
    fn polling_answers() {
        use DeviceStatus::*;
        assert_eq!(check(&device(Pending, None), "app", 1001), Ok(Poll::Pending));
        assert_eq!(check(&device(Pending, Some(1000)), "app", 1005), Ok(Poll::Pending));
        assert_eq!(check(&device(Pending, Some(1000)), "app", 1004), Ok(Poll::SlowDown { interval: 10 }));
        assert_eq!(check(&device(Approved, Some(1000)), "app", 1001), Ok(Poll::Issue), "no slow_down once decided");
        assert_eq!(check(&device(Denied, Some(1000)), "app", 1001), Err("access_denied"));
        assert_eq!(check(&device(Pending, None), "app", 1600), Err("expired_token"));
        assert_eq!(check(&device(Approved, None), "app", 1600), Err("expired_token"));
        assert_eq!(check(&device(Consumed, None), "app", 1001), Err("invalid_grant"));
        assert_eq!(check(&device(Pending, None), "other", 1001), Err("invalid_grant"));
        assert!(decidable(&device(Pending, None), 1599));
        assert!(!decidable(&device(Pending, None), 1600));
        assert!(!decidable(&device(Denied, None), 1001));
    }

    #[test]
    fn requests_need_the_grant_and_a_registered_scope() {
        let client = |grants: &[GrantType]| crate::testing::client(grants, "read write");
        let check = |query: &str, client: &Client| {
            validate_request(&Params::from_form(query.as_bytes()).unwrap(), client).map(|s| s.to_string()).map_err(|e| e.code.as_str())
        };
        let device = client(&[GrantType::DeviceCode]);
        assert_eq!(check("scope=read+openid+billing", &device), Ok("openid read".into()));
        assert_eq!(check("", &device), Ok("read write".into()));
        assert_eq!(check("scope=billing", &device), Err("invalid_scope"));
        assert_eq!(check("scope=read", &client(&[GrantType::AuthorizationCode])), Err("unauthorized_client"));
    }
}
