//! The authorization endpoint's request rules (RFC 6749 §4.1–§4.2, RFC 7636, OIDC Core §3):
//! which client, which redirect URI, which response type, PKCE, scope, state and prompt; and
//! how a response or an error travels back to the client.
//!
//! Until the client and its redirect URI are known to be good, an error must be shown to the
//! user and never redirected (open-redirect defence, RFC 6749 §4.1.2.1); after that, errors
//! go back to the redirect URI with `state` and `iss` (RFC 9207).

use crate::model::{Client, GrantType, Pkce, ScopeDef};
use crate::params::Params;
use crate::scope::{self, Holder, ScopeSet};
use crate::{ErrorCode, OAuthError};

/// What the client asked to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `code`: the authorization-code flow.
    Code,
    /// `token`: the implicit flow, access token in the fragment.
    Token,
    /// `id_token token`: OpenID implicit, needs a nonce.
    IdTokenToken,
}

impl ResponseType {
    /// Parses a space-separated response type; member order does not matter.
    pub fn parse(value: &str) -> Option<Self> {
        let mut members: Vec<&str> = value.split(' ').filter(|m| !m.is_empty()).collect();
        members.sort_unstable();
        match members.as_slice() {
            ["code"] => Some(ResponseType::Code),
            ["token"] => Some(ResponseType::Token),
            ["id_token", "token"] => Some(ResponseType::IdTokenToken),
            _ => None,
        }
    }

    /// Where response parameters go: the query for codes, the fragment for tokens.
    pub fn mode(self) -> ResponseMode {
        match self {
            ResponseType::Code => ResponseMode::Query,
            ResponseType::Token | ResponseType::IdTokenToken => ResponseMode::Fragment,
        }
    }

    fn grant(self) -> GrantType {
        match self {
            ResponseType::Code => GrantType::AuthorizationCode,
            ResponseType::Token | ResponseType::IdTokenToken => GrantType::Implicit,
        }
    }
}

/// Where the parameters of an authorization response are put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
}

/// OIDC `prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A PKCE S256 challenge (RFC 7636 §4.2): 43 base64url characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A challenge read back from the store, where only validated challenges are written.
    pub fn from_stored(value: String) -> Self {
        CodeChallenge(value)
    }
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// The redirect URI responses go to (the registered one when the request named none).
    pub redirect_uri: String,
    /// Whether the request named a redirect URI: the token request must then repeat it.
    pub redirect_uri_sent: bool,
    pub response_type: ResponseType,
    /// Requested scopes that the client has registered (others are dropped, Q02).
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// `scope=org&org_id=N`: an org admin approving the client for the org (the Bluescape
    /// seed's whitelisting) instead of an authorization.
    pub org_approval: Option<String>,
    /// RFC 8707: the resources asked for, all registered for the client (recorded in the grant).
    pub resources: Vec<String>,
    /// OIDC Core §3.1.2.1 `acr_values`: the client asks for a sign-in with more than one factor
    /// (`mfa`, [`crate::oidc::ACR_MULTI_FACTOR`]).
    pub wants_multi_factor: bool,
}

/// Why an authorization request failed, and how the user learns of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI is not trustworthy: show an error page, redirect nowhere.
    Page(OAuthError),
    /// Send the error to the client's redirect URI.
    Redirect { redirect_uri: String, mode: ResponseMode, error: OAuthError, state: Option<String> },
}

