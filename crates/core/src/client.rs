//! Client authentication decisions and client registration rules.

use std::net::IpAddr;

use crate::assertion::AssertionFailure;
use crate::credentials::{AuthMethod, PresentedClient};
use crate::message::Message;
use crate::model::ScopeDef;
use crate::model::{Client, ClientKeys, ClientStatus, GrantType, Pkce, TokenEndpointAuthMethod, User};
use crate::scope::{self, ScopeSet};
use crate::{OAuthError, message};

/// Why a client failed to authenticate. Only audit logs see this; the client always gets the
/// same `invalid_client` (A03, A13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    UnknownClient,
    WrongSecret,
    MissingSecret,
    SecretFromPublicClient,
    ClientOff,
    AddressNotAllowed,
    /// A secret from a `private_key_jwt` client, or an assertion from any other.
    WrongMethod,
    /// The client's assertion did not pass (why, in the audit log).
    Assertion(AssertionFailure),
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::UnknownClient => "unknown_client",
            AuthFailure::WrongSecret => "wrong_secret",
            AuthFailure::MissingSecret => "missing_secret",
            AuthFailure::SecretFromPublicClient => "secret_from_public_client",
            AuthFailure::ClientOff => "client_off",
            AuthFailure::AddressNotAllowed => "address_not_allowed",
            AuthFailure::WrongMethod => "wrong_auth_method",
            AuthFailure::Assertion(failure) => failure.as_str(),
        }
    }
}

/// What the caller proved about the presented credentials before asking [`authenticate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The result of the keyed, constant-time comparison of the secret (against a dummy digest
    /// for unknown clients, so both cases cost the same); `false` when none was sent.
    Secret(bool),
    /// The client assertion's signature and claims checked against the client's keys.
    Assertion(Result<(), AssertionFailure>),
}

/// Decides whether `presented` authenticates as `client`. A client authenticates only the way
/// it registered: a secret (Basic or body), an assertion (`private_key_jwt`), or nothing
/// (public); any other way is refused, whatever it proves.
pub fn authenticate(presented: &PresentedClient, client: Option<&Client>, proof: Proof, peer: IpAddr) -> Result<(), AuthFailure> {
    let client = client.ok_or(AuthFailure::UnknownClient)?;
    use TokenEndpointAuthMethod as Registered;
    match (client.auth_method, presented.method, proof) {
        (Registered::None, AuthMethod::None, _) => {}
        (Registered::None, AuthMethod::Basic | AuthMethod::Post, _) => return Err(AuthFailure::SecretFromPublicClient),
        (Registered::PrivateKeyJwt, AuthMethod::PrivateKeyJwt, Proof::Assertion(Ok(()))) => {}
        (Registered::PrivateKeyJwt, AuthMethod::PrivateKeyJwt, Proof::Assertion(Err(failure))) => {
            return Err(AuthFailure::Assertion(failure));
        }
        (Registered::ClientSecretBasic | Registered::ClientSecretPost, AuthMethod::None, _) => return Err(AuthFailure::MissingSecret),
        (Registered::ClientSecretBasic | Registered::ClientSecretPost, AuthMethod::Basic | AuthMethod::Post, Proof::Secret(true)) => {}
        (Registered::ClientSecretBasic | Registered::ClientSecretPost, AuthMethod::Basic | AuthMethod::Post, _) => {
            return Err(AuthFailure::WrongSecret);
        }
        _ => return Err(AuthFailure::WrongMethod),
    }
    if client.status == ClientStatus::Off {
        return Err(AuthFailure::ClientOff);
    }
    if !address_allowed(client, peer) {
        return Err(AuthFailure::AddressNotAllowed);
    }
    Ok(())
}

/// An empty allow-list allows every address.
pub fn address_allowed(client: &Client, peer: IpAddr) -> bool {
    let peer = canonical(peer);
    client.allowed_ips.is_empty() || client.allowed_ips.iter().any(|net| net.contains(&peer))
}

