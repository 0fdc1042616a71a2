//! Profiles (SPEC §7): a TOML file that makes Tessera answer the way one of the seed systems
//! does: path aliases for the endpoints, token lifetimes, extra token-response members and
//! seed-specific statuses. The canonical endpoints keep working under every profile; discovery
//! publishes the aliases, since those are the paths the seed's clients use.
//!
//! A profile is validated when the server starts; every error names the key at fault. The four
//! profiles of the repository's `profiles/` directory are also built into the binary, so
//! `--profile bluescape` works wherever the binary runs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Map, Value};
use tessera_core::authorize::ResponseType;
use tessera_core::model::{GrantType, Pkce};

/// The profiles shipped in `profiles/`, by name.
const BUILT_IN: [(&str, &str); 4] = [
    ("bluecanvas", include_str!("../../../profiles/bluecanvas.toml")),
    ("bluescape", include_str!("../../../profiles/bluescape.toml")),
    ("blueconic", include_str!("../../../profiles/blueconic.toml")),
    ("bluedot", include_str!("../../../profiles/bluedot.toml")),
];

/// A profile as written in its file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub paths: PathAliases,
    #[serde(default)]
    pub lifetimes: Lifetimes,
    #[serde(default)]
    pub token_response: TokenResponseFields,
    #[serde(default)]
    pub statuses: Statuses,
    #[serde(default)]
    pub authorize: AuthorizeDefaults,
    #[serde(default)]
    pub token: TokenDefaults,
    #[serde(default)]
    pub clients: ClientDefaults,
    /// Whether the first-party session API (`/sessions`) is on (default: on).
    pub session_api: Option<bool>,
}

/// One path or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn paths(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(path) => vec![path.as_str()],
            OneOrMany::Many(paths) => paths.iter().map(String::as_str).collect(),
        }
    }
}

/// Extra paths for each endpoint; the first one of each is what discovery publishes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathAliases {
    pub authorize: Option<OneOrMany>,
    pub token: Option<OneOrMany>,
    pub revoke: Option<OneOrMany>,
    pub introspect: Option<OneOrMany>,
    pub userinfo: Option<OneOrMany>,
    pub jwks: Option<OneOrMany>,
    pub logout: Option<OneOrMany>,
}

/// Token lifetimes, in seconds. Flags, environment and the config file still override them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    pub access_token: Option<u32>,
    pub max_access_token: Option<u32>,
    /// 0: refresh tokens never expire (they still rotate on every use).
    pub refresh_token: Option<i64>,
}

