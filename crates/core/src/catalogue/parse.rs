//! Reading what provinces publish — free Vietnamese text — into catalogue values. Each reader
//! returns `None` (or an error) when the text does not say clearly: the catalogue then stays empty
//! for that value ("chưa cập nhật") instead of guessing.

use super::procedure::{Fee, Level, OnlineMode};
use crate::calendar::deadline::{TimeLimit, TimeUnit};
use crate::text::fold_marks as fold_vi;

/// Reads an implementing-level cell: "Cấp Tỉnh", "cấp xã", "Cấp Tỉnh; Cơ quan khác". Empty text is
/// "not given" (`Ok(vec![])`); anything else that is not a level is an error carrying the text.
pub fn level(raw: &str) -> Result<Vec<Level>, String> {
    let mut out = Vec::new();
    for part in raw
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let level = match fold_vi(part).as_str() {
            "cap tinh" | "tinh" | "province" => Level::Province,
            "cap xa" | "xa" | "commune" => Level::Commune,
            "co quan khac" | "other" => Level::Other,
            _ => return Err(part.to_owned()),
        };
        if !out.contains(&level) {
            out.push(level);
        }
    }
    out.sort();
    Ok(out)
}

/// Reads an online-mode cell: "toàn trình", "một phần", "trực tiếp" (not online). Empty is `None`.
pub fn online_mode(raw: &str) -> Result<Option<OnlineMode>, String> {
    let folded = fold_vi(raw.trim());
    Ok(Some(match folded.as_str() {
        "" => return Ok(None),
        "toan trinh" | "full" | "muc do 4" | "muc 4" => OnlineMode::Full,
        "mot phan" | "partial" | "muc do 3" | "muc 3" => OnlineMode::Partial,
        "truc tiep" | "none" | "khong" | "muc do 2" | "muc 2" => OnlineMode::None,
        _ => return Err(raw.trim().to_owned()),
    }))
}

/// Reads a processing-time text: "03 ngày làm việc", "Không quá 02 (hai) ngày làm việc…",
/// "15 ngày", "8 giờ làm việc", "ngay trong ngày…". Conditions after the first period (";
/// nếu cần xác minh…") are left to the text. Text whose first figure belongs to a case list
/// ("Khoáng sản nhóm I: tối đa 60 ngày…") is not read.
pub fn time_limit(raw: &str) -> Option<TimeLimit> {
    let folded = fold_vi(raw);
    let head = folded.split([';', '.']).next().unwrap_or_default();
    if head.contains("ngay trong ngay")
        || head.starts_with("ngay sau khi")
        || head.starts_with("trong ngay")
    {
        return Some(TimeLimit {
            amount: 0,
            unit: TimeUnit::SameDay,
        });
    }
    let words: Vec<&str> = head
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let first_number = words
        .iter()
        .position(|w| w.chars().all(|c| c.is_ascii_digit()))?;
    if head.split(':').next().is_some_and(|before| {
        before.len() < head.len() && !before.chars().any(|c| c.is_ascii_digit())
    }) {
        return None;
    }
    let amount: u32 = words[first_number].parse().ok()?;
    // Skip a number spelled out in brackets: "02 (hai) ngày".
    let mut rest = words[first_number + 1..]
        .iter()
        .copied()
        .skip_while(|w| is_spelled_number(w));
    let unit = match (rest.next(), rest.next(), rest.next()) {
        (Some("ngay"), Some("lam"), Some("viec")) => TimeUnit::WorkingDays,
        (Some("ngay"), _, _) => TimeUnit::CalendarDays,
        (Some("gio"), _, _) => TimeUnit::WorkingHours,
        _ => return None,
    };
    let limit = TimeLimit { amount, unit };
    limit.validate().ok().map(|()| limit)
}

fn is_spelled_number(w: &str) -> bool {
    matches!(
        w,
        "mot" | "hai" | "ba" | "bon" | "nam" | "sau" | "bai" | "tam" | "chin" | "muoi" | "lam"
    )
}

