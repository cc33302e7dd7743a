//! The desk directory: the one-stop desks by the unit they serve, read from the agencies and
//! kept for a while. Every filing is routed by it instead of by a lookup in `agencies` inside the
//! filing's statement, which was a tenth of PostgreSQL's work per filing (plan set-up and scans
//! of two tables, measured with `perf` on the submission benchmark). Agencies are reference data:
//! the seed writes them and [`Store::forget_desks`] makes its change count at once; a change made
//! outside motcua reaches filings within [`DESK_DIRECTORY_TTL`].

use crate::backend::on_pool;
use crate::{Store, StoreError};
use motcua_core::catalogue::Level;
use motcua_core::dossier::{receiving_desk, Desk, DeskDirectory};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const SELECT_AGENCIES_BY_KIND: &str = "SELECT a.code, a.admin_unit_code, u.kind \
     FROM agencies a \
     JOIN admin_units u ON u.code = a.admin_unit_code \
     WHERE a.kind = 'one_stop_desk'";

/// How long a directory read from the database is used before it is read again.
pub const DESK_DIRECTORY_TTL: Duration = Duration::from_secs(60);

/// The directory in use and when it was read; empty until the first filing.
#[derive(Default)]
pub(crate) struct DeskCache(RwLock<Option<(Instant, Arc<DeskDirectory>)>>);

impl Store {
    /// The desk directory, read again when older than [`DESK_DIRECTORY_TTL`]. A directory without
    /// any desk (a store not yet seeded) is not kept, so the first desks count at once.
    pub(crate) async fn desk_directory(&self) -> Result<Arc<DeskDirectory>, StoreError> {
        let kept = self.desks.0.read().ok().and_then(|slot| slot.clone());
        if let Some((read_at, dir)) = kept {
            if read_at.elapsed() < DESK_DIRECTORY_TTL {
                return Ok(dir);
            }
        }
        let sql = SELECT_AGENCIES_BY_KIND;
        let rows: Vec<(String, String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql).fetch_all(p).await)?;
        let any = !rows.is_empty();
        let dir = Arc::new(DeskDirectory::new(rows.into_iter().map(
            |(code, unit, kind)| Desk {
                code,
                unit,
                provincial: kind == "province",
            },
        )));
        if any {
            if let Ok(mut slot) = self.desks.0.write() {
                *slot = Some((Instant::now(), dir.clone()));
            }
        }
        Ok(dir)
    }

    /// Drops the kept directory, after this process changed the agencies.
    pub(crate) fn forget_desks(&self) {
        if let Ok(mut slot) = self.desks.0.write() {
            *slot = None;
        }
    }

    /// The desk that receives a dossier of a procedure implemented at `levels`, filed for
    /// `commune` (see [`receiving_desk`]).
    pub(crate) async fn desk_for(
        &self,
        levels: &[Level],
        commune: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let dir = self.desk_directory().await?;
        Ok(dir
            .desk(&receiving_desk(levels, commune))
            .map(str::to_owned))
    }
}
