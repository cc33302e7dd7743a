//! Sample dossiers for the demo: a few hundred over the past twelve months, across procedures,
//! agencies, communes, channels and every status, so that queues, timelines and statistics show
//! something real from the first start. They are made by a fixed pseudo-random sequence (the
//! same demo every time) and follow the same rules and code sequence as live dossiers.

use crate::backend::{on_pool, BeginWrite};
use crate::dossiers::{append_event, micros, CodeSettings};
use crate::{Store, StoreError};
use motcua_core::calendar::deadline::{OfficeHours, WorkCalendar, VIETNAM};
use motcua_core::dossier::{
    deadline_at_reception, Channel, DossierCode, HandOverMethod, OfflineReason, Outcome, Status,
    Workflow,
};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// How many sample dossiers the demo gets.
pub const DEMO_DOSSIERS: usize = 360;

const SURNAMES: [&str; 10] = [
    "Nguyễn", "Hoàng", "Lý", "Vi", "Nông", "Lương", "Hà", "Lộc", "Triệu", "Đinh",
];
const MIDDLE: [&str; 6] = ["Văn", "Thị", "Đức", "Thu", "Minh", "Ngọc"];
const GIVEN: [&str; 12] = [
    "An", "Bình", "Chiến", "Dung", "Giang", "Hạnh", "Khánh", "Lan", "Mạnh", "Nga", "Phúc", "Quỳnh",
];

/// xorshift64*: enough to spread sample data, fixed so the demo is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Clone)]
struct Sample {
    procedure_id: String,
    version: i64,
    code: String,
    name: String,
    agency: String,
    limit: Option<motcua_core::calendar::deadline::TimeLimit>,
    /// The procedure publishes no processing time: the desk entered one at reception.
    entered: bool,
    commune_only: bool,
}