/// Validates an authorization request for `client` (`None`: no such client id).
/// `default_response_type`: how a request without `response_type` is read (a profile may set
/// it: the Bluescape seed's full example sends none and expects a token); `None`: required.
pub fn validate(
    params: &Params,
    client: Option<&Client>,
    default_response_type: Option<ResponseType>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let page = |description: &'static str| AuthorizeError::Page(OAuthError::invalid_request(description));
    let client_id = params.get("client_id").ok_or_else(|| page("client_id is required"))?;
    let client = client.ok_or_else(|| page("unknown client_id"))?;
    let requested_uri = params.get("redirect_uri");
    let redirect_uri = match requested_uri {
        // Exact string comparison: no normalisation may widen the match (R02–R05).
        Some(uri) => {
            client.redirect_uris.iter().find(|r| r.as_str() == uri).ok_or_else(|| page("redirect_uri is not registered for this client"))?
        }
        None => {
            let openid = params.get("scope").is_some_and(|s| s.split(' ').any(|t| t == "openid"));
            match client.redirect_uris.as_slice() {
                [only] if !openid => only,
                _ => return Err(page("redirect_uri is required")),
            }
        }
    };
    let state = params.get("state").map(str::to_owned);
    // Until the response type is known, errors travel in the query (RFC 6749 §4.1.2.1).
    let mut mode = ResponseMode::Query;
    let redirect = |mode: ResponseMode, error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        mode,
        error,
        state: state.clone(),
    };
    let response_type = match params.get("response_type") {
        None => default_response_type.ok_or_else(|| redirect(mode, OAuthError::invalid_request("response_type is required")))?,
        Some(value) => ResponseType::parse(value)
            .ok_or_else(|| redirect(mode, OAuthError::new(ErrorCode::UnsupportedResponseType, "this response type is not supported")))?,
    };
    mode = response_type.mode();
    if !client.has_grant(response_type.grant()) {
        return Err(redirect(mode, OAuthError::unauthorized_client("this client may not use this response type")));
    }
    // An implicit answer has no token request to carry a DPoP proof (`dpop::check_required`):
    // a client whose tokens must be bound cannot get one this way.
    if response_type.grant() == GrantType::Implicit && crate::dpop::check_required(client, None).is_err() {
        return Err(redirect(mode, OAuthError::unauthorized_client("this client's tokens must be DPoP-bound: use the code flow")));
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if response_type == ResponseType::IdTokenToken && nonce.is_none() {
        return Err(redirect(mode, OAuthError::invalid_request("nonce is required for id_token responses")));
    }
    let code_challenge = pkce_challenge(params, client, response_type).map_err(|e| redirect(mode, e))?;
    let org_approval = match (params.get("scope"), params.get("org_id")) {
        (Some("org"), Some(org)) if !org.is_empty() => Some(org.to_owned()),
        (Some("org"), _) => return Err(redirect(mode, OAuthError::invalid_request("org_id is required with scope=org"))),
        _ => None,
    };
    let requested = params.get("scope").map(ScopeSet::parse).transpose().map_err(|e| redirect(mode, e))?;
    // The built-in OpenID scopes are open to every client of the browser flows (the admin-API
    // scopes are not: a client must have registered them).
    let scope = match requested {
        _ if org_approval.is_some() => ScopeSet::default(),
        Some(requested) => scope::registered_part(&requested, &client.scopes),
        None => client.scopes.clone(),
    };
    if scope.is_empty() && org_approval.is_none() {
        return Err(redirect(mode, OAuthError::invalid_scope("none of the requested scopes is registered for this client")));
    }
    let resources = crate::resource::requested(params)
        .and_then(|requested| crate::resource::select(&requested, client, &[]))
        .map_err(|e| redirect(mode, e))?;
    let prompt = parse_prompt(params.get("prompt")).map_err(|e| redirect(mode, e))?;
    let max_age = params
        .get("max_age")
        .map(|v| v.parse::<u64>().map_err(|_| redirect(mode, OAuthError::invalid_request("max_age must be a number of seconds"))))
        .transpose()?;
    Ok(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_sent: requested_uri.is_some(),
        response_type,
        scope,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        org_approval,
        resources,
        // Voluntary (not an essential claim): values Tessera does not know are ignored.
        wants_multi_factor: params.get("acr_values").is_some_and(|v| v.split(' ').any(|a| a == crate::oidc::ACR_MULTI_FACTOR)),
    })
}

/// What the signed-in user (if any) brings to an authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    /// When the user last entered their password.
    pub auth_time: i64,
    /// Whether the session signed in with more than one factor.
    pub multi_factor: bool,
    /// Whether the user has a second factor to sign in with.
    pub has_second_factor: bool,
}

/// What must happen before the authorization server can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Send the user to the login page.
    Login,
    /// Ask the user to consent to the scopes.
    Consent,
    /// Answer the client now.
    Proceed,
}

