//! Accounts in the store: applicants and officials, sessions, one-time codes, API tokens, login
//! throttling and the security audit log. Secrets (session ids, tokens,
//! codes) are stored only as SHA-256 hashes, so a copy of the database opens no account.

use crate::backend::{on_pool, on_tx, BeginWrite, WriteTx};
use crate::outbox::enqueue;
use crate::{Backend, Store, StoreError};
use motcua_core::delivery::MessageKind;
use motcua_core::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

const INSERT_PENDING_APPLICANT: &str =
    "INSERT INTO users (id, username, display_name, password_hash, created_at, kind, status, \
     email, phone, password_changed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $5)";

const VOID_OLDER_CODES: &str = "UPDATE one_time_codes \
     SET used_at = $1 \
     WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL";

const UPDATE_ONE_TIME_CODES_ATTEMPTS: &str = "UPDATE one_time_codes \
     SET attempts = attempts + 1 \
     WHERE id = $1 AND attempts < $2 AND used_at IS NULL";

const SELECT_ONE_TIME_CODES_BY_ID: &str = "SELECT attempts \
     FROM one_time_codes \
     WHERE id = $1";

const USE_ONE_TIME_CODE: &str = "UPDATE one_time_codes \
     SET used_at = $1 \
     WHERE id = $2 AND used_at IS NULL";

const DELETE_SESSIONS_BY_USER_ID: &str = "DELETE \
     FROM sessions \
     WHERE user_id = $1";

const UPDATE_USERS_DISPLAY_NAME: &str = "UPDATE users \
     SET display_name = $1, cccd = $2, birth_date = $3, address = $4, admin_unit_code = $5 \
     WHERE id = $6";

const INSERT_SESSIONS: &str =
    "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) \
     VALUES ($1, $2, $3, $3, $4)";

const DELETE_SESSIONS_BY_ID_HASH: &str = "DELETE \
     FROM sessions \
     WHERE id_hash = $1";

const UPDATE_SESSIONS_LAST_SEEN_AT: &str = "UPDATE sessions \
     SET last_seen_at = $1 \
     WHERE id_hash = $2";

const INSERT_SECURITY_EVENTS: &str =
    "INSERT INTO security_events (id, at, kind, user_id, username, ip, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

const INSERT_API_TOKENS: &str =
    "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

const SELECT_API_TOKENS_BY_USER_ID: &str =
    "SELECT id, name, scopes, created_at, last_used_at, revoked_at \
     FROM api_tokens \
     WHERE user_id = $1 \
     ORDER BY created_at DESC";

const UPDATE_API_TOKENS_REVOKED_AT: &str = "UPDATE api_tokens \
     SET revoked_at = $1 \
     WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL";

const UPDATE_API_TOKENS_LAST_USED_AT: &str = "UPDATE api_tokens \
     SET last_used_at = $1 \
     WHERE token_hash = $2";

const COUNT_USERS_BY_USERNAME: &str = "SELECT COUNT(*) \
     FROM users \
     WHERE username = $1";

const INSERT_OFFICIAL: &str =
    "INSERT INTO users (id, username, display_name, password_hash, created_at, kind, status, \
     password_changed_at) \
     VALUES ($1, $2, $3, $4, $5, 'official', 'active', $5)";

const INSERT_ONE_TIME_CODES: &str =
    "INSERT INTO one_time_codes (id, user_id, purpose, code_hash, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

const SELECT_OIDC_LINKS_BY_ISSUER: &str = "SELECT u.id, u.username \
     FROM oidc_links l \
     JOIN users u ON u.id = l.user_id \
     WHERE l.issuer = $1 AND l.subject = $2";

const SELECT_USERS: &str = "SELECT id, username \
     FROM users \
     WHERE (email = $1 OR phone = $1) AND kind IN ('citizen', 'organisation')";

const UPDATE_USERS_STATUS: &str = "UPDATE users \
     SET status = 'active' \
     WHERE id = $1 AND status = 'pending'";

