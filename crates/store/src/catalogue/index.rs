//! The catalogue as the search engine sees it: current procedures, their agencies' names and the
//! in-memory index. Every node builds its own from the store and rebuilds it when the catalogue
//! revision changes.

use super::StoredProcedure;
use crate::{Store, StoreError};
use motcua_core::catalogue::search::{Document, Facets, Query, Results, SearchIndex, Segment};
use std::collections::HashMap;

/// A searchable snapshot of the catalogue.
#[derive(Debug, Default)]
pub struct CatalogueIndex {
    /// The catalogue revision this snapshot reflects.
    pub revision: i64,
    /// Current procedures, in index order.
    pub procedures: Vec<StoredProcedure>,
    /// Agency names by code.
    pub agency_names: HashMap<String, String>,
    index: SearchIndex,
}

impl CatalogueIndex {
    /// The name of the agency `code`, or the code itself when the snapshot does not know it
    /// (an agency added in the last seconds): a page never shows an empty name.
    pub fn agency_name(&self, code: &str) -> String {
        self.agency_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    /// Builds the index over `procedures`.
    pub fn build(
        revision: i64,
        procedures: Vec<StoredProcedure>,
        agency_names: HashMap<String, String>,
    ) -> Self {
        let docs: Vec<Document> = procedures
            .iter()
            .map(|s| {
                let p = &s.procedure;
                let agency = agency_names
                    .get(&p.agency_code)
                    .cloned()
                    .unwrap_or_default();
                Document {
                    name: p.name.clone(),
                    other: [
                        vec![
                            p.code.clone(),
                            p.field.clone(),
                            agency,
                            p.result.clone(),
                            p.applicants.clone(),
                        ],
                        p.legal_basis.clone(),
                    ]
                    .concat(),
                    facets: Facets {
                        field: p.field.clone(),
                        agency: p.agency_code.clone(),
                        levels: p.levels.clone(),
                        mode: p.online_mode,
                    },
                }
            })
            .collect();
        CatalogueIndex {
            revision,
            index: SearchIndex::build(&docs),
            procedures,
            agency_names,
        }
    }

    /// Runs a query.
    pub fn search(&self, q: &Query<'_>) -> Results {
        self.index.search(q)
    }

    /// The name of the `doc`-th procedure with the words that matched marked.
    pub fn highlight_name(&self, doc: usize, results: &Results) -> Vec<Segment> {
        self.index.highlight_name(doc, results)
    }

    /// Distinct fields with their procedure counts, by name.
    pub fn fields(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for p in &self.procedures {
            *counts.entry(p.procedure.field.as_str()).or_default() += 1;
        }
        let mut out: Vec<(String, usize)> =
            counts.into_iter().map(|(f, n)| (f.to_owned(), n)).collect();
        out.sort();
        out
    }

    /// Agencies that have procedures, with their names, by name.
    pub fn agencies(&self) -> Vec<(String, String)> {
        let mut codes: Vec<&str> = self
            .procedures
            .iter()
            .map(|p| p.procedure.agency_code.as_str())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let mut out: Vec<(String, String)> = codes
            .into_iter()
            .map(|c| {
                (
                    c.to_owned(),
                    self.agency_names
                        .get(c)
                        .cloned()
                        .unwrap_or_else(|| c.to_owned()),
                )
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }

    /// The procedure with this code at this agency.
    pub fn find(&self, agency: &str, code: &str) -> Option<&StoredProcedure> {
        self.procedures
            .iter()
            .find(|p| p.procedure.code == code && p.procedure.agency_code == agency)
    }
}

impl Store {
    /// Builds a search snapshot of the current catalogue.
    pub async fn catalogue_index(&self) -> Result<CatalogueIndex, StoreError> {
        let revision = self.catalogue_revision().await?;
        let procedures = self.procedures().await?;
        let agency_names = self
            .agencies()
            .await?
            .into_iter()
            .map(|a| (a.code, a.name))
            .collect();
        Ok(CatalogueIndex::build(revision, procedures, agency_names))
    }
}
