//! The agency admin edits a procedure's workflow: steps, the role at each, the share of the
//! processing time, and steps at other agencies (liên thông), sequential or parallel, optional or
//! not. Each save is a new version; dossiers already received keep theirs.

use crate::admin::catalogue::{managed_procedure, scope};
use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, RouteDef};
use crate::http::views::{Ctx, Layout};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use motcua_core::accounts::Permission;
use motcua_core::dossier::{ConsultMode, Step, StepKind, Workflow};
use serde::Deserialize;
use std::collections::HashMap;

/// Rows the form offers (existing steps plus blank ones up to this many).
const ROWS: usize = 8;

pub(crate) fn routes() -> Vec<RouteDef> {
    let p = needs(Permission::ManageAgencyCatalogue);
    vec![
        get("/admin/procedures/{agency}/{code}/workflow", p, page),
        post("/admin/procedures/{agency}/{code}/workflow", p, save),
    ]
}

struct RowView {
    n: usize,
    name: String,
    kind: &'static str,
    agency: String,
    parallel: bool,
    optional: bool,
    share: String,
}

#[derive(Template)]
#[template(path = "admin_workflow.html")]
struct WorkflowPage {
    layout: Layout,
    procedure: String,
    path: String,
    version: i64,
    rows: Vec<RowView>,
    agencies: Vec<(String, String)>,
    errors: Vec<String>,
    saved: bool,
}

fn rows_of(w: &Workflow) -> Vec<RowView> {
    let mut rows: Vec<RowView> = w
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (kind, agency, parallel, optional) = match &s.kind {
                StepKind::Examine => ("examine", String::new(), false, false),
                StepKind::Approve => ("approve", String::new(), false, false),
                StepKind::Consult {
                    agency,
                    mode,
                    optional,
                } => (
                    "consult",
                    agency.clone(),
                    *mode == ConsultMode::Parallel,
                    *optional,
                ),
            };
            RowView {
                n: i,
                name: s.name.clone(),
                kind,
                agency,
                parallel,
                optional,
                share: s.share_percent.to_string(),
            }
        })
        .collect();
    while rows.len() < ROWS {
        rows.push(RowView {
            n: rows.len(),
            name: String::new(),
            kind: "consult",
            agency: String::new(),
            parallel: false,
            optional: false,
            share: String::new(),
        });
    }
    rows
}

async fn render(
    ctx: &Ctx,
    agency: &str,
    code: &str,
    rows: Vec<RowView>,
    errors: Vec<String>,
    saved: bool,
) -> Result<Response, WebError> {
    let sc = scope(ctx)?;
    let p = managed_procedure(ctx, &sc, agency, code).await?;
    let current = ctx.state.store.workflow(&p.id).await?;
    let agencies = ctx
        .state
        .store
        .agencies()
        .await?
        .into_iter()
        .filter(|a| a.code != agency)
        .map(|a| (a.code, a.name))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = WorkflowPage {
        layout: ctx.layout(format!("Quy trình: {}", p.procedure.name)),
        procedure: p.procedure.name.clone(),
        path: format!("/admin/procedures/{agency}/{code}/workflow"),
        version: current.version,
        rows,
        agencies,
        errors,
        saved,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn page(
    ctx: Ctx,
    Path((agency, code)): Path<(String, String)>,
    Query(q): Query<Saved>,
) -> Result<Response, WebError> {
    let sc = scope(&ctx)?;
    let p = managed_procedure(&ctx, &sc, &agency, &code).await?;
    let current = ctx.state.store.workflow(&p.id).await?;
    render(
        &ctx,
        &agency,
        &code,
        rows_of(&current.workflow),
        Vec::new(),
        q.saved.is_some(),
    )
    .await
}

/// Reads the form's rows into a workflow; blank rows are skipped.
fn parse(form: &HashMap<String, String>) -> Result<Workflow, Vec<String>> {
    let get = |n: usize, k: &str| {
        form.get(&format!("step_{n}_{k}"))
            .map(|v| motcua_core::text::nfc(v.trim()))
            .unwrap_or_default()
    };
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    for n in 0..ROWS {
        let name = get(n, "name");
        if name.is_empty() {
            continue;
        }
        if name.chars().count() > 200 {
            errors.push(format!("Bước {}: tên quá dài (tối đa 200 ký tự).", n + 1));
        }
        let share = match get(n, "share").parse::<u8>() {
            Ok(s) if s <= 100 => s,
            _ => {
                errors.push(format!(
                    "Bước {}: tỷ lệ thời gian phải là số nguyên từ 1 đến 100.",
                    n + 1
                ));
                0
            }
        };
        let kind = match get(n, "kind").as_str() {
            "examine" => StepKind::Examine,
            "approve" => StepKind::Approve,
            "consult" => StepKind::Consult {
                agency: get(n, "agency"),
                mode: if get(n, "parallel") == "on" {
                    ConsultMode::Parallel
                } else {
                    ConsultMode::Sequential
                },
                optional: get(n, "optional") == "on",
            },
            other => {
                errors.push(format!(
                    "Bước {}: loại bước \"{other}\" không hợp lệ.",
                    n + 1
                ));
                continue;
            }
        };
        steps.push(Step {
            name,
            kind,
            share_percent: share,
        });
    }
    if errors.is_empty() {
        Ok(Workflow { steps })
    } else {
        Err(errors)
    }
}

async fn save(
    ctx: Ctx,
    Path((agency, code)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let sc = scope(&ctx)?;
    let p = managed_procedure(&ctx, &sc, &agency, &code).await?;
    let known: Vec<String> = ctx
        .state
        .store
        .agencies()
        .await?
        .into_iter()
        .map(|a| a.code)
        .collect();
    let parsed = parse(&form).and_then(|w| {
        w.validate(&agency, |a| known.iter().any(|k| k == a))
            .map(|()| w)
            .map_err(|e| vec![e.message_vi()])
    });
    match parsed {
        Ok(w) => {
            let account = ctx.account()?;
            ctx.state.store.save_workflow(&p.id, &w, account).await?;
            Ok(Redirect::to(&format!(
                "/admin/procedures/{agency}/{code}/workflow?saved=1"
            ))
            .into_response())
        }
        Err(errors) => {
            let submitted = match parse(&form) {
                Ok(w) => rows_of(&w),
                Err(_) => rows_of(&Workflow { steps: Vec::new() }),
            };
            render(&ctx, &agency, &code, submitted, errors, false).await
        }
    }
}
