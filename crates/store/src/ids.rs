//! Ids of the rows written most (dossiers, their files, events' neighbours, notifications,
//! outbox messages, uploads): time-ordered UUIDs (version 7). A random id puts each new row on a
//! random page of its primary-key index, so every filing dirtied pages no other filing shared and
//! wrote them all to the log; a time-ordered one appends next to the previous row. These ids are
//! not secrets (every object is authorised on the server); secrets come from `accounts`.

/// A new time-ordered row id.
pub(crate) fn row_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let ids: Vec<String> = (0..1000).map(|_| super::row_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
    }
}
