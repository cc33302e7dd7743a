//! Administration: officials and their roles, the security audit log, the calendar, the
//! catalogue, workflows and deliveries.

pub(crate) mod calendar;
pub(crate) mod catalogue;
pub(crate) mod delivery;
pub(crate) mod workflows;

use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, RouteDef};
use crate::http::views::render;
use crate::http::views::Ctx;
use askama::Template;
use axum::extract::Query;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use motcua_core::accounts::{check_password, Permission};
use motcua_core::Role;
use serde::Deserialize;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get(
            "/admin/officials",
            needs(Permission::ManageOfficials),
            officials_page,
        ),
        post(
            "/admin/officials",
            needs(Permission::ManageOfficials),
            create_official,
        ),
        get(
            "/admin/security-events",
            needs(Permission::ReadSecurityLog),
            security_events,
        ),
    ]
}

/// Roles an agency admin may grant inside their agency; system admins may grant any.
const AGENCY_GRANTABLE: [Role; 4] = [
    Role::Reception,
    Role::Specialist,
    Role::Leader,
    Role::AgencyAdmin,
];

#[derive(Template)]
#[template(path = "officials.html")]
struct OfficialsPage {
    layout: crate::http::views::Layout,
    officials: Vec<(String, String, Vec<String>)>,
    roles: Vec<(&'static str, &'static str)>,
    agencies: Vec<(String, String)>,
    errors: Vec<String>,
    created: Option<String>,
}

/// The agencies an admin manages: theirs, or every agency for a system admin.
async fn managed_agencies(ctx: &Ctx) -> Result<Vec<(String, String)>, WebError> {
    let a = ctx.account()?;
    let scope = a.agencies_with(Permission::ManageOfficials);
    let all = ctx.state.store.agencies().await?;
    Ok(all
        .into_iter()
        .filter(|ag| ag.successor_name.is_none())
        .filter(|ag| {
            scope
                .iter()
                .any(|s| s.is_none() || s.as_deref() == Some(ag.code.as_str()))
        })
        .map(|ag| (ag.code, ag.name))
        .collect())
}

async fn page(
    ctx: &Ctx,
    errors: Vec<String>,
    created: Option<String>,
) -> Result<OfficialsPage, WebError> {
    let a = ctx.account()?;
    let agencies = managed_agencies(ctx).await?;
    let mut officials = Vec::new();
    let lists = if a.is_system_admin() {
        vec![ctx.state.store.officials(None).await?]
    } else {
        let mut v = Vec::new();
        for (code, _) in &agencies {
            v.push(ctx.state.store.officials(Some(code)).await?);
        }
        v
    };
    for o in lists.into_iter().flatten() {
        if officials
            .iter()
            .any(|(u, _, _): &(String, String, Vec<String>)| *u == o.username)
        {
            continue;
        }
        let roles = o
            .roles
            .iter()
            .map(|(r, g)| {
                format!(
                    "{}{}",
                    r.label_vi(),
                    g.as_ref().map(|g| format!(" — {g}")).unwrap_or_default()
                )
            })
            .collect();
        officials.push((o.username.clone(), o.display_name.clone(), roles));
    }
    let grantable: Vec<Role> = if a.is_system_admin() {
        Role::ALL.into_iter().filter(|r| r.is_official()).collect()
    } else {
        AGENCY_GRANTABLE.to_vec()
    };
    Ok(OfficialsPage {
        layout: ctx.layout("Cán bộ, công chức"),
        officials,
        roles: grantable
            .into_iter()
            .map(|r| (r.as_str(), r.label_vi()))
            .collect(),
        agencies,
        errors,
        created,
    })
}

async fn officials_page(ctx: Ctx) -> Result<Html<String>, WebError> {
    render(&page(&ctx, vec![], None).await?)
}

#[derive(Deserialize)]
struct OfficialForm {
    username: String,
    display_name: String,
    password: String,
    role: String,
    agency: String,
}

async fn create_official(ctx: Ctx, Form(f): Form<OfficialForm>) -> Result<Response, WebError> {
    let admin = ctx.account()?.clone();
    let mut errors = Vec::new();
    let username = f.username.trim().to_lowercase();
    if username.len() < 3
        || username.len() > 64
        || !username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-'
        })
    {
        errors.push("Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang.".to_owned());
    }
    let name = motcua_core::text::nfc(f.display_name.trim());
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("Hãy nhập họ và tên.".into());
    }
    if let Err(e) = check_password(&f.password, &[&username]) {
        errors.push(e.message_vi());
    }
    let role = f.role.parse::<Role>().ok().filter(|r| r.is_official());
    let agencies = managed_agencies(&ctx).await?;
    let agency_ok = agencies.iter().any(|(c, _)| *c == f.agency);
    // Server-side scope: an agency admin grants only within their agency and only agency roles.
    let allowed = match role {
        Some(r) if admin.is_system_admin() => r == Role::SystemAdmin || agency_ok,
        Some(r) => AGENCY_GRANTABLE.contains(&r) && agency_ok,
        None => false,
    };
    if !allowed {
        errors.push("Bạn không có quyền cấp vai trò này tại cơ quan đã chọn.".into());
    }
    if errors.is_empty() {
        if let Some(role) = role {
            let agency = (role != Role::SystemAdmin).then(|| f.agency.clone());
            let hash =
                tokio::task::spawn_blocking(move || motcua_store::password::hash(&f.password))
                    .await
                    .map_err(|_| WebError::Internal("password hashing task failed".into()))??;
            match ctx
                .state
                .store
                .create_official(&username, &name, &hash, &[(role, agency.clone())])
                .await?
            {
                Some(id) => {
                    let detail = format!(
                        "granted {}{} to {username}",
                        role.as_str(),
                        agency.map(|a| format!("@{a}")).unwrap_or_default()
                    );
                    ctx.state
                        .store
                        .log_security(
                            "role_change",
                            Some(&id),
                            Some(&admin.username),
                            Some(&ctx.ip),
                            &detail,
                        )
                        .await?;
                    return Ok(render(&page(&ctx, vec![], Some(username)).await?)?.into_response());
                }
                None => errors.push("Tên đăng nhập đã được dùng.".into()),
            }
        }
    }
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        render(&page(&ctx, errors, None).await?)?,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
struct EventFilter {
    kind: Option<String>,
    username: Option<String>,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    layout: crate::http::views::Layout,
    kind: String,
    username: String,
    events: Vec<(String, String, String, String, String)>,
}

async fn security_events(ctx: Ctx, Query(f): Query<EventFilter>) -> Result<Html<String>, WebError> {
    let kind = f.kind.unwrap_or_default().trim().to_owned();
    let username = f.username.unwrap_or_default().trim().to_owned();
    let events = ctx
        .state
        .store
        .security_events(Some(&kind), Some(&username), 200)
        .await?
        .into_iter()
        .map(|e| {
            let at = e.at.to_offset(motcua_core::calendar::deadline::VIETNAM);
            (
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    at.year(),
                    u8::from(at.month()),
                    at.day(),
                    at.hour(),
                    at.minute(),
                    at.second()
                ),
                e.kind,
                e.username.unwrap_or_default(),
                e.ip.unwrap_or_default(),
                e.detail,
            )
        })
        .collect();
    render(&SecurityPage {
        layout: ctx.layout("Nhật ký an ninh"),
        kind,
        username,
        events,
    })
}