/// `::ffff:a.b.c.d` is the IPv4 address it maps, so IPv4 allow-lists hold on dual-stack sockets.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `run_as` may be the acting user of a client owned by `owner`: the owner itself, or
/// a user of the same organization holding `authorize_applications` (BlueConic "run as user").
pub fn run_as_allowed(owner: &User, run_as: &User) -> bool {
    run_as.id == owner.id || (run_as.authorize_applications && run_as.org_id == owner.org_id)
}

/// The most entries a client holds in each of its lists: redirect URIs, allowed origins and IP
/// ranges (SPEC §12); requests search them. Resources are fewer still
/// ([`crate::resource::MAX_RESOURCES`]): each may end up in a token's `aud`.
pub const MAX_LIST_ENTRIES: usize = 100;

/// What a new client asks for, checked against its owner, run-as user and the catalogue.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub owner: &'a User,
    pub run_as: &'a User,
    pub grants: &'a [GrantType],
    pub scopes: &'a ScopeSet,
    pub redirect_uris: &'a [String],
    /// As given: each is checked by the caller (`admin::validate_origin`), only their number here.
    pub allowed_origins: &'a [String],
    /// As given: each is parsed by the caller, only their number is checked here.
    pub allowed_ips: &'a [String],
    pub public: bool,
    pub pkce: Pkce,
    pub auth_method: TokenEndpointAuthMethod,
    pub keys: Option<&'a ClientKeys>,
    pub access_token_ttl: Option<u32>,
    pub catalogue: &'a [ScopeDef],
    /// RFC 8707: the resources the client may ask tokens for.
    pub resources: &'a [String],
}

/// Validates a registration: the run-as user must be the owner or hold `authorize_applications`
/// in the same organization (A18); every scope must exist and be grantable by the owner; redirect
/// URIs must be safe (R06); a public client cannot use client credentials and always needs PKCE;
/// no list holds more than [`MAX_LIST_ENTRIES`] entries. The first problem.
pub fn validate_registration(r: &Registration<'_>) -> Result<(), OAuthError> {
    match registration_problems(r).into_iter().next() {
        Some(problem) => Err(OAuthError::new(crate::ErrorCode::InvalidRequest, problem.message.english)),
        None => Ok(()),
    }
}

/// One problem of a registration, with the field it is about (for a form's inline messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub message: Message,
}

