//! Page view models: one `#[derive(Template)]` struct per page. Every text a citizen reads lives
//! in the templates, so a translation is a second template set, not a code change.

use askama::Template;
use motcua_store::AgencyRow;

/// What the shared layout needs on every page.
pub(crate) struct Layout {
    pub title: String,
    pub province: String,
    pub demo: bool,
}

impl Layout {
    pub(crate) fn new(site: &crate::Site, title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            province: site.province_name.clone(),
            demo: site.demo,
        }
    }

    /// For error pages rendered where the site facts are out of reach.
    pub(crate) fn plain(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            province: String::new(),
            demo: false,
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub layout: Layout,
    pub communes: i64,
    pub wards: i64,
    pub agencies: i64,
}

#[derive(Template)]
#[template(path = "agencies.html")]
pub(crate) struct AgenciesPage {
    pub layout: Layout,
    pub provincial: Vec<AgencyRow>,
    pub commune_level: Vec<AgencyRow>,
    pub merged: Vec<AgencyRow>,
}

pub(crate) struct UnitView {
    pub code: String,
    pub name: String,
    pub valid_until: String,
}

#[derive(Template)]
#[template(path = "admin_units.html")]
pub(crate) struct AdminUnitsPage {
    pub layout: Layout,
    pub current: Vec<UnitView>,
    pub former: Vec<UnitView>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub layout: Layout,
    pub title: &'static str,
    pub message: &'static str,
}
