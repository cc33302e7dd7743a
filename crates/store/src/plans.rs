//! Plans and their progress reports in the store. The plan document is kept whole as JSON (its
//! shape is the core's `Plan`); reports are rows, so totals per task, target, agency and month
//! are plain queries.

use crate::backend::{on_pool, BeginWrite};
use crate::blobs::Staged;
use crate::dossiers::micros;
use crate::{Store, StoreError};
use motcua_core::dossier::FileKind;
use motcua_core::plan::{Month, Plan};
use time::OffsetDateTime;

const UPSERT_PLANS: &str = "INSERT INTO plans (id, code, body, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (code) \
     DO UPDATE \
     SET body = excluded.body, updated_at = excluded.updated_at";

const SELECT_PLANS_BY_CODE: &str = "SELECT id \
     FROM plans \
     WHERE code = $1";

const SELECT_PLANS: &str = "SELECT id, body \
     FROM plans \
     ORDER BY created_at DESC";

const SELECT_PLANS_BY_ID: &str = "SELECT id, body \
     FROM plans \
     WHERE id = $1";

const SELECT_PROGRESS_REPORTS_BY_PLAN_ID: &str =
    "SELECT id, task_code, target, agency_code, month, quantity, cost_vnd, done, \
     evidence_url, evidence_sha256, evidence_name, reported_by, created_at \
     FROM progress_reports \
     WHERE plan_id = $1 \
     ORDER BY month, created_at";

const INSERT_BLOBS: &str = "INSERT INTO blobs (sha256, size, media_type, created_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (sha256) DO NOTHING";

const INSERT_PROGRESS_REPORTS: &str =
    "INSERT INTO progress_reports (id, plan_id, task_code, target, agency_code, month, \
     quantity, cost_vnd, done, evidence_url, evidence_sha256, evidence_name, reported_by, \
     created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

const SELECT_AGENCIES_BY_SUCCESSOR_CODE: &str = "SELECT code, successor_code \
     FROM agencies \
     WHERE successor_code IS NOT NULL";

const INSERT_PLAN_DIFFICULTIES: &str =
    "INSERT INTO plan_difficulties (id, plan_id, task_code, agency_code, text, raised_by, \
     raised_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

const UPDATE_PLAN_DIFFICULTIES_RESPONSE: &str = "UPDATE plan_difficulties \
     SET response = $1, responded_by = $2, responded_at = $3 \
     WHERE id = $4 AND plan_id = $5 AND responded_at IS NULL";

const SELECT_PLAN_DIFFICULTIES_BY_PLAN_ID: &str =
    "SELECT id, task_code, agency_code, text, raised_at, response, responded_at \
     FROM plan_difficulties \
     WHERE plan_id = $1 \
     ORDER BY responded_at IS NOT NULL, raised_at";

const INSERT_BUDGET_ESTIMATES: &str =
    "INSERT INTO budget_estimates (id, plan_id, task_code, agency_code, year, amount_vnd, \
     funding, note, status, created_by, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10)";

const UPDATE_BUDGET_ESTIMATES_STATUS: &str = "UPDATE budget_estimates \
     SET status = $1, decision = COALESCE($2, decision), updated_at = $3, \
     version = version + 1 \
     WHERE id = $4 AND plan_id = $5 AND status = $6";

const SELECT_BUDGET_ESTIMATES_BY_PLAN_ID: &str =
    "SELECT id, task_code, agency_code, year, amount_vnd, funding, note, status, decision, \
     version \
     FROM budget_estimates \
     WHERE plan_id = $1 \
     ORDER BY task_code, year, agency_code";

const SELECT_AGENCIES: &str = "SELECT code, successor_code, name \
     FROM agencies";

const SELECT_USERS_BY_KIND: &str = "SELECT u.id, u.email, r.role, r.agency_code \
     FROM users u \
     JOIN user_roles r ON r.user_id = u.id \
     WHERE u.kind = 'official' AND u.status = 'active'";

