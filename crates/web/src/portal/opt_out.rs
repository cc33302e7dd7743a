//! The opt-out link every outreach message carries: anyone holding it may stop outreach to its
//! address without signing in (as easy to withdraw as to give, Decree 13/2023). The page asks
//! for a click, so a link previewer fetching it changes nothing.

use crate::http::error::WebError;
use crate::http::routes::{get, post, RouteDef};
use crate::http::views::{render, Ctx};
use askama::Template;
use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use motcua_core::accounts::Access;
use motcua_core::delivery::{mask, MessageKind};
use motcua_store::outbox::ConsentWay;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/opt-out/{token}", Access::Public, page),
        post("/opt-out/{token}", Access::Public, withdraw),
    ]
}

#[derive(Template)]
#[template(path = "opt_out.html")]
struct OptOutPage {
    layout: crate::http::views::Layout,
    token: String,
    address: String,
    done: bool,
}

async fn page(ctx: Ctx, Path(token): Path<String>) -> Result<Html<String>, WebError> {
    let Some((address, kind, granted)) = ctx.state.store.consent_of_token(&token).await? else {
        return Err(WebError::NotFound);
    };
    if kind != MessageKind::Outreach {
        return Err(WebError::NotFound);
    }
    render(&OptOutPage {
        layout: ctx.layout("Ngừng nhận tin tuyên truyền"),
        token,
        address: mask(&address),
        done: !granted,
    })
}

async fn withdraw(ctx: Ctx, Path(token): Path<String>) -> Result<Response, WebError> {
    let Some((address, MessageKind::Outreach, _)) =
        ctx.state.store.consent_of_token(&token).await?
    else {
        return Err(WebError::NotFound);
    };
    ctx.state
        .store
        .set_consent(&address, MessageKind::Outreach, false, ConsentWay::Link)
        .await?;
    Ok(render(&OptOutPage {
        layout: ctx.layout("Ngừng nhận tin tuyên truyền"),
        token,
        address: mask(&address),
        done: true,
    })?
    .into_response())
}
