//! Sample dossiers for the demo: a few hundred over the past twelve months, across procedures,
//! agencies, communes, channels and every status, so that queues, timelines and statistics show
//! something real from the first start. They are made by a fixed pseudo-random sequence (the
//! same demo every time) and follow the same rules and code sequence as live dossiers.

use crate::backend::{on_pool, BeginWrite};
use crate::dossiers::{micros, ActError, CodeSettings, Dossier, Row, COLUMNS};
use crate::events::EventActor;
use crate::transitions::record;
use crate::{Store, StoreError};
use motcua_core::calendar::deadline::{OfficeHours, TimeLimit, WorkCalendar, VIETNAM};
use motcua_core::dossier::command::{
    created as created_transition, registered, By, Lookups, Registration, Subject,
};
use motcua_core::dossier::{
    deadline_at_reception, handle, Actor, Channel, Command, Context, DossierCode, HandOverMethod,
    OfflineReason, Outcome, ResultDoc, Status, Transition,
};
use motcua_core::Role;
use std::collections::{BTreeMap, BTreeSet};
use time::{Duration, OffsetDateTime};

const SELECT_AGENCIES_BY_KIND: &str = "SELECT admin_unit_code \
     FROM agencies \
     WHERE kind = 'one_stop_desk' AND code <> 'ttpvhcc-tinh' \
     ORDER BY code";

const SELECT_USERS_BY_USERNAME: &str = "SELECT id, display_name \
     FROM users \
     WHERE username = 'congdan'";

const DEMO_RECEPTIONIST: &str = "SELECT id, display_name \
     FROM users \
     WHERE username = 'tiepnhan'";

const DEMO_SPECIALIST: &str = "SELECT u.id, u.display_name, r.agency_code \
     FROM users u \
     JOIN user_roles r ON r.user_id = u.id \
     WHERE u.username = 'chuyenvien' AND r.role = 'specialist'";

const DEMO_LEADER: &str = "SELECT id, display_name \
     FROM users \
     WHERE username = 'lanhdao'";

const INSERT_USER_ROLES: &str = "INSERT INTO user_roles (user_id, role, agency_code) \
     VALUES ($1, $2, $3)";

const UPSERT_DOSSIER_SEQUENCES: &str = "INSERT INTO dossier_sequences (prefix, day, last) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (prefix, day) \
     DO UPDATE \
     SET last = dossier_sequences.last + 1 \
     RETURNING last";

