//! Accounts on the portal: login and logout, registration with a one-time code, password reset,
//! the profile, API tokens, and the demo's dev inbox.

use crate::http::auth::{set_cookie, SESSION_COOKIE};
use crate::http::error::WebError;
use crate::http::routes::{get, post, RouteDef};
use crate::http::views::render;
use crate::http::views::Ctx;
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use motcua_core::accounts::{
    check_password, normalise_email, normalise_phone, Access, Attempt, Cccd, Permission, Quota,
    ThrottleRule,
};
use motcua_core::delivery::DeliveryChannel;
use motcua_store::accounts::{AccountKind, CodeError};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

pub(crate) fn routes() -> Vec<RouteDef> {
    let own = Access::Needs(Permission::OwnAccount);
    vec![
        get("/login", Access::Anonymous, login_page),
        post("/login", Access::Anonymous, login),
        post("/logout", Access::SignedIn, logout),
        get("/register", Access::Anonymous, register_page),
        post("/register", Access::Anonymous, register),
        get("/register/verify", Access::Anonymous, verify_page),
        post("/register/verify", Access::Anonymous, verify),
        post("/register/resend", Access::Anonymous, resend),
        get("/password/forgot", Access::Anonymous, forgot_page),
        post("/password/forgot", Access::Anonymous, forgot),
        get("/password/reset", Access::Anonymous, reset_page),
        post("/password/reset", Access::Anonymous, reset),
        get("/account", own, profile_page),
        post("/account", own, save_profile),
        post("/account/outreach", own, save_outreach),
        post("/account/logout-everywhere", own, logout_everywhere),
        get("/account/tokens", own, tokens_page),
        post("/account/tokens", own, create_token),
        post("/account/tokens/{id}/revoke", own, revoke_token),
        get("/dev/inbox", Access::DemoOnly, inbox),
    ]
}

/// Messages shown after a redirect, by code: never text taken from the URL.
fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "verified" => "Tài khoản đã được xác thực. Mời bạn đăng nhập.",
        "reset" => "Mật khẩu đã được đặt lại. Mời bạn đăng nhập bằng mật khẩu mới.",
        "reset_locked" => "Mật khẩu đã được đặt lại. Tài khoản đang tạm khóa do có nhiều lần đăng nhập sai; bạn có thể đăng nhập bằng mật khẩu mới khi hết thời gian khóa (tối đa 15 phút).",
        "sent" => "Mã xác thực đã được gửi. Mã có hiệu lực trong 15 phút.",
        "saved" => "Đã lưu thông tin tài khoản.",
        "everywhere" => "Đã đăng xuất khỏi tất cả các thiết bị.",
        "revoked" => "Đã thu hồi khóa truy cập.",
        "outreach_on" => "Bạn sẽ nhận tin hướng dẫn, tuyên truyền về dịch vụ công.",
        "outreach_off" => "Bạn sẽ không nhận tin hướng dẫn, tuyên truyền nữa. Tin về hồ sơ của bạn vẫn được gửi.",
        "sso_failed" => {
            "Đăng nhập một lần không thành công. Vui lòng thử lại hoặc đăng nhập bằng mật khẩu."
        }
        "sso_denied" => {
            "Bạn chưa đồng ý chia sẻ thông tin với Cổng Dịch vụ công nên chưa đăng nhập được. Bạn có thể thử lại hoặc đăng nhập bằng mật khẩu."
        }
        _ => return None,
    })
}

fn vn_time(t: OffsetDateTime) -> String {
    let l = t.to_offset(motcua_core::calendar::deadline::VIETNAM);
    format!(
        "{:02}:{:02} ngày {:02}/{:02}/{}",
        l.hour(),
        l.minute(),
        l.day(),
        u8::from(l.month()),
        l.year()
    )
}

use motcua_core::text::is_single_line as single_line;

/// The page's words for a one-line field that holds a tab, a line break or another control
/// character.
const CONTROL_VI: &str =
    "Họ tên, email, số điện thoại và địa chỉ chỉ gồm một dòng, không chứa ký tự điều khiển.";

/// A login name, email or phone as typed, in the form it is stored; control characters are
/// dropped, since no login, email or phone holds one.
fn identifier(text: &str) -> String {
    let kept: String = text.chars().filter(|c| !c.is_control()).collect();
    let t = kept.trim();
    if t.contains('@') {
        normalise_email(t).unwrap_or_else(|_| t.to_lowercase())
    } else {
        normalise_phone(t).unwrap_or_else(|_| t.to_owned())
    }
}

async fn hash_password(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || motcua_store::password::hash(&password))
        .await
        .map_err(|_| WebError::Internal("password hashing task failed".into()))?
        .map_err(WebError::from)
}

