//! When each client was last used (SPEC §16: a client's page shows it): marked when a client
//! authenticates, to the minute, and written by housekeeping in one batch.
//!
//! The request path only reads the cached client's own mark (a shared read, no write) unless a
//! minute has passed since; then it writes that mark and notes the client in a small map under
//! a lock taken at most once a minute per client. Nothing is written to the store on a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use tessera_core::model::ClientId;

use crate::cache::CachedClient;
use crate::{Result, Tessera};

/// How fine the last-used time is: a client is marked at most once per this many seconds per
/// process.
pub const RESOLUTION: i64 = 60;

#[derive(Default)]
pub(crate) struct Usage {
    pending: Mutex<HashMap<ClientId, i64>>,
}

impl Usage {
    pub(crate) fn note(&self, client: &CachedClient, now: i64) {
        if now - client.used_mark.load(Ordering::Relaxed) < RESOLUTION {
            return;
        }
        client.used_mark.store(now, Ordering::Relaxed);
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(client.client.id.clone(), now);
        }
    }

    fn take(&self) -> Vec<(ClientId, i64)> {
        self.pending.lock().map(|mut pending| pending.drain().collect()).unwrap_or_default()
    }
}

impl Tessera {
    /// Writes the marks noted since the last time (housekeeping, every 30 s).
    pub(crate) async fn write_usage(&self) -> Result<()> {
        let marks = self.usage.take();
        self.store.mark_clients_used(&marks).await?;
        Ok(())
    }

    /// When client `id` last authenticated, to the minute (the marks of this process not yet
    /// written included).
    pub(crate) async fn last_used(&self, id: &ClientId) -> Result<Option<i64>> {
        let noted = self.usage.pending.lock().ok().and_then(|pending| pending.get(id).copied());
        let stored = self.store.client_last_used(id).await?;
        Ok(noted.max(stored))
    }
}
