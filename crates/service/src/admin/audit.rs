//! Reading the audit log, filtered, within what the actor may see.

use tessera_core::access;
use tessera_proto::AuditView;
use tessera_store::AuditQuery;

use super::{Actor, denied};
use crate::Tessera;
use crate::error::Result;

/// Which audit entries to list. Dates are Unix seconds; `actor` is a user's id or email, or
/// an operator label such as `cli`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub org: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

impl Tessera {
    /// The audit log, newest first. Users read their own organization's log, if they run it.
    pub async fn audit_log(&self, actor: &Actor, filter: AuditFilter) -> Result<Vec<AuditView>> {
        let org = match (filter.org.as_deref(), actor.as_user()) {
            (Some(org), _) => Some(self.org(org).await?.id),
            (None, Some(user)) => Some(user.org_id.clone()),
            (None, None) => None,
        };
        if let Some(org) = &org {
            access::administer_org(actor.caller(), org).map_err(denied("organization"))?;
        }
        // An actor given by email is recorded by user id.
        let actor_label = match filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(who) if who.contains('@') => {
                // The membership in the log's organization; without one, the person's.
                let member = match &org {
                    Some(org) => self.store().member_by_email(org, who).await?,
                    None => self.store().user_by_email(who).await?,
                };
                Some(member.map_or_else(|| who.to_owned(), |u| u.id.to_string()))
            }
            other => other.map(str::to_owned),
        };
        let nonempty = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let query = AuditQuery {
            org,
            actor: actor_label,
            action: nonempty(filter.action),
            target: nonempty(filter.target),
            since: filter.since,
            until: filter.until,
            before: filter.before,
            limit: filter.limit.clamp(1, 1000),
        };
        let records = self.store().audit_log(&query).await?;
        Ok(records
            .into_iter()
            .map(|r| AuditView {
                id: r.id,
                at: r.at,
                org_id: r.org_id,
                actor: r.actor,
                action: r.action,
                target: r.target,
                ip: r.ip,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}