/// Decides the next step of an authorization request (OIDC Core §3.1.2.1): `prompt=none` turns
/// every step that needs the user into `login_required` / `consent_required`. `consented` is
/// the scope the user already consented to for this client.
pub fn interaction(
    request: &AuthorizationRequest,
    session: Option<SessionFacts>,
    consented: Option<&ScopeSet>,
    now: i64,
) -> Result<Interaction, OAuthError> {
    let needs_login = match session {
        None => true,
        Some(facts) => {
            request.prompt.login
                || request.max_age.is_some_and(|max| now.saturating_sub(facts.auth_time) > max as i64)
                // A stronger sign-in when the client asks for one and the user can give it; a
                // user without a second factor goes on with `acr` saying `pwd`.
                || (request.wants_multi_factor && facts.has_second_factor && !facts.multi_factor)
        }
    };
    if needs_login {
        return if request.prompt.none {
            Err(OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in"))
        } else {
            Ok(Interaction::Login)
        };
    }
    let needs_consent = request.prompt.consent || !consented.is_some_and(|c| request.scope.is_subset(c));
    match (needs_consent, request.prompt.none) {
        (true, true) => Err(OAuthError::new(ErrorCode::ConsentRequired, "the user has not consented to these scopes")),
        (true, false) => Ok(Interaction::Consent),
        (false, _) => Ok(Interaction::Proceed),
    }
}

/// The part of the requested scope this user may grant: built-in scopes, and catalogue scopes
/// their role allows (member: unrestricted only); Tessera's own scopes only to a client of the
/// user's organization (`holder`, from `access::token_holder`), so a consent page never offers
/// them to another organization's app.
pub fn scope_for_user(request: &AuthorizationRequest, holder: Holder, catalogue: &[ScopeDef]) -> Result<ScopeSet, OAuthError> {
    scope::allowed_for(&request.scope, holder, catalogue)
}

/// PKCE: S256 only (P02–P05); required of public clients (P01) and, in the code flow, of every
/// client not registered with `pkce` optional (OAuth 2.1 §4.1.1, P10). A challenge that is
/// sent is checked whatever the client's setting.
fn pkce_challenge(params: &Params, client: &Client, response_type: ResponseType) -> Result<Option<CodeChallenge>, OAuthError> {
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    match (challenge, method) {
        (None, None) if client.public => Err(OAuthError::invalid_request("public clients must use PKCE (code_challenge with S256)")),
        (None, None) if response_type == ResponseType::Code && client.pkce == Pkce::Required => {
            Err(OAuthError::invalid_request("this client must use PKCE (code_challenge with S256)"))
        }
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request("code_challenge_method without code_challenge")),
        (Some(_), None) => Err(OAuthError::invalid_request("code_challenge_method is required and must be S256")),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request("only the S256 code_challenge_method is supported")),
        (Some(c), Some(_)) if c.len() == 43 && is_base64url(c) => Ok(Some(CodeChallenge(c.to_owned()))),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("code_challenge must be 43 base64url characters")),
    }
}

