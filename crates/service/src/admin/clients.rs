//! API clients: checking a registration, creating, showing, listing, editing, disabling and
//! deleting them.

use std::collections::BTreeSet;

use ipnet::IpNet;
use tessera_core::access::{self, Denial};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::client::{self as client_rules, Problem, Registration};
use tessera_core::model::{Client, ClientId, ClientKeys, ClientStatus, GrantType, Pkce, TokenEndpointAuthMethod, User, UserId};
use tessera_core::scope::{self, ScopeSet};
use tessera_core::{Message, message};
use tessera_jose::assertion::{KeySetError, MAX_KEYS};
use tessera_proto::ClientView;
use tessera_store::ClientRecord;

use super::{Actor, Named, broken_rule, denied, in_field, invalid, validate_name};
use crate::Tessera;
use crate::error::{Result, ServiceError};

/// What an edit of a client may change. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientEdit {
    pub name: Option<String>,
    /// Replaces the grant types (at least one). A grant removed stops working at the next token
    /// request; access tokens already issued live out their lifetime.
    pub grants: Option<Vec<String>>,
    /// Replaces the registered scopes (each in the catalogue, or built in; empty: none). A scope
    /// removed is no longer granted, also not on refresh.
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_ips: Option<Vec<String>>,
    /// The run-as user's email or id.
    pub run_as: Option<String>,
    /// `Some(None)` clears a per-client lifetime.
    pub access_token_ttl: Option<Option<u32>>,
    pub requires_org_approval: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: Option<bool>,
    /// Whether the code flow needs PKCE (never optional for a public client).
    pub pkce: Option<Pkce>,
    /// RFC 8707: replaces the resources the client may ask tokens for.
    pub resources: Option<Vec<String>>,
    /// New public keys of a `private_key_jwt` client (a JWK, a JWKS or a PEM public key), in
    /// place of its `jwks_uri` or earlier keys.
    pub jwks: Option<String>,
    /// A new `jwks_uri` of a `private_key_jwt` client, in place of its inline keys.
    pub jwks_uri: Option<String>,
}

