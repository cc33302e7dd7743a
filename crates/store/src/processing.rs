//! The back office in the store: every action on a dossier goes through [`Store::act`], which
//! reads the locked row, its requests to other agencies and the calendar, asks the core's state
//! machine, and writes the new state, the hash-chained event and the applicant's notification in
//! one transaction. Also here: who may act on a dossier in which capacity, and workflows.

use crate::accounts::Account;
use crate::backend::{on_pool, BeginWrite};
use crate::dossiers::{
    micros, next_code, procedure_body, Act, ActError, CodeSettings, Dossier, Row, COLUMNS,
};
use crate::events::EventActor;
use crate::transitions::record;
use crate::{Store, StoreError};
use motcua_core::calendar::deadline::{OfficeHours, WorkCalendar};
use motcua_core::dossier::command::{Asked, By, Lookups, Subject};
use motcua_core::dossier::{
    decide, handle, receiving_desk, Action, Actor, Command, Context, Facts, RuleError, Status,
    Workflow,
};
use motcua_core::Role;
use time::OffsetDateTime;

const SELECT_CONSULTATIONS_BY_DOSSIER_ID: &str =
    "SELECT id, dossier_id, step, agency_code, sent_at, due_at, answered_at, answer \
     FROM consultations \
     WHERE dossier_id = $1 \
     ORDER BY step";

const PENDING_CONSULT_AGENCIES: &str = "SELECT agency_code \
     FROM consultations \
     WHERE dossier_id = $1 AND answered_at IS NULL";

const SELECT_WORKFLOWS_BY_PROCEDURE_ID: &str = "SELECT version, body, created_at \
     FROM workflows \
     WHERE procedure_id = $1 \
     ORDER BY version DESC \
     LIMIT 1";

const LATEST_WORKFLOW_VERSION: &str = "SELECT MAX(version) \
     FROM workflows \
     WHERE procedure_id = $1";

const INSERT_WORKFLOWS: &str =
    "INSERT INTO workflows (procedure_id, version, body, created_at, created_by) \
     VALUES ($1, $2, $3, $4, $5)";

const SELECT_BLOBS_BY_SHA: &str = "SELECT media_type \
     FROM blobs \
     WHERE sha256 = $1";

const SELECT_USERS_BY_ROLE: &str = "SELECT u.id, u.display_name \
     FROM users u \
     JOIN user_roles r ON r.user_id = u.id \
     WHERE r.role = 'specialist' AND r.agency_code = $1 AND u.status = 'active' \
     ORDER BY u.display_name, u.id";

/// A request to another agency (liên thông) and its answer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Consultation {
    /// Id.
    pub id: String,
    /// Dossier.
    pub dossier_id: String,
    /// Workflow step it belongs to.
    pub step: i64,
    /// The agency asked.
    pub agency_code: String,
    /// Sent.
    pub sent_at: OffsetDateTime,
    /// Its share of the time ends.
    pub due_at: Option<OffsetDateTime>,
    /// Answered.
    pub answered_at: Option<OffsetDateTime>,
    /// The answer.
    pub answer: String,
}

/// A stored workflow version of a procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowVersion {
    /// Version, from 1 (0 is the built-in default).
    pub version: i64,
    /// Steps.
    pub workflow: Workflow,
    /// When saved.
    pub created_at: Option<OffsetDateTime>,
}

/// The capacities in which `account` may act on `d`, given the agencies with an open request
/// for this dossier. Empty: the account has nothing to do with it (the pages answer 404).
pub fn capacities(account: &Account, d: &Dossier, pending_agencies: &[String]) -> Vec<Actor> {
    let party = motcua_core::dossier::Party {
        id: &account.id,
        roles: &account.roles,
    };
    let holders = motcua_core::dossier::Holders {
        applicant_id: d.applicant_id.as_deref(),
        desk_code: d.desk_code.as_deref(),
        agency_code: &d.agency_code,
        status: d.status,
        asked: pending_agencies,
        pending: pending_agencies,
    };
    motcua_core::dossier::standing::capacities(party, holders)
}

/// The capacity to take `action` in, among those the account has: the first the rules accept
/// for that action, or the account's first capacity (which the rules then refuse, saying why).
pub fn actor_for(action: Action, caps: &[Actor]) -> Option<Actor> {
    action
        .actors()
        .iter()
        .copied()
        .find(|a| caps.contains(a))
        .or_else(|| caps.first().copied())
}

