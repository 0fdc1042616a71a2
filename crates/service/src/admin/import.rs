//! `tessera import FILE [--dry-run]` (SPEC §13): a file in the export format (`docs/migration.md`)
//! brought into the store in one transaction, all of it or nothing. Idempotent by id: a record
//! whose id is there already is changed to what the file says, or left alone when it says the
//! same, so importing a file twice changes nothing the second time. Every record is checked by
//! the rules that hold when one is made by hand (names, emails, roles, client registration rules,
//! the cost of a password hash); every problem found is named by its record and field, and then
//! nothing is written. Clients keep their ids and, when the file has one, their secrets.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use tessera_core::audit::AuditAction;
use tessera_core::client::{self as client_rules, Registration};
use tessera_core::model::{
    Client, ClientId, ClientStatus, Org, OrgId, PersonId, Pkce, Role, ScopeDef, TokenEndpointAuthMethod, User, UserId,
};
use tessera_core::scope::ScopeSet;
use tessera_core::{Message, message};
use tessera_proto::{EXPORT_FORMAT, ExportClient, ExportFile, ExportMembership, ExportPerson};
use tessera_store::{AccountTokenPurpose, ClientRecord, ImportBatch, ImportedPerson};

use super::clients::{client_keys, parse_grants, parse_network, parse_scopes, validate_origin};
use super::members::{brought_hash, validate_email};
use super::{Actor, Named, broken_rule, operator_only, validate_name};
use crate::Tessera;
use crate::error::{Result, ServiceError};
use crate::i18n::Lang;
use crate::invitations::INVITATION_LIFETIME;
use crate::mail::{Envelope, Letter};

/// What an import does to each kind of record: created, changed, or already as the file says.
#[derive(Debug, Default)]
struct Tally {
    created: BTreeMap<&'static str, Vec<String>>,
    changed: BTreeMap<&'static str, Vec<String>>,
    unchanged: BTreeMap<&'static str, Vec<String>>,
}

impl Tally {
    fn note(&mut self, kind: &'static str, id: &str, existing: Option<bool>) {
        let list = match existing {
            None => &mut self.created,
            Some(true) => &mut self.unchanged,
            Some(false) => &mut self.changed,
        };
        list.entry(kind).or_default().push(id.to_owned());
    }

    fn is_new(&self, kind: &str, id: &str) -> bool {
        self.created.get(kind).is_some_and(|ids| ids.iter().any(|i| i == id))
    }

    fn is_noop(&self) -> bool {
        self.created.is_empty() && self.changed.is_empty()
    }
}

/// The problems of a file, each naming its record and field.
#[derive(Default)]
struct Problems(Vec<Message>);

impl Problems {
    fn add(&mut self, record: &str, field: &str, why: Message) {
        self.0.push(message!("import-problem", "{record}: {field}: {why}", record = record, field = field, why = why));
    }
}

/// Messages one under the other, as one message (halved at each step, so that a long list is
/// not nested deep). `None` for none.
fn one_per_line(mut messages: Vec<Message>) -> Option<Message> {
    if messages.len() <= 1 {
        return messages.pop();
    }
    let second = messages.split_off(messages.len() / 2);
    Some(message!("import-problem-lines", "{first}\n{rest}", first = one_per_line(messages)?, rest = one_per_line(second)?))
}

/// An id of the file that is not one.
fn bad_id() -> Message {
    message!("import-id-bad", "must be 1 to 128 of [A-Za-z0-9._~|:@-]")
}

/// A record given twice.
fn twice() -> Message {
    message!("import-twice", "appears twice in the file")
}

/// An organization named by a record that is neither in the file nor in the store.
fn no_org(org: &str) -> Message {
    message!("import-org-unknown", "no organization {org:?} in the file or the store", org = org)
}

/// An id the file gives a record (organizations, people, memberships): 1 to 128 characters of
/// `[A-Za-z0-9._~|:@-]`, so ids from another vendor (`auth0|…`) fit.
fn well_formed_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~|:@-".contains(&b))
}