/// Every problem of a registration, in form order; empty when it may be registered.
pub fn registration_problems(r: &Registration<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut add = |field: &'static str, message: Message| problems.push(Problem { field, message });
    if r.run_as.org_id != r.owner.org_id {
        add("run_as", message!("client-run-as-other-org", "the run-as user must belong to the owner's organization"));
    } else if !run_as_allowed(r.owner, r.run_as) {
        add("run_as", message!("client-run-as-lacks-permission", "the run-as user lacks the authorize_applications permission"));
    } else if !(r.owner.is_active() && r.run_as.is_active()) {
        add("run_as", message!("client-run-as-disabled", "the owner or run-as user is disabled"));
    }
    if r.grants.is_empty() {
        add("grants", message!("client-no-grant", "at least one grant is required"));
    }
    if r.public && r.grants.contains(&GrantType::ClientCredentials) {
        add("grants", message!("client-public-client-credentials", "a public client cannot use the client_credentials grant"));
    }
    if r.public && r.grants.contains(&GrantType::TokenExchange) {
        add("grants", message!("client-public-token-exchange", "a public client cannot use the token_exchange grant"));
    }
    for name in r.scopes.iter() {
        let known = scope::is_built_in(name) || r.catalogue.iter().any(|s| s.name == name);
        if !known {
            add("scopes", message!("client-scope-unknown", "scope '{name}' is not in the organization's catalogue", name = name));
        } else if !scope::role_allows(r.owner.role, name, r.catalogue) {
            add("scopes", message!("client-scope-restricted", "the owner's role may not grant the restricted scope '{name}'", name = name));
        }
    }
    if r.public && r.pkce == Pkce::Optional {
        add("pkce", message!("client-public-pkce", "a public client always uses PKCE: pkce optional is only for confidential clients"));
    }
    if r.public != (r.auth_method == TokenEndpointAuthMethod::None) {
        add(
            "token_endpoint_auth_method",
            message!("client-public-method", "a public client, and only a public client, uses the method none"),
        );
    }
    match (r.auth_method, r.keys) {
        (TokenEndpointAuthMethod::PrivateKeyJwt, None) => {
            add("jwks", message!("client-keys-missing", "private_key_jwt needs the client's public keys: a JWKS or a jwks_uri"));
        }
        (TokenEndpointAuthMethod::PrivateKeyJwt, Some(ClientKeys::Uri(uri))) => {
            if let Err(why) = validate_jwks_uri(uri) {
                add("jwks_uri", message!("client-jwks-uri-bad", "jwks_uri {uri:?}: {why}", uri = uri, why = why));
            }
        }
        (TokenEndpointAuthMethod::PrivateKeyJwt, Some(ClientKeys::Jwks(_))) => {}
        (_, Some(_)) => add("jwks", message!("client-keys-unused", "public keys are registered only for private_key_jwt")),
        (_, None) => {}
    }
    if r.access_token_ttl == Some(0) {
        add("access_token_ttl", message!("client-ttl-zero", "the access-token lifetime must be at least 1 second"));
    }
    let lists = [
        ("redirect_uris", message!("client-list-redirect-uris", "redirect URIs"), r.redirect_uris.len()),
        ("allowed_origins", message!("client-list-allowed-origins", "allowed origins"), r.allowed_origins.len()),
        ("allowed_ips", message!("client-list-allowed-ips", "allowed IP ranges"), r.allowed_ips.len()),
    ];
    for (field, what, count) in lists {
        if count > MAX_LIST_ENTRIES {
            add(
                field,
                message!(
                    "client-list-too-long",
                    "a client holds at most {most} {what}, not {count}",
                    most = MAX_LIST_ENTRIES,
                    what = what,
                    count = count
                ),
            );
        }
    }
    for uri in r.redirect_uris {
        if let Err(why) = validate_redirect_uri(uri) {
            add("redirect_uris", message!("client-redirect-uri-bad", "redirect URI {uri:?}: {why}", uri = uri, why = why));
        }
    }
    for message in crate::resource::registration_problems(r.resources) {
        add("resources", message);
    }
    let needs_redirect = r.grants.iter().any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit));
    if needs_redirect && r.redirect_uris.is_empty() {
        add("redirect_uris", message!("client-redirect-uri-needed", "the authorization_code and implicit grants need a redirect URI"));
    }
    problems
}

/// A `jwks_uri` is `https:`, or `http:` on a loopback host (for local development and tests),
/// without credentials or a fragment: the server fetches it, so it must not be a way to make
/// the server call plain-HTTP hosts elsewhere.
pub fn validate_jwks_uri(uri: &str) -> Result<(), Message> {
    validate_redirect_uri(uri)?;
    let scheme = uri.split(':').next().unwrap_or("").to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(message!("uri-not-https", "must be an https URL"));
    }
    Ok(())
}