/// An amount like "50.000" or "1.400.000" (dots group thousands) followed by "đồng" or "đ".
fn amounts(raw: &str) -> Vec<(i64, usize)> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            let mut digits = String::new();
            while i < bytes.len()
                && (bytes[i].is_ascii_digit()
                    || (bytes[i] == b'.' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit()))
            {
                if bytes[i] != b'.' {
                    digits.push(char::from(bytes[i]));
                }
                i += 1;
            }
            let after = fold_vi(raw[i..].trim_start());
            if after.starts_with("dong") || after.starts_with('d') && !after.starts_with("dieu") {
                if let Ok(n) = digits.parse::<i64>() {
                    out.push((n, start));
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a fee text. Exemptions and "Không" give one fee of 0; one amount gives one fee; the
/// "trực tiếp / trực tuyến" pair gives two. Anything else (tables, several tiers) is `None`: the
/// text is published as is.
pub fn fees(raw: &str) -> Option<Vec<Fee>> {
    let text = raw.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    let folded = fold_vi(text);
    if folded == "khong" || folded.starts_with("khong thu") || folded.starts_with("mien") {
        return Some(vec![Fee {
            label: "Lệ phí".into(),
            amount_vnd: Some(0),
            note: text.to_owned(),
        }]);
    }
    let found = amounts(text);
    match found.as_slice() {
        [(n, _)] => Some(vec![Fee {
            label: "Phí, lệ phí".into(),
            amount_vnd: Some(*n),
            note: text.to_owned(),
        }]),
        [(a, _), (b, at)] => {
            let (first, second) = (fold_vi(&text[..*at]), fold_vi(&text[*at..]));
            let direct_first = first.contains("truc tiep") && second.contains("truc tuyen");
            let online_first = first.contains("truc tuyen") && second.contains("truc tiep");
            if direct_first || online_first {
                let (direct, online) = if direct_first { (*a, *b) } else { (*b, *a) };
                Some(vec![
                    Fee {
                        label: "Nộp trực tiếp".into(),
                        amount_vnd: Some(direct),
                        note: text.to_owned(),
                    },
                    Fee {
                        label: "Nộp trực tuyến".into(),
                        amount_vnd: Some(online),
                        note: text.to_owned(),
                    },
                ])
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_in_every_published_spelling() {
        assert_eq!(level("Cấp Tỉnh"), Ok(vec![Level::Province]));
        assert_eq!(level("Cấp tỉnh"), Ok(vec![Level::Province]));
        assert_eq!(level("Cấp Xã"), Ok(vec![Level::Commune]));
        assert_eq!(
            level("Cấp Tỉnh; Cấp Xã"),
            Ok(vec![Level::Province, Level::Commune])
        );
        assert_eq!(
            level("Cấp Tỉnh; Cơ quan khác"),
            Ok(vec![Level::Province, Level::Other])
        );
        assert_eq!(level(""), Ok(vec![]));
        assert_eq!(
            level("Áp dụng chung (nhiều cấp/cơ quan)"),
            Err("Áp dụng chung (nhiều cấp/cơ quan)".into())
        );
        assert_eq!(
            level("Cấp huyện"),
            Err("Cấp huyện".into()),
            "no district level since 07/2025"
        );
    }

    #[test]
    fn online_modes() {
        assert_eq!(online_mode("toàn trình"), Ok(Some(OnlineMode::Full)));
        assert_eq!(online_mode("một phần"), Ok(Some(OnlineMode::Partial)));
        assert_eq!(online_mode("trực tiếp"), Ok(Some(OnlineMode::None)));
        assert_eq!(online_mode(""), Ok(None));
        assert!(online_mode("online").is_err());
    }

    #[test]
    fn processing_times_where_the_text_says() {
        let wd = |n| Some(TimeLimit::working_days(n));
        assert_eq!(time_limit("03 ngày làm việc"), wd(3));
        assert_eq!(
            time_limit(
                "03 ngày làm việc; nếu cần xác minh kéo dài thêm không quá 05 ngày làm việc"
            ),
            wd(3)
        );
        assert_eq!(
            time_limit("Không quá 02 (hai) ngày làm việc, kể từ ngày nhận đủ hồ sơ"),
            wd(2)
        );
        assert_eq!(
            time_limit("15 ngày"),
            Some(TimeLimit {
                amount: 15,
                unit: TimeUnit::CalendarDays
            })
        );
        let same = Some(TimeLimit {
            amount: 0,
            unit: TimeUnit::SameDay,
        });
        assert_eq!(
            time_limit(
                "Thời hạn thực hiện yêu cầu chứng thực là ngay trong ngày cơ quan tiếp nhận"
            ),
            same
        );
        assert_eq!(
            time_limit("Ngay sau khi nhận đủ giấy tờ hợp lệ (Luật Hộ tịch Đ16)"),
            same
        );
        assert_eq!(
            time_limit("Khoáng sản nhóm I, nhóm II quy mô phân tán, nhỏ lẻ: tối đa 60 ngày"),
            None
        );
        assert_eq!(time_limit("Theo quy định"), None);
        assert_eq!(time_limit(""), None);
        assert_eq!(time_limit("0 ngày làm việc"), None);
    }

    #[test]
    fn fees_where_the_text_gives_amounts() {
        let one = fees("50.000 đồng/ giao dịch").unwrap_or_default();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].amount_vnd, Some(50_000));
        let pair =
            fees("1.400.000 đ (trực tiếp/bưu chính) / 700.000 đ (trực tuyến)").unwrap_or_default();
        assert_eq!(
            pair.iter()
                .map(|f| (f.label.as_str(), f.amount_vnd))
                .collect::<Vec<_>>(),
            vec![
                ("Nộp trực tiếp", Some(1_400_000)),
                ("Nộp trực tuyến", Some(700_000))
            ]
        );
        let tam_tru = fees("15.000 đ/lần (trực tiếp), 7.000 đ/lần (trực tuyến) cho cá nhân")
            .unwrap_or_default();
        assert_eq!(
            tam_tru.iter().map(|f| f.amount_vnd).collect::<Vec<_>>(),
            vec![Some(15_000), Some(7_000)]
        );
        assert_eq!(
            fees("Miễn lệ phí khi đăng ký đúng hạn (Luật Hộ tịch Đ11)").map(|f| f[0].amount_vnd),
            Some(Some(0))
        );
        assert_eq!(fees("Không").map(|f| f[0].amount_vnd), Some(Some(0)));
        assert_eq!(
            fees("Theo quy mô lưu lượng (bảng phí nhiều mức trong nguồn)"),
            None
        );
        assert_eq!(fees("2.000 đồng/trang; từ trang thứ 3 trở lên thu 1.000 đồng/trang, tối đa 200.000 đồng/bản"), None);
        assert_eq!(fees(""), Some(vec![]));
    }
}