const INSERT_NOTIFICATIONS: &str =
    "INSERT INTO notifications (id, user_id, title, body, created_at, dedupe_key) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (dedupe_key) DO NOTHING";

/// A stored plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPlan {
    /// Id.
    pub id: String,
    /// The plan.
    pub plan: Plan,
}

/// A progress report as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProgressReport {
    /// Id.
    pub id: String,
    /// Task number.
    pub task_code: String,
    /// Target key, if the report counts towards one.
    pub target: Option<String>,
    /// Reporting agency.
    pub agency_code: String,
    /// Month of delivery, YYYY-MM.
    pub month: String,
    /// Quantity.
    pub quantity: i64,
    /// Cost in đồng.
    pub cost_vnd: i64,
    /// What was done.
    pub done: String,
    /// Link to the evidence.
    pub evidence_url: Option<String>,
    /// Evidence file (blob).
    pub evidence_sha256: Option<String>,
    /// Its name.
    pub evidence_name: Option<String>,
    /// Reporting official.
    pub reported_by: String,
    /// When.
    pub created_at: OffsetDateTime,
}

impl ProgressReport {
    /// The month as a value.
    pub fn month(&self) -> Option<Month> {
        self.month.parse().ok()
    }
}

/// A report to store (already checked against its task).
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    /// Plan id.
    pub plan_id: &'a str,
    /// Task number.
    pub task_code: &'a str,
    /// Target key.
    pub target: Option<&'a str>,
    /// Agency.
    pub agency_code: &'a str,
    /// Month.
    pub month: Month,
    /// Quantity.
    pub quantity: i64,
    /// Cost.
    pub cost_vnd: i64,
    /// What was done.
    pub done: &'a str,
    /// Link.
    pub evidence_url: Option<&'a str>,
    /// File, staged and checked.
    pub evidence_file: Option<(&'a Staged, FileKind, &'a str)>,
    /// Reporting official.
    pub reported_by: &'a str,
}

fn decode(id: String, body: &str) -> Result<StoredPlan, StoreError> {
    let plan = serde_json::from_str(body)
        .map_err(|e| StoreError::Internal(format!("plan {id} is corrupt: {e}")))?;
    Ok(StoredPlan { id, plan })
}

impl Store {
    /// Stores a plan, or replaces the one with the same code. Returns its id.
    pub async fn put_plan(&self, plan: &Plan) -> Result<String, StoreError> {
        let body = serde_json::to_string(plan).map_err(|e| StoreError::Internal(e.to_string()))?;
        let now = micros(OffsetDateTime::now_utc());
        let id = crate::ids::row_id();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(UPSERT_PLANS)
                .bind(&id)
                .bind(&plan.code)
                .bind(&body)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let id: String = sqlx::query_scalar(SELECT_PLANS_BY_CODE)
                .bind(&plan.code)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Every plan, newest first.
    pub async fn plans(&self) -> Result<Vec<StoredPlan>, StoreError> {
        let rows: Vec<(String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SELECT_PLANS)
                .fetch_all(p)
                .await)?;
        rows.into_iter().map(|(id, b)| decode(id, &b)).collect()
    }