/// What a new client asks for, as given by an operator or a portal user.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub org: String,
    pub owner_email: String,
    pub name: String,
    pub grants: Vec<String>,
    /// Empty: every catalogue scope the owner may grant.
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_ips: Vec<String>,
    pub run_as_email: Option<String>,
    pub public: bool,
    pub access_token_ttl: Option<u32>,
    pub requires_org_approval: bool,
    /// RFC 9126 §6: authorization requests must be pushed.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// Whether the code flow needs PKCE. Unset: required for a public client, else the
    /// server's default (`Settings::default_pkce`: required, optional under the Bluescape
    /// profile).
    pub pkce: Option<Pkce>,
    /// RFC 8707: the resources (absolute URIs) the client may ask tokens for.
    pub resources: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`. Unset: `none`
    /// for a public client, `private_key_jwt` when keys are given, else `client_secret_basic`.
    pub token_endpoint_auth_method: Option<String>,
    /// The public keys of a `private_key_jwt` client: a JWK, a JWKS or a PEM public key.
    pub jwks: Option<String>,
    /// Or where to fetch them from.
    pub jwks_uri: Option<String>,
}

impl NewClient {
    /// The registered method, and the keys as stored (a pasted key turned into a JWKS).
    fn auth(&self) -> std::result::Result<(TokenEndpointAuthMethod, Option<ClientKeys>), (&'static str, Message)> {
        let keys = client_keys(self.jwks.as_deref(), self.jwks_uri.as_deref())?;
        let method = match self.token_endpoint_auth_method.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(name) => TokenEndpointAuthMethod::parse(name).ok_or_else(|| {
                (
                    "token_endpoint_auth_method",
                    message!("client-auth-method-unknown", "unknown token_endpoint_auth_method {name:?}", name = name),
                )
            })?,
            None if self.public => TokenEndpointAuthMethod::None,
            None if keys.is_some() => TokenEndpointAuthMethod::PrivateKeyJwt,
            None => TokenEndpointAuthMethod::ClientSecretBasic,
        };
        Ok((method, keys))
    }
}

/// Keys as given (pasted JWK, JWKS or PEM, or a URL) → as stored: a checked public JWKS, or the
/// URL. A problem is the field it is about and the rule broken.
pub(super) fn client_keys(jwks: Option<&str>, jwks_uri: Option<&str>) -> std::result::Result<Option<ClientKeys>, (&'static str, Message)> {
    let jwks = jwks.map(str::trim).filter(|j| !j.is_empty());
    let jwks_uri = jwks_uri.map(str::trim).filter(|u| !u.is_empty());
    match (jwks, jwks_uri) {
        (Some(_), Some(_)) => Err(("jwks", message!("client-keys-and-uri", "give either public keys (jwks) or a jwks_uri, not both"))),
        (Some(text), None) => tessera_jose::assertion::jwks_from_pasted(text)
            .map(|jwks| Some(ClientKeys::Jwks(jwks)))
            .map_err(|e| ("jwks", message!("client-public-key-bad", "public key: {why}", why = key_set_problem(&e)))),
        (None, Some(uri)) => Ok(Some(ClientKeys::Uri(uri.to_owned()))),
        (None, None) => Ok(None),
    }
}

/// Why a pasted key set was refused, as `KeySetError` says it.
fn key_set_problem(e: &KeySetError) -> Message {
    match e {
        KeySetError::NotJson => message!("client-keys-not-json", "the key set is not a JSON Web Key or Key Set"),
        KeySetError::PrivateKey => {
            message!("client-keys-private", "the key set holds a private or symmetric key; register only the public key")
        }
        KeySetError::Empty => message!("client-keys-empty", "the key set is empty"),
        KeySetError::TooLarge => {
            message!("client-keys-too-large", "the key set holds more than {most} keys or is larger than 64 KiB", most = MAX_KEYS)
        }
        KeySetError::Unsupported(detail) => message!("client-keys-unsupported", "unsupported key: {detail}", detail = *detail),
        KeySetError::DuplicateKid(kid) => message!("client-keys-kid-twice", "two keys share the kid {kid:?}", kid = kid),
        KeySetError::NotPem => {
            message!("client-keys-not-pem", "the PEM text is not a public key (SubjectPublicKeyInfo or RSA PUBLIC KEY)")
        }
    }
}

/// A grant type given by name, unknown: refused.
fn unknown_grant(name: &str) -> Message {
    message!("client-grant-unknown", "unknown grant {name:?}", name = name)
}

/// The grant types an edit gives, by name; an unknown one is refused.
pub(super) fn parse_grants(names: &[String]) -> Result<Vec<GrantType>> {
    names.iter().map(|g| GrantType::parse(g).ok_or_else(|| invalid(unknown_grant(g)))).collect()
}

/// A list of scopes that does not parse (`ScopeSet::parse` refuses only characters a scope may
/// not hold).
fn bad_scope_characters() -> Message {
    message!("scope-characters-bad", "scope contains characters that are not allowed")
}

/// The scopes an edit gives. Unlike at creation, where an empty list means "every scope the
/// owner may grant", an edit names exactly the scopes the client keeps: empty is none (the
/// client then gets only the OpenID scopes open to every client).
pub(super) fn parse_scopes(names: &[String]) -> Result<ScopeSet> {
    let names: Vec<&str> = names.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Ok(ScopeSet::default());
    }
    ScopeSet::parse(&names.join(" ")).map_err(|_| invalid(bad_scope_characters()))
}

/// An allowed origin is `scheme://host[:port]`: no path, query or fragment.
pub(super) fn validate_origin(origin: &str) -> Result<String> {
    let ok = origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "https" | "http") && !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' ']));
    if !ok {
        return Err(invalid(message!(
            "client-origin-bad",
            "allowed origin {origin:?} must look like https://host[:port]",
            origin = origin
        )));
    }
    Ok(origin.to_owned())
}

/// A run-as user named by a registration or an edit that is no member of the client's organization.
fn no_run_as(who: &str) -> Message {
    message!("client-run-as-unknown", "no run-as user {user:?} in this organization", user = who)
}

pub(super) fn parse_network(value: &str) -> Result<IpNet> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| invalid(message!("client-ip-bad", "allowed IP {ip:?} is not an address or CIDR range", ip = value)))
}

