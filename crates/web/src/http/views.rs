//! Page view models: one `#[derive(Template)]` struct per page. Every text a citizen reads lives
//! in the templates, so a translation is a second template set, not a code change.

use askama::Template;
use motcua_store::AgencyRow;

/// What the shared layout needs on every page.
pub(crate) struct Layout {
    pub title: String,
    pub province: String,
    pub demo: bool,
    /// The signed-in person's name.
    pub user: Option<String>,
    /// Whether they may manage officials.
    pub admin: bool,
    /// Whether they file dossiers (the "Hồ sơ của tôi" link).
    pub applicant: bool,
    /// Whether they work at a one-stop desk.
    pub office: bool,
    /// Whether they examine or approve dossiers (the work queues).
    pub work: bool,
    /// Whether they follow or report on the communication plan.
    pub plans: bool,
    /// May watch deliveries.
    pub delivery: bool,
    /// The CSRF token every form carries.
    pub csrf: String,
}

impl Layout {
    /// For error pages rendered where the request context is out of reach.
    pub(crate) fn plain(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            province: String::new(),
            demo: false,
            user: None,
            admin: false,
            applicant: false,
            office: false,
            work: false,
            plans: false,
            delivery: false,
            csrf: String::new(),
        }
    }
}

/// The request context of a page: the app, who is asking, their CSRF token and address.
pub(crate) struct Ctx {
    pub state: crate::http::state::AppState,
    pub user: Option<crate::http::auth::CurrentUser>,
    pub csrf: String,
    pub ip: String,
}

impl axum::extract::FromRequestParts<crate::http::state::AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::http::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            state: state.clone(),
            user: parts
                .extensions
                .get::<crate::http::auth::CurrentUser>()
                .cloned(),
            csrf: parts
                .extensions
                .get::<crate::http::auth::CsrfToken>()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            ip: parts
                .extensions
                .get::<crate::http::auth::ClientIp>()
                .map_or_else(|| "-".to_owned(), |c| c.0.clone()),
        })
    }
}

impl Ctx {
    /// The layout of a page titled `title`.
    pub(crate) fn layout(&self, title: impl Into<String>) -> Layout {
        let account = self.user.as_ref().map(|u| &u.account);
        Layout {
            title: title.into(),
            province: self.state.site.province_name.clone(),
            demo: self.state.site.demo,
            user: account.map(|a| a.display_name.clone()),
            admin: account.is_some_and(|a| {
                a.can(motcua_core::accounts::Permission::ManageOfficials)
                    || a.can(motcua_core::accounts::Permission::ReadSecurityLog)
                    || a.can(motcua_core::accounts::Permission::MonitorDelivery)
            }),
            applicant: account
                .is_some_and(|a| a.can(motcua_core::accounts::Permission::SubmitDossiers)),
            office: account
                .is_some_and(|a| a.can(motcua_core::accounts::Permission::ReceiveDossiers)),
            work: account
                .is_some_and(|a| a.can(motcua_core::accounts::Permission::ExamineDossiers)),
            plans: account
                .is_some_and(|a| a.can(motcua_core::accounts::Permission::ReportPlanProgress)),
            delivery: account
                .is_some_and(|a| a.can(motcua_core::accounts::Permission::MonitorDelivery)),
            csrf: self.csrf.clone(),
        }
    }

    /// The signed-in account; routes that need one are guarded by `authorize`.
    pub(crate) fn account(
        &self,
    ) -> Result<&motcua_store::accounts::Account, crate::http::error::WebError> {
        self.user
            .as_ref()
            .map(|u| &u.account)
            .ok_or(crate::http::error::WebError::Forbidden)
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub layout: Layout,
    pub procedures: usize,
    pub full_online: Vec<(String, String)>,
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

/// An option of a filter select.
pub(crate) struct FacetOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One search result.
pub(crate) struct HitView {
    pub url: String,
    pub name: Vec<motcua_core::catalogue::search::Segment>,
    pub code: String,
    pub field: String,
    pub agency: String,
    pub mode: Option<&'static str>,
    pub full_online: bool,
}

#[derive(Template)]
#[template(path = "procedures.html")]
pub(crate) struct ProceduresPage {
    pub layout: Layout,
    pub request: crate::http::search_params::SearchRequest,
    pub error: Option<String>,
    pub total: usize,
    pub hits: Vec<HitView>,
    pub fields: Vec<FacetOption>,
    pub agencies: Vec<FacetOption>,
    pub levels: Vec<FacetOption>,
    pub modes: Vec<FacetOption>,
    pub page: usize,
    pub pages: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// A procedure as its page shows it: every value present, or "chưa cập nhật".
#[derive(Template)]
#[template(path = "procedure.html")]
pub(crate) struct ProcedurePage {
    pub layout: Layout,
    pub p: motcua_core::catalogue::Procedure,
    pub version: i64,
    pub agency: String,
    pub levels: String,
    pub time: Option<String>,
    pub fees: Vec<(String, String)>,
    pub documents: Vec<(String, &'static str, u8, Option<String>)>,
    pub mode: Option<motcua_core::catalogue::OnlineMode>,
}

use crate::plans::vnd;

pub(crate) fn time_vi(t: motcua_core::calendar::deadline::TimeLimit) -> String {
    use motcua_core::calendar::deadline::TimeUnit;
    match t.unit {
        TimeUnit::WorkingDays => format!("{} ngày làm việc", t.amount),
        TimeUnit::CalendarDays => format!("{} ngày", t.amount),
        TimeUnit::WorkingHours => format!("{} giờ làm việc", t.amount),
        TimeUnit::SameDay => "Trong ngày".to_owned(),
    }
}

impl ProcedurePage {
    pub(crate) fn new(
        layout: Layout,
        stored: motcua_store::catalogue::StoredProcedure,
        agency: String,
    ) -> Self {
        let p = stored.procedure;
        ProcedurePage {
            layout,
            levels: p
                .levels
                .iter()
                .map(|l| l.label_vi())
                .collect::<Vec<_>>()
                .join(", "),
            time: p.time_limit.map(time_vi),
            fees: p
                .fees
                .iter()
                .map(|f| {
                    (
                        f.label.clone(),
                        f.amount_vnd.map_or_else(String::new, |a| {
                            if a == 0 {
                                "Miễn phí".to_owned()
                            } else {
                                vnd(a)
                            }
                        }),
                    )
                })
                .collect(),
            documents: p
                .required_documents
                .iter()
                .map(|d| {
                    (
                        d.name.clone(),
                        d.form.label_vi(),
                        d.copies,
                        d.template.clone(),
                    )
                })
                .collect(),
            mode: p.online_mode,
            version: stored.version,
            agency,
            p,
        }
    }
}

/// A page's HTML.
pub(crate) fn render(
    page: &impl askama::Template,
) -> Result<axum::response::Html<String>, crate::http::error::WebError> {
    Ok(axum::response::Html(page.render()?))
}

/// What the router answers for a path it does not know.
pub(crate) async fn not_found() -> crate::http::error::WebError {
    crate::http::error::WebError::NotFound
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_are_written_the_vietnamese_way() {
        assert_eq!(super::vnd(1_400_000), "1.400.000 đồng");
        assert_eq!(super::vnd(50_000), "50.000 đồng");
        assert_eq!(super::vnd(700), "700 đồng");
    }
}