    /// A plan by id.
    pub async fn plan(&self, id: &str) -> Result<Option<StoredPlan>, StoreError> {
        let row: Option<(String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SELECT_PLANS_BY_ID)
                .bind(id)
                .fetch_optional(p)
                .await)?;
        row.map(|(id, b)| decode(id, &b)).transpose()
    }

    /// The reports of a plan, oldest month first.
    pub async fn progress_reports(&self, plan_id: &str) -> Result<Vec<ProgressReport>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_PROGRESS_REPORTS_BY_PLAN_ID)
                .bind(plan_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Stores a checked report (and its evidence file, made durable first).
    pub async fn add_progress_report(&self, r: NewReport<'_>) -> Result<String, StoreError> {
        if let Some((staged, _, _)) = r.evidence_file {
            self.commit_blob(staged).await?;
        }
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let file = r.evidence_file.map(|(s, k, n)| {
            (
                s.sha256.clone(),
                i64::try_from(s.size).unwrap_or(i64::MAX),
                k,
                n.to_owned(),
            )
        });
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some((sha, size, kind, _)) = &file {
                sqlx::query(INSERT_BLOBS)
                    .bind(sha)
                    .bind(size)
                    .bind(kind.media_type())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(INSERT_PROGRESS_REPORTS)
                .bind(&id)
                .bind(r.plan_id)
                .bind(r.task_code)
                .bind(r.target)
                .bind(r.agency_code)
                .bind(r.month.to_string())
                .bind(r.quantity)
                .bind(r.cost_vnd)
                .bind(r.done)
                .bind(r.evidence_url)
                .bind(file.as_ref().map(|f| f.0.clone()))
                .bind(file.as_ref().map(|f| f.3.clone()))
                .bind(r.reported_by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(id)
    }

    /// The agencies `agency` speaks for: itself and, recursively, those merged into it.
    pub async fn acting_for(&self, agency: &str) -> Result<Vec<String>, StoreError> {
        let links: Vec<(String, String)> = on_pool!(self.backend(), |p| sqlx::query_as(
            SELECT_AGENCIES_BY_SUCCESSOR_CODE
        )
        .fetch_all(p)
        .await)?;
        let mut out = vec![agency.to_owned()];
        let mut i = 0;
        while i < out.len() {
            let current = out[i].clone();
            for (code, successor) in &links {
                if *successor == current && !out.contains(code) {
                    out.push(code.clone());
                }
            }
            i += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::demo::PLAN_147_JSON;
    use motcua_core::plan::Plan;
    use motcua_core::text::fold_vi;

    const SEED: &str = include_str!("../demo/plan-147-KH-UBND-2018.txt");

    /// How the seed names each agency the data refers to.
    const NAMES: [(&str, &str); 8] = [
        ("cong-ttdt", "Cổng thông tin điện tử của tỉnh"),
        ("bao-ls", "Báo Lạng Sơn"),
        ("dai-ptth", "Đài Phát thanh và Truyền hình tỉnh"),
        ("so-tttt", "Sở Thông tin và Truyền thông"),
        ("vp-ubnd-tinh", "Văn phòng UBND tỉnh"),
        ("so-nv", "Sở Nội vụ"),
        ("vien-thong-ls", "Doanh nghiệp viễn thông"),
        ("so-khcn", "Sở Khoa học và Công nghệ"),
    ];

    /// The text of a task's section in the seed: from its heading to the next one.
    fn section(code: &str) -> String {
        let lines: Vec<&str> = SEED.lines().collect();
        let heading = format!("{code}. ");
        // Tasks are numbered inside part III (parts I and II number their own paragraphs).
        let part = lines
            .iter()
            .position(|l| l.starts_with("III. "))
            .expect("part III");
        let start = part
            + lines[part..]
                .iter()
                .position(|l| l.starts_with(&heading))
                .unwrap_or_else(|| panic!("task {code} is not in the seed"));
        let is_heading = |l: &str| {
            let head = l.split(' ').next().unwrap_or("");
            head.ends_with('.')
                && head
                    .trim_end_matches('.')
                    .split('.')
                    .all(|p| p.parse::<u32>().is_ok())
                || l.starts_with("IV. ")
        };
        let end = lines[start + 1..]
            .iter()
            .position(|l| is_heading(l))
            .map_or(lines.len(), |i| start + 1 + i);
        lines[start..end].join("\n")
    }

    fn vietnamese_number(n: u32) -> String {
        if n < 10 {
            return format!("{n:02}");
        }
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push('.');
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_demo_plan_holds_every_task_of_plan_147_as_the_seed_writes_it() {
        let plan: Plan = serde_json::from_str(PLAN_147_JSON).expect("plan json");
        assert_eq!(plan.code, "147/KH-UBND");
        assert!(SEED.contains("Số: 147/KH-UBND") && SEED.contains("ngày 08 tháng 11 năm 2018"));
        assert_eq!(plan.issued_on, "2018-11-08");
        let codes: Vec<&str> = plan.tasks.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(codes, ["1", "2.1", "2.2", "2.3", "3", "4"]);
        for task in &plan.tasks {
            let text = section(&task.code);
            let name = |code: &str| {
                NAMES
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|(_, n)| *n)
                    .unwrap_or_else(|| panic!("no seed name for {code}"))
            };
            for a in task.lead_agencies.iter().chain(&task.coordinating_agencies) {
                assert!(
                    text.contains(name(a)),
                    "task {}: {a} not in\n{text}",
                    task.code
                );
            }
            for t in &task.targets {
                let stated = format!("{} {}", vietnamese_number(t.quantity), t.unit);
                assert!(
                    text.contains(&stated) || text.contains(&t.unit),
                    "task {}: target '{stated}' not in\n{text}",
                    task.code
                );
                if let Some(from) = t.from {
                    let month = format!("háng {}/{}", from.month, from.year);
                    let quarter = format!("Quý IV năm {}", from.year);
                    assert!(
                        text.contains(&month) || text.contains(&quarter),
                        "task {}: {month} not in\n{text}",
                        task.code
                    );
                }
            }
            // Compared folded: the seed writes "qúy" as well as "quý".
            let folded = fold_vi(&text);
            let start_quarter = fold_vi(&format!("quý IV/{}", task.start.year));
            let start_year = fold_vi(&format!("từ năm {}", task.start.year));
            let start_q = fold_vi(&format!("quý IV năm {}", task.start.year));
            assert!(
                folded.contains(&start_quarter)
                    || folded.contains(&start_year)
                    || folded.contains(&start_q),
                "task {}: start {} not in\n{text}",
                task.code,
                task.start
            );
            if let Some(end) = task.end {
                assert!(
                    text.contains(&format!("năm {}", end.year)),
                    "task {}",
                    task.code
                );
            }
        }
        // The exact figures of the plan.
        assert!(section("2.1").contains("Mỗi tháng 01 phóng sự (thời lượng từ 03 - 05 phút)"));
        assert!(section("2.2").contains("01 video clip (thời lượng 5-10 phút)"));
        assert!(
            section("2.3").contains("in 700 quyển") && section("2.3").contains("20.000 tờ gấp")
        );
    }
}

/// A difficulty (vướng mắc) raised on a task, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Difficulty {
    /// Id.
    pub id: String,
    /// Task number.
    pub task_code: String,
    /// Raising agency.
    pub agency_code: String,
    /// What is in the way.
    pub text: String,
    /// When.
    pub raised_at: OffsetDateTime,
    /// The monitor's answer.
    pub response: Option<String>,
    /// When it was answered.
    pub responded_at: Option<OffsetDateTime>,
}

/// A budget estimate (dự toán).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BudgetEstimate {
    /// Id.
    pub id: String,
    /// Task number.
    pub task_code: String,
    /// Agency.
    pub agency_code: String,
    /// Budget year.
    pub year: i64,
    /// Amount in đồng.
    pub amount_vnd: i64,
    /// `province` or `local`.
    pub funding: String,
    /// What it covers.
    pub note: String,
    /// `draft`, `submitted`, `approved`, `returned`.
    pub status: String,
    /// The monitor's decision note.
    pub decision: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Store {
    /// Raises a difficulty on a task for an agency.
    pub async fn raise_difficulty(
        &self,
        plan_id: &str,
        task_code: &str,
        agency: &str,
        text: &str,
        by: &str,
    ) -> Result<String, StoreError> {
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        on_pool!(self.backend(), |p| {
            sqlx::query(INSERT_PLAN_DIFFICULTIES)
                .bind(&id)
                .bind(plan_id)
                .bind(task_code)
                .bind(agency)
                .bind(text)
                .bind(by)
                .bind(now)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(id)
    }

    /// Answers a difficulty once; false if it was already answered (or does not exist).
    pub async fn respond_difficulty(
        &self,
        plan_id: &str,
        id: &str,
        response: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let now = micros(OffsetDateTime::now_utc());
        let n = on_pool!(self.backend(), |p| {
            sqlx::query(UPDATE_PLAN_DIFFICULTIES_RESPONSE)
                .bind(response)
                .bind(by)
                .bind(now)
                .bind(id)
                .bind(plan_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The difficulties of a plan, open ones first.
    pub async fn difficulties(&self, plan_id: &str) -> Result<Vec<Difficulty>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_PLAN_DIFFICULTIES_BY_PLAN_ID)
                .bind(plan_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Drafts a budget estimate.
    #[allow(clippy::too_many_arguments)]
    pub async fn draft_estimate(
        &self,
        plan_id: &str,
        task_code: &str,
        agency: &str,
        year: i32,
        amount_vnd: i64,
        funding: &str,
        note: &str,
        by: &str,
    ) -> Result<String, StoreError> {
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        on_pool!(self.backend(), |p| {
            sqlx::query(INSERT_BUDGET_ESTIMATES)
                .bind(&id)
                .bind(plan_id)
                .bind(task_code)
                .bind(agency)
                .bind(i64::from(year))
                .bind(amount_vnd)
                .bind(funding)
                .bind(note)
                .bind(by)
                .bind(now)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        Ok(id)
    }

    /// Moves an estimate from `from` to `to` if it is still in `from`; false otherwise (someone
    /// acted first, or the rules did not allow it).
    pub async fn move_estimate(
        &self,
        plan_id: &str,
        id: &str,
        from: motcua_core::plan::BudgetStatus,
        to: motcua_core::plan::BudgetStatus,
        decision: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = micros(OffsetDateTime::now_utc());
        let n = on_pool!(self.backend(), |p| {
            sqlx::query(UPDATE_BUDGET_ESTIMATES_STATUS)
                .bind(to.as_str())
                .bind(decision)
                .bind(now)
                .bind(id)
                .bind(plan_id)
                .bind(from.as_str())
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The budget estimates of a plan.
    pub async fn estimates(&self, plan_id: &str) -> Result<Vec<BudgetEstimate>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_BUDGET_ESTIMATES_BY_PLAN_ID)
                .bind(plan_id)
                .fetch_all(p)
                .await
        })?)
    }
}

impl Store {
    /// Reminds the officials of each agency that leads a task (and of the agency it was merged
    /// into) when a period closes within days with its target unmet, and chases them when it
    /// closed unmet: an in-app notification and, for those with an email, an outbox message.
    /// Each reminder is written once, however often this runs. Returns how many were written.
    pub async fn send_plan_reminders(&self, today: time::Date) -> Result<u64, StoreError> {
        let agencies: Vec<(String, Option<String>, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(SELECT_AGENCIES)
                .fetch_all(p)
                .await)?;
        let officials: Vec<(String, Option<String>, String, Option<String>)> =
            on_pool!(self.backend(), |p| {
                sqlx::query_as(SELECT_USERS_BY_KIND).fetch_all(p).await
            })?;
        let now = micros(OffsetDateTime::now_utc());
        let mut written = 0;
        for stored in self.plans().await? {
            let reports = self.progress_reports(&stored.id).await?;
            for task in &stored.plan.tasks {
                let delivered: Vec<(String, Month, i64)> = reports
                    .iter()
                    .filter(|r| r.task_code == task.code)
                    .filter_map(|r| Some((r.target.clone()?, r.month()?, r.quantity)))
                    .collect();
                for reminder in motcua_core::plan::reminders(task, &delivered, today) {
                    let target = task.targets.iter().find(|t| t.key == reminder.target);
                    let unit = target.map_or("", |t| t.unit.as_str());
                    for lead in &task.lead_agencies {
                        // The agency and whoever took it over.
                        let mut chain = vec![lead.clone()];
                        while let Some((_, Some(next), _)) =
                            agencies.iter().find(|(c, _, _)| Some(c) == chain.last())
                        {
                            if chain.contains(next) {
                                break;
                            }
                            chain.push(next.clone());
                        }
                        let name = agencies
                            .iter()
                            .find(|(c, _, _)| c == lead)
                            .map_or(lead.as_str(), |(_, _, n)| n.as_str());
                        let (title, body) = match reminder.kind {
                            motcua_core::plan::ReminderKind::Closing => (
                                format!("Sắp hết kỳ báo cáo nhiệm vụ {} ({})", task.code, reminder.period.label_vi()),
                                format!("Kế hoạch {}: nhiệm vụ {} của {} chưa báo cáo đủ chỉ tiêu {} kỳ {}. Đề nghị cập nhật báo cáo tiến độ trước khi hết kỳ.", stored.plan.code, task.code, name, unit, reminder.period.label_vi()),
                            ),
                            motcua_core::plan::ReminderKind::Late => (
                                format!("Quá hạn báo cáo nhiệm vụ {} ({})", task.code, reminder.period.label_vi()),
                                format!("Kế hoạch {}: kỳ {} của nhiệm vụ {} đã kết thúc nhưng {} chưa báo cáo đủ chỉ tiêu {}. Đề nghị báo cáo ngay.", stored.plan.code, reminder.period.label_vi(), task.code, name, unit),
                            ),
                        };
                        let kind = format!("{:?}", reminder.kind);
                        for (user, email, role, agency) in &officials {
                            let reports_for = agency.as_ref().is_some_and(|a| chain.contains(a))
                                && role.parse::<motcua_core::Role>().is_ok_and(|r| {
                                    r.allows(motcua_core::accounts::Permission::ReportPlanProgress)
                                });
                            if !reports_for {
                                continue;
                            }
                            let key = format!(
                                "plan:{}:{}:{}:{}:{}:{kind}:{user}",
                                stored.id, task.code, reminder.target, lead, reminder.period.start
                            );
                            let inserted = on_pool!(self.backend(), |pool| {
                                let mut tx = pool.begin_write().await?;
                                let n = sqlx::query(INSERT_NOTIFICATIONS)
                                    .bind(crate::ids::row_id())
                                    .bind(user)
                                    .bind(&title)
                                    .bind(&body)
                                    .bind(now)
                                    .bind(&key)
                                    .execute(&mut *tx)
                                    .await?
                                    .rows_affected();
                                if n == 1 {
                                    if let Some(to) = email.as_deref().filter(|e| !e.is_empty()) {
                                        crate::outbox::enqueue(
                                            (&mut tx).into(),
                                            to,
                                            &title,
                                            &body,
                                            &key,
                                            now,
                                            motcua_core::delivery::MessageKind::Notice,
                                        )
                                        .await?;
                                    }
                                }
                                tx.commit().await?;
                                Ok::<_, StoreError>(n)
                            })?;
                            written += inserted;
                        }
                    }
                }
            }
        }
        Ok(written)
    }
}

/// Why a plan was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PlanImportError {
    /// The file is not a plan.
    #[error("not a plan file: {0}")]
    Parse(String),
    /// The plan has problems; every one is listed and nothing was stored.
    #[error("{} problem(s); nothing was stored", .0.len())]
    Invalid(Vec<motcua_core::plan::PlanProblem>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Checks a plan against the agencies and stores it (replacing the plan with the same code).
    /// Reports already filed stay attached to their task numbers.
    pub async fn import_plan(&self, plan: &Plan) -> Result<String, PlanImportError> {
        let codes: Vec<String> = on_pool!(self.backend(), |p| sqlx::query_scalar(
            "SELECT code FROM agencies"
        )
        .fetch_all(p)
        .await)
        .map_err(StoreError::from)?;
        let problems = plan.validate(&|a| codes.iter().any(|c| c == a));
        if !problems.is_empty() {
            return Err(PlanImportError::Invalid(problems));
        }
        Ok(self.put_plan(plan).await?)
    }

    /// Reads and stores a plan file (JSON, `docs/plan-files.md`).
    pub async fn import_plan_json(&self, bytes: &[u8]) -> Result<String, PlanImportError> {
        let plan: Plan =
            serde_json::from_slice(bytes).map_err(|e| PlanImportError::Parse(e.to_string()))?;
        self.import_plan(&plan).await
    }
}