impl Tessera {
    /// Checks `file`, decides what each record needs, and (unless `dry_run`) writes it all in
    /// one transaction. Returns what was (or would be) created, changed and left as it was, and
    /// the secrets made for clients that came without one.
    pub async fn import(&self, actor: &Actor, file: ExportFile, dry_run: bool) -> Result<Value> {
        operator_only(actor)?;
        if file.format != EXPORT_FORMAT {
            return Err(ServiceError::invalid_field(
                "format",
                message!(
                    "import-format-unknown",
                    "{given:?} is not {format}, the format this release reads",
                    given = &file.format,
                    format = EXPORT_FORMAT
                ),
            ));
        }
        let now = self.now();
        let mut problems = Problems::default();
        let mut tally = Tally::default();
        let mut batch = ImportBatch::default();

        // Organizations and their scopes.
        let mut orgs: HashMap<String, Org> = HashMap::new();
        let mut catalogues: HashMap<String, Vec<ScopeDef>> = HashMap::new();
        for (i, o) in file.organizations.iter().enumerate() {
            let record = format!("organizations[{i}] ({})", o.id);
            if !well_formed_id(&o.id) {
                problems.add(&record, "id", bad_id());
                continue;
            }
            let name = match broken_rule(validate_name(Named::Org, &o.name))? {
                Ok(name) => name,
                Err(why) => {
                    problems.add(&record, "name", why);
                    continue;
                }
            };
            let existing = self.store().find_org(&o.id).await?.filter(|org| org.id.as_str() == o.id);
            if let Some(other) = self.store().find_org(&name).await?.filter(|org| org.id.as_str() != o.id && org.name == name) {
                problems.add(
                    &record,
                    "name",
                    message!("import-org-name-taken", "{name:?} is the name of organization {org}", name = &name, org = other.id.as_str()),
                );
            }
            if orgs.contains_key(&o.id) {
                problems.add(&record, "id", twice());
            }
            let org = Org {
                id: OrgId::new(&o.id),
                name,
                created_at: existing.as_ref().map_or(now, |e| e.created_at),
                require_mfa: o.require_mfa,
                // Not in the export: an import keeps what the store has.
                require_sso: existing.as_ref().is_some_and(|e| e.require_sso),
            };
            tally.note("organizations", &o.id, existing.as_ref().map(|e| *e == org));
            let mut catalogue = match &existing {
                Some(existing) => self.store().scopes(&existing.id).await?,
                None => Vec::new(),
            };
            for (j, s) in o.scopes.iter().enumerate() {
                let scope_record = format!("{record}.scopes[{j}] ({})", s.name);
                if ScopeSet::parse(&s.name).map(|set| set.iter().count()) != Ok(1) {
                    problems.add(
                        &scope_record,
                        "name",
                        message!("import-scope-name-bad", "is not one scope name (RFC 6749 §3.3 characters, no space)"),
                    );
                    continue;
                }
                let before = catalogue.iter().find(|c| c.name == s.name).map(|c| c.restricted == s.restricted);
                tally.note("scopes", &format!("{}/{}", o.id, s.name), before);
                catalogue.retain(|c| c.name != s.name);
                catalogue.push(ScopeDef { name: s.name.clone(), restricted: s.restricted });
                batch.scopes.push((org.id.clone(), ScopeDef { name: s.name.clone(), restricted: s.restricted }));
            }
            catalogues.insert(o.id.clone(), catalogue);
            batch.orgs.push(org.clone());
            orgs.insert(o.id.clone(), org);
        }

        // People and their memberships.
        let mut members: HashMap<String, User> = HashMap::new();
        let mut emails: BTreeSet<String> = BTreeSet::new();
        for (i, p) in file.people.iter().enumerate() {
            let record = format!("people[{i}] ({})", p.id);
            self.import_person(p, &record, &orgs, now, &mut problems, &mut tally, &mut batch, &mut members, &mut emails).await?;
        }

        // Clients.
        let mut new_secrets = Vec::new();
        let mut client_ids = BTreeSet::new();
        for (i, c) in file.clients.iter().enumerate() {
            let record = format!("clients[{i}] ({})", c.id);
            if !client_ids.insert(c.id.clone()) {
                problems.add(&record, "id", twice());
                continue;
            }
            let context = ClientContext { orgs: &orgs, catalogues: &catalogues, members: &members, now };
            if let Some((client, new_secret)) = self.import_client(c, &record, &context, &mut problems, &mut tally).await? {
                if let Some(secret) = new_secret {
                    new_secrets.push(json!({ "client_id": c.id, "client_secret": secret }));
                }
                batch.clients.push(client);
            }
        }

        let count = problems.0.len();
        if let Some(list) = one_per_line(problems.0) {
            return Err(ServiceError::invalid(if count == 1 {
                message!(
                    "import-refused-one-problem",
                    "the file has {count} problem; nothing was imported:\n{problems}",
                    count = count,
                    problems = list
                )
            } else {
                message!(
                    "import-refused-problems",
                    "the file has {count} problems; nothing was imported:\n{problems}",
                    count = count,
                    problems = list
                )
            }));
        }
        // A new person who came without a password hash is invited: a link, mailed when this
        // process sends mail and printed for the operator, where they choose their password.
        let to_invite: Vec<&User> = batch
            .memberships
            .iter()
            .filter(|user| !user.service && !user.disabled)
            .filter(|user| {
                batch.people.iter().any(|p| p.id == user.person_id && p.password_hash.is_none() && tally.is_new("people", p.id.as_str()))
            })
            .fold(Vec::new(), |mut first, user| {
                if !first.iter().any(|u: &&User| u.person_id == user.person_id) {
                    first.push(user);
                }
                first
            });
        if !dry_run && !tally.is_noop() {
            let detail = json!({ "created": tally.created, "changed": tally.changed });
            let audit = self.audit(actor, AuditAction::Imported, None, None, detail);
            self.store().import(&batch, &audit).await?;
        }
        let mut invitations = Vec::new();
        for user in to_invite {
            let org_name = batch.orgs.iter().find(|o| o.id == user.org_id).map_or_else(|| user.org_id.to_string(), |o| o.name.clone());
            let mut invitation = json!({ "email": user.email, "organization": org_name });
            if !dry_run {
                let (link, mailed) = self.invite_imported(user, &org_name).await?;
                invitation["link"] = json!(link);
                invitation["mailed"] = json!(mailed);
            }
            invitations.push(invitation);
        }
        Ok(json!({
            "dry_run": dry_run,
            "created": tally.created,
            "changed": tally.changed,
            "unchanged": tally.unchanged,
            "client_secrets_made": new_secrets,
            "invitations": invitations,
        }))
    }