impl Tessera {
    /// Every problem of a client registration by field, for a form's inline messages: the same
    /// rules [`Tessera::create_client`] applies (it stops at the first).
    pub async fn client_problems(&self, actor: &Actor, new: &NewClient) -> Result<Vec<Problem>> {
        let org = self.org(&new.org).await?;
        let owner = self.member_of(&org.id, &new.owner_email).await?;
        access::register_for(actor.caller(), &owner).map_err(denied("user"))?;
        let mut problems = Vec::new();
        let mut add = |field: &'static str, message: Message| problems.push(Problem { field, message });
        if let Err(why) = broken_rule(validate_name(Named::Client, &new.name))? {
            add("name", why);
        }
        let mut grants = Vec::new();
        for g in &new.grants {
            match GrantType::parse(g) {
                Some(grant) => grants.push(grant),
                None => add("grants", unknown_grant(g)),
            }
        }
        if new.grants.is_empty() {
            grants.push(GrantType::ClientCredentials);
        }
        for origin in &new.allowed_origins {
            if let Err(why) = broken_rule(validate_origin(origin))? {
                add("allowed_origins", why);
            }
        }
        for ip in &new.allowed_ips {
            if let Err(why) = broken_rule(parse_network(ip))? {
                add("allowed_ips", why);
            }
        }
        let scopes = match ScopeSet::parse(&new.scopes.join(" ")) {
            Ok(scopes) => scopes,
            Err(_) if !new.scopes.is_empty() => {
                add("scopes", bad_scope_characters());
                ScopeSet::default()
            }
            Err(_) => ScopeSet::default(),
        };
        let run_as = match &new.run_as_email {
            Some(email) => match self.store().member_by_email(&org.id, email.trim()).await? {
                Some(user) => {
                    let decision = access::choose_run_as(actor.caller(), &user);
                    if matches!(decision, Err(Denial::Forbidden(_))) {
                        self.check_access(actor, decision, "user", "client_create", &org.id, user.id.as_str()).await?;
                    }
                    Some(user)
                }
                None => {
                    add("run_as", no_run_as(email));
                    None
                }
            },
            None => Some(owner.clone()),
        };
        if owner.org_id != org.id {
            add("owner", message!("registration-owner-not-member", "the owner does not belong to this organization"));
        }
        let catalogue = self.store().scopes(&org.id).await?;
        let auth = match new.auth() {
            Ok(auth) => Some(auth),
            Err((field, e)) => {
                add(field, e);
                None
            }
        };
        if let (Some(run_as), Some((auth_method, keys))) = (run_as, auth) {
            problems.extend(client_rules::registration_problems(&Registration {
                owner: &owner,
                run_as: &run_as,
                grants: &grants,
                scopes: &scopes,
                redirect_uris: &new.redirect_uris,
                allowed_origins: &new.allowed_origins,
                allowed_ips: &new.allowed_ips,
                public: new.public,
                pkce: self.pkce_of(new),
                auth_method,
                keys: keys.as_ref(),
                access_token_ttl: new.access_token_ttl,
                catalogue: &catalogue,
                resources: &new.resources,
            }));
        }
        Ok(problems)
    }

    /// The PKCE setting of a new client: as given, else required for a public client and the
    /// server's default for a confidential one.
    fn pkce_of(&self, new: &NewClient) -> Pkce {
        match new.pkce {
            Some(pkce) => pkce,
            None if new.public => Pkce::Required,
            None => self.settings.default_pkce,
        }
    }

    /// Registers a client and returns it with its secret, shown this once (and later only to
    /// its owner, through the portal).
    pub async fn create_client(&self, actor: &Actor, new: NewClient) -> Result<ClientView> {
        let (record, secret, audit) = self.prepare_client(actor, &new).await?;
        self.store().insert_client(&record, &audit).await?;
        let mut view = self.client_view(&record).await?;
        view.client_secret = secret;
        Ok(view)
    }

