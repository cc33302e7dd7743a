//! `motcua indicators`: the Decision 766 index of the province, an agency or a commune for a
//! month, a quarter or a year, recounted from the dossiers' histories.

use crate::{config_failure, Failure};
use motcua_core::indicators::{Group, Period};
use motcua_store::indicators::{IndexError, Scope};
use motcua_store::{Store, StoreConfig};

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{p:.1} %"))
}

/// Prints the index (or its JSON).
pub async fn run(
    config: &StoreConfig,
    period: &str,
    scope: Scope,
    json: bool,
) -> Result<(), Failure> {
    let p = Period::parse(period).ok_or_else(|| {
        config_failure(format!(
            "period: '{period}' is not a month (2026-11), a quarter (2026-Q4) or a year (2026)"
        ))
    })?;
    let store = Store::open_shared(config).await.map_err(config_failure)?;
    let index = store.index(&p, &scope).await;
    store.close().await;
    let index = index.map_err(|e| match e {
        IndexError::Store(e) => Failure::from(e),
        other => config_failure(other),
    })?;
    let s = &index.score;
    let (points, out_of) = s.total();
    if json {
        let indicators: Vec<serde_json::Value> = s
            .indicators
            .iter()
            .map(|i| {
                serde_json::json!({
                    "code": i.code, "group": i.group.number(), "max_points": i.max_points,
                    "target_percent": i.target,
                    "numerator": i.ratio.map(|r| r.numerator),
                    "denominator": i.ratio.map(|r| r.denominator),
                    "percent": i.ratio.and_then(|r| r.percent()),
                    "points": i.points(),
                })
            })
            .collect();
        let out = serde_json::json!({
            "period": period, "dossiers": index.dossiers, "unreadable": index.unreadable,
            "indicators": indicators, "average_days": s.average_days,
            "online_share": s.online_share.percent(), "services_used": s.services_used.percent(),
            "online_on_time": s.online_on_time.percent(),
            "points": points, "out_of": out_of,
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "Chỉ số 766 — {period} (đã đọc lịch sử của {} hồ sơ)",
        index.dossiers
    );
    if index.unreadable > 0 {
        println!(
            "  ({} hồ sơ có lịch sử trước khi có sự kiện có cấu trúc, chưa tính được)",
            index.unreadable
        );
    }
    for g in Group::ALL {
        match s.group_points(g) {
            Some(p) => println!("{}. {}: {p:.2}/{}", g.number(), g.name_vi(), g.max_points()),
            None => println!(
                "{}. {}: chưa có dữ liệu (/{})",
                g.number(),
                g.name_vi(),
                g.max_points()
            ),
        }
        for i in s.indicators.iter().filter(|i| i.group == g) {
            if let Some(r) = i.ratio {
                println!(
                    "   {:<4} {}/{} = {} → {} điểm",
                    i.code,
                    r.numerator,
                    r.denominator,
                    percent(r.percent()),
                    i.points().map_or_else(|| "—".into(), |p| format!("{p:.2}"))
                );
            }
        }
        if g == Group::Progress {
            println!(
                "   2.2  thời gian giải quyết trung bình: {}",
                s.average_days
                    .map_or_else(|| "—".into(), |d| format!("{d:.1} ngày"))
            );
        }
        if g == Group::Online {
            println!(
                "   3.2  dịch vụ có hồ sơ trực tuyến: {}/{}",
                s.services_used.numerator, s.services_used.denominator
            );
            println!(
                "        hồ sơ nộp trực tuyến: {}",
                percent(s.online_share.percent())
            );
            println!(
                "        hồ sơ trực tuyến đúng hạn: {}",
                percent(s.online_on_time.percent())
            );
        }
    }
    println!("Tổng: {points:.2} điểm trên {out_of} điểm của các nhóm đã có dữ liệu");
    Ok(())
}