const UPDATE_USERS_EMAIL_VERIFIED_AT: &str = "UPDATE users \
     SET email_verified_at = COALESCE(email_verified_at, $2) \
     WHERE id = $1 AND email = $3";

const UPDATE_USERS_PHONE_VERIFIED_AT: &str = "UPDATE users \
     SET phone_verified_at = COALESCE(phone_verified_at, $2) \
     WHERE id = $1 AND phone = $3";

const INSERT_LINKED_CITIZEN: &str =
    "INSERT INTO users (id, username, display_name, password_hash, created_at, kind, status, \
     email, phone, email_verified_at, phone_verified_at) \
     VALUES ($1, $2, $3, '!', $4, 'citizen', 'active', $5, $6, \
     CASE WHEN $5 IS NULL THEN NULL ELSE $4 END, CASE WHEN $6 IS NULL THEN NULL ELSE $4 END)";

const INSERT_USER_ROLES: &str = "INSERT INTO user_roles (user_id, role, agency_code) \
     VALUES ($1, 'citizen', NULL)";

const INSERT_OIDC_LINKS: &str = "INSERT INTO oidc_links (issuer, subject, user_id, created_at) \
     VALUES ($1, $2, $3, $4)";

const SELECT_USERS_BY_USERNAME: &str = "SELECT id, username, password_hash, status \
     FROM users \
     WHERE username = $1 OR email = $1 OR phone = $1";

const SELECT_USERS_BY_ID: &str = "SELECT email, phone, email_verified_at, phone_verified_at \
     FROM users \
     WHERE id = $1";

const SELECT_ONE_TIME_CODES_BY_USER_ID: &str = "SELECT id, code_hash, expires_at \
     FROM one_time_codes \
     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL \
     ORDER BY expires_at DESC";

const ACTIVATE_PENDING_ACCOUNT: &str = "UPDATE users \
     SET status = 'active', email_verified_at = CASE WHEN email IS NOT NULL THEN $2 END, \
     phone_verified_at = CASE WHEN phone IS NOT NULL THEN $2 END \
     WHERE id = $1 AND status = 'pending'";

const SELECT_SECURITY_EVENTS: &str = "SELECT at, kind, username, ip, detail \
     FROM security_events \
     WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR username = $2) \
     ORDER BY at DESC \
     LIMIT $3";

const SELECT_USERS_BY_KIND: &str = "SELECT DISTINCT u.id \
     FROM users u \
     JOIN user_roles r ON r.user_id = u.id \
     WHERE u.kind = 'official' AND ($1 = '' OR r.agency_code = $1) \
     ORDER BY u.id";

/// SHA-256 of a secret, hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random secret of 32 bytes, hex.
pub fn new_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.next_u32() % 1_000_000)
}

/// Whether an account belongs to a person, an organisation or an official.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// Công dân.
    Citizen,
    /// Tổ chức, doanh nghiệp.
    Organisation,
    /// Cán bộ, công chức.
    Official,
}

impl AccountKind {
    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Citizen => "citizen",
            AccountKind::Organisation => "organisation",
            AccountKind::Official => "official",
        }
    }

    fn parse(s: &str) -> AccountKind {
        match s {
            "citizen" => AccountKind::Citizen,
            "organisation" => AccountKind::Organisation,
            _ => AccountKind::Official,
        }
    }
}

/// An account with its profile and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: String,
    /// Login name (for applicants: their email or phone).
    pub username: String,
    /// Name shown on pages.
    pub display_name: String,
    /// Kind.
    pub kind: AccountKind,
    /// `pending` (not verified), `active` or `disabled`.
    pub status: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// CCCD number.
    pub cccd: Option<String>,
    /// Date of birth, YYYY-MM-DD.
    pub birth_date: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Commune or ward.
    pub admin_unit_code: Option<String>,
    /// Roles, each with the agency it is scoped to.
    pub roles: Vec<(Role, Option<String>)>,
}

