//! `tessera export` (SPEC §13): the organizations, their scopes, people and clients in the
//! documented file format (`docs/migration.md`), for moving to another Tessera or keeping a
//! readable copy. Secrets (password hashes, client secrets) only when the operator asks.

use std::collections::BTreeMap;

use tessera_core::model::{ClientKeys, PersonId, User};
use tessera_proto::{EXPORT_FORMAT, ExportClient, ExportFile, ExportMembership, ExportOrganization, ExportPerson, ExportScope};
use tessera_store::ClientRecord;

use super::{Actor, operator_only};
use crate::Tessera;
use crate::error::Result;
use crate::session_api::{session_client_id, session_owner_id};

impl Tessera {
    /// Everything of `org` (or of every organization), in the export format. The built-in
    /// session-API client of each organization and its service owner are left out: they are
    /// made again on first use.
    pub async fn export(&self, actor: &Actor, org: Option<&str>, include_secrets: bool) -> Result<ExportFile> {
        operator_only(actor)?;
        let orgs = match org {
            Some(org) => vec![self.org(org).await?],
            None => self.store().orgs().await?,
        };
        let mut organizations = Vec::with_capacity(orgs.len());
        let mut people: BTreeMap<PersonId, ExportPerson> = BTreeMap::new();
        let mut clients = Vec::new();
        for org in &orgs {
            let scopes = self.store().scopes(&org.id).await?;
            organizations.push(ExportOrganization {
                id: org.id.to_string(),
                name: org.name.clone(),
                require_mfa: org.require_mfa,
                scopes: scopes.into_iter().map(|s| ExportScope { name: s.name, restricted: s.restricted }).collect(),
            });
            for user in self.store().users(&org.id).await? {
                if user.id == session_owner_id(&org.id) {
                    continue;
                }
                let person = match people.get_mut(&user.person_id) {
                    Some(person) => person,
                    None => {
                        let person = self.export_person(&user, include_secrets).await?;
                        people.entry(user.person_id.clone()).or_insert(person)
                    }
                };
                person.memberships.push(membership(&user));
            }
            for record in self.store().clients(Some(&org.id)).await? {
                if record.client.id == session_client_id(&org.id) {
                    continue;
                }
                clients.push(self.export_client(&record, include_secrets)?);
            }
        }
        Ok(ExportFile {
            format: EXPORT_FORMAT.to_owned(),
            exported_at: self.clock.now(),
            organizations,
            people: people.into_values().collect(),
            clients,
        })
    }

    async fn export_person(&self, user: &User, include_secrets: bool) -> Result<ExportPerson> {
        let password_hash = match include_secrets && !user.service {
            true => self.store().user_credentials(&user.email).await?.and_then(|(_, hash)| hash),
            false => None,
        };
        Ok(ExportPerson {
            id: user.person_id.to_string(),
            email: user.email.clone(),
            email_verified_at: user.email_verified_at,
            password_hash,
            memberships: Vec::new(),
        })
    }

    fn export_client(&self, record: &ClientRecord, include_secrets: bool) -> Result<ExportClient> {
        let client = &record.client;
        let client_secret = match (&record.secret, include_secrets) {
            (Some(material), true) => Some(self.open_client_secret(&client.id, material)?),
            _ => None,
        };
        Ok(ExportClient {
            id: client.id.to_string(),
            organization: client.org_id.to_string(),
            name: client.name.clone(),
            owner: client.owner.to_string(),
            run_as: client.run_as.to_string(),
            status: client.status.as_str().to_owned(),
            public: client.public,
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            grants: client.grants.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: client.scopes.iter().map(str::to_owned).collect(),
            redirect_uris: client.redirect_uris.clone(),
            allowed_origins: client.allowed_origins.clone(),
            allowed_ips: client.allowed_ips.iter().map(ToString::to_string).collect(),
            pkce: client.pkce.as_str().to_owned(),
            access_token_ttl: client.access_token_ttl,
            requires_org_approval: client.requires_org_approval,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            resources: client.resources.clone(),
            jwks: ClientKeys::jwks(client.keys.as_ref()).and_then(|jwks| serde_json::from_str(jwks).ok()),
            jwks_uri: ClientKeys::jwks_uri(client.keys.as_ref()).map(str::to_owned),
            client_secret,
        })
    }
}

fn membership(user: &User) -> ExportMembership {
    ExportMembership {
        id: user.id.to_string(),
        organization: user.org_id.to_string(),
        role: user.role.as_str().to_owned(),
        service: user.service,
        authorize_applications: user.authorize_applications,
        disabled: user.disabled,
    }
}