    /// A new client checked against every registration rule, with its secret (shown once) and
    /// the audit entry of its creation; not yet stored.
    pub(crate) async fn prepare_client(&self, actor: &Actor, new: &NewClient) -> Result<(ClientRecord, Option<String>, AuditEvent)> {
        // Every rule of a registration, in one place; the parsing below cannot fail after it.
        if let Some(problem) = self.client_problems(actor, new).await?.into_iter().next() {
            return Err(ServiceError::Invalid(problem.into()));
        }
        let org = self.org(&new.org).await?;
        let owner = self.member_of(&org.id, &new.owner_email).await?;
        let run_as = match &new.run_as_email {
            Some(email) => self.member_of(&org.id, email).await?,
            None => owner.clone(),
        };
        let name = validate_name(Named::Client, &new.name)?;
        let grants: Vec<GrantType> = if new.grants.is_empty() { vec![GrantType::ClientCredentials] } else { parse_grants(&new.grants)? };
        let catalogue = self.store().scopes(&org.id).await?;
        let scopes = if new.scopes.is_empty() {
            ScopeSet::from_names(catalogue.iter().filter(|s| scope::role_allows(owner.role, &s.name, &catalogue)).map(|s| s.name.clone()))
        } else {
            parse_scopes(&new.scopes)?
        };
        let allowed_origins = new.allowed_origins.iter().map(|o| validate_origin(o)).collect::<Result<Vec<_>>>()?;
        let allowed_ips = new.allowed_ips.iter().map(|ip| parse_network(ip)).collect::<Result<Vec<_>>>()?;
        let (auth_method, keys) = new.auth().map_err(|(_, why)| invalid(why))?;
        let client = Client {
            id: ClientId::new(self.secrets.random_id(24)?),
            org_id: org.id.clone(),
            name,
            owner: owner.id.clone(),
            run_as: run_as.id.clone(),
            grants: grants.into_iter().collect::<BTreeSet<_>>(),
            scopes,
            redirect_uris: new.redirect_uris.clone(),
            allowed_origins,
            allowed_ips,
            public: new.public,
            pkce: self.pkce_of(new),
            auth_method,
            keys,
            access_token_ttl: new.access_token_ttl,
            requires_org_approval: new.requires_org_approval,
            require_pushed_authorization_requests: new.require_pushed_authorization_requests,
            dpop_bound_access_tokens: new.dpop_bound_access_tokens,
            resources: new.resources.clone(),
            status: self.settings.new_client_status,
            created_at: self.now(),
            tokens_not_before: None,
        };
        let (secret, material) = if !client.auth_method.uses_secret() {
            (None, None)
        } else {
            let (secret, material) = self.new_secret(&client.id)?;
            (Some(secret), Some(material))
        };
        let detail = serde_json::json!({
            "name": client.name,
            "grants": client.grants,
            "scopes": client.scopes.to_string(),
            "run_as": run_as.id.as_str(),
            "token_endpoint_auth_method": client.auth_method.as_str(),
            "pkce": client.pkce.as_str(),
        });
        let audit = self.audit(actor, AuditAction::ClientCreated, Some(&org.id), Some(client.id.to_string()), detail);
        Ok((ClientRecord { client, secret: material, previous_secret: None }, secret, audit))
    }

    pub(crate) async fn client_view(&self, record: &ClientRecord) -> Result<ClientView> {
        let client = &record.client;
        let email = |user: Option<User>| user.map(|u| u.email).unwrap_or_default();
        Ok(ClientView {
            client_id: client.id.to_string(),
            client_secret: None,
            name: client.name.clone(),
            org_id: client.org_id.to_string(),
            owner: email(self.store().user(&client.owner).await?),
            owner_id: client.owner.to_string(),
            run_as: email(self.store().user(&client.run_as).await?),
            run_as_id: client.run_as.to_string(),
            grants: client.grants.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: client.scopes.iter().map(str::to_owned).collect(),
            redirect_uris: client.redirect_uris.clone(),
            allowed_origins: client.allowed_origins.clone(),
            allowed_ips: client.allowed_ips.iter().map(ToString::to_string).collect(),
            public: client.public,
            pkce: client.pkce,
            token_endpoint_auth_method: client.auth_method.as_str().into(),
            jwks: ClientKeys::jwks(client.keys.as_ref()).and_then(|jwks| serde_json::from_str(jwks).ok()),
            jwks_uri: ClientKeys::jwks_uri(client.keys.as_ref()).map(str::to_owned),
            access_token_ttl: client.access_token_ttl,
            requires_org_approval: client.requires_org_approval,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            resources: client.resources.clone(),
            status: client.status.as_str().into(),
            created_at: client.created_at,
            previous_secret_expires_at: record.previous_secret.as_ref().map(|previous| previous.expires_at),
            last_used_at: self.last_used(&client.id).await?,
        })
    }

