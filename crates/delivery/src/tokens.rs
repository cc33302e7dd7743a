//! The Zalo OA's tokens kept in the store, shared by every node: a renewal replaces the pair only
//! if the refresh token it spent is still the stored one.

use motcua_gateways::zalo::{TokenStore, Tokens};
use motcua_store::Store;
use std::sync::Arc;

/// [`TokenStore`] on the store's `provider_tokens` table.
#[derive(Clone)]
pub struct StoreTokens {
    /// The store.
    pub store: Arc<Store>,
    /// The row's key.
    pub provider: &'static str,
}

impl TokenStore for StoreTokens {
    async fn load(&self) -> Result<Option<Tokens>, String> {
        let row = self
            .store
            .provider_tokens(self.provider)
            .await
            .map_err(|e| e.to_string())?;
        Ok(row.map(|(access_token, refresh_token, expires_at)| Tokens {
            access_token,
            refresh_token,
            expires_at,
        }))
    }

    async fn replace(&self, spent: &str, new: &Tokens) -> Result<bool, String> {
        self.store
            .replace_provider_tokens(
                self.provider,
                Some(spent),
                &new.access_token,
                &new.refresh_token,
                new.expires_at,
            )
            .await
            .map_err(|e| e.to_string())
    }
}