impl Account {
    /// Whether any role grants `p` (for agency-scoped checks, see [`Account::agencies_with`]).
    pub fn can(&self, p: motcua_core::accounts::Permission) -> bool {
        self.roles.iter().any(|(r, _)| r.allows(p))
    }

    /// Agencies in which a role grants `p`; `None` in the list means "everywhere" (system admin).
    pub fn agencies_with(&self, p: motcua_core::accounts::Permission) -> Vec<Option<String>> {
        self.roles
            .iter()
            .filter(|(r, _)| r.allows(p))
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Whether the account is a system administrator.
    pub fn is_system_admin(&self) -> bool {
        self.roles.iter().any(|(r, _)| *r == Role::SystemAdmin)
    }
}

/// An account's columns and one of its roles (or none): one row per role.
#[derive(sqlx::FromRow)]
struct AccountRoleRow {
    id: String,
    username: String,
    display_name: String,
    kind: String,
    status: String,
    email: Option<String>,
    phone: Option<String>,
    cccd: Option<String>,
    birth_date: Option<String>,
    address: Option<String>,
    admin_unit_code: Option<String>,
    role: Option<String>,
    agency_code: Option<String>,
}

/// The columns of [`AccountRoleRow`], for queries that join `users u` with `user_roles r`.
const ACCOUNT_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.kind, u.status, u.email, u.phone, u.cccd, \
     u.birth_date, u.address, u.admin_unit_code, r.role, r.agency_code";

/// A bearer token's row joined with its account's rows.
#[derive(sqlx::FromRow)]
struct TokenAccountRow {
    #[sqlx(flatten)]
    account: AccountRoleRow,
    scopes: String,
    last_used_at: Option<OffsetDateTime>,
}

/// A session's row joined with its account's rows.
#[derive(sqlx::FromRow)]
struct SessionAccountRow {
    #[sqlx(flatten)]
    account: AccountRoleRow,
    last_seen_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

/// The account of `rows` (all of one user, ordered by role), or `None` when there is none.
fn account_from_rows<'a>(mut rows: impl Iterator<Item = &'a AccountRoleRow>) -> Option<Account> {
    let first = rows.next()?;
    let role_of = |r: &AccountRoleRow| {
        let role = r.role.as_deref()?.parse::<Role>().ok()?;
        Some((role, r.agency_code.clone()))
    };
    let roles = std::iter::once(first)
        .chain(rows)
        .filter_map(role_of)
        .collect();
    Some(Account {
        id: first.id.clone(),
        username: first.username.clone(),
        display_name: first.display_name.clone(),
        kind: AccountKind::parse(&first.kind),
        status: first.status.clone(),
        email: first.email.clone(),
        phone: first.phone.clone(),
        cccd: first.cccd.clone(),
        birth_date: first.birth_date.clone(),
        address: first.address.clone(),
        admin_unit_code: first.admin_unit_code.clone(),
        roles,
    })
}

/// What a login attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    /// Account id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Status.
    pub status: String,
}

/// Why a one-time code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// No code was issued, or it was used.
    #[error("no code is waiting")]
    Missing,
    /// Wrong code.
    #[error("wrong code")]
    Wrong,
    /// Past its validity.
    #[error("the code has expired")]
    Expired,
    /// Five wrong tries: the code is void.
    #[error("too many wrong tries")]
    TooManyTries,
}

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    /// Id.
    pub id: String,
    /// Name given by the owner.
    pub name: String,
    /// Scopes, space-separated.
    pub scopes: String,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last used.
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A security event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SecurityEvent {
    /// When.
    pub at: OffsetDateTime,
    /// `login`, `login_failed`, `lockout`, `logout`, `register`, `verify`, `password_reset`,
    /// `role_change`, `token_created`, `token_revoked`, `token_used`, …
    pub kind: String,
    /// The account concerned.
    pub username: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Detail (never a secret or personal data).
    pub detail: String,
}