    /// A link for an imported person with no password to choose one (a password-setting link
    /// that lasts as long as an invitation), mailed in an invitation when this process sends mail.
    async fn invite_imported(&self, user: &User, org_name: &str) -> Result<(String, bool)> {
        let token = self
            .new_account_token(user, AccountTokenPurpose::PasswordReset, INVITATION_LIFETIME)
            .await?
            .ok_or_else(|| ServiceError::Internal("no link could be made for a new person".into()))?;
        let link = format!("{}/password/reset/{token}", self.issuer());
        let envelope = Envelope { lang: Lang::En, brand: self.brand_name(), to: &user.email, link: &link };
        let letter = Letter::invitation(&envelope, user.id.as_str(), org_name, user.role.as_str(), None)?;
        let mailed = self.outbox.post(letter);
        Ok((link, mailed))
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_person(
        &self,
        p: &ExportPerson,
        record: &str,
        orgs: &HashMap<String, Org>,
        now: i64,
        problems: &mut Problems,
        tally: &mut Tally,
        batch: &mut ImportBatch,
        members: &mut HashMap<String, User>,
        emails: &mut BTreeSet<String>,
    ) -> Result<()> {
        if !well_formed_id(&p.id) {
            problems.add(record, "id", bad_id());
            return Ok(());
        }
        let email = match broken_rule(validate_email(&p.email))? {
            Ok(email) => email,
            Err(why) => {
                problems.add(record, "email", why);
                return Ok(());
            }
        };
        if !emails.insert(email.to_lowercase()) {
            problems.add(record, "email", twice());
        }
        let person_id = PersonId::new(&p.id);
        let existing = self.store().memberships(&person_id).await?;
        if let Some(owner) = self.store().user_by_email(&email).await?.filter(|u| u.person_id != person_id) {
            problems.add(
                record,
                "email",
                message!("import-email-taken", "is the email of another person ({person})", person = owner.person_id.as_str()),
            );
        }
        let password_hash = match broken_rule(p.password_hash.clone().map(brought_hash).transpose())? {
            Ok(hash) => hash,
            Err(why) => {
                problems.add(record, "password_hash", why);
                None
            }
        };
        if p.memberships.is_empty() {
            problems.add(record, "memberships", message!("import-no-membership", "a person needs at least one membership"));
        }
        // A person already in the store keeps their password: the file's hash is how they signed
        // in at the old vendor, and once they sign in here it is replaced by an Argon2id one,
        // which importing the file again must not undo (`user set-password` changes it).
        let password_hash = if existing.is_empty() { password_hash } else { None };
        let was = existing.first().map(|(user, _)| (user.email.clone(), user.email_verified_at));
        let same_person = was.as_ref().map(|(was_email, was_verified)| {
            *was_email == email && (p.email_verified_at.is_none() || p.email_verified_at == *was_verified)
        });
        tally.note("people", &p.id, same_person);
        batch.people.push(ImportedPerson {
            id: person_id.clone(),
            email: email.clone(),
            password_hash,
            email_verified_at: p.email_verified_at,
            created_at: now,
        });
        for (j, m) in p.memberships.iter().enumerate() {
            let member_record = format!("{record}.memberships[{j}] ({})", m.id);
            if let Some(user) = self.import_membership(m, &member_record, &person_id, &email, orgs, now, problems, tally).await? {
                if members.insert(m.id.clone(), user.clone()).is_some() {
                    problems.add(&member_record, "id", twice());
                }
                batch.memberships.push(user);
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_membership(
        &self,
        m: &ExportMembership,
        record: &str,
        person: &PersonId,
        email: &str,
        orgs: &HashMap<String, Org>,
        now: i64,
        problems: &mut Problems,
        tally: &mut Tally,
    ) -> Result<Option<User>> {
        if !well_formed_id(&m.id) {
            problems.add(record, "id", bad_id());
            return Ok(None);
        }
        let Some(role) = Role::parse(&m.role) else {
            problems.add(record, "role", message!("import-role-unknown", "{role:?} is not owner, admin or member", role = &m.role));
            return Ok(None);
        };
        let org = match orgs.get(&m.organization) {
            Some(org) => org.id.clone(),
            None => match self.store().find_org(&m.organization).await?.filter(|o| o.id.as_str() == m.organization) {
                Some(org) => org.id,
                None => {
                    problems.add(record, "organization", no_org(&m.organization));
                    return Ok(None);
                }
            },
        };
        let existing = self.store().user(&UserId::new(&m.id)).await?;
        if let Some(existing) = &existing
            && (existing.org_id != org || existing.person_id != *person)
        {
            problems.add(
                record,
                "id",
                message!("import-membership-elsewhere", "is a membership of another person or organization in the store"),
            );
            return Ok(None);
        }
        let user = User {
            id: UserId::new(&m.id),
            org_id: org,
            person_id: person.clone(),
            email: email.to_owned(),
            role,
            service: m.service,
            authorize_applications: m.authorize_applications,
            disabled: m.disabled,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            tokens_not_before: existing.as_ref().and_then(|e| e.tokens_not_before),
            email_verified_at: existing.as_ref().and_then(|e| e.email_verified_at),
        };
        let same = existing
            .as_ref()
            .map(|e| (e.role, e.service, e.authorize_applications, e.disabled) == (role, m.service, m.authorize_applications, m.disabled));
        tally.note("memberships", &m.id, same);
        Ok(Some(user))
    }

    /// One client of the file: its registration checked by the rules of `client create`, its id
    /// and (when given) its secret kept. `Some((record, secret made))`, or `None` with problems.
    async fn import_client(
        &self,
        c: &ExportClient,
        record: &str,
        context: &ClientContext<'_>,
        problems: &mut Problems,
        tally: &mut Tally,
    ) -> Result<Option<((ClientRecord, bool), Option<String>)>> {
        let before = problems.0.len();
        if !ClientId::is_well_formed(&c.id) {
            problems.add(record, "id", message!("import-client-id-bad", "must be 1 to 128 of [A-Za-z0-9._~-]"));
        }
        let existing = match ClientId::is_well_formed(&c.id) {
            true => self.store().client(&ClientId::new(&c.id)).await?,
            false => None,
        };
        let org = match context.orgs.get(&c.organization) {
            Some(org) => Some(org.id.clone()),
            None => self.store().find_org(&c.organization).await?.filter(|o| o.id.as_str() == c.organization).map(|o| o.id),
        };
        let Some(org) = org else {
            problems.add(record, "organization", no_org(&c.organization));
            return Ok(None);
        };
        if existing.as_ref().is_some_and(|e| e.client.org_id != org) {
            problems.add(record, "id", message!("import-client-elsewhere", "is a client of another organization in the store"));
        }
        let owner = self.import_member(context, &c.owner, &org).await?;
        let run_as = self.import_member(context, &c.run_as, &org).await?;
        for (field, id, found) in [("owner", &c.owner, owner.is_some()), ("run_as", &c.run_as, run_as.is_some())] {
            if !found {
                problems.add(
                    record,
                    field,
                    message!("import-member-unknown", "no membership {id:?} of this organization in the file or the store", id = id),
                );
            }
        }
        let (Some(owner), Some(run_as)) = (owner, run_as) else { return Ok(None) };
        let name = broken_rule(validate_name(Named::Client, &c.name))?.map_err(|why| problems.add(record, "name", why)).ok();
        let grants = broken_rule(parse_grants(&c.grants))?.map_err(|why| problems.add(record, "grants", why)).ok();
        let scopes = broken_rule(parse_scopes(&c.scopes))?.map_err(|why| problems.add(record, "scopes", why)).ok();
        let origins: Option<Vec<String>> = broken_rule(c.allowed_origins.iter().map(|o| validate_origin(o)).collect::<Result<_>>())?
            .map_err(|why| problems.add(record, "allowed_origins", why))
            .ok();
        let ips = broken_rule(c.allowed_ips.iter().map(|ip| parse_network(ip)).collect::<Result<Vec<_>>>())?
            .map_err(|why| problems.add(record, "allowed_ips", why))
            .ok();
        let jwks = c.jwks.as_ref().map(ToString::to_string);
        let keys = client_keys(jwks.as_deref(), c.jwks_uri.as_deref()).map_err(|(field, why)| problems.add(record, field, why)).ok();
        let auth_method = TokenEndpointAuthMethod::parse(&c.token_endpoint_auth_method);
        if auth_method.is_none() {
            problems.add(
                record,
                "token_endpoint_auth_method",
                message!("import-auth-method-unknown", "unknown method {method:?}", method = &c.token_endpoint_auth_method),
            );
        }
        let pkce = Pkce::parse(&c.pkce);
        if pkce.is_none() {
            problems.add(record, "pkce", message!("import-pkce-unknown", "{pkce:?} is not required or optional", pkce = &c.pkce));
        }
        let status = ClientStatus::parse(&c.status);
        if status.is_none() {
            problems.add(record, "status", message!("import-status-unknown", "{status:?} is not on or off", status = &c.status));
        }
        let (Some(name), Some(grants), Some(scopes), Some(origins), Some(ips), Some(keys), Some(auth_method), Some(pkce), Some(status)) =
            (name, grants, scopes, origins, ips, keys, auth_method, pkce, status)
        else {
            return Ok(None);
        };
        let catalogue = match context.catalogues.get(&c.organization) {
            Some(catalogue) => catalogue.clone(),
            None => self.store().scopes(&org).await?,
        };
        for problem in client_rules::registration_problems(&Registration {
            owner: &owner,
            run_as: &run_as,
            grants: &grants,
            scopes: &scopes,
            redirect_uris: &c.redirect_uris,
            allowed_origins: &origins,
            allowed_ips: &c.allowed_ips,
            public: c.public,
            pkce,
            auth_method,
            keys: keys.as_ref(),
            access_token_ttl: c.access_token_ttl,
            catalogue: &catalogue,
            resources: &c.resources,
        }) {
            problems.add(record, problem.field, problem.message);
        }
        if c.client_secret.is_some() && !auth_method.uses_secret() {
            problems.add(
                record,
                "client_secret",
                message!(
                    "client-method-has-no-secret",
                    "a client authenticating with {method} has no secret",
                    method = auth_method.as_str()
                ),
            );
        }
        if let Some(secret) = &c.client_secret
            && (secret.len() > 512 || secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()))
        {
            problems.add(record, "client_secret", message!("import-secret-bad", "must be 1 to 512 printable ASCII characters"));
        }
        if problems.0.len() > before {
            return Ok(None);
        }
        let id = ClientId::new(&c.id);
        let client = Client {
            id: id.clone(),
            org_id: org,
            name,
            owner: owner.id.clone(),
            run_as: run_as.id.clone(),
            grants: grants.into_iter().collect(),
            scopes,
            redirect_uris: c.redirect_uris.clone(),
            allowed_origins: origins,
            allowed_ips: ips,
            public: c.public,
            pkce,
            auth_method,
            keys,
            access_token_ttl: c.access_token_ttl,
            requires_org_approval: c.requires_org_approval,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            resources: c.resources.clone(),
            status,
            created_at: existing.as_ref().map_or(context.now, |e| e.client.created_at),
            tokens_not_before: existing.as_ref().and_then(|e| e.client.tokens_not_before),
        };
        // The secret: the file's (kept as the client knows it), else the stored one, else a new one.
        let (material, made) = match (&c.client_secret, &existing) {
            (Some(secret), Some(e)) if e.secret.as_ref().is_some_and(|m| self.secrets.secret_matches(secret, &m.tag)) => (None, None),
            (Some(secret), _) => (Some(self.secret_material(&id, secret)?), None),
            (None, Some(_)) => (None, None),
            (None, None) if auth_method.uses_secret() => {
                let (secret, material) = self.new_secret(&id)?;
                (Some(material), Some(secret))
            }
            (None, None) => (None, None),
        };
        let same = existing.as_ref().map(|e| {
            let mut stored = e.client.clone();
            stored.allowed_ips.sort_by_key(ToString::to_string);
            let mut given = client.clone();
            given.allowed_ips.sort_by_key(ToString::to_string);
            stored == given && material.is_none()
        });
        tally.note("clients", &c.id, same);
        let is_new = existing.is_none();
        Ok(Some(((ClientRecord { client, secret: material, previous_secret: None }, is_new), made)))
    }
}

impl Tessera {
    /// The membership `id` of organization `org`: the file's, else the store's.
    async fn import_member(&self, context: &ClientContext<'_>, id: &str, org: &OrgId) -> Result<Option<User>> {
        let user = match context.members.get(id) {
            Some(user) => Some(user.clone()),
            None => self.store().user(&UserId::new(id)).await?,
        };
        Ok(user.filter(|u| u.org_id == *org))
    }
}

/// What a client of the file is checked against: the file's organizations, their catalogues and
/// memberships (the store's for those not in the file).
struct ClientContext<'a> {
    orgs: &'a HashMap<String, Org>,
    catalogues: &'a HashMap<String, Vec<ScopeDef>>,
    members: &'a HashMap<String, User>,
    now: i64,
}