const DEMO_PLAN_MONITOR: &str = "SELECT id \
     FROM users \
     WHERE username = 'theodoikehoach'";

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
        let existing: i64 = on_pool!(self.backend(), |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM dossiers"
        )
        .fetch_one(p)
        .await)?;
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
        let communes: Vec<String> = on_pool!(self.backend(), |p| {
            sqlx::query_scalar(SELECT_AGENCIES_BY_KIND)
                .fetch_all(p)
                .await
        })?;
        let citizen: Option<(String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SELECT_USERS_BY_USERNAME)
                .fetch_optional(p)
                .await)?;
        let officer: Option<(String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(DEMO_RECEPTIONIST)
                .fetch_optional(p)
                .await)?;
        let (officer_id, officer_name) =
            officer.unwrap_or_else(|| (String::new(), "Cán bộ tiếp nhận".into()));
        // The demo specialist and leader work at one agency: its dossiers move with their names,
        // the other agencies' with the title of whoever acted.
        let examiner: Option<(String, String, String)> = on_pool!(self.backend(), |p| {
            sqlx::query_as(DEMO_SPECIALIST).fetch_optional(p).await
        })?;
        let leader: Option<(String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(DEMO_LEADER)
                .fetch_optional(p)
                .await)?;
        // One stored result document stands for every sample's signed result.
        let (sha256, size) = self
            .put_blob(motcua_core::dossier::minimal_pdf(
                "ket qua giai quyet",
                2048,
            ))
            .await?;
        let result_doc = ResultDoc {
            sha256,
            size,
            file_name: "ket-qua.pdf".to_owned(),
            kind: motcua_core::dossier::FileKind::Pdf,
        };
        let agencies: BTreeSet<String> = samples.iter().map(|s| s.agency.clone()).collect();
        let holidays = self.holiday_calendar().await?;
        let calendar = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let now = micros(OffsetDateTime::now_utc());
        let mut rng = Rng(0x6d6f_7463_7561_2026);
        let officer = Who {
            id: officer_id,
            name: officer_name,
        };
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            // Who examines and signs at each agency: the demo's own specialist and leader where
            // they work, elsewhere stand-ins that cannot sign in (no usable password, disabled).
            let mut staff: BTreeMap<String, (Who, Who)> = BTreeMap::new();
            for agency in &agencies {
                let pair = match (&examiner, &leader) {
                    (Some((eid, ename, eag)), Some((lid, lname))) if eag == agency => (
                        Who {
                            id: eid.clone(),
                            name: ename.clone(),
                        },
                        Who {
                            id: lid.clone(),
                            name: lname.clone(),
                        },
                    ),
                    _ => {
                        let mut pair = Vec::new();
                        for (role, title, tag) in [
                            (Role::Specialist, "Chuyên viên thụ lý", "cv"),
                            (Role::Leader, "Lãnh đạo cơ quan", "ld"),
                        ] {
                            let id = uuid::Uuid::new_v4().to_string();
                            sqlx::query(INSERT_STAND_IN)
                                .bind(&id)
                                .bind(format!("demo.{tag}.{agency}"))
                                .bind(title)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query(INSERT_USER_ROLES)
                                .bind(&id)
                                .bind(role.as_str())
                                .bind(agency)
                                .execute(&mut *tx)
                                .await?;
                            pair.push(Who {
                                id,
                                name: title.to_owned(),
                            });
                        }
                        let leader = pair.pop().unwrap_or_default();
                        (pair.pop().unwrap_or_default(), leader)
                    }
                };
                staff.insert(agency.clone(), pair);
            }
            for i in 0..DEMO_DOSSIERS {
                // Most samples use a procedure with a published processing time, so that most of
                // them can move through the whole lifecycle.
                let pool: &[Sample] = if rng.below(10) < 8 && !timed.is_empty() {
                    &timed
                } else {
                    &samples
                };
                let s = &pool[rng.below(pool.len())];
                // Without a published processing time a dossier cannot be received (the desk must
                // enter one), so such samples are recent and still wait at reception.
                let age_days = if s.limit.is_some() {
                    rng.below(365)
                } else {
                    rng.below(20)
                } as i64;
                let submitted = {
                    let day = (now - Duration::days(age_days)).to_offset(VIETNAM).date();
                    let day = if calendar.is_working_day(day) {
                        day
                    } else {
                        calendar.next_working_day(day)
                    };
                    let minutes = 7 * 60 + 30 + rng.below(9 * 60) as i64;
                    let t = day.midnight().assume_offset(VIETNAM) + Duration::minutes(minutes);
                    micros(if t > now {
                        now - Duration::minutes(30)
                    } else {
                        t
                    })
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
                    _ => format!(
                        "{} {} {}",
                        SURNAMES[rng.below(10)],
                        MIDDLE[rng.below(6)],
                        GIVEN[rng.below(12)]
                    ),
                };
                let phone = if mine {
                    crate::demo::DEMO_CITIZEN_PHONE.to_owned()
                } else {
                    format!("09{:08}", rng.next() % 100_000_000)
                };
                let commune = communes.get(rng.below(communes.len())).cloned();
                let desk: String = if s.commune_only {
                    commune
                        .as_ref()
                        .map_or_else(|| "ttpvhcc-tinh".to_owned(), |c| format!("ttpvhcc-{c}"))
                } else {
                    "ttpvhcc-tinh".to_owned()
                };
                // Older dossiers are mostly finished; recent ones are still moving.
                let status = pick_status(&mut rng, age_days, s.limit.is_some(), channel);
                let id = uuid::Uuid::new_v4().to_string();
                let date = submitted.to_offset(VIETNAM).date();
                let seq: i64 = sqlx::query_scalar(UPSERT_DOSSIER_SEQUENCES)
                    .bind(codes.prefix.as_str())
                    .bind(DossierCode::day_key(date))
                    .fetch_one(&mut *tx)
                    .await?;
                let code = DossierCode::new(
                    codes.prefix.clone(),
                    date,
                    u32::try_from(seq).unwrap_or(u32::MAX),
                    codes.width,
                )
                .map_err(|e| StoreError::Internal(e.to_string()))?
                .to_string();
                let mut form = BTreeMap::new();
                form.insert("applicant_name".to_owned(), name.clone());
                form.insert("applicant_phone".to_owned(), phone.clone());
                form.insert("applicant_address".to_owned(), "Tỉnh Lạng Sơn".to_owned());
                if let Some(c) = &commune {
                    form.insert("applicant_commune".to_owned(), c.clone());
                }
                let form = serde_json::to_string(&form)
                    .map_err(|e| StoreError::Internal(e.to_string()))?;
                let received = (status != Status::Submitted
                    && status != Status::Refused
                    && !(status == Status::Withdrawn && s.limit.is_none()))
                .then(|| {
                    micros(
                        submitted
                            + Duration::minutes(if channel == Channel::Online {
                                90 + rng.below(600) as i64
                            } else {
                                0
                            }),
                    )
                })
                .filter(|r| *r < now && s.limit.is_some());
                let deadline = match (received, s.limit) {
                    (Some(r), Some(l)) => Some(deadline_at_reception(l, channel, r)),
                    _ => None,
                };
                let due = deadline.as_ref().map(|d| micros(d.due(&calendar)));
                let closed = match status {
                    Status::Refused | Status::Withdrawn => {
                        Some(micros(submitted + Duration::hours(20)))
                    }
                    Status::HandedOver => {
                        due.map(|d| micros(d - Duration::hours(rng.below(30) as i64)))
                    }
                    _ => None,
                }
                .map(|c| c.min(now));
                let status = if received.is_none()
                    && matches!(
                        status,
                        Status::Received
                            | Status::Decided
                            | Status::HandedOver
                            | Status::SupplementRequested
                    ) {
                    Status::Submitted
                } else {
                    status
                };
                // Received dossiers spread over the back-office steps.
                let status = if status == Status::Received {
                    [
                        Status::Received,
                        Status::InProgress,
                        Status::InProgress,
                        Status::AwaitingApproval,
                        Status::Approved,
                    ][rng.below(5)]
                } else {
                    status
                };
                // Paper dossiers are registered at the counter at once; one that was never
                // received (or was refused before reception) came in online.
                let channel = if received.is_none() || status == Status::Refused {
                    Channel::Online
                } else {
                    channel
                };
                let examiner_id = staff
                    .get(&s.agency)
                    .map(|s| s.0.clone())
                    .unwrap_or_default();
                let leader_id = staff
                    .get(&s.agency)
                    .map(|s| s.1.clone())
                    .unwrap_or_default();
                let assigned = received.is_some()
                    && matches!(
                        status,
                        Status::InProgress
                            | Status::AwaitingApproval
                            | Status::Approved
                            | Status::Decided
                            | Status::HandedOver
                    );
                let reason = (channel != Channel::Online).then(|| OfflineReason::ALL[rng.below(6)]);
                let applicant_id = if mine {
                    citizen.as_ref().map(|c| c.0.clone())
                } else {
                    None
                };
                let created = if channel == Channel::Online {
                    submitted - Duration::minutes(20)
                } else {
                    received.unwrap_or(submitted)
                };
                sqlx::query(INSERT_SAMPLE)
                    .bind(&id)
                    .bind(&s.procedure_id)
                    .bind(s.version)
                    .bind(&s.code)
                    .bind(&s.name)
                    .bind(&s.agency)
                    .bind(&applicant_id)
                    .bind(&name)
                    .bind(&phone)
                    .bind(&commune)
                    .bind(channel.as_str())
                    .bind(reason.map(OfflineReason::as_str))
                    .bind(&form)
                    .bind(created)
                    .execute(&mut *tx)
                    .await?;
                let row: Row =
                    sqlx::query_as(&format!("SELECT {COLUMNS} FROM dossiers WHERE id = $1"))
                        .bind(&id)
                        .fetch_one(&mut *tx)
                        .await?;
                let mut d = Dossier::try_from(row)?;
                // The history, in order, each step decided by the same rules as a live one.
                let applicant = Who {
                    id: applicant_id.clone().unwrap_or_default(),
                    name: name.clone(),
                };
                let mut steps: Vec<(Command, Actor, &Who, OffsetDateTime)> = Vec::new();
                let later = received.unwrap_or(submitted) + Duration::hours(3);
                let decided = due
                    .map_or(later, |d| d - Duration::hours(26))
                    .max(later)
                    .min(now);
                match (channel, received, reason) {
                    (Channel::Online, _, _) => {
                        let t = created_transition()
                            .map_err(|e| StoreError::Internal(e.to_string()))?;
                        d = record(
                            (&mut tx).into(),
                            &d,
                            &t,
                            applicant.actor(),
                            created,
                            Some(None),
                        )
                        .await
                        .map_err(demo_failed)?;
                        steps.push((Command::Submit, Actor::Applicant, &applicant, submitted));
                        if let Some(r) = received {
                            let time_limit = s.entered.then_some(s.limit).flatten();
                            let note = if s.entered {
                                "Thời hạn giải quyết do Bộ phận Một cửa nhập: 15 ngày làm việc"
                            } else {
                                ""
                            };
                            steps.push((
                                Command::Receive {
                                    time_limit,
                                    note: note.into(),
                                },
                                Actor::Reception,
                                &officer,
                                r,
                            ));
                        }
                    }
                    (_, Some(r), Some(reason)) => {
                        let t = registered(
                            Registration {
                                channel,
                                offline_reason: reason,
                                code: &code,
                                desk: &desk,
                                time_limit: s.limit.unwrap_or(TimeLimit::working_days(15)),
                                procedure_name: &s.name,
                            },
                            &calendar,
                            r,
                        )
                        .map_err(|e| StoreError::Internal(e.to_string()))?;
                        d = record(
                            (&mut tx).into(),
                            &d,
                            &quiet(t),
                            officer.actor(),
                            r,
                            Some(None),
                        )
                        .await
                        .map_err(demo_failed)?;
                    }
                    _ => {}
                }
                if let (true, Some(r)) = (assigned, received) {
                    let start = (r + Duration::hours(2)).min(now);
                    let proposed = (decided - Duration::hours(20)).max(start).min(now);
                    let approved = (decided - Duration::hours(2)).max(proposed).min(now);
                    steps.push((
                        Command::Assign {
                            specialist: examiner_id.id.clone(),
                            note: String::new(),
                        },
                        Actor::Leader,
                        &leader_id,
                        start,
                    ));
                    if matches!(
                        status,
                        Status::AwaitingApproval
                            | Status::Approved
                            | Status::Decided
                            | Status::HandedOver
                    ) {
                        steps.push((
                            Command::Propose {
                                outcome: Outcome::Grant,
                                note: String::new(),
                            },
                            Actor::Specialist,
                            &examiner_id,
                            proposed,
                        ));
                    }
                    if matches!(
                        status,
                        Status::Approved | Status::Decided | Status::HandedOver
                    ) {
                        steps.push((
                            Command::Approve {
                                note: String::new(),
                            },
                            Actor::Leader,
                            &leader_id,
                            approved,
                        ));
                    }
                }
                match status {
                    Status::SupplementRequested => steps.push((
                        Command::RequestSupplement {
                            items: vec!["Bản sao giấy tờ chứng minh nơi cư trú".into()],
                            reason: String::new(),
                        },
                        Actor::Reception,
                        &officer,
                        later.min(now),
                    )),
                    Status::Refused => steps.push((
                        Command::Refuse {
                            reason: "Hồ sơ không thuộc thẩm quyền giải quyết".into(),
                        },
                        Actor::Reception,
                        &officer,
                        closed.unwrap_or(later).min(now),
                    )),
                    Status::Withdrawn if channel == Channel::Online => steps.push((
                        Command::Withdraw {
                            reason: "Người nộp yêu cầu rút hồ sơ".into(),
                        },
                        Actor::Applicant,
                        &applicant,
                        closed.unwrap_or(later).min(now),
                    )),
                    Status::Withdrawn => steps.push((
                        Command::Withdraw {
                            reason: "Người nộp yêu cầu rút hồ sơ".into(),
                        },
                        Actor::Reception,
                        &officer,
                        closed.unwrap_or(later).min(now),
                    )),
                    Status::Decided | Status::HandedOver => {
                        steps.push((
                            Command::IssueResult {
                                result: result_doc.clone(),
                                note: String::new(),
                            },
                            Actor::Leader,
                            &leader_id,
                            decided,
                        ));
                        if status == Status::HandedOver {
                            let method = if channel == Channel::Online {
                                HandOverMethod::Online
                            } else {
                                HandOverMethod::Counter
                            };
                            steps.push((
                                Command::HandOver {
                                    method,
                                    note: String::new(),
                                },
                                Actor::Reception,
                                &officer,
                                closed.unwrap_or(decided).max(decided),
                            ));
                        }
                    }
                    _ => {}
                }
                for (command, actor, who, at) in steps {
                    let at = micros(at);
                    let lookups = Lookups {
                        code: Some(code.clone()),
                        desk: Some(desk.clone()),
                        published_limit: s.limit,
                        workflow: None,
                        specialist_name: Some(examiner_id.name.clone()),
                    };
                    let agencies = [s.agency.as_str()];
                    let ctx = Context {
                        actor,
                        by: By {
                            id: &who.id,
                            name: &who.name,
                            agencies: &agencies,
                        },
                        subject: Subject {
                            agency_code: &s.agency,
                            applicant_name: &d.applicant_name,
                            procedure_name: &d.procedure_name,
                            channel,
                        },
                        asked: &[],
                        calendar: &calendar,
                        lookups: &lookups,
                        now: at,
                    };
                    let t = handle(&d.life, &command, &ctx)
                        .map_err(|e| StoreError::Internal(format!("demo dossier {code}: {e}")))?;
                    d = record((&mut tx).into(), &d, &quiet(t), who.actor(), at, None)
                        .await
                        .map_err(demo_failed)?;
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
        let by: Option<String> =
            on_pool!(self.backend(), |p| sqlx::query_scalar(DEMO_PLAN_MONITOR)
                .fetch_optional(p)
                .await)?;
        let Some(by) = by else { return Ok(0) };
        let month = |s: &str| {
            s.parse::<motcua_core::plan::Month>()
                .map_err(|e| StoreError::Internal(e.to_string()))
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

/// Someone who acts in the demo's history.
#[derive(Debug, Clone, Default)]
struct Who {
    id: String,
    name: String,
}

impl Who {
    fn actor(&self) -> EventActor<'_> {
        EventActor {
            id: Some(self.id.as_str()).filter(|id| !id.is_empty()),
            name: &self.name,
        }
    }
}

/// The demo's history is in the past: nobody is told about it.
fn quiet(mut t: Transition) -> Transition {
    t.notices.clear();
    t
}

fn demo_failed(e: ActError) -> StoreError {
    match e {
        ActError::Store(e) => e,
        other => StoreError::Internal(format!("demo dossier: {other}")),
    }
}

/// A sample's row before its history is recorded on it.
const INSERT_SAMPLE: &str = "INSERT INTO dossiers (id, procedure_id, procedure_version, \
     procedure_code, procedure_name, agency_code, applicant_id, applicant_name, applicant_phone, \
     admin_unit_code, channel, offline_reason, status, form_data, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'draft', $13, $14, $14)";

/// A stand-in official: a name on the demo's history, never an account anyone signs in with.
const INSERT_STAND_IN: &str = "INSERT INTO users (id, username, display_name, password_hash, \
     created_at, kind, status) VALUES ($1, $2, $3, '!', $4, 'official', 'disabled')";