/// Members added to token responses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenResponseFields {
    #[serde(default)]
    pub expires_at: bool,
    #[serde(default)]
    pub tenant_id: bool,
    /// Name → URL; `{issuer}` and `{audience}` are replaced by the configured values.
    pub endpoints: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statuses {
    /// The token endpoint's status when the application lacks an org admin's approval.
    pub unapproved_application: Option<u16>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeDefaults {
    /// How a request without `response_type` is read: `code` or `token`.
    pub default_response_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenDefaults {
    /// How a token request without `grant_type` is read: `client_credentials`.
    pub default_grant_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDefaults {
    /// The PKCE setting of a confidential client created without one while the profile is in
    /// force: `required` (the default) or `optional` (a seed whose code flow sends no
    /// `code_challenge`). Public clients always require PKCE.
    pub default_pkce: Option<String>,
    /// Whether a client made while the profile is in force starts OFF, to be turned ON by its
    /// owner when ready (the BlueConic seed: "remember also to change the status of the
    /// application to ON"). Default: ON. Clients registered dynamically (RFC 7591) start ON.
    #[serde(default)]
    pub start_off: bool,
}

/// The endpoints a profile can alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Authorize,
    Token,
    Revoke,
    Introspect,
    Userinfo,
    Jwks,
    Logout,
}

/// Paths that the router serves already: an alias may not take one (`prefix` entries cover
/// every path below them).
const RESERVED: [&str; 22] = [
    "/",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/oauth2/jwks",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/introspect",
    "/oauth2/authorize",
    "/oauth2/authorize/decision",
    "/oauth2/authorize/approve",
    "/oauth2/userinfo",
    "/oauth2/logout",
    "/session/user",
    "/sessions",
    "/sessions/refresh",
    "/logout",
    "/login",
    "/settings/connected-apps",
    "/settings/connected-apps/revoke",
    "/healthz",
    "/readyz",
    "/metrics",
];
const RESERVED_PREFIXES: [&str; 2] = ["/setup/", "/assets/"];

impl Profile {
    /// Loads a profile by built-in name or from a file, and validates it.
    pub fn load(name_or_path: &str) -> anyhow::Result<Self> {
        let (source, text) = match BUILT_IN.iter().find(|(name, _)| *name == name_or_path) {
            Some((name, text)) => (format!("the built-in profile {name}"), (*text).to_owned()),
            None if name_or_path.contains('/') || name_or_path.ends_with(".toml") => {
                let path = Path::new(name_or_path);
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the profile file {}", path.display()))?;
                (format!("the profile file {}", path.display()), text)
            }
            None => {
                let names: Vec<&str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
                bail!("unknown profile {name_or_path:?}: use one of {} or the path of a profile file", names.join(", "))
            }
        };
        Self::parse(&text).with_context(|| format!("invalid {source}"))
    }

    /// Parses and validates profile text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let profile: Profile = toml::from_str(text)?;
        profile.validate()?;
        Ok(profile)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.name.trim().is_empty() {
            bail!("name: must not be empty");
        }
        let mut seen: Vec<&str> = Vec::new();
        for (key, _, path) in self.named_aliases() {
            check_alias(path).with_context(|| format!("paths.{key}: {path:?}"))?;
            if seen.contains(&path) {
                bail!("paths.{key}: {path:?} is given for more than one endpoint");
            }
            seen.push(path);
        }
        if self.lifetimes.access_token == Some(0) {
            bail!("lifetimes.access_token: must be at least 1 second");
        }
        if self.lifetimes.max_access_token == Some(0) {
            bail!("lifetimes.max_access_token: must be at least 1 second");
        }
        if self.lifetimes.refresh_token.is_some_and(|ttl| ttl < 0) {
            bail!("lifetimes.refresh_token: must be 0 (never expires) or a number of seconds");
        }
        if let Some(status) = self.statuses.unapproved_application
            && !(400..=499).contains(&status)
        {
            bail!("statuses.unapproved_application: {status} is not a 4xx status");
        }
        self.default_response_type()?;
        self.default_grant_type()?;
        self.default_pkce()?;
        for (name, template) in self.token_response.endpoints.iter().flatten() {
            let rest = template.replace("{issuer}", "").replace("{audience}", "");
            if rest.contains(['{', '}']) {
                bail!("token_response.endpoints.{name}: only {{issuer}} and {{audience}} may be substituted");
            }
        }
        Ok(())
    }

    /// Every alias with the key it was given under and its endpoint.
    fn named_aliases(&self) -> Vec<(&'static str, Endpoint, &str)> {
        let p = &self.paths;
        let keys = [
            ("authorize", Endpoint::Authorize, &p.authorize),
            ("token", Endpoint::Token, &p.token),
            ("revoke", Endpoint::Revoke, &p.revoke),
            ("introspect", Endpoint::Introspect, &p.introspect),
            ("userinfo", Endpoint::Userinfo, &p.userinfo),
            ("jwks", Endpoint::Jwks, &p.jwks),
            ("logout", Endpoint::Logout, &p.logout),
        ];
        keys.into_iter()
            .flat_map(|(key, endpoint, paths)| paths.iter().flat_map(OneOrMany::paths).map(move |path| (key, endpoint, path)))
            .collect()
    }

    /// Every alias with its endpoint, for the router.
    pub fn aliases(&self) -> Vec<(Endpoint, String)> {
        self.named_aliases().into_iter().map(|(_, endpoint, path)| (endpoint, path.to_owned())).collect()
    }

    /// Each endpoint's first alias: what discovery publishes in place of the canonical path.
    pub fn first_alias(&self, endpoint: Endpoint) -> Option<&str> {
        self.named_aliases().into_iter().find(|(_, e, _)| *e == endpoint).map(|(_, _, path)| path)
    }

    /// The token-response `endpoints` member, with `{issuer}` and `{audience}` filled in.
    pub fn token_response_endpoints(&self, issuer: &str, audience: &str) -> Option<Map<String, Value>> {
        self.token_response.endpoints.as_ref().map(|endpoints| {
            endpoints
                .iter()
                .map(|(name, template)| (name.clone(), Value::from(template.replace("{issuer}", issuer).replace("{audience}", audience))))
                .collect::<Map<String, Value>>()
        })
    }

    /// The token endpoint's status for a client that needs an org admin's approval it does
    /// not have: 400 (`unauthorized_client`, RFC 6749 §5.2) unless the profile names a client
    /// error (405 under Bluescape).
    pub fn unapproved_status(&self) -> u16 {
        self.statuses.unapproved_application.filter(|status| (400..=499).contains(status)).unwrap_or(400)
    }

    pub fn default_grant_type(&self) -> anyhow::Result<Option<GrantType>> {
        match self.token.default_grant_type.as_deref() {
            None => Ok(None),
            Some("client_credentials") => Ok(Some(GrantType::ClientCredentials)),
            Some(other) => bail!("token.default_grant_type: {other:?} is not client_credentials"),
        }
    }

    pub fn default_pkce(&self) -> anyhow::Result<Pkce> {
        match self.clients.default_pkce.as_deref() {
            None => Ok(Pkce::Required),
            Some(value) => Pkce::parse(value).with_context(|| format!("clients.default_pkce: {value:?} is not required or optional")),
        }
    }

    pub fn default_response_type(&self) -> anyhow::Result<Option<ResponseType>> {
        match self.authorize.default_response_type.as_deref() {
            None => Ok(None),
            Some(value @ ("code" | "token")) => Ok(ResponseType::parse(value)),
            Some(other) => bail!("authorize.default_response_type: {other:?} is not code or token"),
        }
    }
}

/// An alias is an absolute path of plain segments that the router does not serve already.
fn check_alias(path: &str) -> anyhow::Result<()> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~');
    if !path.starts_with('/') || path.len() < 2 || path.len() > 200 {
        bail!("must be an absolute path like /api/token");
    }
    if !path.bytes().all(plain) || path.contains("//") || path.ends_with('/') || path.split('/').any(|s| s == "." || s == "..") {
        bail!("may hold only letters, digits and - _ . ~ between single slashes");
    }
    if RESERVED.contains(&path) || RESERVED_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        bail!("is a path Tessera serves already");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_is_valid() {
        for (name, _) in BUILT_IN {
            let profile = Profile::load(name).unwrap();
            assert_eq!(profile.name, name);
        }
    }

    #[test]
    fn errors_name_the_bad_key() {
        let error = |text: &str| format!("{:#}", Profile::parse(text).unwrap_err());
        assert!(error("name = \"x\"\n[paths]\ntokn = \"/t\"\n").contains("tokn"), "unknown keys are named");
        assert!(error("name = \"x\"\n[lifetime]\n").contains("lifetime"));
        assert!(error("name = \"x\"\n[paths]\ntoken = \"t\"\n").contains("paths.token"));
        assert!(error("name = \"x\"\n[paths]\ntoken = \"/oauth2/revoke\"\n").contains("serves already"));
        assert!(error("name = \"x\"\n[paths]\ntoken = \"/a/{id}\"\n").contains("paths.token"));
        assert!(error("name = \"x\"\n[paths]\ntoken = \"/a\"\nrevoke = [\"/b\", \"/a\"]\n").contains("more than one"));
        assert!(error("name = \"x\"\n[lifetimes]\naccess_token = 0\n").contains("lifetimes.access_token"));
        assert!(error("name = \"x\"\n[statuses]\nunapproved_application = 302\n").contains("statuses.unapproved_application"));
        assert!(error("name = \"x\"\n[authorize]\ndefault_response_type = \"id_token\"\n").contains("default_response_type"));
        assert!(error("name = \"x\"\n[token]\ndefault_grant_type = \"password\"\n").contains("token.default_grant_type"));
        assert!(error("name = \"x\"\n[clients]\ndefault_pkce = \"never\"\n").contains("clients.default_pkce"));
        assert!(error("name = \"x\"\n[token_response.endpoints]\napi = \"{api}\"\n").contains("token_response.endpoints.api"));
        assert!(format!("{:#}", Profile::load("bluesky").unwrap_err()).contains("bluescape"), "the known names are listed");
    }

    #[test]
    fn only_bluescape_makes_pkce_optional_by_default() {
        for (name, _) in BUILT_IN {
            let expected = if name == "bluescape" { Pkce::Optional } else { Pkce::Required };
            assert_eq!(Profile::load(name).unwrap().default_pkce().unwrap(), expected, "{name}");
        }
    }

    #[test]
    fn discovery_publishes_the_first_alias() {
        let profile = Profile::parse("name = \"x\"\n[paths]\ntoken = [\"/a/token\", \"/b/token\"]\n").unwrap();
        assert_eq!(profile.first_alias(Endpoint::Token), Some("/a/token"));
        assert_eq!(profile.first_alias(Endpoint::Revoke), None, "the canonical path then");
        assert_eq!(profile.aliases().len(), 2);
        assert_eq!(profile.unapproved_status(), 400);
        assert_eq!(Profile::load("bluescape").unwrap().unapproved_status(), 405);
    }

    #[test]
    fn endpoint_templates_are_filled_in() {
        let profile =
            Profile::parse("name = \"x\"\n[token_response.endpoints]\napi = \"{audience}/v1\"\ntoken = \"{issuer}/t\"\n").unwrap();
        let endpoints = profile.token_response_endpoints("https://id.example", "https://api.example").unwrap();
        assert_eq!(endpoints["api"], "https://api.example/v1");
        assert_eq!(endpoints["token"], "https://id.example/t");
    }
}
