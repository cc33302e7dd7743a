//! "Follow this dossier on Zalo": from the applicant's dossier page, or from the lookup that the
//! receipt's QR code opens, a person gets a short code to send to the province's Official
//! Account; from then on the dossier's notices reach their Zalo too. The lookup path asks for the
//! same proof as the lookup itself (the code and the phone's last four digits, throttled), and
//! what a follower then receives tells no more than the lookup shows.

use crate::dossier::access::{load, own};
use crate::dossier::cases::{public_lookup, LookupRefusal};
use crate::http::auth::CurrentUser;
use crate::http::error::WebError;
use crate::http::routes::{post, RouteDef, PUBLIC};
use crate::http::views::{Ctx, Layout};
use askama::Template;
use axum::extract::{Form, Path};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use motcua_core::accounts::Access;
use motcua_core::delivery::follow;
use motcua_store::dossiers::{format_local, Dossier};
use serde::Deserialize;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        post("/dossiers/{id}/zalo", Access::SignedIn, from_dossier),
        post("/dossiers/{id}/zalo/stop", Access::SignedIn, stop),
        post("/lookup/zalo", PUBLIC, from_lookup),
    ]
}

#[derive(Template)]
#[template(path = "zalo_follow.html")]
struct FollowPage {
    layout: Layout,
    dossier_code: String,
    oa_name: String,
    oa_url: String,
    qr_svg: String,
    message: String,
    expires: String,
    followers: i64,
    /// The owner's dossier page, with its "stop" form; none from the lookup.
    dossier_id: Option<String>,
}

/// The OA's page as a QR code, drawn as SVG (no script, no third-party request).
fn qr_svg(url: &str) -> Result<String, WebError> {
    let code =
        qrcode::QrCode::new(url.as_bytes()).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build())
}

async fn page(ctx: &Ctx, d: &Dossier, owner: bool) -> Result<Response, WebError> {
    let Some(z) = ctx.state.gateways.zalo_follow.clone() else {
        return Err(WebError::NotFound);
    };
    let (code, expires) = ctx.state.store.follow_code(&d.id).await?;
    let page = FollowPage {
        layout: ctx.layout("Nhận thông báo hồ sơ qua Zalo"),
        dossier_code: d.code.clone().unwrap_or_default(),
        qr_svg: qr_svg(&z.oa_url)?,
        oa_name: z.oa_name,
        oa_url: z.oa_url,
        message: follow::message(&code),
        expires: format_local(expires),
        followers: ctx.state.store.dossier_followers(&d.id).await?,
        dossier_id: owner.then(|| d.id.clone()),
    };
    Ok(Html(page.render()?).into_response())
}

/// Only a submitted dossier has notices to follow.
fn followable(d: &Dossier) -> bool {
    d.code.is_some() && d.status.as_str() != "draft"
}

/// The dossier `id` if the signed-in user is its applicant; "not found" otherwise.
async fn owned(ctx: &Ctx, user: &CurrentUser, id: &str) -> Result<Dossier, WebError> {
    let (d, _) = load(&ctx.state, user, id).await?;
    own(user, &d)?;
    Ok(d)
}

async fn from_dossier(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let d = owned(&ctx, &user, &id).await?;
    if !followable(&d) {
        return Err(WebError::NotFound);
    }
    page(&ctx, &d, true).await
}

async fn stop(
    Extension(user): Extension<CurrentUser>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let d = owned(&ctx, &user, &id).await?;
    ctx.state.store.unfollow_dossier(&d.id).await?;
    Ok(Redirect::to(&format!("/dossiers/{}?notice=zalo_stopped", d.id)).into_response())
}

/// Missing fields read as empty: the lookup then answers "not the right form" in Vietnamese.
#[derive(Deserialize)]
struct LookupForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    phone: String,
}

async fn from_lookup(ctx: Ctx, Form(f): Form<LookupForm>) -> Result<Response, WebError> {
    match public_lookup(&ctx.state, &ctx.ip, &f.code, &f.phone).await? {
        Ok((d, _)) if followable(&d) => page(&ctx, &d, false).await,
        Ok(_) => Err(WebError::NotFound),
        Err(refusal) => {
            let (status, target) = match refusal {
                LookupRefusal::TooMany => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Đã tra cứu sai quá nhiều lần. Vui lòng thử lại sau 15 phút.",
                ),
                LookupRefusal::Malformed => (
                    StatusCode::BAD_REQUEST,
                    "Mã hồ sơ hoặc 4 chữ số cuối số điện thoại không đúng dạng.",
                ),
                LookupRefusal::NotFound => (
                    StatusCode::NOT_FOUND,
                    "Không tìm thấy hồ sơ với mã và số điện thoại này.",
                ),
            };
            let page = Refused {
                layout: ctx.layout("Nhận thông báo hồ sơ qua Zalo"),
                message: target,
            };
            Ok((status, Html(page.render()?)).into_response())
        }
    }
}

#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block content %}<h1>Nhận thông báo hồ sơ qua Zalo</h1><p class=\"error\" role=\"alert\">{{ message }}</p><p><a href=\"/lookup\">Tra cứu lại</a></p>{% endblock %}",
    ext = "html"
)]
struct Refused {
    layout: Layout,
    message: &'static str,
}