fn officer_agencies(account: &Account) -> Vec<&str> {
    account
        .roles
        .iter()
        .filter(|(r, _)| matches!(r, Role::Specialist | Role::Leader))
        .filter_map(|(_, a)| a.as_deref())
        .collect()
}

/// A consultation as the rules see it: id, step, agency, answered at.
type ConsultRow = (String, i64, String, Option<OffsetDateTime>);

const CONSULTS_OF: &str =
    "SELECT id, step, agency_code, answered_at FROM consultations WHERE dossier_id = $1 ORDER BY step";

const CURRENT_WORKFLOW: &str =
    "SELECT version, body FROM workflows WHERE procedure_id = $1 ORDER BY version DESC LIMIT 1";

const SPECIALIST_NAME: &str = "SELECT u.display_name FROM users u \
     JOIN user_roles r ON r.user_id = u.id \
     WHERE u.id = $1 AND u.status = 'active' AND r.role = 'specialist' AND r.agency_code = $2";

/// Read with the dossier to act on: the tip of its event chain and the stamp of the holiday
/// calendar, so that neither costs a statement of its own.
const TIP_AND_CALENDAR: &str = "\
     (SELECT seq FROM dossier_events WHERE dossier_id = dossiers.id ORDER BY seq DESC LIMIT 1) \
        AS last_seq, \
     (SELECT hash FROM dossier_events WHERE dossier_id = dossiers.id ORDER BY seq DESC LIMIT 1) \
        AS last_hash, \
     (SELECT COUNT(*) FROM holiday_schedules) AS holiday_stamp";

#[derive(sqlx::FromRow)]
struct RowToAct {
    #[sqlx(flatten)]
    row: Row,
    last_seq: Option<i64>,
    last_hash: Option<String>,
    holiday_stamp: i64,
}

fn asked(consults: &[ConsultRow]) -> Vec<Asked> {
    consults
        .iter()
        .map(|(id, step, agency, answered)| Asked {
            id: id.clone(),
            step: *step,
            agency: agency.clone(),
            answered: answered.is_some(),
        })
        .collect()
}

fn pending(consults: &[ConsultRow]) -> Vec<String> {
    consults
        .iter()
        .filter(|c| c.3.is_none())
        .map(|c| c.2.clone())
        .collect()
}

fn subject(d: &Dossier) -> Subject<'_> {
    Subject {
        agency_code: &d.agency_code,
        applicant_name: &d.applicant_name,
        procedure_name: &d.procedure_name,
        channel: d.channel,
    }
}

impl Store {
    /// The actions `by` may take on `d` now, each with the capacity it would be taken in (a
    /// reason assumed given): what the dossier page offers. The store re-checks on submit.
    pub async fn available_actions(
        &self,
        d: &Dossier,
        by: &Account,
        hours: &OfficeHours,
    ) -> Result<Vec<(Action, Actor)>, StoreError> {
        let holidays = self.holiday_calendar().await?;
        let cal = WorkCalendar {
            holidays: &holidays,
            hours,
        };
        let consults: Vec<ConsultRow> = on_pool!(self.backend(), |p| sqlx::query_as(CONSULTS_OF)
            .bind(&d.id)
            .fetch_all(p)
            .await)?;
        let caps = capacities(by, d, &pending(&consults));
        let agencies = officer_agencies(by);
        let who = By {
            id: &by.id,
            name: &by.display_name,
            agencies: &agencies,
        };
        let now = OffsetDateTime::now_utc();
        let facts = Facts::of(&d.life, &asked(&consults), who, &cal, now, true);
        Ok(Action::ALL
            .into_iter()
            .filter_map(|a| {
                a.actors()
                    .iter()
                    .copied()
                    .filter(|who| caps.contains(who))
                    .find(|who| decide(d.status, a, *who, &facts).is_ok())
                    .map(|who| (a, who))
            })
            .collect())
    }