impl Store {
    /// Creates the sample dossiers once (skipped when any dossier exists).
    pub async fn seed_demo_dossiers(
        &self,
        codes: &CodeSettings,
        hours: &OfficeHours,
    ) -> Result<usize, StoreError> {
        let existing: i64 = on_pool!(self.backend(), p => sqlx::query_scalar("SELECT COUNT(*) FROM dossiers").fetch_one(p).await)?;
        if existing > 0 {
            return Ok(0);
        }
        let samples: Vec<Sample> = self
            .procedures()
            .await?
            .into_iter()
            .filter(|p| {
                p.procedure.online_mode.is_some_and(|m| m.is_online())
                    || p.procedure.time_limit.is_some()
            })
            .map(|p| Sample {
                commune_only: !p.procedure.levels.is_empty()
                    && p.procedure
                        .levels
                        .iter()
                        .all(|l| *l == motcua_core::catalogue::Level::Commune),
                procedure_id: p.id,
                version: p.version,
                code: p.procedure.code,
                name: p.procedure.name,
                agency: p.procedure.agency_code,
                entered: p.procedure.time_limit.is_none(),
                // Where the procedure publishes no time, the demo desk enters 15 working days at
                // reception, as a real desk must enter one.
                limit: p.procedure.time_limit.or(Some(
                    motcua_core::calendar::deadline::TimeLimit::working_days(15),
                )),
            })
            .collect();
        if samples.is_empty() {
            return Ok(0);
        }
        let timed: Vec<Sample> = samples
            .iter()
            .filter(|s| s.limit.is_some())
            .cloned()
            .collect();
        let communes: Vec<String> = on_pool!(self.backend(), p => sqlx::query_scalar("SELECT admin_unit_code FROM agencies WHERE kind = 'one_stop_desk' AND code <> 'ttpvhcc-tinh' ORDER BY code").fetch_all(p).await)?;
        let citizen: Option<(String, String)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT id, display_name FROM users WHERE username = 'congdan'").fetch_optional(p).await)?;
        let officer: Option<(String, String)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT id, display_name FROM users WHERE username = 'tiepnhan'").fetch_optional(p).await)?;
        let (officer_id, officer_name) =
            officer.unwrap_or_else(|| (String::new(), "Cán bộ tiếp nhận".into()));
        // The demo specialist and leader work at one agency: its dossiers move with their names,
        // the other agencies' with the title of whoever acted.
        let examiner: Option<(String, String, String)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT u.id, u.display_name, r.agency_code FROM users u JOIN user_roles r ON r.user_id = u.id WHERE u.username = 'chuyenvien' AND r.role = 'specialist'").fetch_optional(p).await)?;
        let leader: Option<(String, String)> = on_pool!(self.backend(), p => sqlx::query_as("SELECT id, display_name FROM users WHERE username = 'lanhdao'").fetch_optional(p).await)?;
        let workflow_json = serde_json::to_string(&Workflow::default())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let holidays = self.holiday_calendar().await?;
        let calendar = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let now = micros(OffsetDateTime::now_utc());
        let mut rng = Rng(0x6d6f_7463_7561_2026);
        on_pool!(self.backend(), pool => {
            let mut tx = pool.begin_write().await?;
            for i in 0..DEMO_DOSSIERS {
                // Most samples use a procedure with a published processing time, so that most of
                // them can move through the whole lifecycle.
                let pool: &[Sample] = if rng.below(10) < 8 && !timed.is_empty() { &timed } else { &samples };
                let s = &pool[rng.below(pool.len())];
                // Without a published processing time a dossier cannot be received (the desk must
                // enter one), so such samples are recent and still wait at reception.
                let age_days = if s.limit.is_some() { rng.below(365) } else { rng.below(20) } as i64;
                let submitted = {
                    let day = (now - Duration::days(age_days)).to_offset(VIETNAM).date();
                    let day = if calendar.is_working_day(day) { day } else { calendar.next_working_day(day) };
                    let minutes = 7 * 60 + 30 + rng.below(9 * 60) as i64;
                    let t = day.midnight().assume_offset(VIETNAM) + Duration::minutes(minutes);
                    micros(if t > now { now - Duration::minutes(30) } else { t })
                };
                let channel = match rng.below(10) {
                    0..=5 => Channel::Online,
                    6..=8 => Channel::Counter,
                    _ => Channel::Post,
                };
                // The demo citizen owns one online dossier in twelve, so "Hồ sơ của tôi" has some.
                let mine = channel == Channel::Online && i % 12 == 0;
                let name = match (&citizen, mine) {
                    (Some((_, n)), true) => n.clone(),
                    _ => format!("{} {} {}", SURNAMES[rng.below(10)], MIDDLE[rng.below(6)], GIVEN[rng.below(12)]),
                };
                let phone = if mine { crate::demo::DEMO_CITIZEN_PHONE.to_owned() } else { format!("09{:08}", rng.next() % 100_000_000) };
                let commune = communes.get(rng.below(communes.len())).cloned();
                let desk: String = if s.commune_only {
                    commune.as_ref().map_or_else(|| "ttpvhcc-tinh".to_owned(), |c| format!("ttpvhcc-{c}"))
                } else {
                    "ttpvhcc-tinh".to_owned()
                };
                // Older dossiers are mostly finished; recent ones are still moving.
                let status = pick_status(&mut rng, age_days, s.limit.is_some(), channel);
                let id = uuid::Uuid::new_v4().to_string();
                let date = submitted.to_offset(VIETNAM).date();
                let seq: i64 = sqlx::query_scalar("INSERT INTO dossier_sequences (prefix, day, last) VALUES ($1, $2, 1) ON CONFLICT (prefix, day) DO UPDATE SET last = dossier_sequences.last + 1 RETURNING last")
                    .bind(codes.prefix.as_str()).bind(DossierCode::day_key(date)).fetch_one(&mut *tx).await?;
                let code = DossierCode::new(codes.prefix.clone(), date, u32::try_from(seq).unwrap_or(u32::MAX), codes.width)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?.to_string();
                let mut form = BTreeMap::new();
                form.insert("applicant_name".to_owned(), name.clone());
                form.insert("applicant_phone".to_owned(), phone.clone());
                form.insert("applicant_address".to_owned(), "Tỉnh Lạng Sơn".to_owned());
                if let Some(c) = &commune { form.insert("applicant_commune".to_owned(), c.clone()); }
                let form = serde_json::to_string(&form).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let received = (status != Status::Submitted && status != Status::Refused && !(status == Status::Withdrawn && s.limit.is_none()))
                    .then(|| micros(submitted + Duration::minutes(if channel == Channel::Online { 90 + rng.below(600) as i64 } else { 0 })))
                    .filter(|r| *r < now && s.limit.is_some());
                let deadline = match (received, s.limit) {
                    (Some(r), Some(l)) => Some(deadline_at_reception(l, channel, r)),
                    _ => None,
                };
                let due = deadline.as_ref().map(|d| micros(d.due(&calendar)));
                let closed = match status {
                    Status::Refused | Status::Withdrawn => Some(micros(submitted + Duration::hours(20))),
                    Status::HandedOver => due.map(|d| micros(d - Duration::hours(rng.below(30) as i64))),
                    _ => None,
                }.map(|c| c.min(now));
                let status = if received.is_none() && matches!(status, Status::Received | Status::Decided | Status::HandedOver | Status::SupplementRequested) { Status::Submitted } else { status };
                // Received dossiers spread over the back-office steps.
                let status = if status == Status::Received {
                    [Status::Received, Status::InProgress, Status::InProgress, Status::AwaitingApproval, Status::Approved][rng.below(5)]
                } else {
                    status
                };
                let ours = examiner.as_ref().is_some_and(|e| e.2 == s.agency);
                let (examiner_id, examiner_name) = match (&examiner, ours) {
                    (Some((id, name, _)), true) => (Some(id.clone()), name.clone()),
                    _ => (None, "Chuyên viên thụ lý".to_owned()),
                };
                let (leader_id, leader_name) = match (&leader, ours) {
                    (Some((id, name)), true) => (Some(id.clone()), name.clone()),
                    _ => (None, "Lãnh đạo cơ quan".to_owned()),
                };
                let assigned = received.is_some() && matches!(status, Status::InProgress | Status::AwaitingApproval | Status::Approved | Status::Decided | Status::HandedOver);
                let deadline_json = deadline.as_ref().map(serde_json::to_string).transpose().map_err(|e| StoreError::Invalid(e.to_string()))?;
                let reason = (channel != Channel::Online).then(|| OfflineReason::ALL[rng.below(6)].as_str());
                let applicant_id = if mine { citizen.as_ref().map(|c| c.0.clone()) } else { None };
                let items = (status == Status::SupplementRequested).then(|| r#"["Bản sao giấy tờ chứng minh nơi cư trú"]"#.to_owned());
                sqlx::query("INSERT INTO dossiers (id, code, procedure_id, procedure_version, procedure_code, procedure_name, agency_code, desk_code, applicant_id, applicant_name, applicant_phone, admin_unit_code, channel, offline_reason, status, form_data, deadline, due_at, supplement_requests, supplement_items, created_at, submitted_at, received_at, closed_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21, $22, $23, $24)")
                    .bind(&id).bind(&code).bind(&s.procedure_id).bind(s.version).bind(&s.code).bind(&s.name).bind(&s.agency).bind(&desk)
                    .bind(&applicant_id).bind(&name).bind(&phone).bind(&commune).bind(channel.as_str()).bind(reason).bind(status.as_str())
                    .bind(&form).bind(&deadline_json).bind(due.filter(|_| status.is_open() || matches!(status, Status::Decided | Status::HandedOver)))
                    .bind(i64::from(status == Status::SupplementRequested)).bind(&items)
                    .bind(submitted).bind(received).bind(closed).bind(closed.or(received).unwrap_or(submitted))
                    .execute(&mut *tx).await?;
                // The timeline, in order.
                let by_citizen = applicant_id.as_deref();
                if channel == Channel::Online {
                    append_event(&mut tx, &id, "create", by_citizen, &name, submitted - Duration::minutes(20), Status::Draft, "").await?;
                    append_event(&mut tx, &id, "submit", by_citizen, &name, submitted, Status::Submitted, "").await?;
                    if let Some(r) = received {
                        let note = if s.entered { "Thời hạn giải quyết do Bộ phận Một cửa nhập: 15 ngày làm việc" } else { "" };
                        append_event(&mut tx, &id, "receive", Some(&officer_id), &officer_name, r, Status::Received, note).await?;
                    }
                } else if let Some(r) = received {
                    append_event(&mut tx, &id, "register", Some(&officer_id), &officer_name, r, Status::Received,
                        &format!("{} — {}", channel.label_vi(), reason.and_then(OfflineReason::parse).map_or("", OfflineReason::label_vi))).await?;
                }
                let later = received.unwrap_or(submitted) + Duration::hours(3);
                let decided = due.map_or(later, |d| d - Duration::hours(26)).max(later).min(now);
                if let (true, Some(r)) = (assigned, received) {
                    let start = (r + Duration::hours(2)).min(now);
                    let proposed = (decided - Duration::hours(20)).max(start).min(now);
                    let approved = (decided - Duration::hours(2)).max(proposed).min(now);
                    let lead_by = crate::dossiers::EventActor { id: leader_id.as_deref(), name: &leader_name, agency: &s.agency };
                    crate::dossiers::append_event_to(&mut tx, &id, "assign", lead_by, start, Status::InProgress, "", &examiner_name).await?;
                    if matches!(status, Status::AwaitingApproval | Status::Approved | Status::Decided | Status::HandedOver) {
                        let by = crate::dossiers::EventActor { id: examiner_id.as_deref(), name: &examiner_name, agency: &s.agency };
                        crate::dossiers::append_event_to(&mut tx, &id, "propose", by, proposed, Status::AwaitingApproval, Outcome::Grant.label_vi(), &leader_name).await?;
                    }
                    if matches!(status, Status::Approved | Status::Decided | Status::HandedOver) {
                        crate::dossiers::append_event_to(&mut tx, &id, "approve", lead_by, approved, Status::Approved, "", &examiner_name).await?;
                    }
                    let method = (status == Status::HandedOver).then(|| if channel == Channel::Online { HandOverMethod::Online } else { HandOverMethod::Counter }.as_str());
                    sqlx::query("UPDATE dossiers SET workflow = $1, assignee_id = $2, assignee_name = $3, outcome = $4, decided_at = $5, hand_over_method = $6 WHERE id = $7")
                        .bind(&workflow_json).bind(&examiner_id).bind(&examiner_name)
                        .bind((status != Status::InProgress).then_some(Outcome::Grant.as_str()))
                        .bind(matches!(status, Status::Decided | Status::HandedOver).then_some(decided))
                        .bind(method).bind(&id).execute(&mut *tx).await?;
                } else if received.is_some() {
                    sqlx::query("UPDATE dossiers SET workflow = $1 WHERE id = $2").bind(&workflow_json).bind(&id).execute(&mut *tx).await?;
                }
                match status {
                    Status::SupplementRequested => {
                        append_event(&mut tx, &id, "request_supplement", Some(&officer_id), &officer_name, later.min(now), status, "Bản sao giấy tờ chứng minh nơi cư trú").await?;
                    }
                    Status::Refused => {
                        append_event(&mut tx, &id, "refuse", Some(&officer_id), &officer_name, closed.unwrap_or(later).min(now), status, "Hồ sơ không thuộc thẩm quyền giải quyết").await?;
                    }
                    Status::Withdrawn => {
                        append_event(&mut tx, &id, "withdraw", by_citizen, &name, closed.unwrap_or(later).min(now), status, "Người nộp yêu cầu rút hồ sơ").await?;
                    }
                    Status::Decided | Status::HandedOver => {
                        let by = crate::dossiers::EventActor { id: leader_id.as_deref(), name: &leader_name, agency: &s.agency };
                        crate::dossiers::append_event_to(&mut tx, &id, "issue_result", by, decided, Status::Decided, "", &desk).await?;
                        if status == Status::HandedOver {
                            let by = crate::dossiers::EventActor { id: Some(&officer_id), name: &officer_name, agency: &desk };
                            crate::dossiers::append_event_to(&mut tx, &id, "hand_over", by, closed.unwrap_or(decided).max(decided), status, "", &name).await?;
                        }
                    }
                    _ => {}
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(DEMO_DOSSIERS)
    }
}

fn pick_status(rng: &mut Rng, age_days: i64, has_limit: bool, channel: Channel) -> Status {
    let roll = rng.below(100);
    if !has_limit {
        // Without a published processing time no clock can run: such samples stay at reception.
        return match roll {
            0..=79 => Status::Submitted,
            80..=89 => Status::Refused,
            _ => Status::Withdrawn,
        };
    }
    if age_days > 30 {
        return match roll {
            0..=84 => Status::HandedOver,
            85..=89 => Status::Decided,
            90..=94 => Status::Refused,
            _ => Status::Withdrawn,
        };
    }
    match roll {
        0..=19 if channel == Channel::Online => Status::Submitted,
        0..=49 => Status::Received,
        50..=59 => Status::SupplementRequested,
        60..=74 => Status::Decided,
        75..=89 => Status::HandedOver,
        90..=94 => Status::Refused,
        _ => Status::Withdrawn,
    }
}

/// Task, target, agency, month, quantity, cost, what was done.
type SampleReport = (
    &'static str,
    Option<&'static str>,
    &'static str,
    String,
    i64,
    i64,
    String,
);

impl Store {
    /// Sample progress of Plan 147 for the demo (once): the monthly reportage with two months
    /// missed, the video clip, the handbooks and most of the leaflets, a difficulty and a budget
    /// estimate awaiting approval — so the monitor's dashboard shows the plan as it would be.
    pub async fn seed_demo_plan_progress(&self) -> Result<usize, StoreError> {
        let Some(plan) = self
            .plans()
            .await?
            .into_iter()
            .find(|p| p.plan.code == "147/KH-UBND")
        else {
            return Ok(0);
        };
        if !self.progress_reports(&plan.id).await?.is_empty() {
            return Ok(0);
        }
        let by: Option<String> = on_pool!(self.backend(), p => sqlx::query_scalar("SELECT id FROM users WHERE username = 'theodoikehoach'").fetch_optional(p).await)?;
        let Some(by) = by else { return Ok(0) };
        let month = |s: &str| {
            s.parse::<motcua_core::plan::Month>()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let mut entries: Vec<SampleReport> = Vec::new();
        let mut m = month("2018-11")?;
        let mut n = 1;
        while m <= month("2019-12")? {
            if m != month("2019-04")? && m != month("2019-09")? {
                entries.push((
                    "2.1",
                    Some("reportage"),
                    "dai-ptth",
                    m.to_string(),
                    1,
                    4_500_000,
                    format!("Phóng sự số {n} về dịch vụ công trực tuyến, phát sóng trên LSTV"),
                ));
                n += 1;
            }
            m = m.next();
        }
        entries.push(("2.2", Some("clip"), "so-tttt", "2018-11".into(), 1, 35_000_000, "Video clip hướng dẫn nộp hồ sơ trực tuyến (8 phút), đăng trên Cổng DVCTT, YouTube, Facebook".into()));
        entries.push((
            "2.3",
            Some("handbooks"),
            "vp-ubnd-tinh",
            "2018-12".into(),
            700,
            42_000_000,
            "In và phát hành 700 quyển tài liệu hướng dẫn cho cán bộ, công chức".into(),
        ));
        entries.push((
            "2.3",
            Some("leaflets"),
            "vp-ubnd-tinh",
            "2018-12".into(),
            18_000,
            36_000_000,
            "In 18.000 tờ gấp hướng dẫn nộp hồ sơ trực tuyến, phát tại Bộ phận Một cửa".into(),
        ));
        entries.push((
            "3",
            Some("fanpage"),
            "so-tttt",
            "2018-11".into(),
            1,
            0,
            "Lập Fanpage \"Dịch vụ công trực tuyến Lạng Sơn\"".into(),
        ));
        entries.push((
            "1",
            None,
            "cong-ttdt",
            "2019-06".into(),
            24,
            6_000_000,
            "24 tin, bài hướng dẫn sử dụng DVCTT trên Cổng thông tin điện tử tỉnh".into(),
        ));
        for (task, target, agency, mo, quantity, cost, done) in &entries {
            self.add_progress_report(crate::plans::NewReport {
                plan_id: &plan.id,
                task_code: task,
                target: *target,
                agency_code: agency,
                month: month(mo)?,
                quantity: *quantity,
                cost_vnd: *cost,
                done,
                evidence_url: None,
                evidence_file: None,
                reported_by: &by,
            })
            .await?;
        }
        self.raise_difficulty(&plan.id, "2.3", "vp-ubnd-tinh", "Kinh phí in tờ gấp năm 2018 chỉ đủ 18.000 tờ; đề nghị bổ sung kinh phí in 2.000 tờ còn lại.", &by).await?;
        let b = self
            .draft_estimate(
                &plan.id,
                "2.1",
                "dai-ptth",
                2020,
                54_000_000,
                "province",
                "12 phóng sự năm 2020",
                &by,
            )
            .await?;
        self.move_estimate(
            &plan.id,
            &b,
            motcua_core::plan::BudgetStatus::Draft,
            motcua_core::plan::BudgetStatus::Submitted,
            None,
        )
        .await?;
        Ok(entries.len())
    }
}