/// A redirect URI may be registered when it is absolute, has no fragment, no `javascript:` or
/// `data:` scheme, and uses `http:` only for a loopback host (RFC 6749 §3.1.2, RFC 8252 §7.3).
pub fn validate_redirect_uri(uri: &str) -> Result<(), Message> {
    if uri.len() > 2000 || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(message!("uri-spaces-or-long", "contains spaces or control characters, or is too long"));
    }
    if uri.contains('#') {
        return Err(message!("uri-fragment", "must not contain a fragment"));
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(message!("uri-not-absolute", "must be an absolute URI"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
        return Err(message!("uri-not-absolute", "must be an absolute URI"));
    }
    match scheme.as_str() {
        "javascript" | "data" | "vbscript" | "file" => Err(message!("uri-scheme-forbidden", "this scheme is not allowed")),
        "https" | "http" => {
            let Some(after) = rest.strip_prefix("//") else {
                return Err(message!("uri-no-host", "must have a host"));
            };
            let authority = after.split(['/', '?']).next().unwrap_or("");
            if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
                return Err(message!("uri-host-not-plain", "must have a plain host"));
            }
            if scheme == "http" {
                let host = match authority.find(']') {
                    Some(end) if authority.starts_with('[') => &authority[..=end],
                    _ => authority.split(':').next().unwrap_or(authority),
                };
                if !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
                    return Err(message!("uri-http-not-loopback", "http is allowed only for 127.0.0.1, [::1] and localhost"));
                }
            }
            Ok(())
        }
        // Private-use schemes of native apps (RFC 8252 §7.1), e.g. com.example.app:/cb. They are
        // reverse domain names, so they hold a dot: that leaves out every scheme a browser or
        // the system handles itself (about:, blob:, mailto:, …), which fuzzing showed were
        // accepted as "private-use" before.
        _ if scheme.contains('.') && !scheme.starts_with('.') && !scheme.ends_with('.') => Ok(()),
        _ => Err(message!("uri-private-scheme", "a private-use scheme must be a reverse domain name, such as com.example.app")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_registration_rules() {
        for ok in [
            "https://app.example/cb",
            "https://app.example/cb?a=1",
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
            "com.example.app:/cb",
        ] {
            assert_eq!(validate_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://app/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "http://app.example/cb",
            // Found by fuzz/authorize_request: schemes without a domain were private-use.
            "jacrasvipt:alert(1)",
            "about:blank",
            "blob:https://app.example/x",
            "mailto:a@b.example",
            ".app:/cb",
            "/relative",
            "https://user@evil/cb",
            "http://127.0.0.1.evil/cb",
            "https:///cb",
            "JavaScript:alert(1)",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    /// A registration without problems: a confidential code-flow client with a secret.
    fn registration<'a>(owner: &'a User, scopes: &'a ScopeSet, redirect_uris: &'a [String]) -> Registration<'a> {
        Registration {
            owner,
            run_as: owner,
            grants: &[GrantType::AuthorizationCode],
            scopes,
            redirect_uris,
            allowed_origins: &[],
            allowed_ips: &[],
            public: false,
            pkce: Pkce::Required,
            auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            keys: None,
            access_token_ttl: None,
            catalogue: &[],
            resources: &[],
        }
    }

    /// The fields of the problems of `registration`, in order.
    fn check_problems(registration: Registration<'_>, expected: &[&str]) {
        let fields: Vec<&str> = registration_problems(&registration).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, expected, "{registration:?}");
    }

    #[test]
    fn pkce_optional_is_for_confidential_clients_only() {
        let owner = crate::testing::user("u", crate::model::Role::Owner);
        let (scopes, uris) = (ScopeSet::default(), ["https://app.example/cb".to_owned()]);
        let confidential = registration(&owner, &scopes, &uris);
        let public = Registration { public: true, auth_method: TokenEndpointAuthMethod::None, ..confidential.clone() };
        check_problems(confidential.clone(), &[]);
        check_problems(Registration { pkce: Pkce::Optional, ..confidential }, &[]);
        check_problems(public.clone(), &[]);
        check_problems(Registration { pkce: Pkce::Optional, ..public }, &["pkce"]);
    }

    #[test]
    fn a_client_holds_at_most_100_entries_per_list() {
        let owner = crate::testing::user("u", crate::model::Role::Owner);
        let scopes = ScopeSet::default();
        let list = |entry: &dyn Fn(usize) -> String| (0..=MAX_LIST_ENTRIES).map(entry).collect::<Vec<_>>();
        let uris = list(&|i| format!("https://app.example/cb/{i}"));
        let origins = list(&|i| format!("https://app{i}.example"));
        let ips = list(&|i| format!("10.0.0.{i}/32"));
        let resources = list(&|i| format!("https://api.example/{i}"));
        let base = registration(&owner, &scopes, &uris[..1]);
        check_problems(Registration { redirect_uris: &uris[..100], ..base.clone() }, &[]);
        check_problems(Registration { redirect_uris: &uris, ..base.clone() }, &["redirect_uris"]);
        check_problems(Registration { allowed_origins: &origins[..100], ..base.clone() }, &[]);
        check_problems(Registration { allowed_origins: &origins, ..base.clone() }, &["allowed_origins"]);
        check_problems(Registration { allowed_ips: &ips[..100], ..base.clone() }, &[]);
        check_problems(Registration { allowed_ips: &ips, ..base.clone() }, &["allowed_ips"]);
        let most = crate::resource::MAX_RESOURCES;
        check_problems(Registration { resources: &resources[..most], ..base.clone() }, &[]);
        check_problems(Registration { resources: &resources[..=most], ..base.clone() }, &["resources"]);
        let error = validate_registration(&Registration { redirect_uris: &uris, ..base }).unwrap_err();
        assert_eq!(error.description, "a client holds at most 100 redirect URIs, not 101");
    }

    #[test]
    fn jwks_uri_rules() {
        assert_eq!(validate_jwks_uri("https://keys.example/jwks.json"), Ok(()));
        assert_eq!(validate_jwks_uri("http://127.0.0.1:9/jwks"), Ok(()));
        assert!(validate_jwks_uri("http://keys.example/jwks").is_err());
        assert!(validate_jwks_uri("com.example.app:/jwks").is_err());
        assert!(validate_jwks_uri("https://user@keys.example/jwks").is_err());
    }

    fn check_auth(registered: TokenEndpointAuthMethod, method: AuthMethod, proof: Proof, expected: Result<(), AuthFailure>) {
        let mut client = crate::testing::client(&[GrantType::ClientCredentials], "");
        client.auth_method = registered;
        client.public = registered == TokenEndpointAuthMethod::None;
        let presented = PresentedClient { id: client.id.clone(), secret: None, method, assertion: None };
        let actual = authenticate(&presented, Some(&client), proof, "127.0.0.1".parse().unwrap());
        assert_eq!(actual, expected, "{registered:?} {method:?} {proof:?}");
    }

    #[test]
    fn a_client_authenticates_only_the_way_it_registered() {
        use AuthMethod as M;
        use TokenEndpointAuthMethod as R;
        let bad = Proof::Assertion(Err(AssertionFailure::Replayed));
        check_auth(R::ClientSecretBasic, M::Post, Proof::Secret(true), Ok(()));
        check_auth(R::ClientSecretPost, M::Basic, Proof::Secret(false), Err(AuthFailure::WrongSecret));
        check_auth(R::ClientSecretBasic, M::None, Proof::Secret(false), Err(AuthFailure::MissingSecret));
        check_auth(R::ClientSecretBasic, M::PrivateKeyJwt, Proof::Assertion(Ok(())), Err(AuthFailure::WrongMethod));
        check_auth(R::PrivateKeyJwt, M::PrivateKeyJwt, Proof::Assertion(Ok(())), Ok(()));
        check_auth(R::PrivateKeyJwt, M::PrivateKeyJwt, bad, Err(AuthFailure::Assertion(AssertionFailure::Replayed)));
        check_auth(R::PrivateKeyJwt, M::Basic, Proof::Secret(true), Err(AuthFailure::WrongMethod));
        check_auth(R::PrivateKeyJwt, M::None, Proof::Secret(false), Err(AuthFailure::WrongMethod));
        check_auth(R::None, M::None, Proof::Secret(false), Ok(()));
        check_auth(R::None, M::PrivateKeyJwt, Proof::Assertion(Ok(())), Err(AuthFailure::WrongMethod));
        check_auth(R::None, M::Post, Proof::Secret(true), Err(AuthFailure::SecretFromPublicClient));
    }

    #[test]
    fn ipv4_allow_list_matches_mapped_addresses() {
        let client = Client {
            id: crate::model::ClientId::new("c"),
            org_id: crate::model::OrgId::new("o"),
            name: "n".into(),
            owner: crate::model::UserId::new("u"),
            run_as: crate::model::UserId::new("u"),
            grants: Default::default(),
            scopes: ScopeSet::default(),
            redirect_uris: vec![],
            allowed_origins: vec![],
            allowed_ips: vec!["10.0.0.0/8".parse().unwrap()],
            public: false,
            pkce: Pkce::Required,
            auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            keys: None,
            access_token_ttl: None,
            requires_org_approval: false,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
            resources: vec![],
            status: ClientStatus::On,
            created_at: 0,
            tokens_not_before: None,
        };
        assert!(address_allowed(&client, "10.1.2.3".parse().unwrap()));
        assert!(address_allowed(&client, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!address_allowed(&client, "127.0.0.1".parse().unwrap()));
    }
}

/// What a new client is for (SPEC §16): the portal's first question, which sets the grants,
/// whether the client can keep a secret, and which addresses it needs. The protocol settings
/// stay open to change under "Advanced"; the kind is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// A server or script calling the API as itself.
    Server,
    /// A web app with a back end that keeps a secret, acting for its users.
    WebApp,
    /// A single-page app: runs in the browser, keeps no secret.
    SinglePage,
    /// A mobile or desktop app: keeps no secret, comes back through a redirect.
    Native,
    /// A TV, console or command-line tool: the user approves a code elsewhere.
    Device,
    /// A service exchanging a user's token for a narrower one for a downstream API.
    Exchanging,
}

impl AppKind {
    pub const ALL: [AppKind; 6] =
        [AppKind::Server, AppKind::WebApp, AppKind::SinglePage, AppKind::Native, AppKind::Device, AppKind::Exchanging];

    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Server => "server",
            AppKind::WebApp => "web",
            AppKind::SinglePage => "spa",
            AppKind::Native => "native",
            AppKind::Device => "device",
            AppKind::Exchanging => "exchange",
        }
    }

    pub fn parse(text: &str) -> Option<AppKind> {
        AppKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The grants such a client starts with.
    pub fn grants(self) -> &'static [GrantType] {
        match self {
            AppKind::Server => &[GrantType::ClientCredentials],
            AppKind::WebApp | AppKind::SinglePage | AppKind::Native => &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            AppKind::Device => &[GrantType::DeviceCode, GrantType::RefreshToken],
            AppKind::Exchanging => &[GrantType::TokenExchange],
        }
    }

    /// Whether it runs where a secret cannot be kept (it then proves itself with PKCE).
    pub fn public(self) -> bool {
        matches!(self, AppKind::SinglePage | AppKind::Native | AppKind::Device)
    }

    /// Whether users come back to it through a redirect URI, which it must register.
    pub fn needs_redirect_uris(self) -> bool {
        matches!(self, AppKind::WebApp | AppKind::SinglePage | AppKind::Native)
    }

    /// Whether the browser calls the token endpoint itself (CORS origins).
    pub fn calls_from_browser(self) -> bool {
        self == AppKind::SinglePage
    }
}

#[cfg(test)]
mod app_kind_tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_public_kinds_use_no_secret_grant() {
        for kind in AppKind::ALL {
            assert_eq!(AppKind::parse(kind.as_str()), Some(kind));
            if kind.public() {
                assert!(!kind.grants().contains(&GrantType::ClientCredentials), "{kind:?}");
                assert!(!kind.grants().contains(&GrantType::TokenExchange), "{kind:?}");
            }
        }
        assert_eq!(AppKind::parse("all"), None);
    }
}