fn is_base64url(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `code_verifier` as RFC 7636 §4.1 defines it: 43 to 128 unreserved characters.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for member in value.unwrap_or("").split(' ').filter(|m| !m.is_empty()) {
        match member {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err(OAuthError::invalid_request("unknown prompt value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request("prompt=none cannot be combined with other values"));
    }
    Ok(prompt)
}

/// The URL that carries `response` (already including `state` and `iss` as the caller wants)
/// to `redirect_uri`: appended to its query for codes, or put in the fragment for tokens.
pub fn response_url(redirect_uri: &str, mode: ResponseMode, response: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(response).unwrap_or_default();
    match mode {
        ResponseMode::Fragment => format!("{redirect_uri}#{encoded}"),
        ResponseMode::Query if redirect_uri.contains('?') => format!("{redirect_uri}&{encoded}"),
        ResponseMode::Query => format!("{redirect_uri}?{encoded}"),
    }
}

/// The URL of an authorization response: `response`, then the request's `state` (if it sent
/// one) and the issuer (RFC 9207), which every response, success or error, carries (S05).
pub fn answer_url(redirect_uri: &str, mode: ResponseMode, response: &[(&str, &str)], state: Option<&str>, issuer: &str) -> String {
    let mut all = response.to_vec();
    if let Some(state) = state {
        all.push(("state", state));
    }
    all.push(("iss", issuer));
    response_url(redirect_uri, mode, &all)
}

/// The URL of an error response, with `state` and the issuer.
pub fn error_url(redirect_uri: &str, mode: ResponseMode, error: &OAuthError, state: Option<&str>, issuer: &str) -> String {
    answer_url(redirect_uri, mode, &[("error", error.code.as_str()), ("error_description", error.description.as_ref())], state, issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client with the given grants and redirect URIs; a confidential one has `pkce` optional
    /// unless a test says otherwise, so that the other rules can be tested without PKCE.
    fn client(public: bool, grants: &[GrantType], uris: &[&str]) -> Client {
        Client {
            public,
            pkce: if public { Pkce::Required } else { Pkce::Optional },
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            ..crate::testing::client(grants, "openid read write")
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    /// The outcome in short: `Ok`, `Page(code)` or `Redirect(code)`.
    fn outcome(query: &str, client: Option<&Client>) -> String {
        let params = Params::from_form(query.as_bytes()).unwrap();
        match validate(&params, client, None) {
            Ok(_) => "ok".into(),
            Err(AuthorizeError::Page(e)) => format!("page:{}", e.code.as_str()),
            Err(AuthorizeError::Redirect { error, mode, .. }) => format!("redirect:{}:{mode:?}", error.code.as_str()),
        }
    }

    fn check(query: &str, client: Option<&Client>, expected: &str) {
        assert_eq!(outcome(query, client), expected, "{query}");
    }

    #[test]
    fn client_and_redirect_uri_errors_never_redirect() {
        let web = client(false, &[GrantType::AuthorizationCode], &["https://app.example/cb", "https://app.example/cb?a=1"]);
        check("response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", Some(&web), "ok");
        check("response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", None, "page:invalid_request");
        check("response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", Some(&web), "page:invalid_request");
        for near in [
            "https://app.example/cb?x=1",
            "https://app.example/cb?a=2",
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example:443/cb",
            "https://app.example/x/../cb",
            "https://app.example%2Fcb",
            "https://app.example//cb",
            "https://app.example/cb#frag",
            "https://app.example@evil/cb",
            "https://app.example.evil/cb",
            "https://evil/app.example/cb",
        ] {
            let query = serde_urlencoded::to_string([("response_type", "code"), ("client_id", "app"), ("redirect_uri", near)]).unwrap();
            check(&query, Some(&web), "page:invalid_request");
        }
        // Two registered URIs and none sent (R07); with one registered, a non-OpenID request may omit it.
        check("response_type=code&client_id=app", Some(&web), "page:invalid_request");
        let single = client(false, &[GrantType::AuthorizationCode], &["https://app.example/cb"]);
        check("response_type=code&client_id=app", Some(&single), "ok");
        check("response_type=code&client_id=app&scope=openid", Some(&single), "page:invalid_request");
    }

    #[test]
    fn response_type_rules() {
        let web = client(false, &[GrantType::AuthorizationCode], &["https://app.example/cb"]);
        let spa = client(false, &[GrantType::Implicit], &["https://app.example/cb"]);
        check("client_id=app", Some(&web), "redirect:invalid_request:Query");
        check("response_type=foo&client_id=app", Some(&web), "redirect:unsupported_response_type:Query");
        check("response_type=token&client_id=app", Some(&web), "redirect:unauthorized_client:Fragment");
        check("response_type=code&client_id=app", Some(&spa), "redirect:unauthorized_client:Query");
        let bound_spa = Client { dpop_bound_access_tokens: true, ..spa.clone() };
        check("response_type=token&client_id=app", Some(&bound_spa), "redirect:unauthorized_client:Fragment");
        check("response_type=token&client_id=app", Some(&spa), "ok");
        check("response_type=token+id_token&client_id=app", Some(&spa), "redirect:invalid_request:Fragment");
        check("response_type=id_token+token&client_id=app&nonce=n", Some(&spa), "ok");
    }

    #[test]
    fn pkce_is_required_in_the_code_flow_unless_a_confidential_client_is_registered_optional() {
        let grants = [GrantType::AuthorizationCode, GrantType::Implicit];
        let public = client(true, &grants, &["http://127.0.0.1/cb"]);
        let required = Client { pkce: Pkce::Required, ..client(false, &grants, &["http://127.0.0.1/cb"]) };
        let optional = Client { pkce: Pkce::Optional, ..required.clone() };
        let code = "response_type=code&client_id=app";
        let with_challenge = format!("{code}&code_challenge={CHALLENGE}&code_challenge_method=S256");
        let plain = format!("{code}&code_challenge={CHALLENGE}&code_challenge_method=plain");
        for (query, client, expected) in [
            (code, &public, "redirect:invalid_request:Query"),
            (code, &required, "redirect:invalid_request:Query"),
            (code, &optional, "ok"),
            (&with_challenge, &public, "ok"),
            (&with_challenge, &required, "ok"),
            (&with_challenge, &optional, "ok"),
            // A challenge sent is checked, whatever the setting.
            (&plain, &optional, "redirect:invalid_request:Query"),
            (&plain, &required, "redirect:invalid_request:Query"),
            // The implicit flow redeems no code: the setting is about the code flow.
            ("response_type=token&client_id=app", &required, "ok"),
            // A public client sends one in every flow, as it always did (P01).
            ("response_type=token&client_id=app", &public, "redirect:invalid_request:Fragment"),
        ] {
            check(query, Some(client), expected);
        }
        let params = Params::from_form(with_challenge.as_bytes()).unwrap();
        assert_eq!(validate(&params, Some(&required), None).unwrap().code_challenge, Some(CodeChallenge(CHALLENGE.into())));
    }

    #[test]
    fn pkce_rules() {
        let public = client(true, &[GrantType::AuthorizationCode], &["http://127.0.0.1/cb"]);
        let confidential = client(false, &[GrantType::AuthorizationCode], &["http://127.0.0.1/cb"]);
        let q = |extra: &str| format!("response_type=code&client_id=app{extra}");
        check(&q(""), Some(&public), "redirect:invalid_request:Query");
        check(&q(""), Some(&confidential), "ok");
        check(&q(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")), Some(&public), "ok");
        check(&q(&format!("&code_challenge={CHALLENGE}&code_challenge_method=plain")), Some(&public), "redirect:invalid_request:Query");
        check(&q(&format!("&code_challenge={CHALLENGE}")), Some(&confidential), "redirect:invalid_request:Query");
        check(&q(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S512")), Some(&public), "redirect:invalid_request:Query");
        check(&q("&code_challenge=short&code_challenge_method=S256"), Some(&public), "redirect:invalid_request:Query");
        check(
            &q(&format!("&code_challenge={}&code_challenge_method=S256", "a+b/".repeat(11).get(..43).unwrap_or(""))),
            Some(&public),
            "redirect:invalid_request:Query",
        );
        assert!(is_valid_verifier(&"a".repeat(43)) && is_valid_verifier(&"a".repeat(128)));
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{}+", "a".repeat(42)),
            format!("{}/", "a".repeat(42)),
            format!("{} ", "a".repeat(42)),
        ] {
            assert!(!is_valid_verifier(&bad), "{bad}");
        }
    }

    #[test]
    fn scope_prompt_and_max_age() {
        let web = client(false, &[GrantType::AuthorizationCode], &["https://app.example/cb"]);
        let params = Params::from_form(b"response_type=code&client_id=app&scope=read+billing").unwrap();
        assert_eq!(validate(&params, Some(&web), None).unwrap().scope.to_string(), "read", "unregistered scopes are dropped");
        check("response_type=code&client_id=app&scope=billing", Some(&web), "redirect:invalid_scope:Query");
        check("response_type=code&client_id=app&scope=re%22ad", Some(&web), "redirect:invalid_scope:Query");
        check("response_type=code&client_id=app&prompt=none+login", Some(&web), "redirect:invalid_request:Query");
        check("response_type=code&client_id=app&prompt=consent", Some(&web), "ok");
        check("response_type=code&client_id=app&max_age=abc", Some(&web), "redirect:invalid_request:Query");
    }

    #[test]
    fn responses_keep_state_byte_for_byte_and_carry_iss() {
        let state = "a&b#c%d é".to_owned() + &"x".repeat(1000);
        let error = OAuthError::invalid_request("bad");
        let url = error_url("https://app.example/cb?a=1", ResponseMode::Query, &error, Some(&state), "https://id.example");
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://app.example/cb");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        assert!(pairs.contains(&("a".into(), "1".into())));
        assert!(pairs.contains(&("state".into(), state.clone())));
        assert!(pairs.contains(&("iss".into(), "https://id.example".into())));
        let fragment = response_url("https://app.example/cb", ResponseMode::Fragment, &[("access_token", "t"), ("token_type", "Bearer")]);
        assert_eq!(fragment, "https://app.example/cb#access_token=t&token_type=Bearer");
    }

    #[test]
    fn interaction_asks_for_login_then_consent_and_prompt_none_never_asks() {
        let web = client(false, &[GrantType::AuthorizationCode], &["https://app.example/cb"]);
        let request = |extra: &str| {
            validate(
                &Params::from_form(format!("response_type=code&client_id=app&scope=read{extra}").as_bytes()).unwrap(),
                Some(&web),
                None,
            )
            .unwrap()
        };
        let signed_in = SessionFacts { auth_time: 1000, multi_factor: false, has_second_factor: false };
        let session = Some(signed_in);
        let read = ScopeSet::parse("read").unwrap();
        let step = |extra: &str, session, consented: Option<&ScopeSet>| {
            interaction(&request(extra), session, consented, 1100).map_err(|e| e.code.as_str())
        };
        assert_eq!(step("", None, None), Ok(Interaction::Login));
        assert_eq!(step("", session, None), Ok(Interaction::Consent));
        assert_eq!(step("", session, Some(&read)), Ok(Interaction::Proceed));
        assert_eq!(step("&prompt=consent", session, Some(&read)), Ok(Interaction::Consent));
        assert_eq!(step("&prompt=login", session, Some(&read)), Ok(Interaction::Login));
        assert_eq!(step("&max_age=200", session, Some(&read)), Ok(Interaction::Proceed));
        assert_eq!(step("&max_age=50", session, Some(&read)), Ok(Interaction::Login));
        assert_eq!(step("&prompt=none", None, None), Err("login_required"));
        assert_eq!(step("&prompt=none", session, None), Err("consent_required"));
        assert_eq!(step("&prompt=none", session, Some(&read)), Ok(Interaction::Proceed));
        // acr_values=mfa: a stronger sign-in, when the user has a second factor and did not use it.
        let with_factor = Some(SessionFacts { has_second_factor: true, ..signed_in });
        let multi = Some(SessionFacts { multi_factor: true, has_second_factor: true, ..signed_in });
        assert_eq!(step("&acr_values=mfa", with_factor, Some(&read)), Ok(Interaction::Login));
        assert_eq!(step("&acr_values=pwd+mfa", with_factor, Some(&read)), Ok(Interaction::Login));
        assert_eq!(step("&acr_values=mfa", multi, Some(&read)), Ok(Interaction::Proceed));
        assert_eq!(step("&acr_values=mfa", session, Some(&read)), Ok(Interaction::Proceed), "no factor to ask for");
        assert_eq!(step("&acr_values=pwd", with_factor, Some(&read)), Ok(Interaction::Proceed));
        assert_eq!(step("&acr_values=mfa&prompt=none", with_factor, Some(&read)), Err("login_required"));
        // Consent to fewer scopes than asked is not consent (SPEC §10).
        let wider = web.clone();
        let both = validate(&Params::from_form(b"response_type=code&client_id=app&scope=read+write").unwrap(), Some(&wider), None).unwrap();
        assert_eq!(interaction(&both, session, Some(&read), 1100), Ok(Interaction::Consent));
    }

    #[test]
    fn built_in_scopes_and_org_approval() {
        let web = client(false, &[GrantType::AuthorizationCode], &["https://app.example/cb"]);
        let params = Params::from_form(
            b"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+offline_access+nope",
        )
        .unwrap();
        assert_eq!(validate(&params, Some(&web), None).unwrap().scope.to_string(), "offline_access openid");
        let params = Params::from_form(b"response_type=code&client_id=app&scope=org&org_id=7").unwrap();
        assert_eq!(validate(&params, Some(&web), None).unwrap().org_approval.as_deref(), Some("7"));
        check("response_type=code&client_id=app&scope=org", Some(&web), "redirect:invalid_request:Query");
    }
}