    /// Takes a command: reads the row and what the command needs inside the transaction, asks
    /// the core for the transition, and records it (state, event, notices) in that transaction.
    /// Two officers acting at once: the second finds the version moved and gets
    /// [`ActError::Conflict`].
    pub async fn act(
        &self,
        act: Act<'_>,
        codes: &CodeSettings,
        hours: &OfficeHours,
    ) -> Result<Dossier, ActError> {
        let now = micros(OffsetDateTime::now_utc());
        let agencies = officer_agencies(act.by);
        let who = By {
            id: &act.by.id,
            name: &act.by.display_name,
            agencies: &agencies,
        };
        // Read before the transaction, and only for a submission, which routes by it (kept in
        // memory, see `desks`).
        let desks = match act.command {
            Command::Submit => Some(self.desk_directory().await?),
            _ => None,
        };
        let _turn = self.write_turn().await;
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let sql = format!("SELECT {COLUMNS}, {TIP_AND_CALENDAR} FROM dossiers WHERE id = $1");
            let row: Option<RowToAct> = sqlx::query_as(&sql)
                .bind(act.dossier_id)
                .fetch_optional(&mut *tx)
                .await?;
            let row = row.ok_or(ActError::NotFound)?;
            let tip = row.last_seq.zip(row.last_hash);
            let holidays = self
                .holiday_calendar_stamped((&mut tx).into(), row.holiday_stamp)
                .await?;
            let cal = WorkCalendar {
                holidays: &holidays,
                hours,
            };
            let d = Dossier::try_from(row.row)?;
            if act.expected_version.is_some_and(|v| v != d.version) {
                return Err(ActError::Conflict(d.status));
            }
            // Requests to other agencies exist only for the consult steps of its workflow.
            let consults: Vec<ConsultRow> = if d.workflow().consults().next().is_some() {
                sqlx::query_as(CONSULTS_OF)
                    .bind(&d.id)
                    .fetch_all(&mut *tx)
                    .await?
            } else {
                Vec::new()
            };
            // The capacity claimed must be one the account holds for this very dossier.
            if !capacities(act.by, &d, &pending(&consults)).contains(&act.actor) {
                return Err(RuleError::NotYours(act.actor, act.command.action()).into());
            }
            let mut lookups = Lookups::default();
            match &act.command {
                Command::Submit => {
                    let levels =
                        procedure_body((&mut tx).into(), &d.procedure_id, d.procedure_version)
                            .await?
                            .map(|p| p.levels)
                            .unwrap_or_default();
                    lookups.desk = desks
                        .as_ref()
                        .and_then(|dir| {
                            dir.desk(&receiving_desk(&levels, d.admin_unit_code.as_deref()))
                        })
                        .map(str::to_owned);
                    // Only once the rules allow it: a refused submission takes no number.
                    if decide(d.status, Action::Submit, act.actor, &Facts::default()).is_ok() {
                        lookups.code = Some(next_code((&mut tx).into(), codes, now).await?);
                    }
                }
                Command::Receive { time_limit, .. } => {
                    if time_limit.is_none() {
                        lookups.published_limit =
                            procedure_body((&mut tx).into(), &d.procedure_id, d.procedure_version)
                                .await?
                                .and_then(|p| p.time_limit);
                    }
                    let current: Option<(i64, String)> = sqlx::query_as(CURRENT_WORKFLOW)
                        .bind(&d.procedure_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    lookups.workflow = current
                        .map(|(v, body)| {
                            serde_json::from_str(&body).map(|w| (v, w)).map_err(|e| {
                                StoreError::Internal(format!("workflow of {}: {e}", d.procedure_id))
                            })
                        })
                        .transpose()?;
                }
                Command::Assign { specialist, .. } => {
                    lookups.specialist_name = sqlx::query_scalar(SPECIALIST_NAME)
                        .bind(specialist)
                        .bind(&d.agency_code)
                        .fetch_optional(&mut *tx)
                        .await?;
                }
                _ => {}
            }
            let asked = asked(&consults);
            let ctx = Context {
                actor: act.actor,
                by: who,
                subject: subject(&d),
                asked: &asked,
                calendar: &cal,
                lookups: &lookups,
                now,
            };
            let t = handle(&d.life, &act.command, &ctx)?;
            let by = EventActor {
                id: Some(&act.by.id),
                name: &act.by.display_name,
            };
            let after = record((&mut tx).into(), &d, &t, by, now, Some(tip)).await?;
            tx.commit().await?;
            Ok(after)
        })
    }

    /// A dossier's requests to other agencies, in workflow order.
    pub async fn consultations(&self, dossier_id: &str) -> Result<Vec<Consultation>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_CONSULTATIONS_BY_DOSSIER_ID)
                .bind(dossier_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Agencies asked about a dossier that have not answered yet.
    pub async fn pending_agencies(&self, dossier_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(
            PENDING_CONSULT_AGENCIES
        )
        .bind(dossier_id)
        .fetch_all(p)
        .await)?)
    }

    /// The current workflow of a procedure (version 0: the built-in default).
    pub async fn workflow(&self, procedure_id: &str) -> Result<WorkflowVersion, StoreError> {
        let row: Option<(i64, String, OffsetDateTime)> = on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_WORKFLOWS_BY_PROCEDURE_ID)
                .bind(procedure_id)
                .fetch_optional(p)
                .await
        })?;
        match row {
            None => Ok(WorkflowVersion {
                version: 0,
                workflow: Workflow::default(),
                created_at: None,
            }),
            Some((version, body, at)) => Ok(WorkflowVersion {
                version,
                workflow: serde_json::from_str(&body).map_err(|e| {
                    StoreError::Internal(format!("workflow of {procedure_id}: {e}"))
                })?,
                created_at: Some(at),
            }),
        }
    }

    /// Saves a new version of a procedure's workflow (already validated); dossiers under way keep
    /// the version they started with. Returns the new version number.
    pub async fn save_workflow(
        &self,
        procedure_id: &str,
        workflow: &Workflow,
        by: &Account,
    ) -> Result<i64, StoreError> {
        let body =
            serde_json::to_string(workflow).map_err(|e| StoreError::Internal(e.to_string()))?;
        let now = micros(OffsetDateTime::now_utc());
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let last: Option<i64> = sqlx::query_scalar(LATEST_WORKFLOW_VERSION)
                .bind(procedure_id)
                .fetch_one(&mut *tx)
                .await?;
            let version = last.unwrap_or(0) + 1;
            sqlx::query(INSERT_WORKFLOWS)
                .bind(procedure_id)
                .bind(version)
                .bind(&body)
                .bind(now)
                .bind(&by.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(version)
        })
    }

    /// A work queue of an agency: dossiers in `statuses` (optionally only those assigned to
    /// `assignee`), or with a request to the agency still unanswered (`consulted`), the most
    /// urgent first.
    pub async fn work_queue(
        &self,
        agency: &str,
        statuses: &[Status],
        assignee: Option<&str>,
        consulted: bool,
        limit: i64,
    ) -> Result<Vec<Dossier>, StoreError> {
        let rows: Vec<Row> = if consulted {
            let sql = format!(
                "SELECT {COLUMNS} \
     FROM dossiers \
     WHERE status = 'consulting' AND id IN (SELECT dossier_id FROM consultations WHERE \
     agency_code = $1 AND answered_at IS NULL) \
     ORDER BY due_at IS NULL, due_at \
     LIMIT $2"
            );
            on_pool!(self.backend(), |p| sqlx::query_as(&sql)
                .bind(agency)
                .bind(limit)
                .fetch_all(p)
                .await)?
        } else {
            let list = statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {COLUMNS} \
     FROM dossiers \
     WHERE agency_code = $1 AND status IN ({list}) AND ($2 = '' OR assignee_id = $2) \
     ORDER BY due_at IS NULL, due_at, received_at \
     LIMIT $3"
            );
            on_pool!(self.backend(), |p| sqlx::query_as(&sql)
                .bind(agency)
                .bind(assignee.unwrap_or(""))
                .bind(limit)
                .fetch_all(p)
                .await)?
        };
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// The ledger (Sổ theo dõi hồ sơ, Mẫu 06) of a desk or agency: dossiers it received or
    /// decides, received in `[from, until)`, in order of reception.
    pub async fn ledger(
        &self,
        unit: &str,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Dossier>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} \
     FROM dossiers \
     WHERE (desk_code = $1 OR agency_code = $1) AND received_at >= $2 AND received_at < $3 \
     ORDER BY received_at, id \
     LIMIT 100000"
        );
        let rows: Vec<Row> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(unit)
            .bind(micros(from))
            .bind(micros(until))
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Dossier::try_from).collect()
    }

    /// The media type a blob was stored with.
    pub async fn blob_media_type(&self, sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self.backend(), |p| sqlx::query_scalar(
            SELECT_BLOBS_BY_SHA
        )
        .bind(sha256)
        .fetch_optional(p)
        .await)?)
    }

    /// Stores generated bytes (a result the system issued) as a durable blob; returns its hash
    /// and size.
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<(String, u64), StoreError> {
        let staged = self.blobs.put_bytes(bytes).await?;
        Ok((staged.sha256.clone(), staged.size))
    }

    /// Active specialists of an agency (whom a leader may assign), by name.
    pub async fn specialists(&self, agency: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_USERS_BY_ROLE)
                .bind(agency)
                .fetch_all(p)
                .await
        })?)
    }
}