    /// The user a client's tokens act as, as stored now.
    pub(crate) async fn client_run_as(&self, client: &Client) -> Result<User> {
        self.store().user(&client.run_as).await?.ok_or(ServiceError::NotFound("user"))
    }

    /// A client the actor may see; any other is "not found", whether it exists or not.
    pub(super) async fn client_record(&self, actor: &Actor, id: &str) -> Result<ClientRecord> {
        let record = self.store().client(&ClientId::new(id)).await?.ok_or(ServiceError::NotFound("client"))?;
        access::see_client(actor.caller(), &record.client).map_err(denied("client"))?;
        Ok(record)
    }

    pub async fn show_client(&self, actor: &Actor, id: &str) -> Result<ClientView> {
        let record = self.client_record(actor, id).await?;
        self.client_view(&record).await
    }

    /// The clients the actor may see: for the operator those of `org` (or all), for a user
    /// their own, and for an owner or admin every client of their organization.
    pub async fn list_clients(&self, actor: &Actor, org: Option<&str>) -> Result<Vec<ClientView>> {
        let org = match (org, actor.as_user()) {
            (Some(org), _) => Some(self.org(org).await?.id),
            (None, Some(user)) => Some(user.org_id.clone()),
            (None, None) => None,
        };
        let mut views = Vec::new();
        for record in self.store().clients(org.as_ref()).await? {
            if access::see_client(actor.caller(), &record.client).is_ok() {
                views.push(self.client_view(&record).await?);
            }
        }
        Ok(views)
    }

