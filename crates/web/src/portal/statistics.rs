//! The public statistics page ("công khai, minh bạch", as the plan asks): for a month, quarter
//! or year, each agency's dossiers, on-time share, online share, full-online share and average
//! time, recounted from the dossiers' histories; the same figures as CSV open data. What has no
//! data says so rather than showing a zero.

use crate::http::error::WebError;
use crate::http::routes::{get, RouteDef, PUBLIC};
use crate::http::views::{render, Ctx};
use askama::Template;
use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use motcua_core::indicators::{Period, Score};
use motcua_store::indicators::{IndexError, Scope};

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        get("/statistics", PUBLIC, page),
        get("/statistics.csv", PUBLIC, csv),
        get("/statistics.json", PUBLIC, json),
    ]
}

#[derive(serde::Deserialize)]
struct Asked {
    period: Option<String>,
}

/// A line as the page shows it.
struct Shown {
    code: String,
    name: String,
    handled: u64,
    on_time: String,
    online: String,
    full_online: String,
    average_days: String,
}

impl From<&Line> for Shown {
    fn from(l: &Line) -> Shown {
        Shown {
            code: l.code.clone(),
            name: l.name.clone(),
            handled: l.handled,
            on_time: vi_percent(l.on_time),
            online: vi_percent(l.online),
            full_online: vi_percent(l.full_online),
            average_days: l.average_days.map_or_else(
                || "—".to_owned(),
                |d| format!("{:.1}", tenths(d)).replace('.', ","),
            ),
        }
    }
}

/// One line of the table: a unit and its figures (`None`: no data).
struct Line {
    code: String,
    name: String,
    handled: u64,
    on_time: Option<f64>,
    online: Option<f64>,
    full_online: Option<f64>,
    average_days: Option<f64>,
}

impl Line {
    fn of(code: &str, name: &str, s: &Score) -> Line {
        let ratio = |c: &str| {
            s.indicators
                .iter()
                .find(|i| i.code == c)
                .and_then(|i| i.ratio)
        };
        Line {
            code: code.to_owned(),
            name: name.to_owned(),
            handled: ratio("2.1").map_or(0, |r| r.denominator),
            on_time: ratio("2.1").and_then(|r| r.percent()),
            online: s.online_share.percent(),
            full_online: ratio("3").and_then(|r| r.percent()),
            average_days: s.average_days,
        }
    }
}

/// Rounded to one decimal, half away from zero: the page, the CSV and the JSON all show this
/// value (formatting alone rounds 56.25 down, and the three would disagree).
fn tenths(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A percentage as Vietnamese write it ("97,6 %"), or a dash.
fn vi_percent(p: Option<f64>) -> String {
    p.map_or_else(
        || "—".to_owned(),
        |p| format!("{:.1} %", tenths(p)).replace('.', ","),
    )
}

/// The period asked for (the last complete month when none is), or why it cannot be read.
fn period_of(asked: &Asked) -> Result<(String, Period), String> {
    match asked
        .period
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(text) => Period::parse(text)
            .map(|p| (text.to_owned(), p))
            .ok_or_else(|| {
                "Kỳ thống kê không hợp lệ: hãy nhập tháng (2026-11), quý (2026-Q4) hoặc năm (2026)."
                    .to_owned()
            }),
        None => {
            let now = time::OffsetDateTime::now_utc();
            let p = Period::last_month(now)
                .ok_or_else(|| "Không xác định được tháng trước.".to_owned())?;
            let local = p.start.to_offset(motcua_core::calendar::deadline::VIETNAM);
            Ok((
                format!("{}-{:02}", local.year(), u8::from(local.month())),
                p,
            ))
        }
    }
}