/// An account's email, phone and when each was proven.
type ContactRow = (
    Option<String>,
    Option<String>,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
);

/// Validity of one-time codes.
pub const CODE_TTL: Duration = Duration::minutes(15);
const CODE_MAX_TRIES: i64 = 5;

impl Store {
    /// One query for the account and its roles (a left join: one row per role), since every
    /// signed-in request reads it.
    async fn account_by_id(&self, user_id: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} \
     FROM users u \
     LEFT JOIN user_roles r ON r.user_id = u.id \
     WHERE u.id = $1 \
     ORDER BY r.role, r.agency_code"
        );
        let rows: Vec<AccountRoleRow> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(p)
            .await)?;
        Ok(account_from_rows(rows.iter()))
    }

    /// The account with this id.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.account_by_id(id).await
    }

    /// What a login needs, found by login name, email or phone.
    pub async fn login_record(&self, identifier: &str) -> Result<Option<LoginRecord>, StoreError> {
        let sql = SELECT_USERS_BY_USERNAME;
        let row: Option<(String, String, String, String)> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql)
                .bind(identifier)
                .fetch_optional(p)
                .await)?;
        Ok(
            row.map(|(id, username, password_hash, status)| LoginRecord {
                id,
                username,
                password_hash,
                status,
            }),
        )
    }

    /// Registers an applicant as `pending`, with a verification code sent through the outbox, in
    /// one transaction. Returns the account id, or `None` when the email or phone is taken.
    pub async fn register_applicant(
        &self,
        kind: AccountKind,
        display_name: &str,
        email: Option<&str>,
        phone: Option<&str>,
        password_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let username = email.or(phone).unwrap_or_default().to_owned();
        let id = uuid::Uuid::new_v4().to_string();
        let now = OffsetDateTime::now_utc();
        let code = new_code();
        let role = if kind == AccountKind::Organisation {
            Role::Organisation
        } else {
            Role::Citizen
        };
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let taken: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE username = $1 OR email = $1 OR phone = $1",
            )
            .bind(&username)
            .fetch_one(&mut *tx)
            .await?;
            if taken > 0 {
                return Ok(None);
            }
            sqlx::query(INSERT_PENDING_APPLICANT)
                .bind(&id)
                .bind(&username)
                .bind(display_name)
                .bind(password_hash)
                .bind(now)
                .bind(kind.as_str())
                .bind(email)
                .bind(phone)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO user_roles (user_id, role, agency_code) VALUES ($1, $2, NULL)",
            )
            .bind(&id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
            insert_code((&mut tx).into(), &id, "verify", &code, now).await?;
            enqueue((&mut tx).into(), &username, "Mã xác thực tài khoản Cổng Dịch vụ công",
                &format!("Mã xác thực tài khoản của bạn là {code}. Mã có hiệu lực trong 15 phút. Không chia sẻ mã này với bất kỳ ai."),
                &format!("verify:{id}:{now}"), now, MessageKind::Code).await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// Issues a new code for `purpose` (`verify` or `reset`) through the outbox, voiding older ones.
    pub async fn send_code(
        &self,
        user_id: &str,
        recipient: &str,
        purpose: &str,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let code = new_code();
        let (subject, body) = match purpose {
            "reset" => ("Mã đặt lại mật khẩu Cổng Dịch vụ công", format!("Mã đặt lại mật khẩu của bạn là {code}. Mã có hiệu lực trong 15 phút. Nếu bạn không yêu cầu, hãy bỏ qua tin này.")),
            _ => ("Mã xác thực tài khoản Cổng Dịch vụ công", format!("Mã xác thực tài khoản của bạn là {code}. Mã có hiệu lực trong 15 phút. Không chia sẻ mã này với bất kỳ ai.")),
        };
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(VOID_OLDER_CODES)
                .bind(now)
                .bind(user_id)
                .bind(purpose)
                .execute(&mut *tx)
                .await?;
            insert_code((&mut tx).into(), user_id, purpose, &code, now).await?;
            enqueue(
                (&mut tx).into(),
                recipient,
                subject,
                &body,
                &format!("{purpose}:{user_id}:{now}"),
                now,
                MessageKind::Code,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Where a code for `purpose` goes: for `verify`, the contact being verified (the one the
    /// applicant registered with); for `reset`, a contact already proven (email first, then
    /// phone), never the login name. `None` when the account has no such contact.
    pub async fn code_recipient(
        &self,
        user_id: &str,
        purpose: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = SELECT_USERS_BY_ID;
        let row: Option<ContactRow> = on_pool!(self.backend(), |p| sqlx::query_as(sql)
            .bind(user_id)
            .fetch_optional(p)
            .await)?;
        let Some((email, phone, email_verified, phone_verified)) = row else {
            return Ok(None);
        };
        Ok(match purpose {
            "verify" => email.or(phone),
            _ => email
                .filter(|_| email_verified.is_some())
                .or(phone.filter(|_| phone_verified.is_some())),
        })
    }

    /// Checks and uses a code. Five wrong tries void it. The try is counted before the code is
    /// compared, and the code is used by a conditional update, so parallel guesses get no extra
    /// tries and a right code opens one door only.
    pub async fn consume_code(
        &self,
        user_id: &str,
        purpose: &str,
        code: &str,
    ) -> Result<Result<(), CodeError>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let sql = SELECT_ONE_TIME_CODES_BY_USER_ID;
        let row: Option<(String, String, OffsetDateTime)> =
            on_pool!(self.backend(), |p| sqlx::query_as(sql)
                .bind(user_id)
                .bind(purpose)
                .fetch_optional(p)
                .await)?;
        let Some((id, hash, expires_at)) = row else {
            return Ok(Err(CodeError::Missing));
        };
        if expires_at <= now {
            return Ok(Err(CodeError::Expired));
        }
        let counted = on_pool!(self.backend(), |p| {
            sqlx::query(UPDATE_ONE_TIME_CODES_ATTEMPTS)
                .bind(&id)
                .bind(CODE_MAX_TRIES)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        if counted != 1 {
            return Ok(Err(CodeError::TooManyTries));
        }
        if hash_secret(code.trim()) != hash {
            let attempts: i64 = on_pool!(self.backend(), |p| sqlx::query_scalar(
                SELECT_ONE_TIME_CODES_BY_ID
            )
            .bind(&id)
            .fetch_one(p)
            .await)?;
            return Ok(Err(if attempts >= CODE_MAX_TRIES {
                CodeError::TooManyTries
            } else {
                CodeError::Wrong
            }));
        }
        let used = on_pool!(self.backend(), |p| sqlx::query(USE_ONE_TIME_CODE)
            .bind(now)
            .bind(&id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(if used == 1 {
            Ok(())
        } else {
            Err(CodeError::Missing)
        })
    }

    /// Marks a pending account active: its code proved the contact it registered with.
    pub async fn activate(&self, user_id: &str) -> Result<(), StoreError> {
        let sql = ACTIVATE_PENDING_ACCOUNT;
        on_pool!(self.backend(), |p| sqlx::query(sql)
            .bind(user_id)
            .bind(OffsetDateTime::now_utc())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        self.tokens.forget();
        Ok(())
    }

    /// Sets a new password hash and ends every session of the account.
    pub async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
            )
            .bind(password_hash)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(DELETE_SESSIONS_BY_USER_ID)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.tokens.forget();
        Ok(())
    }

    /// Saves the profile fields an applicant edits.
    pub async fn update_profile(
        &self,
        user_id: &str,
        display_name: &str,
        cccd: Option<&str>,
        birth_date: Option<&str>,
        address: Option<&str>,
        admin_unit_code: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self.backend(), |p| {
            sqlx::query(UPDATE_USERS_DISPLAY_NAME)
                .bind(display_name)
                .bind(cccd)
                .bind(birth_date)
                .bind(address)
                .bind(admin_unit_code)
                .bind(user_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.tokens.forget();
        Ok(())
    }

    /// Opens a session; returns the secret to put in the cookie.
    pub async fn create_session(
        &self,
        user_id: &str,
        absolute: Duration,
    ) -> Result<String, StoreError> {
        let secret = new_secret();
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |p| {
            sqlx::query(INSERT_SESSIONS)
                .bind(hash_secret(&secret))
                .bind(user_id)
                .bind(now)
                .bind(now + absolute)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(secret)
    }

    /// The account behind a session cookie, if the session is alive (not past its absolute end,
    /// not idle longer than `idle`). Refreshes its last-seen time at most once a minute.
    pub async fn session_account(
        &self,
        secret: &str,
        idle: Duration,
    ) -> Result<Option<Account>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let id_hash = hash_secret(secret);
        // One round trip: the session with its account and roles.
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, s.last_seen_at, s.expires_at \
     FROM sessions s \
     JOIN users u ON u.id = s.user_id \
     LEFT JOIN user_roles r ON r.user_id = u.id \
     WHERE s.id_hash = $1 \
     ORDER BY r.role, r.agency_code"
        );
        let rows: Vec<SessionAccountRow> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(&id_hash)
            .fetch_all(p)
            .await)?;
        let Some((last_seen, expires)) = rows.first().map(|r| (r.last_seen_at, r.expires_at))
        else {
            return Ok(None);
        };
        if expires <= now || last_seen + idle <= now {
            on_pool!(self.backend(), |p| sqlx::query(DELETE_SESSIONS_BY_ID_HASH)
                .bind(&id_hash)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))?;
            return Ok(None);
        }
        if now - last_seen > Duration::minutes(1) {
            on_pool!(self.backend(), |p| sqlx::query(
                UPDATE_SESSIONS_LAST_SEEN_AT
            )
            .bind(now)
            .bind(&id_hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        }
        Ok(account_from_rows(rows.iter().map(|r| &r.account)).filter(|a| a.status == "active"))
    }

    /// Ends one session.
    pub async fn end_session(&self, secret: &str) -> Result<(), StoreError> {
        on_pool!(self.backend(), |p| sqlx::query(DELETE_SESSIONS_BY_ID_HASH)
            .bind(hash_secret(secret))
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Ends every session of an account ("log out everywhere"); returns how many.
    pub async fn end_all_sessions(&self, user_id: &str) -> Result<u64, StoreError> {
        Ok(on_pool!(self.backend(), |p| sqlx::query(
            DELETE_SESSIONS_BY_USER_ID
        )
        .bind(user_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// Appends a security event.
    pub async fn log_security(
        &self,
        kind: &str,
        user_id: Option<&str>,
        username: Option<&str>,
        ip: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self.backend(), |p| {
            sqlx::query(INSERT_SECURITY_EVENTS)
                .bind(crate::ids::row_id())
                .bind(OffsetDateTime::now_utc())
                .bind(kind)
                .bind(user_id)
                .bind(username)
                .bind(ip)
                .bind(detail)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Security events, newest first, optionally filtered by kind and login name.
    pub async fn security_events(
        &self,
        kind: Option<&str>,
        username: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let sql = SELECT_SECURITY_EVENTS;
        Ok(on_pool!(self.backend(), |p| sqlx::query_as(sql)
            .bind(kind.unwrap_or_default())
            .bind(username.unwrap_or_default())
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Creates an API token; returns it once (only its hash is kept).
    pub async fn create_api_token(
        &self,
        user_id: &str,
        name: &str,
        scopes: &str,
    ) -> Result<String, StoreError> {
        let secret = format!("motcua_{}", new_secret());
        on_pool!(self.backend(), |p| {
            sqlx::query(INSERT_API_TOKENS)
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(user_id)
                .bind(name)
                .bind(hash_secret(&secret))
                .bind(scopes)
                .bind(OffsetDateTime::now_utc())
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(secret)
    }

    /// The tokens of an account.
    pub async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_API_TOKENS_BY_USER_ID)
                .bind(user_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Revokes a token of `user_id`; false when the account has no such live token.
    pub async fn revoke_api_token(
        &self,
        user_id: &str,
        token_id: &str,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self.backend(), |p| {
            sqlx::query(UPDATE_API_TOKENS_REVOKED_AT)
                .bind(OffsetDateTime::now_utc())
                .bind(token_id)
                .bind(user_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.tokens.forget();
        Ok(done == 1)
    }

    /// The account and scopes behind a bearer token, if it is live, and whether this use opens
    /// a new period of use (the first in [`TOKEN_USE_PERIOD`]): only then is `last_used_at`
    /// written, so a busy integration does not turn every API call into a database write.
    pub async fn token_account(
        &self,
        secret: &str,
    ) -> Result<Option<(Account, Vec<String>, bool)>, StoreError> {
        let hash = hash_secret(secret);
        let now = OffsetDateTime::now_utc();
        let scope_list = |scopes: &str| scopes.split_whitespace().map(str::to_owned).collect();
        if let Backend::Postgres(pool) = self.backend() {
            self.token_listener
                .get_or_init(|| crate::tokens::listen(pool.clone(), self.tokens.clone()));
            if let Some(kept) = self.tokens.get(&hash) {
                let new_period = self.record_use(&hash, kept.last_used, now).await?;
                return Ok(Some((kept.account, scope_list(&kept.scopes), new_period)));
            }
        }
        let generation = self.tokens.generation();
        // One round trip: the token with its account and roles.
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, t.scopes, t.last_used_at \
     FROM api_tokens t \
     JOIN users u ON u.id = t.user_id \
     LEFT JOIN user_roles r ON r.user_id = u.id \
     WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
     ORDER BY r.role, r.agency_code"
        );
        let rows: Vec<TokenAccountRow> = on_pool!(self.backend(), |p| sqlx::query_as(&sql)
            .bind(&hash)
            .fetch_all(p)
            .await)?;
        let Some((scopes, last_used)) = rows.first().map(|r| (r.scopes.clone(), r.last_used_at))
        else {
            return Ok(None);
        };
        let Some(account) =
            account_from_rows(rows.iter().map(|r| &r.account)).filter(|a| a.status == "active")
        else {
            return Ok(None);
        };
        let new_period = self.record_use(&hash, last_used, now).await?;
        let used = if new_period { Some(now) } else { last_used };
        self.tokens
            .keep(generation, &hash, account.clone(), scopes.clone(), used);
        Ok(Some((account, scope_list(&scopes), new_period)))
    }

    /// Writes `now` as the token's last use if it opens a new period of use; says whether it did.
    async fn record_use(
        &self,
        hash: &str,
        last_used: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let new_period = last_used.is_none_or(|t| now - t > TOKEN_USE_PERIOD);
        if new_period {
            on_pool!(self.backend(), |p| sqlx::query(
                UPDATE_API_TOKENS_LAST_USED_AT
            )
            .bind(now)
            .bind(hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
            self.tokens.used(hash, now);
        }
        Ok(new_period)
    }

    /// Creates an active official with roles.
    pub async fn create_official(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        roles: &[(Role, Option<String>)],
    ) -> Result<Option<String>, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let taken: i64 = sqlx::query_scalar(COUNT_USERS_BY_USERNAME)
                .bind(username)
                .fetch_one(&mut *tx)
                .await?;
            if taken > 0 {
                return Ok(None);
            }
            sqlx::query(INSERT_OFFICIAL)
                .bind(&id)
                .bind(username)
                .bind(display_name)
                .bind(password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for (role, agency) in roles {
                sqlx::query(
                    "INSERT INTO user_roles (user_id, role, agency_code) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(role.as_str())
                .bind(agency.as_deref())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// Officials, by agency of their roles (`None`: all agencies).
    pub async fn officials(&self, agency: Option<&str>) -> Result<Vec<Account>, StoreError> {
        let sql = SELECT_USERS_BY_KIND;
        let ids: Vec<String> = on_pool!(self.backend(), |p| sqlx::query_scalar(sql)
            .bind(agency.unwrap_or_default())
            .fetch_all(p)
            .await)?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(a) = self.account(&id).await? {
                out.push(a);
            }
        }
        out.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(out)
    }
}

async fn insert_code(
    tx: WriteTx<'_, '_>,
    user_id: &str,
    purpose: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, |tx| {
        sqlx::query(INSERT_ONE_TIME_CODES)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(user_id)
            .bind(purpose)
            .bind(hash_secret(code))
            .bind(now + CODE_TTL)
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
}

/// How precisely a token's last use is recorded (and how often its use is logged).
pub const TOKEN_USE_PERIOD: time::Duration = time::Duration::minutes(5);

/// The outcome of a single sign-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLogin {
    /// Local account.
    pub user_id: String,
    /// Its login name.
    pub username: String,
    /// `linked` (known identity), `matched` (linked now to an account with the same verified
    /// email or phone) or `created`.
    pub how: &'static str,
}

impl Store {
    /// Signs in an identity of an OpenID Connect provider: a known link, else an applicant account
    /// with the same *verified* email or phone (never an official's), else a new citizen account.
    pub async fn sso_login(
        &self,
        issuer: &str,
        subject: &str,
        name: &str,
        verified_email: Option<&str>,
        verified_phone: Option<&str>,
    ) -> Result<SsoLogin, StoreError> {
        let now = OffsetDateTime::now_utc();
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            let linked: Option<(String, String)> = sqlx::query_as(SELECT_OIDC_LINKS_BY_ISSUER)
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((user_id, username)) = linked {
                tx.commit().await?;
                return Ok(SsoLogin {
                    user_id,
                    username,
                    how: "linked",
                });
            }
            let mut found: Option<(String, String)> = None;
            for contact in [verified_email, verified_phone].into_iter().flatten() {
                if found.is_none() {
                    found = sqlx::query_as(SELECT_USERS)
                        .bind(contact)
                        .fetch_optional(&mut *tx)
                        .await?;
                }
            }
            let (user_id, username, how) = match found {
                Some((id, username)) => {
                    // The provider verified the contact: a pending account is verified by it too.
                    sqlx::query(UPDATE_USERS_STATUS)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(UPDATE_USERS_EMAIL_VERIFIED_AT)
                        .bind(&id)
                        .bind(now)
                        .bind(verified_email)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(UPDATE_USERS_PHONE_VERIFIED_AT)
                        .bind(&id)
                        .bind(now)
                        .bind(verified_phone)
                        .execute(&mut *tx)
                        .await?;
                    (id, username, "matched")
                }
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let username = verified_email.or(verified_phone).map_or_else(
                        || format!("sso-{}", &hash_secret(&format!("{issuer}|{subject}"))[..16]),
                        str::to_owned,
                    );
                    // No password: "!" is no Argon2 hash, so password login can never succeed.
                    sqlx::query(INSERT_LINKED_CITIZEN)
                        .bind(&id)
                        .bind(&username)
                        .bind(name)
                        .bind(now)
                        .bind(verified_email)
                        .bind(verified_phone)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(INSERT_USER_ROLES)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    (id, username, "created")
                }
            };
            sqlx::query(INSERT_OIDC_LINKS)
                .bind(issuer)
                .bind(subject)
                .bind(&user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(SsoLogin {
                user_id,
                username,
                how,
            })
        })
        .inspect(|_| self.tokens.forget())
    }
}