    /// Applies an edit to a client; the result must pass the same rules as a registration.
    pub async fn update_client(&self, actor: &Actor, id: &str, edit: ClientEdit) -> Result<ClientView> {
        let record = self.client_record(actor, id).await?;
        let previous_secret = record.previous_secret;
        let mut client = record.client;
        let owner = self.store().user(&client.owner).await?.ok_or(ServiceError::NotFound("user"))?;
        let current_run_as = self.client_run_as(&client).await?;
        let before = client.clone();
        if let Some(name) = &edit.name {
            client.name = validate_name(Named::Client, name).map_err(in_field("name"))?;
        }
        if let Some(uris) = edit.redirect_uris {
            client.redirect_uris = uris;
        }
        if let Some(grants) = &edit.grants {
            client.grants = parse_grants(grants).map_err(in_field("grants"))?.into_iter().collect();
        }
        if let Some(scopes) = &edit.scopes {
            client.scopes = parse_scopes(scopes).map_err(in_field("scopes"))?;
        }
        if let Some(origins) = &edit.allowed_origins {
            client.allowed_origins =
                origins.iter().map(|o| validate_origin(o)).collect::<Result<_>>().map_err(in_field("allowed_origins"))?;
        }
        if let Some(ips) = &edit.allowed_ips {
            client.allowed_ips = ips.iter().map(|ip| parse_network(ip)).collect::<Result<_>>().map_err(in_field("allowed_ips"))?;
        }
        let run_as = match &edit.run_as {
            Some(who) => {
                let found = match self.store().user(&UserId::new(who)).await? {
                    Some(user) => Some(user),
                    None => self.store().member_by_email(&client.org_id, who.trim()).await?,
                };
                let found =
                    found.filter(|u| u.org_id == client.org_id).ok_or_else(|| ServiceError::invalid_field("run_as", no_run_as(who)))?;
                if found.id != client.run_as {
                    let decision = access::choose_run_as(actor.caller(), &found);
                    self.check_access(actor, decision, "user", "client_update", &client.org_id, client.id.as_str()).await?;
                }
                found
            }
            None => current_run_as.clone(),
        };
        client.run_as = run_as.id.clone();
        if let Some(ttl) = edit.access_token_ttl {
            client.access_token_ttl = ttl;
        }
        if let Some(requires) = edit.requires_org_approval {
            client.requires_org_approval = requires;
        }
        if let Some(requires) = edit.require_pushed_authorization_requests {
            client.require_pushed_authorization_requests = requires;
        }
        if let Some(requires) = edit.dpop_bound_access_tokens {
            client.dpop_bound_access_tokens = requires;
        }
        if let Some(pkce) = edit.pkce {
            client.pkce = pkce;
        }
        if let Some(resources) = edit.resources {
            client.resources = resources;
        }
        if edit.jwks.is_some() || edit.jwks_uri.is_some() {
            if client.auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
                return Err(ServiceError::invalid_field(
                    "jwks",
                    message!("client-keys-only-private-key-jwt", "public keys are registered only for private_key_jwt clients"),
                ));
            }
            client.keys = client_keys(edit.jwks.as_deref(), edit.jwks_uri.as_deref())
                .map_err(|(field, why)| ServiceError::invalid_field(field, why))?;
        }
        // What a token of this client acts with changes only by callers its run-as user does not
        // outrank (SPEC §12); its name, URIs, lists and switches stay editable by who sees it.
        let credentials_changed = client.run_as != before.run_as
            || client.grants != before.grants
            || client.scopes != before.scopes
            || client.keys != before.keys;
        if credentials_changed {
            let decision = access::use_credentials(actor.caller(), &before, &current_run_as);
            self.check_access(actor, decision, "client", "client_update", &before.org_id, before.id.as_str()).await?;
        }
        // A token carrying a scope the client no longer has, or acting as a run-as user it no
        // longer has, ends here and at every guard; new tokens follow the new registration.
        let scope_lost = before.scopes.iter().any(|name| !client.scopes.contains(name));
        if scope_lost || client.run_as != before.run_as {
            client.tokens_not_before = Some(self.now() + 1);
        }
        let catalogue = self.store().scopes(&client.org_id).await?;
        let grants: Vec<GrantType> = client.grants.iter().copied().collect();
        let allowed_ips: Vec<String> = client.allowed_ips.iter().map(ToString::to_string).collect();
        let first_problem = client_rules::registration_problems(&Registration {
            owner: &owner,
            run_as: &run_as,
            grants: &grants,
            scopes: &client.scopes,
            redirect_uris: &client.redirect_uris,
            allowed_origins: &client.allowed_origins,
            allowed_ips: &allowed_ips,
            public: client.public,
            pkce: client.pkce,
            auth_method: client.auth_method,
            keys: client.keys.as_ref(),
            access_token_ttl: client.access_token_ttl,
            catalogue: &catalogue,
            resources: &client.resources,
        })
        .into_iter()
        .next();
        if let Some(problem) = first_problem {
            return Err(ServiceError::Invalid(problem.into()));
        }
        let detail = serde_json::json!({
            "name": client.name,
            "run_as": client.run_as.as_str(),
            "grants": client.grants,
            "scopes": client.scopes.to_string(),
            "redirect_uris": client.redirect_uris,
            "allowed_origins": client.allowed_origins,
            "resources": client.resources,
            "pkce": client.pkce.as_str(),
        });
        let audit = self.audit(actor, AuditAction::ClientUpdated, Some(&client.org_id), Some(client.id.to_string()), detail);
        if !self.store().update_client(&client, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        self.client_view(&ClientRecord { client, secret: None, previous_secret }).await
    }

    /// Turns a client ON or OFF. OFF: authentication fails and its live tokens stop working.
    pub async fn set_client_status(&self, actor: &Actor, id: &str, status: ClientStatus) -> Result<ClientView> {
        let mut record = self.client_record(actor, id).await?;
        let action = if status == ClientStatus::On { AuditAction::ClientEnabled } else { AuditAction::ClientDisabled };
        let audit = self.audit(actor, action, Some(&record.client.org_id), Some(id.to_owned()), serde_json::json!({}));
        if !self.store().set_client_status(&record.client.id, status, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        record.client.status = status;
        self.client_view(&record).await
    }

    pub async fn delete_client(&self, actor: &Actor, id: &str) -> Result<()> {
        let record = self.client_record(actor, id).await?;
        let audit = self.audit(
            actor,
            AuditAction::ClientDeleted,
            Some(&record.client.org_id),
            Some(id.to_owned()),
            serde_json::json!({ "name": record.client.name }),
        );
        if !self.store().delete_client(&record.client.id, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        Ok(())
    }
}