/// The province's line, then each agency's with data; or what keeps the period from having any.
async fn lines(ctx: &Ctx, period: &Period) -> Result<Result<Vec<Line>, String>, WebError> {
    let province = match ctx.state.store.index(period, &Scope::default()).await {
        Ok(i) => i,
        Err(IndexError::NotCovered(_)) => return Ok(Err("Chưa có dữ liệu cho kỳ này.".to_owned())),
        Err(IndexError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    let mut out = vec![Line::of(
        "",
        &format!("Toàn tỉnh {}", ctx.state.site.province_name),
        &province.score,
    )];
    for a in ctx.state.store.agencies().await? {
        let scope = Scope {
            agency: Some(a.code.clone()),
            commune: None,
        };
        match ctx.state.store.index(period, &scope).await {
            Ok(i) if i.dossiers > 0 => out.push(Line::of(&a.code, &a.name, &i.score)),
            Ok(_) | Err(IndexError::NotCovered(_)) => {}
            Err(IndexError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(WebError::Internal(e.to_string())),
        }
    }
    Ok(Ok(out))
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    layout: crate::http::views::Layout,
    period: String,
    problem: Option<String>,
    lines: Vec<Shown>,
}

async fn page(ctx: Ctx, Query(asked): Query<Asked>) -> Result<Response, WebError> {
    let layout = ctx.layout("Thống kê dịch vụ công");
    let (period, p) = match period_of(&asked) {
        Ok(x) => x,
        Err(problem) => {
            let page = StatisticsPage {
                layout,
                period: asked.period.unwrap_or_default(),
                problem: Some(problem),
                lines: Vec::new(),
            };
            return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
        }
    };
    let (problem, lines) = match lines(&ctx, &p).await? {
        Ok(lines) => (None, lines),
        Err(problem) => (Some(problem), Vec::new()),
    };
    let page: Html<String> = render(&StatisticsPage {
        layout,
        period,
        problem,
        lines: lines.iter().map(Shown::from).collect(),
    })?;
    Ok(page.into_response())
}

/// The same figures as JSON (schema in `docs/indicators.md`): `null` where there is no data.
async fn json(ctx: Ctx, Query(asked): Query<Asked>) -> Result<Response, WebError> {
    let (period, p) = match period_of(&asked) {
        Ok(x) => x,
        Err(problem) => {
            let body = serde_json::json!({"error": "bad_period", "message": problem});
            return Ok((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
        }
    };
    let lines = match lines(&ctx, &p).await? {
        Ok(lines) => lines,
        Err(problem) => {
            let body = serde_json::json!({"error": "no_data", "message": problem});
            return Ok((StatusCode::NOT_FOUND, axum::Json(body)).into_response());
        }
    };
    let round = |v: Option<f64>| v.map(tenths);
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            serde_json::json!({
                "agency_code": (!l.code.is_empty()).then_some(&l.code),
                "agency": l.name,
                "handled": l.handled,
                "on_time_percent": round(l.on_time),
                "online_percent": round(l.online),
                "full_online_percent": round(l.full_online),
                "average_days": round(l.average_days),
            })
        })
        .collect();
    let body = serde_json::json!({
        "period": period,
        "from": p.start.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "until": p.end.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "lines": lines,
    });
    Ok(axum::Json(body).into_response())
}

async fn csv(ctx: Ctx, Query(asked): Query<Asked>) -> Result<Response, WebError> {
    let (period, p) = match period_of(&asked) {
        Ok(x) => x,
        Err(problem) => return Ok((StatusCode::BAD_REQUEST, problem).into_response()),
    };
    let lines = match lines(&ctx, &p).await? {
        Ok(lines) => lines,
        Err(problem) => return Ok((StatusCode::NOT_FOUND, problem).into_response()),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let num = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{:.1}", tenths(v)));
    let write = |w: &mut csv::Writer<Vec<u8>>, row: [String; 8]| {
        w.write_record(
            row.iter()
                .map(|c| motcua_core::text::csv_cell(c).into_owned()),
        )
        .map_err(|e| WebError::Internal(e.to_string()))
    };
    write(
        &mut w,
        [
            "period",
            "agency_code",
            "agency",
            "handled",
            "on_time_percent",
            "online_percent",
            "full_online_percent",
            "average_days",
        ]
        .map(str::to_owned),
    )?;
    for l in &lines {
        write(
            &mut w,
            [
                period.clone(),
                l.code.clone(),
                l.name.clone(),
                l.handled.to_string(),
                num(l.on_time),
                num(l.online),
                num(l.full_online),
                l.average_days
                    .map_or_else(String::new, |d| format!("{d:.1}")),
            ],
        )?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"thong-ke-{}.csv\"", p.start.date()),
            ),
        ],
        bytes,
    )
        .into_response())
}
