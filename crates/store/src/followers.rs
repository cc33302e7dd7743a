//! Zalo followers of dossiers: the follow code an applicant sends to the Official Account, and the
//! Zalo ids that receive a dossier's notices (see `motcua_core::delivery::follow`).

use crate::backend::{on_pool, BeginWrite};
use crate::{Store, StoreError};
use motcua_core::delivery::follow;
use rand::RngCore;
use time::{Duration, OffsetDateTime};

/// How long a follow code can be used.
pub const FOLLOW_CODE_LIFETIME: Duration = Duration::days(7);

/// Zalo followers one dossier may have: each notice is a paid message to each of them, so a code
/// passed around widely must not multiply them.
pub const MAX_FOLLOWERS: i64 = 5;

/// A dossier a Zalo user now follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The dossier's id.
    pub dossier_id: String,
    /// Its code, for the confirmation.
    pub dossier_code: String,
}

/// What came of a follow code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// The sender follows the dossier now (or already did).
    Followed(Followed),
    /// The dossier has its [`MAX_FOLLOWERS`] already.
    Full(Followed),
    /// No live code is that.
    Unknown,
}

impl Store {
    /// The live follow code of a dossier, made (or renewed, once expired) now if there is none.
    pub async fn follow_code(
        &self,
        dossier_id: &str,
    ) -> Result<(String, OffsetDateTime), StoreError> {
        const LIVE: &str =
            "SELECT code, expires_at FROM follow_codes WHERE dossier_id = $1 AND expires_at > $2";
        // A collision of two random codes is rare enough to answer with a retry of the page.
        const PUT: &str = "INSERT INTO follow_codes (code, dossier_id, created_at, expires_at) \
            VALUES ($1, $2, $3, $4) ON CONFLICT (dossier_id) DO UPDATE \
            SET code = $1, created_at = $3, expires_at = $4 \
            WHERE follow_codes.expires_at <= $3";
        let now = OffsetDateTime::now_utc();
        let mut bytes = [0_u8; follow::LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let fresh = follow::code_from(bytes);
        on_pool!(self.backend(), |p| {
            let mut tx = p.begin_write().await?;
            let live: Option<(String, OffsetDateTime)> = sqlx::query_as(LIVE)
                .bind(dossier_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if live.is_none() {
                sqlx::query(PUT)
                    .bind(&fresh)
                    .bind(dossier_id)
                    .bind(now)
                    .bind(now + FOLLOW_CODE_LIFETIME)
                    .execute(&mut *tx)
                    .await?;
            }
            // Read back: a parallel request may have put its own code first.
            let answer: (String, OffsetDateTime) = sqlx::query_as(LIVE)
                .bind(dossier_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(answer)
        })
    }

    /// Links the Zalo user `zalo_user_id` to the dossier whose live follow code is `code`, unless
    /// it has its [`MAX_FOLLOWERS`] already.
    pub async fn follow_with_code(
        &self,
        code: &str,
        zalo_user_id: &str,
    ) -> Result<Follow, StoreError> {
        // The code's row is locked on PostgreSQL so that follows of one dossier count one after
        // the other (SQLite has one writer): the cap holds under concurrent events.
        let find = format!(
            "SELECT d.id, COALESCE(d.code, '') FROM follow_codes f \
             JOIN dossiers d ON d.id = f.dossier_id WHERE f.code = $1 AND f.expires_at > $2{}",
            match self.backend() {
                crate::Backend::Postgres(_) => " FOR UPDATE OF f",
                crate::Backend::Sqlite(_) => "",
            }
        );
        const LINK: &str = "INSERT INTO dossier_followers (dossier_id, zalo_user_id, since) \
            SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM dossier_followers \
            WHERE dossier_id = $1 AND zalo_user_id <> $2) < $4 \
            ON CONFLICT (dossier_id, zalo_user_id) DO NOTHING";
        const ALREADY: &str =
            "SELECT COUNT(*) FROM dossier_followers WHERE dossier_id = $1 AND zalo_user_id = $2";
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |p| {
            let mut tx = p.begin_write().await?;
            let found: Option<(String, String)> = sqlx::query_as(&find)
                .bind(code)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((dossier_id, dossier_code)) = found else {
                return Ok(Follow::Unknown);
            };
            sqlx::query(LINK)
                .bind(&dossier_id)
                .bind(zalo_user_id)
                .bind(now)
                .bind(MAX_FOLLOWERS)
                .execute(&mut *tx)
                .await?;
            let follows: i64 = sqlx::query_scalar(ALREADY)
                .bind(&dossier_id)
                .bind(zalo_user_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            let f = Followed {
                dossier_id,
                dossier_code,
            };
            Ok(if follows > 0 {
                Follow::Followed(f)
            } else {
                Follow::Full(f)
            })
        })
    }

    /// Stops every dossier's notices to `zalo_user_id` (they unfollowed the OA, or asked to stop);
    /// how many dossiers they followed.
    pub async fn unfollow_dossiers(&self, zalo_user_id: &str) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM dossier_followers WHERE zalo_user_id = $1";
        Ok(on_pool!(self.backend(), |p| sqlx::query(SQL)
            .bind(zalo_user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// Stops the notices of one dossier to all its Zalo followers (its applicant asked).
    pub async fn unfollow_dossier(&self, dossier_id: &str) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM dossier_followers WHERE dossier_id = $1";
        Ok(on_pool!(self.backend(), |p| sqlx::query(SQL)
            .bind(dossier_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// How many Zalo users follow a dossier.
    pub async fn dossier_followers(&self, dossier_id: &str) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM dossier_followers WHERE dossier_id = $1";
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(SQL)
            .bind(dossier_id)
            .fetch_one(p)
            .await)?)
    }
}