async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || motcua_store::password::verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// A hash of a password nobody has, so that an unknown login costs as much as a known one.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            motcua_store::password::hash(&motcua_store::accounts::new_secret()).unwrap_or_default()
        })
        .clone()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: crate::http::views::Layout,
    identifier: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
    unverified: bool,
    sso: Option<String>,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
    msg: Option<String>,
    contact: Option<String>,
}

/// Where to go after signing in: `next` when it is a path of this site, else the account page.
fn safe_next(next: Option<&str>) -> String {
    next.and_then(crate::http::auth::local_path)
        .unwrap_or("/account")
        .to_owned()
}

async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Html<String>, WebError> {
    render(&LoginPage {
        layout: ctx.layout("Đăng nhập"),
        identifier: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
        notice: notice(q.msg.as_deref()),
        unverified: false,
        sso: ctx.state.oidc.as_ref().map(|o| o.label().to_owned()),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    identifier: String,
    password: String,
    next: Option<String>,
}

async fn login(ctx: Ctx, Form(f): Form<LoginForm>) -> Result<Response, WebError> {
    let store = &ctx.state.store;
    let ident = identifier(&f.identifier);
    let now = OffsetDateTime::now_utc();
    let page = |error: String, unverified: bool| -> Result<Response, WebError> {
        Ok(render(&LoginPage {
            layout: ctx.layout("Đăng nhập"),
            identifier: ident.clone(),
            next: safe_next(f.next.as_deref()),
            error: Some(error),
            notice: None,
            unverified,
            sso: ctx.state.oidc.as_ref().map(|o| o.label().to_owned()),
        })?
        .into_response())
    };
    let ip_key = format!("ip:{}", ctx.ip);
    // Counted before the password is checked: parallel guesses cannot pass a stale count.
    let ip = store
        .throttle_attempt(&ip_key, ThrottleRule::ADDRESS)
        .await?;
    if let Attempt::Refused { until } = ip {
        let refusal = crate::http::limits::locked(&ctx, until, "login_address");
        return Ok(refusal.respond(page(
            format!(
                "Có quá nhiều lần đăng nhập sai từ địa chỉ này. Vui lòng thử lại sau {}.",
                vn_time(until)
            ),
            false,
        )?));
    }
    let Some(record) = store.login_record(&ident).await? else {
        verify_password(f.password, dummy_hash()).await;
        store
            .log_security(
                "login_failed",
                None,
                Some(&ident),
                Some(&ctx.ip),
                "unknown login",
            )
            .await?;
        return page("Tên đăng nhập hoặc mật khẩu không đúng.".into(), false);
    };
    let account_key = format!("account:{}", record.id);
    let attempt = store
        .throttle_attempt(&account_key, ThrottleRule::ACCOUNT)
        .await?;
    if let Attempt::Refused { until } = attempt {
        store
            .log_security(
                "login_refused_locked",
                Some(&record.id),
                Some(&record.username),
                Some(&ctx.ip),
                "account locked",
            )
            .await?;
        let refusal = crate::http::limits::locked(&ctx, until, "login_account");
        return Ok(refusal.respond(page(format!("Tài khoản đang bị tạm khóa do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau {}.", vn_time(until)), false)?));
    }
    if !verify_password(f.password, record.password_hash.clone()).await {
        store
            .log_security(
                "login_failed",
                Some(&record.id),
                Some(&record.username),
                Some(&ctx.ip),
                "wrong password",
            )
            .await?;
        if let Some(until) = attempt.locked_until(now) {
            store
                .log_security(
                    "lockout",
                    Some(&record.id),
                    Some(&record.username),
                    Some(&ctx.ip),
                    &format!("locked until {until}"),
                )
                .await?;
            return page(
                format!(
                    "Bạn đã nhập sai mật khẩu quá nhiều lần. Tài khoản bị tạm khóa đến {}.",
                    vn_time(until)
                ),
                false,
            );
        }
        return page("Tên đăng nhập hoặc mật khẩu không đúng.".into(), false);
    }
    // The right password: its attempts no longer count against the account or the address.
    store.throttle_clear(&account_key).await?;
    store
        .throttle_refund(&ip_key, ThrottleRule::ADDRESS)
        .await?;
    match record.status.as_str() {
        "pending" => {
            return page(
                "Tài khoản chưa được xác thực. Hãy nhập mã xác thực đã được gửi cho bạn.".into(),
                true,
            )
        }
        "active" => {}
        _ => {
            return page(
                "Tài khoản đã bị khóa. Vui lòng liên hệ quản trị hệ thống.".into(),
                false,
            )
        }
    }
    store
        .log_security(
            "login",
            Some(&record.id),
            Some(&record.username),
            Some(&ctx.ip),
            "password",
        )
        .await?;
    crate::http::auth::sign_in(&ctx.state, &record.id, &safe_next(f.next.as_deref())).await
}

fn clear_session(secure: bool) -> (header::HeaderName, axum::http::HeaderValue) {
    (
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", secure, Some(time::Duration::ZERO)),
    )
}

async fn logout(ctx: Ctx) -> Result<Response, WebError> {
    if let Some(u) = &ctx.user {
        if let Some(secret) = &u.session {
            ctx.state.store.end_session(secret).await?;
        }
        ctx.state
            .store
            .log_security(
                "logout",
                Some(&u.account.id),
                Some(&u.account.username),
                Some(&ctx.ip),
                "",
            )
            .await?;
    }
    Ok((
        [clear_session(ctx.state.site.cookie_secure)],
        Redirect::to("/"),
    )
        .into_response())
}

async fn logout_everywhere(ctx: Ctx) -> Result<Response, WebError> {
    let a = ctx.account()?;
    let n = ctx.state.store.end_all_sessions(&a.id).await?;
    ctx.state
        .store
        .log_security(
            "logout_everywhere",
            Some(&a.id),
            Some(&a.username),
            Some(&ctx.ip),
            &format!("{n} session(s) ended"),
        )
        .await?;
    Ok((
        [clear_session(ctx.state.site.cookie_secure)],
        Redirect::to("/login?msg=everywhere"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: crate::http::views::Layout,
    kind: String,
    display_name: String,
    contact: String,
    errors: Vec<String>,
}

async fn register_page(ctx: Ctx) -> Result<Html<String>, WebError> {
    render(&RegisterPage {
        layout: ctx.layout("Đăng ký tài khoản"),
        kind: "citizen".into(),
        display_name: String::new(),
        contact: String::new(),
        errors: vec![],
    })
}

#[derive(Deserialize)]
struct RegisterForm {
    kind: String,
    display_name: String,
    contact: String,
    password: String,
    password2: String,
}

async fn register(ctx: Ctx, Form(f): Form<RegisterForm>) -> Result<Response, WebError> {
    let mut errors = Vec::new();
    let kind = match f.kind.as_str() {
        "organisation" => AccountKind::Organisation,
        "citizen" => AccountKind::Citizen,
        _ => {
            errors.push("Hãy chọn loại tài khoản: công dân hoặc tổ chức, doanh nghiệp.".to_owned());
            AccountKind::Citizen
        }
    };
    let name = motcua_core::text::nfc(f.display_name.trim());
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("Hãy nhập họ và tên (hoặc tên tổ chức), tối đa 200 ký tự.".into());
    }
    if !single_line(&name) || !single_line(&f.contact) {
        errors.push(CONTROL_VI.into());
    }
    let contact = f.contact.trim();
    let (email, phone) = if contact.contains('@') {
        match normalise_email(contact) {
            Ok(e) => (Some(e), None),
            Err(e) => {
                errors.push(e.message_vi().into());
                (None, None)
            }
        }
    } else {
        match normalise_phone(contact) {
            Ok(p) => (None, Some(p)),
            Err(e) => {
                errors.push(if contact.is_empty() {
                    "Hãy nhập email hoặc số điện thoại.".into()
                } else {
                    e.message_vi().into()
                });
                (None, None)
            }
        }
    };
    let login = email.clone().or(phone.clone()).unwrap_or_default();
    if let Err(e) = check_password(&f.password, &[&login, &name]) {
        errors.push(e.message_vi());
    }
    if f.password != f.password2 {
        errors.push("Hai lần nhập mật khẩu không khớp nhau.".into());
    }
    if errors.is_empty() {
        let quotas = message_quotas(&ctx, &login, None, Some(&login));
        if let Err(refusal) = crate::http::limits::take(&ctx, &quotas).await? {
            errors.push(too_many_messages(&refusal));
            return Ok(refusal.respond(render(&RegisterPage {
                layout: ctx.layout("Đăng ký tài khoản"),
                kind: f.kind,
                display_name: name,
                contact: contact.to_owned(),
                errors,
            })?));
        }
        let hash = hash_password(f.password).await?;
        match ctx
            .state
            .store
            .register_applicant(kind, &name, email.as_deref(), phone.as_deref(), &hash)
            .await?
        {
            Some(id) => {
                ctx.state
                    .store
                    .log_security(
                        "register",
                        Some(&id),
                        Some(&login),
                        Some(&ctx.ip),
                        kind.as_str(),
                    )
                    .await?;
                let q =
                    serde_urlencoded::to_string([("contact", login.as_str())]).unwrap_or_default();
                return Ok(Redirect::to(&format!("/register/verify?{q}")).into_response());
            }
            None => errors
                .push("Email hoặc số điện thoại này đã được dùng cho một tài khoản khác.".into()),
        }
    }
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        render(&RegisterPage {
            layout: ctx.layout("Đăng ký tài khoản"),
            kind: f.kind,
            display_name: name,
            contact: contact.to_owned(),
            errors,
        })?,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    layout: crate::http::views::Layout,
    heading: &'static str,
    action: &'static str,
    contact: String,
    with_password: bool,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn verify_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Html<String>, WebError> {
    render(&CodePage {
        layout: ctx.layout("Xác thực tài khoản"),
        heading: "Xác thực tài khoản",
        action: "/register/verify",
        contact: q.contact.unwrap_or_default(),
        with_password: false,
        error: None,
        notice: notice(q.msg.as_deref()).or(Some(
            "Nhập mã gồm 6 chữ số đã được gửi đến email hoặc số điện thoại của bạn.",
        )),
    })
}

#[derive(Deserialize)]
struct CodeForm {
    contact: String,
    code: String,
    password: Option<String>,
    password2: Option<String>,
}

fn code_message(e: CodeError) -> &'static str {
    match e {
        CodeError::Missing => "Không có mã nào đang chờ. Hãy yêu cầu gửi lại mã.",
        CodeError::Wrong => "Mã không đúng. Hãy kiểm tra lại.",
        CodeError::Expired => "Mã đã hết hạn. Hãy yêu cầu gửi lại mã.",
        CodeError::TooManyTries => "Bạn đã nhập sai quá nhiều lần. Hãy yêu cầu gửi lại mã mới.",
    }
}

/// The quotas a request that sends a code must fit, in order: the client address and what was
/// typed (for every request, so that a refusal says nothing of whether an account exists), then
/// the account and the address the code goes to, however they were named.
fn message_quotas(
    ctx: &Ctx,
    typed: &str,
    account: Option<&str>,
    recipient: Option<&str>,
) -> Vec<(String, Quota, &'static str)> {
    let mut q = vec![
        (
            format!("msg:ip:{}", ctx.ip),
            Quota::MESSAGES_FROM_ADDRESS,
            "messages_from_address",
        ),
        (
            format!("msg:typed:{typed}"),
            Quota::MESSAGES_TO_RECIPIENT,
            "messages_to_recipient",
        ),
    ];
    if let Some(id) = account {
        q.push((
            format!("msg:account:{id}"),
            Quota::CODES_PER_ACCOUNT,
            "codes_per_account",
        ));
    }
    if let Some(to) = recipient {
        q.push((
            format!("msg:to:{to}"),
            Quota::MESSAGES_TO_RECIPIENT,
            "messages_to_recipient",
        ));
        q.push((
            format!("msg:to-daily:{to}"),
            Quota::MESSAGES_TO_RECIPIENT_DAILY,
            "messages_to_recipient_daily",
        ));
    }
    q
}

/// Counts a guess of a one-time code before it is checked, per client address and, when the
/// account is known, per account across all its codes: a fresh code brings no fresh guesses.
async fn count_guess(
    ctx: &Ctx,
    account: Option<&str>,
) -> Result<Result<(), crate::http::limits::Refusal>, WebError> {
    let store = &ctx.state.store;
    let ip_key = format!("code:ip:{}", ctx.ip);
    if let Attempt::Refused { until } = store
        .throttle_attempt(&ip_key, ThrottleRule::CODE_ADDRESS)
        .await?
    {
        return Ok(Err(crate::http::limits::locked(
            ctx,
            until,
            "code_guesses_address",
        )));
    }
    if let Some(id) = account {
        if let Attempt::Refused { until } = store
            .throttle_attempt(&format!("code:account:{id}"), ThrottleRule::CODE_ACCOUNT)
            .await?
        {
            return Ok(Err(crate::http::limits::locked(
                ctx,
                until,
                "code_guesses_account",
            )));
        }
    }
    Ok(Ok(()))
}

/// After a guess that was not a wrong code (right, or no live code to compare): it no longer
/// counts; a right one also forgets the account's earlier wrong guesses.
async fn settle_guess(ctx: &Ctx, account: &str, right: bool) -> Result<(), WebError> {
    let store = &ctx.state.store;
    let account_key = format!("code:account:{account}");
    if right {
        store.throttle_clear(&account_key).await?;
    } else {
        store
            .throttle_refund(&account_key, ThrottleRule::CODE_ACCOUNT)
            .await?;
    }
    store
        .throttle_refund(&format!("code:ip:{}", ctx.ip), ThrottleRule::CODE_ADDRESS)
        .await?;
    Ok(())
}

/// Checks a code of `purpose` for the account, counting the guess; `Ok(Ok)` when it was right.
async fn check_code(
    ctx: &Ctx,
    account: &str,
    purpose: &str,
    code: &str,
) -> Result<Result<(), Result<&'static str, crate::http::limits::Refusal>>, WebError> {
    if let Err(refusal) = count_guess(ctx, Some(account)).await? {
        return Ok(Err(Err(refusal)));
    }
    match ctx.state.store.consume_code(account, purpose, code).await? {
        Ok(()) => {
            settle_guess(ctx, account, true).await?;
            Ok(Ok(()))
        }
        Err(e) => {
            if matches!(e, CodeError::Missing | CodeError::Expired) {
                settle_guess(ctx, account, false).await?;
            }
            Ok(Err(Ok(code_message(e))))
        }
    }
}

fn too_many_guesses(refusal: &crate::http::limits::Refusal) -> String {
    format!("Bạn đã nhập sai mã quá nhiều lần. {}", refusal.wait_vi())
}

fn too_many_messages(refusal: &crate::http::limits::Refusal) -> String {
    format!(
        "Bạn đã yêu cầu gửi mã quá nhiều lần trong thời gian ngắn. {}",
        refusal.wait_vi()
    )
}

async fn verify(ctx: Ctx, Form(f): Form<CodeForm>) -> Result<Response, WebError> {
    let store = &ctx.state.store;
    let contact = identifier(&f.contact);
    let mut refused = None;
    let error = match store.login_record(&contact).await? {
        Some(r) if r.status == "pending" => match check_code(&ctx, &r.id, "verify", &f.code).await?
        {
            Ok(()) => {
                store.activate(&r.id).await?;
                store
                    .log_security("verify", Some(&r.id), Some(&r.username), Some(&ctx.ip), "")
                    .await?;
                return Ok(Redirect::to("/login?msg=verified").into_response());
            }
            Err(Ok(message)) => message.to_owned(),
            Err(Err(refusal)) => {
                refused = Some(refusal);
                too_many_guesses(&refusal)
            }
        },
        Some(_) => return Ok(Redirect::to("/login?msg=verified").into_response()),
        None => match count_guess(&ctx, None).await? {
            Ok(()) => "Không tìm thấy tài khoản với email hoặc số điện thoại này.".to_owned(),
            Err(refusal) => {
                refused = Some(refusal);
                too_many_guesses(&refusal)
            }
        },
    };
    let page = render(&CodePage {
        layout: ctx.layout("Xác thực tài khoản"),
        heading: "Xác thực tài khoản",
        action: "/register/verify",
        contact,
        with_password: false,
        error: Some(error),
        notice: None,
    })?;
    Ok(match refused {
        Some(r) => r.respond(page),
        None => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
    })
}

#[derive(Deserialize)]
struct ContactForm {
    contact: String,
}

async fn resend(ctx: Ctx, Form(f): Form<ContactForm>) -> Result<Response, WebError> {
    let contact = identifier(&f.contact);
    let store = &ctx.state.store;
    let pending = store
        .login_record(&contact)
        .await?
        .filter(|r| r.status == "pending");
    let recipient = match &pending {
        Some(r) => store.code_recipient(&r.id, "verify").await?,
        None => None,
    };
    let quotas = message_quotas(
        &ctx,
        &contact,
        pending.as_ref().map(|r| r.id.as_str()),
        recipient.as_deref(),
    );
    if let Err(refusal) = crate::http::limits::take(&ctx, &quotas).await? {
        return Ok(refusal.respond(render(&CodePage {
            layout: ctx.layout("Xác thực tài khoản"),
            heading: "Xác thực tài khoản",
            action: "/register/verify",
            contact,
            with_password: false,
            error: Some(too_many_messages(&refusal)),
            notice: None,
        })?));
    }
    if let (Some(r), Some(to)) = (&pending, &recipient) {
        store.send_code(&r.id, to, "verify").await?;
    }
    let q = serde_urlencoded::to_string([("contact", contact.as_str()), ("msg", "sent")])
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/register/verify?{q}")).into_response())
}

async fn forgot_page(ctx: Ctx) -> Result<Html<String>, WebError> {
    render(&CodePage {
        layout: ctx.layout("Quên mật khẩu"),
        heading: "Quên mật khẩu",
        action: "/password/forgot",
        contact: String::new(),
        with_password: false,
        error: None,
        notice: Some(
            "Nhập email hoặc số điện thoại của tài khoản; chúng tôi sẽ gửi mã đặt lại mật khẩu.",
        ),
    })
}

async fn forgot(ctx: Ctx, Form(f): Form<ContactForm>) -> Result<Response, WebError> {
    let contact = identifier(&f.contact);
    let store = &ctx.state.store;
    // The same answer whether or not the account exists: no way to probe who has one.
    let active = store
        .login_record(&contact)
        .await?
        .filter(|r| r.status == "active");
    let recipient = match &active {
        Some(r) => store.code_recipient(&r.id, "reset").await?,
        None => None,
    };
    let quotas = message_quotas(
        &ctx,
        &contact,
        active.as_ref().map(|r| r.id.as_str()),
        recipient.as_deref(),
    );
    if let Err(refusal) = crate::http::limits::take(&ctx, &quotas).await? {
        return Ok(refusal.respond(render(&CodePage {
            layout: ctx.layout("Quên mật khẩu"),
            heading: "Quên mật khẩu",
            action: "/password/forgot",
            contact,
            with_password: false,
            error: Some(too_many_messages(&refusal)),
            notice: None,
        })?));
    }
    if let Some(r) = &active {
        match &recipient {
            Some(to) => {
                store.send_code(&r.id, to, "reset").await?;
                store
                    .log_security(
                        "password_reset_requested",
                        Some(&r.id),
                        Some(&r.username),
                        Some(&ctx.ip),
                        "",
                    )
                    .await?;
            }
            None => {
                // A login name is no address: with no proven contact, nothing is sent.
                store
                    .log_security(
                        "password_reset_no_contact",
                        Some(&r.id),
                        Some(&r.username),
                        Some(&ctx.ip),
                        "no verified email or phone: no code sent",
                    )
                    .await?;
            }
        }
    }
    let q = serde_urlencoded::to_string([("contact", contact.as_str()), ("msg", "sent")])
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/password/reset?{q}")).into_response())
}

async fn reset_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Html<String>, WebError> {
    render(&CodePage {
        layout: ctx.layout("Đặt lại mật khẩu"),
        heading: "Đặt lại mật khẩu",
        action: "/password/reset",
        contact: q.contact.unwrap_or_default(),
        with_password: true,
        error: None,
        notice: Some("Nếu email hoặc số điện thoại thuộc một tài khoản, mã đặt lại mật khẩu đã được gửi đến đó."),
    })
}

async fn reset(ctx: Ctx, Form(f): Form<CodeForm>) -> Result<Response, WebError> {
    let store = &ctx.state.store;
    let contact = identifier(&f.contact);
    let password = f.password.unwrap_or_default();
    let mut error = None;
    let mut refused = None;
    if password != f.password2.unwrap_or_default() {
        error = Some("Hai lần nhập mật khẩu không khớp nhau.".to_owned());
    } else if let Err(e) = check_password(&password, &[&contact]) {
        error = Some(e.message_vi());
    }
    if error.is_none() {
        let active = store
            .login_record(&contact)
            .await?
            .filter(|r| r.status == "active");
        let outcome = match &active {
            Some(r) => check_code(&ctx, &r.id, "reset", &f.code).await?,
            None => match count_guess(&ctx, None).await? {
                Ok(()) => Err(Ok(code_message(CodeError::Wrong))),
                Err(refusal) => Err(Err(refusal)),
            },
        };
        match (outcome, active) {
            (Ok(()), Some(r)) => {
                store
                    .set_password(&r.id, &hash_password(password).await?)
                    .await?;
                // A lock set by failed logins stays: a reset proves the contact, and whoever
                // guessed the old password still has to wait. The log says so.
                let lock = ThrottleRule::ACCOUNT.locked_until(
                    &store.throttle(&format!("account:{}", r.id)).await?,
                    OffsetDateTime::now_utc(),
                );
                let detail = match lock {
                    Some(until) => format!(
                        "all sessions ended; the login lock set by failed logins stays until {until}"
                    ),
                    None => "all sessions ended".to_owned(),
                };
                store
                    .log_security(
                        "password_reset",
                        Some(&r.id),
                        Some(&r.username),
                        Some(&ctx.ip),
                        &detail,
                    )
                    .await?;
                let msg = if lock.is_some() {
                    "reset_locked"
                } else {
                    "reset"
                };
                return Ok(Redirect::to(&format!("/login?msg={msg}")).into_response());
            }
            (Ok(()), None) => error = Some(code_message(CodeError::Wrong).to_owned()),
            (Err(Ok(message)), _) => error = Some(message.to_owned()),
            (Err(Err(refusal)), _) => {
                error = Some(too_many_guesses(&refusal));
                refused = Some(refusal);
            }
        }
    }
    let page = render(&CodePage {
        layout: ctx.layout("Đặt lại mật khẩu"),
        heading: "Đặt lại mật khẩu",
        action: "/password/reset",
        contact,
        with_password: true,
        error,
        notice: None,
    })?;
    Ok(match refused {
        Some(r) => r.respond(page),
        None => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
    })
}

#[derive(Template)]
#[template(path = "account.html")]
struct ProfilePage {
    layout: crate::http::views::Layout,
    username: String,
    display_name: String,
    email: String,
    phone: String,
    cccd: String,
    birth_date: String,
    address: String,
    unit: String,
    units: Vec<(String, String)>,
    roles: Vec<String>,
    errors: Vec<String>,
    notice: Option<&'static str>,
    /// The account's phone or email agrees to outreach.
    outreach: bool,
    /// The channels its dossiers' notices may take: form name, label, chosen.
    notice_channels: Vec<(&'static str, &'static str, bool)>,
}

async fn units(ctx: &Ctx) -> Result<Vec<(String, String)>, WebError> {
    Ok(ctx
        .state
        .store
        .admin_units()
        .await?
        .into_iter()
        .filter(|u| {
            matches!(
                u.kind,
                motcua_core::AdminUnitKind::Commune | motcua_core::AdminUnitKind::Ward
            ) && u.valid_until.is_none()
        })
        .map(|u| (u.code, u.name))
        .collect())
}

async fn profile_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Html<String>, WebError> {
    let a = ctx.account()?.clone();
    render(&ProfilePage {
        layout: ctx.layout("Tài khoản của tôi"),
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        email: a.email.clone().unwrap_or_default(),
        phone: a.phone.clone().unwrap_or_default(),
        cccd: a.cccd.clone().unwrap_or_default(),
        birth_date: a.birth_date.clone().unwrap_or_default(),
        address: a.address.clone().unwrap_or_default(),
        unit: a.admin_unit_code.clone().unwrap_or_default(),
        units: units(&ctx).await?,
        roles: a
            .roles
            .iter()
            .map(|(r, ag)| {
                format!(
                    "{}{}",
                    r.label_vi(),
                    ag.as_ref().map(|g| format!(" — {g}")).unwrap_or_default()
                )
            })
            .collect(),
        errors: vec![],
        notice: notice(q.msg.as_deref()),
        outreach: outreach_consent(&ctx, &a).await?,
        notice_channels: notice_channels(&ctx, &a).await?,
    })
}

/// The contacts outreach would reach: the account's phone and email.
fn contacts(a: &motcua_store::accounts::Account) -> Vec<String> {
    [a.phone.clone(), a.email.clone()]
        .into_iter()
        .flatten()
        .filter(|c| !c.is_empty())
        .collect()
}

async fn outreach_consent(
    ctx: &Ctx,
    a: &motcua_store::accounts::Account,
) -> Result<bool, WebError> {
    let list = contacts(a);
    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
    Ok(!ctx
        .state
        .store
        .consenting(&refs, motcua_core::delivery::MessageKind::Outreach)
        .await?
        .is_empty())
}

/// The channels the account's contacts could receive notices by, each with its form field:
/// a phone by Zalo (where the province has it) and SMS, an email by email.
fn notice_routes(
    ctx: &Ctx,
    a: &motcua_store::accounts::Account,
) -> Vec<(&'static str, String, DeliveryChannel)> {
    let mut out = Vec::new();
    if let Some(p) = a.phone.clone().filter(|p| !p.is_empty()) {
        if ctx.state.gateways.zalo.is_some() {
            out.push(("notice_zalo", p.clone(), DeliveryChannel::Zalo));
        }
        out.push(("notice_sms", p, DeliveryChannel::Sms));
    }
    if let Some(e) = a.email.clone().filter(|e| !e.is_empty()) {
        out.push(("notice_email", e, DeliveryChannel::Email));
    }
    out
}

async fn notice_channels(
    ctx: &Ctx,
    a: &motcua_store::accounts::Account,
) -> Result<Vec<(&'static str, &'static str, bool)>, WebError> {
    let mut out = Vec::new();
    for (field, address, channel) in notice_routes(ctx, a) {
        let declined = ctx.state.store.declined_notice_channels(&address).await?;
        out.push((field, channel.label_vi(), !declined.contains(&channel)));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct OutreachForm {
    outreach: Option<String>,
    notice_zalo: Option<String>,
    notice_sms: Option<String>,
    notice_email: Option<String>,
}

/// Gives or withdraws the account's consent to outreach, for each of its contacts.
async fn save_outreach(ctx: Ctx, Form(f): Form<OutreachForm>) -> Result<Response, WebError> {
    let a = ctx.account()?.clone();
    let granted = f.outreach.as_deref() == Some("on");
    for (field, address, channel) in notice_routes(&ctx, &a) {
        let chosen = match field {
            "notice_zalo" => &f.notice_zalo,
            "notice_sms" => &f.notice_sms,
            _ => &f.notice_email,
        };
        ctx.state
            .store
            .set_channel_consent(
                &address,
                motcua_core::delivery::MessageKind::Notice,
                Some(channel),
                chosen.as_deref() == Some("on"),
                motcua_store::outbox::ConsentWay::Account,
            )
            .await?;
    }
    for c in contacts(&a) {
        ctx.state
            .store
            .set_consent(
                &c,
                motcua_core::delivery::MessageKind::Outreach,
                granted,
                motcua_store::outbox::ConsentWay::Account,
            )
            .await?;
    }
    Ok(Redirect::to(if granted {
        "/account?msg=outreach_on"
    } else {
        "/account?msg=outreach_off"
    })
    .into_response())
}

#[derive(Deserialize)]
struct ProfileForm {
    display_name: String,
    cccd: String,
    birth_date: String,
    address: String,
    admin_unit_code: String,
}

async fn save_profile(ctx: Ctx, Form(f): Form<ProfileForm>) -> Result<Response, WebError> {
    let a = ctx.account()?.clone();
    let mut errors = Vec::new();
    let name = motcua_core::text::nfc(f.display_name.trim());
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("Hãy nhập họ và tên, tối đa 200 ký tự.".to_owned());
    }
    if !single_line(&name) || !single_line(&f.address) || !single_line(&f.cccd) {
        errors.push(CONTROL_VI.into());
    }
    let birth = match f.birth_date.trim() {
        "" => None,
        d => match Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")) {
            Ok(date)
                if date <= crate::http::state::now_in_vietnam().date() && date.year() >= 1900 =>
            {
                Some(date)
            }
            _ => {
                errors.push("Ngày sinh không hợp lệ.".into());
                None
            }
        },
    };
    let cccd = match f.cccd.trim() {
        "" => None,
        c => match Cccd::parse(c, birth) {
            Ok(c) => Some(c.as_str().to_owned()),
            Err(e) => {
                errors.push(e.message_vi().into());
                None
            }
        },
    };
    let address = motcua_core::text::nfc(f.address.trim());
    if address.chars().count() > 300 {
        errors.push("Địa chỉ tối đa 300 ký tự.".into());
    }
    let all_units = units(&ctx).await?;
    let unit = match f.admin_unit_code.trim() {
        "" => None,
        code if all_units.iter().any(|(c, _)| c == code) => Some(code.to_owned()),
        _ => {
            errors.push("Xã, phường không hợp lệ.".into());
            None
        }
    };
    if errors.is_empty() {
        let birth_text =
            birth.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()));
        ctx.state
            .store
            .update_profile(
                &a.id,
                &name,
                cccd.as_deref(),
                birth_text.as_deref(),
                Some(address.as_str()).filter(|s| !s.is_empty()),
                unit.as_deref(),
            )
            .await?;
        return Ok(Redirect::to("/account?msg=saved").into_response());
    }
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        render(&ProfilePage {
            layout: ctx.layout("Tài khoản của tôi"),
            username: a.username.clone(),
            display_name: name,
            email: a.email.clone().unwrap_or_default(),
            phone: a.phone.clone().unwrap_or_default(),
            cccd: f.cccd,
            birth_date: f.birth_date,
            address,
            unit: f.admin_unit_code,
            units: all_units,
            roles: vec![],
            errors,
            notice: None,
            outreach: outreach_consent(&ctx, &a).await?,
            notice_channels: notice_channels(&ctx, &a).await?,
        })?,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: crate::http::views::Layout,
    tokens: Vec<motcua_store::accounts::ApiToken>,
    created: Option<String>,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn tokens_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Result<Html<String>, WebError> {
    let tokens = ctx.state.store.api_tokens(&ctx.account()?.id).await?;
    render(&TokensPage {
        layout: ctx.layout("Khóa truy cập API"),
        tokens,
        created: None,
        error: None,
        notice: notice(q.msg.as_deref()),
    })
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(ctx: Ctx, Form(f): Form<TokenForm>) -> Result<Response, WebError> {
    let a = ctx.account()?.clone();
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 || !single_line(name) {
        let tokens = ctx.state.store.api_tokens(&a.id).await?;
        let page = TokensPage {
            layout: ctx.layout("Khóa truy cập API"),
            tokens,
            created: None,
            error: Some("Hãy đặt tên cho khóa (tối đa 100 ký tự).".into()),
            notice: None,
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let secret = ctx
        .state
        .store
        .create_api_token(&a.id, name, "profile:read")
        .await?;
    ctx.state
        .store
        .log_security(
            "token_created",
            Some(&a.id),
            Some(&a.username),
            Some(&ctx.ip),
            name,
        )
        .await?;
    let tokens = ctx.state.store.api_tokens(&a.id).await?;
    Ok(render(&TokensPage {
        layout: ctx.layout("Khóa truy cập API"),
        tokens,
        created: Some(secret),
        error: None,
        notice: None,
    })?
    .into_response())
}

async fn revoke_token(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let a = ctx.account()?.clone();
    // Only the owner's own tokens: anyone else's id is "not found".
    if !ctx.state.store.revoke_api_token(&a.id, &id).await? {
        return Err(WebError::NotFound);
    }
    ctx.state
        .store
        .log_security(
            "token_revoked",
            Some(&a.id),
            Some(&a.username),
            Some(&ctx.ip),
            &id,
        )
        .await?;
    Ok(Redirect::to("/account/tokens?msg=revoked").into_response())
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: crate::http::views::Layout,
    messages: Vec<motcua_store::outbox::OutboxMessage>,
    /// The sandbox's page of simulated phones, when the demo runs one.
    phones_page: Option<String>,
}

async fn inbox(ctx: Ctx) -> Result<Html<String>, WebError> {
    let messages = ctx.state.store.outbox(50).await?;
    render(&InboxPage {
        layout: ctx.layout("Hộp thư thử nghiệm"),
        messages,
        phones_page: ctx.state.gateways.phones_page.clone(),
    })
}
