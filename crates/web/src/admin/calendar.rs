//! System admins enter each year's official holiday schedule (exact Tết days, swaps, make-up
//! days). Every save is a new version with who entered it, and a security event.

use crate::http::error::WebError;
use crate::http::routes::{get, needs, post, RouteDef};
use crate::http::views::render;
use crate::http::views::Ctx;
use askama::Template;
use axum::extract::Query;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use motcua_core::accounts::Permission;
use motcua_core::calendar::holidays::{IsoDate, NamedDay, RuleOverride, YearSchedule};
use serde::Deserialize;
use time::Date;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/admin/calendar", needs(Permission::ManageCalendar), page),
        post("/admin/calendar", needs(Permission::ManageCalendar), save),
    ]
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
struct CalendarPage {
    layout: crate::http::views::Layout,
    year: i32,
    days_off: Vec<(String, String)>,
    history: Vec<(i32, i64, String, String, String)>,
    rules: Vec<(String, String)>,
    form: ScheduleForm,
    errors: Vec<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct YearQuery {
    year: Option<String>,
    saved: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct ScheduleForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    overrides: String,
    #[serde(default)]
    days_off: String,
    #[serde(default)]
    working_days: String,
}

fn date(text: &str) -> Option<Date> {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

impl ScheduleForm {
    fn to_schedule(&self) -> Result<YearSchedule, Vec<String>> {
        let mut errors = Vec::new();
        let year = self
            .year
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (2013..=2199).contains(y));
        if year.is_none() {
            errors.push("Năm phải từ 2013 đến 2199.".to_owned());
        }
        if self.source.trim().is_empty() {
            errors.push("Hãy ghi văn bản thông báo lịch nghỉ (số, ngày, cơ quan ban hành).".into());
        }
        let mut overrides = Vec::new();
        for (n, line) in self
            .overrides
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let Some((rule, dates)) = line.split_once('|') else {
                errors.push(format!(
                    "Ngày lễ dòng {}: viết theo mẫu \"mã ngày lễ | ngày, ngày, …\".",
                    n + 1
                ));
                continue;
            };
            let mut days = Vec::new();
            for d in dates.split(',') {
                match date(d) {
                    Some(d) => days.push(IsoDate(d)),
                    None => errors.push(format!(
                        "Ngày lễ dòng {}: \"{}\" không phải ngày dạng YYYY-MM-DD.",
                        n + 1,
                        d.trim()
                    )),
                }
            }
            overrides.push(RuleOverride {
                rule: rule.trim().to_owned(),
                days,
            });
        }
        let mut named = |text: &str, what: &str| -> Vec<NamedDay> {
            let mut out = Vec::new();
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let (d, name) = line.split_once('|').unwrap_or((line, ""));
                match date(d) {
                    Some(d) => out.push(NamedDay {
                        date: d,
                        name: motcua_core::text::nfc(name.trim()),
                    }),
                    None => errors.push(format!(
                        "{what} dòng {}: \"{}\" không phải ngày dạng YYYY-MM-DD.",
                        n + 1,
                        d.trim()
                    )),
                }
            }
            out
        };
        let days_off = named(&self.days_off, "Ngày nghỉ hoán đổi");
        let working_days = named(&self.working_days, "Ngày làm bù");
        match (year, errors.is_empty()) {
            (Some(year), true) => Ok(YearSchedule {
                year,
                source: motcua_core::text::nfc(self.source.trim()),
                overrides,
                days_off,
                working_days,
            }),
            _ => Err(errors),
        }
    }
}

async fn render_page(
    ctx: &Ctx,
    year: i32,
    form: ScheduleForm,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<CalendarPage, WebError> {
    let calendar = ctx.state.store.holiday_calendar().await?;
    let days_off = calendar
        .days_off(year)
        .iter()
        .map(|d| (iso(d.date), d.name.clone()))
        .collect();
    let rules = calendar
        .rules()
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    let history = ctx
        .state
        .store
        .holiday_schedule_history()
        .await?
        .into_iter()
        .rev()
        .map(|s| {
            (
                s.schedule.year,
                s.version,
                iso(s.entered_at.date()),
                s.entered_by,
                s.schedule.source,
            )
        })
        .collect();
    Ok(CalendarPage {
        layout: ctx.layout("Lịch nghỉ"),
        year,
        days_off,
        history,
        rules,
        form,
        errors,
        notice,
    })
}

async fn page(ctx: Ctx, Query(q): Query<YearQuery>) -> Result<Html<String>, WebError> {
    let this_year = crate::http::state::now_in_vietnam().year();
    let year = q
        .year
        .and_then(|y| y.parse().ok())
        .filter(|y| (2013..=2199).contains(y))
        .unwrap_or(this_year);
    let form = ScheduleForm {
        year: year.to_string(),
        ..ScheduleForm::default()
    };
    let notice = q
        .saved
        .map(|v| format!("Đã lưu lịch nghỉ năm {year}, phiên bản {v}."));
    render(&render_page(&ctx, year, form, vec![], notice).await?)
}

async fn save(ctx: Ctx, Form(f): Form<ScheduleForm>) -> Result<Response, WebError> {
    let admin = ctx.account()?.clone();
    let errors = match f.to_schedule() {
        Ok(schedule) => match ctx
            .state
            .store
            .add_holiday_schedule(&schedule, &admin.username)
            .await
        {
            Ok(version) => {
                let moved = ctx
                    .state
                    .store
                    .recompute_due_moments(&ctx.state.site.dossiers.hours)
                    .await?;
                tracing::info!(
                    year = schedule.year,
                    version,
                    moved,
                    "holiday schedule stored; due moments recomputed"
                );
                ctx.state
                    .store
                    .log_security(
                        "calendar_schedule",
                        Some(&admin.id),
                        Some(&admin.username),
                        Some(&ctx.ip),
                        &format!("{} v{version}: {}", schedule.year, schedule.source),
                    )
                    .await?;
                return Ok(Redirect::to(&format!(
                    "/admin/calendar?year={}&saved={version}",
                    schedule.year
                ))
                .into_response());
            }
            Err(motcua_store::StoreError::Refused(e)) => {
                vec![format!("Lịch nghỉ không hợp lệ: {e}")]
            }
            Err(e) => return Err(e.into()),
        },
        Err(e) => e,
    };
    let year = f.year.trim().parse().unwrap_or(2026);
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        render(&render_page(&ctx, year, f, errors, None).await?)?,
    )
        .into_response())
}
